"""One cached Go build: every Go program the kit builds (the app, the drift probe, the
watchers and reloaders of the watcher harness) goes through `cached_build`.

A build lives at `cache/<kind>/<name>-<key>/<name>`. The key hashes what the caller says
the program is made of (the app: its `go list -deps`; a probe: its sources) with the Go
toolchain, GOOS/GOARCH/CGO_ENABLED and the tags, so an edit rebuilds and a repeat run
does not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pytest_fynecheck.context import Completed, Context
from pytest_fynecheck.gotool import dedupe_errors, go_env, proxy_refusal
from pytest_fynecheck.model import CheckFailed
from pytest_fynecheck.progress import GoBuildProgress, step_name

# Builds kept per owner (e.g. one project and package) when pruning: each is tens of MB.
KEEP_BUILDS = 3
# What in the environment, besides the toolchain, changes the binary.
_ENV_KEYS = ("GOOS", "GOARCH", "CGO_ENABLED", "GOTOOLCHAIN")


@dataclasses.dataclass(frozen=True)
class Built:
    path: Path
    key: str
    cached: bool  # found in the cache: nothing was built
    seconds: float = 0.0
    compiled: int = 0  # packages `go build -x` compiled (with progress only)
    pruned: int = 0  # older builds of the same owner removed


def toolchain(ctx: Context, env: Mapping[str, str] | None = None) -> str:
    """Which Go would build, without running it: a cache hit must not wait on `go env`
    (it can take seconds on a loaded machine). The go binary's identity where this
    machine can stat it (the host, and containers, which see the host's Go at the same
    path); `go env GOVERSION` where it cannot."""
    go = os.path.realpath(ctx.require("go", env))
    try:
        st = os.stat(go)
        found = f"{go} {st.st_mtime_ns} {st.st_size}"
    except OSError:
        found = go_env(ctx)["GOVERSION"]
    full = ctx.env(env)
    return "\n".join([found, *(f"{k}={full.get(k, '')}" for k in _ENV_KEYS)])


def go_sources(module: Path, package: Path) -> list[bytes]:
    """Key parts of a small program of the kit's own: go.mod, go.sum and the package's
    Go files (it imports no other package of its module)."""
    parts = []
    for path in [module / "go.mod", module / "go.sum", *sorted(package.glob("*.go"))]:
        if path.is_file():
            parts.append(path.name.encode() + b"\0" + path.read_bytes())
    return parts


def content_key(
    ctx: Context,
    key_parts: Sequence[str | bytes],
    env: Mapping[str, str] | None = None,
    tags: Sequence[str] = (),
) -> str:
    digest = hashlib.sha256()
    for part in [*key_parts, toolchain(ctx, env), "tags=" + ",".join(tags)]:
        data = part.encode(errors="surrogateescape") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)  # length-prefixed: no ambiguity
    return digest.hexdigest()[:20]


def cached_build(
    ctx: Context,
    module_dir: Path,
    package: str,
    name: str,
    *,
    kind: str,
    key_parts: Sequence[str | bytes],
    env: Mapping[str, str] | None = None,
    tags: Sequence[str] = (),
    progress: str | None = None,
    hint: Callable[[str], str] | None = None,
    owner: str | None = None,
    keep: int = KEEP_BUILDS,
    timeout: float | None = None,
) -> Built:
    """`go build PACKAGE` in `module_dir`, kept at cache/KIND/NAME-KEY/NAME.

    `progress` names the step for progress lines (long builds: `go build -x` says what
    it compiles now); `hint`
    turns Go's errors into the fix hint; with `owner`, the builds of that owner beyond
    the `keep` newest are removed."""
    key = content_key(ctx, key_parts, env, tags)
    out_dir = ctx.cache / kind / f"{name}-{key}"
    exe = out_dir / name
    if exe.is_file() and os.access(exe, os.X_OK):
        if owner is not None:
            os.utime(exe)  # the newest builds are the ones pruning keeps
        return Built(exe, key, cached=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    # A name of its own, then rename: racing xdist workers (or threads) each write a
    # whole binary, and whoever renames last leaves a good one.
    tmp = out_dir / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    flags = ["-tags", ",".join(tags)] if tags else []
    shown = " ".join(["go", "build", *flags, package])
    # -x: each command as it starts, so progress names what compiles now.
    watch = GoBuildProgress(ctx.progress, step_name(progress or "go build", ctx.name),
                            main=f"main package {package}")
    start = time.monotonic()
    try:
        with watch.running() if progress else contextlib.nullcontext():
            done = ctx.run(
                ["go", "build", *(["-x"] if progress else []), *flags, "-o", str(tmp), package],
                cwd=module_dir,
                env=env,
                timeout=timeout,
                on_line=watch.on_line if progress else None,
            )
        if not done.ok:
            if progress:  # Go's messages without its -x commands (all, if none is left)
                done = dataclasses.replace(done, stderr=watch.messages() or done.stderr)
            raise _failed(ctx, f"`{shown}` in {module_dir}", done, hint)
        if not os.access(tmp, os.X_OK):
            # Go writes an archive, not a program, for a package that is not main.
            raise CheckFailed(
                f"`{shown}` in {module_dir} wrote no executable: {package} is not a main "
                "package",
                "set ini fynecheck_package to your app's main package, e.g. ./cmd/NAME",
            )
        os.replace(tmp, exe)
    finally:
        tmp.unlink(missing_ok=True)
    pruned: list[Path] = []
    if owner is not None:
        (out_dir / "owner").write_text(owner)
        pruned = prune(out_dir.parent, owner, keep)
    took = time.monotonic() - start
    return Built(exe, key, False, took, len(watch.compiled), len(pruned))


def _failed(
    ctx: Context, what: str, done: Completed, hint: Callable[[str], str] | None
) -> CheckFailed:
    """Go's errors once each; a module proxy's refusal said as such, with its fix."""
    err = dedupe_errors(done.stderr) if done.stderr.strip() else done.output
    refused = proxy_refusal(err)
    if refused is not None:
        return CheckFailed(
            f"{refused.detail()}\n{what} said:\n{err[-3000:]}",
            refused.hint(go_env(ctx).get("GOPROXY", "")),
        )
    return CheckFailed(f"{what} failed:\n{err[-3000:]}", hint(err) if hint else "")


def prune(builds: Path, owner: str, keep: int = KEEP_BUILDS) -> list[Path]:
    """Remove all but the `keep` newest builds made for `owner`; returns what went."""
    mine: list[tuple[float, Path]] = []
    for marker in builds.glob("*/owner"):
        try:
            if marker.read_text() == owner:
                made = [p.stat().st_mtime for p in marker.parent.iterdir() if p != marker]
                mine.append((max(made), marker.parent))
        except (OSError, ValueError):
            continue  # half made, or removed by a parallel run
    gone = [d for _, d in sorted(mine, reverse=True)[keep:]]
    for d in gone:
        shutil.rmtree(d, ignore_errors=True)
    return gone
