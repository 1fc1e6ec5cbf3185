"""pytest side of the Windows target: `--fynecheck-os windows` (the plan's `windows` kind)
is a host context that cross-builds with mingw-w64 and runs the .exe under Wine.
(`SUITE-windows` contexts are containers, made by the containers plugin.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.plan.spec import ContextSpec
from pytest_fynecheck.run.session import host_context


def pytest_fynecheck_make_context(
    config: pytest.Config, spec: ContextSpec, project: Path, scratch: Path
) -> Context | None:
    """The windows kind's factory: the host, with the cross-build environment `spec` sets."""
    if spec.kind != "windows":
        return None
    return host_context(config, project, scratch, spec)
