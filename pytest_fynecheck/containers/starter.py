"""A suite container that watcher and reload modes share across examples: how it is
started (`ContainerStarter`) and its scratch directory, each made on first use."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from pytest_fynecheck.core import reaper

if TYPE_CHECKING:
    from pytest_fynecheck.containers.context import ContainerContext


class ContainerStarter(Protocol):
    """Starts a suite's container with `scratch` and `readonly` mounted at their own paths."""

    def __call__(
        self, suite: str, scratch: Path, readonly: Sequence[Path]
    ) -> ContainerContext: ...


class SuiteContainer:
    """A mode's suite container and the private scratch directory mounted in it (its
    symlinks resolved: paths must be the same on both sides), each made on first use;
    close() removes both. Subclasses say how the container starts (`sandbox`)."""

    scratch_prefix: ClassVar[str]

    def __init__(
        self, suite: str, start: ContainerStarter, readonly: Sequence[Path], base: Path | None
    ) -> None:
        self.suite = suite
        self._start = start
        self._readonly = list(readonly)
        self._base = base
        self._scratch: Path | None = None
        self.ctx: ContainerContext | None = None

    @property
    def scratch(self) -> Path:
        if self._scratch is None:
            made = tempfile.mkdtemp(prefix=self.scratch_prefix, dir=self._base)
            reaper.record_dir(made)  # a killed run's: removed by the next run
            self._scratch = Path(os.path.realpath(made))
            self._prepare(self._scratch)
        return self._scratch

    def _prepare(self, scratch: Path) -> None:
        """Fill a new scratch directory before any container mounts it."""

    def container(
        self, check: Callable[[ContainerContext], None] | None = None
    ) -> ContainerContext:
        """The container, started on first use. `check` (e.g. require_shared) failing
        removes it again: the mode stays unstarted, and a later call cannot start a
        second container over a first nobody would remove."""
        if self.ctx is None:
            ctx = self._start(self.suite, self.scratch, self._readonly)
            try:
                if check is not None:
                    check(ctx)
            except BaseException:
                ctx.close()
                raise
            self.ctx = ctx
        return self.ctx

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.close()
            self.ctx = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
