"""Asking a Wayland compositor: a real registry round trip (probes/wayland_probe.c), its
input seat, and what a Fyne `-tags wayland` app's crash on a seatless compositor means.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.toolchain.cprobe import compile_probe, pkg_config, shipped_probe


class Screen(Protocol):
    """What is asked of a display here (displays.Display is one): its name and env."""

    env: dict[str, str]

    @property
    def name(self) -> str: ...


def wayland_probe(ctx: Context) -> Path:
    """probes/wayland_probe.c, compiled once per context.

    A -tags wayland build needs libwayland-dev and a C compiler anyway, so the probe
    runs wherever a Wayland check matters, without an extra package such as wayland-utils.
    """

    def build() -> Path:
        pkg_config(ctx, ["wayland-client"])  # the true install hint when it is missing
        source = shipped_probe("wayland_probe.c")
        return compile_probe(ctx, "wayland-globals", ["wayland-client"], source)

    exe: Path = ctx.memoize("wayland probe", build)
    return exe


def wayland_globals(ctx: Context, env: Mapping[str, str], timeout: float = 15.0) -> dict[str, int]:
    """A real registry round trip: the compositor's globals and their versions."""
    done = ctx.run([str(wayland_probe(ctx))], env=env, timeout=timeout)
    if not done.ok:
        raise CheckFailed(
            f"nothing answers on WAYLAND_DISPLAY={env.get('WAYLAND_DISPLAY', '')} "
            f"(XDG_RUNTIME_DIR={env.get('XDG_RUNTIME_DIR', '')}): {done.output[-500:]}",
            "start a compositor, or point WAYLAND_DISPLAY and XDG_RUNTIME_DIR at its socket",
        )
    pairs = re.findall(r"^global=(\S+) (\d+)$", done.stdout, re.M)
    return {name: int(version) for name, version in pairs}


def wayland_seat(ctx: Context, display: Screen) -> bool:
    """Whether the compositor offers an input seat (headless weston 9, 10 and 14 offer none)."""
    return "wl_seat" in wayland_globals(ctx, display.env)


# What a Fyne `-tags wayland` build prints when go-gl's bundled GLFW 3.3.10 calls
# wl_seat_get_version(NULL) in glfwInit (wl_init.c:597) on a compositor with no seat.
# Seen under headless weston 10.0.1: exit status 2, addr=0x40.
GLFW_SEATLESS_CRASH = (
    re.compile(r"^SIGSEGV: segmentation violation", re.M),
    re.compile(r"^signal arrived during cgo execution", re.M),
    re.compile(r"glfw\._Cfunc_glfwInit\("),
)

SEATLESS_HINT = (
    "the compositor offers no wl_seat (input seat), and the GLFW 3.3.10 that go-gl bundles "
    "dereferences the missing seat in glfwInit (glfw#2517); headless weston has no seat "
    "(seen with weston 9, 10 and 14 in Debian, 13 in glfw#2517). Run -tags wayland builds on a "
    "compositor with an input seat: a desktop session, or headless, weston's X11 backend "
    "on Xvfb (`weston --backend=x11-backend.so` with DISPLAY set; fyne_display kind "
    "'weston-x11'); or test the X11 build (no -tags wayland) under weston --xwayland or Xvfb"
)


def is_glfw_seatless_crash(output: str) -> bool:
    return all(p.search(output) for p in GLFW_SEATLESS_CRASH)


def explain_wayland_failure(
    ctx: Context, display: Screen, returncode: int | None, output: str
) -> CheckFailed | None:
    """The true cause when a -tags wayland app died on `display`, if we know it."""
    if not is_glfw_seatless_crash(output):
        return None
    try:
        seat = wayland_seat(ctx, display)
    except CheckFailed:
        return None  # the compositor is gone; nothing to say about its seat
    if seat:
        return None
    return CheckFailed(
        f"the app crashed in glfwInit (SIGSEGV, exit {returncode}) on {display.name}, "
        "a compositor without wl_seat",
        SEATLESS_HINT,
    )

