"""What the header line (project, contexts, Go and Fyne versions) costs a run: issue 23.

    python bench/report_header.py          # 10 rounds of each side, alternately (~30 s)
    python bench/report_header.py -n 20

Each round runs `pytest --fynecheck -k go.version` on a copy of fixtures/hello twice: with
the header as shipped, and with it turned off (this script's own plugin below makes the
header's probes return nothing). It prints the medians of: the time inside
pytest_report_header, the go.version check's own seconds (it reuses the header's memoized
`go env` and `go list -m`), and the whole run's wall time; and the ratio of the walls.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "fixtures" / "hello"

# Loaded into the measured pytest with -p: times the header hook; turns it off when asked.
PLUGIN = '''
import os, sys, time
import pytest

@pytest.hookimpl(wrapper=True)
def pytest_report_header(config):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        sys.stderr.write(f"bench-header {time.perf_counter() - start:.6f}\\n")

def pytest_configure(config):
    if os.environ.get("BENCH_NO_HEADER"):
        import pytest_fynecheck.run.report as report
        report.run_parts = lambda config: []
'''


def one(project: Path, work: Path, header: bool) -> tuple[float, float, float]:
    """Header seconds, go.version seconds, wall seconds of one run."""
    out = work / "report.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(work), str(ROOT)])}
    env.pop("BENCH_NO_HEADER", None)
    if not header:
        env["BENCH_NO_HEADER"] = "1"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "bench_header_plugin", "-p", "no:cacheprovider",
         "-p", "no:xdist", "--fynecheck", f"--fynecheck-project={project}",
         f"--fynecheck-json={out}", "-k", "go.version"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"the run failed:\n{done.stdout}\n{done.stderr}")
    spent = [float(ln.split()[1]) for ln in done.stderr.splitlines() if ln.startswith("bench-")]
    (check,) = json.loads(out.read_text())["checks"]
    return sum(spent), float(check["seconds"]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="rounds of each side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-header-") as tmp:
        work = Path(tmp)
        (work / "bench_header_plugin.py").write_text(PLUGIN)
        project = work / "hello"
        shutil.copytree(HELLO, project, ignore=shutil.ignore_patterns(".pytest_cache"))
        one(project, work, True)  # warm: the build cache and Python's bytecode
        sides: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
        for _ in range(args.n):
            for header in (True, False):  # alternately: a load change hits both sides
                sides[header].append(one(project, work, header))
    med = {h: [statistics.median(x[i] for x in runs) for i in range(3)]
           for h, runs in sides.items()}
    print(f"{'':24}{'header':>10}{'go.version':>12}{'wall':>10}")
    for header, label in ((False, "without the header"), (True, "with the header")):
        h, check, wall = med[header]
        print(f"{label:24}{h * 1000:>8.1f}ms{check * 1000:>10.1f}ms{wall:>9.3f}s")
    ratio = med[True][2] / med[False][2]
    print(f"wall ratio with/without: {ratio:.3f}x (median of {args.n} runs each)")


if __name__ == "__main__":
    main()
