"""The example workflow's cells, run locally from its own matrix output, merge into the same
table as one unsharded run of the same matrix."""

from __future__ import annotations

import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.env import cache_env
from support.sample import ROOT
from support.workflow import LocalWorkflow, proxy_releases, tool_env

from pytest_fynecheck.matrix import merge
from pytest_fynecheck.toolchain.gotool import version_tuple

WORKFLOW = ROOT / "examples" / "fynecheck-matrix.yml"


@pytest.mark.slow
def test_workflow_cells_merge_into_the_unsharded_table(hello: Path) -> None:
    flow = LocalWorkflow(WORKFLOW, hello, tool_env(cache_env()))
    assert flow.run_job("plan"), flow.steps
    cells = flow.matrix("cell")
    want_go = [v for v in proxy_releases(cache_env()) if version_tuple(v)[:2] == (1, 24)][-1]
    assert [c["cell"] for c in cells] == ["host", f"host+{want_go}"], cells
    assert [c["shard"] for c in cells] == ["1/2", "2/2"]

    # As CI's job matrix does: every cell at once, each in its own job.
    with ThreadPoolExecutor(len(cells)) as pool:
        passed = list(pool.map(lambda ic: flow.run_job("cell", ic[1], ic[0]), enumerate(cells)))
    cell_steps = [s for s in flow.steps if s.job == "cell"]
    assert all(passed), "\n\n".join(s.output[-3000:] for s in cell_steps)
    cell_files = sorted(hello.glob("fynecheck-cell-*.json"))
    assert len(cell_files) == 2

    assert flow.run_job("merge"), flow.steps[-1].output
    merged = merge.merge([merge.load(p) for p in cell_files])
    assert merged.table() in flow.steps[-1].output, flow.steps  # the merge step printed it
    written = merge.load(hello / "fynecheck-matrix.json")
    assert written.cells == ["host", f"host+{want_go}"]

    # One unsharded run of the same axes: the same table, cell by cell.
    axes = flow.env["FYNECHECK_AXES"]
    one = hello / "unsharded.json"
    done = subprocess.run(
        ["pytest", "--fynecheck", *shlex.split(axes), f"--fynecheck-json={one}"],
        cwd=hello, env=tool_env(cache_env()), capture_output=True, text=True, timeout=1500,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    unsharded = merge.merge([merge.load(one)])
    assert merged.table() == unsharded.table()
    assert {(r.id, r.where): r.status for r in merged.results} == {
        (r.id, r.where): r.status for r in unsharded.results
    }
    # The Go axis was real: each cell's go.version names its own toolchain.
    version = {r.where: r.detail for r in merged.results if r.id == "go.version"}
    assert version[f"host+{want_go}"].startswith(want_go + " at ")
    assert not version["host"].startswith(want_go + " at ")
    # Both cells showed the window; the step summary has the table and both thumbnails.
    assert {r.where for r in merged.results if r.id == "app.window" and r.status.value == "ok"} \
        == {"host", f"host+{want_go}"}
    page = flow.summary.read_text(encoding="utf-8")
    assert f"`host+{want_go}`" in page
    assert page.count('<img src="data:image/png;base64,') >= 2

    # A shard's file missing: merge says which, and fails.
    lone = subprocess.run(
        [sys.executable, "-m", "pytest_fynecheck", "merge", str(cell_files[0])],
        capture_output=True, text=True, timeout=60,
    )
    assert lone.returncode == 2
    assert f"no JSON for cell(s) host+{want_go} (shard 2/2)" in lone.stderr
