"""Figures for issue 24, the build side: web.build against the bare build it wraps.

    python bench/web.py [--runs N] [--no-cold] [--app DIR]

Both sides in this one run, on this machine, alternately:
  bare       `GOOS=js GOARCH=wasm go build -o app.wasm .` in fixtures/hello;
  web.build  the check as a run calls it: in a fresh context, after the check it requires
             (project.gomod, untimed: it lists the main package and its dependencies, which
             the build key reads), the one cached build and the site (index.html, the
             GOROOT's wasm_exec.js, app.wasm; gzip -6 for the size). The warm figure is also
             shown with project.gomod's work counted ("fresh context").
Cold: each side gets fresh, empty GOCACHE directories (and the kit an empty cache of its
own), so both compile every package of Fyne and the standard library for js/wasm; the
module cache stays warm (no network in the figure). Warm: the same GOCACHE again; for the
kit, its cache of the cold run (what a second `pytest --fynecheck` finds: the build is not
run again), for the bare side Go's own cache (compiles cached, the link runs).
Ratios are medians of --runs (cold: once each, minutes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from stopwatch import timed

from pytest_fynecheck.checks import Found
from pytest_fynecheck.checks.go import project_gomod
from pytest_fynecheck.checks.web import web_build
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.web import WEB_ENV

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "fixtures" / "hello"


def bare(app: Path, gocache: Path, out: Path) -> float:
    env = {**os.environ, **WEB_ENV, "GOCACHE": str(gocache)}

    def build() -> None:
        subprocess.run(["go", "build", "-o", str(out), "."], cwd=app, env=env, check=True,
                       capture_output=True, timeout=3600)

    return timed(build)


def kit(app: Path, gocache: Path, cache: Path, scratch: Path, *, fresh: bool = False
        ) -> tuple[float, str]:
    scratch.mkdir(parents=True, exist_ok=True)
    ctx = Context(app, scratch, cache, environ={**os.environ, "GOCACHE": str(gocache)},
                  timeout=3600)
    ctx.name = "web"
    ctx.environ.update(WEB_ENV)
    found: list[str] = []

    def check() -> None:
        built = web_build(ctx, {})
        found.append(built.detail if isinstance(built, Found) else built)

    try:
        if not fresh:
            project_gomod(ctx, {})  # what the run has done before web.build starts
        seconds = timed(check)
    finally:
        ctx.close()
    return seconds, found[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="warm runs per side (median)")
    ap.add_argument("--no-cold", action="store_true", help="warm figures only")
    ap.add_argument("--app", type=Path, default=HELLO, help="the app's main package directory")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="fynecheck-bench-web-") as tmp_name:
        tmp = Path(tmp_name)
        bare_cache, kit_gocache, kit_cache = tmp / "go-bare", tmp / "go-kit", tmp / "kit"
        if args.no_cold:  # warm: the machine's own caches, as a user has them
            home = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True,
                                  check=True).stdout.strip()
            bare_cache = kit_gocache = Path(home)
            kit_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
            kit_cache = kit_cache / "pytest-fynecheck"
        print(f"app {args.app}; load " + " ".join(Path("/proc/loadavg").read_text().split()[:3]))
        if not args.no_cold:
            # Kit first: a cold kit build also warms nothing the bare side reads.
            kit_cold, said = kit(args.app, kit_gocache, kit_cache, tmp / "scratch")
            bare_cold = bare(args.app, bare_cache, tmp / "bare.wasm")
            print(f"cold  web.build {kit_cold:7.1f} s   bare go build {bare_cold:7.1f} s   "
                  f"ratio {kit_cold / bare_cold:.2f}x (goal <= 1.2x)")
            print(f"      web.build said: {said.splitlines()[0]}")
        else:
            kit(args.app, kit_gocache, kit_cache, tmp / "scratch")  # the build the warm runs reuse
            bare(args.app, bare_cache, tmp / "bare.wasm")
        kits: list[float] = []
        fresh: list[float] = []
        bares: list[float] = []
        for i in range(args.runs):  # alternately: a load change hits all sides
            kits.append(kit(args.app, kit_gocache, kit_cache, tmp / f"scratch{i}")[0])
            bares.append(bare(args.app, bare_cache, tmp / "bare.wasm"))
            fresh.append(kit(args.app, kit_gocache, kit_cache, tmp / f"fresh{i}", fresh=True)[0])
        k, b, f = statistics.median(kits), statistics.median(bares), statistics.median(fresh)
        print(f"warm  web.build {k:7.2f} s (min {min(kits):.2f})   bare go build {b:7.2f} s "
              f"(min {min(bares):.2f})   ratio {k / b:.2f}x (goal <= 1.5x; medians of "
              f"{args.runs})")
        print(f"      fresh context (project.gomod's listing counted too) {f:.2f} s "
              f"(min {min(fresh):.2f}): ratio {f / b:.2f}x")
        shutil.rmtree(tmp / "go-bare", ignore_errors=True)


if __name__ == "__main__":
    main()
