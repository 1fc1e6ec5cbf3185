"""Hooks through which feature plugins add where checks run and what the report shows.
Bodies are never called."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.report import Section


def pytest_fynecheck_contexts(config: pytest.Config) -> list[str]:
    """Names of contexts besides the host to run the readiness catalogue in (e.g. OS suites)."""
    return []


@pytest.hookspec(firstresult=True)
def pytest_fynecheck_make_context(
    config: pytest.Config, name: str, project: Path, scratch: Path, environ: dict[str, str]
) -> Context | None:
    """Make the context called `name`; the first plugin that knows the name answers.
    `environ`: variables to set in it on top of its own (e.g. a matrix cell's GOTOOLCHAIN)."""
    return None


@pytest.hookspec(firstresult=True)
def pytest_fynecheck_cells(config: pytest.Config, contexts: list[str]) -> list[str] | None:
    """The context names to run the catalogue in, made from `contexts` (host and the
    plugins' contexts): the matrix plugin crosses them with Go toolchains and picks a shard."""
    return None


def pytest_fynecheck_report_sections(config: pytest.Config) -> list[Section]:
    """Sections for the run's one terminal summary (run/report.py), and keys for the
    --fynecheck-json file (`Section.json`). Called once per run, after the last test, in
    the process that prints the summary (the xdist controller). Every plugin's sections
    are shown, ordered by `Section.order`, then title and lines; one without lines shows
    nothing. A third-party plugin (a conftest too) implements it the same way."""
    return []
