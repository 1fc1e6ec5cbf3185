"""Go programs the watcher harness runs, built once per content into the kit's cache
(through the one cached Go build, gobuild)."""

from __future__ import annotations

import os
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.toolchain.gobuild import cached_build, go_sources

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "probes" / "watcher"


def build_go(module: Path, package: str = ".", *, cache: Path, timeout: float = 300.0) -> Path:
    """Build `module/package` to `cache/go/<name>-<key>/<name>`; reuse it when it exists.

    The key covers go.mod, go.sum, the package's sources and the Go toolchain, so an edit
    rebuilds and a repeat run does not.
    """
    module = module.resolve()
    pkg_dir = (module / package).resolve()
    ctx = Context(module, module, cache, timeout=timeout)
    return cached_build(
        ctx,
        module,
        "./" + os.path.relpath(pkg_dir, module),
        pkg_dir.name,
        kind="go",
        key_parts=go_sources(module, pkg_dir),
        # Static (no cgo): the same binary runs on the host and in every suite container.
        env={"GOFLAGS": "-mod=readonly -buildvcs=false", "CGO_ENABLED": "0"},
    ).path


def reference_watcher(cache: Path) -> Path:
    """The kit's own fsnotify watcher (probes/watcher), built for this machine."""
    return build_go(REFERENCE_DIR, cache=cache)
