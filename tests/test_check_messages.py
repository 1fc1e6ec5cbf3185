"""Issue 22 item 6: a check whose requirement failed is reported as not run, naming the
requirement, and is no second failure; go.version names Fyne's version even when Fyne is
the main module or replaced; counts read right ("1 package compiled")."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import run_fynecheck

from pytest_fynecheck.core.context import Context, ToolMissing

BROKEN_MAIN = """package main

import "fyne.io/fyne/v2/app"

func main() {
	a := app.New()
	a.NoSuchMethod() // a type error: go list accepts it, only the compiler does not
}
"""


@pytest.fixture
def broken(hello: Path) -> Path:
    (hello / "main.go").write_text(BROKEN_MAIN)
    return hello


def test_glibc_portability_is_not_run_when_app_build_fails(
    pytester: pytest.Pytester, broken: Path
) -> None:
    run = run_fynecheck(pytester, broken, "-k", "app.build or glibc")
    assert run.ret == 1, run
    assert run.status("app.build") == "fail", run.checks["app.build"]
    assert "NoSuchMethod" in run.checks["app.build"]["detail"]
    glibc = run.checks["glibc.portability"]
    assert glibc["status"] == "not run", glibc
    assert glibc["detail"] == "not run: needs app.build, which failed"
    assert glibc["hint"] == "fix app.build first"
    # One failure, not two: pytest skips the item that did not run, and says why.
    assert run.result.parseoutcomes() == {"failed": 1, "skipped": 1, "deselected": 14}, run
    out = run.result.stdout.str()
    assert "NOT READY: 1 required check(s) failed, 1 not run (" in out, out
    assert "[○] glibc.portability: " in out, out
    assert run.report["ready"] is False


def test_a_check_not_run_fails_in_place_of_its_deselected_requirement(
    pytester: pytest.Pytester, broken: Path
) -> None:
    """-k leaves app.build out: nothing else would fail, so glibc.portability does (a skip
    would be a green run that checked nothing)."""
    run = run_fynecheck(pytester, broken, "-k", "glibc")
    assert run.ret == 1, run
    assert run.result.parseoutcomes() == {"failed": 1, "deselected": 15}, run
    assert run.checks["glibc.portability"]["detail"] == "not run: needs app.build, which failed"
    assert "NOT READY: 1 not run (" in run.result.stdout.str()
    assert run.report["ready"] is False


def test_not_run_names_the_failed_check_down_the_chain(
    pytester: pytest.Pytester, hello: Path
) -> None:
    run = run_fynecheck(pytester, hello, "--fynecheck-display=host", "-k",
                        "display.x11 or gl.context or app.window", env={"DISPLAY": ":97"})
    assert run.ret == 1, run
    assert run.status("display.x11") == "fail"
    assert run.checks["gl.context"]["detail"] == "not run: needs display.x11, which failed"
    assert run.checks["app.window"]["detail"] == (
        "not run: needs gl.context, which was not run (display.x11 failed)"
    )
    assert run.checks["app.window"]["hint"] == "fix display.x11 first"
    assert run.result.parseoutcomes() == {"failed": 1, "skipped": 2, "deselected": 13}, run


def _fyne_dir(hello: Path) -> Path:
    done = subprocess.run(["go", "list", "-m", "-json", "fyne.io/fyne/v2"], cwd=hello,
                          capture_output=True, text=True, check=True, timeout=120)
    return Path(json.loads(done.stdout)["Dir"])


def test_go_version_names_fyne_when_it_is_the_main_module(
    pytester: pytest.Pytester, hello: Path
) -> None:
    demo = _fyne_dir(hello) / "cmd" / "fyne_demo"  # read-only: only go.version runs
    run = run_fynecheck(pytester, demo, "-k", "go.version")
    assert run.ret == 0, run
    detail = run.checks["go.version"]["detail"]
    assert "; fyne.io/fyne/v2 (the main module) needs go 1.19;" in detail, detail
    assert "  needs" not in detail


def test_go_version_names_fyne_and_its_replacement(
    pytester: pytest.Pytester, hello: Path
) -> None:
    fyne = _fyne_dir(hello)
    subprocess.run(["go", "mod", "edit", f"-replace=fyne.io/fyne/v2={fyne}"], cwd=hello,
                   check=True, timeout=60)
    run = run_fynecheck(pytester, hello, "-k", "go.version")
    assert run.ret == 0, run
    detail = run.checks["go.version"]["detail"]
    assert f"; fyne.io/fyne/v2 v2.7.1 => {fyne} needs go 1.19;" in detail, detail


def test_one_package_compiled_reads_right(pytester: pytest.Pytester, hello: Path) -> None:
    """A main that imports nothing, new to Go's cache: go builds that one package."""
    for go_file in hello.glob("*.go"):
        go_file.unlink()
    (hello / "main.go").write_text(
        f'package main\n\nfunc main() {{ println("{uuid.uuid4()}") }}\n'
    )
    run = run_fynecheck(pytester, hello, "-k", "app.build")
    assert run.ret == 0, run
    detail = run.checks["app.build"]["detail"]
    assert re.search(r"\(1 package compiled\)", detail), detail


def test_a_missing_file_run_by_path_is_not_told_to_install_it(tmp_path: Path) -> None:
    """A path is run as given, never looked up on PATH. Before: a cached app removed after
    its build read '`…/builds/app-KEY/app` not found on PATH', fix 'install …/app and put
    it on PATH': false advice for a file the kit builds."""
    ctx = Context(tmp_path, tmp_path, tmp_path, timeout=60)
    gone = tmp_path / "builds" / "app-0123" / "app"
    with pytest.raises(ToolMissing) as caught:
        ctx.run([str(gone)])
    assert caught.value.detail == (
        f"`{gone}` not found in {ctx.name}: no executable file at that path"
    )
    assert "install" not in caught.value.hint and "PATH" not in caught.value.hint
    plain = tmp_path / "not-executable"
    plain.write_text("#!/bin/sh\n")
    with pytest.raises(ToolMissing, match="no executable file at that path"):
        ctx.run([str(plain)])
    # A bare name is still looked up on PATH, and its message names PATH.
    with pytest.raises(ToolMissing, match=f"`fyne-nonexistent` not found on PATH in {ctx.name}"):
        ctx.run(["fyne-nonexistent"])
