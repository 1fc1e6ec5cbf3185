"""The one cached Go build (gobuild.cached_build), with the real Go tool: keyed by content,
safe when xdist workers race, Go's errors once each with the caller's hint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_fynecheck.context import Context
from pytest_fynecheck.gobuild import cached_build, go_sources
from pytest_fynecheck.model import CheckFailed

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
    assert [p.name for p in exe.parent.iterdir()] == ["hi"]  # no temp file left behind


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
