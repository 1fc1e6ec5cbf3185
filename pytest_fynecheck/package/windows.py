"""`fyne package -os windows` as users ship it, and its .exe read as Windows reads it.

fyne.io/tools v1.7.4 (commands/package-windows.go, build.go) converts FyneApp.toml's Icon
to an .ico, writes a manifest (templates/data/app.manifest, or the project's own
`<exe>.manifest`), and links them with VERSIONINFO (ProductName = Name, FileVersion =
Version.Build) as a .syso into a `go build -ldflags -H=windowsgui`. The .exe is read with
pefile: only the resource directory is parsed (1.5 ms on a 43 MB .exe, against 5.4 s for a
full parse), and Debian ships it (python3-pefile).
"""

from __future__ import annotations

import dataclasses
import io
import re
import struct
from pathlib import Path
from typing import Any

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.toolchain.cross import WINDOWS_ENV
from pytest_fynecheck.toolchain.fynecli import package_in_copy

PEFILE = "pip install pefile (Debian: apt-get install python3-pefile)"
GUI, CONSOLE = 2, 3  # IMAGE_SUBSYSTEM_WINDOWS_GUI, _WINDOWS_CUI
RT_ICON, RT_GROUP_ICON, RT_VERSION, RT_MANIFEST = 3, 14, 16, 24
ICON_SIDE = 64  # the common size the shipped and the source icon are compared at
ICON_TOLERANCE = 8.0  # mean channel difference (of 255) left by fyne's re-encoding
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_DPI = re.compile(r"<(?:[\w.-]+:)?(dpiAware(?:ness)?)\b[^>]*>\s*([^<]*?)\s*</", re.I)


@dataclasses.dataclass(frozen=True)
class Finding:
    field: str  # what in the .exe: Subsystem, RT_GROUP_ICON, FileVersion, RT_MANIFEST ...
    message: str
    fail: bool = True


@dataclasses.dataclass(frozen=True)
class Lint:
    exe: Path
    findings: list[Finding]
    facts: list[str]  # what passed, for the detail

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.fail]


def package(ctx: Context, module_root: Path, src_dir: Path, fyne: str = "fyne") -> Path:
    """Run `fyne package -os windows` with mingw-w64 in a copy; the .exe it made. `fyne`:
    the CLI (a path where the context has none on PATH)."""
    return package_in_copy(
        ctx, module_root, src_dir, "windows", "*.exe", env=WINDOWS_ENV, timeout=1800, fyne=fyne,
        hint="run `fyne package -os windows` with CC=x86_64-w64-mingw32-gcc in the project "
             "to see the full error")


def manifest_name(src_dir: Path) -> str:
    """The manifest the CLI embeds instead of its template: `<exe>.manifest` in src_dir,
    where exe is named after the last element of src_dir's go.mod module, else src_dir
    (fyne.io/tools v1.7.4 calculateExeName)."""
    try:
        text = (src_dir / "go.mod").read_text(encoding="utf-8")
    except OSError:
        text = ""
    module = re.search(r"^module\s+\"?([^\s\"]+)", text, re.M)
    name = module.group(1).rstrip("/").rsplit("/", 1)[-1] if module else src_dir.name
    return f"{name}.exe.manifest"


def expected_version(version: str, build: int) -> str:
    """FileVersion as fyne writes it: Version padded to three numbers, then Build."""
    nums = [*version.split("-")[0].split("+")[0].split("."), "0", "0", "0"][:3]
    return ".".join([*nums, str(build)])


def lint(exe: Path, name: str, version: str, build: int, icon: Path) -> Lint:
    """The four things a shipped Windows .exe needs, each a finding naming the field."""
    try:
        import pefile
    except ImportError:
        raise CheckFailed("pefile is not installed: the .exe cannot be read", PEFILE) from None
    try:
        pe = pefile.PE(str(exe), fast_load=True)
        pe.parse_data_directories(
            directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_RESOURCE"]])
    except (pefile.PEFormatError, OSError) as exc:
        raise CheckFailed(f"{exe} is not a PE file: {exc}",
                          "package with `fyne package -os windows`") from None
    try:
        findings: list[Finding] = []
        facts: list[str] = []
        for part in (_subsystem, _icon, _version, _manifest):
            part(pe, findings, facts, name=name, version=version, build=build, icon=icon)
        return Lint(exe, findings, facts)
    finally:
        pe.close()


def _subsystem(pe: Any, findings: list[Finding], facts: list[str], **_: Any) -> None:
    sub = pe.OPTIONAL_HEADER.Subsystem
    if sub == GUI:
        facts.append("GUI subsystem")
    elif sub == CONSOLE:
        findings.append(Finding("Subsystem", "console (IMAGE_SUBSYSTEM_WINDOWS_CUI): Windows "
                                "opens a console window behind the app (fyne#110); it was "
                                "linked without -ldflags -H=windowsgui"))
    else:
        findings.append(Finding("Subsystem", f"{sub}, not the GUI subsystem (2)"))


def _resources(pe: Any, kind: int) -> dict[int, bytes]:
    """Resource id -> data of type `kind` (the first language of each)."""
    out: dict[int, bytes] = {}
    root = getattr(pe, "DIRECTORY_ENTRY_RESOURCE", None)  # absent: no resources at all
    for typ in root.entries if root is not None else []:
        if typ.id != kind:
            continue
        for res in typ.directory.entries:
            for lang in res.directory.entries:
                s = lang.data.struct
                out.setdefault(res.id, pe.get_data(s.OffsetToData, s.Size))
    return out


def _ico(group: bytes, icons: dict[int, bytes]) -> bytes:
    """An .ico file from an RT_GROUP_ICON and its RT_ICONs (the group's 14-byte entries
    name an RT_ICON id where a file's 16-byte entries give an offset)."""
    _, _, count = struct.unpack_from("<HHH", group)
    entries, blobs = [], []
    offset = 6 + 16 * count
    for i in range(count):
        w, h, colours, _, planes, bits, _, rid = struct.unpack_from("<BBBBHHIH", group, 6 + 14 * i)
        data = icons.get(rid)
        if data is None:
            raise ValueError(f"RT_GROUP_ICON names RT_ICON {rid}, which is not in the .exe")
        entries.append(struct.pack("<BBBBHHII", w, h, colours, 0, planes, bits, len(data),
                                   offset))
        blobs.append(data)
        offset += len(data)
    return struct.pack("<HHH", 0, 1, count) + b"".join(entries) + b"".join(blobs)


def _icon(pe: Any, findings: list[Finding], facts: list[str], *, icon: Path,
          **_: Any) -> None:
    from PIL import Image, ImageChops, ImageStat

    groups = _resources(pe, RT_GROUP_ICON)
    if not groups:
        findings.append(Finding("RT_GROUP_ICON", "no icon resource: Explorer and the taskbar "
                                "show a generic icon (fyne#4050)"))
        return
    try:
        with Image.open(io.BytesIO(_ico(next(iter(groups.values())),
                                        _resources(pe, RT_ICON)))) as shipped:
            sizes = sorted(shipped.ico.sizes())
            a = shipped.convert("RGBA").resize((ICON_SIDE, ICON_SIDE), Image.Resampling.LANCZOS)
    except (ValueError, OSError, struct.error) as exc:
        findings.append(Finding("RT_ICON", f"the icon resource does not decode: {exc}"))
        return
    try:
        with Image.open(icon) as src:
            b = src.convert("RGBA").resize((ICON_SIDE, ICON_SIDE), Image.Resampling.LANCZOS)
    except OSError as exc:
        findings.append(Finding("Icon", f"FyneApp.toml's Icon {icon} does not decode: {exc}"))
        return
    diff = sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 4
    shown = ", ".join(f"{w}x{h}" for w, h in sizes)
    if diff > ICON_TOLERANCE:
        findings.append(Finding("RT_ICON", f"the icon ({shown}) is not FyneApp.toml's Icon "
                                f"{icon.name}: at {ICON_SIDE}x{ICON_SIDE} their pixels differ "
                                f"by {diff:.1f}/255 on average"))
    else:
        facts.append(f"icon {shown} matches {icon.name} (mean difference {diff:.1f}/255 at "
                     f"{ICON_SIDE}x{ICON_SIDE})")


def _version(pe: Any, findings: list[Finding], facts: list[str], *, name: str, version: str,
             build: int, **_: Any) -> None:
    strings: dict[str, str] = {}
    for info in getattr(pe, "FileInfo", None) or []:
        for block in info:
            for table in getattr(block, "StringTable", []):
                strings.update({k.decode(errors="replace"): v.decode(errors="replace")
                                for k, v in table.entries.items()})
    if not strings:
        findings.append(Finding("RT_VERSION", "no VERSIONINFO: Explorer's Details tab and the "
                                "installer show no name or version"))
        return
    want = expected_version(version, build)
    got = strings.get("FileVersion")
    if got is None:
        fixed = getattr(pe, "VS_FIXEDFILEINFO", None)
        if fixed:
            f = fixed[0]
            got = (f"{f.FileVersionMS >> 16}.{f.FileVersionMS & 0xFFFF}."
                   f"{f.FileVersionLS >> 16}.{f.FileVersionLS & 0xFFFF}")
    ok = True
    if got != want:
        ok = False
        findings.append(Finding("FileVersion", f"VERSIONINFO FileVersion is {got!r}, "
                                f"FyneApp.toml's Version {version} and Build {build} make "
                                f"{want!r}"))
    if strings.get("ProductName") != name:
        ok = False
        findings.append(Finding("ProductName", f"VERSIONINFO ProductName is "
                                f"{strings.get('ProductName')!r}, FyneApp.toml's Name is "
                                f"{name!r}"))
    if ok:
        facts.append(f"VERSIONINFO ProductName {name!r} FileVersion {got}")


def dpi_declared(manifest: str) -> list[tuple[str, str]]:
    """The dpiAware / dpiAwareness elements of a manifest that declare awareness (not
    `false` or `unaware`, and not inside an XML comment)."""
    text = _COMMENT.sub("", manifest)
    return [(tag, value) for tag, value in _DPI.findall(text)
            if value.strip().lower() not in ("", "false", "unaware")]


def _manifest(pe: Any, findings: list[Finding], facts: list[str], **_: Any) -> None:
    manifests = _resources(pe, RT_MANIFEST)
    if not manifests:
        findings.append(Finding("RT_MANIFEST", "no manifest: Windows scales the app as a "
                                "DPI-unaware program until GLFW sets it at start"))
        return
    declared = dpi_declared(next(iter(manifests.values())).decode("utf-8", errors="replace"))
    if declared:
        facts.append("manifest declares " + ", ".join(f"{t}={v}" for t, v in declared))
    else:
        # fyne.io/tools v1.7.4's template declares none; GLFW then calls
        # SetProcessDpiAwarenessContext at start, which Microsoft advises against (a
        # window made before that call is scaled blurry): a warning, not a fail.
        findings.append(Finding("RT_MANIFEST dpiAware", "the manifest declares no DPI "
                                "awareness (no dpiAware or dpiAwareness element); GLFW sets "
                                "it at run time instead", fail=False))
