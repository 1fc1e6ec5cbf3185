"""Issue 23, one report: the header line says what the run is (project, contexts, Go and
Fyne versions, the Hypothesis seed), and one terminal summary shows every section, the
kit's and a third-party plugin's (`pytest_fynecheck_report_sections`), once, with or
without xdist. Runs go through `runpytest_subprocess`, as users start them."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import run_fynecheck

# A third-party plugin: a conftest beside the tests implements the hookspec. Every call
# is logged, so the test sees where and how often the kit asks.
PLUGIN = '''
import os
from pathlib import Path

from pytest_fynecheck.core.report import Section


def pytest_fynecheck_report_sections(config):
    where = getattr(config, "workerinput", {}).get("workerid", "controller")
    with open(Path(__file__).parent / "calls.log", "a") as log:
        log.write(where + "\\n")
    return [
        Section("acme licences", ["acme: 3 licences checked", "acme: all permissive"],
                json={"acme": {"licences": 3}}),  # a list will do
        Section("acme first", ("acme: before the checks",), order=5),
        Section("acme silent"),  # no lines: nothing shown
        Section("", json={"ready": False, "checks": []}),  # no plugin writes the verdict
    ]


def pytest_unconfigure(config):
    # Which plugins implement the summary hook in this process: the kit has one.
    hook = config.pluginmanager.hook.pytest_terminal_summary
    mine = [i.plugin_name for i in hook.get_hookimpls()
            if getattr(i.plugin, "__name__", "").startswith("pytest_fynecheck")]
    where = getattr(config, "workerinput", {}).get("workerid", "controller")
    with open(Path(__file__).parent / "summaries.log", "a") as log:
        log.write(f"{where} {' '.join(mine)}\\n")
'''


def _go(project: Path, *args: str) -> str:
    """The oracle: Go itself, in the project, with the environment the run has."""
    done = subprocess.run(["go", *args], cwd=project, capture_output=True, text=True,
                          check=True, timeout=120)
    return done.stdout.strip()


@pytest.mark.parametrize("xdist", [False, True], ids=["one-process", "n2"])
def test_header_names_project_contexts_go_and_fyne(
    pytester: pytest.Pytester, hello: Path, xdist: bool
) -> None:
    go = _go(hello, "version").split()[2]  # "go version go1.26.8 linux/amd64"
    fyne = _go(hello, "list", "-m", "fyne.io/fyne/v2").split(maxsplit=1)[1]
    extra = ("-n", "2") if xdist else ()
    run = run_fynecheck(pytester, hello, "-k", "go.version", *extra, xdist=xdist)
    assert run.ret == 0, run
    want = f"fynecheck: project {hello}; contexts host; Go {go} (host); Fyne {fyne}"
    lines = run.result.outlines
    assert lines.count(want) == 1, run  # the controller's, never a worker's
    # In the header, as pytest-randomly's line: before the first result.
    assert lines.index(want) < next(i for i, ln in enumerate(lines) if "rootdir:" in ln), run
    # No Hypothesis in this run (no watcher, no reload): no seed named.
    assert "Hypothesis" not in run.result.stdout.str(), run


def test_header_says_why_fyne_is_unknown(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A Go module without Fyne: Go's own words, not a made-up version."""
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "go.mod").write_text("module example.com/plain\n\ngo 1.21\n")
    run = run_fynecheck(pytester, plain, "-k", "go.version")
    go = _go(plain, "version").split()[2]
    refused = subprocess.run(["go", "list", "-m", "fyne.io/fyne/v2"], cwd=plain,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0, refused
    said = refused.stderr.splitlines()[0].removeprefix("go: ")  # "module …: not a known …"
    want = f"fynecheck: project {plain}; contexts host; Go {go} (host); Fyne unknown ({said})"
    assert want in run.result.outlines, run


@pytest.mark.parametrize("xdist", [False, True], ids=["one-process", "n2"])
def test_a_plugins_section_is_in_the_one_summary_once(
    pytester: pytest.Pytester, hello: Path, xdist: bool
) -> None:
    pytester.makeconftest(PLUGIN)
    extra = ("-n", "2") if xdist else ()
    run = run_fynecheck(pytester, hello, "-k", "go.version or go.env", *extra, xdist=xdist)
    assert run.ret == 0, run
    out = run.result.stdout.str()
    # Each rule once: one summary, not one per process.
    rules = re.findall(r"^=+ (.+?) =+$", out, re.M)
    kit = [r for r in rules if "fynecheck" in r or "acme" in r]
    # Ordered: `order=5` before the checks (20), the default (50) after them.
    assert kit == ["acme first", "fynecheck", "acme licences"], rules
    run.result.stdout.fnmatch_lines([
        "*= acme first =*", "acme: before the checks",
        "*= fynecheck =*", "[[]✓[]] go.version: Go version",
        "*", "*", "ready: every required check passed (2 ok)", "fynecheck: build cache *",
        "fynecheck: JSON written to *",
        "*= acme licences =*", "acme: 3 licences checked", "acme: all permissive",
    ])
    assert "acme silent" not in out
    # Asked once, by the process that prints the summary.
    assert (pytester.path / "calls.log").read_text().split() == ["controller"]
    # The JSON gains the plugin's key and keeps every one it had.
    assert run.report["acme"] == {"licences": 3}, run.report
    assert {"checks", "ready", "interrupted", "build_cache"} <= set(run.report), run.report
    assert [c["id"] for c in run.report["checks"]] == ["go.version", "go.env"]
    assert run.report["ready"] is True, run.report
    # One pytest_terminal_summary in the whole kit, in each process.
    summaries = (pytester.path / "summaries.log").read_text().splitlines()
    assert len(summaries) == (3 if xdist else 1), summaries
    assert {s.split(" ", 1)[1] for s in summaries} == {"pytest_fynecheck.run.report"}, summaries


def _drawn_with(pytester: pytest.Pytester, name: str, *args: str) -> tuple[str, str]:
    """A user's Hypothesis test in a run that checks a watcher (deselected: only the seed
    matters): what the header says, and what the test drew."""
    drawn = pytester.path / f"{name}.drawn"
    mp = pytest.MonkeyPatch()
    mp.setenv("DRAWN", str(drawn))
    mp.delenv("CI", raising=False)  # Hypothesis's `ci` profile derandomizes: no seed
    try:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--fynecheck-watcher", f"{pytester.path / 'watch'} {{root}}",
            "-k", "draw", *args, timeout=300)
    finally:
        mp.undo()
    assert result.ret == 0, result.outlines
    (line,) = [ln for ln in result.outlines if ln.startswith("fynecheck: ")]
    return line, drawn.read_text()


def test_the_headers_hypothesis_seed_repeats_the_run(pytester: pytest.Pytester) -> None:
    watch = pytester.path / "watch"
    watch.write_text("#!/bin/sh\nexit 0\n")
    watch.chmod(0o755)
    pytester.makepyfile(test_user='''
import os
from hypothesis import given, strategies as st

@given(st.integers())
def test_draw(x):
    with open(os.environ["DRAWN"], "a") as f:
        f.write(f"{x}\\n")
''')
    # The controller picks the seed and the workers use it.
    header, first = _drawn_with(pytester, "first", "-n", "2")
    seed = re.fullmatch(r"fynecheck: Hypothesis seed (\d+) \(--hypothesis-seed=\1 repeats it\)",
                        header)
    assert seed, header
    # Its --hypothesis-seed repeats the run, without xdist too.
    again_header, again = _drawn_with(pytester, "again", "-p", "no:xdist",
                                      f"--hypothesis-seed={seed[1]}")
    assert again_header == header
    assert again == first
    # A run without it has its own seed: not fixed by the kit.
    other_header, other = _drawn_with(pytester, "other", "-p", "no:xdist")
    assert other_header != header and other != first, other_header


def test_a_derandomized_profile_is_named_instead_of_a_seed(pytester: pytest.Pytester) -> None:
    watch = pytester.path / "watch"
    watch.write_text("#!/bin/sh\nexit 0\n")
    watch.chmod(0o755)
    mp = pytest.MonkeyPatch()
    mp.setenv("CI", "true")  # Hypothesis then loads its `ci` profile: derandomize=True
    try:
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--fynecheck-watcher", f"{watch} {{root}}", "--co")
    finally:
        mp.undo()
    result.stdout.fnmatch_lines(["fynecheck: Hypothesis derandomized (profile 'ci'): no seed"])


def test_json_keeps_its_shape(pytester: pytest.Pytester, hello: Path) -> None:
    """The JSON of a run without plugins: the keys it always had, in the kit's words."""
    run = run_fynecheck(pytester, hello, "-k", "go.version")
    assert run.ret == 0, run
    want = ["checks", "ready", "interrupted", "matrix", "build_cache"]
    assert list(run.report) == want, run.report
    assert json.loads(json.dumps(run.report)) == run.report
