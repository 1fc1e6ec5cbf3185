"""The test support package keeps its promises: importing conftest runs nothing (collecting
needs no `go`), the warm caches stay where this process started although pytester moves HOME,
and the sample app's facts are what Go reads from its files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import path_without
from support import sample
from support.env import cache, cache_env

from pytest_fynecheck.core.paths import cache_dir


def test_collecting_needs_no_go(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": path_without("go", tmp=tmp_path), "PYTHONPATH": str(sample.ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider",
         "tests/test_support.py"],
        cwd=sample.ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 tests collected" in done.stdout, done.stdout


def test_warm_caches_stay_where_this_process_started(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, env_before = cache(), cache_env()
    # pytester moved HOME here; _warm_caches set XDG_CACHE_HOME back to the warm one.
    assert Path(os.environ["HOME"]) == pytester.path
    assert os.environ["XDG_CACHE_HOME"] == str(before.parent)
    # Asked first now, with HOME moved and nothing else set, they are still the warm ones.
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir().is_relative_to(pytester.path)  # what a late, naive read would give
    cache.cache_clear()
    cache_env.cache_clear()
    assert cache() == before and cache_env() == env_before
    assert not Path(cache_env()["GOCACHE"]).is_relative_to(pytester.path)


def test_sample_facts_are_what_go_reads() -> None:
    done = subprocess.run(
        ["go", "list", "-m", "-f", "{{.Main}} {{.Path}} {{.Version}}", "all"],
        cwd=sample.HELLO, env={**os.environ, **cache_env()},
        capture_output=True, text=True, check=True, timeout=120,
    )
    modules = [line.split(" ") for line in done.stdout.splitlines()]
    assert [path for main, path, _ in modules if main == "true"] == [sample.MODULE]
    assert ["fyne.io/fyne/v2", sample.FYNE_VERSION] in [m[1:] for m in modules]
    assert f'"{sample.TITLE}"' in (sample.HELLO / "main.go").read_text()
