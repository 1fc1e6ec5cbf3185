"""Hooks through which feature plugins add where checks run and what the report shows.
Bodies are never called. A new kind of context is a row of plan/spec.py's KINDS and its
plugin's `pytest_fynecheck_make_context`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_fynecheck.core.context import Context
    from pytest_fynecheck.core.report import Section
    from pytest_fynecheck.plan.spec import ContextSpec


@pytest.hookspec(firstresult=True)
def pytest_fynecheck_cells(
    config: pytest.Config, contexts: list[ContextSpec]
) -> list[ContextSpec] | None:
    """The contexts to run the catalogue in, made from `contexts` (the host and
    --fynecheck-os's): the matrix plugin crosses them with Go toolchains and picks a shard.
    Called once, on the controller; xdist workers get the answer as data."""
    return None


@pytest.hookspec(firstresult=True)
def pytest_fynecheck_make_context(
    config: pytest.Config, spec: ContextSpec, project: Path, scratch: Path
) -> Context | None:
    """The factory of `spec.kind` (a row of plan/spec.py's KINDS): the Context made real,
    with `spec`'s name, environment, display and settings applied; None when the kind is
    not this plugin's. The host kind is made by run/session.py."""
    return None


def pytest_fynecheck_report_sections(config: pytest.Config) -> list[Section]:
    """Sections for the run's one terminal summary (run/report.py), and keys for the
    --fynecheck-json file (`Section.json`). Called once per run, after the last test, in
    the process that prints the summary (the xdist controller). Every plugin's sections
    are shown, ordered by `Section.order`, then title and lines; one without lines shows
    nothing. A third-party plugin (a conftest too) implements it the same way."""
    return []
