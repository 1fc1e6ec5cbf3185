"""The watcher check as users reach it: options, ini, items, marker, fixture, xdist.

Runs go through `runpytest_subprocess`: the readiness catalogue registers its checks at
import, which an in-process rerun (pytester restores sys.modules) would repeat."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from support.watcher import broken, reference

FAST_INI = """
[pytest]
fynecheck_watcher_max_examples = 6
fynecheck_watcher_stateful_step_count = 12
"""


@pytest.fixture
def fast(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(FAST_INI)
    return pytester


def test_option_adds_a_passing_local_item(fast: pytest.Pytester) -> None:
    ref = shlex.quote(str(reference()))
    result = fast.runpytest_subprocess("--fynecheck-watcher", f"{ref} {{root}}", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*watcher?local? PASSED*", "*[[]✓] watcher [[]local]*", "*every change reported*"]
    )


def test_a_watcher_only_run_prints_no_checks_by_os_table(fast: pytest.Pytester) -> None:
    # A watcher's mode (local) is where it ran, not an OS: no "checks by OS" with a local column.
    ref = shlex.quote(str(reference()))
    result = fast.runpytest_subprocess("--fynecheck-watcher", f"{ref} {{root}}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*[[]✓] watcher [[]local]*"])
    result.stdout.no_fnmatch_line("*checks by OS*")
    result.stdout.no_fnmatch_line("*local*✓*")  # the old table's row: check name, then a mark


def test_watcher_items_are_collected_like_any_others(fast: pytest.Pytester) -> None:
    ref = shlex.quote(str(reference()))
    fast.makepyfile("def test_plain():\n    assert True\n")
    listed = fast.runpytest_subprocess("--fynecheck-watcher", f"{ref} {{root}}", "--co", "-q")
    listed.stdout.fnmatch_lines(["*::watcher[[]local[]]", "2 tests collected*"])
    # -k sees the items: deselected ones never start a watcher.
    chosen = fast.runpytest_subprocess("--fynecheck-watcher", f"{ref} {{root}}", "-k", "plain")
    chosen.assert_outcomes(passed=1, deselected=1)


def test_broken_watcher_fails_with_the_missing_event_and_a_replay(fast: pytest.Pytester) -> None:
    result = fast.runpytest_subprocess(f"--fynecheck-watcher={broken('droprename')}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*silent loss at step*rename*",
            "*never came: remove or rename for*",
            "*shrunk steps*",
            "*replay it on its own*: sh *watcher-replay-*.sh",
        ]
    )


def test_ini_needs_fynecheck_and_modes_name_the_items(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        FAST_INI + f"fynecheck_watcher = {reference()} {{root}}\nfynecheck_watcher_modes = local\n"
    )
    pytester.makepyfile("def test_plain():\n    assert True\n")
    plain = pytester.runpytest_subprocess("--collect-only", "-q")
    assert "watcher[local]" not in plain.stdout.str()
    asked = pytester.runpytest_subprocess("--fynecheck", "--collect-only", "-q", "-k", "watcher")
    asked.stdout.fnmatch_lines(["*watcher?local?*"])


def test_a_run_without_a_watcher_does_not_load_hypothesis(pytester: pytest.Pytester) -> None:
    # Hypothesis takes most of a second to import; every `--fynecheck` run would pay it.
    pytester.makeconftest(
        "import sys\n"
        "def pytest_collection_finish(session):\n"
        "    print('hypothesis loaded:', 'hypothesis' in sys.modules)\n"
    )
    result = pytester.runpytest_subprocess("--fynecheck", "--collect-only", "-q", "-s")
    result.stdout.fnmatch_lines(["hypothesis loaded: False"])


def test_missing_command_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--fynecheck-watcher", "no-such-watcher-xyz --flag {root}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*watcher command not found: 'no-such-watcher-xyz'*"])


def test_unknown_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        f"--fynecheck-watcher={reference()}", "--fynecheck-watcher-mode", "nfs"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown watcher mode 'nfs'*local, container:SUITE*"])


def test_garbage_printing_watcher_fails_the_item_plainly(fast: pytest.Pytester) -> None:
    fast.makeini(FAST_INI + "fynecheck_watcher_timeout = 3\n")
    result = fast.runpytest_subprocess("--fynecheck-watcher", "sh -c 'echo Watching...; sleep 60'")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*not protocol JSON*", "*first bad line: 'Watching...'*"])


def test_marker_checks_before_the_test(fast: pytest.Pytester) -> None:
    fast.makepyfile(
        f"""
        import pytest

        @pytest.mark.fyne_watcher(cmd={str(reference())!r}, modes=["local"])
        def test_good():
            pass

        @pytest.mark.fyne_watcher(cmd={str(broken("statdrop"))!r})
        def test_bad():
            raise AssertionError("the body must not run")
        """
    )
    result = fast.runpytest_subprocess("--strict-markers")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fyne_watcher: watcher*statdrop*failed in mode local*"])
    assert "the body must not run" not in result.stdout.str()


def test_fixture_gives_the_check_and_a_live_watcher(fast: pytest.Pytester) -> None:
    fast.makepyfile(
        f"""
        import pytest

        @pytest.mark.fyne_watcher(cmd={str(reference())!r})
        def test_live(fyne_watcher, tmp_path):
            with fyne_watcher.watch(tmp_path) as w:
                (tmp_path / "main.go").write_text("package main")
                events = w.barrier()
            assert ("create", "main.go") in [(e.op, e.path) for e in events]

        def test_check(fyne_watcher):
            [outcome] = fyne_watcher.check("local")
            assert outcome.stats.steps > 0
        """
    )
    result = fast.runpytest_subprocess("--strict-markers", f"--fynecheck-watcher={reference()}")
    result.assert_outcomes(passed=3)


def test_runs_under_xdist(fast: pytest.Pytester) -> None:
    fast.makepyfile(
        f"""
        import pytest

        @pytest.mark.fyne_watcher(cmd={str(reference())!r})
        def test_marked():
            pass
        """
    )
    result = fast.runpytest_subprocess(
        "-n", "2", "--strict-markers", f"--fynecheck-watcher={broken('debounce')}"
    )
    # The item fails (broken watcher), the marked test passes (reference): both on workers.
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FAILED*watcher?local?*"])


@pytest.mark.slow  # the first run builds the bookworm image
def test_container_modes_as_items_with_a_reproducer(
    fast: pytest.Pytester, tmp_path: Path
) -> None:
    out = tmp_path / "repro"
    ref, bad = (shlex.quote(str(p)) for p in (reference(), broken("debounce")))
    modes = [f"--fynecheck-watcher-mode={m}" for m in ("container:bookworm", "bind:bookworm")]
    passed = fast.runpytest_subprocess(f"--fynecheck-watcher={ref}", *modes, "-v", timeout=900)
    passed.assert_outcomes(passed=2)
    passed.stdout.fnmatch_lines(
        ["*watcher?container:bookworm? PASSED*", "*watcher?bind:bookworm? PASSED*"]
    )
    failed = fast.runpytest_subprocess(
        f"--fynecheck-watcher={bad}", modes[0], f"--fynecheck-reproducer={out}", timeout=900
    )
    failed.assert_outcomes(failed=1)
    failed.stdout.fnmatch_lines(
        ["*failed in mode container:bookworm*", "*container reproducer: sh*"]
    )
    made = [p for p in out.iterdir() if (p / "run.sh").is_file()]
    # Named by tool, app (the project: pytester's directory) and mode, and a content key.
    assert len(made) == 1, made
    assert made[0].name.startswith(f"watcher-debounce-{fast.path.name[:20]}"), made
    assert "-container_bookworm-" in made[0].name, made


def test_container_mode_without_an_engine_is_one_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    ref = shlex.quote(str(reference()))
    result = pytester.runpytest_subprocess(
        f"--fynecheck-watcher={ref}", "--fynecheck-watcher-mode", "bind:trixie:reverse"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*fynecheck watcher: modes bind:trixie:reverse: fynecheck containers need Docker*"]
    )
