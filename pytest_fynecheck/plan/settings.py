"""What the options and ini settings of options.py say, read once at configure time,
checked, and frozen: feature code reads `settings(config)`, never `getoption`/`getini`.
A bad value is one usage error naming the option or ini and the value."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest

from pytest_fynecheck.containers.images import SUITES
from pytest_fynecheck.core.context import ContextSettings
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.core.workers import is_worker
from pytest_fynecheck.plan.spec import (
    HOST,
    ContextSpec,
    from_data,
    parse_context,
    parse_go_specs,
    to_data,
)

DISPLAY_MODES = ("auto", "host", "xvfb")
DRIFT_UNKNOWN = ("skip", "fail")

T = TypeVar("T")
P = ParamSpec("P")


@dataclasses.dataclass(frozen=True)
class Core:
    """Readiness checks, the project, the host display."""

    fynecheck: bool
    json: str | None  # absolute; its directory exists and a file there can be written
    display: str  # one of DISPLAY_MODES: the option, else the ini
    project: str  # the option, else the ini; "" is the invocation directory
    tags: tuple[str, ...]
    timeout: float  # any one external command
    cache_size: int = 2 << 30  # bytes the build cache may hold (gobuild.sweep)
    package: bool = False  # --fynecheck-package: package.* without a FyneApp.toml
    gl_minimum: bool = False  # --fynecheck-gl-minimum: gl.minimum* are planned


@dataclasses.dataclass(frozen=True)
class Containers:
    default: ContextSpec  # ini fynecheck_os: the fyne_container fixture's suite
    reproducer: str | None
    reproducer_save: bool


@dataclasses.dataclass(frozen=True)
class Matrix:
    go: tuple[str, ...]  # toolchain specs, checked, not yet resolved
    shard: tuple[int, int] | None
    matrix_json: bool
    summary: str | None  # absolute; as Core.json


@dataclasses.dataclass(frozen=True)
class Drift:
    binary: str  # the option, else the ini; "" is none
    unknown: str  # one of DRIFT_UNKNOWN


@dataclasses.dataclass(frozen=True)
class Command:
    """A user's command checked in modes (watcher, reload): `--fynecheck-NAME` and its ini."""

    option: str  # --fynecheck-NAME
    ini: str  # fynecheck_NAME
    modes: tuple[str, ...]  # the option's, else the ini's, else local

    def items_command(self, fynecheck: bool) -> str:
        """What runs as items: the option, or the ini with --fynecheck."""
        return self.option or (self.ini if fynecheck else "")

    @property
    def default(self) -> str:
        """What a fixture or marker without its own command checks."""
        return self.option or self.ini


@dataclasses.dataclass(frozen=True)
class Watcher:
    command: Command
    max_examples: int | None  # None: the Hypothesis profile's, else the kit's
    stateful_step_count: int | None
    timeout: float
    grace: float
    strict: bool
    fail_on_declared_loss: bool


@dataclasses.dataclass(frozen=True)
class Reload:
    command: Command
    max_examples: int
    stateful_step_count: int
    quiet: float
    timeout: float  # the tool's first start of the app


@dataclasses.dataclass(frozen=True)
class Baselines:
    """Screenshots compared with baselines (e2e/baselines.py)."""

    update: bool  # --fynecheck-update-baselines: write them instead of comparing
    tolerance: float  # ini fynecheck_baseline_tolerance: a share of pixels, 0..1


@dataclasses.dataclass(frozen=True)
class Settings:
    core: Core
    # Where the catalogue runs: the host, then --fynecheck-os's contexts in its order (the
    # matrix crosses them with Go toolchains: session.plan).
    contexts: tuple[ContextSpec, ...]
    containers: Containers
    matrix: Matrix
    drift: Drift
    watcher: Watcher
    reload: Reload
    baselines: Baselines = Baselines(update=False, tolerance=0.0)

    def command(self, name: str) -> Command:
        """The command check `name`'s (command_check.CommandCheck)."""
        return {"watcher": self.watcher.command, "reload": self.reload.command}[name]

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        """Every option and ini the kit reads, checked; all bad values in one usage error."""
        read = _Reader(config)
        core = _core(read)
        made = cls(
            core=core,
            contexts=_contexts(read, core),
            containers=_containers(read),
            matrix=_matrix(read),
            drift=Drift(
                binary=read.opt("--fynecheck-binary") or read.ini("fynecheck_binary"),
                unknown=read.choice("fynecheck_drift_unknown", DRIFT_UNKNOWN),
            ),
            watcher=Watcher(
                command=_command(read, "watcher"),
                max_examples=read.count("fynecheck_watcher_max_examples", required=False),
                stateful_step_count=read.count(
                    "fynecheck_watcher_stateful_step_count", required=False
                ),
                timeout=read.seconds("fynecheck_watcher_timeout"),
                grace=read.seconds("fynecheck_watcher_grace", zero=True),
                strict=bool(config.getini("fynecheck_watcher_strict")),
                fail_on_declared_loss=bool(config.getini("fynecheck_watcher_fail_on_declared_loss")),
            ),
            reload=Reload(
                command=_command(read, "reload"),
                max_examples=read.count("fynecheck_reload_max_examples") or 0,
                stateful_step_count=read.count("fynecheck_reload_stateful_step_count") or 0,
                quiet=read.seconds("fynecheck_reload_quiet"),
                timeout=read.seconds("fynecheck_reload_timeout"),
            ),
            baselines=Baselines(
                update=bool(read.opt("--fynecheck-update-baselines")),
                tolerance=read.share("fynecheck_baseline_tolerance"),
            ),
        )
        if len(read.errors) == 1:
            raise pytest.UsageError(read.errors[0])
        if read.errors:
            raise pytest.UsageError(
                f"fynecheck: {len(read.errors)} bad settings:\n  " + "\n  ".join(read.errors)
            )
        return made


class _Reader:
    """Reads raw values, collecting what is wrong (a bad value reads as a harmless one, so
    every error is found in one pass)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.errors: list[str] = []

    def opt(self, name: str) -> Any:
        return self.config.getoption(name)

    def ini(self, name: str) -> Any:
        return self.config.getini(name)

    def args(self, name: str) -> tuple[str, ...]:
        """A shell-quoted ini list; a quote left open is an error naming the ini and value."""
        try:
            return tuple(self.config.getini(name) or ())
        # shlex's "No closing quotation" (a UsageError from pytest >= 9) names neither.
        except (ValueError, pytest.UsageError) as exc:
            raw = _raw_ini(self.config, name)
            value = "" if raw is None else f" = {raw!r}"
            reason = str(exc)[:1].lower() + str(exc)[1:]
            self.errors.append(
                f"ini {name}{value}: {reason}; the value is shell-quoted, as in "
                f'{name} = -title "my app"'
            )
            return ()

    def output(self, option: str) -> str | None:
        """An output file's option (`--fynecheck-json`): made absolute, its missing
        directories made (as --junitxml does), and proven writable now, before any check
        runs, rather than failing after the run. The controller checks; workers write none."""
        given = self.opt(option)
        if not given:
            return None
        path = Path(self.config.invocation_params.dir, given)
        if not is_worker(self.config):
            problem = _unwritable(path)
            if problem is not None:
                self.errors.append(f"{option}={given}: {problem}")
        return str(path)

    def project(self) -> str:
        """--fynecheck-project, else ini fynecheck_project: an existing directory."""
        given, what = self.opt("--fynecheck-project"), "--fynecheck-project="
        if not given:
            given, what = self.ini("fynecheck_project"), "ini fynecheck_project = "
        if given:
            path = Path(self.config.invocation_params.dir, given)
            if not path.is_dir():
                problem = "is not a directory" if path.exists() else "no such directory"
                self.errors.append(f"{what}{given}: {problem} ({path})")
        return str(given or "")

    def parsed(self, parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """`parse`'s value; its InputError (which names the input) is one of the errors."""
        try:
            return parse(*args, **kwargs)
        except InputError as exc:
            self.errors.append(str(exc))
            return None

    def choice(self, name: str, known: Sequence[str], given: str | None = None) -> str:
        value = str(self.ini(name) if given is None else given).strip()
        if value not in known:
            self.errors.append(f"ini {name} must be {_either(known)}, not {value!r}")
            return known[0]
        return value

    def seconds(self, name: str, *, zero: bool = False) -> float:
        raw = str(self.ini(name)).strip()
        try:
            value = float(raw)
        except ValueError:
            self.errors.append(f"ini {name} must be a number of seconds, not {raw!r}")
            return 1.0
        if value < 0 or (value == 0 and not zero) or value != value:  # NaN too
            least = "0 or more" if zero else "more than 0"
            self.errors.append(f"ini {name} must be {least} seconds, not {raw!r}")
            return 1.0
        return value

    def size(self, option: str, name: str) -> int:
        """Bytes, from the option else the ini: 2G, 500M, 1.5GiB, 4096 (binary units)."""
        given = self.opt(option)
        raw = str(self.ini(name) if given is None else given).strip()
        found = _SIZE.match(raw)
        value = 0.0
        if found:
            unit = (found[2] or "B")[0].upper()
            value = float(found[1]) * 1024 ** "BKMGT".index(unit)
        if value < 1:
            where = option if given is not None else f"ini {name}"
            self.errors.append(f"{where} must be a size of 1 byte or more such as 2G or "
                               f"500M, not {raw!r}")
            return 2 << 30
        return int(value)

    def share(self, name: str) -> float:
        """A share from 0 to 1 (0.001 is 0.1%)."""
        raw = str(self.ini(name)).strip()
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0.0 <= value <= 1.0:  # NaN too
            self.errors.append(f"ini {name} must be a share from 0 to 1 (0.001 is 0.1%), "
                               f"not {raw!r}")
            return 0.0
        return value

    def count(self, name: str, *, required: bool = True) -> int | None:
        """A positive integer ini; blank is None unless `required`."""
        raw = str(self.ini(name)).strip()
        if not raw and not required:
            return None
        try:
            value = int(raw)
        except ValueError:
            self.errors.append(f"ini {name} must be an integer, not {raw!r}")
            return 1
        if value < 1:
            self.errors.append(f"ini {name} must be 1 or more, not {raw!r}")
            return 1
        return value


def _raw_ini(config: pytest.Config, name: str) -> str | None:
    """The ini's text as written, for an error message: pytest has no public way to read
    a value it cannot parse (pytest >= 9 keeps ConfigValue objects, older ones strings)."""
    table = getattr(config, "_inicfg", None)
    raw: Any = table.get(name) if isinstance(table, dict) else None
    raw = getattr(raw, "value", raw)
    return raw if isinstance(raw, str) else None


def _unwritable(path: Path) -> str | None:
    """Why `path` cannot be written as a file, or None (its directory then exists)."""
    if path.is_dir():
        return f"{path} is a directory; name a file"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot make its directory {path.parent} ({exc.strerror or exc})"
    if path.exists() and not path.is_file():
        # A FIFO or device: opening one to test it could block or write; ask the kernel.
        return None if os.access(path, os.W_OK) else f"cannot write {path}"
    existed = path.exists()
    try:
        # A real open (root passes access(2) checks that writes then fail); "a" keeps content.
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"cannot write {path} ({exc.strerror or exc})"
    if not existed:
        path.unlink(missing_ok=True)
    return None
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT](?:i?B)?|B)?$", re.IGNORECASE)


def _either(known: Sequence[str]) -> str:
    return ", ".join(known[:-1]) + f" or {known[-1]}"


def _core(read: _Reader) -> Core:
    given = read.opt("--fynecheck-display")  # argparse checked its choices
    return Core(
        fynecheck=bool(read.opt("--fynecheck")),
        json=read.output("--fynecheck-json"),
        display=given or read.choice("fynecheck_display", DISPLAY_MODES),
        project=read.project(),
        tags=read.args("fynecheck_tags"),
        timeout=read.seconds("fynecheck_timeout"),
        cache_size=read.size("--fynecheck-cache-size", "fynecheck_cache_size"),
        package=bool(read.opt("--fynecheck-package")),
        gl_minimum=bool(read.opt("--fynecheck-gl-minimum")),
    )


def split_names(text: str) -> list[str]:
    """`a, b c` -> [a, b, c]: how --fynecheck-os and the fyne_os marker list suites."""
    return [n.strip() for n in text.replace(" ", ",").split(",") if n.strip()]


def _contexts(read: _Reader, core: Core) -> tuple[ContextSpec, ...]:
    """The host and --fynecheck-os's contexts, with the run's display and settings."""
    given = split_names(read.opt("--fynecheck-os") or "")
    found = [c for n in given if (c := read.parsed(parse_context, n, "--fynecheck-os"))]
    if any(c.kind == HOST for c in found):
        read.errors.append("--fynecheck-os: host is always checked; name the other contexts")
    # glibc.portability's suites: the ini's, else --fynecheck-os's Linux suites.
    named = read.args("fynecheck_glibc_suites")
    glibc = [c for n in named if (c := read.parsed(
        parse_context, n, "ini fynecheck_glibc_suites", suites_only=True))]
    # package.install's suites: the ini's, else --fynecheck-os's Linux suites.
    packs = [c for n in read.args("fynecheck_package_suites") if (c := read.parsed(
        parse_context, n, "ini fynecheck_package_suites", suites_only=True))]
    for c in packs:
        if c.variant != "full":  # the suite's runtime-only image is the one it installs in
            read.errors.append(f"ini fynecheck_package_suites: {c.name!r} is a variant; name "
                               f"a suite ({', '.join(SUITES)}): package.install uses its "
                               "runtime-only image")
    settings = ContextSettings(
        window_title=read.ini("fynecheck_window_title"),
        package=read.ini("fynecheck_package"),
        app_args=read.args("fynecheck_app_args"),
        window_timeout=read.seconds("fynecheck_window_timeout"),
        glibc_suites=tuple(dict.fromkeys(
            c.suite for c in (glibc if named else found) if c.suite and c.target == "linux"
        )),
        glibc_named=bool(named),
        package_suites=tuple(dict.fromkeys(
            c.suite for c in (packs or found) if c.suite and c.target == "linux"
        )),
        package_suites_from="ini fynecheck_package_suites" if packs else "--fynecheck-os",
    )
    contexts = [parse_context(HOST, HOST), *(c for c in found if c.kind != HOST)]
    return tuple(dict.fromkeys(c.configured(core.display, settings) for c in contexts))


def _containers(read: _Reader) -> Containers:
    fixture = split_names(read.ini("fynecheck_os"))
    if len(fixture) != 1:
        read.errors.append("ini fynecheck_os: name exactly one suite")
    default = read.parsed(parse_context, fixture[0], "ini fynecheck_os", suites_only=True
                          ) if len(fixture) == 1 else None
    return Containers(
        # Read on after a bad one, to report every bad value.
        default=default or parse_context("bookworm", "ini fynecheck_os"),
        reproducer=read.opt("--fynecheck-reproducer"),
        reproducer_save=bool(read.opt("--fynecheck-reproducer-save")),
    )


def _matrix(read: _Reader) -> Matrix:
    text = read.opt("--fynecheck-go") or read.ini("fynecheck_go")
    shard = read.opt("--fynecheck-shard")
    return Matrix(
        go=tuple(read.parsed(lambda: parse_go_specs(text or "")) or ()),
        shard=read.parsed(lambda: parse_shard(shard)) if shard else None,
        matrix_json=bool(read.opt("--fynecheck-matrix-json")),
        summary=read.output("--fynecheck-summary"),
    )


_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    m = _SHARD.match(text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise InputError(
            f"--fynecheck-shard {text!r}: write I/N with 1 <= I <= N, e.g. 2/4 "
            "(the `shard` of one --fynecheck-matrix-json entry)"
        )
    return int(m.group(1)), int(m.group(2))


def _command(read: _Reader, name: str) -> Command:
    modes = read.opt(f"--fynecheck-{name}-mode") or read.args(f"fynecheck_{name}_modes")
    return Command(
        option=read.opt(f"--fynecheck-{name}") or "",
        ini=str(read.ini(f"fynecheck_{name}")),
        modes=tuple(modes) or ("local",),
    )


_KEY = pytest.StashKey[Settings]()


_WORKERINPUT = "fynecheck_settings"


def configure(config: pytest.Config) -> Settings:
    """Read and check every setting: once, from the core's pytest_configure, on the
    controller. An xdist worker takes the controller's as data (`ship`)."""
    shipped = getattr(config, "workerinput", {}).get(_WORKERINPUT)
    made = config.stash[_KEY] = (
        Settings.from_config(config) if shipped is None else from_data(Settings, shipped)
    )
    return made


def ship(config: pytest.Config, workerinput: dict[str, Any]) -> None:
    """This run's settings into a worker's workerinput (xdist's pytest_configure_node)."""
    workerinput[_WORKERINPUT] = to_data(settings(config))


def settings(config: pytest.Config) -> Settings:
    """This run's settings (from pytest_configure on)."""
    return config.stash[_KEY]


def matrix_json_only(config: pytest.Config) -> bool:
    """--fynecheck-matrix-json, the one setting read before configure: it decides, in
    pytest_cmdline_main, that the run only prints the matrix."""
    return bool(config.getoption("--fynecheck-matrix-json"))
