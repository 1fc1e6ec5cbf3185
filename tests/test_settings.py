"""The one settings object: every option and ini registered once (options.py), read and
checked at configure time into a frozen Settings, bad values as one usage error."""

from __future__ import annotations

import fnmatch
import re
import shutil
from pathlib import Path

import pytest
from support.sample import HELLO


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
        ("fynecheck_package_suites = trixie hamm",
         "ERROR: ini fynecheck_package_suites: unknown OS 'hamm'; known: *"),
        ("fynecheck_package_suites = bookworm-windows",
         "ERROR: ini fynecheck_package_suites: 'bookworm-windows' is a variant; name a suite "
         "(bullseye, bookworm, trixie): package.install uses its runtime-only image"),
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

        from pytest_fynecheck.plan.settings import settings

        def test_settings(pytestconfig):
            s = settings(pytestconfig)
            assert s is settings(pytestconfig)
            assert s.core.timeout == 12.5 and s.core.tags == ("wayland",)
            assert s.core.display == "xvfb"
            assert s.watcher.command.modes == ("local", "container:trixie")
            assert s.reload.command.modes == ("local",)
            assert [c.name for c in s.contexts] == ["host", "bookworm", "windows"]
            assert [c.kind for c in s.contexts] == ["host", "suite", "windows"]
            assert [c.display for c in s.contexts] == ["xvfb", "xvfb", "xvfb"]
            assert s.contexts[0].settings.window_timeout == 60.0
            assert s.containers.default.suite == "bookworm"
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


# -- issue 22 item 9: output files are checked before any check runs -----------------------


@pytest.mark.parametrize("option", ["--fynecheck-json", "--fynecheck-summary"])
def test_an_output_files_missing_directory_is_made(
    pytester: pytest.Pytester, option: str
) -> None:
    """As --junitxml does. Before: a traceback after the passing run (FileNotFoundError)."""
    result = pytester.runpytest_subprocess(
        "--fynecheck", f"--fynecheck-project={HELLO}", "-k", "go.version",
        "-p", "no:cacheprovider", "-p", "no:xdist", f"{option}=reports/deeper/out.md",
    )
    assert result.ret == 0, result.outlines + result.errlines
    written = pytester.path / "reports" / "deeper" / "out.md"
    assert "go.version" in written.read_text(encoding="utf-8")
    result.stdout.fnmatch_lines([f"fynecheck: * written to {written}"])


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--fynecheck-json", "{dir}", "{dir} is a directory; name a file"),
        ("--fynecheck-summary", "{dir}", "{dir} is a directory; name a file"),
        ("--fynecheck-json", "/proc/z/out.json",
         "cannot make its directory /proc/z (No such file or directory)"),
        ("--fynecheck-summary", "/proc/z/s.md",
         "cannot make its directory /proc/z (No such file or directory)"),
        # An existing path the kernel refuses to open for writing, even for root.
        ("--fynecheck-json", "/proc/version", "cannot write /proc/version (*)"),
    ],
)
def test_an_unwritable_output_file_is_a_usage_error_before_any_check(
    pytester: pytest.Pytester, tmp_path: Path, option: str, value: str, problem: str
) -> None:
    """Before: every check ran, passed, and then the write raised a traceback."""
    value, problem = (s.replace("{dir}", str(tmp_path)) for s in (value, problem))
    result = pytester.runpytest_subprocess(
        "--fynecheck", f"--fynecheck-project={HELLO}", "-k", "go.version",
        "-p", "no:cacheprovider", "-p", "no:xdist", f"{option}={value}",
    )
    errors = _usage_errors(result)
    assert len(errors) == 1, errors
    assert fnmatch.fnmatchcase(errors[0], f"ERROR: {option}={value}: {problem}"), errors
    assert "go.version" not in result.stdout.str()  # no check ran
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


# -- issue 22 item 10: a bad project or quoting names the input ----------------------------


def test_an_open_quote_in_an_args_ini_names_the_setting_and_its_value(
    pytester: pytest.Pytester,
) -> None:
    """Before: `ERROR: No closing quotation`, naming neither."""
    pytester.makeini('[pytest]\nfynecheck_app_args = -title "oops\n')
    errors = _usage_errors(pytester.runpytest_subprocess("-p", "no:cacheprovider"))
    assert errors == [
        "ERROR: ini fynecheck_app_args = '-title \"oops': no closing quotation; the value "
        'is shell-quoted, as in fynecheck_app_args = -title "my app"'
    ], errors


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--fynecheck-project=/nonexistent"], "",
         "ERROR: --fynecheck-project=/nonexistent: no such directory (/nonexistent)"),
        (["--fynecheck-project=conftest.py"], "",
         "ERROR: --fynecheck-project=conftest.py: is not a directory ({here}/conftest.py)"),
        ([], "fynecheck_project = missing/app",
         "ERROR: ini fynecheck_project = missing/app: no such directory ({here}/missing/app)"),
    ],
)
def test_a_project_that_is_no_directory_is_a_usage_error_before_any_check(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    """Before: 12 checks failed with "internal error … this is a pytest-fynecheck bug"."""
    pytester.makeconftest("")
    if ini:
        pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest_subprocess("--fynecheck", "-p", "no:cacheprovider", *args)
    errors = _usage_errors(result)
    assert errors == [message.format(here=pytester.path)], errors
    assert "internal error" not in result.stdout.str()


# -- issue 22 item 11: `--fynecheck-binary PATH` means what `--fynecheck-binary=PATH` does --

READS_INI = """
from pytest_fynecheck.plan.settings import settings

def test_the_projects_ini_is_read(pytestconfig):
    assert settings(pytestconfig).core.timeout == 12.5
    assert pytestconfig.inipath == pytestconfig.rootpath / "pytest.ini"
"""


@pytest.fixture
def project_with_ini(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".ini", pytest="[pytest]\nfynecheck_timeout = 12.5\n")
    pytester.makepyfile(test_reads_ini=READS_INI)
    return pytester


@pytest.mark.parametrize("form", ["=", " "])
def test_a_binary_in_the_project_is_the_same_in_both_forms(
    project_with_ini: pytest.Pytester, form: str
) -> None:
    app = project_with_ini.path / "build" / "app"
    app.parent.mkdir()
    shutil.copy("/bin/true", app)
    given = [f"--fynecheck-binary={app}"] if form == "=" else ["--fynecheck-binary", str(app)]
    result = project_with_ini.runpytest_subprocess("-p", "no:cacheprovider", *given)
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("option", "kind"),
    [
        ("--fynecheck-binary", "file"),
        ("--fynecheck-reload", "file"),
        ("--fynecheck-watcher", "file"),
        ("--fynecheck-json", "file"),
        ("--fynecheck-summary", "file"),
        ("--fynecheck-project", "dir"),
        ("--fynecheck-reproducer", "dir"),
    ],
)
def test_a_path_elsewhere_after_a_space_is_a_usage_error_not_a_lost_ini(
    project_with_ini: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory,
    option: str, kind: str,
) -> None:
    """pytest looks for its ini file before the kit's options exist, so it takes the PATH
    after `--fynecheck-binary ` for a test path and reads the ini from there. Before: the
    run went on with the project's ini ignored (this test's assert on it failed)."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    path = elsewhere / "app"
    if kind == "dir":
        path.mkdir()
    else:
        shutil.copy("/bin/true", path)
    result = project_with_ini.runpytest_subprocess("-p", "no:cacheprovider", option, str(path))
    errors = _usage_errors(result)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"ERROR: {option} {path}: pytest took the value for a test "
                                "path while it looked for its ini file"), errors
    assert f"instead of rootdir {project_with_ini.path} with ini file " \
           f"{project_with_ini.path / 'pytest.ini'}" in errors[0], errors
    assert errors[0].endswith(f"; write {option}={path}"), errors
    # The `=` form it names reads the project's ini (the value may fail later on its own).
    if option == "--fynecheck-binary":
        again = project_with_ini.runpytest_subprocess("-p", "no:cacheprovider", f"{option}={path}")
        again.assert_outcomes(passed=1)


def test_every_option_with_a_value_is_known_to_the_space_form_check(
    pytester: pytest.Pytester,
) -> None:
    """options._VALUE_OPTIONS lists the options that take a value: --help shows each with
    its METAVAR, the flags without."""
    from pytest_fynecheck.plan.options import _VALUE_OPTIONS

    text = pytester.runpytest_subprocess("--help", "-p", "no:cacheprovider").stdout.str()
    with_value = set(re.findall(r"^  (--fynecheck[\w-]*)=", text, re.M))
    assert with_value == _VALUE_OPTIONS
