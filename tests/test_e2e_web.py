"""The fyne_app fixture's web backend (the fyne_web marker) on fixtures/interactive: the
app built for js/wasm, drawn by real headless Chromium, driven through Selenium. Each
test is a user's test file run through pytester."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from support.sample import ROOT

from pytest_fynecheck.displays import images

INTERACTIVE = ROOT / "fixtures" / "interactive"

WEB_TEST = """
import json, pytest

@pytest.mark.fyne_web
def test_echo(fyne_app):
    app = fyne_app()
    # Fyne's web window fills the page: the three rows split the canvas's height.
    w, h = app.width, app.height
    label = (0, 2 * h // 3, w, h // 3)
    app.click(w // 2, h // 6)  # focus the entry
    app.type("hix")
    app.key("BackSpace")
    app.wait_output('state entry="hi" label=""')
    typed = app.screenshot("typed")
    app.click(w // 2, h // 2)  # Echo
    echoed = app.wait_frame(region=label)
    line = app.wait_output('state entry="hi" label="hi"')
    with open({out!r}, "w") as f:
        json.dump({{"pid": app.pid, "line": line, "typed": str(typed),
                   "echoed": str(echoed), "backend": app.backend, "label": label,
                   "stdout": app.stdout}}, f)

@pytest.mark.fyne_web
def test_waits_in_vain(fyne_app):
    fyne_app().wait_frame(timeout=2)  # no input: nothing redraws

@pytest.mark.fyne_web
def test_args_do_not_reach_a_page(fyne_app):
    fyne_app(args=["--exit-at-start"])
"""


def _group_alive(pgid: int) -> list[int]:
    """Processes still in the process group the probe led (Chromium, chromedriver)."""
    left = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            left.append(int(entry))
    return left


def test_typing_and_clicking_echo_into_the_label_in_headless_chromium(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    for item in INTERACTIVE.iterdir():
        shutil.copy2(item, pytester.path / item.name)
    out = tmp_path / "run.json"
    pytester.makepyfile(test_user=WEB_TEST.format(out=str(out)))
    result = pytester.runpytest("-v", "-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random([
        "*test_echo PASSED*",
        "*no new frame of * on chromium within 2 s*",
        "*a js/wasm app in the kit's page gets no arguments or environment*",
    ])
    run = json.loads(out.read_text())
    # Route 1: Go's stdout, which under js/wasm reaches the browser console.
    assert run["line"] == 'state entry="hi" label="hi"', run
    assert 'state entry="" label=""' in run["stdout"], run["stdout"]
    assert run["backend"] == "chromium"
    # Route 2: what Chromium drew. The label's row was empty and now has the text in it.
    typed = images.read_png(Path(run["typed"]).read_bytes())
    echoed = images.read_png(Path(run["echoed"]).read_bytes())
    before, after = typed.crop(*run["label"]), echoed.crop(*run["label"])
    assert before.colours(64) == 1, "the label's row was not empty before"
    assert after.colours(64) > 2, "the label's row shows no text after"
    # Nothing of the run is left: the probe, and Chromium and chromedriver in its group.
    assert not _group_alive(run["pid"]), _group_alive(run["pid"])
