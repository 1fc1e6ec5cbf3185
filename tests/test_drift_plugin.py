"""The drift plugin as a user meets it, through pytester: options, items, marker, fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.drift import MODES, build, copy_repo, make_repo
from support.sample import HELLO, MODULE


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(HELLO, tmp_path_factory.mktemp("drift-plugin") / "hello")


@pytest.fixture(scope="module")
def binary(template: Path) -> Path:
    return build(template, MODES["release"])


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    return copy_repo(template, tmp_path / "hello")


def _args(binary: Path, project: Path, *more: str) -> list[str]:
    return [
        "--strict-markers",
        "--fynecheck",
        f"--fynecheck-binary={binary}",
        f"--fynecheck-project={project}",
        "-k",
        "drift",
        *more,
    ]


def test_no_items_unless_asked(pytester: pytest.Pytester, binary: Path, project: Path) -> None:
    result = pytester.runpytest_subprocess(f"--fynecheck-binary={binary}", "--collect-only", "-q")
    assert "drift[" not in result.stdout.str()
    result = pytester.runpytest_subprocess(*_args(binary, project, "--collect-only", "-q"))
    names = [line for line in result.stdout.lines if "drift[" in line]
    assert [n.split("::")[-1] for n in names] == [
        "drift[deps]",
        "drift[vcs.revision]",
        "drift[vcs.modified]",
        "drift[embed]",
        "drift[bundle]",
    ]


@pytest.mark.parametrize("workers", ["0", "2"])
def test_edit_fails_exactly_its_items(
    pytester: pytest.Pytester, binary: Path, project: Path, workers: str
) -> None:
    result = pytester.runpytest_subprocess(*_args(binary, project, "-n", workers))
    # drift[bundle]: hello has no fyne bundle files, nothing to compare: n/a (issue 12).
    result.assert_outcomes(passed=4, skipped=1)

    (project / "assets" / "greeting.txt").write_text("Hello, edited for reload\n")
    result = pytester.runpytest_subprocess(*_args(binary, project, "-n", workers, "-rf"))
    result.assert_outcomes(passed=2, failed=2, skipped=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        ["FAILED *drift[[]vcs.modified[]]*", "FAILED *drift[[]embed[]]*"], consecutive=False
    )
    result.stdout.fnmatch_lines(
        [
            f"*changed: {MODULE} assets/greeting.txt: a reload shows 25 B*",
            "*-Hello from fynecheck!",
            "*+Hello, edited for reload",
        ]
    )
    assert "Traceback" not in out
    # The summary section collects every aspect, from workers too.
    result.stdout.fnmatch_lines(["*= fynecheck drift =*", "*[[]✗[]] drift embed: drift:*"])


def test_bad_binary_is_one_usage_error(pytester: pytest.Pytester, project: Path) -> None:
    result = pytester.runpytest_subprocess(*_args(Path("/bin/ls"), project))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: fynecheck drift: /bin/ls is not a Go program*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_unknown_skips_or_fails_as_configured(
    pytester: pytest.Pytester, binary: Path, project: Path
) -> None:
    shutil.rmtree(project / ".git")
    result = pytester.runpytest_subprocess(*_args(binary, project, "-rs"))
    result.assert_outcomes(passed=2, skipped=3)  # vcs.*: unknown; bundle: nothing to compare
    result.stdout.fnmatch_lines([f"*unknown: project {project} is not a git repository*"])
    result = pytester.runpytest_subprocess(
        *_args(binary, project, "-o", "fynecheck_drift_unknown=fail")
    )
    # The ini is for aspects that could not be compared; no bundle files stays n/a.
    result.assert_outcomes(passed=2, failed=2, skipped=1)


def test_nothing_to_compare_is_na_not_a_match(
    pytester: pytest.Pytester, binary: Path, project: Path
) -> None:
    """Missing data is never a match: with no fyne bundle files, drift[bundle] is n/a."""
    result = pytester.runpytest_subprocess(*_args(binary, project, "-k", "bundle", "-rs"))
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([
        "*= fynecheck drift =*",
        "[[]-[]] drift bundle: unknown: nothing to compare (no fyne bundle files)",
        "SKIPPED *n/a: nothing to compare (no fyne bundle files)",
    ], consecutive=False)
    assert "match: nothing to compare" not in result.stdout.str()


def test_marker_errors_the_test_with_the_report(
    pytester: pytest.Pytester, binary: Path, project: Path
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.fyne_drift(binary={str(binary)!r}, project={str(project)!r})
        def test_shipped_ui():
            pass
        """
    )
    pytester.runpytest_subprocess("--strict-markers").assert_outcomes(passed=1)
    (project / "assets" / "extra.txt").write_text("new\n")
    result = pytester.runpytest_subprocess("--strict-markers")
    # Like fyne_ready: the precondition fails in setup, so the test errors.
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the binary drifted from the source:*",
            "*drift embed: drift*",
            f"*added: {MODULE} assets/extra.txt: a reload shows it*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_fixture_gives_the_report(pytester: pytest.Pytester, binary: Path, project: Path) -> None:
    (project / "assets" / "style.json").unlink()
    pytester.makepyfile(
        f"""
        def test_drift(fyne_drift):
            report = fyne_drift.report(binary={str(binary)!r}, project={str(project)!r})
            assert report.verdicts() == {{
                "deps": "match",
                "vcs.revision": "match",
                "vcs.modified": "drift",
                "embed": "drift",
            }}
            first = report["embed"].detail.splitlines()[0]
            assert f"removed: {MODULE} assets/style.json" in first
        """
    )
    pytester.runpytest_subprocess("--strict-markers").assert_outcomes(passed=1)
