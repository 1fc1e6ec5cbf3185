"""gl.minimum and gl.minimum.gles (opt-in: --fynecheck-gl-minimum): the lowest OpenGL (and,
built with -tags gles, OpenGL ES) version at which the app still draws its first frame.

Mesa's llvmpipe (LIBGL_ALWAYS_SOFTWARE=1) reports and enforces the version its overrides
name (MESA_GL_VERSION_OVERRIDE with MESA_GLSL_VERSION_OVERRIDE; MESA_GLES_VERSION_OVERRIDE
for ES contexts), so a context the app asks above it fails as on an old GPU or a VM. Each
launch is app.window's (`show_x_window`: the app's own window, a non-blank frame). The
bisect takes a version above one that draws to draw too (each GL version is a superset of
the one before); the floor and the version one step below are both launched, so the floor
reported is one that drew and the error shown is one the app printed.
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

from pytest_fynecheck.checks import Found, Needs, check
from pytest_fynecheck.checks.app_build import build_app
from pytest_fynecheck.checks.app_window import go_crash, show_x_window
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, CheckWarning, NotApplicable
from pytest_fynecheck.displays.images import thumbnail_path
from pytest_fynecheck.displays.servers import Display, x_display
from pytest_fynecheck.toolchain.cprobe import compile_probe, shipped_probe

# Real versions, oldest first (Khronos' releases). A driver's own maximum caps the list:
# Mesa reports any override, even 5.0, and a floor above what llvmpipe offers proves nothing.
GL_VERSIONS = (
    "1.1", "1.2", "1.3", "1.4", "1.5", "2.0", "2.1", "3.0", "3.1", "3.2", "3.3",
    "4.0", "4.1", "4.2", "4.3", "4.4", "4.5", "4.6",
)
GLES_VERSIONS = ("1.0", "1.1", "2.0", "3.0", "3.1", "3.2")

# The GLSL each GL version brings, as MESA_GLSL_VERSION_OVERRIDE takes it. Mesa 22 reports
# no GLSL string for 110 ("Invalid GLSL version"), so 1.x and 2.0 run with 1.20, the
# lowest it reports: their contexts lack GL 2.1 anyway.
_GLSL = {"2.1": "120", "3.0": "130", "3.1": "140", "3.2": "150"}
_LOWEST_GLSL = "120"

SOFTWARE = {"LIBGL_ALWAYS_SOFTWARE": "1"}
_LAUNCH_FLOOR = 5.0  # seconds a launch below the top may wait for its window, at least
_TOP_FACTOR = 5.0  # ... or this many times the top version's launch, if longer


@dataclasses.dataclass(frozen=True)
class Row:
    check_id: str
    api: str  # as the floor is named: OpenGL, OpenGL ES
    variable: str  # Mesa's override
    versions: tuple[str, ...]
    tag: str  # the build tag of this row's build ("": app.build's)


GL = Row("gl.minimum", "OpenGL", "MESA_GL_VERSION_OVERRIDE", GL_VERSIONS, "")
GLES = Row("gl.minimum.gles", "OpenGL ES", "MESA_GLES_VERSION_OVERRIDE", GLES_VERSIONS, "gles")

_HINT = (
    "users with an older GL than the floor see the error shown; lower the floor by using "
    "only the GL calls of older versions, or state it in the app's requirements"
)


@check(
    "gl.minimum",
    "The lowest OpenGL version the app draws at (--fynecheck-gl-minimum)",
    hint=_HINT,
    required=False,
    requires=("app.build", "app.window"),
    waits=True,  # a dozen launches of app.build's binary
)
def gl_minimum(ctx: Context, needs: Needs) -> Found:
    exe = Path(needs["app.build"].artifacts["binary"])
    return floor(ctx, GL, [str(exe), *ctx.settings.app_args])


@check(
    "gl.minimum.gles",
    "The lowest OpenGL ES version the app draws at, built with -tags gles "
    "(--fynecheck-gl-minimum)",
    hint=_HINT,
    required=False,
    requires=("app.build", "app.window"),
    waits=True,
)
def gl_minimum_gles(ctx: Context, needs: Needs) -> Found:
    if "wayland" in ctx.tags:
        raise NotApplicable("a -tags wayland build draws through EGL on Wayland, not on X")
    exe, built = build_app(ctx, "app", tags=tuple(dict.fromkeys([*ctx.tags, GLES.tag])))
    found = floor(ctx, GLES, [str(exe), *ctx.settings.app_args])
    return dataclasses.replace(found, detail=f"{found.detail}; the -tags gles build: {built}")


def override_env(row: Row, version: str) -> dict[str, str]:
    """What a launch at `version` runs with: llvmpipe, told to offer `version` at most."""
    env = {**SOFTWARE, row.variable: version}
    if row is GL:
        env["MESA_GLSL_VERSION_OVERRIDE"] = glsl(version)
    return env


def glsl(version: str) -> str:
    major, minor = version.split(".")
    if (int(major), int(minor)) >= (3, 3):
        return f"{major}{minor}0"  # from 3.3 on GLSL's version is GL's
    return _GLSL.get(version, _LOWEST_GLSL)


def _key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


@dataclasses.dataclass
class Launch:
    version: str
    drew: bool
    seconds: float
    detail: str  # Found's on a draw, CheckFailed's on a failure
    shot: Path | None = None


def floor(ctx: Context, row: Row, argv: list[str]) -> Found:
    """Bisect `row`'s versions up to the driver's own for the lowest the app draws at."""
    if "wayland" in ctx.tags:
        raise NotApplicable("a -tags wayland build draws through EGL on Wayland, not on X")
    display = x_display(ctx)
    top, driver = _driver_top(ctx, row, display)
    versions = [v for v in row.versions if _key(v) <= _key(top)]
    shot_base = row.check_id.replace(".", "-")
    launches: list[Launch] = []

    def launch(index: int, timeout: float | None) -> Launch:
        version = versions[index]
        env = {**display.env, **override_env(row, version)}
        start = time.monotonic()
        try:
            found = show_x_window(ctx, display, argv, env, shot_name=f"{shot_base}-{version}",
                                  timeout=timeout)
            done = Launch(version, True, time.monotonic() - start, found.detail,
                          Path(found.artifacts["screenshot"]))
        except CheckFailed as exc:
            done = Launch(version, False, time.monotonic() - start, exc.detail)
        launches.append(done)
        return done

    first = launch(len(versions) - 1, None)
    if not first.drew:
        raise CheckFailed(
            f"the app drew no first frame even at {driver['api']} {top}, the driver's own "
            f"({driver['renderer']}), with {_shown(override_env(row, top))}: "
            f"{first.detail[-2000:]}",
            "the app fails on llvmpipe itself: run it by hand with LIBGL_ALWAYS_SOFTWARE=1",
        )
    # Below the top an app that cannot get its context often stays up without a window
    # (Fyne logs the error): the wait is bounded by what the top took.
    timeout = min(ctx.settings.window_timeout, max(_LAUNCH_FLOOR, _TOP_FACTOR * first.seconds))
    lo, hi = -1, len(versions) - 1  # versions[hi] drew; versions[lo] failed (-1: none yet)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if launch(mid, timeout).drew:
            hi = mid
        else:
            lo = mid
    at = {x.version: x for x in launches}
    if lo >= 0 and app_error(at[versions[lo]].detail).startswith(_NO_GL_ERROR):
        # A bare timeout may be a loaded machine, not the GL: once more, with the ini's wait.
        again = launch(lo, None)
        if again.drew:
            raise CheckWarning(
                f"{row.api} {again.version} failed once ({at[again.version].detail[:300]}) "
                f"and then drew: launches are not stable here, so no floor is claimed",
                "run again on a less loaded machine, or raise ini fynecheck_window_timeout",
            )
        at[again.version] = again
    best = at[versions[hi]]
    for x in launches:  # the floor's screenshot is the one kept
        if x.shot is not None and x is not best:
            x.shot.unlink(missing_ok=True)
            thumbnail_path(x.shot).unlink(missing_ok=True)
    assert best.shot is not None
    log = ctx.artifacts() / f"{shot_base}-{ctx.name}.log"
    log.write_text("".join(
        f"== {row.api} {x.version} ({_shown(override_env(row, x.version))}): "
        f"{'drew' if x.drew else 'failed'} in {x.seconds:.1f} s\n{x.detail}\n\n"
        for x in launches
    ))
    order = ", ".join(f"{x.version} {'drew' if x.drew else 'failed'}" for x in launches)
    how = (
        f"bisected {versions[0]}..{top} ({len(versions)} versions, capped at the driver's own) "
        f"in {len(launches)} launches ({order}); a version above one that draws is taken "
        "to draw too"
    )
    if lo < 0:
        # Nothing failed: the override may not reach the app's context (an app that asks
        # for desktop GL in the gles row): no floor is claimed.
        raise CheckWarning(
            f"the app drew its first frame at every {row.api} version tried on "
            f"{driver['renderer']}, {driver['mesa']}, down to {versions[0]}, the lowest of "
            f"the list: none failed, so {row.variable} did not limit this app's context and "
            f"no floor is known; {how}; screenshot {best.shot}, log {log}",
            f"check that the app asks for an {row.api} context"
            + (" (a -tags gles build of Fyne does)" if row is GLES else ""),
        )
    head = (
        f"{row.api} floor {best.version}"
        + (f" (GLSL {_dotted(glsl(best.version))})" if row is GL else "")
        + f" on {driver['renderer']}, {driver['mesa']}: the app drew its first frame at "
        f"{best.version}"
    )
    below = at[versions[lo]]
    detail = (
        f"{head}; one step below, at {below.version}, it failed: "
        f"{app_error(below.detail)}; {how}"
    )
    return Found(detail, {"screenshot": str(best.shot), "log": str(log)})


def _driver_top(ctx: Context, row: Row, display: Display) -> tuple[str, dict[str, str]]:
    """The driver's own highest version under LIBGL_ALWAYS_SOFTWARE=1, after proving Mesa
    honours the row's override there (a GL that ignores it, e.g. a vendor's on the user's
    DISPLAY, would make every version draw: a floor that is not one)."""
    lowest = row.versions[0] if row is GL else "2.0"  # no ES 1.x context to ask for ES 2
    own = _ask(ctx, row, display, {})
    told = _ask(ctx, row, display, {row.variable: lowest})
    renderer = own.get("renderer", "?")
    if "Mesa" not in own.get("version", "") or not told.get("version", "").startswith(
            ("OpenGL ES " if row is GLES else "") + lowest):
        raise NotApplicable(
            f"the GL on {display.name} with LIBGL_ALWAYS_SOFTWARE=1 is {renderer}, "
            f"{own.get('version', '?')}; told {row.variable}={lowest} it reported "
            f"{told.get('version', '?')}: Mesa's override is not honoured there, so no floor "
            "can be bisected (run with --fynecheck-display=xvfb)"
        )
    found = re.search(r"(\d+)\.(\d+)", own["version"].removeprefix("OpenGL ES "))
    assert found is not None
    mesa = re.search(r"Mesa \S+", own["version"])
    return f"{found[1]}.{found[2]}", {
        "renderer": renderer, "api": row.api, "mesa": mesa[0] if mesa else "Mesa",
    }


def _ask(ctx: Context, row: Row, display: Display, extra: dict[str, str]) -> dict[str, str]:
    """renderer= and version= of a context llvmpipe makes: the kit's GLX probe for GL,
    mesa-utils' es2_info for ES (through EGL; GLFW asks GLX for the app's, and Mesa applies
    the one override to both)."""
    env = {**display.env, **SOFTWARE, **extra}
    if row is GL:
        probe = compile_probe(ctx, "glx-probe", ["gl", "x11"], shipped_probe("glx_probe.c"))
        done = ctx.run([str(probe)], env=env, timeout=30)
        return dict(re.findall(r"^(\w+)=(.*)$", done.stdout, re.M)) if done.ok else {}
    if ctx.which("es2_info") is None:
        raise CheckFailed(
            f"`es2_info` not found on PATH in {ctx.name}: the kit asks it which OpenGL ES "
            "versions llvmpipe offers",
            "install mesa-utils (Debian: apt-get install mesa-utils)",
        )
    done = ctx.run(["es2_info"], env=env, timeout=30)
    info = dict(re.findall(r"^GL_(RENDERER|VERSION): (.*)$", done.stdout, re.M))
    return {k.lower(): v for k, v in info.items()} if done.ok else {}


def _shown(env: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in env.items())


def _dotted(glsl_version: str) -> str:
    return f"{glsl_version[0]}.{glsl_version[1:]}"


# What an app prints about GL when it cannot start: Fyne's error blocks, GLFW's errors
# (GLX/EGL/WGL: ... ; VersionUnavailable, APIUnavailable), a driver's or the app's own words.
_STAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")
_GL_WORDS = re.compile(
    r"\b(?:GLX|EGL|WGL|OpenGL|GLSL|GL|VersionUnavailable|APIUnavailable|context|shader)\b"
)


def app_error(detail: str) -> str:
    """The app's own error text in a failed launch's detail: its crash, and each Fyne error
    block or line it printed about GL, timestamps dropped; its last lines if none is."""
    printed = detail.split("printed:\n", 1)[1] if "printed:\n" in detail else detail
    lines = [_STAMP.sub("", line).rstrip() for line in printed.splitlines()]
    found: list[str] = []
    crash = go_crash(printed)
    if crash:
        found.append(crash)
    for i, line in enumerate(lines):
        if line.startswith("Fyne error:"):
            block = [line, *(x for x in lines[i + 1:i + 3] if x.startswith("  Cause:"))]
            if _GL_WORDS.search(" ".join(block)):
                found.append(" ".join(" ".join(block).split()))
        elif (_GL_WORDS.search(line) and not line.startswith(("  Cause:", "  At:", "\t"))
              and line not in crash):
            found.append(line.strip())
    if found:
        return " | ".join(dict.fromkeys(found))
    tail = [x for x in lines if x.strip()][-4:]
    return f"{_NO_GL_ERROR}; " + (
        "its last lines: " + " | ".join(tail) if tail
        else f"it printed nothing ({detail.splitlines()[0] if detail else 'no detail'})"
    )


_NO_GL_ERROR = "no GL error printed"
