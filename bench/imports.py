"""Figure for issue 23: what importing the kit's plugins costs, as pytest loads them (the
entry point, then each module it lists in `pytest_plugins`), after `import pytest`.

    python bench/imports.py [--runs N] [--before DIR]

Each run is a fresh interpreter with its bytecode cache. Prints the median seconds, how
many of the kit's modules load, and which heavy dependencies (the Docker SDK, requests,
Hypothesis) come with them: none should. `--before DIR` times another tree's kit (e.g.
`git archive` of an older commit) alternately, as the baseline. For where the time goes
module by module: `python -X importtime -c 'import pytest_fynecheck.plugin'`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HEAVY = ("docker", "requests", "hypothesis")
PROBE = f"""
import importlib, json, sys, time
import pytest  # pytest's own cost is not the kit's
start = time.perf_counter()
plugin = importlib.import_module("pytest_fynecheck.plugin")
for name in plugin.pytest_plugins:
    importlib.import_module(name)
print(json.dumps([time.perf_counter() - start,
                  sum(m.startswith("pytest_fynecheck") for m in sys.modules),
                  [h for h in {HEAVY!r} if h in sys.modules]]))
"""


def once(tree: Path) -> tuple[float, int, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, cwd="/",
                          text=True, check=True, timeout=120)
    seconds, modules, heavy = json.loads(done.stdout)
    return float(seconds), int(modules), list(heavy)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--before", type=Path, default=None)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    trees = {"this tree": here, **({f"--before {args.before}": args.before} if args.before
                                   else {})}
    for tree in trees.values():
        once(tree)  # bytecode written
    found: dict[str, list[tuple[float, int, list[str]]]] = {name: [] for name in trees}
    for _ in range(args.runs):  # alternately: both see the same load
        for name, tree in trees.items():
            found[name].append(once(tree))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    for name, runs in found.items():
        seconds = statistics.median(r[0] for r in runs)
        _, modules, heavy = runs[-1]
        print(f"{name:40} {seconds:5.3f} s (median of {args.runs}), {modules} kit modules, "
              f"heavy: {', '.join(heavy) or 'none'}   load {load}")


if __name__ == "__main__":
    main()
