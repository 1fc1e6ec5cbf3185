"""SIGKILL pytest runs that hold display servers, then count what a following run leaves.

Run as a script by test_displays_kill.py:
    python display_kill_rounds.py TESTDIR ROUNDS SEED
It makes itself a child subreaper, so every orphan of a killed run (Xvfb, weston,
Xwayland, xdist workers) becomes its descendant: leftovers are counted exactly, by
ancestry, without matching names. Prints one JSON object.
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.proc import live_processes

PR_SET_CHILD_SUBREAPER = 36


def live_descendants(root: int) -> list[str]:
    """'pid command' of every non-zombie process below `root`."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for pid, name, fields in live_processes():
        children.setdefault(int(fields[1]), []).append(pid)
        names[pid] = name
    found: list[str] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(f"{pid} {names[pid]}")
        todo += children.get(pid, [])
    return sorted(found)


def reap_zombies() -> None:
    """Orphans are ours to wait for now; this script starts no other children meanwhile."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def settle(root: int, timeout: float) -> list[str]:
    """Leftovers once dying processes had `timeout` seconds to go."""
    deadline = time.monotonic() + timeout
    while True:
        reap_zombies()
        left = live_descendants(root)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def main() -> None:
    testdir, rounds, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    me = os.getpid()
    rng = random.Random(seed)
    pytest_argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(testdir)]
    # One whole run first: kill points are spread over its length, so a slow (loaded)
    # machine still gets kills while servers run, not only during start-up.
    # Timed twice, the faster kept: the first run may be cold (seen: 19 s, then every
    # round finished before its kill point and nothing was stranded).
    lengths = []
    for _ in range(2):
        start = time.monotonic()
        subprocess.run(pytest_argv, cwd=testdir, capture_output=True, timeout=300, check=False)
        lengths.append(time.monotonic() - start)
    length = min(lengths)
    kills: list[dict[str, object]] = []
    for i in range(rounds):
        # Every fourth round under xdist: the controller dies, its workers are orphaned.
        argv = pytest_argv + (["-n", "2"] if i % 4 == 3 else [])
        at = round(rng.uniform(0.05, 1.0) * length, 2)
        run = subprocess.Popen(
            argv, cwd=testdir, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        try:
            run.wait(at)
            finished = True
        except subprocess.TimeoutExpired:
            run.send_signal(signal.SIGKILL)
            run.wait()
            finished = False
        reap_zombies()
        kills.append(
            {
                "at": at,
                "xdist": i % 4 == 3,
                "finished_first": finished,
                "left": len(live_descendants(me)),
            }
        )
    # Runtime dirs the killed runs recorded and the next run's reaper must remove.
    records = Path(os.environ["FYNECHECK_RECORDS_DIR"])
    dirs = [
        line.split(maxsplit=1)[1]
        for path in records.rglob("*.pids")  # one directory per boot and pid namespace
        for line in path.read_text().splitlines()
        if line.startswith("dir ")
    ]
    final = subprocess.run(
        pytest_argv, cwd=testdir, capture_output=True, text=True, timeout=300, check=False
    )
    left = settle(me, 10.0)
    print(
        json.dumps(
            {
                "seed": seed,
                "whole_run_seconds": round(length, 2),
                "kills": kills,
                "final_returncode": final.returncode,
                "final_output": final.stdout[-3000:],
                "left_after_final": left,
                "dirs_recorded": dirs,
                "dirs_left": [d for d in dirs if Path(d).exists()],
            }
        )
    )
    for line in left:  # never leave them running, even when the test fails
        os.kill(int(line.split()[0]), signal.SIGKILL)
    settle(me, 5.0)


if __name__ == "__main__":
    main()
