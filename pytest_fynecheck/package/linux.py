"""`fyne package -os linux` as users ship it, then the tarball as users install it.

The CLI runs in a copy of the module under the context's scratch (it writes the tarball
into the tree and bumps Build in FyneApp.toml). fyne.io/tools v1.7.4 (commands/
package-unix.go, templates/data/Makefile) tars one directory named after the binary,
holding a Makefile and usr/[local/]{bin,share/applications,share/pixmaps}; `make install`
copies those under $(DESTDIR)$(PREFIX), PREFIX /usr/local when $(DESTDIR)/usr/local exists,
else /usr. The .desktop file's Exec is the bare binary name (found on PATH) and its Icon
the bare icon name (found in share/pixmaps or an icon theme).
"""

from __future__ import annotations

import configparser
import dataclasses
import tarfile
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.toolchain.fynecli import package_in_copy

DFU = "desktop-file-utils"  # the Debian package of desktop-file-validate
# Where a desktop finds a bare Exec name (a user's PATH) and a bare Icon name.
PREFIXES = ("/usr", "/usr/local")


@dataclasses.dataclass(frozen=True)
class Installed:
    tarball: Path
    top: str  # the tarball's one top-level entry
    root: Path  # DESTDIR
    prefix: str
    desktop: Path  # the installed .desktop file
    entry: dict[str, str]  # its [Desktop Entry]
    binary: Path
    icon: Path


def package(ctx: Context, module_root: Path, src_dir: Path) -> tuple[Path, Path]:
    """Run `fyne package -os linux` in a copy; the tarball and the copy's package dir."""
    tarball = package_in_copy(ctx, module_root, src_dir, "linux", "*.tar.xz")
    return tarball, tarball.parent


def top_entry(tarball: Path) -> str:
    """The tarball's one top-level directory; anything else (a tarbomb that spills files
    into the directory it is unpacked in, an absolute or `..` path) is a failure."""
    try:
        with tarfile.open(tarball) as tar:
            names = tar.getnames()
    except (tarfile.TarError, OSError) as exc:
        raise CheckFailed(f"{tarball} is not a readable tarball: {exc}",
                          "run `tar -tJf` on it to see what is wrong") from None
    bad = [n for n in names if n.startswith("/") or ".." in Path(n).parts]
    if bad:
        raise CheckFailed(f"{tarball} has entries outside the directory it is unpacked in: "
                          f"{bad[:5]}", "rebuild it with `fyne package -os linux`")
    tops = sorted({Path(n).parts[0] for n in names if Path(n).parts and n != "."})
    if len(tops) != 1:
        raise CheckFailed(
            f"{tarball} is a tarbomb: {len(tops)} top-level entries ({', '.join(tops[:8])}) "
            "spill into the directory users unpack it in",
            "package with fyne.io/tools without fyne-cross compatibility: it tars one "
            "directory",
        )
    return tops[0]


def install(ctx: Context, tarball: Path, work: Path) -> Installed:
    """Unpack with tar and `make install DESTDIR=...` as a user would (with /usr/local in
    the DESTDIR when this system has one: the Makefile picks PREFIX from it), then find
    where the installed .desktop file points."""
    top = top_entry(tarball)
    unpacked, root = work / "unpacked", work / "destdir"
    prefix = "/usr/local" if Path("/usr/local").is_dir() else "/usr"
    script = ('set -e; rm -rf "$1" "$2"; mkdir -p "$1" "$2$3"; tar -xJf "$4" -C "$1"; '
              'make -C "$1/$5" install DESTDIR="$2"')
    done = ctx.run(["sh", "-c", script, "sh", str(unpacked), str(root), prefix,
                    str(tarball), top], timeout=300)
    if not done.ok:
        raise CheckFailed(f"`tar -xJf` + `make install DESTDIR={root}` of {tarball.name} failed "
                          f"(exit {done.returncode}):\n{done.output[-2000:]}",
                          "unpack the tarball and run `make install DESTDIR=/tmp/x` to see why")
    apps = sorted(root.glob("usr/**/share/applications/*.desktop"))
    if len(apps) != 1:
        raise CheckFailed(f"`make install` put {len(apps)} .desktop files under "
                          f"{root}/usr/**/share/applications, not one: {apps}",
                          "look at the Makefile's install target in the tarball")
    desktop = apps[0]
    installed_prefix = "/" + str(desktop.parent.parent.parent.relative_to(root))
    entry = _entry(desktop)
    binary = _exec(root, installed_prefix, desktop, entry)
    icon = _icon(root, installed_prefix, desktop, entry)
    return Installed(tarball, top, root, installed_prefix, desktop, entry, binary, icon)


def _entry(desktop: Path) -> dict[str, str]:
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep case
    try:
        parser.read_string(desktop.read_text(encoding="utf-8"))
        return dict(parser["Desktop Entry"])
    except (configparser.Error, KeyError, UnicodeDecodeError) as exc:
        raise CheckFailed(f"{desktop} has no readable [Desktop Entry]: {exc}",
                          f"run desktop-file-validate {desktop}") from None


def _exec(root: Path, prefix: str, desktop: Path, entry: dict[str, str]) -> Path:
    line = entry.get("Exec", "").split()
    if not line:
        raise CheckFailed(f"{desktop} has no Exec line", "package with `fyne package -os linux`")
    name = line[0]
    if name.startswith("/"):
        where, looked = root / name.lstrip("/"), name
    elif prefix in PREFIXES:
        where, looked = root / prefix.lstrip("/") / "bin" / name, f"{prefix}/bin/{name}"
    else:
        raise CheckFailed(f"{desktop}'s Exec={name} is found on PATH, but `make install` put "
                          f"it under {prefix}, whose bin/ is on no user's PATH",
                          "install with PREFIX=/usr or /usr/local")
    if not where.is_file() or not where.stat().st_mode & 0o111:
        raise CheckFailed(f"{desktop} says Exec={entry['Exec']}, but `make install` put no "
                          f"executable at {looked} (looked in {where})",
                          "the Makefile's Exec and the .desktop file's must name the same binary")
    return where


def _icon(root: Path, prefix: str, desktop: Path, entry: dict[str, str]) -> Path:
    name = entry.get("Icon", "")
    if not name:
        raise CheckFailed(f"{desktop} has no Icon line: desktops show a generic icon",
                          "set Details.Icon in FyneApp.toml")
    if name.startswith("/"):
        found = [root / name.lstrip("/")]
    else:
        share = root / prefix.lstrip("/") / "share"
        found = sorted((share / "pixmaps").glob(f"{name}.*")) + sorted(
            (share / "icons").glob(f"**/{name}.png"))
    found = [p for p in found if p.is_file()]
    if not found:
        raise CheckFailed(f"{desktop} says Icon={name}, but `make install` put no such icon "
                          f"under {prefix}/share/pixmaps or {prefix}/share/icons",
                          "the Makefile's Icon and the .desktop file's must name the same file")
    return found[0]


def validate_desktop(ctx: Context, desktop: Path) -> None:
    """desktop-file-validate, the freedesktop.org tool desktops' menus follow."""
    if ctx.which("desktop-file-validate") is None:
        raise CheckFailed("desktop-file-validate is not on PATH: the .desktop file cannot be "
                          "held to the freedesktop.org spec", f"apt-get install {DFU}")
    done = ctx.run(["desktop-file-validate", str(desktop)], timeout=60)
    if not done.ok or "error:" in done.output:
        raise CheckFailed(f"desktop-file-validate refuses {desktop}:\n{done.output.strip()}",
                          "fix the FyneApp.toml field the error names (LinuxAndBSD, Name)")


def same_icon(shipped: Path, source: Path) -> str:
    """The installed icon is FyneApp.toml's: the same bytes for a .png source (the CLI copies
    it), the same pixels for another format (the CLI re-encodes it as PNG)."""
    if shipped.read_bytes() == source.read_bytes():
        return "the same bytes"
    if source.suffix.lower() != ".png":
        from PIL import Image, ImageChops

        with Image.open(shipped) as a, Image.open(source) as b:
            if a.size == b.size and ImageChops.difference(
                    a.convert("RGBA"), b.convert("RGBA")).getbbox() is None:
                return "the same pixels, re-encoded as PNG"
    raise CheckFailed(f"the installed icon {shipped} is not FyneApp.toml's Icon {source}",
                      "package again with `fyne package -os linux`")
