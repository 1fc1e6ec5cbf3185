"""Issue 22 item 2: an interrupted run (Ctrl-C, SIGTERM) stops starting work, ends all it
started, and says "interrupted", never "ready".

Real runs of `pytest --fynecheck` on a copy of fixtures/hello (tests/support/interrupt.py),
signalled while `go build` compiles Fyne cold (an empty GOCACHE: minutes of compiling) and
while the app starts. No timing asserts: bench/interrupt.py measures the time to exit; the bound
here only ends a run that would otherwise go on for minutes.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from support.interrupt import APP, InterruptedRun, wait_for

from pytest_fynecheck.core.model import InputError, Result, Status
from pytest_fynecheck.matrix import merge, summary

# Generous: the old kit went on with the build for minutes. The promise (5 s) is the bench's.
BOUND = 60.0
# Cold: go downloads nothing (the module cache stays warm) but loads and compiles for long.
START = 900.0


def _says_interrupted(run: InterruptedRun, sig: signal.Signals, code: int | None) -> None:
    out = run.output
    assert code is not None, f"still running {BOUND:g} s after {sig.name}:\n{out[-3000:]}"
    assert code == 2, out[-3000:]  # pytest's "interrupted"
    assert "ready: every required check passed" not in out, out[-3000:]
    assert f"INTERRUPTED ({sig.name})" in out, out[-3000:]
    report = run.report()
    assert report.get("ready") is False, report
    assert report.get("interrupted") is True and report.get("interrupted_by") == sig.name, report
    assert run.leftovers() == [], out[-3000:]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_cold_build_ends_it_and_says_interrupted(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """The old kit waited for the build (minutes), then said "ready"."""
    run = InterruptedRun(tmp_path, cold=True)
    try:
        assert wait_for(run.building, START), (
            f"no compiler of the cold build ran within {START:g} s:\n{run.output[-3000:]}"
        )
        run.interrupt(sig)
        _says_interrupted(run, sig, run.finish(BOUND))
    finally:
        if run.proc.poll() is None:
            run.kill()


def test_sigterm_while_the_app_starts_never_says_ready(tmp_path: Path) -> None:
    """Warm caches: app.build is done and app.window has started the app. The old kit let
    app.window finish, then printed "ready" from the checks that had passed."""
    run = InterruptedRun(tmp_path, cold=False)
    try:
        assert wait_for(lambda: run.running(APP), START), (
            f"the app never started:\n{run.output[-3000:]}"
        )
        run.interrupt(signal.SIGTERM)
        _says_interrupted(run, signal.SIGTERM, run.finish(BOUND))
    finally:
        if run.proc.poll() is None:
            run.kill()


# What a check runs in its container: go, its tools, the C compiler, the app.
IN_CONTAINER = frozenset({"go", "compile", "cgo", "link", "cc1", "gcc", APP})


def test_sigterm_while_a_check_runs_in_a_container_ends_it(tmp_path: Path) -> None:
    """The run waited for the container's command before removing the container (the
    process layer cannot cut a container exec short); then said "ready" from the host."""
    run = InterruptedRun(tmp_path, cold=False, args=["--fynecheck-os=bookworm"])
    try:
        assert wait_for(lambda: run.in_container(IN_CONTAINER), START, 0.3), (
            f"nothing ran in a container of the run:\n{run.output[-3000:]}"
        )
        run.interrupt(signal.SIGTERM)
        _says_interrupted(run, signal.SIGTERM, run.finish(BOUND))
    finally:
        if run.proc.poll() is None:
            run.kill()


def _passed(where: str = "host") -> list[Result]:
    return [Result("go.version", "Go is installed", Status.OK, "go1.22", where=where)]


def test_an_interrupted_matrix_summary_is_no_verdict() -> None:
    for page in (
        summary.markdown(_passed(), ["host"], {}, interrupted="SIGTERM"),
        summary.html_page(_passed(), ["host"], {}, interrupted="SIGTERM"),
    ):
        assert "INTERRUPTED (SIGTERM)" in page and "ready" not in page, page


def test_merge_refuses_a_shard_that_was_interrupted(tmp_path: Path) -> None:
    """Its cells' missing checks would read as passed in the merged matrix."""
    path = tmp_path / "shard.json"
    path.write_text(json.dumps({
        "checks": [r.to_json() for r in _passed()], "ready": False,
        "interrupted": True, "interrupted_by": "SIGINT",
    }))
    with pytest.raises(InputError, match=r"shard\.json is from an interrupted run \(SIGINT\)"):
        merge.load(path)
