"""The Go toolchain axis: versions resolved through the module proxy, each cell run with its
own toolchain (on the host and in a suite container), and the go line's minimum enforced by
the toolchain itself."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.env import cache_env
from support.workflow import proxy_releases, tool_env

from pytest_fynecheck.toolchain.gotool import version_tuple


def test_matrix_json_resolves_versions_through_the_proxy(pytester: pytest.Pytester,
                                                         hello: Path) -> None:
    result = pytester.runpytest_subprocess(
        f"--fynecheck-project={hello}", "--fynecheck-go", "1.22, stable,local,1.24.3,1.22",
        "--fynecheck-matrix-json", "-p", "no:cacheprovider", timeout=300,
    )
    assert result.ret == 0, result.outlines
    assert len(result.outlines) == 1  # one line, for $GITHUB_OUTPUT
    include = json.loads(result.outlines[0])["include"]
    releases = proxy_releases(cache_env())
    newest_122 = max((v for v in releases if version_tuple(v)[:2] == (1, 22)), key=version_tuple)
    want = [newest_122, releases[-1], "local", "go1.24.3"]
    assert [e["go"] for e in include] == want
    assert [e["cell"] for e in include] == [
        f"host+{newest_122}", f"host+{releases[-1]}", "host", "host+go1.24.3"
    ]
    assert all(e["toolchains"] == ",".join(want) for e in include)
    assert [e["shard"] for e in include] == ["1/4", "2/4", "3/4", "4/4"]
    assert {(e["suite"], e["target"]) for e in include} == {("host", "linux")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fynecheck-go", "1.x"], "--fynecheck-go: '1.x' is not a Go version"),
        (["--fynecheck-shard", "3/2"], "--fynecheck-shard '3/2': write I/N"),
        (["--fynecheck-go", "go1.24.3,go1.24.4", "--fynecheck-shard", "3/3"],
         "--fynecheck-shard 3/3: the matrix has only 2 cell(s) (host+go1.24.3, host+go1.24.4)"),
        (["--fynecheck-go", "1.99"], "the module proxy has no go1.99 release for this machine"),
    ],
)
def test_bad_matrix_input_is_named(pytester: pytest.Pytester, hello: Path, args: list[str],
                                   message: str) -> None:
    result = pytester.runpytest_subprocess(
        "--fynecheck", f"--fynecheck-project={hello}", "--co", "-p", "no:cacheprovider", *args,
        timeout=300,
    )
    assert result.ret == 4
    assert message in "\n".join(result.errlines)


def test_toolchain_below_the_go_line_fails_in_gos_own_words(pytester: pytest.Pytester,
                                                            hello: Path) -> None:
    """hello's go.mod says go 1.24: the 1.22 cell fails, quoting the toolchain's refusal,
    and a real `go build` with that toolchain refuses with the same line."""
    run = run_fynecheck(pytester, hello, "--fynecheck-go", "1.22",
                        "-k", "go.version or project.gomod")
    assert run.ret == 1, run
    (cell,) = {c["os"] for c in run.report["checks"]}
    version = cell.removeprefix("host+")
    line = f"go: go.mod requires go >= 1.24 (running go {version.removeprefix('go')}; " \
           f"GOTOOLCHAIN={version})"
    go = run.checks["go.version"]
    assert go["status"] == "fail"
    assert line in go["detail"]
    assert f"{version} is below the go directive" in go["hint"]
    assert run.checks["project.gomod"]["hint"].startswith("the Go toolchain is older")

    build = subprocess.run(
        ["go", "build", "-o", "/dev/null", "."], cwd=hello, capture_output=True, text=True,
        timeout=300, env={**tool_env(cache_env()), "GOTOOLCHAIN": version},
    )
    assert build.returncode == 1
    assert build.stderr.strip() == line


@pytest.mark.slow
def test_a_suite_container_cell_runs_its_own_toolchain(pytester: pytest.Pytester,
                                                       hello: Path) -> None:
    """Containers have no network: the host fetches the toolchain, the container's go
    switches to it from the read-only module cache and builds a cgo probe with it."""
    run = run_fynecheck(pytester, hello, "--fynecheck-os", "bookworm", "--fynecheck-go",
                        "1.24", "-k", "go.version or cc.works")
    cells = sorted({c["os"] for c in run.report["checks"]})
    version = cells[0].removeprefix("bookworm+")
    assert version.startswith("go1.24."), cells
    ok = {(c["id"], c["os"]): c for c in run.report["checks"] if c["status"] == "ok"}
    for where in cells:
        assert ("go.version", where) in ok, run
        assert ("cc.works", where) in ok, run
        assert ok[("go.version", where)]["detail"].startswith(f"{version} at ")
    assert cells == [f"bookworm+{version}", f"host+{version}"]


def test_fewer_shards_than_cells_take_slices(pytester: pytest.Pytester, hello: Path) -> None:
    cells = {}
    for i in (1, 2):
        result = pytester.runpytest_subprocess(
            "--fynecheck", f"--fynecheck-project={hello}", "--co", "-q", "-p", "no:cacheprovider",
            "--fynecheck-go", "go1.24.3,go1.24.4,local", f"--fynecheck-shard={i}/2", timeout=300,
        )
        assert result.ret == 0, result.outlines
        ids = [ln.rsplit("::", 1)[-1] for ln in result.outlines if "::fynecheck::" in ln]
        cells[i] = sorted({i.partition("@")[2] or "host" for i in ids})
    assert cells == {1: ["host", "host+go1.24.3"], 2: ["host+go1.24.4"]}
