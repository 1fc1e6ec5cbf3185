"""Every module of the package imports alone, in a fresh interpreter: no import cycles
hidden by import order, and no module that needs another imported first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_fynecheck

import pytest_fynecheck

PACKAGE = Path(pytest_fynecheck.__file__).parent


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def _python(code: str) -> str:
    """Run `code` in a fresh interpreter (nothing of this one imported); its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _loaded_with_the_plugins(modules: tuple[str, ...]) -> str:
    """Which of `modules` are imported once the entry point and every feature plugin it
    lists are loaded, as pytest loads them."""
    return _python(
        "import importlib, sys\n"
        "plugin = importlib.import_module('pytest_fynecheck.plugin')\n"
        "for name in plugin.pytest_plugins:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {modules!r} if m in sys.modules))"
    )


def test_the_list_is_the_package() -> None:
    assert "pytest_fynecheck.containers.engine" in _modules()
    assert len(_modules()) > 20


@pytest.mark.parametrize("module", _modules())
def test_module_imports_alone(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"import {module}:\n{done.stderr[-3000:]}"


@pytest.mark.parametrize(
    "module",
    [
        "pytest_fynecheck.displays.servers",
        "pytest_fynecheck.displays.x11",
        "pytest_fynecheck.displays.wayland",
        "pytest_fynecheck.toolchain.cprobe",
        "pytest_fynecheck.toolchain.gobuild",
        "pytest_fynecheck.drift.probe",
        "pytest_fynecheck.watcher.build",
    ],
)
def test_no_check_module_behind(module: str) -> None:
    """Displays, the C-probe compiler and the Go builds import no check: importing a
    check module registers its checks (it was displays -> checks/cc)."""
    code = (
        f"import sys, {module}\n"
        "print(sorted(m for m in sys.modules if m.startswith('pytest_fynecheck.checks')))"
    )
    out = _python(code)
    assert out.strip() == "[]", f"import {module} imported {out}"


# Imported only by the runs that use them: the Docker SDK (and requests under it) when a
# container starts, Hypothesis when a watcher or reload mode runs (issue 23: the kit's
# plugins add at most 0.1 s before the first check).
HEAVY = ("docker", "requests", "hypothesis", "selenium", "PIL", "pefile")


def test_plugins_load_without_docker_or_hypothesis() -> None:
    """The entry point and every feature plugin it lists, loaded as pytest loads them."""
    loaded = _loaded_with_the_plugins(HEAVY)
    assert loaded.strip() == "[]", f"the kit's plugins imported {loaded}"


# A feature's machinery loads in the hooks of a run that uses the feature, not with its
# plugin: pytest imports every plugin at every start (issue 23: at most 0.1 s before the
# first check). Each was imported at plugin load before.
FEATURE_MACHINERY = (
    "pytest_fynecheck.drift.check",  # debug/buildinfo, bundle and embed readers
    "pytest_fynecheck.containers.context",  # container start, engine, reaping
    "pytest_fynecheck.containers.start",
    "pytest_fynecheck.containers.reproducer",
    "pytest_fynecheck.watcher.adapters",  # built-in watchers: fsnotify bridge, builds
    "pytest_fynecheck.watcher.modes",
    "pytest_fynecheck.reload.modes",  # reload's sandbox and container modes
    "pytest_fynecheck.reload.tools",  # the pinned tool installer
    "pytest_fynecheck.e2e.app",  # fyne_app's build, launch and input (issue 26)
)


def test_plugins_load_without_feature_machinery() -> None:
    loaded = _loaded_with_the_plugins(FEATURE_MACHINERY)
    assert loaded.strip() == "[]", f"the kit's plugins imported {loaded}"


def test_drift_names_load_on_first_use() -> None:
    """drift's package names load lazily (PEP 562); `check` stays the function even once
    the submodule `drift.check` is imported (the import binds the package's `check` to
    it), as the drift plugin's lazy import does first."""
    code = (
        "import sys\n"
        "import pytest_fynecheck.drift as drift\n"
        "assert 'pytest_fynecheck.drift.check' not in sys.modules\n"
        "from pytest_fynecheck.drift import check\n"
        "from pytest_fynecheck.drift import check as again, read_buildinfo, DriftReport\n"
        "module = sys.modules['pytest_fynecheck.drift.check']\n"
        "print(callable(check), check is again, drift.check is check, module.check is check,\n"
        "      read_buildinfo.__module__, DriftReport.__module__)"
    )
    out = _python(code)
    assert out.split() == [
        "True", "True", "True", "True",
        "pytest_fynecheck.drift.check", "pytest_fynecheck.drift.report",
    ]


def test_host_run_imports_no_docker_or_hypothesis(
    pytester: pytest.Pytester, hello: Path
) -> None:
    """A real `pytest --fynecheck` on the host, every check run: none of them starts a
    container or a watcher, so neither the Docker SDK nor Hypothesis is imported while
    the checks run. (Looked at when the session finishes: Hypothesis's own pytest plugin
    imports it at every terminal summary, with or without the kit.) Nor is any feature's
    machinery: checks/glibc imported the container machinery for its session id."""
    seen = pytester.path / "modules.txt"
    pytester.makeconftest(
        "import sys, pytest\n"
        "@pytest.hookimpl(tryfirst=True)\n"
        "def pytest_sessionfinish(session):\n"
        f"    open({str(seen)!r}, 'w').write(' '.join(m for m in {HEAVY + FEATURE_MACHINERY!r} "
        "if m in sys.modules))\n"
    )
    run = run_fynecheck(pytester, hello, env={"DISPLAY": ""})
    assert run.report["ready"] is True, run
    assert seen.read_text() == "", f"a host run imported {seen.read_text()}"


def test_no_plugin_is_imported_before_its_turn() -> None:
    """pytest rewrites asserts in an installed plugin's modules when it imports them from
    `pytest_plugins`; one another plugin imported first is not rewritten, and every run
    then warns (PytestAssertRewriteWarning: run.report imported run.seed)."""
    code = (
        "import importlib, sys\n"
        "from pytest_fynecheck import plugin\n"
        "for name in plugin.pytest_plugins:\n"
        "    if name in sys.modules:\n"
        "        print(name)\n"
        "    importlib.import_module(name)\n"
    )
    out = _python(code)
    assert out.split() == [], "imported before pytest registers it"
