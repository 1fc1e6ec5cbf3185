"""The plugin's pytest surface: marker, fixture, options, xdist, report and JSON."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.sample import HELLO

from pytest_fynecheck.core.context import wait_until

USER_TESTS = """
import pytest

@pytest.mark.fyne_ready(checks=["go.version", "cgo.enabled"])
def test_needs_go(fyne_readiness):
    assert fyne_readiness["go.version"].status.value == "ok"

@pytest.mark.fyne_ready(checks=["cgo.enabled"])
def test_needs_cgo():
    pass

def test_fixture_runs_each_check_once(fyne_readiness):
    first = fyne_readiness["go.env"]
    again = fyne_readiness.results(["go.env"])[0]
    assert first is again
"""


def test_marker_and_fixture_pass_when_ready(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess(
        f"--fynecheck-project={HELLO}", "--strict-markers", "-p", "no:xdist"
    )
    result.assert_outcomes(passed=3)


def test_marker_errors_the_test_with_the_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess(
        f"--fynecheck-project={HELLO}", "-k", "needs_cgo", "-p", "no:xdist"
    )
    # CGO_ENABLED=0 in the test's own environment: the readiness check fails.
    result.assert_outcomes(errors=0, failed=0, passed=1)  # sanity: ready in this environment
    pytester.makepyfile(test_user=USER_TESTS)
    mp = pytest.MonkeyPatch()
    mp.setenv("CGO_ENABLED", "0")
    try:
        broken = pytester.runpytest_subprocess(
            f"--fynecheck-project={HELLO}", "-k", "needs_cgo", "-p", "no:xdist"
        )
    finally:
        mp.undo()
    broken.assert_outcomes(errors=1)
    broken.stdout.fnmatch_lines(
        ["*Fyne readiness failed:*", "*[[]✗[]] cgo.enabled*", "*fix: unset CGO_ENABLED*"]
    )


def test_unknown_check_id_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.fyne_ready(checks=["no.such.check"])
        def test_x():
            pass
        """
    )
    result = pytester.runpytest_subprocess(f"--fynecheck-project={HELLO}", "-p", "no:xdist")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*unknown check id(s) no.such.check*"])


def test_options_and_ini_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    text = result.stdout.str()
    for needle in (
        "--fynecheck ",
        "--fynecheck-json=PATH",
        "--fynecheck-display=",
        "fynecheck_window_title",
        "fynecheck_tags",
    ):
        assert needle in text, needle
    markers = pytester.runpytest_subprocess("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.fyne_ready(checks=None)*"])


def test_without_fynecheck_nothing_is_collected(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(f"--fynecheck-project={HELLO}")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_collect_only_lists_the_checks_and_runs_none(
    pytester: pytest.Pytester, hello: Path, tmp_path: Path
) -> None:
    """`--co` lists every check and starts no program: a `go` first on PATH notes each
    call. The same run without --co does call it, so the note would show a run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "go-calls"
    real_go = subprocess.run(["which", "go"], capture_output=True, text=True).stdout.strip()
    go = bin_dir / "go"
    go.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {real_go} "$@"\n')
    go.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "DISPLAY": ""}
    listed = run_fynecheck(pytester, hello, "--co", "-q", env=env)
    assert listed.ret == 0, listed
    listed.result.stdout.fnmatch_lines(["*::fynecheck::go.version", "*::fynecheck::app.window"])
    assert not calls.exists(), f"--co ran go: {calls.read_text()}"
    ran = run_fynecheck(pytester, hello, "-k", "go.version", env=env)
    assert ran.ret == 0, ran
    assert "env" in calls.read_text()


def test_under_xdist_the_report_is_complete(pytester: pytest.Pytester, hello: Path) -> None:
    """Results come back from the workers: the controller prints every check."""
    run = run_fynecheck(pytester, hello, "-n", "2", "-k", "not app.window", xdist=True)
    assert run.ret == 0, run
    ids = set(run.checks)
    assert {"go.version", "cc.works", "gl.context", "app.build"} <= ids
    assert "app.window" not in ids  # deselected
    run.result.stdout.fnmatch_lines(["*fynecheck*", "ready: every required check passed*"])


def test_json_shape(pytester: pytest.Pytester, hello: Path) -> None:
    run = run_fynecheck(pytester, hello, "-k", "go.")
    checks = run.report["checks"]
    assert checks, run
    for c in checks:
        assert set(c) >= {"id", "title", "status", "detail", "hint", "os"}
        assert c["status"] in {"ok", "fail", "warn", "n/a"}
    json.dumps(run.report)  # round-trips


SIGTERM_TESTS = """
import os, time
from pathlib import Path

def test_holds_a_display(fyne_display):
    # The server's pid, then wait to be terminated.
    Path(os.environ["FYNECHECK_PID_FILE"]).write_text(str(fyne_display.server.pid))
    time.sleep(120)
"""


@pytest.mark.parametrize("plugin", ["kit", "without the kit's handler"])
def test_sigterm_stops_what_the_session_started(
    pytester: pytest.Pytester, tmp_path: Path, plugin: str
) -> None:
    """A CI cancel SIGTERMs pytest: the kit turns it into KeyboardInterrupt, so the private
    Xvfb a test holds is stopped. Python's default (a handler set before the plugin, here
    SIG_DFL re-set by a conftest after it) dies at once and leaves Xvfb running."""
    pytester.makepyfile(test_user=SIGTERM_TESTS)
    if plugin != "kit":
        pytester.makeconftest(
            "import signal\nimport pytest\n\n@pytest.hookimpl(trylast=True)\n"
            "def pytest_configure(config):\n"
            "    signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
        )
    pid_file = tmp_path / "xvfb.pid"
    env = {**os.environ, "FYNECHECK_PID_FILE": str(pid_file)}
    env.pop("DISPLAY", None)
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q"],
        cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        assert wait_until(pid_file.exists, 120, 0.1), "the test never got its display"
        server = int(pid_file.read_text())
        assert Path(f"/proc/{server}").exists()
        run.send_signal(signal.SIGTERM)
        out = run.communicate(timeout=120)[0].decode(errors="replace")

        def gone() -> bool:
            try:
                return Path(f"/proc/{server}/stat").read_text().split(") ")[1][0] in "ZX"
            except OSError:
                return True

        if plugin == "kit":
            assert run.returncode == 2, out  # pytest's "interrupted"
            assert "KeyboardInterrupt" in out and "SIGTERM" in out, out
            assert wait_until(gone, 30, 0.1), f"Xvfb {server} outlived the SIGTERM'd run\n{out}"
        else:
            assert run.returncode == -signal.SIGTERM, out
            assert not gone(), "without the handler Xvfb should be left behind"
    finally:
        run.kill()
        run.wait(30)
        if pid_file.exists():  # the leak the second case shows, cleaned up here
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


INTERRUPTING_TEST = """
import os, signal

def test_stop():
    os.kill(os.getpid(), signal.{sig})
"""
LAST = """
import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.name == "test_stop")
"""


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("when", ["before the checks", "after go.version passed"])
def test_an_interrupted_run_reports_interrupted_never_ready(
    pytester: pytest.Pytester, hello: Path, sig: str, when: str
) -> None:
    """Issue 22 item 2: the summary said "ready: every required check passed" and the JSON
    "ready": true after Ctrl-C or SIGTERM; with no check finished, it wrote no JSON at all."""
    pytester.makepyfile(test_user=INTERRUPTING_TEST.format(sig=sig))
    if when != "before the checks":
        pytester.makeconftest(LAST)
    run = run_fynecheck(pytester, hello, "-k", "go.version or test_stop")
    out = run.result.stdout.str()
    assert run.ret == 2, run  # pytest's "interrupted"
    assert "ready: every required check passed" not in out, run
    assert f"INTERRUPTED ({sig}): not every check ran, so this is no verdict" in out, run
    assert run.report.get("ready") is False, run.report
    assert run.report.get("interrupted") is True, run.report
    assert run.report.get("interrupted_by") == sig, run.report
    finished = [c["id"] for c in run.report["checks"]]
    assert finished == ([] if when == "before the checks" else ["go.version"]), finished
