"""The web target: the app built for js/wasm, served, and drawn by headless Chromium
(see pytest_fynecheck/web). Skeleton: each check's body is being written (issue 24)."""

from __future__ import annotations

from pytest_fynecheck.checks import Found, Needs, check
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed

WEB = ("web",)


@check(
    "web.build",
    "The app builds for the browser (js/wasm)",
    hint="run `GOOS=js GOARCH=wasm go build` in the project to see the full error",
    requires=("project.gomod",),
    waits=True,
    targets=WEB,
)
def web_build(ctx: Context, needs: Needs) -> Found:
    raise CheckFailed("not written yet", "issue 24")


@check(
    "web.serve",
    "The build is served with application/wasm and the toolchain's wasm_exec.js",
    hint="serve .wasm as application/wasm, and copy wasm_exec.js from the GOROOT that built it",
    requires=("web.build",),
    targets=WEB,
)
def web_serve(ctx: Context, needs: Needs) -> str:
    raise CheckFailed("not written yet", "issue 24")


@check(
    "web.window",
    "Headless Chromium draws the app",
    hint="open the page in Chromium with its console open and read the first error",
    requires=("web.serve",),
    targets=WEB,
)
def web_window(ctx: Context, needs: Needs) -> Found:
    raise CheckFailed("not written yet", "issue 24")


@check(
    "web.drift",
    "The .wasm matches the source tree",
    hint="rebuild the .wasm from this tree",
    requires=("web.build",),
    targets=WEB,
)
def web_drift(ctx: Context, needs: Needs) -> str:
    raise CheckFailed("not written yet", "issue 24")
