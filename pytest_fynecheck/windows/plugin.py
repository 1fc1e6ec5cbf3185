"""pytest side of the Windows target: `--fynecheck-os windows` makes a host context that
cross-builds with mingw-w64 and runs the .exe under Wine. (`SUITE-windows` contexts are
containers, started by the containers plugin.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.plan.settings import settings
from pytest_fynecheck.run.session import host_context
from pytest_fynecheck.windows import HOST_CONTEXT, WINDOWS_ENV


def pytest_fynecheck_contexts(config: pytest.Config) -> list[str]:
    return [HOST_CONTEXT] if HOST_CONTEXT in settings(config).containers.os_names else []


def pytest_fynecheck_make_context(
    config: pytest.Config, name: str, project: Path, scratch: Path
) -> Context | None:
    if name != HOST_CONTEXT:
        return None
    ctx = host_context(config, project, scratch)
    ctx.name = HOST_CONTEXT
    ctx.environ.update(WINDOWS_ENV)
    return ctx
