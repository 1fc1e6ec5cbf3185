"""Every module of the package imports alone, in a fresh interpreter: no import cycles
hidden by import order, and no module that needs another imported first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]", f"import {module} imported {done.stdout}"
