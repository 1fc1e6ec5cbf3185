"""Hooks through which feature plugins add where checks run. Bodies are never called.
(A new kind of context is a row of plan/spec.py's KINDS, not a hook.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_fynecheck.plan.spec import ContextSpec


@pytest.hookspec(firstresult=True)
def pytest_fynecheck_cells(
    config: pytest.Config, contexts: list[ContextSpec]
) -> list[ContextSpec] | None:
    """The contexts to run the catalogue in, made from `contexts` (the host and
    --fynecheck-os's): the matrix plugin crosses them with Go toolchains and picks a shard.
    Called once, on the controller; xdist workers get the answer as data."""
    return None
