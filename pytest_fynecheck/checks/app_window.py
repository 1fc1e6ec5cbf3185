"""app.window: the built app starts and shows a window with a real, non-blank first frame
(on X: its own window, found by the mapped-window watch; on Wayland: what changed on screen).
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pytest_fynecheck.checks import Found, Needs, built_binary, check
from pytest_fynecheck.core.context import Context, Process, wait_until
from pytest_fynecheck.core.model import CheckFailed, CheckWarning
from pytest_fynecheck.displays.images import (
    Image,
    changed_box,
    read_png,
    read_xwd,
    write_screenshot,
)
from pytest_fynecheck.displays.servers import WESTON_PANEL_ROWS, Display, wayland_display, x_display
from pytest_fynecheck.displays.wayland import explain_wayland_failure
from pytest_fynecheck.displays.x11 import MappedWindow, XWindowWatch


@check(
    "app.window",
    "The app shows a window with a first frame",
    hint="run the app by hand on this display and read what it prints",
    requires=("app.build", "gl.context"),
    waits=True,  # it runs the binary app.build made
)
def app_window(ctx: Context, needs: Needs) -> Found:
    argv = [str(built_binary(needs, "app.build")), *ctx.settings.app_args]
    if "wayland" in ctx.tags:
        return _wayland_window(ctx, argv)
    display = x_display(ctx)
    return show_x_window(ctx, display, argv, display.env)


def show_x_window(
    ctx: Context, display: Display, argv: list[str], env: dict[str, str], *,
    title: str | None = None, inspect: Callable[[MappedWindow], str] | None = None,
    shot_name: str = "app-window", timeout: float | None = None,
    ignore: Callable[[MappedWindow], bool] | None = None,
) -> Found:
    """Start `argv` on X `display`, wait for its window and a non-blank first frame (the
    screenshot, `shot_name`-CONTEXT.png: two checks of one context keep one each), then
    stop it. `title`: the window's (default: the ini setting's; "" takes the app's
    first); `inspect(window)`, asked while the app still runs, adds to the detail
    (package.install's WM_CLASS); `timeout`: seconds for the window (default: the ini's);
    `ignore(window)`: a window of the app's process tree that is not the app's (Wine's
    virtual desktop, a console)."""
    title = ctx.settings.window_title if title is None else title
    timeout = ctx.settings.window_timeout if timeout is None else timeout
    shown = open_x_window(ctx, display, argv, env, title=title, timeout=timeout,
                          ignore=ignore)
    win, frame = shown.window, shown.frame
    try:
        shot = write_screenshot(frame, ctx.artifacts() / f"{shot_name}-{ctx.name}.png")
        seen = f"; {inspect(win)}" if inspect is not None else ""
    finally:
        code = shown.app.stop()
    before = (f"; {shown.skipped} earlier window(s) of the app closed first (a splash)"
              if shown.skipped else "")
    return Found(
        f"window {win.title!r} ({win.id}) viewable on {display.name} after "
        f"{shown.mapped:.1f} s, first frame after {shown.first:.1f} s "
        f"({frame.colours(256)}+ colours, {frame.width}x{frame.height}); {shown.owned}{before}; "
        f"stopped with SIGTERM (exit {code}){seen}",
        {"screenshot": str(shot)},
    )


@dataclasses.dataclass(frozen=True)
class ShownWindow:
    """A started app whose own window drew its first frame; the app still runs."""

    app: Process
    window: MappedWindow
    frame: Image  # its first non-blank frame
    mapped: float  # seconds from the start until the window was first seen
    first: float  # seconds from the start to the first frame
    owned: str  # how the window was proven the app's
    skipped: int  # the app's earlier windows that closed first (a splash)


def open_x_window(
    ctx: Context, display: Display, argv: list[str], env: dict[str, str], *,
    title: str, timeout: float, ignore: Callable[[MappedWindow], bool] | None = None,
) -> ShownWindow:
    """Start `argv` on X `display` and wait for its own window's first non-blank frame
    (titled `title`, or its first when ""). The app keeps running: the caller stops it;
    when no window shows, it is stopped here and CheckFailed says why."""
    watch = XWindowWatch(ctx, display.env)  # listening before the app starts: no race
    token = secrets.token_hex(8)
    try:
        start = time.monotonic()
        app = ctx.spawn(argv, env={**env, TOKEN_VAR: token})
        try:
            carries = _carrier(ctx, token)
            win, frame, mapped, skipped = _first_frame(
                ctx, display, app, watch, title, timeout, carries, ignore
            )
            _, owned = win.owner(app.pid, watch.xres_status, carries)
        except BaseException:
            app.stop()
            raise
        return ShownWindow(
            app, win, frame, mapped - start, time.monotonic() - start, owned, skipped
        )
    finally:
        watch.stop()


def _first_frame(
    ctx: Context,
    display: Display,
    app: Process,
    watch: XWindowWatch,
    title: str,
    timeout: float,
    carries: Callable[[int], bool],
    ignore: Callable[[MappedWindow], bool] | None = None,
) -> tuple[MappedWindow, Image, float, int]:
    """The app's first window that draws a non-blank frame: a window of the app's own
    process tree (the X server's word, else _NET_WM_PID), and of that title if one is
    set; the title alone never makes a window the app's. One that closes before it is
    drawn (a splash) gives way to the next."""
    deadline = time.monotonic() + timeout
    gone: set[str] = set()
    unmapped: dict[str, float] = {}
    first_seen: dict[str, float] = {}
    while True:
        _exited(ctx, app, display)
        now = time.monotonic()
        mine = [w for w in watch.windows() if _is_apps(w, app, watch, title, carries)
                and w.id not in gone and not (ignore and ignore(w))]
        for win in mine[:1]:
            first_seen.setdefault(win.id, now)
            done = ctx.run(["xwd", "-id", win.id, "-silent"], env=display.env, timeout=15)
            if not done.ok:
                # Unmapped since: closed, or for a moment while a window manager (weston's
                # Xwayland one) reparents it into its frame. Gone once it stays away.
                if now - unmapped.setdefault(win.id, now) > _UNMAPPED_GRACE:
                    gone.add(win.id)
                continue
            unmapped.pop(win.id, None)
            image = read_xwd(done.raw)
            if not image.blank:
                return win, image, first_seen[win.id], len(gone)
            if now - first_seen[win.id] > _BLANK_LIMIT:
                raise CheckFailed(
                    f"window {win.title!r} is mapped but stayed blank for {_BLANK_LIMIT:g} s; "
                    f"the app printed:\n{app.output()[-1500:]}",
                    "the GL driver renders nothing: check gl.context's renderer",
                )
        if now >= deadline:
            detail, hint = _no_window(display, app, watch, title, timeout, carries)
            raise CheckFailed(detail, hint)
        # Often: the frame is taken as soon as it is drawn (a poll reads the watch's
        # output; only a mapped window costs an xwd).
        time.sleep(_POLL)


_BLANK_LIMIT = 15.0
# A window xwd cannot read for this long is gone (a splash closed), not being reparented.
# When one failed read meant gone, a launch under weston-x11-xwayland once timed out with
# its own, correctly titled window listed (1 of ~12; not reproduced in 30 more).
_UNMAPPED_GRACE = 1.0
_POLL = 0.02


TOKEN_VAR = "FYNECHECK_APP_TOKEN"


def _carrier(ctx: Context, token: str) -> Callable[[int], bool]:
    """Whether a process inherited the app's run token: read where the app runs (its
    /proc), once per pid. Another user's process, whose environ is unreadable, does not."""
    mark = f"{TOKEN_VAR}={token}".encode()
    known: dict[int, bool] = {}

    def carries(pid: int) -> bool:
        if pid not in known:
            done = ctx.run(["cat", f"/proc/{pid}/environ"], timeout=15)
            known[pid] = done.ok and mark in done.raw.split(b"\0")
        return known[pid]

    return carries


def _is_apps(
    win: MappedWindow, app: Process, watch: XWindowWatch, title: str,
    carries: Callable[[int], bool],
) -> bool:
    owned, _ = win.owner(app.pid, watch.xres_status, carries)
    return owned and (not title or win.title == title)


def _no_window(
    display: Display, app: Process, watch: XWindowWatch, title: str, timeout: float,
    carries: Callable[[int], bool],
) -> tuple[str, str]:
    """What is true when no window of the app's showed: whether the app mapped windows
    of its own at all, and which windows of other processes mapped meanwhile."""
    own: list[str] = []
    others: list[str] = []
    for w in watch.windows():
        owned, how = w.owner(app.pid, watch.xres_status, carries)
        (own if owned else others).append(f"{w.id} {w.title!r} ({how})")
    seen = (
        f"; windows of other processes mapped meanwhile and do not count: {', '.join(others)}"
        if others else ""
    )
    printed = f"; the app printed:\n{app.output()[-1500:]}"
    if own and not title:
        # Each closed before the kit could take a frame of it.
        return (
            f"the app's window(s) mapped on {display.name} and closed again within "
            f"{timeout:g} s, before a frame of one was taken: {', '.join(own)}; it is still "
            f"running{seen}{printed}",
            "run the app by hand on this display: it closes its windows as soon as it opens "
            "them",
        )
    if own:
        # The app did map windows: only the title is off.
        return (
            f"the app mapped window(s) of its own on {display.name} within {timeout:g} s, "
            f"none titled {title!r}: {', '.join(own)}{seen}{printed}",
            "set ini fynecheck_window_title to the title your app uses, or leave it empty "
            "to take the app's first window",
        )
    which = f"titled {title!r} or any other" if title else ""
    return (
        f"the app's process (pid {app.pid}) and its descendants mapped no window {which}"
        f"{' ' if which else ''}of their own on {display.name} in {timeout:g} s; "
        f"it is still running{seen}{printed}",
        "raise ini fynecheck_window_timeout if the app starts slowly; if it needs arguments "
        "to open its window, set ini fynecheck_app_args; an app with no window of its own "
        "(e.g. only a tray icon) has none to check",
    )


# A drawn window: this many pixels wide and high at least, in this many colours.
_MIN_SIDE, _MIN_COLOURS = 32, 8


def _wayland_window(ctx: Context, argv: list[str]) -> Found:
    """A -tags wayland build on the Wayland display: no X to ask, so the kit's own weston
    is asked for screenshots, and the window is what changed on screen."""
    display = wayland_display(ctx)
    timeout = ctx.settings.window_timeout
    work = Path(tempfile.mkdtemp(prefix="window-", dir=ctx.scratch))
    own = display.server is not None  # only the kit's weston allows screenshots
    before = display.settled_screen(work / "before.png") if own else None
    start = time.monotonic()
    app = ctx.spawn(argv, env=display.env)
    try:

        def drawn() -> Image | None:
            _exited(ctx, app, display)
            if before is None:
                return None
            now = read_png(display.screenshot(work / "now.png").read_bytes())
            box = changed_box(before, now, top=WESTON_PANEL_ROWS)
            if box is None or min(box[2:]) < _MIN_SIDE:
                return None
            area = now.crop(*box)
            return area if area.colours(64) >= _MIN_COLOURS else None

        if not own:
            # A compositor the kit did not start shows it no pixels: it can only see the app
            # survive its start, where a seatless crash or a GLFW error would end it.
            wait_until(drawn, min(timeout, 5.0), 0.2)
            raise CheckWarning(
                f"the app ran {time.monotonic() - start:.0f} s on {display.description} "
                "without exiting; the kit cannot see windows on a compositor it did not start",
                "run with --fynecheck-display=xvfb to check the window on a private weston",
            )
        frame = wait_until(drawn, timeout, 0.5)
        if frame is None:
            raise CheckFailed(
                f"nothing was drawn on {display.description} within {timeout:g} s; the app "
                f"printed:\n{app.output()[-1500:]}",
                "raise ini fynecheck_window_timeout if the app starts slowly",
            )
        shot = write_screenshot(frame, ctx.artifacts() / f"app-window-{ctx.name}.png")
        first = time.monotonic() - start
    finally:
        code = app.stop()
        shutil.rmtree(work, ignore_errors=True)
    return Found(
        f"a window ({frame.width}x{frame.height}, {frame.colours(256)}+ colours) drawn on "
        f"{display.description} after {first:.1f} s; stopped with SIGTERM (exit {code})",
        {"screenshot": str(shot)},
    )


def _exited(ctx: Context, app: Process, display: Display) -> None:
    """Fail with the cause when the app has exited before showing a window."""
    code = app.poll()
    if code is None:
        return
    output = app.output()
    known = explain_wayland_failure(ctx, display, code, output) if display.wayland else None
    if known is not None:
        raise known
    crash = go_crash(output)
    detail = f"the app {exit_cause(code)} before showing a window"
    detail += f"; it crashed: {crash}" if crash else ""
    detail += ":\n" + _crash_text(output)
    server = display.server
    if server is not None and server.poll() is not None:
        # The display the checks before this one used is gone: that is the cause to show.
        detail += (
            f"\nthe kit's display server ({display.description}) had exited with "
            f"{server.poll()}; it printed:\n{display.log()[-1500:]}"
        )
    raise CheckFailed(detail, _window_hint(output, code, crash))


def exit_cause(code: int) -> str:
    """How a program ended, in words: a death by signal is named, not shown as -15."""
    if code < 0:
        return f"was killed by signal {_signal_name(-code)}"
    if 128 < code < 128 + 65 and _signal_name(code - 128).startswith("SIG"):
        # A shell (e.g. a container's wrapper) reports its child's death by signal so.
        return (
            f"exited with {code} (128+{code - 128}: how a shell reports a child killed by "
            f"{_signal_name(code - 128)})"
        )
    return f"exited with {code}"


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} ({number})"
    except ValueError:
        return f"signal {number}"


# The first line of a Go crash (panic, fatal error, an uncaught signal in cgo code), and
# the function the crashing goroutine was in (the line after "goroutine N [running]:").
_GO_CRASH = re.compile(r"^(panic: .*|fatal error: .*|SIG[A-Z]+: .*)$", re.M)
_CRASH_FRAME = re.compile(
    r"^goroutine \d+ \[running\]:\n(?:panic\(.*\n.*\n)?(\S+)\(.*\)\n\s+(\S+)", re.M
)


def go_crash(output: str) -> str:
    """A Go crash's first line and where it happened, e.g. "panic: boom (in main.tray,
    /src/main.go:12)"; "" when the output shows no crash."""
    first = _GO_CRASH.search(output)
    if first is None:
        return ""
    frame = _CRASH_FRAME.search(output, first.end())
    where = f" (in {frame[1]}, {frame[2].split(' ')[0]})" if frame else ""
    return first[1].strip() + where


def _crash_text(output: str) -> str:
    """A Go crash's cause is at its start and the trace after it: keep the head too."""
    if len(output) <= 3000:
        return output
    return output[:1500] + "\n…\n" + output[-1500:]


def _window_hint(output: str, code: int, crash: str) -> str:
    if "err:module:import_dll" in output:
        return "Wine did not find a DLL the .exe imports: see windows.dlls"
    if "failed to initialise GLFW" in output or "GLX" in output:
        return "GLFW could not open the display or create a GL context: see display.* and gl.*"
    if crash:
        return (
            "the app crashed before its window showed: the crash's first line and place are "
            "in the detail; run the app by hand on this display to reproduce it"
        )
    if code < 0:
        return (
            "another process signalled the app before its window showed (the kit signals it "
            "only to stop it after the check): find what sends the signal"
        )
    return (
        "run the app by hand on this display and read what it prints; if it needs arguments "
        "to open its window, set ini fynecheck_app_args"
    )
