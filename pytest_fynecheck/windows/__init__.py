"""The Windows target: mingw-w64 cross builds, their DLL imports, and the .exe under Wine.

A context whose name is `windows` (the host) or `SUITE-windows` (a suite container) builds
with WINDOWS_ENV and runs the checks whose targets include "windows" (checks/windows.py).
Wine maps WGL onto the machine's Mesa: a window here proves the .exe loads, links every
DLL it imports and draws, not that a Windows GPU driver works.
"""

from __future__ import annotations

from pytest_fynecheck.toolchain.cross import MINGW_CC as MINGW_CC
from pytest_fynecheck.toolchain.cross import WINDOWS_ENV as WINDOWS_ENV

# `--fynecheck-os windows`: the host's mingw-w64 and Wine (the plan's `windows` kind).
# (`SUITE-windows` is a suite container with both: an image variant, see
# containers/Dockerfile.windows.)
HOST_CONTEXT = "windows"
