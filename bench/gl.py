"""Figures for issue 26's GL floor: gl.minimum's bisect against one app.window launch.

    python bench/gl.py [--runs N] [--app DIR] [--gles]

In this one run, on a private Xvfb, with the app built once (app.build's cached build):
  baseline   one launch as app.window makes it (show_x_window: the app's own window, a
             non-blank first frame, stopped), under llvmpipe (LIBGL_ALWAYS_SOFTWARE=1);
  bisect     gl.minimum's whole search (checks/gl.py `floor`): the driver probes, each
             launch at an overridden version, the wait of the launches that fail.
Printed: each run's times, the ratio bisect ÷ baseline and the launches the bisect made
(median of --runs). Below the floor a Fyne app stays up without a window, so each failing
launch costs its whole bounded wait (max(5 s, 5x the top launch)): that, not drawing,
is where the time goes. --gles adds the -tags gles row (gl.minimum.gles).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from pytest_fynecheck.checks.app_build import build_app
from pytest_fynecheck.checks.app_window import show_x_window
from pytest_fynecheck.checks.gl import GL, GLES, SOFTWARE, Row, floor
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.displays.servers import Display, x_display

ROOT = Path(__file__).resolve().parent.parent


def baseline(ctx: Context, display: Display, argv: list[str]) -> float:
    start = time.monotonic()
    show_x_window(ctx, display, argv, {**display.env, **SOFTWARE}, shot_name="bench-baseline")
    return time.monotonic() - start


def bisect(ctx: Context, row: Row, argv: list[str]) -> tuple[float, int, str]:
    start = time.monotonic()
    found = floor(ctx, row, argv)
    took = time.monotonic() - start
    launches = re.search(r"in (\d+) launches", found.detail)
    head = found.detail.split(":", 1)[0]
    return took, int(launches[1]) if launches else 0, head


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--app", type=Path, default=ROOT / "fixtures" / "hello",
                        help="the Fyne project (default: fixtures/hello)")
    parser.add_argument("--gles", action="store_true", help="also the -tags gles row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fynecheck-bench-gl-") as tmp:
        scratch = Path(tmp)
        # The checks' own private Xvfb (x_display), stopped when the context closes.
        ctx = Context(args.app.resolve(), scratch, cache_dir(), timeout=900,
                      display_mode="xvfb")
        try:
            display = x_display(ctx)
            rows = [(GL, build_app(ctx, "app")[0])]
            if args.gles:
                rows.append((GLES, build_app(ctx, "app", tags=(*ctx.tags, "gles"))[0]))
            for row, exe in rows:
                argv = [str(exe)]
                baseline(ctx, display, argv)  # warm: the binary and Mesa's shader cache
                ratios, counts = [], []
                for i in range(args.runs):
                    b = baseline(ctx, display, argv)
                    k, n, head = bisect(ctx, row, argv)
                    ratios.append(k / b)
                    counts.append(n)
                    print(f"{row.check_id} run {i + 1}: one app.window launch {b:.2f} s, "
                          f"bisect {k:.1f} s in {n} launches ({k / b:.1f}x); {head}",
                          flush=True)
                print(f"{row.check_id}: bisect ÷ one app.window launch "
                      f"{statistics.median(ratios):.1f}x, {statistics.median(counts):g} "
                      f"launches (median of {args.runs})")
        finally:
            ctx.close()


if __name__ == "__main__":
    main()
