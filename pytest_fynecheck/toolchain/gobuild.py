"""One cached Go build: every Go program the kit builds (the app, the drift probe, the
watchers and reloaders of the watcher harness) goes through `cached_build`.

A build lives at `cache/<kind>/<name>-<key>/<name>`. The key hashes what the caller says
the program is made of (the app: its `go list -deps`; a probe: its sources) with the Go
toolchain, GOOS/GOARCH/CGO_ENABLED and the tags, so an edit rebuilds and a repeat run
does not.

One builder per key at a time, across processes and threads: an flock on
`<name>-<key>/.lock` is held around build and rename, and whoever waited reuses the
result. A lock nobody holds also proves a `.NAME.*.tmp` beside it is a killed build's
leftover. `sweep` bounds the whole cache (every project, kind and image) by size,
removing the least recently used builds first.

A run holds each build it got (a shared flock on `<name>-<key>/.inuse`) until its
context closes: the app it is about to run, the probe drift reads, the binary glibc
copies into containers. Neither `sweep` nor `prune` removes a build someone holds, so
the cache is at most its bound plus the builds live runs use. A killed run's holds go
with its process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from pytest_fynecheck.core import process
from pytest_fynecheck.core.context import Completed, Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.progress import GoBuildProgress, step_name
from pytest_fynecheck.core.reaper import Owner, boot_id, end_process, me, process_start_time
from pytest_fynecheck.toolchain.gotool import dedupe_errors, go_env, proxy_refusal

# Builds kept per owner (e.g. one project and package) when pruning: each is tens of MB.
KEEP_BUILDS = 3
# What in the environment, besides the toolchain, changes the binary: the target, Go's
# flags, and what the C compiler and linker are told (as Go's own cache keys them). Values
# set with `go env -w` are not seen here.
_ENV_KEYS = (
    "GOOS", "GOARCH", "GOAMD64", "GOARM", "GOARM64", "GO386", "CGO_ENABLED", "GOTOOLCHAIN",
    "GOFLAGS", "GOEXPERIMENT", "CC", "CXX", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS",
    "CGO_LDFLAGS", "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR",
)


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
    # Held before it is looked at: a sweep may not remove it between the look and the use.
    use = InUse.take(out_dir)
    if use is not None:
        if _reuse(exe):
            return Built(_hold(ctx, use, exe), key, cached=True)
        use.release()
    # One builder per key: a racing run (or thread) waits here, then reuses the result.
    held = KeyLock.acquire(out_dir, f"{kind}/{name}-{key}",
                           ctx.timeout if timeout is None else timeout, ctx.progress)
    if _reuse(exe):
        try:
            return Built(_hold(ctx, InUse.take(out_dir), exe), key, cached=True)
        finally:
            held.release()
    held.remove_leftovers(name)
    # Written aside, then renamed: the cache never holds half a binary. Its name says
    # whose it is: a killed run's `go build` is ended and its file removed (`sweep`).
    tmp = out_dir / f".{name}.{_owner_token()}.{threading.get_ident()}.tmp"
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
        _hold(ctx, InUse.take(out_dir), exe)  # under the key lock: no sweep in between
    finally:
        tmp.unlink(missing_ok=True)
        held.release()
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


def _hold(ctx: Context, use: InUse | None, exe: Path) -> Path:
    """`exe`, held in use until `ctx` closes (the run's end): once per context and
    directory (a check asks for the same build again and again)."""
    if use is None:  # removed by hand this instant; the caller's use fails
        return exe

    def first() -> InUse:
        ctx.on_close(use.release)
        return use

    if ctx.memoize(f"gobuild.InUse {exe.parent} {os.fstat(use.fd).st_ino}", first) is not use:
        use.release()
    return exe


def _reuse(exe: Path) -> bool:
    """A whole build is there: marked used now (least recently used goes first)."""
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        return False
    try:
        os.utime(exe)
    except FileNotFoundError:
        return False  # pruned this instant: then it is a build after all
    except OSError:
        pass  # a read-only cache: used, though not marked
    return True


def prune(builds: Path, owner: str, keep: int = KEEP_BUILDS) -> list[Path]:
    """Remove all but the `keep` newest builds made for `owner`; returns what went.
    A build another process is making or waiting for is kept."""
    mine: list[tuple[float, Path]] = []
    for marker in builds.glob("*/owner"):
        try:
            if marker.read_text() == owner:
                mine.append((_usage(marker.parent)[1], marker.parent))
        except (OSError, ValueError):
            continue  # half made, or removed by a parallel run
    gone = [d for _, d in sorted(mine, reverse=True)[keep:]]
    return [d for d in gone if _remove_unless_busy(d)]


# -- locks ---------------------------------------------------------------------------------

LOCK_NAME = ".lock"


class KeyLock:
    """An exclusive flock on one build directory's `.lock`, held while building."""

    def __init__(self, fd: int, out_dir: Path) -> None:
        self.fd, self.out_dir = fd, out_dir

    @classmethod
    def acquire(
        cls, out_dir: Path, what: str, timeout: float, say: Callable[[str], None] | None = None
    ) -> KeyLock:
        """Wait up to `timeout` s; CheckFailed naming the lock and its holder after that."""
        deadline = time.monotonic() + timeout
        said = False
        while True:
            held = cls.try_acquire(out_dir, create=True)
            if held is not None:
                with contextlib.suppress(OSError):  # who holds it, for a waiter's message
                    os.ftruncate(held.fd, 0)
                    os.pwrite(held.fd, f"pid {os.getpid()}\n".encode(), 0)
                return held
            if time.monotonic() >= deadline:
                raise CheckFailed(
                    f"waited {timeout:.0f} s for another build of {what} to finish "
                    f"(lock {out_dir / LOCK_NAME}, held by {_holder(out_dir)}); it did not",
                    "let the other run finish, or end it; a killed run holds no lock",
                )
            if not said and say is not None:
                say(f"waiting for another run's build of {what} "
                    f"({_holder(out_dir)})")
                said = True
            if (why := process.interrupted()) is not None:
                raise process.Interrupted(why)  # the wait is a wait like any other
            time.sleep(0.1)

    @classmethod
    def try_acquire(cls, out_dir: Path, *, create: bool = False) -> KeyLock | None:
        """The lock if nobody holds it now; None if someone does (or, without `create`,
        the directory is gone)."""
        while True:
            if create:
                out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / LOCK_NAME
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:
                if create:
                    continue  # removed between mkdir and open
                return None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return cls(fd, out_dir)
            os.close(fd)  # its directory was pruned while we opened it: take the new one
            if not create:
                return None

    def remove_leftovers(self, name: str = "*") -> None:
        """`.NAME.*.tmp` of builds killed midway: while we hold the lock nobody else
        builds here, and a killed run's own `go build` was ended (`end_orphan_builds`)."""
        for tmp in self.out_dir.glob(f".{name}.*.tmp"):
            legacy = _LEGACY_TMP.match(tmp.name)
            if legacy and process_start_time(int(legacy["pid"])):
                continue  # named by a kit without locks: its writer may still run
            tmp.unlink(missing_ok=True)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


IN_USE_NAME = ".inuse"


class InUse:
    """A shared flock on one build directory's `.inuse`: some run uses the build. Only
    a removal takes it exclusively (`_remove_unless_busy`), builders never do, so a run
    holding a build whose binary went (removed by hand) still rebuilds it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def take(cls, out_dir: Path) -> InUse | None:
        """Held; None when the directory is gone (or goes while we wait)."""
        path = out_dir / IN_USE_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:
            return None  # a read-only cache: nobody can remove its builds either
        # Waits only while a sweep removes this directory (it holds it exclusively then).
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return None
        return cls(fd)

    @staticmethod
    def free(out_dir: Path) -> int | None:
        """An fd holding `.inuse` exclusively, -1 when there is none (no run ever used
        the build), None when a run uses it now."""
        try:
            fd = os.open(out_dir / IN_USE_NAME, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return -1
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:
        self.release()  # a context never closed (a script's): its holds end with it


# -- a killed run's builds -------------------------------------------------------------------

_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<start>\d+)-(?P<ns>\d*)\.\d+\.tmp$")


_LEGACY_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.\d+\.tmp$")


def _owner_token() -> str:
    owner = me()
    return f"{owner.pid}-{owner.start}-{owner.pidns}"


def end_orphan_builds(cache: Path) -> list[int]:
    """End the `go build`s that killed runs left writing into `cache` (each in its own
    process group, so they outlive a SIGKILLed run and write their binary later); their
    pids. Known by the `-o` path, whose name records the run that started them: only a
    run that is provably gone (`reaper.Owner.gone`) loses its build."""
    ended: list[int] = []
    root = str(cache.resolve()) + os.sep
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        out = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == b"-o"), b"")
        path = os.fsdecode(out)
        made = _TMP.match(os.path.basename(path))
        if not made or not path.startswith(root):
            continue
        owner = Owner(boot_id(), made["ns"], int(made["pid"]), made["start"])
        pid = int(entry.name)
        if owner.gone() and end_process(pid, process_start_time(pid)):
            ended.append(pid)
    return ended


def _holder(out_dir: Path) -> str:
    try:
        said = (out_dir / LOCK_NAME).read_text().strip()
    except OSError:
        said = ""
    return said or "a process that has not said"


def _remove_unless_busy(build: Path) -> bool:
    """Remove one build directory, under its lock; False when someone builds it now or
    a live run holds it in use. The key lock first, then `.inuse`: `cached_build` takes
    `.inuse` while holding the key lock, so this order never waits on it."""
    held = KeyLock.try_acquire(build)
    if held is None:
        return not build.exists()
    try:
        free = InUse.free(build)
        if free is None:
            return False
        try:
            shutil.rmtree(build, ignore_errors=True)
        finally:
            if free >= 0:
                os.close(free)
    finally:
        held.release()
    return True


# -- the whole cache, bounded --------------------------------------------------------------

# 2 GiB: some 60 builds of a Fyne app (tens of MB each).
DEFAULT_CACHE_BYTES = 2 << 30
_BUILD_DIR = re.compile(r"^(?P<name>.+)-[0-9a-f]{20}$")


def builds_in(cache: Path) -> Iterator[Path]:
    """Every build directory cached_build made under `cache` (the shared cache dir):
    cache/KIND/NAME-KEY, and cache/containers/IMAGE/KIND/NAME-KEY."""
    for pattern in ("*/*", "containers/*/*/*"):
        for path in cache.glob(pattern):
            if _BUILD_DIR.match(path.name) and not path.is_symlink() and path.is_dir():
                yield path


def _usage(build: Path) -> tuple[int, float]:
    """The build's bytes, and when it was last made or reused: its newest file (reuse
    touches it). One pass over the directory: the sweep reads every build at every run."""
    total = 0
    times = [0.0]
    with os.scandir(build) as entries:
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += st.st_size
            if entry.name not in (LOCK_NAME, IN_USE_NAME, "owner"):  # beside the build
                times.append(st.st_mtime)
    return total, max(times)


@dataclasses.dataclass(frozen=True)
class Swept:
    builds: int  # kept
    size: int  # bytes kept
    removed: int  # builds removed to stay within the bound
    freed: int  # bytes those and killed builds' leftovers held
    busy: int = 0  # builds beyond the bound kept: being made, or in use by a live run


def sweep(cache: Path, limit: int = DEFAULT_CACHE_BYTES) -> Swept:
    """Remove killed builds' leftovers, then the least recently used builds until the
    rest fit in `limit` bytes. Builds someone is making now are neither touched nor
    removed, nor are builds a live run holds in use (`InUse`): they are counted, and
    those that keep the cache above `limit` are `busy`."""
    found: list[tuple[float, int, Path]] = []
    freed = 0
    end_orphan_builds(cache)
    for build in builds_in(cache):
        try:
            held = KeyLock.try_acquire(build)
            before = None
            if held is not None:
                try:
                    before = _usage(build)[0]
                    held.remove_leftovers()
                    name = _BUILD_DIR.match(build.name)
                    if name and not (build / name["name"]).exists():
                        shutil.rmtree(build)  # a killed build's directory, and nothing in it
                        freed += before
                        continue
                finally:
                    held.release()
            size, last_use = _usage(build)
            if before is not None:
                freed += before - size
            found.append((last_use, size, build))
        except OSError:
            continue  # removed by a parallel sweep
    total = sum(size for _, size, _ in found)
    removed = busy = 0
    for _, size, build in sorted(found):  # oldest use first
        if total <= limit:
            break
        if _remove_unless_busy(build):
            total -= size
            freed += size
            removed += 1
        else:
            busy += 1
    return Swept(len(found) - removed, total, removed, freed, busy if total > limit else 0)
