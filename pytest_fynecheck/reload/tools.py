"""Real hot-reload tools at pinned versions, built once per version into the kit's cache
(a GOBIN of their own: cache/tools/NAME-VERSION/NAME), static, so the same binary runs on
the host and read-only in every suite container.

`--fynecheck-reload air` means the pinned air; `air@v1.66.0` another version; a path or
any other program name is run as given.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, InputError


@dataclasses.dataclass(frozen=True)
class Tool:
    name: str
    module: str
    version: str
    # What to add to watch the probe's embedded assets/ (the defaults do not).
    assets_hint: str
    # The shortest command that builds, runs and restarts the app (bare wgo and gow
    # print their usage).
    runs: str
    # The Go toolchain that builds it (GOTOOLCHAIN, fetched through the module proxy)
    # when the local one cannot; "" = the local go.
    go: str = ""


TOOLS = {
    t.name: t
    for t in (
        Tool("air", "github.com/air-verse/air", "v1.67.4",
             "air excludes assets/ and watches only go,tpl,tmpl,html by default: run "
             "air --build.exclude_dir tmp --build.include_ext go,txt", "air"),
        Tool("wgo", "github.com/bokwoon95/wgo", "v0.7.1",
             "wgo run watches only .go files by default: add -file .txt", "wgo run ."),
        # The newest commit; gow has no tags. It does not build with Go >= 1.26 (its
        # mitranim/gg defines gid() only up to go1.25; tests/test_reload_tools.py).
        Tool("gow", "github.com/mitranim/gow", "v0.0.0-20250926091427-aad163e590a8",
             "gow watches go,mod by default (its -e flag): run gow -e go,mod,txt run .",
             "gow run .", go="go1.25.0"),
    )
}
_NAME = re.compile(r"^([a-z]+)(?:@(v[0-9A-Za-z.+-]+))?$")


def known(program: str) -> tuple[Tool, str] | None:
    """`air` or `air@v1.66.0` -> (tool, version); None for anything else."""
    m = _NAME.match(program)
    if m is None or m.group(1) not in TOOLS:
        return None
    tool = TOOLS[m.group(1)]
    return tool, m.group(2) or tool.version


def install(tool: Tool, version: str, cache: Path, *, timeout: float = 900.0,
            progress: Callable[[str], None] = lambda _line: None, go: str | None = None,
            ) -> Path:
    """The tool's binary, built on first use with toolchain `go` (default: the tool's
    own pin); verified with `go version -m`."""
    go = tool.go if go is None else go
    home = cache / "tools" / (f"{tool.name}-{version}" + (f"-{go}" if go else ""))
    binary = home / tool.name
    if binary.is_file():
        return binary
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers build it once
        if not binary.is_file():
            with_go = f" with {go}" if go else ""
            progress(f"installing {tool.module}@{version}{with_go} into {home} (once per "
                     "version)")
            _build(tool, version, home, timeout, go)
    return binary


def _build(tool: Tool, version: str, home: Path, timeout: float, go: str) -> None:
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=home))
    try:
        ctx = Context(work, work, home, timeout=timeout)
        env = {"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOBIN": str(work)}
        if go:
            env["GOTOOLCHAIN"] = go
        done = ctx.run(["go", "install", f"{tool.module}@{version}"], env=env)
        if not done.ok and "@v/list" in done.output:
            # `go install m@v` also asks the proxy for m's version list (deprecation
            # notices); a proxy that serves the version but refuses the list fails it.
            # The same build from a module that requires m@v asks nothing more.
            (work / "go.mod").write_text(
                f"module fynecheck.local/tools\n\ngo 1.21\n\nrequire {tool.module} {version}\n",
                encoding="utf-8",
            )
            done = ctx.run(["go", "build", "-o", str(work / tool.name), tool.module], env=env)
        if not done.ok:
            raise CheckFailed(
                f"installing {tool.module}@{version} failed:\n{done.output[-3000:]}",
                f"pin another version ({tool.name}@VERSION), or give your own "
                f"{tool.name} binary by its path",
            )
        built = work / tool.name
        info = ctx.run(["go", "version", "-m", str(built)], timeout=60)
        if f"\t{tool.module}\t{version}" not in info.stdout:
            raise CheckFailed(f"`go version -m {built}` does not show {tool.module} "
                              f"{version}:\n{info.output}")
        os.replace(built, home / tool.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def resolve(cmd: str, cache: Path, progress: Callable[[str], None] = lambda _line: None,
            ) -> list[str]:
    """The command's argv, its program replaced by the pinned install when it names one."""
    try:
        argv = shlex.split(cmd)
    except ValueError as exc:
        raise InputError(f"reload command {cmd!r} does not parse: {exc}") from None
    if not argv:
        raise InputError("the reload command is empty; give e.g. --fynecheck-reload air")
    found = known(argv[0])
    if found is not None:
        tool, version = found
        argv[0] = str(install(tool, version, cache, progress=progress))
    elif shutil.which(argv[0]) is None:
        raise InputError(f"reload command not found: {argv[0]!r} (from {cmd!r}); give a path, "
                         f"put it on PATH, or name a pinned tool: {', '.join(TOOLS)}")
    return argv


__all__ = ["TOOLS", "Tool", "install", "known", "resolve"]
