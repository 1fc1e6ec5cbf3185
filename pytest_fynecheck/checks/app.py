"""The project itself: it builds, starts, and shows a window with a real first frame."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from pytest_fynecheck.checks import Found, check
from pytest_fynecheck.checks.go import local_replace_dirs
from pytest_fynecheck.context import CURRENT_CHECK, Context, Process, wait_until
from pytest_fynecheck.displays import (
    WESTON_PANEL_ROWS,
    Display,
    explain_wayland_failure,
    find_x_window,
    wayland_display,
    x_display,
)
from pytest_fynecheck.gotool import go_env
from pytest_fynecheck.images import Image, changed_box, read_png, read_xwd, write_png
from pytest_fynecheck.model import CheckFailed, CheckWarning
from pytest_fynecheck.progress import GoBuildProgress

# Go ignores these directories when it builds, so they do not belong in the build key.
_SKIP_DIRS = ("testdata", "node_modules")
# What in `go env` changes the binary.
_ENV_KEYS = (
    "GOVERSION",
    "GOOS",
    "GOARCH",
    "GOAMD64",
    "CGO_ENABLED",
    "CC",
    "CGO_CFLAGS",
    "CGO_LDFLAGS",
    "GOFLAGS",
    "GOEXPERIMENT",
)


def build_key(ctx: Context) -> str:
    """A key over everything that goes into the binary: toolchain, flags and source bytes."""
    h = hashlib.sha256()
    env = go_env(ctx)
    for k in _ENV_KEYS:
        h.update(f"{k}={env.get(k, '')}\n".encode())
    h.update(
        f"context={ctx.name} tags={','.join(ctx.tags)} "
        f"package={ctx.settings.get('package', '.')}\n".encode()
    )
    for root in [ctx.project, *local_replace_dirs(ctx)]:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith((".", "_")) and d not in _SKIP_DIRS
            )
            for name in sorted(filenames):
                path = Path(dirpath, name)
                h.update(str(path.relative_to(root)).encode(errors="surrogateescape") + b"\0")
                h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:20]


@check(
    "app.build",
    "The app builds",
    hint="run `go build` in the project to see the full error",
    requires=("project.gomod", "cc.works", "pkgconfig.gl", "x11.libs", "wayland.libs"),
    waits=True,  # a doomed cold build would burn minutes
)
def app_build(ctx: Context) -> Found:
    exe, detail = build_app(ctx, "app")
    ctx.memo["app binary"] = exe
    return Found(detail, {"binary": str(exe)})


def build_app(ctx: Context, name: str) -> tuple[Path, str]:
    """The app built for the context's GOOS (`name` is app, or app.exe), cached by build_key."""
    key = build_key(ctx)
    out_dir = ctx.cache / "builds" / key
    exe = out_dir / name
    if exe.is_file():
        return exe, f"cached build {key} (source and toolchain unchanged)"
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f"{name}.{os.getpid()}.tmp"
    argv = ["go", "build", "-v", "-o", str(tmp)]
    if ctx.tags:
        argv += ["-tags", ",".join(ctx.tags)]
    argv.append(ctx.settings.get("package", "."))
    build = GoBuildProgress(ctx.progress, CURRENT_CHECK.get() or "app.build")
    start = time.monotonic()
    with build.running():
        done = ctx.run(argv, on_line=build.on_line)
    if not done.ok:
        raise CheckFailed(
            f"`{' '.join(argv)}` failed:\n{done.stderr.strip()[-3000:]}", _build_hint(done.stderr)
        )
    tmp.replace(exe)  # atomic: a parallel run never sees half a binary
    took = time.monotonic() - start
    return exe, f"built in {took:.1f} s ({len(build.compiled)} packages compiled); key {key}"


def _build_hint(stderr: str) -> str:
    if "build constraints exclude all Go files" in stderr and "go-gl" in stderr:
        return "cgo is off for this build: set CGO_ENABLED=1 and install gcc"
    if "pkg-config" in stderr:
        return "a C library's .pc file is missing: see the pkgconfig.* checks"
    if "missing go.sum entry" in stderr:
        return "run `go mod tidy`"
    return "run `go build -v` in the project to see the full error"


def _windows(ctx: Context, env: dict[str, str]) -> dict[str, str]:
    """Top-level windows with names: id -> title."""
    done = ctx.run(["xwininfo", "-root", "-children"], env=env, timeout=15)
    return dict(re.findall(r'^\s+(0x[0-9a-f]+) "(.*)":', done.stdout, re.M))


def _viewable(ctx: Context, env: dict[str, str], win: str) -> bool:
    done = ctx.run(["xwininfo", "-id", win], env=env, timeout=15)
    return "Map State: IsViewable" in done.stdout


@check(
    "app.window",
    "The app shows a window with a first frame",
    hint="run the app by hand on this display and read what it prints",
    requires=("app.build", "gl.context"),
    waits=True,  # it runs the binary app.build made
)
def app_window(ctx: Context) -> Found:
    if "wayland" in ctx.tags:
        return _wayland_window(ctx)
    display = x_display(ctx)
    exe: Path = ctx.memo["app binary"]
    return show_x_window(ctx, display, [str(exe)], display.env)


def show_x_window(
    ctx: Context, display: Display, argv: list[str], env: dict[str, str]
) -> Found:
    """Start `argv` on X `display`, wait for its window and a non-blank first frame (the
    screenshot), then stop it."""
    title: str = ctx.settings.get("window_title", "")
    timeout: float = ctx.settings.get("window_timeout", 60.0)
    before = set(_windows(ctx, display.env))
    start = time.monotonic()
    app = ctx.spawn(argv, env=env)
    try:
        win = wait_until(lambda: _find_window(ctx, display, app, title, before), timeout, 0.1)
        if win is None:
            raise CheckFailed(
                f"no window {'titled ' + repr(title) if title else ''} became viewable on "
                f"{display.name} within {timeout:g} s; the app printed:\n{app.output()[-1500:]}",
                "set ini fynecheck_window_title to the title your app uses"
                if title
                else "raise ini fynecheck_window_timeout if the app starts slowly",
            )
        mapped = time.monotonic() - start
        shot = ctx.settings["artifacts"] / f"app-window-{ctx.name}.png"
        frame = wait_until(lambda: _frame(ctx, display.env, win[0]), 15, 0.1)
        if frame is None:
            raise CheckFailed(
                f"window {win[1]!r} is mapped but stayed blank for 15 s; the app printed:\n"
                f"{app.output()[-1500:]}",
                "the GL driver renders nothing: check gl.context's renderer",
            )
        write_png(frame, shot)
        first = time.monotonic() - start
    finally:
        code = app.stop()
    return Found(
        f"window {win[1]!r} viewable on {display.name} after {mapped:.1f} s, first frame "
        f"after {first:.1f} s ({frame.colours(256)}+ colours, {frame.width}x{frame.height}); "
        f"stopped with SIGTERM (exit {code})",
        {"screenshot": str(shot)},
    )


# A drawn window: this many pixels wide and high at least, in this many colours.
_MIN_SIDE, _MIN_COLOURS = 32, 8


def _wayland_window(ctx: Context) -> Found:
    """A -tags wayland build on the Wayland display: no X to ask, so the kit's own weston
    is asked for screenshots, and the window is what changed on screen."""
    display = wayland_display(ctx)
    exe: Path = ctx.memo["app binary"]
    timeout: float = ctx.settings.get("window_timeout", 60.0)
    work = Path(tempfile.mkdtemp(prefix="window-", dir=ctx.scratch))
    own = display.server is not None  # only the kit's weston allows screenshots
    before = display.settled_screen(work / "before.png") if own else None
    start = time.monotonic()
    app = ctx.spawn([str(exe)], env=display.env)
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
        shot = write_png(frame, ctx.settings["artifacts"] / f"app-window-{ctx.name}.png")
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
    detail = f"the app exited with {code} before showing a window:\n" + _crash_text(output)
    server = display.server
    if server is not None and server.poll() is not None:
        # The display the checks before this one used is gone: that is the cause to show.
        detail += (
            f"\nthe kit's display server ({display.description}) had exited with "
            f"{server.poll()}; it printed:\n{display.log()[-1500:]}"
        )
    raise CheckFailed(detail, _window_hint(output))


def _find_window(
    ctx: Context, display: Display, app: Process, title: str, before: set[str]
) -> tuple[str, str] | None:
    _exited(ctx, app, display)
    env = display.env
    if title:
        # Searches the whole tree: a window manager may have reparented the window.
        found = find_x_window(ctx, env, title)
        return (found.id, title) if found else None
    for win, name in _windows(ctx, env).items():
        if win not in before and _viewable(ctx, env, win):
            return win, name
    return None


def _crash_text(output: str) -> str:
    """A Go crash's cause is at its start and the trace after it: keep the head too."""
    if len(output) <= 3000:
        return output
    return output[:1500] + "\n…\n" + output[-1500:]


def _window_hint(output: str) -> str:
    if "err:module:import_dll" in output:
        return "Wine did not find a DLL the .exe imports: see windows.dlls"
    if "failed to initialise GLFW" in output or "GLX" in output:
        return "GLFW could not open the display or create a GL context: see display.* and gl.*"
    return "run the app by hand on this display and read what it prints"


def _frame(ctx: Context, env: dict[str, str], win: str) -> Image | None:
    done = ctx.run(["xwd", "-id", win, "-silent"], env=env, timeout=15)
    if not done.ok:
        return None
    image = read_xwd(done.raw)
    return None if image.blank else image
