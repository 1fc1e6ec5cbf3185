"""fyne_app figures on fixtures/interactive, each against a bare baseline timed in the
same run.

    python bench/e2e.py [--launches N] [--inputs N] [--kinds xvfb,weston-x11-xwayland]

Per display kind:
- launch -> first frame: `e2e.app.launch` (the cached build, the app's own window proven
  by its process, a non-blank frame), against a bare launch of the same binary until
  `xdotool search` (polled) sees a visible window of its title (no ownership, no frame);
- input -> changed frame: a click on the Echo button until `wait_frame` sees the label's
  row change (median and max), against the same click's xdotool call alone, and the
  click until the app prints its new state (the app has handled it).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pytest_fynecheck.checks.app_build import build_app
from pytest_fynecheck.core import paths
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.displays.servers import Display, start_display
from pytest_fynecheck.e2e.app import FRAME_POLL, FyneApp, launch

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "interactive"
TITLE = "fynecheck interactive"  # fixtures/interactive/pytest.ini
ENTRY, BUTTON = (150, 25), (150, 75)  # its widgets' rows, 50 px each
LABEL_ROW = (0, 100, 300, 50)


def line(what: str, seconds: float, base: float | None = None) -> None:
    ratio = f"  {seconds / base:6.1f}x" if base else ""
    print(f"{what:<64} {seconds * 1000:8.1f} ms{ratio}", flush=True)


def start_app(ctx: Context, display: Display, shots: Path) -> FyneApp:
    """As the fixture launches: a fresh context each time (nothing memoized: the build's
    key is computed anew, `go list -deps` included)."""
    fresh = Context(ctx.project, ctx.scratch, ctx.cache, timeout=ctx.timeout)
    return launch(fresh, display, args=[], env={}, title=TITLE, timeout=60, shots=shots,
                  attach=lambda _role, _path: None)


def bare_launch(ctx: Context, display: Display, exe: Path) -> float:
    """The binary started until xdotool finds a visible window of its title, polled at
    wait_frame's pace (`search --sync` sleeps 0.5 s between tries)."""
    start = time.monotonic()
    app = ctx.spawn([str(exe)], env=display.env)
    try:
        search = ["xdotool", "search", "--onlyvisible", "--name", TITLE]
        while not ctx.run(search, env=display.env, timeout=60).ok:
            assert time.monotonic() - start < 60, app.output()
            time.sleep(FRAME_POLL)
        return time.monotonic() - start
    finally:
        app.stop()


def inputs(app: FyneApp, n: int) -> tuple[list[float], list[float], list[float]]:
    """n rounds of: type a letter into the entry, then click Echo and time it. What the
    label must show is the entry's text as the app last printed it."""
    frames, calls, printed = [], [], []
    for i in range(n):
        letter = "abcdefghijklmnopqrstuvwxyz"[i % 26]
        app.click(*ENTRY)
        app.type(letter)
        line = app.wait_output(re.compile(f'^state entry=".*{letter}" label="[^{letter}]*"$'))
        entry = line.split('"')[1]
        app.screenshot("before")
        lines = len(app.stdout)
        start = time.monotonic()
        app.click(*BUTTON)
        calls.append(time.monotonic() - start)
        app.wait_frame(timeout=30, region=LABEL_ROW)
        frames.append(time.monotonic() - start)
        while not any(f'label="{entry}"' in s for s in app.stdout[lines:]):
            app.wait_output(f'label="{entry}"')  # fails with what it printed, at a timeout
            time.sleep(0.001)
        printed.append(time.monotonic() - start)
    return frames, calls, printed


def measure(ctx: Context, kind: str, exe: Path, launches: int, n: int, scratch: Path) -> None:
    display = start_display(ctx, kind)
    try:
        bare = statistics.median(bare_launch(ctx, display, exe) for _ in range(launches))
        firsts, calls = [], []
        for _ in range(launches):
            start = time.monotonic()
            app = start_app(ctx, display, scratch / "shots")
            calls.append(time.monotonic() - start)
            firsts.append(app.launch_seconds)
            app.stop()
        app = start_app(ctx, display, scratch / "shots")
        try:
            frames, clicks, printed = inputs(app, n)
        finally:
            app.stop()
    finally:
        display.stop()
    line(f"{kind}: bare launch -> visible window (xdotool search)", bare)
    line(f"{kind}: fyne_app start -> first frame (median of {launches})",
         statistics.median(firsts), bare)
    line(f"{kind}: the whole launch() call, cached build's key included",
         statistics.median(calls), bare)
    call = statistics.median(clicks)
    line(f"{kind}: bare xdotool click call (median of {n})", call)
    line(f"{kind}: click -> app printed its state (median of {n})",
         statistics.median(printed), call)
    line(f"{kind}: click -> changed frame, wait_frame (median of {n})",
         statistics.median(frames), call)
    line(f"{kind}: click -> changed frame, wait_frame (max of {n})", max(frames), call)


def flake(ctx: Context, kind: str, runs: int, scratch: Path) -> None:
    """The README example's flow `runs` times, each a fresh launch: type "hi", click Echo,
    click the label (the Entry loses focus), and the settled frame compared with the first
    run's, by the same comparison assert_looks_like makes, next to its tolerance; a run
    that fails any step (no state line, no frame, another look) counts as a flake."""
    from pytest_fynecheck.e2e.baselines import DEFAULT_TOLERANCE
    from pytest_fynecheck.e2e.compare import compare

    display = start_display(ctx, kind)
    failures: list[str] = []
    worst, times, base = 0.0, [], None
    try:
        for i in range(runs):
            app = start_app(ctx, display, scratch / "flake")
            try:
                app.click(*ENTRY)
                app.type("hi")
                app.click(*BUTTON)
                app.click(*LABEL_ROW[:2])
                app.wait_output('state entry="hi" label="hi"')
                image, settled = app.settled_frame()
                shot = app._write(image, f"flake-{i}")  # the same writer assert_looks_like uses
                if base is None:
                    base = shot
                    continue
                t = time.monotonic()
                found = compare(base, shot)
                times.append(time.monotonic() - t)
                worst = max(worst, found.share)
                if not settled or not found.within(DEFAULT_TOLERANCE):
                    failures.append(f"run {i}: settled={settled}, {found.describe()}")
            except Exception as exc:  # a flake, whatever step it hit
                failures.append(f"run {i}: {str(exc).splitlines()[0]}")
            finally:
                app.stop()
    finally:
        display.stop()
    print(f"{kind}: flakes {len(failures)} of {runs} runs; worst distance {worst:.4%} of "
          f"the pixels, tolerance {DEFAULT_TOLERANCE:.4%}", flush=True)
    for failure in failures[:5]:
        print(f"  {failure}", flush=True)
    if times:
        line(f"{kind}: one comparison (median of {len(times)})", statistics.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=5, help="launches per kind (median)")
    parser.add_argument("--inputs", type=int, default=20, help="clicks per kind")
    parser.add_argument("--kinds", default="xvfb,weston-x11-xwayland")
    parser.add_argument("--flake", type=int, default=0,
                        help="also the README flow this many times per kind (flake rate)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    try:
        ctx = Context(SAMPLE, scratch, paths.cache_dir(), timeout=300)
        exe, detail = build_app(ctx, "app")  # the cached build: launches below reuse it
        print(f"{SAMPLE.name}: {detail}")
        for kind in args.kinds.split(","):
            measure(ctx, kind, exe, args.launches, args.inputs, scratch)
            if args.flake:
                flake(ctx, kind, args.flake, scratch)
        ctx.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
