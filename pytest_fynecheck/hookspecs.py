"""Hooks through which feature plugins add where checks run. Bodies are never called."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_fynecheck.core.context import Context


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
