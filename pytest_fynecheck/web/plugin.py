"""pytest side of the web target: `--fynecheck-os web` (the plan's `web` kind) is a host
context that builds for js/wasm and loads the app in this machine's headless Chromium.
(`SUITE-web` contexts are containers, made by the containers plugin.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.plan.spec import ContextSpec
from pytest_fynecheck.run.session import host_context


def pytest_fynecheck_make_context(
    config: pytest.Config, spec: ContextSpec, project: Path, scratch: Path
) -> Context | None:
    """The web kind's factory: the host, with the js/wasm build environment `spec` sets."""
    if spec.kind != "web":
        return None
    return host_context(config, project, scratch, spec)
