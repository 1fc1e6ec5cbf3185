"""package.android, package.ios, package.macos (issue 25): honest n/a, never a pass. Each
names what it looked for and did not find on this machine; an NDK that is there still
gives n/a, saying the kit did not check Android packages, since it verified nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import run_fynecheck
from test_package import PACKAGED

ANDROID_VARS = ("ANDROID_NDK_HOME", "ANDROID_HOME")
ELSEWHERE = ("package.android", "package.ios", "package.macos")


@pytest.fixture
def packaged(tmp_path: Path) -> Path:
    dest = tmp_path / "packaged app"
    shutil.copytree(PACKAGED, dest, ignore=shutil.ignore_patterns(".pytest_cache"))
    return dest


def _run(pytester: pytest.Pytester, project: Path, env: dict[str, str]
         ) -> dict[str, dict[str, str]]:
    run = run_fynecheck(pytester, project, "-k", "android or ios or macos", "-rs", env=env,
                        unset=[v for v in ANDROID_VARS if v not in env])
    out = run.result.stdout.str()
    assert "Traceback" not in out, run
    assert set(ELSEWHERE) <= set(run.checks), run
    # A skip is no pass anywhere: pytest counts them skipped, the kit's summary n/a.
    outcomes = run.result.parseoutcomes()
    assert outcomes.get("skipped") == 3 and "passed" not in outcomes, (outcomes, run)
    verdict = [ln for ln in out.splitlines() if re.search(r"\(\d+ [a-z/ ]+(, |\))", ln)
               and "verdict" in ln.lower()]
    # Only optional n/a checks ran: no "ready" rests on them.
    assert verdict and verdict[-1].startswith("NO VERDICT: no required check passed"), (
        verdict, run)
    assert "3 n/a" in verdict[-1] and " ok" not in verdict[-1], (verdict, run)
    assert run.report["ready"] is False, run
    for check_id in ELSEWHERE:
        assert run.checks[check_id]["status"] == "n/a", run.checks[check_id]
        # pytest's short summary carries the reason too.
        reason = f"n/a: {run.checks[check_id]['detail']}"
        assert any(ln.startswith("SKIPPED") and ln.endswith(reason)
                   for ln in run.result.outlines), (reason, run)
    return {c: run.checks[c] for c in ELSEWHERE}


def test_android_ios_and_macos_are_na_naming_what_is_missing(
    pytester: pytest.Pytester, packaged: Path, tmp_path: Path
) -> None:
    sdk = tmp_path / "sdk"
    (sdk / "ndk").mkdir(parents=True)  # Android Studio's folder, no NDK inside
    got = _run(pytester, packaged, {"ANDROID_HOME": str(sdk)})
    android = got["package.android"]["detail"]
    assert android.startswith("no Android NDK found: ANDROID_NDK_HOME is unset; "
                              f"ANDROID_HOME={sdk} has no NDK"), android
    assert "cannot be installed offline" in android, android
    for check_id, os_name in (("package.macos", "darwin"), ("package.ios", "ios")):
        detail = got[check_id]["detail"]
        assert detail == ("this machine is Linux (uname -s), not Darwin, and has no xcrun on "
                          f"PATH: `fyne package -os {os_name}` needs a Mac with Xcode"), detail


def test_an_ndk_that_is_there_is_still_na_not_a_pass(
    pytester: pytest.Pytester, packaged: Path, tmp_path: Path
) -> None:
    """The kit runs no `fyne package -os android`: an NDK found proves nothing about the app."""
    ndk = tmp_path / "android-ndk-r26d"
    ndk.mkdir()
    (ndk / "source.properties").write_text(
        "Pkg.Desc = Android NDK\nPkg.Revision = 26.3.11579264\n")
    got = _run(pytester, packaged, {"ANDROID_NDK_HOME": str(ndk)})
    assert got["package.android"]["detail"] == (
        f"an Android NDK 26.3.11579264 is at {ndk}, but the kit does not check Android packages "
        "yet: `fyne package -os android` is not run here, and nothing is built, installed or "
        "launched"), got


def test_a_folder_without_source_properties_is_no_ndk(
    pytester: pytest.Pytester, packaged: Path, tmp_path: Path
) -> None:
    got = _run(pytester, packaged, {"ANDROID_NDK_HOME": str(tmp_path)})
    assert got["package.android"]["detail"].startswith(
        f"no Android NDK found: ANDROID_NDK_HOME={tmp_path} is no NDK (no source.properties "
        "there); ANDROID_HOME is unset"), got
