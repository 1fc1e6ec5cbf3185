"""A user's Fyne app, built and running on a real display, driven by real input.

`launch` builds the app (the one cached build, checks/app_build.py), starts it on an X
display (Xvfb, or a weston's Xwayland) and waits for its own window's first frame
(checks/app_window.py: the window must belong to the app's process). `FyneApp` then
clicks and types through xdotool (XTEST: the server sees real device events, not the
XSendEvent ones toolkits may ignore), reads frames with `xwd -id`, and stops the app.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_fynecheck.checks.app_build import build_app
from pytest_fynecheck.checks.app_window import exit_cause, open_x_window
from pytest_fynecheck.core import reaper
from pytest_fynecheck.core.context import TOOL_HINTS, Context, HostProcess, Process
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.displays.images import (
    Image,
    changed_box,
    read_png,
    read_xwd,
    write_screenshot,
)
from pytest_fynecheck.displays.servers import Display
from pytest_fynecheck.displays.x11 import MappedWindow
from pytest_fynecheck.e2e import baselines
from pytest_fynecheck.toolchain.cross import WEB_ENV
from pytest_fynecheck.toolchain.gotool import main_package
from pytest_fynecheck.web.browser import Driven
from pytest_fynecheck.web.build import WASM, make_site

TOOL_HINTS.setdefault(
    "xdotool", "install xdotool (Debian: apt-get install xdotool); fyne_app's input uses it"
)

# How often wait_frame reads the window: an xwd of a small window takes a few ms.
FRAME_POLL = 0.02
# xdotool's delay between typed keys, ms: GLFW drops none at this pace on a loaded machine.
TYPE_DELAY_MS = 12
_TOOL_TIMEOUT = 30.0  # one xdotool or xwd call; each returns in ms when the server answers


class FyneAppError(Exception):
    """The app or its display could not do what the test asked: the message says which."""


class FrameTimeout(AssertionError):
    """wait_frame saw no new frame: a test failure, with both images."""

    def __init__(self, message: str, before: Path, now: Path) -> None:
        super().__init__(message)
        self.before = before
        self.now = now


Region = tuple[int, int, int, int]  # x, y, width, height in window coordinates


@dataclasses.dataclass
class FyneApp:
    """A running app and its window. Coordinates are the window's, in pixels."""

    ctx: Context
    display: Display
    process: Process
    window_id: str
    title: str
    width: int
    height: int
    package: str  # its import path, which messages name
    shots: Path  # where this test's images go
    # Called with each image written (the report attaches them).
    attach: Callable[[str, Path], None] = lambda _role, _path: None
    launch_seconds: float = 0.0  # from start to the first frame
    # The user's repo (baselines live under its tests/fynecheck-baselines/<backend>/),
    # and whether assert_looks_like writes them (--fynecheck-update-baselines).
    baseline_root: Path | None = None
    update_baselines: bool = False
    tolerance: float = baselines.DEFAULT_TOLERANCE  # ini fynecheck_baseline_tolerance
    exit_code: int | None = None
    suite: str = ""  # the suite container it runs in (fyne_os), "" on the host
    # What ends with the app: its Wine session (the wineserver), under Wine.
    after: contextlib.ExitStack = dataclasses.field(default_factory=contextlib.ExitStack)
    _last: Image | None = None
    _count: int = 0

    @property
    def backend(self) -> str:
        """The display kind it runs on, after its suite in a container (bookworm-xvfb):
        a baseline directory's name (each suite's Mesa draws its own pixels)."""
        return f"{self.suite}-{self.display.kind}" if self.suite else self.display.kind

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stdout(self) -> list[str]:
        """The lines the app printed so far (stdout and stderr, in the order printed)."""
        return self.process.output().splitlines()

    def wait_output(
        self, text: str | re.Pattern[str], timeout: float = 10.0, since: int = 0
    ) -> str:
        """The first line the app printed that contains `text` (or matches the pattern),
        waiting up to `timeout` seconds: a line printed with a change may reach the kit
        a moment after the frame does. `since=len(app.stdout)`, taken before an action,
        looks only at what the app printed after it (an older line proves nothing)."""
        __tracebackhide__ = True  # the user's line is the failure's place
        pattern = text if isinstance(text, re.Pattern) else re.compile(re.escape(text))
        deadline = time.monotonic() + timeout
        while True:
            for line in self.stdout[since:]:
                if pattern.search(line):
                    return line
            self._alive(f"printing {pattern.pattern!r}")
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"the app {self.package} printed no line matching {pattern.pattern!r} "
                    f"within {timeout:g} s; it printed:\n" + "\n".join(self.stdout[-40:])
                )
            time.sleep(0.02)

    # Input: real device events through XTEST.

    def click(self, x: int, y: int, button: int = 1) -> None:
        """Move the pointer to (x, y) of the window and click `button` there."""
        __tracebackhide__ = True  # the user's line is the failure's place
        self._inside(x, y)
        # One xdotool call, no --sync (it polls the pointer every 100 ms): the server
        # handles the move before the press, both from one connection, in order.
        self._xdotool(["mousemove", "--window", self.window_id, str(x), str(y),
                       "click", str(button)], f"click at ({x}, {y})")

    def type(self, text: str) -> None:
        """Type `text` into the focused widget, key by key."""
        __tracebackhide__ = True  # the user's line is the failure's place
        self._xdotool(["type", "--delay", str(TYPE_DELAY_MS), "--", text], f"type {text!r}")

    def key(self, name: str) -> None:
        """Press and release a key by its X keysym name (Return, Tab, ctrl+a, ...)."""
        __tracebackhide__ = True  # the user's line is the failure's place
        self._xdotool(["key", "--", name], f"key {name!r}")

    # Frames.

    def frame(self) -> Image:
        """The window's pixels now."""
        __tracebackhide__ = True  # the user's line is the failure's place
        self._alive("taking a frame")
        done = self.ctx.run(["xwd", "-id", self.window_id, "-silent"], env=self.display.env,
                            timeout=_TOOL_TIMEOUT)
        if not done.ok:
            self._alive("taking a frame")
            raise FyneAppError(
                f"xwd could not read window {self.window_id} of {self.package} on "
                f"{self.display.name} (exit {done.returncode}): {done.stderr[-500:]}"
            )
        return read_xwd(done.raw)

    def settled_frame(self, timeout: float | None = None) -> tuple[Image, bool]:
        """The window's frame once it has not changed for SETTLE seconds (a tap's ripple
        and a hover's fade end within 0.4 s, measured), and whether it settled; after
        `timeout` (SETTLE_TIMEOUT), its last frame. A first frame is not always the final
        one either: a baseline of an unsettled frame would flake."""
        deadline = time.monotonic() + (SETTLE_TIMEOUT if timeout is None else timeout)
        image, since = self.frame(), time.monotonic()
        while True:
            time.sleep(0.05)
            now = self.frame()
            if _differs(image, now, None):
                image, since = now, time.monotonic()
            elif time.monotonic() - since >= SETTLE:
                return image, True
            if time.monotonic() >= deadline:
                return image, False

    def screenshot(self, name: str = "screenshot") -> Path:
        """A PNG of the window now, attached to the test's report; also the frame the
        next wait_frame compares against."""
        __tracebackhide__ = True  # the user's line is the failure's place
        image = self.frame()
        self._last = image
        return self._write(image, name)

    def wait_frame(self, timeout: float = 10.0, region: Region | None = None) -> Path:
        """Wait until the window's frame differs from the last one seen (the first frame,
        the last screenshot or the last wait_frame), within `region` if given; return a
        PNG of the new frame. On timeout the test fails with both images.

        Give `region` where the change is expected: a focused Entry's caret animates, so
        a frame of the whole window then differs from the last at once (measured: within
        0.01-0.2 s), whatever the input did."""
        __tracebackhide__ = True  # the user's line is the failure's place
        if region is not None:
            self._inside(region[0], region[1])
            self._inside(region[0] + region[2] - 1, region[1] + region[3] - 1)
        before = self._last if self._last is not None else self.frame()
        deadline = time.monotonic() + timeout
        while True:
            now = self.frame()
            if _differs(before, now, region):
                self._last = now
                return self._write(now, "frame")
            if time.monotonic() >= deadline:
                break
            time.sleep(FRAME_POLL)
        old = self._write(before, "frame-before")
        new = self._write(now, "frame-now")
        where = f" within region {region}" if region is not None else ""
        raise FrameTimeout(
            f"no new frame of {self.package}'s window {self.window_id} on "
            f"{self.backend}{where} within {timeout:g} s: the last frame is {old}, the frame "
            f"now is {new}, and they are identical there",
            old, new,
        )

    def assert_looks_like(self, name: str, tolerance: float | None = None) -> None:
        """The window now, compared with the baseline `name` of this backend: the
        comparison (and the writing of baselines) is e2e/baselines.py's."""
        __tracebackhide__ = True  # the user's line is the failure's place
        image, settled = self.settled_frame()
        self._last = image
        actual = self._write(image, f"looks-like-{name}")
        root = (self.baseline_root or self.ctx.project) / baselines.ROOT
        try:
            baselines.assert_looks_like(
                actual, name, self.backend, root=root,
                tolerance=self.tolerance if tolerance is None else tolerance,
                update=self.update_baselines,
            )
        except AssertionError as exc:
            if settled:
                raise
            raise AssertionError(
                f"{exc}\n(the window's frame never stopped changing for {SETTLE:g} s within "
                f"{SETTLE_TIMEOUT:g} s: a blinking caret of a focused Entry, an animation; "
                "this is its last frame)"
            ) from None
        finally:  # pass or fail, the report shows what was compared
            images = baselines.images_of(actual, name, self.backend, root=root)
            for role, path in (("baseline", images.baseline), ("diff", images.diff)):
                if path is not None and path.is_file():
                    self.attach(f"{self._count:02d}-{name}-{role}", path)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL: the app and everything it started end. Idempotent."""
        try:
            if self.exit_code is None:
                self.exit_code = self.process.stop()
        finally:
            self.after.close()
        return self.exit_code

    # Helpers.

    def _inside(self, x: int, y: int) -> None:
        __tracebackhide__ = True
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise FyneAppError(
                f"({x}, {y}) is outside the window of {self.package} "
                f"({self.width}x{self.height}): coordinates are the window's, from its "
                "top-left corner"
            )

    def _alive(self, doing: str) -> None:
        __tracebackhide__ = True
        code = self.process.poll()
        if code is not None:
            raise FyneAppError(
                f"the app {self.package} {exit_cause(code)} before {doing}; it printed:\n"
                + self.process.output()[-2000:]
            )

    def _xdotool(self, args: Sequence[str], what: str) -> None:
        __tracebackhide__ = True
        self._alive(what)
        done = self.ctx.run(["xdotool", *args], env=self.display.env, timeout=_TOOL_TIMEOUT)
        if not done.ok:
            raise FyneAppError(
                f"xdotool could not {what} in {self.package}'s window on {self.display.name} "
                f"(exit {done.returncode}): {done.output[-500:]}"
            )

    def _write(self, image: Image, name: str) -> Path:
        self._count += 1
        path = write_screenshot(image, self.shots / f"{self._count:02d}-{name}.png")
        self.attach(f"{self._count:02d}-{name}", path)
        return path


SETTLE = 0.3  # seconds without a change
SETTLE_TIMEOUT = 5.0


def _differs(before: Image, now: Image, region: Region | None) -> bool:
    if (before.width, before.height) != (now.width, now.height):
        return True  # resized
    if region is not None:
        before, now = before.crop(*region), now.crop(*region)
    return changed_box(before, now) is not None


def launch(
    ctx: Context,
    display: Display,
    *,
    args: Sequence[str],
    env: Mapping[str, str],
    title: str,
    timeout: float,
    shots: Path,
    attach: Callable[[str, Path], None],
) -> FyneApp:
    """Build `ctx`'s app (its settings name the package), start it on `display` and
    wait for its own window's first frame; the caller stops the returned app."""
    given = ctx.settings.package
    asked = f"package {given!r} of {ctx.project}" if given else f"the main package of {ctx.project}"
    if "DISPLAY" not in display.env:
        raise FyneAppError(
            f"{display.description} has no X display: input cannot be injected into a "
            "Wayland client (Wayland gives no client a way to send another input)"
        )
    ctx.require("xdotool", display.env)
    windows = ctx.environ.get("GOOS") == "windows"  # a -windows suite: the .exe, under Wine
    try:
        exe, _ = build_app(ctx, "app.exe" if windows else "app")
        package = main_package(ctx).import_path  # memoized: the build listed it
    except CheckFailed as exc:
        raise FyneAppError(
            f"fyne_app could not build {asked}: {exc.detail}\nhint: {exc.hint}"
        ) from None
    after = contextlib.ExitStack()
    failed = ""
    try:
        argv: list[str] = [str(exe)]
        run_env: dict[str, str] = {}
        ignore: Callable[[MappedWindow], bool] | None = None
        if windows:
            argv, run_env, ignore = _under_wine(ctx, exe, after)
        shown = open_x_window(ctx, display, [*argv, *args], {**run_env, **display.env, **env},
                              title=title, timeout=timeout, ignore=ignore)
    except CheckFailed as exc:
        failed = (f"fyne_app: {package} ({asked}) showed no window on {display.name} "
                  f"({display.kind}): {exc.detail}\nhint: {exc.hint}")
    except BaseException:
        after.close()
        raise
    if failed:
        after.close()
        raise FyneAppError(failed)
    if isinstance(shown.app, HostProcess):
        # A killed run's app is ended by the next run's reaper, like its displays.
        reaper.record_process(shown.app.pid)
    win = shown.window
    return FyneApp(ctx, display, shown.app, win.id, win.title, shown.frame.width,
                   shown.frame.height, package, shots, attach, shown.first, after=after,
                   _last=shown.frame)


def _under_wine(
    ctx: Context, exe: Path, after: contextlib.ExitStack
) -> tuple[list[str], dict[str, str], Callable[[MappedWindow], bool]]:
    """The .exe's command, environment and the windows not its own (as windows.window
    has them), in a Wine session of the kit's prefix that `after` ends (no wineserver is
    left). `wine app.exe` straight, not in explorer's virtual desktop: there the .exe
    gets a console of its own and its stdout never reaches the kit (seen with Wine 10);
    its top-level window is then the client area, 300x150 for a 300x150 app, as on X."""
    from pytest_fynecheck.checks.windows import not_the_apps
    from pytest_fynecheck.windows.wine import session, wine_prefix

    env = after.enter_context(session(ctx, wine_prefix(ctx)))
    return ["wine", str(exe)], env, lambda win: not_the_apps(win.title, exe)


# The web target: the app built for js/wasm, drawn by headless Chromium.

WEB_BACKEND = "chromium"  # the baselines' directory: SwiftShader draws its own pixels


class _Page:
    """The page probe as the app's Process: its pid and end are the probe's (Chromium and
    chromedriver are in its group); its output is the browser console, where Go's stdout
    and stderr go under js/wasm (wasm_exec.js writes each line there)."""

    def __init__(self, driven: Driven) -> None:
        self.driven = driven
        self.pid = driven.proc.pid
        self.console: list[str] = []

    def poll(self) -> int | None:
        return self.driven.poll()

    def stop(self, grace: float = 5.0) -> int | None:
        if self.driven.poll() is None:
            with contextlib.suppress(CheckFailed):
                self.console = self._lines()  # the last lines, for a failure's report
        return self.driven.stop()

    def output(self) -> str:
        if self.driven.poll() is None:
            with contextlib.suppress(CheckFailed):
                self.console = self._lines()
        return "\n".join(self.console) + ("\n" if self.console else "")

    def _lines(self) -> list[str]:
        reply = self.driven.command("console")
        return list(reply.get("lines", [])) if reply.get("ok") else self.console


@dataclasses.dataclass
class WebApp(FyneApp):
    """The app in headless Chromium: coordinates are the canvas's (Fyne's web driver
    makes the window fill the page, 1280x720 by the probe's window size); input through
    Selenium's ActionChains, frames from screenshots of the canvas, stdout the console."""

    page: _Page | None = None

    @property
    def backend(self) -> str:
        return WEB_BACKEND

    def _do(self, op: str, what: str, **args: Any) -> dict[str, Any]:
        __tracebackhide__ = True
        self._alive(what)
        assert self.page is not None
        try:
            reply = self.page.driven.command(op, **args)
        except CheckFailed as exc:
            raise FyneAppError(f"{self.package} in Chromium: {exc.detail}") from None
        if not reply.get("ok"):
            console = "\n".join(reply.get("console") or [])
            raise FyneAppError(
                f"could not {what} in {self.package}'s page in Chromium: "
                f"{reply.get('error')}" + (f"\nthe console:\n{console}" if console else "")
            )
        return reply

    def click(self, x: int, y: int, button: int = 1) -> None:
        __tracebackhide__ = True
        if button != 1:
            raise FyneAppError(f"button {button}: the web backend clicks button 1 only")
        self._inside(x, y)
        self._do("click", f"click at ({x}, {y})", x=x, y=y)

    def type(self, text: str) -> None:
        __tracebackhide__ = True
        self._do("type", f"type {text!r}", text=text)

    def key(self, name: str) -> None:
        __tracebackhide__ = True
        self._do("key", f"key {name!r}", name=name)

    def frame(self) -> Image:
        __tracebackhide__ = True
        path = self.shots / ".frame.png"
        self.shots.mkdir(parents=True, exist_ok=True)
        self._do("shot", "take a frame", path=str(path))
        return read_png(path.read_bytes())


def launch_web(
    ctx: Context,
    display: Display,
    *,
    args: Sequence[str],
    env: Mapping[str, str],
    title: str,
    timeout: float,
    shots: Path,
    attach: Callable[[str, Path], None],
) -> WebApp:
    """Build `ctx`'s app for js/wasm (the one cached build, and web.build's site beside
    it), load it in headless Chromium through the page probe, and wait for a non-blank
    canvas frame; the caller stops the returned app. `display` is the test's, unused
    (Chromium is headless); `title` is not waited for (the page's title is the kit's)."""
    del title
    given = ctx.settings.package
    asked = f"package {given!r} of {ctx.project}" if given else f"the main package of {ctx.project}"
    if args or env:
        # wasm_exec.js gives the program go.argv and go.env, which the kit's page leaves
        # empty: a test that relies on them would test something else in the browser.
        raise FyneAppError(
            f"fyne_app(args={list(args)!r}, env={dict(env)!r}) on the web backend: a js/wasm "
            "app in the kit's page gets no arguments or environment; drop them for this "
            "backend"
        )
    ctx.environ.update(WEB_ENV)
    try:
        wasm, _ = build_app(ctx, WASM)
        package = main_package(ctx).import_path
        site = make_site(ctx, wasm, package)
    except CheckFailed as exc:
        raise FyneAppError(
            f"fyne_app could not build {asked} for js/wasm: {exc.detail}\nhint: {exc.hint}"
        ) from None
    started = time.monotonic()
    failed = ""
    try:
        driven = Driven(ctx, site.dir, timeout=timeout)
    except CheckFailed as exc:
        failed = (f"fyne_app: {package} ({asked}) drew no frame in headless Chromium: "
                  f"{exc.detail}\nhint: {exc.hint}")
    if failed:
        raise FyneAppError(failed)
    page = _Page(driven)
    app = WebApp(ctx, display, page, "canvas", package, 0, 0, package, shots, attach,
                 time.monotonic() - started, page=page)
    try:
        first = app.frame()
    except BaseException:
        driven.stop()
        raise
    app.width, app.height, app._last = first.width, first.height, first
    return app
