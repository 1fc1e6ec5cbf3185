"""What runs leave behind, and runs side by side (issue 22 items 17 and 18): real pytest
runs of the hello app, SIGKILLed midway or started four at once on one project."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.env import cache_env

from pytest_fynecheck.core.context import wait_until
from pytest_fynecheck.toolchain.gobuild import sweep

KILLED_RUNS = 3


class Runs:
    """`pytest --fynecheck` runs of one project, with a private kit cache and TMPDIR (so
    what they leave is theirs alone) and Go's warm caches."""

    def __init__(self, tmp: Path, project: Path) -> None:
        self.tmp, self.project = tmp, project
        self.cache, self.tmpdir = tmp / "xdg-cache", tmp / "tmp"
        self.tmpdir.mkdir()
        self.env = {**os.environ, **cache_env(), "XDG_CACHE_HOME": str(self.cache),
                    "TMPDIR": str(self.tmpdir)}
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, n: int, *args: str, path: str | None = None) -> subprocess.Popen[str]:
        """Run `n`; `path` first in its PATH (a tool of the test's in place of the real)."""
        where = self.tmp / f"run{n}"
        where.mkdir()
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--fynecheck", f"--fynecheck-project={self.project}",
             f"--fynecheck-json={where / 'out.json'}", "-p", "no:cacheprovider", "-p",
             "no:xdist", "--fynecheck-display=xvfb", *args],
            cwd=where,
            env={**self.env, "PATH": f"{path}{os.pathsep}{self.env['PATH']}"} if path else self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.procs.append(proc)
        return proc

    def json(self, n: int) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.tmp / f"run{n}" / "out.json").read_text())
        return data

    def check(self, n: int, check_id: str) -> dict[str, Any]:
        found: dict[str, Any] = next(c for c in self.json(n)["checks"] if c["id"] == check_id)
        return found

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # Apps a killed run left (not this item's concern): only ours, by their path.
        for pid in _pids_mentioning(str(self.tmp)):
            os.kill(pid, signal.SIGKILL)


def _pids_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def runs(tmp_path: Path, hello: Path) -> Iterator[Runs]:
    made = Runs(tmp_path, hello)
    yield made
    made.close()


def test_sigkilled_runs_leave_nothing_after_the_next_run(runs: Runs) -> None:
    """Fails before: each run left /tmp/fynecheck-artifacts-* (-p no:cacheprovider) and a
    killed one its /tmp/fynecheck-* scratch, never removed."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    points = []
    for n in range(KILLED_RUNS):
        run = runs.start(n, "-k", "app")
        started = time.monotonic()
        if n == 0:  # surely mid-build: the kit's cache is empty, so the first run builds
            assert wait_until(lambda: any(map(_is_go_build, _pids_mentioning(str(runs.cache)))),
                              600, 0.1), "no build started"
        else:  # mid-run: while its app runs (a warm run can end within the 3 s once slept here)
            assert wait_until(lambda: any(not _is_go_build(pid) for pid in
                                          _pids_mentioning(str(runs.cache))),
                              600, 0.05), "the app never started"
            time.sleep(rng.uniform(0, 0.3))
        points.append(round(time.monotonic() - started, 1))
        run.kill()  # SIGKILL: no cleanup of its own
        run.wait()
    left_by_kills = sorted(p.name for p in runs.tmpdir.glob("fynecheck-*"))
    assert left_by_kills, "the kills left nothing: the test would prove nothing"
    final = runs.start(KILLED_RUNS, "-k", "app")
    out, _ = final.communicate(timeout=900)
    print(f"seed {seed}, killed at {points} s; the kills left {left_by_kills}")
    assert final.returncode == 0, out[-4000:]
    assert sorted(p.name for p in runs.tmpdir.glob("fynecheck-*")) == [], out[-2000:]
    assert list(runs.cache.rglob("*.tmp")) == []
    # No killed run's `go build` still writing into the cache.
    assert [pid for pid in _pids_mentioning(str(runs.cache)) if _is_go_build(pid)] == []


def _is_go_build(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"build" in argv and b"-o" in argv


def test_four_concurrent_runs_on_one_project_build_it_once(runs: Runs) -> None:
    """Issue 22 item 18. Fails before: with no lock per cache key each run built the app
    itself (4 of 4 details said "built")."""
    procs = [runs.start(n, "-k", "app.build") for n in range(4)]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[-2000:] for o in outs]
    details = [str(runs.check(n, "app.build")["detail"]) for n in range(4)]
    assert sorted(d.split()[0] for d in details) == ["built", "cached", "cached", "cached"], (
        details)
    binaries = {str(runs.check(n, "app.build")["artifacts"]["binary"]) for n in range(4)}
    assert len(binaries) == 1 and not list(runs.cache.rglob("*.tmp"))
    # The report shows the cache and its bound (item 17).
    cache = runs.json(0)["build_cache"]
    assert isinstance(cache, dict) and cache["builds"] == 1 and cache["bytes"] > 1 << 20
    assert all("fynecheck: build cache " in out and "of at most 2.0 GiB" in out for out in outs)


# Xvfb that starts only once the test says so: the run waits between app.build and
# app.window (whose display is not up yet) for as long as the test needs.
HELD_XVFB = """#!/bin/sh
touch {waiting}
i=0
while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
exec {xvfb} "$@"
"""


def test_a_build_in_use_outlives_another_runs_sweep(runs: Runs) -> None:
    """Run A has built the app and is about to run it (app.window) when run B ends, with
    the cache over its bound: B's sweep must keep the build A uses. Fails before: B
    removed it and A's app.window failed: "`.../builds/app-KEY/app` not found on PATH in
    host"."""
    held = runs.tmp / "held"
    held.mkdir()
    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb is a requirement of the suite"
    (held / "Xvfb").write_text(HELD_XVFB.format(
        waiting=held / "waiting", go=held / "go", xvfb=xvfb))
    (held / "Xvfb").chmod(0o755)
    a = runs.start(0, "-k", "app.window", path=str(held))
    try:
        cache = runs.cache / "pytest-fynecheck"
        assert wait_until(lambda: (held / "waiting").exists()
                          and list(cache.glob("builds/app-*/app")), 600, 0.2), (
            "run A never got between app.build and app.window")
        [binary] = cache.glob("builds/app-*/app")
        b = runs.start(1, "-k", "project.gomod", "--fynecheck-cache-size=1")
        out_b = b.communicate(timeout=600)[0]
        assert b.returncode == 0, out_b[-3000:]
        assert binary.exists(), "run B's sweep removed the build run A is using"
        assert "1 build(s) in use by live runs keep it above the bound" in out_b, out_b[-2000:]
    finally:
        (held / "go").touch()
    out_a = a.communicate(timeout=600)[0]
    assert a.returncode == 0, out_a[-3000:]
    assert runs.check(0, "app.window")["status"] == "ok", runs.check(0, "app.window")
    # Held by a live run only: once A has ended, the next sweep removes it.
    assert sweep(cache, limit=1).removed >= 1 and not binary.exists()
