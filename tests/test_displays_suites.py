"""Weston in each Debian suite's container: fixtures/hello's X11 build on XWayland, and what
its -tags wayland build really does on that suite's headless weston.

Nothing here says which suite does what: each test asks the suite (weston's seat, X's window
position, libwayland's version) and requires the outcome that follows; each reports its
finding (-rP, JUnit XML). Builds go through the catalogue's app.build with the image-keyed
cache (start_suite keep_builds), so warm runs neither compile nor link (a build that fails is
tried again); a cold cgo build of Fyne in a container takes minutes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import start_suite
from support.display import (
    WINDOW_AREA,
    build,
    run_wayland_app,
    x11_window_on_xwayland,
)
from support.sample import TITLE

from pytest_fynecheck.checks.cc import WAYLAND_CLIENT_MIN
from pytest_fynecheck.containers.context import ContainerContext
from pytest_fynecheck.containers.images import SUITES
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.displays.servers import Display, start_display
from pytest_fynecheck.displays.wayland import (
    SEATLESS_HINT,
    explain_wayland_failure,
    is_glfw_seatless_crash,
    wayland_seat,
)
from pytest_fynecheck.toolchain.cprobe import pkg_config

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("suite", SUITES)]

Opener = Callable[[str, tuple[str, ...]], ContainerContext]


@pytest.fixture
def open_suite(hello: Path, tmp_path: Path) -> Iterator[Opener]:
    """Start a suite container with a copy of fixtures/hello as its project."""
    opened: list[ContainerContext] = []

    def open_(suite: str, tags: tuple[str, ...]) -> ContainerContext:
        ctx = start_suite(
            suite,
            tmp_path / "scratch",
            project=hello,
            tags=tags,
            keep_builds=True,
            timeout=1800,  # a cold cgo build of Fyne, on a busy machine
        )
        opened.append(ctx)
        ctx.settings = dataclasses.replace(ctx.settings, window_title=TITLE, package=".")
        return ctx

    yield open_
    for ctx in opened:
        ctx.close()  # stops every display (on_close), then removes the container


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """What a suite really did: printed (-rP shows it) and a property in the JUnit XML
    (user_properties: record_property warns under the default junit_family)."""

    def report_(finding: str) -> None:
        print(finding)
        request.node.user_properties.append(("finding", finding))

    return report_


def start(ctx: ContainerContext, kind: str) -> Display:
    display = start_display(ctx, kind, timeout=60)
    ctx.on_close(display.stop)
    return display


def test_x11_build_shows_its_window_under_weston_xwayland(
    suite: str, open_suite: Opener, tmp_path: Path, report: Callable[[str], None]
) -> None:
    ctx = open_suite(suite, ())
    display = start(ctx, "weston-xwayland")
    window = x11_window_on_xwayland(ctx, display, build(ctx), tmp_path)  # writes window.png
    agrees = window.shown_at == window.x_says
    finding = (
        f"{suite}: X11 window {window.own.width}x{window.own.height} drawn, weston shows it at "
        f"{window.shown_at}, X says {window.x_says} ({'agrees' if agrees else 'differs'}), "
        f"frame at {window.frame}"
    )
    report(finding)
    if not agrees:
        # Weston's X window manager did not move the frame to where the shell placed the
        # window (seen with weston 9), so X still has it where it was made, at the origin.
        assert window.frame == (0, 0), finding


def test_wayland_build_does_what_the_seat_implies(
    suite: str, open_suite: Opener, tmp_path: Path, report: Callable[[str], None]
) -> None:
    ctx = open_suite(suite, ("wayland",))
    display = start(ctx, "weston")
    version = ctx.run(["weston", "--version"], timeout=30)
    assert version.ok, version.output
    seat = wayland_seat(ctx, display)
    client = pkg_config(ctx, ["wayland-client"])["wayland-client"]
    finding = f"{suite}: {version.output.strip()}, wl_seat {'yes' if seat else 'no'}, "
    finding += f"libwayland-client {client}"
    if _version(client)[:2] < WAYLAND_CLIENT_MIN:
        # go-gl's GLFW ships protocol code generated for libwayland >= 1.20
        # (wl_proxy_marshal_flags), so the build itself fails before anything can run.
        with pytest.raises(CheckFailed, match="WL_MARSHAL_FLAG_DESTROY"):
            build(ctx)
        report(f"{finding}, -tags wayland build fails (WL_MARSHAL_FLAG_DESTROY undeclared)")
        return
    run = run_wayland_app(ctx, display, build(ctx), tmp_path)
    finding += ", app " + ("still running" if run.code is None else f"exited {run.code}")
    report(finding)
    tail = f"{finding}:\n{run.output[-2000:]}"
    if seat:
        assert run.code is None, tail
        assert run.changed > WINDOW_AREA // 2, f"no window in weston's screenshot; {tail}"
        assert not is_glfw_seatless_crash(run.output)
        return
    assert run.code not in (None, 0), tail
    assert is_glfw_seatless_crash(run.output), tail
    diagnosis = explain_wayland_failure(ctx, display, run.code, run.output)
    assert diagnosis is not None, tail
    assert diagnosis.hint == SEATLESS_HINT


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])
