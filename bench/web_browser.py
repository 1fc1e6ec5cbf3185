"""Figures for issue 24, the browser half: headless Chromium's start to the first non-blank
frame of fixtures/hello's js/wasm build, and a warm `pytest --fynecheck --fynecheck-os web`
on fixtures/hello with where its time goes.

    python bench/web_browser.py [--loads 10] [--runs 3]

1. One js/wasm build of fixtures/hello (warm GOCACHE) and a site (index.html, the GOROOT's
   wasm_exec.js, app.wasm); then --loads page probe runs (web/browser.run_probe, as
   web.window runs it, a fresh browser each): browser start (launch), the page opened to
   its first non-blank frame, and the probe's whole run (server, browser, stop), median
   and max. Ratio: first frame / launch.
2. One warm-up run, then --runs warm `pytest --fynecheck --fynecheck-os web -k "web and not
   drift"` in fixtures/hello (the kit's cache warm), each with bench/timeline.py loaded:
   total seconds (median), and per phase: pytest's start to configured, collection, each
   web check's run function, the report. Ratio: web.window's share of the total.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.web import browser
from pytest_fynecheck.web.build import make_site

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "fixtures" / "hello"
def _context(where: Path) -> Context:
    scratch = where / "scratch"
    scratch.mkdir(exist_ok=True)
    return Context(where, scratch, where / "cache", environ={**os.environ, "TMPDIR": str(scratch)})


def build_site(where: Path) -> Path:
    """hello built for js/wasm by a bare `go build`, in the site the kit makes for it."""
    wasm = where / "app.wasm"
    env = {**os.environ, "GOOS": "js", "GOARCH": "wasm", "CGO_ENABLED": "0"}
    subprocess.run(["go", "build", "-o", str(wasm), "."], cwd=HELLO, env=env,
                   check=True, timeout=1800)
    return make_site(_context(where), wasm, "hello").dir


def loads(site: Path, n: int, where: Path) -> None:
    ctx = _context(where)
    launch, frame, whole = [], [], []
    for i in range(n):
        start = time.perf_counter()
        report = browser.run_probe(ctx, "load", site, step="bench", timeout=60,
                                   shot=where / "shot.png")
        whole.append(time.perf_counter() - start)
        if report["verdict"] != "ok":
            sys.exit(f"load {i + 1}: {report['verdict']}: {report.get('console_tail')}")
        launch.append(report["timings"]["launch"])
        frame.append(report["timings"]["first_frame"])
    size = (site / "app.wasm").stat().st_size / 1e6
    print(f"\n{n} loads of fixtures/hello's js/wasm build ({size:.1f} MB .wasm), "
          "a fresh Chromium each:")
    start_to_frame = [a + b for a, b in zip(launch, frame, strict=True)]
    for name, values in (("browser start (launch to ready)", launch),
                         ("page opened to first non-blank frame", frame),
                         ("browser start to first non-blank frame", start_to_frame),
                         ("whole probe run (server, browser, stop)", whole)):
        print(f"  {name:42} median {statistics.median(values):6.2f} s   max {max(values):6.2f} s")
    print(f"  ratio first frame / browser start (medians): "
          f"{statistics.median(frame) / statistics.median(launch):.2f}")


def kit_run(args: list[str]) -> dict[str, Any]:
    line = Path(tempfile.mkstemp(suffix=".json")[1])
    bench = str(Path(__file__).resolve().parent)
    env = {**os.environ, "FYNECHECK_BENCH_TIMELINE": str(line),
           "PYTHONPATH": os.pathsep.join(p for p in (bench, os.environ.get("PYTHONPATH", "")) if p),
           "FYNECHECK_BENCH_T0": repr(time.time())}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "timeline", *args],
                          cwd=HELLO, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(done.stdout[-4000:])
    try:
        return {**json.loads(line.read_text()), "wall": wall}
    finally:
        line.unlink()


def warm_runs(n: int) -> None:
    args = ["--fynecheck", "--fynecheck-os", "web", "-k", "web and not drift", "-p", "no:randomly"]
    kit_run(args)  # warm-up: the build cached, the page loaded once
    lines = [kit_run(args) for _ in range(n)]

    def med(key: str) -> float:
        return statistics.median(float(t[key]) for t in lines)

    total = statistics.median(t["wall"] for t in lines)
    print(f"\nwarm `pytest --fynecheck --fynecheck-os web -k 'web and not drift'` in "
          f"fixtures/hello, median of {n}: {total:.2f} s")
    print(f"  {'pytest start to configured':34} {med('configured'):6.2f} s")
    print(f"  {'collection':34} {med('collected') - med('configured'):6.2f} s")
    checks = sorted({c for t in lines for c in t["checks"]},
                    key=lambda c: statistics.median(t["checks"][c][0] for t in lines))
    for check in checks:
        spans = [t["checks"][check][1] - t["checks"][check][0]
                 for t in lines if check in t["checks"]]
        print(f"  {check:34} {statistics.median(spans):6.2f} s")
    print(f"  {'report and exit after the items':34} {total - med('finished'):6.2f} s")
    window = statistics.median(t["checks"]["web.window"][1] - t["checks"]["web.window"][0]
                               for t in lines)
    print(f"  ratio web.window / total: {window / total:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fynecheck-bench-web-") as tmp:
        where = Path(tmp)
        loads(build_site(where), args.loads, where)
    warm_runs(args.runs)


if __name__ == "__main__":
    main()
