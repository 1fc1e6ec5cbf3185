"""Figure for issue 23: what Hypothesis's own pytest plugin costs a run. Its
pytest_terminal_summary imports `hypothesis` in every pytest run, with or without the kit,
so it is part of the ratio bench/readiness.py prints and not something the kit can cut
(short of disabling the user's plugin, which it does not do).

    python bench/hypothesis_plugin.py [--repeat N] [--app DIR]

Runs alternately in the app's directory (default fixtures/hello, warm): `pytest
--fynecheck` and `pytest --co -p no:fynecheck`, each with and without `-p
no:hypothesispytest`; prints medians (min beside) and the load. Needs a DISPLAY (as
bench/readiness.py starts one) for the --fynecheck runs to pass; their exit status is not
judged here: only time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from stopwatch import timed

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {
    "pytest --fynecheck": ["--fynecheck"],
    "pytest --fynecheck -p no:hypothesispytest": ["--fynecheck", "-p", "no:hypothesispytest"],
    "pytest --co -p no:fynecheck": ["--co", "-p", "no:fynecheck"],
    "pytest --co -p no:fynecheck -p no:hypothesispytest": [
        "--co", "-p", "no:fynecheck", "-p", "no:hypothesispytest"],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--app", type=Path, default=ROOT / "fixtures" / "hello")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine: bytecode cached
    with tempfile.TemporaryDirectory() as tmp:
        base = [sys.executable, "-m", "pytest", "-q", "-o", f"cache_dir={tmp}"]

        def run(extra: list[str]) -> float:
            return timed(lambda: subprocess.run([*base, *extra], cwd=args.app, env=env,
                                                capture_output=True, timeout=600, check=False))

        for extra in VARIANTS.values():
            run(extra)  # warm: bytecode, pytest's cache
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(args.repeat):  # alternately: every variant sees the same load
            for name, extra in VARIANTS.items():
                times[name].append(run(extra))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    for name, values in times.items():
        print(f"{name:52} {statistics.median(values):4.2f} s (min {min(values):4.2f})")
    print(f"app {args.app}; {args.repeat} runs each; load {load}")


if __name__ == "__main__":
    main()
