"""The kill test, display half: pytest SIGKILLed mid-run 20 times leaves no display server.

The run after the kills must end every Xvfb, weston and Xwayland the killed runs left
(its reaper reads pid records); the count is taken by ancestry (display_kill_rounds.py).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_fynecheck.core import reaper

ROUNDS = 20

HOLDING_TEST = """
import time
import pytest

@pytest.mark.fyne_display("xvfb", "weston", "weston-xwayland", "weston-x11")
def test_hold(fyne_display):
    time.sleep(0.4)
"""


@pytest.mark.slow
def test_sigkilled_runs_leave_no_display_servers_after_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = tmp_path / "records"
    monkeypatch.setenv(reaper.RECORDS_ENV, str(records))  # only these runs' records
    testdir = tmp_path / "suite"
    testdir.mkdir()
    (testdir / "test_hold.py").write_text(HOLDING_TEST)
    seed = random.randrange(1 << 30)
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("display_kill_rounds.py")),
            str(testdir),
            str(ROUNDS),
            str(seed),
        ],
        env={**os.environ, reaper.RECORDS_ENV: str(records)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    kills = report["kills"]
    points = [(k["at"], k["left"]) for k in kills]
    print(f"seed {seed}, whole run {report['whole_run_seconds']} s: (kill at s, stranded) {points}")
    assert len(kills) == ROUNDS
    # The test means something only if the kills really stranded servers.
    assert sum(k["left"] for k in kills) > 0, kills
    assert report["final_returncode"] == 0, report["final_output"]
    assert report["left_after_final"] == [], (report["left_after_final"], report["final_output"])
    assert reaper.recorded_alive() == []
    # weston's private runtime directories go too (only those a record names).
    assert report["dirs_left"] == [], report["dirs_left"]
