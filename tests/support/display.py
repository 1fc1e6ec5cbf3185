"""Running a real build of fixtures/hello on weston, shared by the host and suite-container tests.

Everything runs through a Context, so the same proof holds on the host and in a container.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from pytest_fynecheck.checks import Found
from pytest_fynecheck.checks.app_build import app_build
from pytest_fynecheck.core.context import Context, wait_until
from pytest_fynecheck.displays import images
from pytest_fynecheck.displays.servers import WESTON_PANEL_ROWS, Display
from pytest_fynecheck.displays.x11 import XWindow, find_x_window
from support.sample import TITLE

WINDOW_AREA = 320 * 160  # fixtures/hello's window, in pixels


def build(ctx: Context) -> str:
    """The app binary, built (or taken from the cache) by the catalogue's app.build."""
    found = app_build(ctx, {})
    assert isinstance(found, Found)
    return found.artifacts["binary"]


def changed_pixels(a: images.Image, b: images.Image, top: int) -> int:
    """Pixels that differ below row `top` (weston's panel, with its clock, is above it)."""
    start = top * a.width * 3
    pa, pb = a.rgb[start:], b.rgb[start:]
    return sum(pa[i : i + 3] != pb[i : i + 3] for i in range(0, len(pa), 3))


def locate(screen: images.Image, window: images.Image) -> tuple[int, int] | None:
    """Where `window`'s exact pixels are on `screen`, if anywhere."""
    first_row = window.rgb[: window.width * 3]
    at = screen.rgb.find(first_row)
    while at != -1:
        y, x = divmod(at // 3, screen.width)
        fits = x + window.width <= screen.width and y + window.height <= screen.height
        if at % 3 == 0 and fits and screen.crop(x, y, window.width, window.height) == window:
            return x, y
        at = screen.rgb.find(first_row, at + 1)
    return None


@dataclasses.dataclass(frozen=True)
class XWaylandWindow:
    own: images.Image  # its pixels as XWayland holds them (xwd -id)
    x_says: tuple[int, int]  # its absolute position, as X reports it once weston shows it
    frame: tuple[int, int]  # then, the frame weston's X window manager put it in
    shown_at: tuple[int, int]  # where weston's own screenshot has exactly those pixels


def x11_window_on_xwayland(
    ctx: Context,
    display: Display,
    binary: str,
    shots: Path,
    timeout: float = 120.0,
    settle: float = 15.0,
) -> XWaylandWindow:
    """Run the X11 build on weston's XWayland; require a drawn window in X and the same
    pixels in weston's own screenshot (written to shots/window.png), and say where each is.

    X's position is read until it agrees with weston's, for up to `settle` seconds: weston
    10's X window manager moves the frame to where the shell placed the window a moment
    after weston shows it (X still had it at the origin); weston 9's did not move it at all.
    """
    x_env = {"DISPLAY": display.env["DISPLAY"]}
    proc = ctx.spawn([binary], env=x_env)
    try:

        def window() -> XWindow | None:
            if proc.poll() is not None:
                raise AssertionError(f"exited {proc.poll()}:\n{proc.output()[-2000:]}")
            return find_x_window(ctx, x_env, TITLE)

        found = wait_until(window, timeout, 0.1)
        assert found, f"no window {TITLE!r} on {x_env}:\n{proc.output()[-2000:]}"
        # Weston's X window manager reparented it into a frame: it is no child of the root,
        # so a search of the root's children alone (xwininfo -root -children) misses it.
        top = ctx.run(["xwininfo", "-root", "-children"], env=x_env, timeout=15).stdout
        assert f'"{TITLE}"' not in top
        def frame() -> images.Image | None:
            done = ctx.run(["xwd", "-id", found.id, "-silent"], env=x_env, timeout=15)
            image = images.read_xwd(done.raw) if done.ok else None
            return image if image is not None and image.colours(64) >= 8 else None

        own: images.Image | None = wait_until(frame, timeout, 0.2)
        assert own is not None, "the window stayed blank (fewer than 8 colours) in XWayland"
        assert (own.width, own.height) == (found.width, found.height)

        def composited() -> tuple[images.Image, tuple[int, int]] | None:
            # Weston's own output, searched for the window's exact pixels: X's position is
            # a claim to check, not where to look. Both are taken anew: a redraw between
            # them only costs a round.
            now = frame()
            shot = images.read_png(display.screenshot(shots / "weston.png").read_bytes())
            at = locate(shot, now) if now is not None else None
            return (now, at) if now is not None and at is not None else None

        seen: tuple[images.Image, tuple[int, int]] | None = wait_until(composited, timeout, 0.2)
        assert seen is not None, "weston's screenshot (weston.png) never shows the window's pixels"
        own, shown_at = seen
        x_says = frame_at = (0, 0)

        def agrees() -> bool:
            nonlocal x_says, frame_at
            info = ctx.run(["xwininfo", "-id", found.id], env=x_env, timeout=15).stdout
            pos = {
                (kind, axis): int(value)
                for kind, axis, value in re.findall(
                    r"^\s+(Absolute|Relative) upper-left ([XY]):\s+(-?\d+)", info, re.M
                )
            }
            assert len(pos) == 4, info
            x_says = (pos["Absolute", "X"], pos["Absolute", "Y"])
            frame_at = (x_says[0] - pos["Relative", "X"], x_says[1] - pos["Relative", "Y"])
            return x_says == shown_at

        wait_until(agrees, settle, 0.2)
    finally:
        proc.stop()
    images.write_png(own, shots / "window.png")
    return XWaylandWindow(own, x_says, frame_at, shown_at)


@dataclasses.dataclass(frozen=True)
class AppRun:
    code: int | None  # None: still running when we stopped it
    changed: int  # screen pixels that changed below weston's panel, at the last look
    output: str


def run_wayland_app(
    ctx: Context, display: Display, binary: str, shots: Path, timeout: float = 120.0
) -> AppRun:
    """Run a -tags wayland build on `display` until it exits or its window covers half its
    area in weston's screenshot (shots/after.png), then stop it."""
    before = display.settled_screen(shots / "before.png")
    proc = ctx.spawn([binary], env=display.env)
    changed = 0
    try:

        def settled() -> bool:
            nonlocal changed
            if proc.poll() is not None:
                return True
            shot = images.read_png(display.screenshot(shots / "after.png").read_bytes())
            changed = changed_pixels(before, shot, top=WESTON_PANEL_ROWS)
            return changed > WINDOW_AREA // 2

        wait_until(settled, timeout, 0.5)
        code = proc.poll()
        output = proc.output()
    finally:
        proc.stop()
    return AppRun(code, changed, output)
