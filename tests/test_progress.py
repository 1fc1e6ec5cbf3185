"""Progress on long steps reaches the user through pytest's capture (no -s), with and
without xdist, as plain lines; and the report starts with Go."""

from __future__ import annotations

import os
import re
import threading
import uuid
from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.env import cache_env

from pytest_fynecheck.core import progress
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.progress import GoBuildProgress, Progress, step_name
from pytest_fynecheck.toolchain.gobuild import cached_build

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
    assert any(re.search(r"compiling [a-z][\w.\-/]*( with \w+)? \((\d+ more running; )?"
                         r"\d+ packages? built so far", ln)
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
    lines = Progress(lambda line: written.append((threading.current_thread().name, line)))
    worker = threading.Thread(target=lines, args=("from a pool thread",), name="pool")
    worker.start()
    worker.join()
    assert written == []  # queued: only the main thread may suspend pytest's capture
    lines.flush()
    lines("from the main thread")
    assert written == [
        ("MainThread", "from a pool thread"),
        ("MainThread", "from the main thread"),
    ]


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


def _running_now() -> list[tuple[str, str]]:
    """(cmdline, cwd) of every process below this one (the build's go, its compilers, cgo,
    gcc and cc1), right now: other builds on the machine are not ours."""
    parent: dict[int, int] = {}
    seen: dict[int, tuple[str, str]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue  # ended, or not ours to read
        parent[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        seen[int(proc.name)] = (" ".join(argv), cwd)

    def mine(pid: int) -> bool:
        while pid > 1:
            pid = parent.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    return [seen[pid] for pid in seen if mine(pid)]


_ACTION_DIR = re.compile(r"/go-build\d+/b\d+(?=[/= ]|$)")


def _actions(seen: list[tuple[str, list[tuple[str, str]]]]) -> dict[str, str]:
    """Each $WORK/bNNN directory of the build and its package, as compile (-p) and cgo
    (-importpath, -objdir) name them in any snapshot."""
    found: dict[str, str] = {}
    for _, running in seen:
        for cmdline, _cwd in running:
            named = re.search(r" -(?:p|importpath) (\S+)", cmdline)
            where = _ACTION_DIR.search(cmdline)
            if named and where and named[1] != "main":
                found[where[0]] = named[1]
    return found


def _compiles(package: str, running: list[tuple[str, str]],
              actions: dict[str, str] | None = None) -> bool:
    """Whether one of `running` works on `package`: compile (-p), cgo (-importpath), or a
    C compiler (gcc, cc1) in its $WORK directory or in the package's own directory (a
    module directory: PATH@VERSION/SUB)."""
    for cmdline, cwd in running:
        if f" -p {package} " in cmdline or f" -importpath {package} " in cmdline:
            return True
        if any((actions or {}).get(d) == package for d in _ACTION_DIR.findall(cmdline)):
            return True
        if re.sub(r"@[^/]+", "", cwd).endswith("/" + package) and (
                "-c" in cmdline.split() or "/cc1 " in cmdline):
            return True
    return False


@pytest.mark.slow
def test_a_cold_cgo_build_names_go_gl_while_it_compiles(
    hello: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: for minutes of go-gl's C, progress named the last package done.
    A CGO_CFLAGS of its own makes Go rebuild every cgo package (go-gl, glfw), with the rest
    still cached. Each progress line is checked
    against the processes running at that moment."""
    marker = f"-DFYNECHECK_COLD_{uuid.uuid4().hex}"
    env = {**os.environ, **cache_env(), "CGO_CFLAGS": f"-O2 -g {marker}"}
    ctx = Context(hello, tmp_path, tmp_path / "cache", environ=env, timeout=3600)
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    ctx.progress = lambda line: seen.append((line, _running_now()))
    monkeypatch.setattr(progress, "HEARTBEAT_SECONDS", 0.5)
    built = cached_build(ctx, hello, ".", "app", kind="builds", key_parts=[marker],
                         progress="app.build")
    # Go rebuilds the cgo packages (runtime/cgo, go-gl's two, ...); what imports them is
    # cached still (their export data did not change).
    assert not built.cached and built.compiled >= 2, built
    gl = "github.com/go-gl/gl/v2.1/gl"
    while_gl = [line for line, running in seen if _compiles(gl, running)]
    assert while_gl, [line for line, _ in seen]  # gl's C took long enough to be seen
    named = [line for line in while_gl if f"compiling {gl}" in line]
    assert named, while_gl
    # Every package a line names is compiling then, or within 5 heartbeats (2.5 s) of it:
    # -x says when a command starts, never when it ends, so a package whose short gcc just
    # ended stays named until its next command starts (CI showed such a transition). With
    # -v, lines named glfw for minutes after it was done, while only gl's C compiled.
    actions = _actions(seen)
    for i, (line, _) in enumerate(seen):
        named_now = re.search(r"compiling ([\w.\-/]+)", line)
        if named_now is None or named_now[1] == "main":
            continue
        if not any(_compiles(named_now[1], r, actions) for _, r in seen):
            continue  # ran between two snapshots (os/user's gcc in CI): nothing to judge by
        near = [running for _, running in seen[max(0, i - 5):i + 6]]
        assert any(_compiles(named_now[1], r, actions) for r in near), (line, near)
    # Counts only grow, and end at what the build reports.
    counts = [int(m[1]) for line, _ in seen if (m := re.search(r"(\d+) packages? built", line))]
    assert counts == sorted(counts) and counts[-1] <= built.compiled, counts
    assert any("a cold cgo build of Fyne takes minutes" in line for line, _ in seen)


def test_a_quick_rebuild_says_nothing_of_cold_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that ends in seconds never claims a cold build takes minutes."""
    (tmp_path / "go.mod").write_text("module example.com/quick\n\ngo 1.21\n")
    fresh = uuid.uuid4()  # a main package new to Go's cache
    (tmp_path / "main.go").write_text(f'package main\n\nfunc main() {{ println("{fresh}") }}\n')
    ctx = Context(tmp_path, tmp_path, tmp_path / "cache", environ={**os.environ, **cache_env()})
    said: list[str] = []
    ctx.progress = said.append
    monkeypatch.setattr(progress, "HEARTBEAT_SECONDS", 0.05)
    built = cached_build(ctx, tmp_path, ".", "quick", kind="probes", key_parts=["quick"],
                         progress="app.build")
    assert built.compiled == 1, built  # its main package; the runtime came from Go's cache
    assert said and all("cold" not in line for line in said), said
    assert any("main package ." in line for line in said), said


def test_container_lines_name_their_suite() -> None:
    assert step_name("app.build", "bookworm") == "[bookworm] app.build"
    assert step_name("app.build", "host") == "app.build"


def test_errors_survive_the_command_stream(tmp_path: Path) -> None:
    """-x prints every command; a failed build's detail holds Go's errors only."""
    (tmp_path / "go.mod").write_text("module example.com/broken\n\ngo 1.21\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() { undefinedThing() }\n")
    ctx = Context(tmp_path, tmp_path, tmp_path / "cache", environ={**os.environ, **cache_env()})
    with pytest.raises(CheckFailed) as failed:
        cached_build(ctx, tmp_path, ".", "broken", kind="probes", key_parts=["broken"],
                     progress="app.build")
    assert failed.value.detail.endswith(
        "failed:\n# example.com/broken\n./main.go:3:15: undefined: undefinedThing"
    ), failed.value.detail
