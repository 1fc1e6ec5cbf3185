"""The one per-run object of the kit: the runner and its contexts, progress lines, the
results that come back (with or without xdist), the reapers, and the scratch directory.
Library and feature code reach it with `core(config)`; it never imports the entry point."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from pytest_fynecheck.core import paths, reaper
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import InputError, Result
from pytest_fynecheck.core.progress import Progress, line_writer
from pytest_fynecheck.core.results import recorded
from pytest_fynecheck.plan import settings as planned
from pytest_fynecheck.plan.settings import settings
from pytest_fynecheck.plan.spec import HOST, ContextSpec, from_data, to_data
from pytest_fynecheck.run.runner import Runner
from pytest_fynecheck.toolchain import gobuild


class Closing(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=Closing)


def install_state(
    config: pytest.Config, key: pytest.StashKey[S], state: S, *, plugin: str | None = None
) -> S:
    """A feature's per-run state, one way: stashed under `key`, closed when the config
    goes, and with a `plugin` name a plugin itself, so its hooks see the reports that come
    back from xdist workers."""
    config.stash[key] = state
    if plugin is not None:
        config.pluginmanager.register(state, plugin)
    config.add_cleanup(state.close)
    return state


class Session:
    """Per-run state: the runner (created on first use), results, progress."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._runner: Runner | None = None
        self.results: list[Result] = []
        self._scratch: paths.Scratch | None = None
        self._plan: list[ContextSpec] | None = None
        # Every context of this process reports through it: one stream of lines.
        self.progress = Progress(line_writer(config))
        # Plugins' additions to the --fynecheck-json file (the matrix plugin's cells).
        self.json_extra: dict[str, Any] = {}

    def project(self, given: str | Path | None = None) -> Path:
        """`given` (relative to the invocation directory), else --fynecheck-project, the
        ini, or the invocation directory."""
        opt = given or settings(self.config).core.project
        base = self.config.invocation_params.dir
        return (base / opt).resolve() if opt else base

    def reap(self) -> None:
        """Once per run, on the controller: end the display servers and remove the scratch
        killed runs left, and end the builds they left writing into the build cache. The
        cache's leftovers and excess go when the report is made (`cache_summary`), not
        here, before the first check: stat()ing every build took 0.1 s of each start.
        (Containers are reaped by labels when a process starts its first one, so a run
        that uses none touches no engine: ContainerContext.start.)"""
        ended = reaper.reap_processes()
        gobuild.end_orphan_builds(paths.cache_dir())
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if ended and reporter is not None:
            reporter.write_line(
                # Recorded processes: display servers, and the web target's browser.
                f"fynecheck: ended {len(ended)} process(es) left by killed runs "
                f"(pids {', '.join(map(str, ended))})"
            )

    def sweep_cache(self) -> gobuild.Swept:
        """The build cache of every project, bounded (ini fynecheck_cache_size)."""
        return gobuild.sweep(paths.cache_dir(), settings(self.config).core.cache_size)

    def cache_summary(self) -> str:
        """The report's line on the build cache, after bounding it; also in the JSON."""
        swept = self.sweep_cache()
        limit = settings(self.config).core.cache_size
        self.json_extra["build_cache"] = {
            "path": str(paths.cache_dir()), "bytes": swept.size, "builds": swept.builds,
            "limit_bytes": limit, "busy_builds": swept.busy,
        }
        removed = (f"; removed {swept.removed} least recently used build(s) to stay within it"
                   if swept.removed else "")
        # The bound is on what no live run uses: a build another run is making or about to
        # run is kept, and the cache stays above the bound until that run ends.
        busy = (f"; {swept.busy} build(s) in use by live runs keep it above the bound"
                if swept.busy else "")
        return (f"fynecheck: build cache {human_size(swept.size)} in {swept.builds} build(s) "
                f"of at most {human_size(limit)} (fynecheck_cache_size), {paths.cache_dir()}"
                f"{removed}{busy}")

    def runner(self) -> Runner:
        if self._runner is None:
            self._scratch = paths.Scratch("fynecheck-")
            self._runner = Runner(self.make_context, idle=self.progress.flush)
        return self._runner

    def make_context(self, name: str) -> Context:
        assert self._scratch is not None
        scratch = Path(self._scratch.name) / name
        scratch.mkdir(exist_ok=True)
        return make_context(self.config, self.spec(name), self.project(), scratch)

    def plan(self) -> list[ContextSpec]:
        """Where this run's checks run: the contexts, crossed with Go toolchains and
        sharded by the matrix plugin. Made once, on the controller; a worker has the
        controller's, as data (`pytest_configure_node`)."""
        if self._plan is None:
            shipped = getattr(self.config, "workerinput", {}).get(_WORKERINPUT)
            if shipped is not None:
                self._plan = [from_data(ContextSpec, c) for c in shipped]
            else:
                base = list(settings(self.config).contexts)
                # No checks, no cells: a run without --fynecheck resolves no toolchain.
                cells = self.config.hook.pytest_fynecheck_cells(
                    config=self.config, contexts=base
                ) if settings(self.config).core.fynecheck else None
                self._plan = base if cells is None else list(cells)
        return self._plan

    def spec(self, name: str) -> ContextSpec:
        """The context called `name`: one of the plan's, or the host (the fyne_ready marker's)."""
        for spec in (*self.plan(), *settings(self.config).contexts):
            if spec.name == name:
                return spec
        raise pytest.UsageError(f"fynecheck: the context {name!r} is not in this run's plan")

    def context_names(self) -> list[str]:
        return [c.name for c in self.plan()]

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist, on the controller: a worker gets the settings and the plan as data."""
        planned.ship(self.config, node.workerinput)
        node.workerinput[_WORKERINPUT] = to_data(self.plan())

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Every kind of result reaches the controller this one way, with or without xdist.
        self.progress.flush()
        if report.when == "call":
            self.results += recorded(report.user_properties)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
        if self._scratch is not None:
            self._scratch.cleanup()


_SESSION = pytest.StashKey[Session]()
_WORKERINPUT = "fynecheck_plan"


def start_session(config: pytest.Config) -> Session:
    """Made once, by the entry point's pytest_configure; a plugin so it sees the reports."""
    return install_state(config, _SESSION, Session(config), plugin="fynecheck-state")


def core(config: pytest.Config) -> Session:
    """This run's Session, for the core and the feature plugins."""
    return config.stash[_SESSION]


def human_size(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.1f} {unit}"
    return f"{size} B"


def host_context(
    config: pytest.Config, project: Path, scratch: Path, spec: ContextSpec | None = None
) -> Context:
    """A context on this machine, made as `spec` says (default: the plan's host)."""
    spec = spec or settings(config).contexts[0]
    ctx = Context(
        project,
        scratch,
        paths.cache_dir(),
        timeout=settings(config).core.timeout,
        progress=core(config).progress,
        display_mode=spec.display,
        tags=list(settings(config).core.tags),
    )
    ctx.name = spec.name
    _temp_in_scratch(ctx.environ, scratch)
    ctx.environ.update(spec.env)
    ctx.settings = dataclasses.replace(spec.settings, artifacts=paths.artifact_dir(config))
    return ctx


def make_context(config: pytest.Config, spec: ContextSpec, project: Path, scratch: Path
                 ) -> Context:
    """`spec` made real: the host here, any other kind by its plugin's factory."""
    if spec.kind == HOST:
        return host_context(config, project, scratch, spec)
    made: Context | None = config.hook.pytest_fynecheck_make_context(
        config=config, spec=spec, project=project, scratch=scratch
    )
    if made is None:
        raise InputError(f"{spec.name}: no plugin makes contexts of kind {spec.kind!r}")
    return made


def _temp_in_scratch(environ: dict[str, str], scratch: Path) -> None:
    """TMPDIR of what the run starts: a dir in its scratch, which goes with the run. A
    program ended on interrupt cannot remove its own temp dirs (go build's go-build*,
    its linker's go-link-*). Only when the scratch is in the user's TMPDIR: an unusable
    one stays, for go.env to name."""
    given = Path(environ.get("TMPDIR") or "/tmp")
    if given.is_dir() and scratch.resolve().is_relative_to(given.resolve()):
        (scratch / "tmp").mkdir(exist_ok=True)
        environ["TMPDIR"] = str(scratch / "tmp")
