"""`python -m pytest_fynecheck merge`: bad inputs are named, and nothing is merged twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_fynecheck


def merge_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_fynecheck", "merge", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def test_merge_names_bad_input(pytester: pytest.Pytester, hello: Path, tmp_path: Path) -> None:
    # Two real shards of a two-cell matrix (cheap checks only), and one plain run.
    shards = []
    for i in (1, 2):
        run = run_fynecheck(pytester, hello, "--fynecheck-go", "local,1.24",
                            f"--fynecheck-shard={i}/2", "-k", "go.version")
        assert run.ret == 0, run
        dest = tmp_path / f"shard-{i}.json"
        (pytester.path / "fynecheck.json").rename(dest)
        shards.append(dest)
    plain = tmp_path / "plain.json"
    assert run_fynecheck(pytester, hello, "-k", "go.version").ret == 0
    (pytester.path / "fynecheck.json").rename(plain)

    done = merge_cli(*shards, "-o", tmp_path / "merged.json")
    assert done.returncode == 0, done.stderr
    cell = next(ln for ln in done.stdout.splitlines() if ln.startswith("check")).split()
    assert cell[0] == "check" and cell[1] == "host" and cell[2].startswith("host+go1.24.")
    # The merged file merges again into the same table.
    again = merge_cli(tmp_path / "merged.json")
    assert again.returncode == 0 and again.stdout.splitlines()[:4] == done.stdout.splitlines()[:4]

    twice = merge_cli(shards[0], shards[0], shards[1])
    assert twice.returncode == 2
    assert f"cell host is in both {shards[0]} and {shards[0]}" in twice.stderr
    other = merge_cli(shards[0], plain)
    assert other.returncode == 2 and "come from different matrices" in other.stderr
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    bad = merge_cli(shards[0], junk)
    assert bad.returncode == 2 and f"{junk} is not a --fynecheck-json file" in bad.stderr
    gone = merge_cli(tmp_path / "nope.json")
    assert gone.returncode == 2 and "cannot read" in gone.stderr
    usage = subprocess.run([sys.executable, "-m", "pytest_fynecheck"], capture_output=True,
                           text=True, timeout=60)
    assert usage.returncode == 2 and "usage: python -m pytest_fynecheck merge" in usage.stderr
