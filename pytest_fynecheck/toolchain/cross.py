"""Cross builds: what `go build` needs to make a cgo (Fyne) app for 64-bit Windows with
mingw-w64. Here, below containers and the plan, because both set it (a SUITE-windows
container, the plan's windows kinds); the Windows feature re-exports it."""

from __future__ import annotations

MINGW_CC = "x86_64-w64-mingw32-gcc"
WINDOWS_ENV = {
    "GOOS": "windows",
    "GOARCH": "amd64",
    "CGO_ENABLED": "1",
    "CC": MINGW_CC,
    "CXX": "x86_64-w64-mingw32-g++",
}
