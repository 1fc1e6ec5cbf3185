"""fyne.cli against a real fyne.io/tools CLI, and the one CLI/library break it warns about."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import path_without, run_fynecheck

from pytest_fynecheck.core.paths import cache_dir

TOOLS_VERSION = "v1.7.4"


@pytest.fixture(scope="session")
def fyne_bin() -> Path:
    """The real CLI, installed once into the kit's cache (a few seconds warm, ~15 s cold)."""
    gobin = cache_dir() / "tools" / f"fyne-{TOOLS_VERSION}"
    if not (gobin / "fyne").is_file():
        subprocess.run(
            ["go", "install", f"fyne.io/tools/cmd/fyne@{TOOLS_VERSION}"],
            env={**os.environ, "GOBIN": str(gobin), "GOFLAGS": "-mod=mod"},
            check=True,
            timeout=900,
        )
    return gobin


def test_fyne_cli_on_path_with_a_recent_library(
    pytester: pytest.Pytester, hello: Path, fyne_bin: Path
) -> None:
    path = f"{fyne_bin}{os.pathsep}{os.environ['PATH']}"
    run = run_fynecheck(pytester, hello, "-k", "fyne.cli", env={"PATH": path})
    cli = run.checks["fyne.cli"]
    assert cli["status"] == "ok", cli
    assert f"cli {TOOLS_VERSION}" in cli["detail"] and "v2.7.1: compatible" in cli["detail"]


def test_fyne_cli_installed_but_not_on_path(
    pytester: pytest.Pytester, hello: Path, fyne_bin: Path
) -> None:
    path = path_without("fyne", tmp=pytester.path)
    run = run_fynecheck(
        pytester, hello, "-k", "fyne.cli", env={"PATH": path, "GOBIN": str(fyne_bin)}
    )
    cli = run.checks["fyne.cli"]
    assert cli["status"] == "warn"
    assert f"installed at {fyne_bin / 'fyne'}" in cli["detail"]
    assert f'export PATH="$PATH:{fyne_bin}"' in cli["hint"]


def test_fyne_cli_warns_with_a_library_older_than_v2_6(
    pytester: pytest.Pytester, hello: Path, fyne_bin: Path
) -> None:
    subprocess.run(
        ["go", "mod", "edit", "-require=fyne.io/fyne/v2@v2.5.5"], cwd=hello, check=True, timeout=60
    )
    subprocess.run(["go", "mod", "tidy"], cwd=hello, check=True, timeout=600)
    path = f"{fyne_bin}{os.pathsep}{os.environ['PATH']}"
    run = run_fynecheck(pytester, hello, "-k", "fyne.cli", env={"PATH": path})
    cli = run.checks["fyne.cli"]
    assert cli["status"] == "warn"
    assert "v2.5.5" in cli["detail"] and "unknown field Migrations" in cli["detail"]
    assert run.ret == 0  # optional check: a warning does not fail the run


METADATA_USER = """package main

import "fyne.io/fyne/v2"

// What fyne.io/tools' fyne_metadata_init.go template sets.
var _ = fyne.AppMetadata{ID: "x", Migrations: map[string]bool{"fyneDo": true}}

func main() {}
"""


@pytest.mark.parametrize(("library", "compiles"), [("v2.5.5", False), ("v2.7.1", True)])
def test_claim_tools_metadata_needs_fyne_2_6(
    tmp_path: Path, fyne_bin: Path, library: str, compiles: bool
) -> None:
    """NOTES §5.5: the only real CLI/library break is generated metadata on libraries < v2.6."""
    gomodcache = subprocess.run(
        ["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    template = Path(
        gomodcache,
        f"fyne.io/tools@{TOOLS_VERSION}/cmd/fyne/internal/templates/data/fyne_metadata_init.got",
    )
    assert "Migrations:" in template.read_text()

    (tmp_path / "go.mod").write_text(
        f"module example.com/meta\n\ngo 1.21\n\nrequire fyne.io/fyne/v2 {library}\n"
    )
    (tmp_path / "main.go").write_text(METADATA_USER)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    subprocess.run(["go", "mod", "tidy"], cwd=tmp_path, env=env, check=True, timeout=600)
    # The root fyne package needs no cgo, so this type-checks the literal in seconds.
    done = subprocess.run(
        ["go", "vet", "."], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    if compiles:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode != 0
        assert "unknown field Migrations" in done.stderr
