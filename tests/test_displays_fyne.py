"""Real Fyne builds of fixtures/hello on weston: X11 through XWayland, and -tags wayland.

Builds go through the readiness catalogue's app.build (content-keyed cache), so warm
runs only link once per change. A cold `-tags wayland` cgo build takes minutes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_fynecheck import images
from pytest_fynecheck.checks import Found
from pytest_fynecheck.checks.app import app_build
from pytest_fynecheck.context import Context, wait_until
from pytest_fynecheck.displays import (
    SEATLESS_HINT,
    Display,
    explain_wayland_failure,
    find_x_window,
    is_glfw_seatless_crash,
    start_display,
    wayland_seat,
)
from pytest_fynecheck.plugin import cache_dir

HELLO = Path(__file__).resolve().parent.parent / "fixtures" / "hello"
TITLE = "fynecheck hello"

pytestmark = pytest.mark.slow


def app_context(tmp_path: Path, env: dict[str, str], tags: tuple[str, ...]) -> Context:
    ctx = Context(
        HELLO,
        tmp_path,
        cache_dir(),
        environ={**os.environ, **env},
        timeout=900,  # a cold cgo build of Fyne
        display_mode="host",  # the display under test, never a stand-in Xvfb
        tags=tags,
    )
    ctx.settings.update(window_title=TITLE, package=".", window_timeout=60.0, artifacts=tmp_path)
    return ctx


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Context]:
    ctx = Context(HELLO, tmp_path, tmp_path, timeout=120)
    yield ctx
    ctx.close()


def build(ctx: Context) -> str:
    """The app binary, built (or taken from the cache) by the catalogue's app.build."""
    found = app_build(ctx)
    assert isinstance(found, Found)
    return found.artifacts["binary"]


def start(host: Context, kind: str) -> Display:
    display = start_display(host, kind)
    host.on_close(display.stop)
    return display


def test_x11_build_shows_its_window_under_weston_xwayland(host: Context, tmp_path: Path) -> None:
    display = start(host, "weston-xwayland")
    x_env = {"DISPLAY": display.env["DISPLAY"]}
    (tmp_path / "app").mkdir()
    proc = host.spawn([build(app_context(tmp_path / "app", x_env, ()))], env=x_env)
    try:
        found = wait_until(lambda: find_x_window(host, x_env, TITLE), 60, 0.1)
        assert found, f"no window {TITLE!r} on {x_env}:\n{proc.output()[-2000:]}"
        win, x, y, width, height = found.id, found.x, found.y, found.width, found.height
        # Weston's X window manager reparented it into a frame: it is no child of the root,
        # so a search of the root's children alone (xwininfo -root -children) misses it.
        top = host.run(["xwininfo", "-root", "-children"], env=x_env, timeout=15).stdout
        assert f'"{TITLE}"' not in top

        def frame() -> images.Image | None:
            # The window's own pixels, as XWayland holds them.
            done = host.run(["xwd", "-id", win, "-silent"], env=x_env, timeout=15)
            image = images.read_xwd(done.raw) if done.ok else None
            return image if image is not None and image.colours(64) >= 8 else None

        def composited() -> images.Image | None:
            # Weston's own output: the XWayland window composited where X says it is.
            shot = images.read_png(display.screenshot(tmp_path / "weston.png").read_bytes())
            area = crop(shot, x, y, width, height)
            return area if area.colours(64) >= 8 else None

        own = wait_until(frame, 30, 0.2)
        seen = wait_until(composited, 30, 0.2)
    finally:
        proc.stop()
    assert own is not None, "the window stayed blank (fewer than 8 colours) in XWayland"
    assert seen is not None, "weston's screenshot shows no drawn window where XWayland put it"
    assert (seen.width, seen.height) == (own.width, own.height) == (width, height)
    images.write_png(seen, tmp_path / "window.png")


def crop(image: images.Image, x: int, y: int, width: int, height: int) -> images.Image:
    x, y = max(x, 0), max(y, 0)
    width, height = min(width, image.width - x), min(height, image.height - y)
    rows = [
        image.rgb[((y + r) * image.width + x) * 3 : ((y + r) * image.width + x + width) * 3]
        for r in range(height)
    ]
    return images.Image(width, height, b"".join(rows))


def test_wayland_build_crashes_in_glfw_init_on_seatless_weston(
    host: Context, tmp_path: Path
) -> None:
    display = start(host, "weston")
    assert wayland_seat(host, display) is False
    (tmp_path / "app").mkdir()
    app = app_context(tmp_path / "app", {}, ("wayland",))
    proc = host.spawn([build(app)], env=display.env)
    try:
        code = wait_until(lambda: proc.poll() is not None, 60)
        output = proc.output()
    finally:
        proc.stop()
    assert code, f"the -tags wayland build did not exit within 60 s:\n{output[-2000:]}"
    # What really happens (weston 10.0.1 headless, go-gl GLFW 3.3.10): a NULL wl_seat
    # dereference inside glfwInit; Go's runtime reports it and exits with status 2.
    assert proc.poll() == 2, output[-2000:]
    assert is_glfw_seatless_crash(output), output[-2000:]
    assert "addr=0x40" in output  # wl_proxy_get_version reading the NULL proxy's version
    assert "failed to initialise GLFW" not in output  # not a GLFW error: a crash
    diagnosis = explain_wayland_failure(host, display, proc.poll(), output)
    assert diagnosis is not None
    assert diagnosis.hint == SEATLESS_HINT
    assert "without wl_seat" in diagnosis.detail


def test_crash_signature_is_not_claimed_for_other_failures(host: Context) -> None:
    display = start(host, "weston")
    glfw_error = (
        "Fyne error:  failed to initialise GLFW\n  Cause: Wayland: Failed to connect to display\n"
    )
    assert not is_glfw_seatless_crash(glfw_error)
    assert explain_wayland_failure(host, display, 1, glfw_error) is None


def changed_pixels(a: images.Image, b: images.Image, top: int) -> int:
    """Pixels that differ below row `top` (weston's panel, with its clock, is above it)."""
    start = top * a.width * 3
    pa, pb = a.rgb[start:], b.rgb[start:]
    return sum(pa[i : i + 3] != pb[i : i + 3] for i in range(0, len(pa), 3))


def test_same_wayland_build_shows_its_window_once_weston_has_a_seat(
    host: Context, tmp_path: Path
) -> None:
    """The control for the crash above: only the seat differs, and the crash is gone."""
    display = start(host, "weston-x11")
    assert wayland_seat(host, display) is True
    (tmp_path / "app").mkdir()
    binary = build(app_context(tmp_path / "app", {}, ("wayland",)))
    before = images.read_png(display.screenshot(tmp_path / "before.png").read_bytes())
    proc = host.spawn([binary], env=display.env)
    try:

        def window() -> int | None:
            if proc.poll() is not None:
                raise AssertionError(f"exited {proc.poll()}:\n{proc.output()[-2000:]}")
            shot = images.read_png(display.screenshot(tmp_path / "after.png").read_bytes())
            changed = changed_pixels(before, shot, top=40)
            return changed if changed > 320 * 160 // 2 else None  # half the 320x160 window

        changed = wait_until(window, 60, 0.5)
        alive = proc.poll() is None
    finally:
        proc.stop()
    assert changed, f"no window appeared on {display.name}:\n{proc.output()[-2000:]}"
    assert alive
    assert not is_glfw_seatless_crash(proc.output())
