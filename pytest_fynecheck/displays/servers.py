"""Displays: private Xvfb and weston servers, and the display a context's checks use.

Servers are started through `Context.spawn`, so the same code runs on the host
and in a container. Servers tell us where they listen (Xvfb through `-displayfd`,
weston's XWayland in its log); we never guess numbers. A server is ready only after
a real client round trip (x11.py and wayland.py ask). Host servers are recorded for the
reaper (reaper.py).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pytest_fynecheck.core import reaper
from pytest_fynecheck.core.context import TOOL_HINTS, Context, HostProcess, Process, wait_until
from pytest_fynecheck.core.model import CheckFailed, InputError
from pytest_fynecheck.displays import images
from pytest_fynecheck.displays.wayland import wayland_globals, wayland_probe
from pytest_fynecheck.displays.x11 import probe_x

XVFB_SCREEN = "1024x768x24"
SCREEN_SIZE = (1024, 768)
# Weston's desktop-shell panel, whose clock changes on its own, sits above this row.
WESTON_PANEL_ROWS = 40

# The kinds of display the fixture and the marker accept.
# weston-x11: weston's X11 backend on a private Xvfb. Unlike the headless backend it
# offers a wl_seat, which go-gl's GLFW 3.3.10 needs (see GLFW_SEATLESS_CRASH).
# weston-x11-xwayland: the same with Xwayland, whose X clients then have input devices:
# on seatless (headless) weston, Xwayland 22 segfaults at the first injected XTEST event
# (the fyne_app fixture's input; measured on bookworm's 22.1.9).
KINDS = ("xvfb", "weston", "weston-xwayland", "weston-x11", "weston-x11-xwayland")

# Tools only this module needs, with the true Debian package.
TOOL_HINTS.setdefault(
    "weston-screenshooter",
    "install weston (Debian: apt-get install weston); it ships weston-screenshooter",
)
TOOL_HINTS.setdefault(
    "Xwayland", "install xwayland (Debian: apt-get install xwayland) for weston --xwayland"
)


@dataclasses.dataclass
class Display:
    """A display to use, and the server we started for it, if any."""

    env: dict[str, str]
    description: str
    server: Process | None = None
    # Set when the display asked for did not answer and a private one stands in.
    warning: str = ""
    # One of KINDS, or "x" / "wayland" for a display we did not start.
    kind: str = "x"
    # Where the server runs: screenshots are taken there.
    ctx: Context | None = dataclasses.field(default=None, repr=False)
    _cleanups: list[Callable[[], None]] = dataclasses.field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return self.env.get("DISPLAY") or self.env.get("WAYLAND_DISPLAY", "")

    @property
    def wayland(self) -> bool:
        return "WAYLAND_DISPLAY" in self.env

    def log(self) -> str:
        """What the server printed so far (weston's log includes XWayland's)."""
        return self.server.output() if self.server is not None else ""

    def stop(self) -> None:
        """Stop the server and everything in its process group; remove its files."""
        if self.server is not None:
            self.server.stop()
        while self._cleanups:
            self._cleanups.pop()()

    def screenshot(self, path: Path, timeout: float = 30.0) -> Path:
        """A PNG of the whole screen at `path`: weston-screenshooter on weston, xwd on X."""
        ctx = self.ctx
        if ctx is None:
            raise CheckFailed(f"no context to take a screenshot of {self.name} in")
        path = Path(path)
        if self.wayland:
            # It writes into its cwd; ctx.scratch is at the same path inside containers.
            work = Path(tempfile.mkdtemp(prefix="shot-", dir=ctx.scratch))
            done = ctx.run(["weston-screenshooter"], env=self.env, cwd=work, timeout=timeout)
            shots = sorted(work.glob("wayland-screenshot-*.png"))
            if not done.ok or not shots:
                raise CheckFailed(
                    f"weston-screenshooter on {self.name} made no screenshot "
                    f"(exit {done.returncode}): {done.output[-800:]}",
                    "weston must run with --debug for weston-screenshooter to be allowed",
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(shots[-1], path)
            shutil.rmtree(work, ignore_errors=True)
        else:
            done = ctx.run(["xwd", "-root", "-silent"], env=self.env, timeout=timeout)
            if not done.ok:
                raise CheckFailed(
                    f"xwd could not dump {self.name} (exit {done.returncode}): {done.stderr[-800:]}"
                )
            images.write_png(images.read_xwd(done.raw), path)
        return path

    def settled_screen(self, path: Path, timeout: float = 30.0) -> images.Image:
        """The screen once two screenshots in a row agree below weston's panel: a compositor
        that has not finished its first paint would otherwise look like a new window."""
        last: images.Image | None = None

        def same() -> images.Image | None:
            nonlocal last
            now = images.read_png(self.screenshot(path).read_bytes())
            before, last = last, now
            if before is not None and images.changed_box(before, now, WESTON_PANEL_ROWS) is None:
                return now
            return None

        shown: images.Image | None = wait_until(same, timeout, 0.2)
        if shown is None:
            raise CheckFailed(
                f"the screen of {self.name} kept changing for {timeout:g} s; nothing to compare "
                "a new window against",
                "stop whatever draws on this display while the check runs",
            )
        return shown


def _spawn_server(
    ctx: Context, argv: Sequence[str], env: Mapping[str, str] | None = None
) -> Process:
    server = ctx.spawn(argv, env=env)
    if isinstance(server, HostProcess):
        # Inside a container the pid is docker's; the container reaper handles those.
        reaper.record_process(server.pid)
    return server


def start_xvfb(ctx: Context, timeout: float = 30.0) -> Display:
    # -displayfd 1: Xvfb writes the display number it chose to stdout once it listens.
    # -noreset: by default the server resets when its last client leaves, and a client
    # that connects meanwhile fails ("X11: Failed to open display"): seen as 2 in 12 app
    # starts right after the GLX probe disconnected.
    server = _spawn_server(
        ctx,
        ["Xvfb", "-displayfd", "1", "-screen", "0", XVFB_SCREEN, "-nolisten", "tcp", "-noreset"],
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

    try:
        found = wait_until(number, timeout)
    except CheckFailed:
        server.stop()
        raise
    if found is None:
        server.stop()
        raise CheckFailed(
            f"Xvfb did not report a display within {timeout:g} s: {server.output()[-1500:]}",
            "run `Xvfb -displayfd 1` by hand to see why",
        )
    return Display(
        {"DISPLAY": f":{found}"},
        f"private Xvfb :{found} ({XVFB_SCREEN})",
        server,
        kind="xvfb",
        ctx=ctx,
    )


def start_weston(
    ctx: Context, *, xwayland: bool = False, seat: bool = False, timeout: float = 30.0
) -> Display:
    """Weston on a private socket, ready after a real Wayland (and X) round trip.

    Headless by default; with `seat`, weston's X11 backend drawing into a private Xvfb,
    which gives the compositor an input seat (headless weston has none).
    """
    ctx.require("weston")
    wayland_probe(ctx)  # else every readiness poll fails the same way until timeout
    # Made by the context (host or container) in its own /tmp: short enough for a
    # socket path (108 bytes) and private (mktemp -d gives 0700), as Wayland wants.
    made = ctx.run(["mktemp", "-d", f"/tmp/{reaper.OWN_DIR_PREFIX}XXXXXX"], timeout=30)
    if not made.ok:
        raise CheckFailed(f"cannot make a runtime directory for weston: {made.output}")
    runtime = made.stdout.strip()
    socket = "wayland-fynecheck"  # the directory is private, so the name never collides
    backend = "x11" if seat else "headless"
    argv = [
        "weston",
        f"--backend={backend}-backend.so",
        f"--socket={socket}",
        "--use-pixman",  # a renderer that can read pixels back for screenshots
        "--idle-time=0",  # never blank the screen
        "--debug",  # allows weston-screenshooter
        "--no-config",  # the user's weston.ini must not change what tests see
        f"--width={SCREEN_SIZE[0]}",
        f"--height={SCREEN_SIZE[1]}",
    ]
    if xwayland:
        ctx.require("Xwayland")
        # weston 10 segfaults at start when /tmp/.X11-unix is missing.
        ctx.run(["mkdir", "-p", "-m", "1777", "/tmp/.X11-unix"], timeout=30)
        argv.append("--xwayland")
    env = {"XDG_RUNTIME_DIR": runtime, "WAYLAND_DISPLAY": socket}
    output: Display | None = None
    if seat:
        try:
            output = start_display(ctx, "xvfb", timeout)
        except BaseException:
            _remove(ctx, runtime)
            raise
    # The Xvfb is weston's output window, not for clients: DISPLAY only in weston's env.
    server = _spawn_server(ctx, argv, env={**env, **(output.env if output else {})})
    if isinstance(server, HostProcess):
        reaper.record_dir(runtime)  # a killed run leaves it; the reaper removes it
    kind = "weston" + ("-x11" if seat else "") + ("-xwayland" if xwayland else "")
    display = Display(dict(env), f"private {backend} weston {socket}", server, kind=kind, ctx=ctx)
    display._cleanups.append(lambda: _remove(ctx, runtime))
    if output is not None:
        display._cleanups.append(output.stop)  # after weston, which draws into it
        display.description += f" on Xvfb {output.name}"
    try:
        _wait_weston(ctx, display, xwayland, timeout)
    except BaseException:
        display.stop()
        raise
    return display


def start_display(ctx: Context, kind: str, timeout: float = 30.0) -> Display:
    """Start a private display of one of KINDS in `ctx`; the caller stops it."""
    if kind == "xvfb":
        display = start_xvfb(ctx, timeout)
        try:
            # -displayfd says Xvfb listens; a client round trip says it serves.
            display.description += ": " + probe_x(ctx, display.env, timeout)
        except BaseException:
            display.stop()
            raise
        return display
    if kind in ("weston", "weston-xwayland", "weston-x11", "weston-x11-xwayland"):
        return start_weston(
            ctx, xwayland=kind.endswith("xwayland"), seat=kind.startswith("weston-x11"),
            timeout=timeout,
        )
    raise InputError(f"unknown display kind {kind!r}; known: {', '.join(KINDS)}")


def _remove(ctx: Context, path: str) -> None:
    ctx.run(["rm", "-rf", "--", path], timeout=30)


def _wait_weston(ctx: Context, display: Display, xwayland: bool, timeout: float) -> None:
    server = display.server
    assert server is not None
    hint = "run the weston command in the log by hand to see why"

    def dead() -> None:
        if server.poll() is not None:
            raise CheckFailed(
                f"weston exited with {server.poll()} before it was ready: {display.log()[-1500:]}",
                hint,
            )

    def answers() -> dict[str, int] | None:
        dead()
        try:
            return wayland_globals(ctx, display.env, timeout=10)
        except CheckFailed:
            return None

    found = wait_until(answers, timeout)
    if found is None:
        raise CheckFailed(
            f"weston did not answer a Wayland client within {timeout:g} s: {display.log()[-1500:]}",
            hint,
        )
    seat = "with" if "wl_seat" in found else "no"
    width, height = SCREEN_SIZE
    display.description += f" ({width}x{height}, {len(found)} globals, {seat} wl_seat)"
    if not xwayland:
        return

    def x_number() -> str | None:
        dead()
        m = re.search(r"xserver listening on display :(\d+)", display.log())
        return m.group(1) if m else None

    number = wait_until(x_number, timeout)
    if number is None:
        raise CheckFailed(
            f"weston started no XWayland within {timeout:g} s: {display.log()[-1500:]}",
            "install xwayland (Debian: apt-get install xwayland)",
        )
    if isinstance(server, HostProcess):
        # The X lock file names the process that holds the display: it must be our weston.
        lock = Path(f"/tmp/.X{number}-lock")
        holder = lock.read_text().strip() if lock.is_file() else ""
        if holder != str(server.pid):
            raise CheckFailed(
                f"weston says it listens on :{number}, but {lock} names pid {holder or '-'}, "
                f"not weston's {server.pid}"
            )
    display.env["DISPLAY"] = f":{number}"
    # The first X client makes weston launch Xwayland: this is the real round trip.
    info = probe_x(ctx, {"DISPLAY": f":{number}"}, timeout=timeout)
    display.description += f", XWayland :{number}: {info}"


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


def wayland_display(ctx: Context) -> Display:
    """The Wayland display a -tags wayland app uses, chosen once per context by its mode.

    auto and host use WAYLAND_DISPLAY when it answers; otherwise (auto, xvfb) a private
    weston on Xvfb, which has the input seat Fyne's GLFW needs and takes screenshots.
    """

    def choose() -> Display:
        name = ctx.environ.get("WAYLAND_DISPLAY", "")
        warning = ""
        if ctx.display_mode in ("auto", "host") and name:
            runtime = ctx.environ.get("XDG_RUNTIME_DIR", "")
            env = {"WAYLAND_DISPLAY": name, "XDG_RUNTIME_DIR": runtime}
            try:
                found = wayland_globals(ctx, env)
                seat = "with" if "wl_seat" in found else "no"
                return Display(
                    env, f"WAYLAND_DISPLAY={name} ({len(found)} globals, {seat} wl_seat)",
                    kind="wayland",
                )
            except CheckFailed as exc:
                if ctx.display_mode == "host":
                    raise
                warning = f"WAYLAND_DISPLAY={name} did not answer ({exc.detail.splitlines()[0]}); "
        elif ctx.display_mode == "host":
            raise CheckFailed(
                "WAYLAND_DISPLAY is not set",
                "a -tags wayland build of Fyne needs WAYLAND_DISPLAY (and XDG_RUNTIME_DIR) "
                "pointing at a running compositor; or run with --fynecheck-display=auto to let "
                "the kit start a private weston",
            )
        display = start_display(ctx, "weston-x11")
        ctx.on_close(display.stop)
        display.warning = warning
        display.description = warning + display.description
        return display

    result: Display = ctx.memoize("wayland display", choose)
    return result
