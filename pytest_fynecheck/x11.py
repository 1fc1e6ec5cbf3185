"""Asking an X server: a real round trip (xdpyinfo), a window by title (xwininfo), and
new windows as they map, from one long-lived probe (probes/xwindows_probe.c).

Every question goes through a `Context`, so the same code asks on the host and in a
container.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path

from pytest_fynecheck.context import Context, wait_until
from pytest_fynecheck.cprobe import compile_probe, shipped_probe
from pytest_fynecheck.model import CheckFailed


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



@dataclasses.dataclass(frozen=True)
class XWindow:
    id: str
    x: int  # absolute, on the root window
    y: int
    width: int
    height: int


def find_x_window(ctx: Context, env: Mapping[str, str], title: str) -> XWindow | None:
    """The viewable window with this exact title, at any depth of the window tree.

    Window managers (weston's XWayland WM, desktop WMs) reparent a client's window
    into an unnamed frame, so it is not a child of the root; `xwininfo -name` searches
    the whole tree.
    """
    done = ctx.run(["xwininfo", "-name", title], env=env, timeout=15)
    if not done.ok or "Map State: IsViewable" not in done.stdout:
        return None
    win = re.search(r"Window id: (0x[0-9a-f]+)", done.stdout)
    fields = dict(
        re.findall(r"^\s+(Absolute upper-left [XY]|Width|Height):\s+(-?\d+)", done.stdout, re.M)
    )
    if win is None or len(fields) != 4:
        return None
    return XWindow(
        win.group(1),
        int(fields["Absolute upper-left X"]),
        int(fields["Absolute upper-left Y"]),
        int(fields["Width"]),
        int(fields["Height"]),
    )


@dataclasses.dataclass(frozen=True)
class MappedWindow:
    """A client window that became viewable, as probes/xwindows_probe.c reports it."""

    id: str
    pid: int  # its _NET_WM_PID, -1 when it sets none
    width: int
    height: int
    title: str


_MAPPED = re.compile(r"^map (0x[0-9a-f]+) (-?\d+) (\d+)x(\d+) ?(.*)$", re.M)


class XWindowWatch:
    """New viewable windows on an X display, from one long-lived probe that listens to the
    root window's events: no process forked per poll (xwininfo every 0.1 s was)."""

    def __init__(self, ctx: Context, env: Mapping[str, str], timeout: float = 15.0) -> None:
        self._probe = ctx.spawn([str(xwindows_probe(ctx))], env=env)

        def ready() -> bool:
            if self._probe.poll() is not None:
                raise CheckFailed(
                    f"the X window probe exited with {self._probe.poll()} on "
                    f"DISPLAY={env.get('DISPLAY', '')}: {self._probe.output()[-800:]}",
                    "see display.x11: the display must answer",
                )
            return self._probe.output().startswith("ready")

        try:
            if not wait_until(ready, timeout, 0.02):
                raise CheckFailed(f"the X window probe was not ready within {timeout:g} s")
        except BaseException:
            self._probe.stop()
            raise

    def windows(self) -> list[MappedWindow]:
        """Every window reported so far, first mapped first, each once (its latest title)."""
        seen: dict[str, MappedWindow] = {}
        for m in _MAPPED.finditer(self._probe.output()):
            win = MappedWindow(m[1], int(m[2]), int(m[3]), int(m[4]), m[5])
            seen[win.id] = win  # dicts keep the first insertion's place
        return list(seen.values())

    def stop(self) -> None:
        self._probe.stop(grace=1.0)


def xwindows_probe(ctx: Context) -> Path:
    """probes/xwindows_probe.c, compiled once per context (x11.libs proves it can be)."""

    def build() -> Path:
        return compile_probe(ctx, "xwindows", ["x11"], shipped_probe("xwindows_probe.c"))

    exe: Path = ctx.memoize("xwindows probe", build)
    return exe

