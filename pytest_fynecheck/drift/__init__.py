"""Embed vs reload drift: does a built binary still match the tree dev-mode reload reads?"""

from pytest_fynecheck.drift.check import check, read_buildinfo
from pytest_fynecheck.drift.report import DriftReport, aspect

__all__ = ["DriftReport", "aspect", "check", "read_buildinfo"]
