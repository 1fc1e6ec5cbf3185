"""Figure for issue 14: the windows cell (cross-build, warm, plus Wine start to first frame)
divided by the host cell (the same build and start on Linux).

    python bench/windows.py [--runs N] [--windows-context trixie-windows|windows]

Cells, all in this run on this machine, each on a private Xvfb:
  host             `go build` of fixtures/hello (warm GOCACHE: compile cached, link runs) and
                   the app's start to its first non-blank frame, on this host;
  trixie           the same in a trixie container (the place the windows cell runs);
  trixie-windows   GOOS=windows with mingw-w64 in a trixie container (Wine 10), and the
                   .exe's start under Wine to its first frame.
`--windows-context windows` measures the host's Wine instead (needs Wine >= 9 for Go >= 1.22).
The Wine prefix is made before timing (a one-off per Wine version, reported apart).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from stopwatch import timed

from pytest_fynecheck.checks.app_window import show_x_window
from pytest_fynecheck.containers.start import start_suite
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.displays.servers import x_display
from pytest_fynecheck.plan.spec import parse_context
from pytest_fynecheck.windows import HOST_CONTEXT, WINDOWS_ENV
from pytest_fynecheck.windows.wine import desktop_argv, session, wine_prefix

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "fixtures" / "hello"


def context(name: str, project: Path, scratch: Path) -> Context:
    scratch.mkdir(parents=True, exist_ok=True)
    if name in ("host", HOST_CONTEXT):
        ctx = Context(project, scratch, cache_dir(), display_mode="xvfb")
        if name == HOST_CONTEXT:
            ctx.name = HOST_CONTEXT
            ctx.environ.update(WINDOWS_ENV)
    else:
        spec = parse_context(name, "--windows-context")
        ctx = start_suite(spec.suite, scratch, variant=spec.variant, project=project,
                          keep_builds=True, timeout=1800)
    ctx.settings = dataclasses.replace(ctx.settings, window_title="fynecheck hello",
                                       window_timeout=120.0, artifacts=scratch)
    return ctx


def cell(ctx: Context, runs: int) -> tuple[float, float]:
    """(median warm build seconds, median start-to-first-frame seconds)."""
    windows = ctx.environ.get("GOOS") == "windows"
    exe = ctx.scratch / ("app.exe" if windows else "app")

    def build() -> None:
        done = ctx.run(["go", "build", "-o", str(exe), "."], timeout=3600)
        if not done.ok:
            raise SystemExit(f"[{ctx.name}] go build failed: {done.output[-2000:]}")

    display = x_display(ctx)
    show: Callable[[], object]
    if windows:
        prefix = wine_prefix(ctx)

        def show() -> object:
            with session(ctx, prefix) as env:
                return show_x_window(ctx, display, desktop_argv(exe), {**env, **display.env})
    else:
        def show() -> object:
            return show_x_window(ctx, display, [str(exe)], display.env)

    print(f"[{ctx.name}] warming up (GOCACHE, first start)", flush=True)
    build()
    show()
    builds, frames = [], []
    for i in range(runs):
        exe.unlink()
        builds.append(timed(build))
        frames.append(timed(show))
        print(f"[{ctx.name}] run {i + 1}: build {builds[-1]:.2f} s, first frame "
              f"{frames[-1]:.2f} s", flush=True)
    return statistics.median(builds), statistics.median(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--windows-context", default="trixie-windows")
    args = parser.parse_args()
    names = ["host", "trixie", args.windows_context]
    figures: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-windows-") as tmp:
        for name in names:
            project = Path(tmp) / f"hello-{name}"
            shutil.copytree(HELLO, project, ignore=shutil.ignore_patterns(".pytest_cache"))
            ctx = context(name, project, Path(tmp) / f"scratch-{name}")
            try:
                figures[name] = cell(ctx, args.runs)
            finally:
                ctx.close()
    print(f"\nmedians of {args.runs} runs (warm build + start to first frame):")
    for name, (build, frame) in figures.items():
        print(f"  {name:16} build {build:6.2f} s + first frame {frame:6.2f} s = "
              f"{build + frame:6.2f} s")
    win = sum(figures[args.windows_context])
    for base in ("host", "trixie"):
        print(f"windows cell / {base} cell: {win / sum(figures[base]):.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
