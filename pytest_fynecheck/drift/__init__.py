"""Embed vs reload drift: does a built binary still match the tree dev-mode reload reads?"""

from pytest_fynecheck.drift.check import check, read_buildinfo
from pytest_fynecheck.drift.report import Aspect, DriftReport, Verdict

__all__ = ["Aspect", "DriftReport", "Verdict", "check", "read_buildinfo"]
