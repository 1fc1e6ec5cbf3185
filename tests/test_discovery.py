"""Project discovery like Go's own, the main package, the build key, and real-app windows.

Each test reshapes a copy of fixtures/hello (or runs fixtures/splash) the way real apps are
laid out, and runs the real plugin on it (pytester, in a subprocess).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.sample import MODULE, ROOT, TITLE

from pytest_fynecheck.displays.images import read_png
from pytest_fynecheck.toolchain.gobuild import KEEP_BUILDS, prune

SPLASH = ROOT / "fixtures" / "splash"


def _move_main(module: Path, *dirs: str) -> None:
    """hello's main package (and its embedded assets) moved to each of `dirs`."""
    for d in dirs:
        (module / d).mkdir(parents=True)
        shutil.copy(module / "main.go", module / d / "main.go")
        shutil.copytree(module / "assets", module / d / "assets")
    (module / "main.go").unlink()
    shutil.rmtree(module / "assets")


def _ok(run: object, *ids: str) -> None:
    for check_id in ids:
        assert run.status(check_id) == "ok", (check_id, run.checks[check_id], run)  # type: ignore[attr-defined]


def test_package_below_the_module_root(pytester: pytest.Pytester, hello: Path) -> None:
    """The project directory is cmd/hello: Go finds go.mod in a parent (fails before: 'there
    is no go.mod')."""
    _move_main(hello, "cmd/hello")
    run = run_fynecheck(pytester, hello / "cmd" / "hello", "-k", "gomod or app")
    assert run.ret == 0, run
    _ok(run, "project.gomod", "app.build", "app.window")
    assert f"module {MODULE} at {hello}" in run.checks["project.gomod"]["detail"]
    assert f"built {MODULE}/cmd/hello" in run.checks["app.build"]["detail"] or (
        "cached build" in run.checks["app.build"]["detail"]
    )


def test_module_root_with_its_main_package_under_cmd(
    pytester: pytest.Pytester, hello: Path
) -> None:
    """The root has no Go files and cmd/hello is the only main package: that one is built."""
    _move_main(hello, "cmd/hello")
    run = run_fynecheck(pytester, hello, "-k", "gomod or app")
    assert run.ret == 0, run
    _ok(run, "project.gomod", "app.build", "app.window")
    assert "./cmd/hello is the only main package" in run.checks["app.build"]["detail"]


def test_several_main_packages_are_listed(pytester: pytest.Pytester, hello: Path) -> None:
    _move_main(hello, "cmd/hello", "cmd/other")
    run = run_fynecheck(pytester, hello, "-k", "gomod or app.build")
    assert run.ret == 1, run
    build = run.checks["app.build"]
    assert build["status"] == "fail"
    assert "the main packages here are:" in build["detail"]
    assert "fynecheck_package = ./cmd/hello" in build["detail"]
    assert "fynecheck_package = ./cmd/other" in build["detail"]
    assert "fynecheck_package = ./cmd/hello" in build["hint"]
    # Chosen, it builds.
    chosen = run_fynecheck(
        pytester, hello, "-k", "app.build", "-o", "fynecheck_package=./cmd/other"
    )
    _ok(chosen, "app.build")


def _library_root(module: Path) -> None:
    """A root package that is a library (like fyne-io/terminal), the app under cmd/hello."""
    _move_main(module, "cmd/hello")
    (module / "greet.go").write_text("// Package greet is a library.\npackage greet\n")


def test_library_root_package_builds_the_only_main(pytester: pytest.Pytester, hello: Path) -> None:
    """Issue 15 item 3. Before: app.build passed (Go wrote an archive), then app.window said
    '…/builds/KEY/app not found on PATH'."""
    _library_root(hello)
    run = run_fynecheck(pytester, hello, "-k", "app")
    assert run.ret == 0, run
    _ok(run, "app.build", "app.window")
    detail = run.checks["app.build"]["detail"]
    assert "is package `greet`, not main; ./cmd/hello is the only main package" in detail
    assert "not found" not in run.checks["app.window"]["detail"]


def test_chosen_library_package_is_named_with_the_main_packages(
    pytester: pytest.Pytester, hello: Path
) -> None:
    _library_root(hello)
    run = run_fynecheck(pytester, hello, "-k", "app", "-o", "fynecheck_package=.")
    assert run.ret == 1, run
    build = run.checks["app.build"]
    assert "is package `greet`, not main, so `go build` makes no program" in build["detail"]
    assert "fynecheck_package = ./cmd/hello" in build["detail"]
    assert run.checks["app.window"]["detail"] == "not run: needs app.build, which failed"


def test_module_in_a_go_work_workspace(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """The project is a go.work directory above the app's module."""
    ws = tmp_path / "workspace"
    shutil.copytree(ROOT / "fixtures" / "hello", ws / "app")
    (ws / "go.work").write_text("go 1.24\n\nuse ./app\n")
    run = run_fynecheck(pytester, ws, "-k", "gomod or app")
    assert run.ret == 0, run
    _ok(run, "project.gomod", "app.build", "app.window")
    assert f"workspace {ws / 'go.work'}" in run.checks["project.gomod"]["detail"]
    assert "./app is the only main package" in run.checks["app.build"]["detail"]


def test_build_key_is_what_go_builds(pytester: pytest.Pytester, hello: Path) -> None:
    """Issue 15 item 2. Files Go does not read (a readiness.json written into the project)
    keep the cached build; a Go file's change does not. Before, every file counted."""
    first = run_fynecheck(pytester, hello, "-k", "app.build")
    _ok(first, "app.build")
    binary = Path(first.checks["app.build"]["artifacts"]["binary"])
    (hello / "readiness.json").write_text('{"ready": true}\n')
    (hello / "NOTES.txt").write_text("not Go's business\n")
    again = run_fynecheck(pytester, hello, "-k", "app.build")
    assert again.checks["app.build"]["detail"].startswith("cached build"), again
    assert again.checks["app.build"]["artifacts"]["binary"] == str(binary)
    main = hello / "main.go"
    main.write_text(main.read_text().replace(TITLE, f"{TITLE} (edited)"))
    edited = run_fynecheck(pytester, hello, "-k", "app.build")
    assert edited.checks["app.build"]["detail"].startswith("built"), edited
    assert edited.checks["app.build"]["artifacts"]["binary"] != str(binary)
    assert (Path(edited.checks["app.build"]["artifacts"]["binary"]).parent / "owner").is_file()


def test_prune_keeps_the_newest_builds_of_one_owner(tmp_path: Path) -> None:
    builds = tmp_path / "builds"
    now = time.time()
    for i, owner in enumerate(["a"] * (KEEP_BUILDS + 2) + ["b"]):
        d = builds / f"key{i}"
        d.mkdir(parents=True)
        (d / "app").write_bytes(b"x")
        (d / "owner").write_text(owner)
        os.utime(d / "app", (now + i, now + i))
    gone = prune(builds, "a")
    assert sorted(p.name for p in gone) == ["key0", "key1"]
    assert sorted(p.name for p in builds.iterdir()) == ["key2", "key3", "key4", "key5"]


def test_splash_app_with_arguments_and_several_windows(pytester: pytest.Pytester) -> None:
    """Several packages with main at the root, a splash first, two windows after it, and a
    required argument (ini fynecheck_app_args). Before: no such ini, so the app exited."""
    args = ("-k", "app", "-o", 'fynecheck_app_args=-title "splash main"')
    run = run_fynecheck(pytester, SPLASH, *args)
    assert run.ret == 0, run
    _ok(run, "app.build", "app.window")
    window = run.checks["app.window"]
    image = read_png(Path(window["artifacts"]["screenshot"]).read_bytes())
    assert not image.blank and image.colours(64) > 4
    # The first new window of the app's own process (its pid, from _NET_WM_PID) counts.
    assert "pid " in window["detail"] and "pid -1" not in window["detail"]

    titled = run_fynecheck(pytester, SPLASH, *args, "-o", "fynecheck_window_title=splash main")
    _ok(titled, "app.window")
    assert "window 'splash main'" in titled.checks["app.window"]["detail"]


def test_app_that_needs_arguments_says_so(pytester: pytest.Pytester) -> None:
    run = run_fynecheck(
        pytester, SPLASH, "-k", "app.window", "-o", "fynecheck_window_timeout=20"
    )
    assert run.ret == 1, run
    window = run.checks["app.window"]
    assert "splash: -title is required" in window["detail"]
    assert "exited with 2 before showing a window" in window["detail"]
    assert "fynecheck_app_args" in window["hint"]
