"""The one cached Go build (gobuild.cached_build), with the real Go tool: keyed by content,
safe when xdist workers race, Go's errors once each with the caller's hint."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_fynecheck.core import reaper
from pytest_fynecheck.core.context import Context, wait_until
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.toolchain.gobuild import (
    LOCK_NAME,
    KeyLock,
    cached_build,
    go_sources,
    prune,
    sweep,
)

MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("%s") }\n'
ENV = {"GOWORK": "off", "GOFLAGS": "-buildvcs=false", "CGO_ENABLED": "0"}


@pytest.fixture
def module(tmp_path: Path) -> Path:
    mod = tmp_path / "hi"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/hi\n\ngo 1.21\n")
    (mod / "main.go").write_text(MAIN % "one")
    return mod


def _build(module: Path, cache: Path, tags: tuple[str, ...] = ()) -> tuple[Path, bool]:
    ctx = Context(module, module, cache, timeout=300)
    built = cached_build(
        ctx, module, ".", "hi", kind="go", key_parts=go_sources(module, module), env=ENV,
        tags=tags,
    )
    return built.path, built.cached


def _says(exe: Path) -> str:
    return subprocess.run([exe], capture_output=True, text=True, timeout=30).stdout.strip()


def test_built_once_per_content(module: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, cached = _build(module, cache)
    assert not cached and _says(first) == "one"
    assert first.parent.parent == cache / "go" and first.parent.name.startswith("hi-")
    again, cached = _build(module, cache)
    assert cached and again == first
    tagged, cached = _build(module, cache, ("sometag",))
    assert not cached and tagged != first  # tags are part of the key
    (module / "main.go").write_text(MAIN % "two")
    edited, cached = _build(module, cache)
    assert not cached and edited != first and _says(edited) == "two"
    assert _says(first) == "one"  # the old build is left whole


RACE = """
import json, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_gobuild import _build
path, cached = _build(Path({module!r}), Path({cache!r}))
print(json.dumps([str(path), cached]))
"""


def test_racing_processes_both_end_with_a_good_binary(module: Path, tmp_path: Path) -> None:
    """Two processes (as two xdist workers would) build the same program at once: each
    gets the one path, and it holds a whole binary."""
    script = RACE.format(tests=str(Path(__file__).parent), module=str(module),
                         cache=str(tmp_path / "cache"))
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    paths = {json.loads(out)[0] for out in outs}
    assert len(paths) == 1, outs
    exe = Path(paths.pop())
    assert _says(exe) == "one"
    # No temp file left behind; the locks stay (removed with their build).
    assert sorted(p.name for p in exe.parent.iterdir()) == [".inuse", ".lock", "hi"]


def test_go_errors_once_each_with_the_callers_hint(module: Path, tmp_path: Path) -> None:
    """Two uses of one undefined name: Go says it twice, the message once (gotool's
    dedupe), with where the second one is."""
    (module / "main.go").write_text(
        "package main\n\nfunc main() {\n\tmissing()\n\tmissing()\n}\n"
    )
    ctx = Context(module, module, tmp_path / "cache", timeout=300)
    with pytest.raises(CheckFailed) as failed:
        cached_build(ctx, module, ".", "hi", kind="go", key_parts=[b"x"], env=ENV,
                     hint=lambda err: f"fix it ({err.count('undefined')} error)")
    detail = failed.value.detail
    assert detail.startswith(f"`go build .` in {module} failed:\n"), detail
    assert "./main.go:4:2: undefined: missing" in detail, detail
    assert "(the same error 1 more time(s), at ./main.go:5:2)" in detail, detail
    assert failed.value.hint == "fix it (1 error)"
    assert not list((tmp_path / "cache" / "go").glob("*/hi*"))  # nothing half made


def test_a_package_that_is_not_main_is_named(module: Path, tmp_path: Path) -> None:
    (module / "main.go").write_text("package hi\n\nfunc Hi() {}\n")
    ctx = Context(module, module, tmp_path / "cache", timeout=300)
    with pytest.raises(CheckFailed, match=r"wrote no executable: \. is not a main package"):
        cached_build(ctx, module, ".", "hi", kind="go", key_parts=[b"lib"], env=ENV)


def test_four_racing_processes_build_a_key_once(module: Path, tmp_path: Path) -> None:
    """Issue 22 item 18. Fails before the lock: each of the four ran its own `go build`
    of the same key (4 of 4 said built)."""
    script = RACE.format(tests=str(Path(__file__).parent), module=str(module),
                         cache=str(tmp_path / "cache"))
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outs
    assert len({path for path, _ in outs}) == 1, outs
    assert sorted(cached for _, cached in outs) == [False, True, True, True], outs
    assert _says(Path(outs[0][0])) == "one"


def test_a_build_held_too_long_by_another_is_a_clear_failure(
    module: Path, tmp_path: Path
) -> None:
    """The waiter gives up after its timeout, naming the key, the lock and its holder."""
    cache = tmp_path / "cache"
    exe, _ = _build(module, cache)
    exe.unlink()  # as if the other run were still building it
    fd = os.open(exe.parent / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"pid 4242\n")
        ctx = Context(module, module, cache, timeout=300)
        with pytest.raises(CheckFailed) as failed:
            cached_build(ctx, module, ".", "hi", kind="go", key_parts=go_sources(module, module),
                         env=ENV, timeout=1)
    finally:
        os.close(fd)
    assert failed.value.detail.startswith(f"waited 1 s for another build of go/{exe.parent.name}")
    assert f"lock {exe.parent / LOCK_NAME}, held by pid 4242" in failed.value.detail
    assert not exe.exists()


def _fake_build(root: Path, name: str, size: int, used: float) -> Path:
    """A build directory as cached_build leaves it: NAME-KEY/NAME, last used at `used`."""
    build = root / f"{name}-{os.urandom(10).hex()}"
    build.mkdir(parents=True)
    (build / name).write_bytes(b"\0" * size)
    os.utime(build / name, (used, used))
    return build


def test_the_cache_is_bounded_for_all_projects_least_recently_used_first(
    tmp_path: Path,
) -> None:
    """Issue 22 item 17: one bound over every kind and image; a build in the making is
    neither removed nor emptied."""
    cache = tmp_path / "cache"
    now = time.time()
    old = _fake_build(cache / "builds", "app", 400, now - 300)
    busy = _fake_build(cache / "builds", "app", 400, now - 400)
    probe = _fake_build(cache / "drift-builds", "probe", 400, now - 200)
    boxed = _fake_build(cache / "containers" / "img-1" / "builds", "app", 400, now - 100)
    new = _fake_build(cache / "builds", "app", 400, now)
    held = KeyLock.try_acquire(busy)
    assert held is not None
    try:
        swept = sweep(cache, limit=1300)
    finally:
        held.release()
    assert (old.exists(), probe.exists(), boxed.exists(), new.exists(), busy.exists()) == (
        False, False, True, True, True)
    assert (swept.removed, swept.builds, swept.size) == (2, 3, 1200)


def test_a_build_a_run_holds_is_kept_by_sweep_and_prune_until_it_ends(
    module: Path, tmp_path: Path
) -> None:
    """Issue 23: a build is held from cached_build's return until its context closes
    (the run's end). Before, a sweep removed the app a run was about to start."""
    cache = tmp_path / "cache"
    ctx = Context(module, module, cache, timeout=300)
    built = cached_build(ctx, module, ".", "hi", kind="go", key_parts=[b"held"], env=ENV)
    other, _ = _build(module, cache)  # made and let go: its context is gone
    swept = sweep(cache, limit=1)
    assert (swept.removed, swept.busy, swept.builds) == (1, 1, 1)
    assert built.path.exists() and not other.exists()
    assert prune(built.path.parent.parent, "x", keep=0) == []  # no owner: kept
    (built.path.parent / "owner").write_text("x")
    assert prune(built.path.parent.parent, "x", keep=0) == [] and built.path.exists()
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(3):  # asked again: held once
        cached_build(ctx, module, ".", "hi", kind="go", key_parts=[b"held"], env=ENV)
    assert len(os.listdir("/proc/self/fd")) == fds
    # A held build whose binary went (by hand) is built again, not waited for.
    built.path.unlink()
    again = cached_build(ctx, module, ".", "hi", kind="go", key_parts=[b"held"], env=ENV)
    assert not again.cached and _says(again.path) == "one"
    ctx.close()
    swept = sweep(cache, limit=1)
    assert (swept.removed, swept.busy, swept.builds) == (1, 0, 0) and not again.path.exists()


KILLED = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_gobuild import ENV, go_sources, cached_build, Context
module = Path({module!r})
cached_build(Context(module, module, Path({cache!r}), timeout=600), module, ".", "hi",
             kind="go", key_parts=go_sources(module, module), env={{**ENV, "GOFLAGS": {flags!r}}})
"""


def test_a_killed_runs_build_is_ended_and_its_temp_file_removed(
    module: Path, tmp_path: Path
) -> None:
    """Issue 22 item 17. A SIGKILLed run's `go build` lives on in its own process group
    and writes `.NAME.<owner>.tmp` later (31 MB for an app): the next sweep ends it, since
    its owner is provably gone, and removes what it wrote."""
    cache = tmp_path / "cache"
    exe, _ = _build(module, cache)
    exe.unlink()
    # A run that starts the build, then is SIGKILLed while `go build` runs (held by a
    # toolexec that waits, so the kill is surely mid-build).
    wait = tmp_path / "wait.sh"
    wait.write_text("#!/bin/sh\nsleep 600\nexec \"$@\"\n")
    wait.chmod(0o755)
    script = KILLED.format(tests=str(Path(__file__).parent), module=str(module),
                           cache=str(cache), flags=f"-buildvcs=false -a -toolexec={wait}")
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL)
    try:
        def building() -> list[int]:
            return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                    and str(cache / "go").encode() in _cmdline(p)]  # its GOFLAGS: its own key
        assert wait_until(building, 120, 0.1), "the build never started"
        orphans = building()
    finally:
        run.kill()
        run.wait()
    assert all(reaper.process_start_time(pid) for pid in orphans), "killed with its run"
    (exe.parent / f".hi.{run.pid}-1-{reaper.pid_namespace()}.1.tmp").write_bytes(b"x" * 99)
    sweep(cache)
    assert not [pid for pid in orphans if reaper.process_start_time(pid)], "build left running"
    assert not list(cache.rglob("*.tmp")), "a killed build's temp file is left"


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


CGO_MAIN = """package main

// #define STR2(x) #x
// #define STR(x) STR2(x)
// static const char *value(void) { return STR(VALUE); }
import "C"

import "fmt"

var stamp = "none"

func main() { fmt.Println(C.GoString(C.value()), stamp) }
"""


@pytest.mark.parametrize(
    ("first", "second", "says"),
    [
        ({"CGO_CFLAGS": "-DVALUE=one"}, {"CGO_CFLAGS": "-DVALUE=two"}, "two none"),
        ({"CGO_CPPFLAGS": "-DVALUE=one"}, {"CGO_CPPFLAGS": "-DVALUE=two"}, "two none"),
        (
            {"CGO_CFLAGS": "-DVALUE=v", "GOFLAGS": "-buildvcs=false"},
            {"CGO_CFLAGS": "-DVALUE=v", "GOFLAGS": "-buildvcs=false -ldflags=-X=main.stamp=B"},
            "v B",
        ),
    ],
    ids=["CGO_CFLAGS", "CGO_CPPFLAGS", "GOFLAGS"],
)
def test_what_the_compiler_and_linker_are_told_is_in_the_key(
    module: Path, tmp_path: Path, first: dict[str, str], second: dict[str, str], says: str
) -> None:
    """A cached binary built with other C flags or Go flags is another program: reusing it
    would pass app.build on a build that never ran (the key held only GOOS, GOARCH,
    CGO_ENABLED and the toolchain)."""
    (module / "main.go").write_text(CGO_MAIN)
    cache = tmp_path / "cache"
    ctx = Context(module, module, cache, timeout=300)

    def build(extra: dict[str, str]) -> Path:
        env = {**ENV, "CGO_ENABLED": "1", **extra}
        return cached_build(ctx, module, ".", "hi", kind="go",
                            key_parts=go_sources(module, module), env=env).path

    assert _says(build(first)) != says
    assert _says(build(second)) == says
