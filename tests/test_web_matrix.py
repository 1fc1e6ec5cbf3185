"""The web target is a matrix cell like any other (issue 24): `web` (the host's Chromium) and
`bookworm-web` (a suite container) are planned, sharded, merged, and reported in JSON,
JUnit, pytest-html and the summary page as the host and the suites are. Real runs of the
real checks on the sample app, limited with -k where the whole catalogue is not the point."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import run_fynecheck

from pytest_fynecheck.displays.images import read_png
from pytest_fynecheck.matrix import merge

CELLS = ["host", "web", "bookworm-web"]
OS = "--fynecheck-os=web,bookworm-web"
# The web checks and what they need, and one the host runs too.
CHEAP = "go.version or go.env or project.gomod or web."
WEB_CHECKS = ("web.build", "web.serve", "web.window", "web.drift")


def _matrix(pytester: pytest.Pytester, hello: Path, *args: str) -> list[dict[str, str]]:
    result = pytester.runpytest_subprocess(
        "--fynecheck", f"--fynecheck-project={hello}", "-p", "no:cacheprovider", OS, *args,
        "--fynecheck-matrix-json", timeout=300,
    )
    assert result.ret == 0, result.outlines + result.errlines
    include: list[dict[str, str]] = json.loads(result.outlines[-1])["include"]
    return include


def test_matrix_json_plans_web_cells_with_their_suite_and_target(
    pytester: pytest.Pytester, hello: Path
) -> None:
    include = _matrix(pytester, hello)
    assert [(e["cell"], e["suite"], e["target"], e["shard"]) for e in include] == [
        ("host", "host", "linux", "1/3"),
        ("web", "host", "web", "2/3"),
        # The web variant is the target axis: the job's suite is bookworm, as for windows.
        ("bookworm-web", "bookworm", "web", "3/3"),
    ]


@pytest.mark.slow
def test_a_web_cell_with_a_pinned_go_builds_with_that_toolchain_in_the_container(
    pytester: pytest.Pytester, hello: Path
) -> None:
    """The Go axis crosses the web target too: bookworm-web+go1.24.x switches toolchain from
    the read-only module cache (the container is offline) with GOOS=js GOARCH=wasm."""
    include = _matrix(pytester, hello, "--fynecheck-go=1.24")
    web_cells = [e for e in include if e["target"] == "web"]
    version = web_cells[0]["go"]
    assert version.startswith("go1.24."), include
    assert [e["cell"] for e in web_cells] == [f"web+{version}", f"bookworm-web+{version}"]
    run = run_fynecheck(pytester, hello, "--fynecheck-os=bookworm-web",
                        f"--fynecheck-go={version}", "-k", "go.version or go.env")
    cell = f"bookworm-web+{version}"
    checks = {(c["id"], c["os"]): c for c in run.report["checks"]}
    assert checks[("go.version", cell)]["status"] == "ok", run
    assert checks[("go.version", cell)]["detail"].startswith(f"{version} at "), run
    assert checks[("go.env", cell)]["status"] in ("ok", "warn"), run
    assert {c["os"] for c in run.report["checks"]} == {f"host+{version}", cell}


def _merge_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_fynecheck", "merge", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_web_shards_merge_into_the_unsharded_table(
    pytester: pytest.Pytester, hello: Path, tmp_path: Path
) -> None:
    shards = []
    for i in (1, 2, 3):
        junit = tmp_path / f"junit-{i}.xml"
        run = run_fynecheck(pytester, hello, OS, f"--fynecheck-shard={i}/3", "-k", CHEAP,
                            f"--junitxml={junit}")
        assert run.report.get("checks"), run
        ran = {c["os"] for c in run.report["checks"]}
        assert ran == {CELLS[i - 1]}, run
        assert run.report["matrix"]["cells"] == CELLS and run.report["matrix"]["shard"] == f"{i}/3"
        # JUnit names the cell: classname fynecheck.<cell>, and the cell property.
        for case in ET.parse(junit).iter("testcase"):
            props = {p.get("name"): p.get("value") for p in case.iter("property")}
            if "fynecheck.cell" in props:
                assert props["fynecheck.cell"] == CELLS[i - 1]
                assert case.get("classname") == f"fynecheck.{CELLS[i - 1]}", case.attrib
        dest = tmp_path / f"shard-{i}.json"
        (pytester.path / "fynecheck.json").rename(dest)
        shards.append(dest)
    page = tmp_path / "summary.md"
    done = _merge_cli(*shards, "-o", tmp_path / "merged.json", "--summary", page)
    assert done.returncode in (0, 1), done.stderr  # 1: a check failed somewhere, still merged
    merged = merge.merge([merge.load(p) for p in shards])
    assert merged.cells == CELLS
    assert merged.table() in done.stdout
    web_ids = {r.id for r in merged.results if r.where == "web"}
    assert set(WEB_CHECKS) <= web_ids
    assert web_ids == {r.id for r in merged.results if r.where == "bookworm-web"}
    assert not {r.id for r in merged.results if r.where == "host"} & set(WEB_CHECKS)
    text = page.read_text(encoding="utf-8")
    assert "| check | `host` | `web` | `bookworm-web` |" in text, text

    unsharded = run_fynecheck(pytester, hello, OS, "-k", CHEAP)
    one = merge.merge([merge.load(pytester.path / "fynecheck.json")])
    assert merged.table() == one.table()
    assert {(r.id, r.where): r.status for r in merged.results} == {
        (r.id, r.where): r.status for r in one.results}
    assert (done.returncode == 0) == merged.ready == (unsharded.ret == 0)


@pytest.mark.slow
def test_web_screenshots_reach_junit_html_and_the_summary(
    pytester: pytest.Pytester, hello: Path, tmp_path: Path
) -> None:
    """NEEDS the browser part's web.window (its screenshot artifact)."""
    html, junit, page = tmp_path / "report.html", tmp_path / "junit.xml", tmp_path / "sum.html"
    run = run_fynecheck(pytester, hello, OS, "-k", "web.window", f"--html={html}",
                        "--self-contained-html", f"--junitxml={junit}",
                        f"--fynecheck-summary={page}")
    windows = {c["os"]: c for c in run.report["checks"] if c["id"] == "web.window"}
    assert set(windows) == {"web", "bookworm-web"}, run
    report_html = html.read_text(encoding="utf-8")
    cases = {c.get("name"): c for c in ET.parse(junit).iter("testcase")}
    thumbs = run.report["matrix"]["thumbnails"]
    summary = page.read_text(encoding="utf-8")
    for cell, window in windows.items():
        assert window["status"] == "ok", window
        shot = Path(window["artifacts"]["screenshot"])
        png = shot.read_bytes()
        assert not read_png(png).blank
        # pytest-html: the screenshot itself, inline.
        assert base64.b64encode(png).decode() in report_html
        # JUnit: the property and the attachment line, under the cell's classname.
        case = cases[f"web.window@{cell}"]
        assert case.get("classname") == f"fynecheck.{cell}"
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props["fynecheck.artifact.screenshot"] == str(shot)
        assert props["fynecheck.cell"] == cell and props["fynecheck.status"] == "ok"
        out = case.find("system-out")
        assert out is not None and f"[[ATTACHMENT|{shot}]]" in (out.text or "").splitlines()
        # The summary page: the cell's thumbnail.
        assert thumbs[cell].startswith("data:image/png;base64,") and thumbs[cell] in summary
    assert run.ret == 0, run
