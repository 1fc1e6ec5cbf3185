"""The tarball as a user installs it on a clean desktop (issue 25, package.install).

In a suite's runtime-only container (containers/Dockerfile.runtime: no Go, no -dev
package, no compiler) and as a non-root user: `tar -xJf` and `make user-install`, which
in fyne.io/tools v1.7.4 (templates/data/Makefile) copies the binary to ~/.local/bin, the
.desktop file to ~/.local/share/applications and the icon to ~/.local/share/icons, then
rewrites the .desktop file's Exec to the binary's full path. Then every shared library of
the installed binary must resolve (`ldd`). The Debian package of a missing soname comes
from this machine's own dpkg database: the container is offline and has neither apt lists
nor a Contents index, so that is all that can be told without a network.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.package.linux import top_entry

OS_RELEASE = Path("/etc/os-release")


def suite_for_host(suites: tuple[str, ...], os_release: Path = OS_RELEASE) -> tuple[str, str]:
    """The suite whose runtime image the host's package.install uses, and why: this
    machine's own Debian suite when the kit has an image of it, else bookworm."""
    codename = ""
    try:
        for line in os_release.read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                codename = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    if codename in suites:
        return codename, f"this machine's own suite ({codename}, from {os_release})"
    seen = f"this machine is {codename!r}" if codename else f"{os_release} names no suite"
    return "bookworm", f"bookworm ({seen}, not one of {', '.join(suites)})"


@dataclasses.dataclass(frozen=True)
class UserInstalled:
    desktop: str  # the installed .desktop file, a path in the container
    entry: dict[str, str]  # its [Desktop Entry]
    exec_argv: list[str]  # its Exec line, field codes (%f, %U, ...) dropped
    binary: str  # the installed binary Exec starts
    # Its other groups ([X-Fyne Source], ...): desktops read none of their keys.
    others: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)


_SCRIPT = """set -e
work=$(mktemp -d)
tar -xJf "$1" -C "$work"
make -C "$work/$2" user-install >&2
for f in "$HOME"/.local/share/applications/*.desktop; do
  [ -e "$f" ] || continue
  echo "@@ $f"; cat "$f"
done
"""


def user_install(ctx: Context, tarball: Path) -> UserInstalled:
    """`tar -xJf` + `make user-install` in `ctx` (the container), as its user; the
    installed .desktop file and the binary its Exec line starts."""
    top = top_entry(tarball)
    done = ctx.run(["sh", "-c", _SCRIPT, "sh", str(tarball), top], timeout=300)
    if not done.ok:
        raise CheckFailed(
            f"`tar -xJf {tarball.name}` + `make user-install` as a user failed in "
            f"{ctx.name} (exit {done.returncode}):\n{done.output[-2000:]}",
            "unpack the tarball and run `make user-install` to see why")
    files = re.split(r"^@@ (.+)\n", done.stdout, flags=re.M)[1:]
    apps = dict(zip(files[0::2], files[1::2], strict=True))
    if len(apps) != 1:
        raise CheckFailed(f"`make user-install` put {len(apps)} .desktop files in "
                          f"~/.local/share/applications, not one: {sorted(apps)}",
                          "look at the Makefile's user-install target in the tarball")
    desktop, text = next(iter(apps.items()))
    groups = _groups(text)
    entry = groups.pop("Desktop Entry", {})
    if not entry:
        raise CheckFailed(f"{desktop} has no [Desktop Entry] after `make user-install`",
                          f"run desktop-file-validate on {Path(desktop).name}")
    try:
        argv = [a for a in shlex.split(entry.get("Exec", "")) if not re.fullmatch(r"%.", a)]
    except ValueError as exc:
        raise CheckFailed(f"{desktop}'s Exec line does not parse: {exc}",
                          "package again with `fyne package -os linux`") from None
    if not argv:
        raise CheckFailed(f"{desktop} has no Exec line after `make user-install`",
                          "package with `fyne package -os linux`")
    found = ctx.run(["sh", "-c", 'command -v "$1"', "sh", argv[0]], timeout=30)
    binary = found.stdout.strip()
    if not found.ok or not binary:
        raise CheckFailed(
            f"{desktop} says Exec={entry['Exec']} after `make user-install`, and no "
            f"executable {argv[0]} is there (nor on the user's PATH)",
            "the Makefile's user-install must rewrite Exec to ~/.local/bin/NAME")
    return UserInstalled(desktop, entry, argv, binary, groups)


def _groups(text: str) -> dict[str, dict[str, str]]:
    """Each [group] of a .desktop file and its keys (the first of a repeated key)."""
    groups: dict[str, dict[str, str]] = {}
    group = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            group = groups.setdefault(line[1:-1], {})
        elif group is not None and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            group.setdefault(key.strip(), value.strip())
    return groups


_NOT_FOUND = re.compile(r"^\s*(\S+) => not found\s*$", re.M)
# ldd's word for a library that is there but older than the binary needs (a newer glibc).
_OLD_VERSION = re.compile(r"version `([^']+)' not found \(required by [^)]*\)")


def missing_libraries(ctx: Context, binary: str) -> list[str]:
    """The sonames `ldd` cannot resolve for `binary` in `ctx`, in ldd's order; a symbol
    version the suite's libraries are too old for (GLIBC_2.34 on bullseye) is a failure
    naming it."""
    done = ctx.run(["ldd", binary], timeout=60)
    if "not a dynamic executable" in done.output:
        return []  # a static binary needs no shared library
    if not done.ok and not _NOT_FOUND.search(done.stdout):
        raise CheckFailed(f"`ldd {binary}` failed in {ctx.name} (exit {done.returncode}): "
                          f"{done.output[-1000:]}", "run ldd on the installed binary")
    versions = sorted(set(_OLD_VERSION.findall(done.output)))
    if versions:
        raise CheckFailed(
            f"{binary} needs {', '.join(versions)}, newer than a {ctx.name} desktop has "
            "(ldd: version not found): the tarball was built against a newer glibc",
            "build the tarball on the oldest Debian suite your users run (glibc.portability "
            "names the newest glibc symbol the app needs), or drop that suite from ini "
            "fynecheck_package_suites")
    return _NOT_FOUND.findall(done.stdout)


def providers(host: Context, sonames: list[str]) -> dict[str, str]:
    """The Debian package that ships each soname on this machine (`dpkg-query -S`), for
    those this machine's dpkg database knows."""
    if not sonames or host.which("dpkg-query") is None:
        return {}
    done = host.run(["dpkg-query", "-S", *(f"*/{s}" for s in sonames)], timeout=60)
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        pkgs, _, path = line.partition(": ")
        name = Path(path.strip()).name
        if name in sonames and name not in found:
            found[name] = pkgs.split(",")[0].strip().split(":")[0]
    return found


def library_report(ctx: Context, host: Context, binary: str, host_suite: str) -> str:
    """The ldd verdict: a detail when every library resolves, else CheckFailed naming each
    missing soname and, where this machine's dpkg can tell, its Debian package."""
    missing = missing_libraries(ctx, binary)
    if not missing:
        return f"every shared library of {binary} resolves (ldd)"
    known = providers(host, missing)
    where = f"this machine's dpkg database ({host_suite})"
    lines = [f"{s}: from Debian package {known[s]} (per {where})" if s in known
             else f"{s}: no package of {where} ships it; the offline container cannot say "
                  "more (no apt lists, no Contents index)" for s in missing]
    names = sorted({known[s] for s in missing if s in known})
    hint = (f"users need {', '.join(names)} installed: declare it as a dependency of your "
            "package, or link the library statically" if names else
            "link the library statically, or tell users which package to install")
    raise CheckFailed(f"{binary} needs shared libraries a {ctx.name} desktop does not have "
                      "(ldd: not found):\n" + "\n".join(lines), hint)


_WM_CLASS = re.compile(r'^WM_CLASS\(\w+\) = "((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)"', re.M)


def wm_class(ctx: Context, env: dict[str, str], window: str) -> tuple[str, str]:
    """The window's WM_CLASS (instance, class), from `xprop` on its display."""
    done = ctx.run(["xprop", "-id", window, "WM_CLASS"], env=env, timeout=30)
    found = _WM_CLASS.search(done.stdout)
    if not done.ok or found is None:
        raise CheckFailed(f"`xprop -id {window} WM_CLASS` gave no class: "
                          f"{done.output.strip()[-500:]}",
                          "the app's window sets no WM_CLASS: desktops cannot match it to "
                          "its .desktop file")
    return found[1], found[2]


def compare_wm_class(desktop: str, entry: dict[str, str], instance: str, klass: str,
                     others: dict[str, dict[str, str]] | None = None) -> str:
    """StartupWMClass against the window's WM_CLASS, as GNOME Shell's window tracker
    matches them (the class, else the instance): a mismatch gives the app's window a
    generic dock icon and a second dock entry (fyne#6004). `others` are the file's groups
    besides [Desktop Entry]: a StartupWMClass there is not read."""
    wanted = entry.get("StartupWMClass")
    stray = [(g, keys["StartupWMClass"]) for g, keys in (others or {}).items()
             if "StartupWMClass" in keys]
    if wanted is None and stray:
        # fyne.io/tools v1.7.4's entry.desktop template writes the line after the
        # [X-Fyne Source] group that FyneApp.toml's [Source] adds: it lands in that group.
        group, value = stray[0]
        raise CheckFailed(
            f"{desktop} has StartupWMClass={value} only in its [{group}] group, not in "
            "[Desktop Entry], where desktops read it: docks cannot match the window "
            f"(WM_CLASS {instance!r}, {klass!r}) to the app and show a generic icon",
            "the fyne CLI's .desktop template puts StartupWMClass after the [X-Fyne Source] "
            "group when FyneApp.toml has a [Source] section: drop [Source] from FyneApp.toml, "
            "or move the line into [Desktop Entry] after packaging"
            if group == "X-Fyne Source" else
            f"move StartupWMClass={value} into the [Desktop Entry] group")
    if wanted is None:
        raise CheckFailed(f"{desktop} has no StartupWMClass; the window's WM_CLASS is "
                          f"{instance!r}, {klass!r}",
                          f"add StartupWMClass={klass} so docks match the window to the app")
    if wanted in (klass, instance):
        which = "class" if wanted == klass else "instance"
        return f"its WM_CLASS {which} {wanted!r} matches StartupWMClass"
    raise CheckFailed(
        f"the window's WM_CLASS is {instance!r}, {klass!r} (xprop) but {desktop} says "
        f"StartupWMClass={wanted}: docks show a generic icon for it (fyne#6004)",
        "Fyne's GLFW window takes its WM_CLASS from its title when first shown: give the "
        f"first window the title {wanted!r} (FyneApp.toml's Name), or set StartupWMClass "
        "to the window's class")
