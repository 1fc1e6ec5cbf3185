"""The typed plan (issue 23): a context is one frozen ContextSpec, parsed once on the
controller by plan/spec.py's parse_context, and sent to xdist workers as data."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from support.sample import HELLO

from pytest_fynecheck.core.context import ContextSettings
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.plan.spec import KINDS, ContextSpec, from_data, parse_context, to_data
from pytest_fynecheck.toolchain.cross import WINDOWS_ENV


@pytest.mark.parametrize(
    ("text", "kind", "target", "suite", "variant", "display"),
    [
        ("host", "host", "linux", "", "full", "auto"),
        ("windows", "windows", "windows", "", "full", "auto"),
        ("bookworm", "suite", "linux", "bookworm", "full", "xvfb"),
        (" trixie-no-gl-dev ", "suite", "linux", "trixie", "no-gl-dev", "xvfb"),
        ("bullseye-windows", "suite-windows", "windows", "bullseye", "windows", "xvfb"),
    ],
)
def test_one_parser_makes_every_kind(
    text: str, kind: str, target: str, suite: str, variant: str, display: str
) -> None:
    spec = parse_context(text, "--fynecheck-os")
    assert (spec.kind, spec.name, spec.target) == (kind, text.strip(), target)
    assert (spec.suite, spec.variant, spec.display, spec.go) == (suite, variant, display, "local")
    assert kind in KINDS
    assert dict(spec.env) == (WINDOWS_ENV if target == "windows" else {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "elsewhere"  # type: ignore[misc]


def test_a_kind_is_made_by_its_plugins_factory_and_an_unclaimed_kind_is_named(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """The table is true: the windows row is made by the windows plugin's factory (the
    host with the cross-build environment), and a kind no plugin claims is an error
    naming it, not a None context."""
    from pytest_fynecheck.run.session import make_context

    config = pytester.parseconfigure("--fynecheck", "-p", "no:cacheprovider")
    windows = parse_context("windows", "--fynecheck-os")
    ctx = make_context(config, windows, HELLO, tmp_path)
    assert ctx.name == "windows"
    assert {k: ctx.environ.get(k) for k in WINDOWS_ENV} == dict(WINDOWS_ENV)
    nobody = dataclasses.replace(windows, kind="nobody's", name="elsewhere")
    with pytest.raises(InputError, match="elsewhere: no plugin makes contexts of kind"):
        make_context(config, nobody, HELLO, tmp_path)


def test_a_go_version_cell_is_its_base_with_the_toolchain_pinned() -> None:
    base = parse_context("bookworm-windows", "--fynecheck-os")
    cell = base.with_go("go1.24.3")
    assert (cell.kind, cell.name, cell.base) == ("go", "bookworm-windows+go1.24.3", base)
    assert (cell.target, cell.suite, cell.variant) == ("windows", "bookworm", "windows")
    assert dict(cell.env) == {**WINDOWS_ENV, "GOTOOLCHAIN": "go1.24.3"}
    assert cell.settings.go_toolchain == "go1.24.3" and base.settings.go_toolchain == ""
    assert base.with_go("local") is base


@pytest.mark.parametrize(
    ("text", "suites_only", "message"),
    [
        ("bokworm", False, "--fynecheck-os: unknown OS 'bokworm'; known: bullseye, bookworm, "
         "trixie (variants: SUITE-{no-gl-dev, windows, web}); or windows (this machine's *); "
         "or web (this machine's *)"),
        ("bookworm-", False, "--fynecheck-os: unknown OS 'bookworm-'*"),
        ("bookworm-runtime", False, "--fynecheck-os: 'bookworm-runtime' is the runtime-only "
         "image package.install *"),
        ("suite", False, "--fynecheck-os: unknown OS 'suite'*"),  # a kind, not a name
        ("bookworm+go1.24.3", False, "--fynecheck-os: unknown OS 'bookworm+go1.24.3'*"),
        ("windows", True, "--fynecheck-os: unknown OS 'windows'; known: * (variants: *)"),
    ],
)
def test_a_name_no_kind_has_is_an_error_naming_the_input(
    text: str, suites_only: bool, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        parse_context(text, "--fynecheck-os", suites_only=suites_only)
    pattern = re.escape(message).replace(r"\*", ".*")
    assert re.fullmatch(pattern, str(caught.value)), str(caught.value)


def test_a_context_travels_as_data_and_back_unchanged() -> None:
    settings = ContextSettings(window_title="t", app_args=("-a", "b"), artifacts=Path("/x"),
                               glibc_suites=("bullseye",), glibc_named=True)
    spec = dataclasses.replace(parse_context("trixie-windows", "x"), settings=settings)
    cell = spec.with_go("go1.22.12")
    data = to_data(cell)
    assert json.loads(json.dumps(data)) == data  # plain data: execnet can send it
    assert from_data(ContextSpec, data) == cell


def _usage_errors(result: pytest.RunResult) -> list[str]:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines + result.errlines
    return [line for line in result.errlines if line.startswith("ERROR:")]


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--fynecheck-os=windows,host"], "",
         "ERROR: --fynecheck-os: host is always checked; name the other contexts"),
        (["--fynecheck-os=windows,bookworm-nogl"], "",
         "ERROR: --fynecheck-os: unknown OS 'bookworm-nogl'; known: *"),
        ([], "fynecheck_os = windows", "ERROR: ini fynecheck_os: unknown OS 'windows'; known: *"),
        ([], "fynecheck_glibc_suites = bookworm windows",
         "ERROR: ini fynecheck_glibc_suites: unknown OS 'windows'; known: *"),
    ],
)
def test_a_bad_context_is_a_usage_error_naming_the_option(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    """Checked once, when the run is configured: no test runs, no container starts."""
    if ini:
        pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_never_runs():\n    raise AssertionError\n")
    result = pytester.runpytest_subprocess("--fynecheck", "-p", "no:cacheprovider", *args)
    errors = _usage_errors(result)
    assert len(errors) == 1, errors
    assert re.fullmatch(re.escape(message).replace(r"\*", ".*"), errors[0]), errors
    result.stdout.no_fnmatch_line("*test_never_runs*")


def test_a_bad_fyne_os_marker_names_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.fyne_os("bookworm", "windows")
        def test_in_a_suite(fyne_container):
            raise AssertionError
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.stdout.fnmatch_lines(
        ["*test_*.py::test_in_a_suite: fyne_os marker: unknown OS 'windows'; known: *"]
    )
    assert result.ret != pytest.ExitCode.OK


# A conftest that records, in each process, the plan the session has and who planned it.
# Its cells hook answers first (conftest hooks run before the plugins'): it marks each
# context with a title only the controller's plan has, so a worker that parsed or planned
# again would show the ini's title instead.
RECORDER = '''
import dataclasses
import importlib
import inspect
import json

from pytest_fynecheck.plan.spec import to_data
from pytest_fynecheck.run.session import core


def where(config):
    # Not PYTEST_XDIST_WORKER: this run's controller may itself be an outer run's worker.
    return getattr(config, "workerinput", {}).get("workerid", "controller")


def pytest_fynecheck_cells(config, contexts):
    with open(f"planned-in-{where(config)}", "w") as out:
        out.write("planned")
    cells = config.pluginmanager.get_plugin("pytest_fynecheck.matrix.plugin"
                                            ).pytest_fynecheck_cells(config, contexts)
    return [dataclasses.replace(c, settings=dataclasses.replace(
        c.settings, window_title=f"planned in {where(config)}")) for c in cells]


def pytest_sessionfinish(session):
    with open(f"plan-{where(session.config)}.json", "w") as out:
        json.dump(to_data(core(session.config).plan()), out)
'''


def test_workers_get_the_controllers_plan_as_data(pytester: pytest.Pytester) -> None:
    """The controller plans once (contexts, Go toolchains: exact ones, so no proxy is
    asked); both workers run the contexts it planned, unchanged, without planning again."""
    pytester.makeconftest(RECORDER)
    pytester.makeini("[pytest]\nfynecheck_window_title = from the ini\n")
    pytester.makepyfile(
        """
        def test_alpha(): pass
        def test_beta(): pass
        def test_gamma(): pass
        def test_delta(): pass
        """
    )
    result = pytester.runpytest_subprocess(
        "--fynecheck", f"--fynecheck-project={HELLO}", "-p", "no:cacheprovider",
        "--fynecheck-os=windows", "--fynecheck-go=local,1.24.3", "-n", "2",
        "-k", "alpha or beta or gamma or delta",  # the plan's check items: collected only
    )
    result.assert_outcomes(passed=4)
    assert sorted(p.name for p in pytester.path.glob("planned-in-*")) == ["planned-in-controller"]
    controller = json.loads((pytester.path / "plan-controller.json").read_text())
    plan = [from_data(ContextSpec, c) for c in controller]
    assert [c.name for c in plan] == ["host", "host+go1.24.3", "windows", "windows+go1.24.3"]
    assert [c.kind for c in plan] == ["host", "go", "windows", "go"]
    assert {c.settings.window_title for c in plan} == {"planned in controller"}
    assert plan[3].base is not None and plan[3].base.kind == "windows"
    assert dict(plan[3].env) == {**WINDOWS_ENV, "GOTOOLCHAIN": "go1.24.3"}
    workers = sorted(pytester.path.glob("plan-gw*.json"))
    assert [w.name for w in workers] == ["plan-gw0.json", "plan-gw1.json"]
    for worker in workers:
        assert json.loads(worker.read_text()) == controller, worker.name
