"""C probes are compiled once and reused by content, with real gcc and pkg-config: the
cache never hides a header or library that changed or vanished."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.toolchain.cprobe import c_program, compile_probe


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
