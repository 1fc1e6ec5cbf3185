"""The fyne_app fixture on fixtures/interactive: a real build, real displays, real input
(xdotool), real frames. Each test is a user's test file run through pytester."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from support.sample import ROOT

from pytest_fynecheck.displays import images

INTERACTIVE = ROOT / "fixtures" / "interactive"
# fixtures/interactive's window is 300x150, its three widgets in equal rows.
ENTRY, BUTTON = (150, 25), (150, 75)
LABEL_ROW = (0, 100, 300, 50)


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    """A copy of the interactive sample as the pytest root, as a user's repo would be."""
    for item in INTERACTIVE.iterdir():
        shutil.copy2(item, pytester.path / item.name)
    return pytester.path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.is_file() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


ECHO_TEST = """
import json, pytest

@pytest.mark.fyne_display("xvfb", "weston-x11-xwayland", "weston", "weston-xwayland")
def test_echo(fyne_app, fyne_display, request):
    app = fyne_app()
    app.click({entry[0]}, {entry[1]})  # focus the entry
    app.type("hix")
    app.key("BackSpace")
    app.wait_output('state entry="hi" label=""')
    typed = app.screenshot("typed")
    app.click({button[0]}, {button[1]})
    echoed = app.wait_frame(region={label})
    line = app.wait_output('label="hi"')
    out = {outdir!r} + "/" + request.node.callspec.id + ".json"
    with open(out, "w") as f:
        json.dump({{"pid": app.pid, "server": fyne_display.server.pid, "line": line,
                   "typed": str(typed), "echoed": str(echoed), "backend": app.backend,
                   "size": [app.width, app.height]}}, f)
"""


def test_typing_and_clicking_echo_into_the_label_on_x_displays(
    pytester: pytest.Pytester, project: Path, tmp_path: Path
) -> None:
    pytester.makepyfile(test_user=ECHO_TEST.format(
        entry=ENTRY, button=BUTTON, label=LABEL_ROW, outdir=str(tmp_path)
    ))
    result = pytester.runpytest("-v", "-rs", "-p", "no:xdist")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines_random([
        "*test_echo?xvfb? PASSED*",
        "*test_echo?weston-x11-xwayland? PASSED*",
        "*SKIPPED*input cannot be injected on weston: a Wayland compositor without Xwayland*",
        "*SKIPPED*input cannot be injected on weston-xwayland: weston's headless backend*",
    ])
    seen = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert sorted(seen) == ["weston-x11-xwayland", "xvfb"]
    for kind, run in seen.items():
        # Route 1: the app itself says the label now holds what was typed.
        assert run["line"] == 'state entry="hi" label="hi"', run
        assert run["backend"] == kind and run["size"] == [300, 150]
        # Route 2: what it drew. The label's row was empty and now has the text in it.
        typed = images.read_png(Path(run["typed"]).read_bytes())
        echoed = images.read_png(Path(run["echoed"]).read_bytes())
        before, after = typed.crop(*LABEL_ROW), echoed.crop(*LABEL_ROW)
        assert before.colours(64) == 1, f"{kind}: the label's row was not empty before"
        assert after.colours(64) > 2, f"{kind}: the label's row shows no text after"
        # Nothing of the run is left: the app and the display it ran on.
        assert not _alive(run["pid"]) and not _alive(run["server"]), run


SUITE_ECHO_TEST = """
import json, os, pytest

@pytest.mark.fyne_os("{suite}")
def test_echo(fyne_app, fyne_container):
    text = os.environ.get("ECHO_TYPED", "hi")  # the outer test seeds a change with it
    app = fyne_app()
    app.click({entry[0]}, {entry[1]})
    app.type(text + "x")
    app.key("BackSpace")
    app.wait_output(f'state entry="{{text}}" label=""')
    typed = app.screenshot("typed")
    app.click({button[0]}, {button[1]})
    echoed = app.wait_frame(region={label})
    line = app.wait_output(f'label="{{text}}"')
    # The app runs in the container: its pid is the container's, not the host's.
    ps = fyne_container.run(["ps", "-o", "args=", "-p", str(app.pid)]).stdout
    with open({out!r}, "w") as f:
        json.dump({{"line": line, "typed": str(typed), "echoed": str(echoed),
                   "backend": app.backend, "size": [app.width, app.height],
                   "display": app.display.name, "ps": ps,
                   "container": fyne_container.container}}, f)
    # Route 3: the baseline. The label's row takes the Entry's focus (its caret would
    # blink forever), then the settled window is compared with SUITE-xvfb/echoed.png.
    app.click({label[0]} + {label[2]} // 2, {label[1]} + {label[3]} // 2)
    app.assert_looks_like("echoed")

@pytest.mark.fyne_os("{suite}")
def test_waits_in_vain(fyne_app, fyne_container):
    fyne_app().wait_frame(timeout=1)  # no input: nothing redraws

@pytest.mark.fyne_os("{suite}")
def test_nothing_is_left_in_the_container(fyne_container):
    # The same container, after a passed and a failed fyne_app test: each test's app
    # and Xvfb were stopped at its own teardown.
    ps = fyne_container.run(["ps", "-eo", "args="]).stdout
    assert "/builds/app-" not in ps and "Xvfb" not in ps and "wine" not in ps, ps
"""


def _labelled(pid: int) -> list[str]:
    """The kit's containers that this process's runs started (label io.fynecheck.pid)."""
    from pytest_fynecheck.containers.engine import LABEL_PID

    out = subprocess.run(["docker", "ps", "--all", "--quiet", "--filter",
                          f"label={LABEL_PID}={pid}"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return out.split()


# bookworm: the Linux build; trixie-windows: the .exe under Wine 10 (`wine app.exe`).
@pytest.mark.parametrize("suite", ["bookworm", "trixie-windows"])
def test_the_echo_runs_in_a_suite_container_with_fyne_os(
    pytester: pytest.Pytester, project: Path, tmp_path: Path, suite: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "run.json"
    pytester.makepyfile(test_user=SUITE_ECHO_TEST.format(
        entry=ENTRY, button=BUTTON, label=LABEL_ROW, out=str(out), suite=suite
    ))
    before = set(_labelled(os.getpid()))
    # The first run writes the baseline (--fynecheck-update-baselines) and passes.
    result = pytester.runpytest("-v", "-p", "no:xdist", "-rA", "--fynecheck-update-baselines")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines_random([
        f"*test_echo?{suite}? PASSED*",
        f"*test_nothing_is_left_in_the_container?{suite}? PASSED*",
        f"*no new frame of example.com/interactive's window * on {suite}-xvfb within 1 s*",
    ])
    run = json.loads(out.read_text())
    # Route 1: the app itself says the label now holds what was typed.
    assert run["line"] == 'state entry="hi" label="hi"', run
    assert run["backend"] == f"{suite}-xvfb" and run["size"] == [300, 150], run
    # It was the container's process (its pid answers there), built in the suite
    # image's own build cache, not the host's.
    exe = "/app.exe" if suite.endswith("-windows") else "/app"
    assert f"/containers/fynecheck-{suite}-" in run["ps"] and exe in run["ps"], run
    # Route 2: what it drew, copied back as PNGs: the label's row was empty, now has text.
    typed = images.read_png(Path(run["typed"]).read_bytes())
    echoed = images.read_png(Path(run["echoed"]).read_bytes())
    before_row, after_row = typed.crop(*LABEL_ROW), echoed.crop(*LABEL_ROW)
    assert before_row.colours(64) == 1, "the label's row was not empty before"
    assert after_row.colours(64) > 2, "the label's row shows no text after"
    # Nothing is left: the container (and so the app and its Xvfb in it) is removed.
    assert set(_labelled(os.getpid())) <= before, run
    assert run["container"] not in " ".join(_labelled(os.getpid()))
    # Route 3: the baseline, in the user's repo under the suite's own backend name.
    written = sorted(p.relative_to(project).as_posix()
                     for p in project.glob("tests/fynecheck-baselines/*/*.png"))
    assert written == [f"tests/fynecheck-baselines/{suite}-xvfb/echoed.png"], written
    assert images.read_png((project / written[0]).read_bytes()).crop(*LABEL_ROW).colours(64) > 2
    # Compared, a new launch in a new container draws the same.
    again = pytester.runpytest("-v", "-p", "no:xdist", "-rA", "-k", "test_echo")
    again.assert_outcomes(passed=1)
    # A seeded change (typed "hi!", echoed "hi!") fails, naming the three images.
    monkeypatch.setenv("ECHO_TYPED", "hi!")
    seeded = pytester.runpytest("-v", "-p", "no:xdist", "-rA", "-k", "test_echo")
    seeded.assert_outcomes(failed=1)
    seeded.stdout.fnmatch_lines([
        f"*'echoed' on {suite}-xvfb does not look like its baseline*",
    ])
    diffs = re.findall(r"(/\S+\.diff\.png)", seeded.stdout.str())
    assert diffs and Path(diffs[0]).is_file(), seeded.stdout.str()
    assert set(_labelled(os.getpid())) <= before


def test_a_frame_that_never_changes_fails_with_both_images_and_stops_the_app(
    pytester: pytest.Pytester, project: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    pytester.makepyfile(test_user=f"""
        def test_waits_in_vain(fyne_app, fyne_display):
            app = fyne_app()
            open({str(pid_file)!r}, "w").write(f"{{app.pid}} {{fyne_display.server.pid}}")
            app.wait_frame(timeout=2)  # no input: nothing redraws

        def test_the_caret_is_not_the_label(fyne_app):
            app = fyne_app()
            app.click(*{ENTRY})
            app.type("hi")  # the focused entry's caret animates from now on
            app.wait_output('entry="hi"')
            app.screenshot()
            app.wait_frame(timeout=2)  # it does change: the caret
            app.wait_frame(timeout=2, region={LABEL_ROW})  # the button was never clicked
    """)
    junit = tmp_path / "junit.xml"
    result = pytester.runpytest("-p", "no:xdist", "-rA", f"--junitxml={junit}")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*test_the_caret_is_not_the_label*",
        "*app.wait_frame(timeout=2, region=(0, 100, 300, 50))*",
        "*no new frame of *within region (0, 100, 300, 50) within 2 s*",
    ])
    # Both images are the test case's properties in JUnit, as the kit's screenshots are.
    first = junit.read_text().split("test_the_caret_is_not_the_label")[0]
    props = dict(re.findall(r'<property name="([^"]+)" value="([^"]+)"', first))
    assert sorted(k for k in props if k.startswith("fynecheck.artifact.screenshot-")) == [
        "fynecheck.artifact.screenshot-01-frame-before",
        "fynecheck.artifact.screenshot-02-frame-now",
    ], props
    text = result.stdout.str()
    assert "no new frame of example.com/interactive's window" in text and "within 2 s" in text, text
    shots = [Path(p) for p in
             re.findall(r"(/\S+-frame-(?:before|now)\.png)", text)]
    assert {p.name.split("-", 1)[1] for p in shots} >= {"frame-before.png", "frame-now.png"}
    before, now = (images.read_png(p.read_bytes()) for p in shots[:2])
    assert before == now and not before.blank
    assert "fyne_app images" in text and "[[ATTACHMENT|" in text
    # The app's output is in the failure: its state line.
    assert 'state entry="" label=""' in text
    app_pid, server_pid = map(int, pid_file.read_text().split())
    assert not _alive(app_pid) and not _alive(server_pid)


@pytest.mark.parametrize(
    ("call", "says"),
    [
        ('fyne_app(package="./cmd/nope")',
         ["*fyne_app could not build package './cmd/nope' of *: `go list ./cmd/nope`*"
          "directory not found*"]),
        ('fyne_app(args=["--exit-at-start"])',
         ["*example.com/interactive (the main package of *) showed no window on :* (xvfb)*"
          "the app exited with 3 before showing a window*",
          "*interactive: asked to exit at start*"]),
    ],
    ids=["unknown-package", "exits-at-start"],
)
def test_bad_input_names_what_was_wrong(
    pytester: pytest.Pytester, project: Path, call: str, says: list[str]
) -> None:
    pytester.makepyfile(test_user=textwrap.dedent(f"""
        def test_launch(fyne_app):
            {call}
    """))
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(says)
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*During handling*")


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Testing your app's real window: `fyne_app`", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_runs_as_written(
    pytester: pytest.Pytester, project: Path
) -> None:
    example = _readme_example()
    assert len(example.strip().splitlines()) <= 12
    compare = 'app.assert_looks_like("echoed")'
    assert compare in example
    pytester.makepyfile(test_readme_example=example)
    # The first run writes the baselines (one per display kind); the second compares.
    pytester.runpytest("-v", "-p", "no:xdist", "--fynecheck-update-baselines").assert_outcomes(
        passed=2)
    written = sorted(p.relative_to(pytester.path).as_posix()
                     for p in pytester.path.glob("tests/fynecheck-baselines/*/*.png"))
    assert written == ["tests/fynecheck-baselines/weston-x11-xwayland/echoed.png",
                       "tests/fynecheck-baselines/xvfb/echoed.png"], written
    pytester.runpytest("-v", "-p", "no:xdist").assert_outcomes(passed=2)


def test_args_and_env_reach_the_app_and_two_apps_run_side_by_side(
    pytester: pytest.Pytester, project: Path
) -> None:
    pytester.makepyfile(test_user="""
        def test_two(fyne_app):
            plain = fyne_app()
            told = fyne_app(env={"INTERACTIVE_LABEL": "from env"})
            assert told.wait_output('state entry="" label="from env"')
            assert plain.window_id != told.window_id and plain.pid != told.pid
            assert not any("from env" in line for line in plain.stdout)
    """)
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)


# Fyne's own demo, built from the fyne module the sample requires (v2.7.1): a dialog
# says the demo moved; its OK, then the navigation's "Canvas" item.
DEMO = "fyne.io/fyne/v2/cmd/fyne_demo"
DEMO_OK, DEMO_CANVAS = (320, 279), (60, 88)
DEMO_CONTENT = (180, 0, 460, 420)  # right of the navigation, above the theme buttons


def test_fyne_demo_click_a_tab_changes_the_content(
    pytester: pytest.Pytester, project: Path, tmp_path: Path
) -> None:
    pytester.makepyfile(test_demo=f"""
        def test_tab(fyne_app):
            app = fyne_app(package={DEMO!r}, title="Fyne Demo")
            app.click(*{DEMO_OK})
            app.wait_frame()
            welcome = app.screenshot("welcome")
            app.click(*{DEMO_CANVAS})
            canvas = app.wait_frame(region={DEMO_CONTENT})
            open({str(tmp_path / "shots")!r}, "w").write(f"{{welcome}} {{canvas}}")
            app.assert_looks_like("fyne-demo-canvas")
    """)
    # The kit's own repo keeps this baseline, as a user's would (written once with
    # --fynecheck-update-baselines and looked at: the Canvas page).
    baseline = Path("tests", "fynecheck-baselines", "xvfb", "fyne-demo-canvas.png")
    (pytester.path / baseline).parent.mkdir(parents=True)
    shutil.copy(ROOT / baseline, pytester.path / baseline)
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)
    welcome, canvas = (
        images.read_png(Path(p).read_bytes()).crop(*DEMO_CONTENT)
        for p in (tmp_path / "shots").read_text().split()
    )
    # The content pane shows another page, not a highlight or a caret: most of it changed.
    changed = sum(
        welcome.rgb[i : i + 3] != canvas.rgb[i : i + 3] for i in range(0, len(canvas.rgb), 3)
    )
    assert changed > len(canvas.rgb) // 3 // 10, changed
