"""The one settings object: every option and ini registered once (options.py), read and
checked at configure time into a frozen Settings, bad values as one usage error."""

from __future__ import annotations

import re

import pytest


def _usage_errors(result: pytest.RunResult) -> list[str]:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines + result.errlines
    return [line for line in result.errlines if line.startswith("ERROR:")]


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("fynecheck_timeout = soon",
         "ERROR: ini fynecheck_timeout must be a number of seconds, not 'soon'"),
        ("fynecheck_window_timeout = -5",
         "ERROR: ini fynecheck_window_timeout must be more than 0 seconds, not '-5'"),
        ("fynecheck_watcher_grace = -0.5",
         "ERROR: ini fynecheck_watcher_grace must be 0 or more seconds, not '-0.5'"),
        ("fynecheck_watcher_max_examples = many",
         "ERROR: ini fynecheck_watcher_max_examples must be an integer, not 'many'"),
        ("fynecheck_reload_stateful_step_count = 0",
         "ERROR: ini fynecheck_reload_stateful_step_count must be 1 or more, not '0'"),
        ("fynecheck_display = wayland",
         "ERROR: ini fynecheck_display must be auto, host or xvfb, not 'wayland'"),
        ("fynecheck_drift_unknown = maybe",
         "ERROR: ini fynecheck_drift_unknown must be skip or fail, not 'maybe'"),
        ("fynecheck_os = bookworm trixie", "ERROR: ini fynecheck_os: name exactly one suite"),
        ("fynecheck_cache_size = lots", "ERROR: ini fynecheck_cache_size must be a size of 1 "
         "byte or more such as 2G or 500M, not 'lots'"),
        ("fynecheck_glibc_suites = bookworm hamm",
         "ERROR: ini fynecheck_glibc_suites: unknown OS 'hamm'; known: *"),
    ],
)
def test_a_bad_ini_value_is_one_usage_error_naming_it(
    pytester: pytest.Pytester, ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_never_runs():\n    raise AssertionError\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    errors = _usage_errors(result)
    assert len(errors) == 1, errors
    assert re.fullmatch(re.escape(message).replace(r"\*", ".*"), errors[0]), errors
    result.stdout.no_fnmatch_line("*test_never_runs*")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fynecheck-os", "bookworm,bokworm"], "ERROR: --fynecheck-os: unknown OS 'bokworm'"),
        (["--fynecheck-go", "1.x"], "ERROR: --fynecheck-go: '1.x' is not a Go version"),
        (["--fynecheck-shard", "0/2"], "ERROR: --fynecheck-shard '0/2': write I/N"),
        (["--fynecheck-cache-size", "0M"], "ERROR: --fynecheck-cache-size must be a size of "
         "1 byte or more such as 2G or 500M, not '0M'"),
    ],
)
def test_a_bad_option_is_one_usage_error_naming_it(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    # Without --fynecheck too: the value is checked when the run is configured.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    errors = _usage_errors(result)
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_several_bad_values_are_still_one_error_naming_each(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfynecheck_timeout = soon\nfynecheck_drift_unknown = maybe\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--fynecheck-go", "1.x")
    errors = _usage_errors(result)
    assert errors == ["ERROR: fynecheck: 3 bad settings:"], errors
    text = "\n".join(result.errlines)
    for named in ("fynecheck_timeout", "fynecheck_drift_unknown", "--fynecheck-go: '1.x'"):
        assert named in text, named


def test_settings_are_read_once_and_frozen(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nfynecheck_timeout = 12.5\nfynecheck_tags = wayland\n"
        "fynecheck_watcher_modes = local container:trixie\n"
    )
    pytester.makepyfile(
        """
        import dataclasses

        import pytest

        from pytest_fynecheck.settings import settings

        def test_settings(pytestconfig):
            s = settings(pytestconfig)
            assert s is settings(pytestconfig)
            assert s.core.timeout == 12.5 and s.core.tags == ("wayland",)
            assert s.core.display == "xvfb"
            assert s.watcher.command.modes == ("local", "container:trixie")
            assert s.reload.command.modes == ("local",)
            assert [t.name for t in s.containers.targets] == ["bookworm"]
            assert s.containers.os_names == ("bookworm", "windows")
            with pytest.raises(dataclasses.FrozenInstanceError):
                s.core.timeout = 1.0
            with pytest.raises(dataclasses.FrozenInstanceError):
                s.watcher.command = None
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--fynecheck-display=xvfb", "--fynecheck-os=bookworm windows"
    )
    result.assert_outcomes(passed=1)


def test_every_option_and_ini_is_registered_once(pytester: pytest.Pytester) -> None:
    """pytest refuses a second registration of an option; an ini registered twice would
    show twice in --help. Markers likewise."""
    result = pytester.runpytest_subprocess("--help", "-p", "no:cacheprovider")
    assert result.ret == 0
    text = result.stdout.str()
    # Two spaces: an entry; wrapped help text is indented further.
    options = re.findall(r"^  (--fynecheck[\w-]*)", text, re.M)
    inis = re.findall(r"^  (fynecheck_\w+) \(", text, re.M)
    assert len(options) == len(set(options)) and len(options) >= 16, options
    assert len(inis) == len(set(inis)) and len(inis) >= 25, inis
    for needle in ("--fynecheck-os", "--fynecheck-reload-mode", "--fynecheck-summary"):
        assert needle in options
    for needle in ("fynecheck_timeout", "fynecheck_watcher_grace", "fynecheck_drift_unknown"):
        assert needle in inis
    markers = pytester.runpytest_subprocess("--markers", "-p", "no:cacheprovider")
    names = re.findall(r"^@pytest\.mark\.(fyne_\w+)\(", markers.stdout.str(), re.M)
    assert sorted(names) == sorted(set(names)) == sorted(
        ["fyne_ready", "fyne_display", "fyne_os", "fyne_drift", "fyne_watcher", "fyne_reload"]
    ), names
