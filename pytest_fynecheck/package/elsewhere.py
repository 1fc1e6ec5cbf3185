"""The platforms the kit cannot pack on this machine (issue 25): Android, iOS, macOS.

Their package.* checks are n/a, never a pass: each says what is missing and where it was
looked for. Where the missing thing is present after all (an NDK, a Mac with xcrun), the
check is still n/a: the kit does not run `fyne package -os android|ios|darwin` nor look at
what it makes, so it has verified nothing and says so.

Where fyne.io/tools v1.7.4 (and gomobile, which it drives) finds an NDK: ANDROID_NDK_HOME,
else $ANDROID_HOME/ndk-bundle; Android Studio's side-by-side installs are under
$ANDROID_HOME/ndk/VERSION. An NDK directory has a source.properties (its Pkg.Revision).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

NOT_CHECKED = "the kit does not check {what} packages yet: `fyne package -os {os}` is not " \
              "run here, and nothing is built, installed or launched"


@dataclasses.dataclass(frozen=True)
class Ndk:
    found: Path | None  # an NDK directory (with source.properties), or None
    revision: str  # its Pkg.Revision, "" when unknown
    looked: list[str]  # each place looked at and what was there


def _revision(ndk: Path) -> str:
    try:
        for line in (ndk / "source.properties").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "Pkg.Revision":
                return value.strip()
    except (OSError, UnicodeDecodeError):
        pass
    return ""


def find_ndk(env: Mapping[str, str]) -> Ndk:
    """The Android NDK as the fyne CLI would find it, and what each place held."""
    looked: list[str] = []
    home = env.get("ANDROID_NDK_HOME", "")
    if home:
        if (Path(home) / "source.properties").is_file():
            return Ndk(Path(home), _revision(Path(home)), looked)
        looked.append(f"ANDROID_NDK_HOME={home} is no NDK (no source.properties there)")
    else:
        looked.append("ANDROID_NDK_HOME is unset")
    sdk = env.get("ANDROID_HOME", "")
    if not sdk:
        looked.append("ANDROID_HOME is unset")
        return Ndk(None, "", looked)
    # ndk-bundle (the old single NDK), then ndk/VERSION, newest name last.
    candidates = sorted(Path(sdk).glob("ndk-bundle")) + sorted(Path(sdk).glob("ndk/*"))
    ndks = [c for c in candidates if (c / "source.properties").is_file()]
    if ndks:
        return Ndk(ndks[-1], _revision(ndks[-1]), looked)
    looked.append(f"ANDROID_HOME={sdk} has no NDK (no ndk-bundle/ or ndk/*/ with a "
                  "source.properties)")
    return Ndk(None, "", looked)


def apple_missing(system: str, xcrun: str | None) -> str:
    """What this machine lacks to pack for macOS or iOS ("" when nothing visible)."""
    if system != "Darwin":
        tool = "no xcrun on PATH" if xcrun is None else f"an {xcrun} that is not a Mac's Xcode"
        return f"this machine is {system or 'unknown'} (uname -s), not Darwin, and has {tool}"
    if xcrun is None:
        return "this Mac has no xcrun on PATH: Xcode (or its command line tools) is missing"
    return ""
