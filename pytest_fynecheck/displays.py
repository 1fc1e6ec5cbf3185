"""Display servers: probing an existing X display and starting a private Xvfb.

Servers are started through `Context.spawn`, so the same code runs on the host
and in a container. Xvfb picks its own display number and tells us through
`-displayfd`; we never guess numbers.
"""

from __future__ import annotations

import dataclasses
import re

from pytest_fynecheck.context import Context, Process, wait_until
from pytest_fynecheck.model import CheckFailed

XVFB_SCREEN = "1024x768x24"


@dataclasses.dataclass
class Display:
    """An X display to use, and the server we started for it, if any."""

    env: dict[str, str]
    description: str
    server: Process | None = None
    # Set when the display asked for did not answer and a private one stands in.
    warning: str = ""

    @property
    def name(self) -> str:
        return self.env.get("DISPLAY") or self.env.get("WAYLAND_DISPLAY", "")

    def log(self) -> str:
        return self.server.output() if self.server is not None else ""

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def start_xvfb(ctx: Context, timeout: float = 30.0) -> Display:
    # -displayfd 1: Xvfb writes the display number it chose to stdout once it listens.
    server = ctx.spawn(
        ["Xvfb", "-displayfd", "1", "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp"]
    )

    def number() -> str | None:
        m = re.search(r"^(\d+)$", server.output(), re.M)
        if m:
            return m.group(1)
        if server.poll() is not None:
            raise CheckFailed(
                f"Xvfb exited with {server.poll()} before it was ready: {server.output()[-1500:]}",
                "run `Xvfb -displayfd 1` by hand to see why",
            )
        return None

    found = wait_until(number, timeout)
    if found is None:
        server.stop()
        raise CheckFailed(
            f"Xvfb did not report a display within {timeout:g} s: {server.output()[-1500:]}",
            "run `Xvfb -displayfd 1` by hand to see why",
        )
    return Display({"DISPLAY": f":{found}"}, f"private Xvfb :{found} ({XVFB_SCREEN})", server)


def probe_x(ctx: Context, env: dict[str, str], timeout: float = 15.0) -> str:
    """A real round trip to the X server; returns what it says about itself."""
    done = ctx.run(["xdpyinfo"], env=env, timeout=timeout)
    if not done.ok:
        raise CheckFailed(
            f"nothing answers on DISPLAY={env.get('DISPLAY', '')!s}: {done.output[-500:]}",
            "start an X server there (e.g. `Xvfb :N`), point DISPLAY at a live one, or run "
            "with --fynecheck-display=xvfb; an X11 build of Fyne needs an X server "
            "(Xvfb, Xorg or XWayland) even on a Wayland desktop",
        )
    fields = dict(
        re.findall(r"^(name of display|vendor string|dimensions):\s+(.*)$", done.stdout, re.M)
    )
    return ", ".join(f"{k} {v}" for k, v in fields.items())


def x_display(ctx: Context) -> Display:
    """The X display the checks use, chosen once per context by its display mode."""

    def choose() -> Display:
        wanted = ctx.environ.get("DISPLAY", "")
        if ctx.display_mode in ("auto", "host") and wanted:
            env = {"DISPLAY": wanted}
            if ctx.display_mode == "host":
                return Display(env, f"DISPLAY={wanted}: " + probe_x(ctx, env))
            try:
                return Display(env, f"DISPLAY={wanted}: " + probe_x(ctx, env))
            except CheckFailed as exc:
                note = f"DISPLAY={wanted} did not answer ({exc.detail.splitlines()[0]}); "
                warning = note
        elif ctx.display_mode == "host":
            raise CheckFailed(
                "DISPLAY is not set",
                "set DISPLAY to a running X server, or run with --fynecheck-display=auto "
                "to let the kit start a private Xvfb",
            )
        else:
            note = "" if ctx.display_mode == "xvfb" else "no DISPLAY set; "
            warning = ""
        display = start_xvfb(ctx)
        display.warning = warning
        ctx.on_close(display.stop)
        display.description = note + display.description + ": " + probe_x(ctx, display.env)
        return display

    result: Display = ctx.memoize("x display", choose)
    return result
