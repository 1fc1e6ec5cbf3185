"""The caches test runs keep warm. pytester points HOME at each test's tmp dir, which would
move them: so they are computed from the environment this process started with, on first
use (not at import: collecting must not need `go`)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path

import pytest

from pytest_fynecheck.core.paths import cache_dir

# A copy, taken when conftest imports this: before any test moves HOME.
_STARTED_WITH = dict(os.environ)


@functools.cache
def cache() -> Path:
    """The kit's cache as this process started: where warm builds and probes are."""
    with pytest.MonkeyPatch.context() as mp:
        for key in ("HOME", "XDG_CACHE_HOME"):
            if key in _STARTED_WITH:
                mp.setenv(key, _STARTED_WITH[key])
            else:
                mp.delenv(key, raising=False)
        return cache_dir()


@functools.cache
def cache_env() -> dict[str, str]:
    """Go's caches and the kit's, where they were when this process started. Under
    pytester's HOME they would be empty: every run would download modules and build Fyne
    cold (minutes each)."""
    done = subprocess.run(
        ["go", "env", "-json", "GOCACHE", "GOMODCACHE", "GOPATH", "GOENV"],
        capture_output=True, text=True, check=True, timeout=60, env=_STARTED_WITH,
    )
    env: dict[str, str] = json.loads(done.stdout)
    return {**env, "XDG_CACHE_HOME": str(cache().parent)}


def module_dir(module: str) -> Path:
    """`module` (PATH@VERSION) fetched through the module proxy into the warm module
    cache (read-only: copy it before anything writes); its directory."""
    done = subprocess.run(
        ["go", "mod", "download", "-json", module],
        capture_output=True, text=True, timeout=900, env={**os.environ, **cache_env()},
    )
    info = json.loads(done.stdout)
    assert done.returncode == 0 and not info.get("Error"), (done.stdout, done.stderr)
    return Path(info["Dir"])
