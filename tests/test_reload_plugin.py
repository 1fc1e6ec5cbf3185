"""The reload check as users reach it: option, ini, items, marker, fixture, bad input.
Subprocess runs, as for the watcher plugin (the catalogue registers at import)."""

from __future__ import annotations

import shlex

import pytest
from support.reload import AIR_FIXED, WGO_FIXED, reloader, tool
from support.sample import ROOT

from pytest_fynecheck.reload.tools import TOOLS

FAST_INI = """
[pytest]
fynecheck_reload_max_examples = 1
fynecheck_reload_stateful_step_count = 2
fynecheck_reload_quiet = 0.8
"""


@pytest.fixture
def fast(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(FAST_INI)
    return pytester


def test_option_adds_a_passing_item_and_a_report_row(fast: pytest.Pytester) -> None:
    good = shlex.quote(reloader("good")[0])
    # The = form: a bare path after the option would be taken for a test path when pytest
    # looks for its ini file (before plugins add their options), and the ini be missed.
    result = fast.runpytest_subprocess(f"--fynecheck-reload={good}", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*reload?local? PASSED*", "*reload*[[]local]*",
                                 "*always one app, up to date*"])


def test_items_are_listed_and_deselected_like_any_others(fast: pytest.Pytester) -> None:
    good = shlex.quote(reloader("good")[0])
    fast.makepyfile("def test_plain():\n    assert True\n")
    listed = fast.runpytest_subprocess(f"--fynecheck-reload={good}", "--co", "-q")
    listed.stdout.fnmatch_lines(["*::reload[[]local[]]", "2 tests collected*"])
    chosen = fast.runpytest_subprocess(f"--fynecheck-reload={good}", "-k", "plain")
    chosen.assert_outcomes(passed=1, deselected=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fynecheck-reload", "no-such-reloader-xyz"],
         "*reload command not found: 'no-such-reloader-xyz'*"),
        (["--fynecheck-reload", "air 'unbalanced"], "*reload command*does not parse*"),
        (["--fynecheck-reload", "true", "--fynecheck-reload-mode", "moon"],
         "*unknown reload mode 'moon'*"),
        (["--fynecheck-reload", "true", "--fynecheck-reload-mode", "bind:hamm"],
         "*unknown suite 'hamm'*"),
    ],
)
def test_bad_input_is_one_clear_error(pytester: pytest.Pytester, args: list[str],
                                      message: str) -> None:
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_marker_and_fixture(fast: pytest.Pytester) -> None:
    good = reloader("good")[0]
    fast.makepyfile(
        f"""
        import pytest

        @pytest.mark.fyne_reload(cmd={good!r}, modes="local")
        def test_kit(fyne_reload):
            assert fyne_reload.cmd == {good!r} and fyne_reload.modes == ["local"]

        @pytest.mark.fyne_reload(cmd={good!r})
        def test_checked_before():
            pass
        """
    )
    result = fast.runpytest_subprocess("--strict-markers", "-v")
    result.assert_outcomes(passed=2)


# air debounces 1 s: a quiet time past it.
AIR_INI = FAST_INI.replace("fynecheck_reload_quiet = 0.8", "fynecheck_reload_quiet = 2.0")


@pytest.mark.slow
@pytest.mark.parametrize("cmd", ["air", "wgo run ."])
def test_the_default_run_fails_default_air_and_wgo_on_the_embedded_asset_edit(
    pytester: pytest.Pytester, cmd: str
) -> None:
    """Issue 22 item 4: the default run passed them (a random run rarely ends on an asset
    edit), though README lists their miss of embedded asset edits."""
    pytester.makeini(AIR_INI if cmd == "air" else FAST_INI)
    tool(cmd)  # installed before pytester moves HOME (the kit's cache)
    result = pytester.runpytest_subprocess(f"--fynecheck-reload={cmd}")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "only //go:embed files differ (assets/greeting.txt)" in out, out
    assert "hint: " + TOOLS[cmd.split()[0]].assets_hint in out, out
    assert "1. edit embedded asset assets/greeting.txt" in out, out
    # The asset case failed (and again, on its replay): nothing else ran.
    result.stdout.fnmatch_lines(["exercised: 2 edits of kinds embedded asset edit (2) (never "
                                 "made: broken build then its fix, *), in 2 examples"])


@pytest.mark.slow
@pytest.mark.parametrize("cmd", [AIR_FIXED, WGO_FIXED])
def test_the_default_run_passes_the_fixed_commands_and_says_what_it_exercised(
    pytester: pytest.Pytester, cmd: str
) -> None:
    pytester.makeini(AIR_INI if cmd.startswith("air") else FAST_INI)
    tool(cmd)
    result = pytester.runpytest_subprocess(f"--fynecheck-reload={cmd}")
    result.assert_outcomes(passed=1)
    # Each case that tells the tools apart, at least once, named in the report row.
    result.stdout.fnmatch_lines(["* edits of kinds embedded asset edit (*), broken build then "
                                 "its fix (*), edit during a build (*), atomic save (*), new "
                                 "package (*)*in * examples*always one app, up to date*"])
    assert "never made" not in result.stdout.str()


@pytest.mark.slow
def test_bare_wgo_is_said_to_print_its_usage_and_wgo_run_is_suggested(
    pytester: pytest.Pytester,
) -> None:
    """Issue 22 item 13: bare wgo prints its usage and exits 0; the kit said "never
    started the app after 0 step(s):"."""
    tool("wgo run .")
    result = pytester.runpytest_subprocess("--fynecheck-reload=wgo")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "the tool never started the app:" in out and "after 0 step" not in out, out
    assert "it printed its usage and exited (status 0), running nothing" in out, out
    assert "hint: wgo needs the command it runs and restarts: --fynecheck-reload 'wgo run .'" \
        in out, out


def test_the_reload_help_and_readme_agree_on_where_the_tool_runs(
    pytester: pytest.Pytester,
) -> None:
    """Issue 22 item 13: the help said the tool runs "in the project it reloads"; README
    (and the code) say in a generated probe app."""
    result = pytester.runpytest_subprocess("--help")
    shown = " ".join(result.stdout.str().split())
    assert "--fynecheck-reload=CMD check this hot-reload command, run in a generated probe " \
        "app, not in your project ({root} is the probe's directory)" in shown
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "it runs in a generated probe app (a tiny Go module, no cgo), not in your " \
        "project" in readme
