"""Reload-tool figures, each against the kit's correct fixture reloader run in the same
process as the baseline.

    python bench/reload.py [--tool CMD ...] [--seeds N] [--mode MODE] [--base DIR]

CMD: a reload command as --fynecheck-reload takes it (air, wgo run ., ...), or one of the
fixture reloaders good, stale, nokill. Default: the fixtures, then air and wgo with their
default configuration and with the fix for embedded assets, then gow likewise (built with
its pinned go1.25 toolchain: it does not build with Go >= 1.26).

Per tool, with the kit's default settings (the distinguishing cases, then 6 examples x 4
steps), seeds 0..N-1, each derandomised:
1. time to a verdict (pass, or a failure found and shrunk), median over the seeds, and
   its ratio to the baseline's                                   (no goal; lower is better)
2. reproducer length after shrinking                              goal <= 6 steps
3. how many seeds pass; a tool that passes must pass all of them (20 for the report)
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import settings

from pytest_fynecheck.churn.stateful import hypothesis_settings
from pytest_fynecheck.containers.start import start_suite
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.reload.harness import ReloadCheckFailed, check_reloader
from pytest_fynecheck.reload.modes import ReloadMode, parse_mode, tool_mounts
from pytest_fynecheck.reload.options import DEFAULT_MAX_EXAMPLES, DEFAULT_STEPS, Options
from pytest_fynecheck.reload.tools import resolve
from pytest_fynecheck.watcher.build import build_go

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reloaders"
DEFAULT_TOOLS = ["good", "stale", "nokill", "air", "air --build.exclude_dir tmp "
                 "--build.include_ext go,txt", "wgo run .", "wgo run -file .txt .", "gow run .",
                 "gow -e go,mod,txt run ."]


def argv_for(cmd: str) -> list[str]:
    if cmd in ("good", "stale", "nokill"):
        return [str(build_go(FIXTURES, cmd, cache=cache_dir()))]
    return resolve(cmd, cache_dir(), print)


ARTIFACTS = Path(tempfile.gettempdir()) / "fynecheck-reload-bench"


def run(argv: list[str], mode: ReloadMode, seed: int) -> tuple[float, int | None, str]:
    hyp = hypothesis_settings(settings(database=None, derandomize=False),
                              max_examples=DEFAULT_MAX_EXAMPLES,
                              stateful_step_count=DEFAULT_STEPS)
    t0 = time.perf_counter()
    try:
        outcome = check_reloader(argv, mode, options=Options(), hyp=hyp, seed_value=seed,
                                 artifacts=ARTIFACTS / f"seed-{seed}")
    except ReloadCheckFailed as exc:
        f = exc.failure
        return (time.perf_counter() - t0, len(f.steps),
                f"seed {seed}: {f.problems[0][:110]} (replay: sh {exc.script})")
    return time.perf_counter() - t0, None, f"seed {seed}: pass: {outcome.stats.exercised()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tool", action="append", help="repeatable; default: see above")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--mode", default="local")
    ap.add_argument("--base", type=Path, default=None)
    args = ap.parse_args()
    # A SIGTERM'd bench must still stop the tool it runs (gow outlives its deleted tree).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"reload bench: mode={args.mode}, seeds={args.seeds}, cpus={os.cpu_count()}, "
          f"load={os.getloadavg()[0]:.1f}")
    tools = ["good", *[t for t in (args.tool or DEFAULT_TOOLS) if t != "good"]]
    argvs = {t: argv_for(t) for t in tools}
    mounts = sorted({m for a in argvs.values() for m in tool_mounts(a)})
    # One container for every tool: each tool's directory mounted.
    mode = parse_mode(args.mode, start=start_suite, base=args.base, mounts=mounts)
    baseline = None
    ok = True
    try:
        for tool in tools:
            # The baseline needs no 20 seeds: its median over a few is the yardstick.
            seeds = min(args.seeds, 3) if tool == "good" else args.seeds
            rows = []
            for s in range(seeds):  # a line per seed: a long run shows where it is
                rows.append(run(argvs[tool], mode, s))
                print(f"    {tool}: {rows[-1][2]} ({rows[-1][0]:.1f} s)", flush=True)
            secs = statistics.median(r[0] for r in rows)
            baseline = baseline or secs
            lengths = [r[1] for r in rows if r[1] is not None]
            passed = sum(r[1] is None for r in rows)
            longest = max(lengths) if lengths else None
            print(f"{tool:50} verdict {secs:6.1f} s (x{secs / baseline:.2f} of good)  "
                  f"passed {passed}/{len(rows)}  reproducer "
                  f"{'-' if longest is None else f'<= {longest} steps'}"
                  f"{'' if longest is None or longest <= 6 else '  (goal <= 6: MISSED)'}")
            for r in rows:
                if r[1] is not None:
                    print(f"    {r[1]} step(s): {r[2]}")
                    break
            ok &= longest is None or longest <= 6
    finally:
        mode.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
