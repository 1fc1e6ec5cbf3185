"""Display figures, each against a bare client round trip measured in the same run.

    python bench/displays.py [--repeat N]

For each kind the fixture offers: start -> ready (what `fyne_display` waits for: the
server up and a real client round trip done), against one bare round trip by the same
client on a server that already runs (xdpyinfo for X, the kit's C registry probe for
Wayland). The ratio says what readiness costs over the client call it ends with. Then
screenshots.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from stopwatch import median

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.displays.servers import KINDS, start_display
from pytest_fynecheck.displays.wayland import wayland_globals

ROOT = Path(__file__).resolve().parent.parent


def line(what: str, seconds: float, base: float | None = None) -> None:
    ratio = f"  {seconds / base:6.1f}x" if base else ""
    print(f"{what:<62} {seconds * 1000:8.1f} ms{ratio}", flush=True)


def start_ready(ctx: Context, kind: str) -> float:
    start = time.monotonic()
    display = start_display(ctx, kind)
    took = time.monotonic() - start
    display.stop()
    return took


def measure(ctx: Context, kind: str, repeat: int, scratch: Path) -> None:
    ready = statistics.median(start_ready(ctx, kind) for _ in range(repeat))
    display = start_display(ctx, kind)
    try:
        if "DISPLAY" in display.env:
            x_env = {"DISPLAY": display.env["DISPLAY"]}
            base = median(lambda: ctx.run(["xdpyinfo"], env=x_env, timeout=30), repeat)
            client = f"xdpyinfo on {x_env['DISPLAY']}"
        else:
            base = median(lambda: wayland_globals(ctx, display.env), repeat)
            client = "wayland registry probe"
        shot = median(lambda: display.screenshot(scratch / f"{kind}.png"), repeat)
    finally:
        display.stop()
    line(f"{kind}: bare {client} round trip", base)
    line(f"{kind}: start -> ready", ready, base)
    line(f"{kind}: screenshot to PNG", shot, base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs per figure (median)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-displays-"))
    ctx = Context(ROOT, scratch, scratch, timeout=120)
    print(f"median of {args.repeat} runs each")
    for kind in KINDS:
        measure(ctx, kind, args.repeat, scratch)


if __name__ == "__main__":
    main()
