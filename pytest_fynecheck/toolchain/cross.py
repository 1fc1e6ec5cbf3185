"""Cross builds: what `go build` needs to make a cgo (Fyne) app for 64-bit Windows with
mingw-w64, and a WebAssembly app for the browser. Here, below containers and the plan,
because both set it (a SUITE-windows or SUITE-web container, the plan's windows and web
kinds); the Windows and web features re-export it."""

from __future__ import annotations

MINGW_CC = "x86_64-w64-mingw32-gcc"
WINDOWS_ENV = {
    "GOOS": "windows",
    "GOARCH": "amd64",
    "CGO_ENABLED": "1",
    "CC": MINGW_CC,
    "CXX": "x86_64-w64-mingw32-g++",
}

# Fyne's browser driver is pure Go (gl-js, glfw-js): no cgo for js/wasm.
WEB_ENV = {"GOOS": "js", "GOARCH": "wasm", "CGO_ENABLED": "0"}
