"""Probe results kept across runs (toolchain/probecache), with real gcc, pkg-config and Go:
C probes are compiled once and reused, Go's package listing is listed once and reused,
and neither ever hides an input that changed or vanished (a false pass)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from conftest import run_fynecheck

from pytest_fynecheck.core.context import Completed, Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.toolchain.cprobe import c_program, compile_probe
from pytest_fynecheck.toolchain.gotool import MainPackage, json_stream, main_package, package_deps
from pytest_fynecheck.toolchain.probecache import RACY_SECONDS, Reused


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    """A host context whose pkg-config knows one private module, `probedep`, with its
    header in a directory the test may change."""
    include = tmp_path / "include"
    include.mkdir()
    (include / "probedep.h").write_text("#define PROBEDEP 1\n")
    pc = tmp_path / "pc"
    pc.mkdir()
    (pc / "probedep.pc").write_text(
        f"Name: probedep\nDescription: test\nVersion: 1.0\nCflags: -I{include}\nLibs: -lm\n"
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, "PKG_CONFIG_PATH": str(pc)}
    time.sleep(2 * RACY_SECONDS)  # older than the compile that keeps them (probecache)
    return Context(tmp_path, scratch, tmp_path / "cache", environ=env, timeout=120)


SOURCE = c_program(["probedep.h", "math.h"], "return PROBEDEP == 1 && cos(0.0) == 1.0 ? 0 : 1;")


def _built(exe: Path) -> tuple[int, int]:
    st = exe.stat()
    return st.st_ino, st.st_mtime_ns


def test_probe_is_reused_until_a_header_changes_or_vanishes(ctx: Context) -> None:
    first = compile_probe(ctx, "dep-probe", ["probedep"], SOURCE)
    assert ctx.run([str(first)]).ok
    assert first.is_relative_to(ctx.cache)
    built = _built(first)
    again = compile_probe(ctx, "dep-probe", ["probedep"], SOURCE)
    assert again == first and _built(again) == built  # not compiled again

    header = ctx.project / "include" / "probedep.h"
    time.sleep(0.01)  # a distinct mtime even on coarse clocks
    header.write_text("#define PROBEDEP 1\n/* changed */\n")
    changed = compile_probe(ctx, "dep-probe", ["probedep"], SOURCE)
    assert changed == first and _built(changed) != built  # compiled again
    assert ctx.run([str(changed)]).ok

    header.unlink()
    with pytest.raises(CheckFailed, match="does not compile and link") as failed:
        compile_probe(ctx, "dep-probe", ["probedep"], SOURCE)
    assert "probedep.h" in failed.value.detail


def test_other_source_or_flags_get_their_own_probe(ctx: Context) -> None:
    one = compile_probe(ctx, "dep-probe", ["probedep"], SOURCE)
    other = compile_probe(ctx, "dep-probe", ["probedep"], SOURCE + "\n/* another */\n")
    assert one.parent != other.parent
    assert ctx.run([str(one)]).ok and ctx.run([str(other)]).ok


# -- a C probe's compiler and pkg-config file are in its key ---------------------------------


def test_probe_compiles_again_for_another_compiler(ctx: Context, tmp_path: Path) -> None:
    """CC names another compiler (a wrapper around the same gcc): the probe built with the
    first is not taken for the second's."""
    first = compile_probe(ctx, "dep-probe", ["probedep"], SOURCE)
    built = _built(first)
    wrapper = tmp_path / "bin" / "mycc"
    wrapper.parent.mkdir()
    wrapper.write_text('#!/bin/sh\nexec gcc "$@"\n')
    wrapper.chmod(0o755)
    other = Context(ctx.project, ctx.scratch, ctx.cache, timeout=120,
                    environ={**ctx.environ, "CC": str(wrapper)})
    again = compile_probe(other, "dep-probe", ["probedep"], SOURCE)
    assert again.parent != first.parent and again.is_file()
    assert _built(first) == built  # the first compiler's probe is still its own
    assert compile_probe(ctx, "dep-probe", ["probedep"], SOURCE) == first


def test_probe_compiles_again_when_its_pc_file_changes(ctx: Context) -> None:
    """A .pc file whose flags change (here a define the source tests) is a new key: the
    probe built with the old flags would prove nothing about the new ones."""
    source = c_program(["probedep.h"], "#ifndef PROBEDEP_EXTRA\nreturn 3;\n#endif\nreturn 0;")
    first = compile_probe(ctx, "extra-probe", ["probedep"], source)
    assert ctx.run([str(first)]).returncode == 3
    pc = ctx.project / "pc" / "probedep.pc"
    pc.write_text(pc.read_text().replace("Cflags: ", "Cflags: -DPROBEDEP_EXTRA "))
    again = compile_probe(ctx, "extra-probe", ["probedep"], source)
    assert again.parent != first.parent
    assert ctx.run([str(again)]).ok


# -- Go's package listing (project.gomod, app.build's key) -----------------------------------


def _listing(project: Path, cache: Path, **env: str) -> Completed:
    """`go list -deps` of the project, from a fresh context (its memo is per run)."""
    scratch = cache.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    ctx = Context(project, scratch, cache, environ={**os.environ, **env}, timeout=300)
    done = package_deps(ctx, ".")
    assert done.ok, done.stderr
    return done


def _imports(done: Completed) -> set[str]:
    return {p["ImportPath"] for p in json_stream(done.stdout)}


def _settled(project: Path, cache: Path, **env: str) -> Completed:
    """A listing kept and then reused: what changes next is all that changed."""
    time.sleep(2 * RACY_SECONDS)  # the files are older than the run that keeps them
    kept = _listing(project, cache, **env)
    again = _listing(project, cache, **env)
    assert isinstance(again, Reused), "an unchanged project's listing was not reused"
    assert again.stdout == kept.stdout and "reused from" in again.note()
    return again


def test_listing_is_not_reused_once_an_input_changes(hello: Path, tmp_path: Path) -> None:
    """Each input of the listing changed in turn: go.mod, go.sum, a Go file's imports, a
    new Go file, GOFLAGS and the Go version. Each time the listing runs again, and says
    what is true now: a reused one would not (a false pass downstream)."""
    cache = tmp_path / "cache"
    main_go = hello / "main.go"

    _settled(hello, cache)
    gomod = hello / "go.mod"
    gomod.write_text(gomod.read_text() + "\n// edited\n")
    assert not isinstance(_listing(hello, cache), Reused)

    _settled(hello, cache)
    gosum = hello / "go.sum"
    gosum.write_text(gosum.read_text() + "\n")
    assert not isinstance(_listing(hello, cache), Reused)

    before = _settled(hello, cache)
    assert "container/ring" not in _imports(before)
    main_go.write_text(main_go.read_text().replace("import (", 'import (\n\t_ "container/ring"',
                                                   1))
    edited = _listing(hello, cache)
    assert not isinstance(edited, Reused) and "container/ring" in _imports(edited)

    before = _settled(hello, cache)
    assert "encoding/csv" not in _imports(before)
    (hello / "extra.go").write_text('package main\n\nimport _ "encoding/csv"\n')
    added = _listing(hello, cache)
    assert not isinstance(added, Reused) and "encoding/csv" in _imports(added)

    _settled(hello, cache)
    assert not isinstance(_listing(hello, cache, GOFLAGS="-tags=fynecheck_other"), Reused)

    mine = _settled(hello, cache)
    other = _listing(hello, cache, GOTOOLCHAIN="go1.25.0")  # cached in the module cache
    assert not isinstance(other, Reused)
    assert other.stdout != mine.stdout  # its standard library lives in its own GOROOT


def test_listing_is_not_reused_when_a_package_directory_goes(hello: Path, tmp_path: Path) -> None:
    """A module the listing names vanishes from where it was (here a local replace of
    the app's own package, removed): the listing runs again and fails, as Go does now."""
    lib = hello / "lib"
    lib.mkdir()
    (lib / "go.mod").write_text("module example.com/lib\n\ngo 1.24\n")
    (lib / "lib.go").write_text("package lib\n\nconst Name = \"lib\"\n")
    gomod = hello / "go.mod"
    gomod.write_text(gomod.read_text() + "\nrequire example.com/lib v0.0.0\n\n"
                     "replace example.com/lib => ./lib\n")
    main_go = hello / "main.go"
    main_go.write_text(main_go.read_text().replace("import (", 'import (\n\t_ "example.com/lib"',
                                                   1))
    cache = tmp_path / "cache"
    assert "example.com/lib" in _imports(_settled(hello, cache))
    shutil.rmtree(lib)
    scratch = tmp_path / "scratch"
    ctx = Context(hello, scratch, cache, environ=dict(os.environ), timeout=300)
    gone = package_deps(ctx, ".")
    assert not isinstance(gone, Reused) and not gone.ok


def test_project_gomod_says_its_listing_was_reused(pytester: pytest.Pytester, hello: Path) -> None:
    """Through the plugin: the second warm run's project.gomod names the reuse and its
    time; after go.mod changes the run lists again and says nothing of reuse."""
    time.sleep(2 * RACY_SECONDS)
    first = run_fynecheck(pytester, hello, "-k", "project.gomod")
    assert first.status("project.gomod") == "ok", first
    assert "reused" not in first.checks["project.gomod"]["detail"]
    second = run_fynecheck(pytester, hello, "-k", "project.gomod")
    detail = second.checks["project.gomod"]["detail"]
    assert second.status("project.gomod") == "ok", second
    assert re.search(r"`go list -deps` reused from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", detail), detail
    gomod = hello / "go.mod"
    gomod.write_text(gomod.read_text() + "\n// edited\n")
    third = run_fynecheck(pytester, hello, "-k", "project.gomod")
    assert third.status("project.gomod") == "ok", third
    assert "reused" not in third.checks["project.gomod"]["detail"]


def _main(project: Path, cache: Path) -> MainPackage:
    scratch = cache.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    return main_package(Context(project, scratch, cache, environ=dict(os.environ), timeout=300))


def test_main_package_is_not_reused_once_it_is_no_longer_main(
    hello: Path, tmp_path: Path
) -> None:
    """main_package's listing is kept once it names a main package; after the package
    clause changes, the kept answer would still say main (and app.build would build a
    library): it is listed again and says what is true."""
    cache = tmp_path / "cache"
    time.sleep(2 * RACY_SECONDS)
    assert _main(hello, cache).import_path == "example.com/hello"
    (kept,) = (cache / "probes" / "host" / "run").glob("go-list-main-*/inputs.json")
    assert str(hello / "main.go") in json.loads(kept.read_text())["inputs"]
    assert _main(hello, cache).import_path == "example.com/hello"  # from the kept listing
    main_go = hello / "main.go"
    main_go.write_text(main_go.read_text().replace("package main", "package hello", 1))
    with pytest.raises(CheckFailed, match=r"not main|no main package"):
        _main(hello, cache)
