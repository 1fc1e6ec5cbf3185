"""Figures for issue 22 item 2: from SIGINT (Ctrl-C) and SIGTERM (a CI cancel) to the exit
of `pytest --fynecheck` on a copy of fixtures/hello, and what the run left.

    python bench/interrupt.py              # each case twice (about two minutes)
    python bench/interrupt.py --repeat 5
    python bench/interrupt.py --containers # also: while a check runs in a bookworm container

Cases: during a cold build (empty GOCACHE and kit cache; the signal once app.build's
progress says "compiling" and a Go compiler runs), and during app start (warm caches; the
signal once the app's process runs); with --containers, also while go, a compiler or the
app runs in the run's bookworm container (--fynecheck-os=bookworm). Each line: seconds
from the signal to pytest's exit, its ratio to the 5 s the kit promises, and what is left
of the run: processes, display locks, scratch in its TMPDIR, half-made builds, containers.
The verdict it printed must be "INTERRUPTED", and its JSON "ready": false. Exit status 1
when any case misses.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.interrupt import APP, InterruptedRun, wait_for  # noqa: E402

PROMISE = 5.0  # seconds from the signal to exit
START = 900.0  # for the run to reach the moment the signal is sent
BOUND = 120.0  # after the signal: a run still going is killed and counted a miss


IN_CONTAINER = frozenset({"go", "compile", "cgo", "link", "cc1", "gcc", APP})
CONTAINER = "in a container"


def one(case: str, sig: signal.Signals) -> tuple[float | None, list[str]]:
    """Seconds from `sig` to exit (None: not within BOUND), and what went wrong."""
    with tempfile.TemporaryDirectory(prefix="bench-interrupt-") as tmp:
        args = ["--fynecheck-os=bookworm"] if case == CONTAINER else []
        run = InterruptedRun(Path(tmp), cold=case == "cold build", args=args)
        try:
            moments = {
                "cold build": run.building,
                "app start": lambda: run.running(APP),
                CONTAINER: lambda: run.in_container(IN_CONTAINER),
            }
            moment = moments[case]
            if not wait_for(moment, START):
                return None, [f"never reached the {case} within {START:g} s"]
            run.interrupt(sig)
            code = run.finish(BOUND)
            problems = run.leftovers()
            if code is None:
                return None, [f"still running {BOUND:g} s after {sig.name}", *problems]
            out, report = run.output, run.report()
            if code != 2:
                problems.append(f"exit status {code}, not 2 (interrupted)")
            if "ready: every required check passed" in out:
                problems.append('said "ready: every required check passed"')
            if f"INTERRUPTED ({sig.name})" not in out:
                problems.append(f'printed no "INTERRUPTED ({sig.name})" line')
            if report.get("ready") is not False or report.get("interrupted") is not True:
                problems.append(f"JSON ready={report.get('ready')} "
                                f"interrupted={report.get('interrupted')}")
            return run.seconds, problems
        finally:
            if run.proc.poll() is None:
                run.kill()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--containers", action="store_true", help="also in a container")
    args = parser.parse_args()
    missed = 0
    print(f"from the signal to exit; promise {PROMISE:g} s (ratio = seconds / {PROMISE:g})")
    for case in ("cold build", "app start", *([CONTAINER] if args.containers else [])):
        for sig in (signal.SIGINT, signal.SIGTERM):
            times: list[float] = []
            for _ in range(args.repeat):
                seconds, problems = one(case, sig)
                if seconds is not None:
                    times.append(seconds)
                if seconds is None or seconds > PROMISE or problems:
                    missed += 1
                for p in problems:
                    print(f"    MISS {case}, {sig.name}: {p}", flush=True)
            if times:
                worst = max(times)
                print(
                    f"{case + ', ' + sig.name:<22} median {statistics.median(times):5.2f} s  "
                    f"worst {worst:5.2f} s  {worst / PROMISE:4.2f}x  "
                    f"({len(times)}/{args.repeat} runs exited"
                    f"{', all within the promise' if worst <= PROMISE else ''})",
                    flush=True,
                )
    print("nothing of any run left: processes, display locks, scratch, half-made builds, "
          "containers" if not missed else f"{missed} miss(es)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
