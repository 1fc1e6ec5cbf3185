"""Where checks run, as values. A context is one frozen `ContextSpec`: its kind, name,
target OS and arch, suite, Go toolchain, display, environment and settings.

`parse_context` is the one parser of context names (--fynecheck-os, ini fynecheck_os and
fynecheck_glibc_suites, the fyne_os marker); it runs on the controller, at configure
time, and xdist workers get the values as data (`to_data`, `from_data`). `KINDS` is the
one table of kinds and the facts their contexts share; a kind's factory is its plugin's
`pytest_fynecheck_make_context` (hookspecs.py). A new kind is its module and one row here.
"""

from __future__ import annotations

import dataclasses
import platform
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_fynecheck.containers.images import INTERNAL, SUITES, VARIANTS, unserved
from pytest_fynecheck.core.context import ContextSettings
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.toolchain.cross import WEB_ENV, WINDOWS_ENV

LOCAL = "local"  # no toolchain pinned: the `go` on PATH, as the environment's GOTOOLCHAIN says
HOST = "host"
# GOARCH of this machine: what the host and its (native) containers build.
_MACHINE = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


@dataclasses.dataclass(frozen=True)
class Kind:
    """One row of KINDS: how a kind of context is made, and the facts its contexts share."""

    target: str = "linux"  # where its binaries run (checks' `targets`); "": its base's
    arch: str = ""  # GOARCH it builds for; "": this machine's
    display: str = ""  # its display mode; "": the run's (--fynecheck-display)
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)  # set in it
    # Written as the kind's own name (`windows`); what it is, for error messages. The
    # other kinds are written SUITE[-VARIANT], or made by the matrix (a Go version).
    written: str = ""


KINDS: dict[str, Kind] = {
    HOST: Kind(written="this machine"),  # made by run/session.py
    "windows": Kind("windows", "amd64", env=WINDOWS_ENV,
                    written="this machine's mingw-w64 and Wine"),  # windows/plugin.py
    "web": Kind("web", "wasm", env=WEB_ENV,
                written="this machine's Go and headless Chromium"),  # web/plugin.py
    "suite": Kind(display="xvfb"),  # containers/plugin.py
    "suite-windows": Kind("windows", "amd64", "xvfb", WINDOWS_ENV),  # containers/plugin.py
    "suite-web": Kind("web", "wasm", "xvfb", WEB_ENV),  # containers/plugin.py
    "go": Kind(target=""),  # matrix/plugin.py
}


@dataclasses.dataclass(frozen=True)
class ContextSpec:
    kind: str  # a key of KINDS
    name: str  # what items, results and tables show: host, bookworm-windows, host+go1.24.3
    target: str  # linux, windows or web: which checks run, what the build makes
    arch: str  # GOARCH
    suite: str = ""  # a container's Debian suite; "" for the host's kinds
    variant: str = "full"  # the suite's image recipe (containers/images.VARIANTS)
    go: str = LOCAL  # the Go toolchain, pinned by GOTOOLCHAIN, or local
    display: str = "auto"  # the display mode its checks use (displays/servers)
    env: tuple[tuple[str, str], ...] = ()  # set in it on top of its own environment
    settings: ContextSettings = dataclasses.field(default_factory=ContextSettings)
    base: ContextSpec | None = None  # a Go version's: the context it pins a toolchain in

    def with_go(self, toolchain: str) -> ContextSpec:
        """This context with `toolchain` pinned (a matrix cell, `NAME+go1.X.Y`)."""
        if toolchain == LOCAL:
            return self
        return dataclasses.replace(
            self, kind="go", name=f"{self.name}+{toolchain}", go=toolchain,
            env=(*self.env, ("GOTOOLCHAIN", toolchain)),
            settings=dataclasses.replace(self.settings, go_toolchain=toolchain), base=self,
        )

    def configured(self, display: str, settings: ContextSettings) -> ContextSpec:
        """With the run's display mode (unless its kind has its own) and settings."""
        own = KINDS[self.kind].display
        return dataclasses.replace(self, display=own or display, settings=settings)


def parse_context(text: str, what: str, *, suites_only: bool = False) -> ContextSpec:
    """The context `text` names, with default display and settings (`configured` sets
    the run's); `what` is the option, ini or marker it came from, for the error.
    `suites_only`: a suite container only (ini fynecheck_os, the fyne_os marker)."""
    name = text.strip()
    suite, dash, variant = name.partition("-")
    variant = variant if dash else "full"
    if suite in SUITES and variant in INTERNAL:
        raise InputError(f"{what}: {name!r} is {INTERNAL[variant]}")
    if suite in SUITES and variant in VARIANTS:
        why = unserved(suite, variant)
        if why is not None:
            raise InputError(f"{what}: {name!r}: {why}")
        kind = f"suite-{variant}" if f"suite-{variant}" in KINDS else "suite"
        return _spec(kind, suite if variant == "full" else name, suite=suite, variant=variant)
    row = KINDS.get(name)
    if row is not None and row.written and not suites_only:
        return _spec(name, name)
    known = ", ".join(SUITES)
    variants = ", ".join(v for v in VARIANTS if v != "full" and v not in INTERNAL)
    written = "" if suites_only else "".join(
        f"; or {k} ({r.written})" for k, r in KINDS.items() if r.written and k != HOST
    )
    raise InputError(
        f"{what}: unknown OS {name!r}; known: {known} (variants: SUITE-{{{variants}}}){written}"
    )


def _spec(kind: str, name: str, **fields: Any) -> ContextSpec:
    row = KINDS[kind]
    machine = platform.machine()
    return ContextSpec(
        kind, name, row.target, row.arch or _MACHINE.get(machine, machine),
        display=row.display or "auto", env=tuple(row.env.items()), **fields,
    )


# --fynecheck-go: 1.22 (its latest patch), 1.24.3, go1.24.3, stable, local.
GO_SPEC = re.compile(r"^(?:go)?(\d+)\.(\d+)(?:\.(\d+))?$")


def parse_go_specs(text: str, what: str = "--fynecheck-go") -> list[str]:
    """`1.22,1.24.3,stable,local` -> the same list, checked; order kept, repeats dropped.
    (The matrix resolves them to exact toolchains: matrix/toolchains.)"""
    specs: list[str] = []
    for raw in re.split(r"[,\s]+", text.strip()):
        if not raw:
            continue
        spec = raw.lower()
        if spec not in (LOCAL, "stable") and not GO_SPEC.match(spec):
            raise InputError(
                f"{what}: {raw!r} is not a Go version; write e.g. 1.22 (its latest patch), "
                "1.24.3, go1.24.3, stable (the newest release) or local (no toolchain pinned)"
            )
        if spec not in specs:
            specs.append(spec)
    return specs




def to_data(value: Any) -> Any:
    """A frozen value (settings, a context) as plain data execnet sends to xdist workers:
    dicts, lists, strings, numbers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_data(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def from_data(kind: Any, data: Any) -> Any:
    """`to_data`'s value back as `kind`, by its type hints: the values were checked where
    they were made, and no string is parsed again."""
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: from_data(hints[f.name], data[f.name])
                       for f in dataclasses.fields(kind)})
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if data is None:
            return None
        (one,) = (a for a in args if a is not type(None))
        return from_data(one, data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_data(args[0], v) for v in data)
        return tuple(from_data(a, v) for a, v in zip(args, data, strict=True))
    if kind is Path:
        return Path(data)
    return data
