"""The pytest side of checking a user's command in modes, one way for the watcher check and
the reload oracle: `--fynecheck-NAME CMD` and `--fynecheck-NAME-mode` (options.py
registers them, settings.Command holds them), the `fyne_NAME` marker, one `NAME[MODE]`
item per mode, the fixture's kit, and bad input as one usage error before anything runs.

Items are added only when asked: `--fynecheck-NAME CMD`, or `--fynecheck` with the ini
`fynecheck_NAME` set.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import pytest

from pytest_fynecheck.containers.images import Target
from pytest_fynecheck.core.model import InputError, Result, Status
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.core.results import record
from pytest_fynecheck.core.workers import is_worker
from pytest_fynecheck.plan.settings import Command, settings
from pytest_fynecheck.run.items import add_items
from pytest_fynecheck.run.session import host_context

if TYPE_CHECKING:
    from pytest_fynecheck.containers.context import ContainerContext
    from pytest_fynecheck.containers.starter import ContainerStarter

# The engine probe and container start load where a mode uses them: the watcher and
# reload plugins import this module at every pytest start.

R = TypeVar("R")  # what one run of the check returns


@dataclasses.dataclass(frozen=True)
class CommandCheck:
    """The names one check goes by: `name` gives its option, ini, marker and items."""

    name: str  # "watcher", "reload"

    @property
    def option(self) -> str:
        return f"--fynecheck-{self.name}"

    @property
    def ini(self) -> str:
        return f"fynecheck_{self.name}"

    @property
    def marker(self) -> str:
        return f"fyne_{self.name}"

    def given(self, config: pytest.Config) -> Command:
        """This run's command and modes for this check."""
        return settings(config).command(self.name)

    def command(self, config: pytest.Config) -> str:
        """The command this run checks as items: the option, or the ini with --fynecheck."""
        return self.given(config).items_command(settings(config).core.fynecheck)

    def modes(self, config: pytest.Config) -> list[str]:
        return list(self.given(config).modes)

    def marked(self, item: pytest.Item) -> tuple[Any, list[str] | None] | None:
        """The marker's command and modes, None without the marker."""
        marker = item.get_closest_marker(self.marker)
        if marker is None:
            return None
        cmd = marker.kwargs.get("cmd") or (marker.args[0] if marker.args else None)
        modes = marker.kwargs.get("modes")
        return cmd, [modes] if isinstance(modes, str) else modes

    def chosen(self, item: pytest.Item) -> tuple[Any, list[str]]:
        """What a test's fixture or marker checks: the marker's, else the option or ini."""
        cmd, modes = self.marked(item) or (None, None)
        config = item.config
        cmd = cmd or self.given(config).default
        return cmd or None, list(modes or self.modes(config))

    def validate_at_start(
        self,
        session: pytest.Session,
        validate: Callable[[pytest.Config, str, list[str]], None],
        errors: tuple[type[Exception], ...] = (InputError,),
    ) -> None:
        """Run `validate` on the session's command and modes in the controller; its
        `errors` become one usage error."""
        config = session.config
        cmd = self.command(config)
        if not cmd or is_worker(config):
            return
        try:
            validate(config, cmd, self.modes(config))
        except errors as exc:
            raise pytest.UsageError(f"fynecheck {self.name}: {exc}") from None

    def add_items(
        self, session: pytest.Session, items: list[pytest.Item], kind: type[ModeItem]
    ) -> None:
        """One `kind` item per mode for the session's command (from a tryfirst
        pytest_collection_modifyitems)."""
        config = session.config
        cmd = self.command(config)
        if not cmd:
            return

        def make(parent: pytest.Collector) -> list[pytest.Item]:
            return [
                kind.from_parent(parent, name=f"{self.name}[{m}]", cmd=cmd, mode=m)
                for m in self.modes(config)
            ]

        add_items(session, items, make)

    def setup_marked(
        self, item: pytest.Item, kit: Callable[[pytest.Item], Kit[Any]],
        errors: Callable[[], tuple[type[Exception], ...]],
    ) -> None:
        """The marker's check, before a test that does not run it through the fixture.
        `errors` is called only then: it imports the harness, and with it Hypothesis."""
        if self.marked(item) is None or self.marker in getattr(item, "fixturenames", ()):
            return
        try:
            kit(item).check()
        except errors() as exc:
            pytest.fail(f"{self.marker}: {exc}", pytrace=False)


def container_starter(config: pytest.Config) -> ContainerStarter:
    """How modes start a suite's container in this run."""

    def start(suite: str, scratch: Path, readonly: Sequence[Path]) -> ContainerContext:
        from pytest_fynecheck.containers.start import start_container

        host = host_context(config, config.invocation_params.dir, scratch)
        return start_container(host, Target(suite), readonly=readonly)

    return start


def require_engine(modes: Sequence[str]) -> None:
    """Modes other than local need a Docker engine: one clear error naming them."""
    remote = [m for m in modes if m != "local"]
    if remote:
        from pytest_fynecheck.containers.engine import missing_engine

        reason = missing_engine(cache_dir())
        if reason is not None:
            raise InputError(f"modes {', '.join(remote)}: {reason}")


class ModeItem(pytest.Item):
    """One check of one command in one mode; failures are its message, no traceback."""

    check: ClassVar[CommandCheck]
    title: ClassVar[str]  # the doctor table's title, before the command

    def __init__(self, *, cmd: str, mode: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.cmd = cmd
        self.mode = mode

    @staticmethod
    def errors() -> tuple[type[Exception], ...]:
        """What a failed check raises (a function: the harnesses import slowly)."""
        raise NotImplementedError

    def record(self, status: Status, detail: str) -> None:
        """Into the doctor table: a result of this check's kind, where = the mode."""
        title = f"{self.title}: {self.cmd}"
        record(self, Result(self.check.name, title, status, detail, where=self.mode,
                            kind=self.check.name))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, self.errors()):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"fynecheck {self.check.name} [{self.mode}]: {self.cmd}"


class Kit(Generic[R]):
    """What a `fyne_NAME` fixture gives: the check on demand, in one mode or every one."""

    def __init__(
        self,
        check: CommandCheck,
        run: Callable[[pytest.Config, Any, str], R],
        config: pytest.Config,
        cmd: Any,
        modes: list[str],
    ) -> None:
        self._check = check
        self._run = run
        self._config = config
        self._cmd = cmd
        self.modes = modes

    @property
    def cmd(self) -> Any:
        if not self._cmd:
            c = self._check
            raise pytest.UsageError(
                f"{c.marker}: no {c.name} command; use the marker's cmd=, {c.option} or ini {c.ini}"
            )
        return self._cmd

    def check(self, mode: str | None = None) -> list[R]:
        """Run the property in `mode` (default: every mode); raises on a failure."""
        return [self._run(self._config, self.cmd, m) for m in ([mode] if mode else self.modes)]
