"""The Windows target for real: mingw-w64 cross builds, their DLL imports, Wine."""

from __future__ import annotations

import glob
import re
import shutil
from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.env import cache
from support.sample import ROOT, TITLE

from pytest_fynecheck.checks import for_context
from pytest_fynecheck.checks.windows import windows_dlls
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, Result, Status
from pytest_fynecheck.displays import images
from pytest_fynecheck.plan.spec import parse_context
from pytest_fynecheck.windows import MINGW_CC, WINDOWS_ENV
from pytest_fynecheck.windows.dlls import system_dlls, unresolved_dlls
from pytest_fynecheck.windows.wine import session, wine_prefix, wine_version

PTHREAD = ROOT / "fixtures" / "portability" / "pthread"
WINPTHREAD = Path("/usr/x86_64-w64-mingw32/lib/libwinpthread-1.dll")  # mingw-w64-x86-64-dev


def _windows_ctx(project: Path, scratch: Path) -> Context:
    ctx = Context(project, scratch, cache(), timeout=600)
    ctx.name = "windows"
    ctx.environ.update(WINDOWS_ENV)
    return ctx


def _wine_dlls() -> set[str]:
    dirs = glob.glob("/usr/lib/*/wine/x86_64-windows") + glob.glob("/usr/lib/wine/x86_64-windows")
    return {p.name.lower() for d in dirs for p in Path(d).iterdir()}


def test_every_listed_system_dll_is_one_wine_implements() -> None:
    """The list is transcribed from Microsoft's docs: Wine, which reimplements Windows'
    system DLLs, has each name (no typo, nothing invented); MinGW's runtime is not listed."""
    wine = _wine_dlls()
    assert wine, "Wine's DLL directory not found (CI installs wine64)"
    assert sorted(system_dlls() - wine) == []
    assert not {"libwinpthread-1.dll", "libgcc_s_seh-1.dll", "vcruntime140.dll"} & system_dlls()


def test_windows_contexts_run_the_windows_checks_only() -> None:
    windows = parse_context("windows", "--fynecheck-os")
    trixie = parse_context("trixie-windows", "--fynecheck-os")
    specs = [windows, trixie, windows.with_go("go1.24.13")]
    for spec in specs:
        assert spec.target == "windows" and dict(spec.env)["CC"] == MINGW_CC, spec
        ids = set(for_context(spec.target))
        assert {"windows.build", "windows.dlls", "windows.window", "go.env"} <= ids
        assert not {"cc.works", "pkgconfig.gl", "app.build", "glibc.portability"} & ids
    bookworm = parse_context("bookworm", "--fynecheck-os")
    assert bookworm.target == "linux"
    assert not {i for i in for_context(bookworm.target) if i.startswith("windows.")}


@pytest.mark.slow
def test_libwinpthread_import_is_caught_and_the_hints_are_true(tmp_path: Path) -> None:
    """fyne-cross#167 for real: a cgo pthread program's .exe imports libwinpthread-1.dll.
    windows.dlls names it; Wine's loader refuses the .exe for the same DLL; both fixes
    the hint gives (CGO_LDFLAGS=-static, or the DLL beside the .exe) work."""
    project = tmp_path / "pthread"
    shutil.copytree(PTHREAD, project)
    ctx = _windows_ctx(project, tmp_path)
    exe = project / "pthread.exe"
    built = ctx.run(["go", "build", "-o", str(exe), "."], env={"GOFLAGS": "-mod=mod"})
    assert built.ok, built.output
    # What the runner hands windows.dlls: windows.build's result, with its binary.
    made = Result("windows.build", "", Status.OK, artifacts={"binary": str(exe)})
    needs = {"windows.build": made}
    with pytest.raises(CheckFailed) as caught:
        windows_dlls(ctx, needs)
    assert "libwinpthread-1.dll (imported by pthread.exe)" in caught.value.detail
    assert "CGO_LDFLAGS='-static'" in caught.value.hint

    # Wine's loader agrees: the .exe does not start without the DLL.
    ran = _wine(ctx, exe)
    assert re.search(r"Library libwinpthread-1\.dll .* not found", ran), ran

    # Fix 1: link statically, and the import is gone.
    static = project / "static.exe"
    ok = ctx.run(["go", "build", "-o", str(static), "."],
                 env={"GOFLAGS": "-mod=mod", "CGO_LDFLAGS": "-static"})
    assert ok.ok, ok.output
    assert unresolved_dlls(ctx, static)[1] == {}
    # Fix 2: ship the DLL beside the .exe; its own imports are followed (system ones).
    shutil.copy(WINPTHREAD, project / WINPTHREAD.name)
    assert "imports only system DLLs" in str(windows_dlls(ctx, needs))


def _wine(ctx: Context, exe: Path) -> str:
    """What the .exe printed under Wine, in the kit's prefix (made once, then reused)."""
    with session(ctx, wine_prefix(ctx)) as env:
        return ctx.run(["wine", str(exe)], env=env, timeout=300).output


@pytest.mark.slow
@pytest.mark.parametrize("title", [TITLE, ""], ids=["title-set", "title-unset"])
def test_hello_shows_its_window_under_wine_in_a_suite_container(
    pytester: pytest.Pytester, hello: Path, title: str
) -> None:
    """The sample app, cross-built in a network-none trixie container, maps its window
    under that suite's Wine on a private Xvfb there, with a non-blank screenshot. With no
    title set, the window is still the app's own, never Wine's virtual desktop (which
    carries the run token too: before, it was taken, and anything drawn in it passed)."""
    run = run_fynecheck(pytester, hello, "--fynecheck-os=trixie-windows", "-k", "windows",
                        "-o", f"fynecheck_window_title={title}")
    checks = {c["id"]: c for c in run.report["checks"] if c["os"] == "trixie-windows"}
    assert set(checks) >= {"windows.cc", "windows.build", "windows.dlls", "windows.window"}, run
    for check_id in ("windows.cc", "windows.build", "windows.dlls", "windows.window"):
        assert checks[check_id]["status"] == "ok", checks[check_id]
    window = checks["windows.window"]
    assert repr(TITLE) in window["detail"] and "Wine" in window["detail"], window
    # Wine starts app.exe detached (neither the app's descendant nor in its session): it is
    # the app's by the run token it inherited, and the detail says so.
    assert "carries the app's run token" in window["detail"], window
    shot = images.read_png(Path(window["artifacts"]["screenshot"]).read_bytes())
    assert shot.colours(64) >= 8 and min(shot.width, shot.height) >= 32, window
    assert run.ret == 0, run


@pytest.mark.slow
def test_host_wine_shows_hello_or_names_why_it_cannot(
    pytester: pytest.Pytester, hello: Path
) -> None:
    """`--fynecheck-os windows` on the host. Debian 12's Wine 8.0 has no bcryptprimitives.dll,
    which Go >= 1.22's runtime loads (fatal error at start): a real Wine gap, recorded here.
    The kit must say so, with the way out; a Wine >= 9 host shows the window."""
    run = run_fynecheck(pytester, hello, "--fynecheck-os=windows", "-k", "windows.window",
                        "-o", f"fynecheck_window_title={TITLE}")
    window = next(c for c in run.report["checks"] if c["id"] == "windows.window")
    version = wine_version(_windows_ctx(hello, hello))
    if re.match(r"wine-[0-8]\.", version):
        assert window["status"] == "fail", window
        assert "fatal error: bcryptprimitives.dll not found" in window["detail"], window
        assert f"{version} has no bcryptprimitives.dll" in window["detail"], window
        assert "--fynecheck-os trixie-windows" in window["hint"], window
    else:
        assert window["status"] == "ok", window
