"""Displays and GL: a real connection, and a real GL context on it."""

from __future__ import annotations

import re

from pytest_fynecheck.checks import NATIVE, Needs, check
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, CheckWarning, NotApplicable
from pytest_fynecheck.displays.servers import wayland_display, x_display
from pytest_fynecheck.displays.wayland import SEATLESS_HINT, wayland_globals
from pytest_fynecheck.toolchain.cprobe import compile_probe, shipped_probe

# go-gl/gl v2.1 is what Fyne binds: the context must offer at least this.
FYNE_MIN_GL = (2, 1)


@check(
    "display.x11",
    "X display answers",
    hint="point DISPLAY at a running X server, or use --fynecheck-display=xvfb",
    targets=NATIVE,  # Wine draws through X too
)
def display_x11(ctx: Context, needs: Needs) -> str:
    if "wayland" in ctx.tags:
        raise NotApplicable("the app is built with -tags wayland and does not use X11")
    display = x_display(ctx)
    found = display.description
    if display.server is not None:
        found += f" (server pid {display.server.pid}, stopped at session end)"
    if display.warning:
        raise CheckWarning(
            found,
            "your DISPLAY is dead; the kit used a private Xvfb instead. Point DISPLAY at a "
            "live X server to check that one",
        )
    return found


@check(
    "display.wayland",
    "Wayland display answers (-tags wayland)",
    hint="run a Wayland compositor and set WAYLAND_DISPLAY (and XDG_RUNTIME_DIR)",
    requires=("cc.works",),
)
def display_wayland(ctx: Context, needs: Needs) -> str:
    if "wayland" not in ctx.tags:
        raise NotApplicable(
            "the app is an X11 build (no -tags wayland): it needs DISPLAY, "
            "under Wayland through XWayland"
        )
    display = wayland_display(ctx)
    found = wayland_globals(ctx, display.env)
    names = sorted(found)
    detail = (
        f"WAYLAND_DISPLAY={display.env['WAYLAND_DISPLAY']}: {len(names)} globals "
        f"({', '.join(names[:8])}…)"
    )
    if display.server is not None:
        detail += (
            f"; {display.description} (server pid {display.server.pid}, stopped at session end)"
        )
    if "wl_seat" not in found:
        # The compositor answers, but a -tags wayland Fyne app crashes in glfwInit on it.
        raise CheckWarning(f"{detail}; no wl_seat (input seat)", SEATLESS_HINT)
    detail += f"; wl_seat version {found['wl_seat']}"
    if display.warning:
        raise CheckWarning(
            detail,
            "your WAYLAND_DISPLAY is dead; the kit used a private weston instead. Point "
            "WAYLAND_DISPLAY at a live compositor to check that one",
        )
    return detail


@check(
    "gl.context",
    "OpenGL context on the display",
    hint="install Mesa's drivers (Debian: apt-get install libgl1-mesa-dri libglx-mesa0)",
    requires=("pkgconfig.gl", "x11.libs", "display.x11"),
)
def gl_context(ctx: Context, needs: Needs) -> str:
    if "wayland" in ctx.tags:
        raise NotApplicable("-tags wayland uses EGL; app.window shows whether it works")
    display = x_display(ctx)
    probe = compile_probe(ctx, "glx-probe", ["gl", "x11"], shipped_probe("glx_probe.c"))
    done = ctx.run([str(probe)], env=display.env, timeout=30)
    if not done.ok:
        raise CheckFailed(
            f"no GL context on {display.name}: {done.output[-800:]}",
            "the X server needs GLX and Mesa's drivers (Debian: apt-get install "
            "libgl1-mesa-dri libglx-mesa0); with Xvfb, GLX is built in",
        )
    info = dict(re.findall(r"^(\w+)=(.*)$", done.stdout, re.M))
    version = info.get("version", "")
    m = re.match(r"(\d+)\.(\d+)", version)
    if not m or (int(m.group(1)), int(m.group(2))) < FYNE_MIN_GL:
        raise CheckFailed(
            f"GL {version or '?'} from {info.get('renderer', '?')}: Fyne needs OpenGL >= 2.1",
            "use a driver with OpenGL >= 2.1 (Mesa's llvmpipe offers 4.5 in software: "
            "LIBGL_ALWAYS_SOFTWARE=1)",
        )
    return f"{info.get('renderer', '?')}, OpenGL {version}, direct rendering {info.get('direct')}"
