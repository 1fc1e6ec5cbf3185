"""Screenshots in the reports people open: pytest-html, JUnit XML, the summary page."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import run_fynecheck

from pytest_fynecheck.displays.images import read_png
from pytest_fynecheck.matrix import merge


@pytest.mark.slow
def test_screenshot_reaches_html_junit_and_the_summaries(pytester: pytest.Pytester,
                                                         hello: Path, tmp_path: Path) -> None:
    html, junit = tmp_path / "report.html", tmp_path / "junit.xml"
    page, step = tmp_path / "summary.html", tmp_path / "step-summary.md"
    step.write_text("earlier step's summary\n")
    run = run_fynecheck(
        pytester, hello, "-k", "app.window", f"--html={html}", "--self-contained-html",
        f"--junitxml={junit}", f"--fynecheck-summary={page}",
        env={"GITHUB_STEP_SUMMARY": str(step)},
    )
    assert run.ret == 0, run
    shot = Path(run.checks["app.window"]["artifacts"]["screenshot"])
    png = shot.read_bytes()
    assert not read_png(png).blank

    # pytest-html: the screenshot itself, inline.
    assert base64.b64encode(png).decode() in html.read_text(encoding="utf-8")

    # JUnit: properties and an [[ATTACHMENT|path]] line in the test case's system-out.
    case = next(c for c in ET.parse(junit).iter("testcase") if c.get("name", "").startswith(
        "app.window"))
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["fynecheck.artifact.screenshot"] == str(shot)
    assert props["fynecheck.cell"] == "host"
    assert props["fynecheck.status"] == "ok"
    assert json.loads(props["fynecheck_result"] or "")["id"] == "app.window"
    out = case.find("system-out")
    assert out is not None and out.text is not None
    assert f"[[ATTACHMENT|{shot}]]" in out.text.splitlines()

    # The summary page and the step summary (appended to): table, thumbnail, verdict.
    thumb = run.report["matrix"]["thumbnails"]["host"]
    assert thumb.startswith("data:image/png;base64,")
    small = read_png(base64.b64decode(thumb.split(",", 1)[1]))
    assert small.width == 160 and not small.blank
    text = page.read_text(encoding="utf-8")
    assert "<h2>fynecheck matrix: ready" in text and thumb in text
    summary = step.read_text(encoding="utf-8")
    assert summary.startswith("earlier step's summary\n## fynecheck matrix: ready")
    assert "| `app.window` | ✓ |" in summary and thumb in summary
    # The run's own JSON merges on its own into the same verdict.
    assert merge.merge([merge.load(pytester.path / "fynecheck.json")]).ready


@pytest.mark.slow
def test_attachment_lines_ride_in_captured_stdout_when_junit_logs_it(
        pytester: pytest.Pytester, hello: Path, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    run = run_fynecheck(pytester, hello, "-k", "app.window", f"--junitxml={junit}",
                        "-o", "junit_logging=system-out")
    assert run.ret == 0, run
    shot = run.checks["app.window"]["artifacts"]["screenshot"]
    case = next(c for c in ET.parse(junit).iter("testcase") if c.get("name", "").startswith(
        "app.window"))
    outs = case.findall("system-out")
    assert len(outs) == 1  # one system-out, as the JUnit schema has it
    assert f"[[ATTACHMENT|{shot}]]" in (outs[0].text or "")
