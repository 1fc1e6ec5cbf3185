"""Embed vs reload drift: does a built binary still match the tree dev-mode reload reads?

The names load on first use (PEP 562): the drift plugin, loaded in every pytest start,
imports `drift.report`; the comparison (debug/buildinfo, bundle and embed readers) loads
only when a run compares a binary.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_fynecheck.drift.check import check, read_buildinfo
    from pytest_fynecheck.drift.report import DriftReport, aspect

_HOME = {
    "check": "check",
    "read_buildinfo": "check",
    "DriftReport": "report",
    "aspect": "report",
}

__all__ = ["DriftReport", "aspect", "check", "read_buildinfo"]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    # Importing the submodule `drift.check` binds the package's `check` to that module;
    # the name is the function, as it was when this file imported it eagerly.
    globals()[name] = value
    return value
