"""The kit's folders, one module: the build cache, scratch, the artifacts a user reads
after the run, reproducers, and the probe sources the package ships. Every layer finds
a folder here; nothing asks the session for one.

Importing it loads no pytest (the toolchain and benches use it outside a run).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_fynecheck.core import reaper

if TYPE_CHECKING:
    import pytest

# Probe programs (C and Go sources) shipped with the package.
PROBES_DIR = Path(__file__).resolve().parent.parent / "probes"


def cache_dir() -> Path:
    """Content-keyed builds and probes, shared by every project and run."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-fynecheck"


def scratch_dir(prefix: str = reaper.SCRATCH_PREFIX) -> Path:
    """A new private directory in the temp dir, recorded: when this process is killed,
    the next run's `reaper.reap_processes` removes it. Whoever makes it removes it when
    done."""
    if not prefix.startswith(reaper.SCRATCH_PREFIX):
        raise ValueError(f"scratch prefix {prefix!r} must start with {reaper.SCRATCH_PREFIX!r}")
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        reaper.record_dir(path)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


class Scratch:
    """A run's scratch directory, recorded (`scratch_dir`) so that the next run removes
    it when this one is killed; `cleanup` removes it when this one ends."""

    def __init__(self, prefix: str) -> None:
        self.name = str(scratch_dir(prefix))

    def cleanup(self) -> None:
        shutil.rmtree(self.name, ignore_errors=True)


def reproducer_dir(given: str | None) -> Path | None:
    """Where reproducers of failures go: --fynecheck-reproducer DIR as given (relative
    to the working directory); None: no reproducers are written."""
    return Path(given) if given else None


@functools.cache
def _artifacts_key() -> pytest.StashKey[Path]:
    import pytest  # here: importing paths loads no pytest

    return pytest.StashKey[Path]()


_ARTIFACTS_LOCK = threading.Lock()  # contexts are made by the runner's threads


def artifact_dir(config: pytest.Config) -> Path:
    """Screenshots, logs and reproducers the user reads after the run: .pytest_cache/d/
    fynecheck, else (-p no:cacheprovider) this run's directory under pytest's basetemp,
    which pytest bounds (the last 3 runs), else recorded scratch, removed by a later run
    once this one has ended. One directory per run and process."""
    with _ARTIFACTS_LOCK:
        key = _artifacts_key()
        if key not in config.stash:
            cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
            temps: pytest.TempPathFactory | None = getattr(config, "_tmp_path_factory", None)
            if cache is not None:
                path: Path = cache.mkdir("fynecheck")
            elif temps is not None:
                path = temps.mktemp("fynecheck-artifacts")
            else:  # -p no:tmpdir too
                path = scratch_dir("fynecheck-artifacts-")
            config.stash[key] = path
        return config.stash[key]
