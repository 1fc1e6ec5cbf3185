"""fyne_app figures on fixtures/interactive, each against a bare baseline timed in the
same run.

    python bench/e2e.py [--launches N] [--inputs N] [--kinds xvfb,weston-x11-xwayland]
                        [--flake N] [--suites bookworm,trixie-windows]

Per display kind:
- launch -> first frame: `e2e.app.launch` (the cached build, the app's own window proven
  by its process, a non-blank frame), against a bare launch of the same binary until
  `xdotool search` (polled) sees a visible window of its title (no ownership, no frame);
- input -> changed frame: a click on the Echo button until `wait_frame` sees the label's
  row change (median and max), against the same click's xdotool call alone, and the
  click until the app prints its new state (the app has handled it).

`--flake N` runs the README flow N times per kind and compares each settled frame with
the first (flakes, worst distance); with `--suites` the same flow runs N times in each
suite's container through the fyne_os marker (a real pytest run: trixie-windows is the
.exe under Wine), each compared with the suite's first run and that first run with the
host's Xvfb (is one baseline enough for both?).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import textwrap
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


# The README flow as a user's test, once on the host's Xvfb and RUNS times in the suite;
# each run's settled frame is written as NAME-settled.png (or -unsettled.png).
SUITE_FLOW = """
import pytest
from pathlib import Path
from pytest_fynecheck.displays.images import write_png

def flow(app, name):
    app.click({entry[0]}, {entry[1]})
    app.type("hi")
    app.click({button[0]}, {button[1]})
    app.click({label[0]} + {label[2]} // 2, {label[1]} + {label[3]} // 2)
    app.wait_output('state entry="hi" label="hi"')
    image, settled = app.settled_frame()
    write_png(image, Path({out!r}) / f"{{name}}-{{'settled' if settled else 'unsettled'}}.png")

@pytest.mark.fyne_display("xvfb")
def test_host(fyne_app):
    flow(fyne_app(), "host")

@pytest.mark.fyne_os({suite!r})
@pytest.mark.parametrize("run", range({runs}))
def test_suite(fyne_app, fyne_container, run):
    flow(fyne_app(), f"run-{{run:03d}}")
"""


def suite_flake(ctx: Context, suite: str, runs: int, scratch: Path) -> None:
    """SUITE_FLOW in a copy of the sample, by pytest in a subprocess (the fixture's own
    container start and launch); a run that failed or never settled, or whose frame is
    not its first run's within the tolerance, is a flake."""
    from pytest_fynecheck.e2e.baselines import DEFAULT_TOLERANCE
    from pytest_fynecheck.e2e.compare import compare

    project, out = scratch / f"suite-{suite}", scratch / f"suite-{suite}-frames"
    shutil.copytree(SAMPLE, project)
    out.mkdir()
    (project / "test_flow.py").write_text(textwrap.dedent(SUITE_FLOW.format(
        entry=ENTRY, button=BUTTON, label=LABEL_ROW, out=str(out), suite=suite, runs=runs)))
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    start = time.monotonic()
    done = ctx.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:xdist",
                    "-p", "no:cacheprovider", "test_flow.py"],
                   env=env, cwd=project, timeout=120 + 60 * runs)
    took = time.monotonic() - start
    failed = [s for s in done.output.splitlines() if s.startswith("FAILED")]
    frames = {p.name.rsplit("-", 1)[0]: p for p in sorted(out.glob("*.png"))}
    unsettled = [name for name, p in frames.items() if p.stem.endswith("-unsettled")]
    suite_runs = sorted(name for name in frames if name.startswith("run-"))
    failures = failed + [f"{name}: never settled" for name in unsettled]
    failures += [f"run-{i:03d}: no frame" for i in range(runs) if f"run-{i:03d}" not in frames
                 and not failed]
    worst, times = 0.0, []
    for name in suite_runs[1:]:
        t = time.monotonic()
        found = compare(frames[suite_runs[0]], frames[name])
        times.append(time.monotonic() - t)
        worst = max(worst, found.share)
        if not found.within(DEFAULT_TOLERANCE):
            failures.append(f"{name}: {found.describe()}")
    print(f"{suite}-xvfb: flakes {len(failures)} of {runs} runs; worst distance {worst:.4%} "
          f"of the pixels, tolerance {DEFAULT_TOLERANCE:.4%} ({took:.0f} s, container start "
          "included)", flush=True)
    for failure in failures[:5]:
        print(f"  {failure}", flush=True)
    if times:
        line(f"{suite}-xvfb: one comparison (median of {len(times)})", statistics.median(times))
    if suite_runs and "host" in frames:
        found = compare(frames["host"], frames[suite_runs[0]])
        print(f"{suite}-xvfb vs host xvfb: {found.describe()}", flush=True)
    else:
        print(f"{suite}-xvfb vs host xvfb: not compared (a run made no frame)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=5, help="launches per kind (median)")
    parser.add_argument("--inputs", type=int, default=20, help="clicks per kind")
    parser.add_argument("--kinds", default="xvfb,weston-x11-xwayland")
    parser.add_argument("--flake", type=int, default=0,
                        help="also the README flow this many times per kind (flake rate)")
    parser.add_argument("--suites", default="",
                        help="with --flake: the flow in these suites' containers too "
                             "(e.g. bookworm,trixie-windows)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    try:
        ctx = Context(SAMPLE, scratch, paths.cache_dir(), timeout=300)
        exe, detail = build_app(ctx, "app")  # the cached build: launches below reuse it
        print(f"{SAMPLE.name}: {detail}")
        for kind in filter(None, args.kinds.split(",")):
            measure(ctx, kind, exe, args.launches, args.inputs, scratch)
            if args.flake:
                flake(ctx, kind, args.flake, scratch)
        for suite in filter(None, args.suites.split(",")):
            suite_flake(ctx, suite, args.flake or 10, scratch)
        ctx.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
