"""gl.minimum and gl.minimum.gles (issue 26): the GL floor, bisected with Mesa's overrides.

- Mesa on this machine does what the check rests on: llvmpipe reports the version (and
  GLSL) each override names;
- without --fynecheck-gl-minimum the checks are not planned; with it, both are;
- fixtures/hello's floor is found and reported with the error one step below, and both
  halves are true: the floor's screenshot is a drawn frame, and the app launched again by
  the test at the version below prints that error and shows no window;
- fyne's cmd/fyne_demo, fetched through the module proxy, has the same floors as hello;
- fixtures/glcore, which asks for a 3.3 core context, gets its floor at 3.3 (the floor
  follows the app); its gles row, where the override cannot reach its desktop context,
  claims no floor.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.env import module_dir
from support.sample import FYNE_VERSION, ROOT, TITLE

from pytest_fynecheck.checks.app_build import build_key
from pytest_fynecheck.checks.gl import GL, GL_VERSIONS, GLES, GLES_VERSIONS, glsl, override_env
from pytest_fynecheck.core.context import Context, wait_until
from pytest_fynecheck.displays.images import read_png
from pytest_fynecheck.displays.servers import Display, start_display
from pytest_fynecheck.displays.x11 import find_x_window
from pytest_fynecheck.toolchain.gotool import main_package

GLCORE = ROOT / "fixtures" / "glcore"


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(tmp_path, tmp_path, tmp_path, timeout=120)


@pytest.fixture
def xvfb(ctx: Context) -> Iterator[Display]:
    display = start_display(ctx, "xvfb")
    try:
        yield display
    finally:
        display.stop()


def _version_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def test_mesa_reports_each_override(ctx: Context, xvfb: Display) -> None:
    """The check's premise, on this machine: llvmpipe reports the GL and GLSL version of
    each override (up to its own), and the OpenGL ES version of each ES override."""
    own = ctx.run(["glxinfo", "-B"], env={**xvfb.env, "LIBGL_ALWAYS_SOFTWARE": "1"})
    assert own.ok, own.output
    top = re.search(r"^\s*Max compat profile version: (\d+\.\d+)", own.stdout, re.M)
    assert top and "llvmpipe" in own.stdout, own.stdout
    for version in [v for v in GL_VERSIONS if _version_key(v) <= _version_key(top[1])]:
        done = ctx.run(["glxinfo", "-B"], env={**xvfb.env, **override_env(GL, version)})
        assert re.search(rf"^OpenGL version string: {re.escape(version)}\b", done.stdout,
                         re.M), (version, done.output)
        if _version_key(version) >= (2, 1):
            shading = glsl(version)
            assert f"shading language version string: {shading[0]}.{shading[1:]}" in (
                done.stdout), (version, done.output)
    for version in [v for v in GLES_VERSIONS if _version_key(v) >= (2, 0)]:
        done = ctx.run(["es2_info"], env={**xvfb.env, **override_env(GLES, version)})
        assert f"GL_VERSION: OpenGL ES {version} Mesa" in done.stdout, (version, done.output)


def test_gl_minimum_is_planned_only_when_asked(pytester: pytest.Pytester, hello: Path) -> None:
    base = ("--fynecheck", f"--fynecheck-project={hello}", "--co", "-q", "-p", "no:xdist",
            "-p", "no:cacheprovider")
    without = pytester.runpytest_subprocess(*base, timeout=300)
    listed = without.stdout.str()
    assert "app.window" in listed and "gl.minimum" not in listed, listed
    asked = pytester.runpytest_subprocess(*base, "--fynecheck-gl-minimum", timeout=300)
    items = [line for line in asked.stdout.lines if "gl.minimum" in line]
    assert len(items) == 2 and any("gl.minimum.gles" in line for line in items), asked.stdout


def test_the_gles_build_key_follows_what_only_gles_compiles(hello: Path, tmp_path: Path) -> None:
    """gl.minimum.gles builds with -tags gles beside app.build: its key reads the listing
    of that build, so a file only -tags gles compiles rebuilds it (a stale cached build
    would be a floor of other code), and app.build's key, which Go does not read it for,
    stays."""
    gles_only = hello / "gles_only.go"
    gles_only.write_text("//go:build gles\n\npackage main\n\nconst glesOnly = 1\n")

    def keys() -> tuple[str, str]:
        ctx = Context(hello, tmp_path, tmp_path / "cache", timeout=300)  # a fresh memo
        pkg = main_package(ctx)
        return build_key(ctx, pkg), build_key(ctx, pkg, ("gles",))

    plain, gles = keys()
    assert plain != gles
    gles_only.write_text(gles_only.read_text().replace("= 1", "= 2"))
    plain_after, gles_after = keys()
    assert plain_after == plain and gles_after != gles


def _below(floor: str, versions: tuple[str, ...]) -> str:
    return versions[versions.index(floor) - 1]


@pytest.mark.slow  # a dozen launches of the app, and a -tags gles build of it (cold: ~1 min)
def test_hello_floor_with_the_error_below_it(
    pytester: pytest.Pytester, hello: Path, ctx: Context, xvfb: Display
) -> None:
    run = run_fynecheck(pytester, hello, "--fynecheck-gl-minimum")
    gl, gles = run.checks["gl.minimum"], run.checks["gl.minimum.gles"]
    assert gl["status"] == "ok", run
    found = re.search(r"OpenGL floor (\d\.\d) \(GLSL [\d.]+\) on llvmpipe.*?one step below, "
                      r"at (\d\.\d), it failed: (.*?); bisected", gl["detail"])
    assert found, gl["detail"]
    floor, below, error = found.groups()
    # Fyne's desktop driver asks GLFW for a 2.1 context.
    assert (floor, below) == ("2.1", _below("2.1", GL_VERSIONS)), gl["detail"]
    assert "GLXBadFBConfig" in error, gl["detail"]
    # The floor drew: its screenshot is the app's frame, not a blank.
    shot = Path(gl["artifacts"]["screenshot"])
    assert f"-{floor}-" in shot.name and read_png(shot.read_bytes()).colours(64) > 8, gl
    log = Path(gl["artifacts"]["log"]).read_text()
    assert f"OpenGL {floor} (" in log and f"OpenGL {below} (" in log, log
    # The error below is what the app really prints there, and it shows no window.
    binary = run.checks["app.build"]["artifacts"]["binary"]
    cause = error.split("Cause: ")[-1]
    app = ctx.spawn([binary], env={**xvfb.env, **override_env(GL, below)})
    try:
        assert wait_until(lambda: cause in app.output(), 30, 0.2), app.output()
        assert find_x_window(ctx, xvfb.env, TITLE) is None, "a window showed below the floor"
    finally:
        app.stop()

    assert gles["status"] == "ok", run
    assert "OpenGL ES floor 2.0 on llvmpipe" in gles["detail"], gles["detail"]
    assert f"one step below, at {_below('2.0', GLES_VERSIONS)}, it failed: " in gles["detail"]
    assert "-tags gles build" in gles["detail"]
    shot = Path(gles["artifacts"]["screenshot"])
    assert "gl-minimum-gles-2.0-" in shot.name and read_png(shot.read_bytes()).colours(64) > 8
    # Only the floors' screenshots are kept of the bisect's launches.
    kept = sorted(p.name for p in shot.parent.glob("gl-minimum*.png") if ".thumb" not in p.name)
    assert kept == ["gl-minimum-2.1-host.png", "gl-minimum-gles-2.0-host.png"], kept


@pytest.mark.slow  # a dozen launches of a GLFW app
def test_the_floor_follows_the_app_and_is_never_claimed_unseen(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    project = tmp_path / "glcore"
    shutil.copytree(GLCORE, project)
    run = run_fynecheck(pytester, project, "--fynecheck-gl-minimum")
    gl, gles = run.checks["gl.minimum"], run.checks["gl.minimum.gles"]
    assert gl["status"] == "ok", run
    assert "OpenGL floor 3.3 (GLSL 3.30)" in gl["detail"], gl["detail"]
    assert ("one step below, at 3.2, it failed: glcore: needs OpenGL 3.3 core: "
            "VersionUnavailable: GLX: Failed to create context" in gl["detail"]), gl["detail"]
    # Its -tags gles build still asks for desktop GL: every ES version "draws", and that
    # is said, not reported as a floor.
    assert gles["status"] == "warn", run
    assert "no floor is known" in gles["detail"] and "floor 1.0" not in gles["detail"], gles


@pytest.mark.slow  # fyne_demo's -tags gles build: minutes cold
def test_fyne_demo_floors(pytester: pytest.Pytester) -> None:
    demo = module_dir(f"fyne.io/fyne/v2@{FYNE_VERSION}") / "cmd" / "fyne_demo"
    run = run_fynecheck(pytester, demo, "--fynecheck-gl-minimum", "-k", "gl.minimum",
                        "-o", "fynecheck_window_timeout=120")
    gl, gles = run.checks["gl.minimum"], run.checks["gl.minimum.gles"]
    assert gl["status"] == "ok" and gles["status"] == "ok", run
    assert "OpenGL floor 2.1 (GLSL 1.20)" in gl["detail"], gl["detail"]
    assert "at 2.0, it failed: Fyne error: window creation error" in gl["detail"], gl["detail"]
    assert "OpenGL ES floor 2.0 on" in gles["detail"], gles["detail"]
    assert "at 1.1, it failed: Fyne error: window creation error" in gles["detail"], gles
    for found in (gl, gles):
        shot = read_png(Path(found["artifacts"]["screenshot"]).read_bytes())
        assert shot.colours(64) > 8 and shot.width > 320, found  # the demo's frame
