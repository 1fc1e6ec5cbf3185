"""Progress on long steps reaches the user through pytest's capture (no -s), with and
without xdist, as plain lines; and the report starts with Go."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from conftest import run_fynecheck

from pytest_fynecheck.progress import GoBuildProgress, Progress

# A small cgo program that pulls in a slice of the standard library: with an empty
# GOCACHE, `go build` compiles runtime/cgo, text/template, encoding/json, ... for seconds.
SLOW_MAIN = """package main

/*
static int answer(void) { return 42; }
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"text/template"
)

func main() {
	out, _ := json.Marshal(int(C.answer()))
	fmt.Println(string(out), template.HTMLEscapeString("<ok>"))
}
"""


@pytest.fixture
def cgo_app(hello: Path) -> Path:
    """fixtures/hello's go.mod (so project.gomod passes) around a non-Fyne cgo main."""
    for go_file in hello.glob("*.go"):
        go_file.unlink()
    (hello / "main.go").write_text(SLOW_MAIN)
    return hello


def _progress_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(r"fynecheck( \[gw\d+\])?: ", line)]


@pytest.mark.slow
def test_cold_build_progress_is_shown_without_s_with_and_without_xdist(
    pytester: pytest.Pytester, cgo_app: Path, tmp_path: Path
) -> None:
    cold = {"GOCACHE": str(tmp_path / "gocache"), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    # app.window would wait for a window this program never opens.
    run = run_fynecheck(pytester, cgo_app, "-k", "not app.window", env=cold)
    assert run.ret == 0, run
    assert run.status("app.build") == "ok", run.checks["app.build"]
    built = re.search(r"\((\d+) packages compiled\)", run.checks["app.build"]["detail"])
    assert built and int(built[1]) > 3, run.checks["app.build"]  # really a cold build

    out = run.result.stdout.str()
    lines = _progress_lines(out)
    compiling = [line for line in lines if "app.build: compiling " in line]
    assert compiling, out
    # What is compiled, by import path (the first may be a std one like `encoding`); a
    # plain line of its own (no carriage returns).
    assert any(re.search(r"compiling [a-z][\w.\-/]* \(\d+ packages? so far", ln)
               for ln in compiling), compiling
    assert "\r" not in out
    for line in compiling:
        assert line.startswith("  fynecheck: app.build: "), line
    # The report starts with Go, whichever module was imported first.
    report = out[out.index("= fynecheck ="):]
    first = re.findall(r"^\[.\] (\S+):", report, re.M)
    assert first[:4] == ["go.version", "go.env", "cgo.enabled", "project.gomod"], first

    # Under xdist: a new key (another package path) relinks; the worker's lines reach the
    # controller's stderr, marked with the worker.
    (cgo_app / "cmd" / "other").mkdir(parents=True)
    (cgo_app / "cmd" / "other" / "main.go").write_text(SLOW_MAIN)
    pytester.makeini("[pytest]\nfynecheck_package = ./cmd/other\n")
    run2 = run_fynecheck(pytester, cgo_app, "-k", "not app.window", "-n", "2",
                         env=cold, xdist=True)
    assert run2.ret == 0, run2
    assert run2.status("app.build") == "ok", run2.checks["app.build"]
    worker_lines = [
        line for line in _progress_lines(run2.result.stderr.str())
        if re.match(r"  fynecheck \[gw\d\]: app\.build: compiling ", line)
    ]
    assert worker_lines, run2.result.stderr.str()


def test_lines_from_threads_are_written_by_the_main_thread_only() -> None:
    written: list[tuple[str, str]] = []
    progress = Progress(lambda line: written.append((threading.current_thread().name, line)))
    worker = threading.Thread(target=progress, args=("from a pool thread",), name="pool")
    worker.start()
    worker.join()
    assert written == []  # queued: only the main thread may suspend pytest's capture
    progress.flush()
    progress("from the main thread")
    assert written == [
        ("MainThread", "from a pool thread"),
        ("MainThread", "from the main thread"),
    ]


def test_heartbeat_repeats_the_latest_package_while_go_is_quiet() -> None:
    said: list[str] = []
    build = GoBuildProgress(said.append, "app.build")
    with build.running(every=0.05):
        build.on_line("runtime/cgo")
        build.on_line("# a note with spaces is not a package")
        build.on_line("github.com/go-gl/glfw/v3.3/glfw")
        deadline = time.monotonic() + 10
        while len(said) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert said[0].startswith("app.build: compiling runtime/cgo (1 package so far")
    assert "compiling github.com/go-gl/glfw/v3.3/glfw (2 packages so far" in said[-1]
    assert build.compiled == ["runtime/cgo", "github.com/go-gl/glfw/v3.3/glfw"]


def test_module_downloads_are_named_too() -> None:
    said: list[str] = []
    listing = GoBuildProgress(said.append, "project.gomod")
    # Go's own wording (see tests/test_module_proxy.py for a real one).
    listing.on_line("go: downloading fyne.io/fyne/v2 v2.7.1")
    listing.on_line("go: downloading github.com/go-gl/gl v0.0.0-20231021071112-07e5d0ea2e71")
    assert len(said) == 1
    assert said[0].startswith("project.gomod: downloading fyne.io/fyne/v2 v2.7.1 (1 module so far")
    assert listing.status().startswith(
        "project.gomod: downloading github.com/go-gl/gl v0.0.0-20231021071112-07e5d0ea2e71 "
        "(2 modules so far"
    )
    assert listing.compiled == []
