"""FyneApp.toml by the rules of the fyne CLI (fyne.io/tools v1.7.4, read from its source:
cmd/fyne/internal/metadata for the file, commands/package.go `validate`, `isValidVersion`
and `validateAppID` for the fields).

Each finding says whether `fyne package -os linux` itself refuses it (`cli_refuses`):
tests/test_package.py holds that to the real CLI. The kit also fails three things that
CLI may accept for Linux but that break a release: an unset ID or one without a dot (the
CLI refuses it for Android, iOS and `fyne release -os windows`), a '/' in Name or ID
(file names), and an Icon named .png that is not a PNG (the CLI copies it as is and the
desktop shows a generic icon).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

from pytest_fynecheck.package import FYNEAPP

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before the standard library had it
    import tomli as tomllib

NAME = FYNEAPP
DEFAULT_ICON = "Icon.png"  # what the CLI looks for when Details.Icon is empty
MIN_ICON = 256  # px: smaller icons blur in docks and app grids

# golang.org/x/mod/semver.IsValid after the CLI prefixes "v": MAJOR[.MINOR[.PATCH]], the
# short forms without pre-release or build parts; numbers without leading zeros.
_NUM = r"(0|[1-9][0-9]*)"
_PRE = r"(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_GO_SEMVER = re.compile(
    rf"{_NUM}(\.{_NUM}(\.{_NUM}(-{_PRE}(\.{_PRE})*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?)?"
)
_STRICT = re.compile(rf"{_NUM}\.{_NUM}\.{_NUM}")
_ATOI = re.compile(r"[+-]?[0-9]+")  # Go's strconv.Atoi, within int64
_INT64 = 1 << 63


@dataclasses.dataclass(frozen=True)
class Finding:
    field: str  # "Details.Version", or the file ("FyneApp.toml", the icon's path)
    fail: bool  # else a warning
    message: str
    cli_refuses: bool = False  # `fyne package -os linux` stops on it


@dataclasses.dataclass(frozen=True)
class Lint:
    path: Path
    findings: tuple[Finding, ...]
    details: dict[str, Any]  # the [Details] table as read
    icon: Path | None  # the icon the CLI would ship, when it exists
    icon_size: tuple[int, int] | None

    @property
    def failed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.fail)


def cli_accepts_version(version: str) -> bool:
    """commands/package.go isValidVersion."""
    if _GO_SEMVER.fullmatch(version):
        return True
    parts = version.split(".")
    return 1 <= len(parts) <= 2 and all(
        _ATOI.fullmatch(p) and -_INT64 <= int(p) < _INT64 for p in parts
    )


def lint(src_dir: Path) -> Lint:
    """The findings for `src_dir`'s FyneApp.toml (src_dir: where `fyne package` runs, the
    main package's directory)."""
    path = src_dir / NAME
    found: list[Finding] = []
    data: dict[str, Any] = {}
    if not path.is_file():
        found.append(Finding(NAME, False, f"no {NAME} in {src_dir}: `fyne package` uses the "
                                          "module's name, no ID and version 1.0.0"))
    else:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            return Lint(path, (Finding(NAME, True, f"{path} is not TOML the CLI can read: {exc}",
                                       cli_refuses=True),), {}, None, None)
    details = data.get("Details", {})
    if not isinstance(details, dict):
        return Lint(path, (Finding("Details", True, f"[Details] in {path} is a "
                                   f"{_kind(details)}, not a table", cli_refuses=True),),
                    {}, None, None)
    typed = True
    for key in ("Icon", "Name", "ID", "Version"):
        if key in details and not isinstance(details[key], str):
            found.append(Finding(f"Details.{key}", True, f"Details.{key} is a "
                                 f"{_kind(details[key])}, not a string", cli_refuses=True))
            typed = False
    build = details.get("Build", 0)
    if not isinstance(build, int) or isinstance(build, bool) or not -_INT64 <= build < _INT64:
        found.append(Finding("Details.Build", True, f"Details.Build is {build!r} "
                             f"({_kind(build)}), not an integer", cli_refuses=True))
        typed = False
    if not typed:  # the CLI stops at the first decode error: the rest is not judged
        return Lint(path, tuple(found), details, None, None)
    for key, what in (("Name", "the tarball"), ("ID", "the .desktop file and the icon")):
        if "/" in details.get(key, ""):  # package-unix.go names files after them
            # Not `cli_refuses`: a '/' alone, or one into a directory that exists, passes.
            found.append(Finding(f"Details.{key}", True, f"Details.{key} "
                                 f"{details[key]!r} has a '/': the CLI names {what} after it, "
                                 "so it fails or writes them outside their directory"))
    found += _id(details.get("ID", ""))
    found += _version(details.get("Version", ""))
    if build <= 0:
        found.append(Finding("Details.Build", False, f"Details.Build is {build}: fyne uses 1"))
    if not details.get("Name"):
        found.append(Finding("Details.Name", False, "Details.Name is not set: the app is "
                             "named after the module's last path element"))
    icon_findings, icon, size = _icon(src_dir, details.get("Icon", ""))
    return Lint(path, tuple(found + icon_findings), details, icon, size)


def _id(app_id: str) -> list[Finding]:
    release = ("`fyne package -os android/ios` and `fyne release -os windows` refuse it; "
               "use reverse DNS such as com.example.app")
    if not app_id:
        return [Finding("Details.ID", True, f"Details.ID is not set: {release}")]
    if "." not in app_id:
        return [Finding("Details.ID", True, f"Details.ID {app_id!r} has no '.': {release}")]
    return []


def _version(version: str) -> list[Finding]:
    if not version:
        return [Finding("Details.Version", False, "Details.Version is not set: fyne uses 1.0.0")]
    if not cli_accepts_version(version):
        return [Finding("Details.Version", True, f"Details.Version {version!r} is neither "
                        "semver nor up to two integers (x or x.y): the CLI refuses it",
                        cli_refuses=True)]
    if not _STRICT.fullmatch(version):
        return [Finding("Details.Version", False, f"Details.Version {version!r} is not "
                        "MAJOR.MINOR.PATCH: fyne accepts it and pads it to three numbers")]
    return []


def _icon(src_dir: Path, named: str) -> tuple[list[Finding], Path | None, tuple[int, int] | None]:
    icon = src_dir / (named or DEFAULT_ICON)
    field = "Details.Icon" if named else f"Details.Icon (unset: {DEFAULT_ICON})"
    if not icon.is_file():
        return [Finding(field, True, f"icon {icon} does not exist: the CLI refuses to package",
                        cli_refuses=True)], None, None
    from PIL import Image, UnidentifiedImageError  # Pillow: only a package run needs it

    is_png = icon.suffix.lower() == ".png"
    try:
        with Image.open(icon) as img:
            kind, size = img.format, img.size
            img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # A non-.png icon is decoded by the CLI (png, jpeg, ico), which refuses what fails.
        why = ("the CLI ships it as is and desktops show a generic icon" if is_png
               else "the CLI refuses it")
        return [Finding(field, True, f"icon {icon} does not decode as an image ({exc}): {why}",
                        cli_refuses=not is_png)], icon, None
    if is_png and kind != "PNG":
        return [Finding(field, True, f"icon {icon} is {kind}, not PNG, under a .png name: the "
                        "CLI ships it as is and desktops show a generic icon")], icon, size
    warn = []
    w, h = size
    if w != h:
        warn.append(Finding(field, False, f"icon {icon} is {w}x{h}, not square"))
    if min(w, h) < MIN_ICON:
        warn.append(Finding(field, False, f"icon {icon} is {w}x{h}: below {MIN_ICON} px it "
                            "blurs in docks and app grids"))
    return warn, icon, size


def _kind(value: object) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)
