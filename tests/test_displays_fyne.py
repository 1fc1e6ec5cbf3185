"""Real Fyne builds of fixtures/hello on weston: X11 through XWayland, and -tags wayland.

Builds go through the readiness catalogue's app.build (content-keyed cache), so warm
runs only link once per change. A cold `-tags wayland` cgo build takes minutes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.display import (
    WINDOW_AREA,
    build,
    run_wayland_app,
    x11_window_on_xwayland,
)
from support.sample import HELLO, TITLE

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.displays.servers import Display, start_display
from pytest_fynecheck.displays.wayland import (
    SEATLESS_HINT,
    explain_wayland_failure,
    is_glfw_seatless_crash,
    wayland_seat,
)

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
    ctx.settings = dataclasses.replace(ctx.settings, window_title=TITLE, package=".",
                                       window_timeout=60.0, artifacts=tmp_path)
    return ctx


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Context]:
    ctx = Context(HELLO, tmp_path, tmp_path, timeout=120)
    yield ctx
    ctx.close()


def start(host: Context, kind: str) -> Display:
    display = start_display(host, kind)
    host.on_close(display.stop)
    return display


def test_x11_build_shows_its_window_under_weston_xwayland(host: Context, tmp_path: Path) -> None:
    display = start(host, "weston-xwayland")
    x_env = {"DISPLAY": display.env["DISPLAY"]}
    (tmp_path / "app").mkdir()
    binary = build(app_context(tmp_path / "app", x_env, ()))
    window = x11_window_on_xwayland(host, display, binary, tmp_path)
    # Weston 10 tells X where its shell placed the window.
    assert window.shown_at == window.x_says


def test_wayland_build_crashes_in_glfw_init_on_seatless_weston(
    host: Context, tmp_path: Path
) -> None:
    display = start(host, "weston")
    assert wayland_seat(host, display) is False
    (tmp_path / "app").mkdir()
    app = app_context(tmp_path / "app", {}, ("wayland",))
    run = run_wayland_app(host, display, build(app), tmp_path)
    output = run.output
    assert run.code is not None, f"the -tags wayland build did not exit:\n{output[-2000:]}"
    # What really happens (weston 10.0.1 headless, go-gl GLFW 3.3.10): a NULL wl_seat
    # dereference inside glfwInit; Go's runtime reports it and exits with status 2.
    assert run.code == 2, output[-2000:]
    assert is_glfw_seatless_crash(output), output[-2000:]
    assert "addr=0x40" in output  # wl_proxy_get_version reading the NULL proxy's version
    assert "failed to initialise GLFW" not in output  # not a GLFW error: a crash
    diagnosis = explain_wayland_failure(host, display, run.code, output)
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


def test_same_wayland_build_shows_its_window_once_weston_has_a_seat(
    host: Context, tmp_path: Path
) -> None:
    """The control for the crash above: only the seat differs, and the crash is gone."""
    display = start(host, "weston-x11")
    assert wayland_seat(host, display) is True
    (tmp_path / "app").mkdir()
    binary = build(app_context(tmp_path / "app", {}, ("wayland",)))
    run = run_wayland_app(host, display, binary, tmp_path)
    assert run.code is None, f"exited {run.code}:\n{run.output[-2000:]}"
    assert run.changed > WINDOW_AREA // 2, f"no window on {display.name}:\n{run.output[-2000:]}"
    assert not is_glfw_seatless_crash(run.output)
