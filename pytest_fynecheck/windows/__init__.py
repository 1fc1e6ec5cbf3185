"""The Windows target: mingw-w64 cross builds, their DLL imports, and the .exe under Wine.

A context whose name is `windows` (the host) or `SUITE-windows` (a suite container) builds
with WINDOWS_ENV and runs the checks whose targets include "windows" (checks/windows.py).
Wine maps WGL onto the machine's Mesa: a window here proves the .exe loads, links every
DLL it imports and draws, not that a Windows GPU driver works.
"""

from __future__ import annotations

# What `go build` needs to cross-build a cgo (Fyne) app for 64-bit Windows.
MINGW_CC = "x86_64-w64-mingw32-gcc"
WINDOWS_ENV = {
    "GOOS": "windows",
    "GOARCH": "amd64",
    "CGO_ENABLED": "1",
    "CC": MINGW_CC,
    "CXX": "x86_64-w64-mingw32-g++",
}

# `--fynecheck-os windows`: the host's mingw-w64 and Wine. (`SUITE-windows` is a suite
# container with both: an image variant, see containers/Dockerfile.windows.)
HOST_CONTEXT = "windows"
