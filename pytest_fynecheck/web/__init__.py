"""The web target: the app built for js/wasm, served on 127.0.0.1, and loaded in headless
Chromium, which must draw a non-blank canvas with no page error or Go panic.

A context whose name is `web` (the host) or `SUITE-web` (a suite container) builds with
WEB_ENV and runs the checks whose targets include "web" (checks/web.py).
"""

from __future__ import annotations

from pytest_fynecheck.toolchain.cross import WEB_ENV as WEB_ENV

# `--fynecheck-os web`: the host's Go and Chromium (the plan's `web` kind).
# (`SUITE-web` is a suite container with Chromium: an image variant, see
# containers/Dockerfile.web.)
HOST_CONTEXT = "web"
