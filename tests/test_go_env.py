"""go.env with the network off asks Go what the build needs (issue 22 item 3): it passes
whenever `go build` of the app works offline, and fails naming a needed module the module
cache lacks, never one the build does not import (Fyne's wasm-only dependencies)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.env import cache_env
from support.sample import MODULE

# A module of the graph that no package of the build imports, as Fyne's wasm-only ones
# (github.com/fyne-io/gl-js, ...), and that no module cache holds: those are in the warm
# cache once anything downloaded the whole graph, this one never is.
UNIMPORTED = "example.com/wasmonly"
# Imported by Fyne's GLFW driver on Linux: the build cannot do without it.
NEEDED = "github.com/go-gl/glfw/v3.3/glfw"


def _go(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["go", *args], cwd=cwd, env={**os.environ, **cache_env(), **env},
        capture_output=True, text=True, timeout=600,
    )


def test_goproxy_off_passes_when_the_offline_build_works(
    pytester: pytest.Pytester, hello: Path
) -> None:
    offline = {"GOPROXY": "off", "GOFLAGS": "-mod=mod"}
    assert _go(["mod", "edit", f"-require={UNIMPORTED}@v1.0.0"], hello, {}).returncode == 0
    built = _go(["build", "-o", str(pytester.path / "app"), "."], hello, offline)
    assert built.returncode == 0, built.stderr  # the real build works offline
    # ...though the module graph holds a module that is in no cache.
    download = _go(["mod", "download"], hello, offline)
    assert f"{UNIMPORTED}@v1.0.0: module lookup disabled" in download.stderr, download.stderr

    run = run_fynecheck(pytester, hello, "-k", "go.env", env=offline)
    assert run.ret == 0, run
    env = run.checks["go.env"]
    assert env["status"] == "ok", env
    # It says what it asked, and no more.
    said = (f"that the main package {MODULE} needs for linux/amd64 are in the "
            "module cache (`go list -mod=readonly -deps "
            "-json=ImportPath,Dir,Module,Standard,EmbedFiles,Error .` with GOPROXY=off)")
    assert said in env["detail"], env["detail"]
    assert UNIMPORTED not in env["detail"]


@pytest.fixture
def cache_without_glfw(tmp_path: Path, hello: Path) -> Path:
    """A fresh module cache with every module the build needs but the GLFW binding, filled
    from the warm cache's download directory (a file:// proxy, no network)."""
    cache = _fill_cache(tmp_path, hello, skip=NEEDED)
    assert not (cache / "github.com" / "go-gl" / "glfw").exists()
    return cache


def _fill_cache(tmp_path: Path, hello: Path, skip: str | None) -> Path:
    needed = _go(
        ["list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}}"
         "{{end}}{{end}}", "."], hello, {"GOPROXY": "off"},
    )
    assert needed.returncode == 0, needed.stderr
    modules = sorted({m for m in needed.stdout.split() if m})
    assert any(m.startswith(NEEDED + "@") for m in modules), modules
    cache = tmp_path / "modcache"
    warm = Path(cache_env()["GOMODCACHE"]) / "cache" / "download"
    filled = _go(
        ["mod", "download", "-json",
         *(m for m in modules if skip is None or not m.startswith(skip + "@"))],
        hello,
        {"GOMODCACHE": str(cache), "GOPROXY": warm.as_uri(), "GOFLAGS": "-modcacherw"},
    )
    assert filled.returncode == 0, filled.stdout + filled.stderr
    return cache


def test_a_kept_listing_is_not_reused_once_a_module_leaves_the_cache(
    pytester: pytest.Pytester, hello: Path, tmp_path: Path
) -> None:
    """go.env's offline listing is kept (probecache) and reused while the module cache
    holds what it listed; once the GLFW binding is removed from the cache, a reused
    listing would still say every module is there (a false pass): it lists again and
    fails naming the module."""
    cache = _fill_cache(tmp_path, hello, skip=None)
    offline = {"GOPROXY": "off", "GOFLAGS": "-modcacherw", "GOMODCACHE": str(cache)}
    first = run_fynecheck(pytester, hello, "-k", "go.env", env=offline)
    assert first.checks["go.env"]["status"] == "ok", first
    second = run_fynecheck(pytester, hello, "-k", "go.env", env=offline)
    assert second.checks["go.env"]["status"] == "ok", second
    assert "reused from" in second.checks["go.env"]["detail"], second.checks["go.env"]
    # Both its files and its download (Go extracts the zip again on its own, offline).
    shutil.rmtree(next((cache / "github.com" / "go-gl" / "glfw" / "v3.3").glob("glfw@*")))
    shutil.rmtree(cache / "cache" / "download" / NEEDED)
    third = run_fynecheck(pytester, hello, "-k", "go.env", env=offline)
    env = third.checks["go.env"]
    assert env["status"] == "fail" and NEEDED in env["detail"], env
    assert "reused" not in env["detail"]


def test_goproxy_off_names_the_needed_module_the_cache_lacks(
    pytester: pytest.Pytester, hello: Path, cache_without_glfw: Path
) -> None:
    offline = {"GOPROXY": "off", "GOFLAGS": "-mod=mod -modcacherw",
               "GOMODCACHE": str(cache_without_glfw)}
    built = _go(["build", "-o", str(pytester.path / "app"), "."], hello, offline)
    assert built.returncode != 0  # the real build fails too
    assert "module lookup disabled by GOPROXY=off" in built.stderr, built.stderr

    run = run_fynecheck(pytester, hello, "-k", "go.env", env=offline)
    assert run.ret == 1, run
    env = run.checks["go.env"]
    assert env["status"] == "fail", env
    glfw_version = json.loads(
        _go(["list", "-m", "-json", NEEDED], hello, {"GOPROXY": "off"}).stdout
    )["Version"]
    assert env["detail"] == (
        f"GOPROXY=off and 1 module that the main package {MODULE} needs is not in "
        f"the module cache ({cache_without_glfw}): {NEEDED}@{glfw_version}"
    ), env["detail"]
    assert "go mod download" in env["hint"]
