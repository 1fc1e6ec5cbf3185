"""pytest side of the matrix: `--fynecheck-go` (a Go toolchain axis), `--fynecheck-shard`
and `--fynecheck-matrix-json` (CI's job matrix runs the cells), and `--fynecheck-summary`
(registered in options.py, checked in settings.py).

A cell is a context crossed with a toolchain; this plugin plans the cells (the
`pytest_fynecheck_cells` hook) and makes the `+goX.Y.Z` ones (its
`pytest_fynecheck_make_context`, the factory of the plan's `go` kind): the base context,
made by its own kind's factory, with GOTOOLCHAIN pinned.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

import pytest

from pytest_fynecheck.core import process, report
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.core.paths import Scratch
from pytest_fynecheck.core.workers import is_worker
from pytest_fynecheck.matrix import cells as matrix_cells
from pytest_fynecheck.matrix import merge, summary, toolchains
from pytest_fynecheck.plan.settings import matrix_json_only, settings
from pytest_fynecheck.plan.spec import LOCAL, ContextSpec
from pytest_fynecheck.run.session import core, host_context, install_state, make_context


class MatrixState:
    """The matrix of this run, resolved once (asking the proxy for `1.22`, `stable`)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        given = settings(config).matrix
        self.specs = list(given.go)
        self.shard = given.shard
        self._toolchains: list[str] | None = None
        self._plan: list[ContextSpec] | None = None
        self._scratch: Scratch | None = None  # recorded: reaped if this run is killed
        self._host: Context | None = None

    def host(self) -> Context:
        """The host, for the go commands that resolve and fetch toolchains."""
        if self._host is None:
            self._scratch = Scratch("fynecheck-matrix-")
            self._host = host_context(self.config, self.config.invocation_params.dir,
                                      Path(self._scratch.name))
        return self._host

    def toolchains(self) -> list[str]:
        if self._toolchains is None:
            try:
                self._toolchains = toolchains.resolve(self.host(), self.specs) or [LOCAL]
            except InputError as exc:
                raise pytest.UsageError(str(exc)) from None
        return self._toolchains

    def plan(self, contexts: list[ContextSpec]) -> list[ContextSpec]:
        if self._plan is None:
            self._plan = matrix_cells.plan(contexts, self.toolchains())
        return self._plan

    def mine(self, contexts: list[ContextSpec]) -> list[ContextSpec]:
        every = self.plan(contexts)
        if self.shard is None:
            return every
        try:
            return matrix_cells.shard(every, *self.shard)
        except InputError as exc:
            raise pytest.UsageError(str(exc)) from None

    def close(self) -> None:
        if self._host is not None:
            self._host.close()
            self._host = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


_STATE = pytest.StashKey[MatrixState]()


def pytest_configure(config: pytest.Config) -> None:
    install_state(config, _STATE, MatrixState(config))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if not matrix_json_only(config):
        return None
    config._do_configure()  # as --markers does: the plugins' contexts need a configured run
    try:
        every = config.stash[_STATE].plan(list(settings(config).contexts))
        # One line: `echo "matrix=$(pytest ...)" >> $GITHUB_OUTPUT` takes exactly this.
        sys.stdout.write(json.dumps(matrix_cells.github_matrix(every)) + "\n")
        sys.stdout.flush()
    except pytest.UsageError as exc:
        sys.stderr.write(f"ERROR: {exc}\n")
        return 4
    finally:
        config._ensure_unconfigure()
    return 0


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if settings(config).core.fynecheck and not is_worker(config):
        # Bad versions or shards stop the run here, before collection, as usage errors.
        core(config).plan()


def pytest_fynecheck_cells(config: pytest.Config, contexts: list[ContextSpec]
                           ) -> list[ContextSpec]:
    return config.stash[_STATE].mine(contexts)


def pytest_fynecheck_make_context(
    config: pytest.Config, spec: ContextSpec, project: Path, scratch: Path
) -> Context | None:
    """The `go` kind's factory (plan/spec.py KINDS): its base context, made by the base
    kind's factory with the cell's name, GOTOOLCHAIN and settings."""
    if spec.kind != "go":
        return None
    assert spec.base is not None and spec.go != LOCAL
    # Go fetches the toolchain into the module cache: containers (no network) read it there.
    toolchains.fetch(config.stash[_STATE].host(), spec.go)
    return make_context(config, dataclasses.replace(spec, kind=spec.base.kind, base=None),
                        project, scratch)


def pytest_fynecheck_report_sections(config: pytest.Config) -> list[report.Section]:
    """The matrix this run is part of (a key of --fynecheck-json), and the summary pages,
    written here."""
    lead = core(config)
    if not lead.results:
        return []
    state = config.stash[_STATE]
    base = list(settings(config).contexts)
    every = [c.name for c in state.plan(base)]
    ran = lead.context_names()
    shard = f"{state.shard[0]}/{state.shard[1]}" if state.shard else None
    results = merge.ordered(report.checks_only(lead.results), ran)
    thumbs = summary.thumbnails(results)
    targets = []
    path = settings(config).matrix.summary
    if path:
        targets.append((Path(path), False))
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        targets.append((Path(os.environ["GITHUB_STEP_SUMMARY"]), True))
    lines = []
    for where, append in targets:
        summary.write(where, results, ran, thumbs, append=append,
                      interrupted=process.interrupted())
        lines.append(f"fynecheck: summary written to {where}")
    meta = merge.meta(every, shard, ran, thumbs)
    return [report.Section("", tuple(lines), order=report.Order.FILES, json={"matrix": meta})]
