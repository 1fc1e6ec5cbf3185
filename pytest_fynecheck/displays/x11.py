"""Asking an X server: a real round trip (xdpyinfo), a window by title (xwininfo), and
new windows as they map, from one long-lived probe (probes/xwindows_probe.c).

Every question goes through a `Context`, so the same code asks on the host and in a
container.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from pytest_fynecheck.core.context import Context, wait_until
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.toolchain.cprobe import compile_probe, shipped_probe


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
class Lineage:
    """A process and its ancestors, as /proc said where the app runs: (pid, session id)
    pairs, the process first, up to init; a session id of -1 could not be read."""

    chain: tuple[tuple[int, int], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Lineage:
        if text == "-":
            return cls()
        pairs = (item.split(":") for item in text.split(","))
        return cls(tuple((int(pid), -1 if sid == "?" else int(sid)) for pid, sid in pairs))

    @property
    def pid(self) -> int:
        return self.chain[0][0] if self.chain else -1

    def within(self, root: int) -> str:
        """How this process belongs to the tree the kit started at `root` (a session
        leader: the kit starts the app in a session of its own), or "" when it does not."""
        if not self.chain or root <= 0:
            return ""
        if self.pid == root:
            return "the app"
        if any(pid == root for pid, _ in self.chain):
            return f"a descendant of the app (pid {root})"
        if self.chain[0][1] == root:
            # Reparented (e.g. a double fork): still in the session the app leads.
            return f"in the app's session {root}"
        return ""


@dataclasses.dataclass(frozen=True)
class MappedWindow:
    """A client window that became viewable, as probes/xwindows_probe.c reports it."""

    id: str
    width: int
    height: int
    title: str
    # The process its _NET_WM_PID names (what the client claims), empty when unset.
    net: Lineage = Lineage()
    # The process the X server says holds its connection (X-Resource), empty when the
    # server cannot say in this pid namespace.
    xres: Lineage = Lineage()

    def owner(
        self, root: int, xres_status: str, carries: Callable[[int], bool] | None = None
    ) -> tuple[bool, str]:
        """Whether the window belongs to the process tree started at `root`, and how
        that was established (or why not). The server's answer is the proof where it
        has one; a client's _NET_WM_PID counts only where the server cannot say.
        `carries(pid)`: whether that process inherited the app's own run token (a
        process the app had started detached, e.g. by Wine's server, is neither its
        descendant nor in its session)."""

        def within(lineage: Lineage) -> str:
            how = lineage.within(root)
            if not how and carries is not None and lineage.chain and carries(lineage.pid):
                how = "started by the app: it carries the app's run token in its environment"
            return how

        if self.xres.chain:
            how = within(self.xres)
            if not how:
                return False, f"its X client is pid {self.xres.pid} (X-Resource), not the app's"
            net = within(self.net)
            agree = "; its _NET_WM_PID agrees" if net else (
                "; it sets no _NET_WM_PID" if not self.net.chain
                else f"; its _NET_WM_PID names pid {self.net.pid}"
            )
            return True, f"owned by pid {self.xres.pid} ({how}) via X-Resource{agree}"
        why = xres_status or "X-Resource names no pid for its client"
        if not self.net.chain:
            return False, f"it sets no _NET_WM_PID and the X server named no process ({why})"
        how = within(self.net)
        if not how:
            return False, f"its _NET_WM_PID is {self.net.pid}, not the app's"
        return True, (
            f"owned by pid {self.net.pid} ({how}) via _NET_WM_PID (the X server could not "
            f"confirm it: {why})"
        )


_MAPPED = re.compile(r"^map (0x[0-9a-f]+) (\d+)x(\d+) (\S+) (\S+) ?(.*)$", re.M)
_READY = re.compile(r"^ready (.*)$", re.M)
# What the probe's "ready" line says about X-Resource, for a window's detail.
_XRES_STATUS = {
    "none": "the server has no X-Resource extension",
    "unknown": "X-Resource names no pid for the kit's own connection",
    "off": "the kit's X probe was built without libXRes (Debian: libxres-dev)",
}


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
        said = _READY.search(self._probe.output())
        status = said[1].strip() if said else "unknown"
        # "pid": the server named the probe's own pid, so its pids are comparable to /proc.
        self.xres_status = "" if status == "pid" else _XRES_STATUS.get(
            status,
            f"X-Resource names pid {status.removeprefix('other ')} for the kit's own "
            "connection: the server sees another pid namespace (or a forwarded display)",
        )

    def windows(self) -> list[MappedWindow]:
        """Every window reported so far, first mapped first, each once (its latest title)."""
        seen: dict[str, MappedWindow] = {}
        for m in _MAPPED.finditer(self._probe.output()):
            win = MappedWindow(
                m[1], int(m[2]), int(m[3]), m[6], Lineage.parse(m[4]), Lineage.parse(m[5])
            )
            seen[win.id] = win  # dicts keep the first insertion's place
        return list(seen.values())

    def stop(self) -> None:
        self._probe.stop(grace=1.0)


_PROBE_KEY = "xwindows probe"


def lend_xwindows_probe(ctx: Context, exe: Path) -> None:
    """Give `ctx`, which has no compiler (a runtime-only container), the probe another
    context of the same suite compiled: `exe` must be a path `ctx` sees."""
    ctx.memoize(_PROBE_KEY, lambda: exe)


def xwindows_probe(ctx: Context) -> Path:
    """probes/xwindows_probe.c, compiled once per context (x11.libs proves it can be);
    with libXRes where it is installed, so the X server can be asked who owns a window."""

    def build() -> Path:
        source = shipped_probe("xwindows_probe.c")
        if ctx.run(["pkg-config", "--exists", "xres"], timeout=30).ok:
            return compile_probe(ctx, "xwindows", ["x11", "xres"], source)
        # Without it, a window counts only by its _NET_WM_PID; the detail says so.
        return compile_probe(ctx, "xwindows-no-xres", ["x11"], "#define NO_XRES 1\n" + source)

    exe: Path = ctx.memoize(_PROBE_KEY, build)
    return exe
