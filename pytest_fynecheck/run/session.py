"""The one per-run object of the kit: the runner and its contexts, progress lines, the
results that come back (with or without xdist), the reapers, and the scratch directory.
Library and feature code reach it with `core(config)`; it never imports the entry point."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from pytest_fynecheck.core import reaper
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import Result
from pytest_fynecheck.core.progress import Progress, line_writer
from pytest_fynecheck.core.results import recorded
from pytest_fynecheck.plan.settings import settings
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
        self._scratch: Scratch | None = None
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
        gobuild.end_orphan_builds(cache_dir())
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if ended and reporter is not None:
            reporter.write_line(
                f"fynecheck: ended {len(ended)} display server(s) left by killed runs "
                f"(pids {', '.join(map(str, ended))})"
            )

    def sweep_cache(self) -> gobuild.Swept:
        """The build cache of every project, bounded (ini fynecheck_cache_size)."""
        return gobuild.sweep(cache_dir(), settings(self.config).core.cache_size)

    def cache_summary(self) -> str:
        """The report's line on the build cache, after bounding it; also in the JSON."""
        swept = self.sweep_cache()
        limit = settings(self.config).core.cache_size
        self.json_extra["build_cache"] = {
            "path": str(cache_dir()), "bytes": swept.size, "builds": swept.builds,
            "limit_bytes": limit,
        }
        removed = (f"; removed {swept.removed} least recently used build(s) to stay within it"
                   if swept.removed else "")
        return (f"fynecheck: build cache {human_size(swept.size)} in {swept.builds} build(s) "
                f"of at most {human_size(limit)} (fynecheck_cache_size), {cache_dir()}"
                f"{removed}")

    def runner(self) -> Runner:
        if self._runner is None:
            self._scratch = Scratch("fynecheck-")
            self._runner = Runner(self.make_context, idle=self.progress.flush)
        return self._runner

    def make_context(self, name: str) -> Context:
        assert self._scratch is not None
        scratch = Path(self._scratch.name) / name
        scratch.mkdir(exist_ok=True)
        if name == "host":
            return host_context(self.config, self.project(), scratch)
        made = self.config.hook.pytest_fynecheck_make_context(
            config=self.config, name=name, project=self.project(), scratch=scratch, environ={}
        )
        if made is None:
            raise pytest.UsageError(f"fynecheck: no plugin knows the context {name!r}")
        context: Context = made
        return context

    def base_contexts(self) -> list[str]:
        extra = [
            n
            for names in self.config.hook.pytest_fynecheck_contexts(config=self.config)
            for n in names
        ]
        return ["host", *extra]

    def context_names(self) -> list[str]:
        """Where this run's checks run: the contexts, as the matrix plugin's cells."""
        base = self.base_contexts()
        cells = self.config.hook.pytest_fynecheck_cells(config=self.config, contexts=base)
        return base if cells is None else list(cells)

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


def cache_dir() -> Path:
    """Content-keyed builds and probes, shared by every project and run."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-fynecheck"


def host_context(config: pytest.Config, project: Path, scratch: Path) -> Context:
    """A context on this machine, set up from the run's settings."""
    s = settings(config).core
    ctx = Context(
        project,
        scratch,
        cache_dir(),
        timeout=s.timeout,
        progress=core(config).progress,
        display_mode=s.display,
        tags=list(s.tags),
    )
    _temp_in_scratch(ctx.environ, scratch)
    ctx.settings.update(
        window_title=s.window_title,
        package=s.package,
        app_args=list(s.app_args),
        window_timeout=s.window_timeout,
        artifacts=artifact_dir(config),
        # For glibc.portability: the suites a Linux build must start on.
        glibc_suites=list(s.glibc_suites),
        os_names=list(settings(config).containers.os_names),
    )
    return ctx


def _temp_in_scratch(environ: dict[str, str], scratch: Path) -> None:
    """TMPDIR of what the run starts: a dir in its scratch, which goes with the run. A
    program ended on interrupt cannot remove its own temp dirs (go build's go-build*,
    its linker's go-link-*). Only when the scratch is in the user's TMPDIR: an unusable
    one stays, for go.env to name."""
    given = Path(environ.get("TMPDIR") or "/tmp")
    if given.is_dir() and scratch.resolve().is_relative_to(given.resolve()):
        (scratch / "tmp").mkdir(exist_ok=True)
        environ["TMPDIR"] = str(scratch / "tmp")


class Scratch:
    """A run's scratch directory, recorded (`reaper.scratch_dir`) so that the next run
    removes it when this one is killed; `cleanup` removes it when this one ends."""

    def __init__(self, prefix: str) -> None:
        self.name = str(reaper.scratch_dir(prefix))

    def cleanup(self) -> None:
        shutil.rmtree(self.name, ignore_errors=True)


_ARTIFACTS = pytest.StashKey[Path]()
_ARTIFACTS_LOCK = threading.Lock()  # contexts are made by the runner's threads


def artifact_dir(config: pytest.Config) -> Path:
    """Screenshots, logs and reproducers the user reads after the run: .pytest_cache/d/
    fynecheck, else (-p no:cacheprovider) this run's directory under pytest's basetemp,
    which pytest bounds (the last 3 runs), else recorded scratch, removed by a later run
    once this one has ended. One directory per run and process."""
    with _ARTIFACTS_LOCK:
        return _artifact_dir(config)


def _artifact_dir(config: pytest.Config) -> Path:
    if _ARTIFACTS not in config.stash:
        cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
        temps: pytest.TempPathFactory | None = getattr(config, "_tmp_path_factory", None)
        if cache is not None:
            path: Path = cache.mkdir("fynecheck")
        elif temps is not None:
            path = temps.mktemp("fynecheck-artifacts")
        else:  # -p no:tmpdir too
            path = reaper.scratch_dir("fynecheck-artifacts-")
        config.stash[_ARTIFACTS] = path
    return config.stash[_ARTIFACTS]
