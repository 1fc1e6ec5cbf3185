"""The reload check as users reach it: option, ini, items, marker, fixture, bad input.
Subprocess runs, as for the watcher plugin (the catalogue registers at import)."""

from __future__ import annotations

import shlex

import pytest
from reload_support import reloader

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
