"""The Windows target: the app cross-built with mingw-w64, its DLL imports against a clean
Windows, and the .exe under Wine on an X display (see pytest_fynecheck/windows)."""

from __future__ import annotations

import re
from pathlib import Path

from pytest_fynecheck.checks import Found, Needs, built_binary, check
from pytest_fynecheck.checks.app_build import build_app
from pytest_fynecheck.checks.app_window import show_x_window
from pytest_fynecheck.core.context import TOOL_HINTS, Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.displays.servers import x_display
from pytest_fynecheck.toolchain.cprobe import build_cgo_probe, compiler_identity
from pytest_fynecheck.windows import MINGW_CC
from pytest_fynecheck.windows.dlls import imported_dlls, missing_hint, unresolved_dlls
from pytest_fynecheck.windows.wine import (
    DESKTOP_TITLE,
    desktop_argv,
    session,
    wine_prefix,
    wine_version,
)

MINGW_HINT = "install mingw-w64 (Debian: apt-get install gcc-mingw-w64-x86-64)"
TOOL_HINTS.setdefault(MINGW_CC, MINGW_HINT)
WINDOWS = ("windows",)
_WINE32_NOTE = re.compile(
    r"^it looks like wine32 is missing.*\n(?:multiarch needs.*\n)?(?:execute .*\n)?"
    r"(?:apt-get install wine32.*\n)?", re.M
)


@check(
    "windows.cc",
    "mingw-w64 cross-builds cgo for Windows",
    hint=MINGW_HINT,
    requires=("cgo.enabled",),
    targets=WINDOWS,
)
def windows_cc(ctx: Context, needs: Needs) -> str:
    exe, built = build_cgo_probe(ctx, "cgo-windows", "probe.exe")
    if not built.ok:
        raise CheckFailed(f"a tiny cgo program does not cross-build: {built.output[-1500:]}")
    dlls = imported_dlls(ctx, exe)  # also proves it is a PE32+ file
    return f"{compiler_identity(ctx)}; cgo probe cross-built (PE32+, imports {', '.join(dlls)})"


@check(
    "windows.build",
    "The app cross-builds for Windows",
    hint="run the same `go build` with GOOS=windows CGO_ENABLED=1 "
    f"CC={MINGW_CC} to see the full error",
    requires=("project.gomod", "windows.cc"),
    waits=True,
    targets=WINDOWS,
)
def windows_build(ctx: Context, needs: Needs) -> Found:
    exe, detail = build_app(ctx, "app.exe")
    return Found(detail, {"binary": str(exe)})  # windows.dlls and windows.window read it


@check(
    "windows.dlls",
    "Every DLL the .exe imports ships with Windows or the app",
    hint="ship the DLL next to the .exe, or link it statically",
    requires=("windows.build",),
    waits=True,
    targets=WINDOWS,
)
def windows_dlls(ctx: Context, needs: Needs) -> str:
    exe = built_binary(needs, "windows.build")
    system, missing = unresolved_dlls(ctx, exe)
    if missing:
        named = ", ".join(f"{dll} (imported by {by})" for dll, by in missing.items())
        raise CheckFailed(
            f"{exe.name} imports {named}: it ships with neither Windows nor the app, so the "
            "program will not start on a clean Windows (system DLLs it imports: "
            f"{', '.join(system)})",
            missing_hint(missing),
        )
    return f"{exe.name} imports only system DLLs: {', '.join(system)}"


@check(
    "windows.window",
    "The .exe shows a window under Wine",
    hint="run the .exe with `wine` on this display and read what it prints",
    requires=("windows.build", "display.x11"),
    waits=True,
    targets=WINDOWS,
)
def windows_window(ctx: Context, needs: Needs) -> Found:
    return wine_window(ctx, built_binary(needs, "windows.build"))


def not_the_apps(title: str, exe: Path) -> bool:
    """Wine's windows in the app's process tree: its virtual desktop, and the console
    window a console-subsystem .exe gets (titled with the .exe's path; seen with a bare
    `go build`). Either draws, so either taken for the app's would pass a broken GUI."""
    return title == DESKTOP_TITLE or title.lower().endswith("\\" + exe.name.lower())


def wine_window(ctx: Context, exe: Path, shot_name: str = "app-window") -> Found:
    """`exe` under Wine on this context's X display, to a non-blank frame; the one way
    windows.window and package.windows launch an .exe."""
    display = x_display(ctx)
    version = wine_version(ctx)
    prefix = wine_prefix(ctx)
    try:
        with session(ctx, prefix) as env:
            found = show_x_window(ctx, display, desktop_argv(exe), {**env, **display.env},
                                  shot_name=shot_name,
                                  ignore=lambda win: not_the_apps(win.title, exe))
    except CheckFailed as exc:
        # Debian's `wine` script asks for wine32 whenever WINEDEBUG keeps errors: not the cause.
        detail = _WINE32_NOTE.sub("", exc.detail)
        if "bcryptprimitives.dll not found" not in detail:
            raise CheckFailed(detail, exc.hint, exc.status) from None
        raise CheckFailed(
            f"{detail}\n{version} has no bcryptprimitives.dll, which the runtime of "
            "Go >= 1.22 loads at start (every Windows 10+ has it): this Wine cannot run the "
            "program, whatever Windows would do",
            "run it under Wine >= 9 (Debian 13 trixie has Wine 10): "
            "`--fynecheck-os trixie-windows` does so in a trixie container",
        ) from None
    return Found(
        f"{found.detail}; under {version} (prefix {prefix}). Wine maps WGL onto this "
        "machine's Mesa: this proves the .exe loads, links its DLLs and draws, not that a "
        "Windows GPU driver works",
        found.artifacts,
    )
