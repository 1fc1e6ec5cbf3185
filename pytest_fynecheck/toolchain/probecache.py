"""Probe results kept across runs and reused only while every input is as it was: the one
place the kit decides that, for the C probes (cprobe) and Go's package listing (gotool).

As Go's build cache does, a result is stored under a key (`probe_dir`: what was run and
with what, e.g. the C compiler and flags, or the argv and `go env`), beside a manifest of
the files it read (headers and libraries the compile opened; go.mod, go.sum, every package
directory and file the listing names, the go binary). It is reused while each of those
files has its size, mtime, ctime and inode: an edit, a new or removed file (a directory's
mtime), a new toolchain or a changed setting makes it run again. A result whose inputs
changed while it ran is not kept (`_racy`): an edit that lands mid-run is never hidden.

Only on the host: the files are stat()ed here, which a container's are not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from pytest_fynecheck.core.context import Completed, Context

MANIFEST = "inputs.json"
# A file changed this close to a run's start may have changed during it: file times come
# from the kernel's coarse clock (a tick, <= 10 ms), so such a result is not kept.
RACY_SECONDS = 0.1


def probe_dir(ctx: Context, kind: str, name: str, parts: Sequence[str | bytes]) -> Path | None:
    """Where the probe `name` of `kind` with this key is kept; None where results are not
    kept (a context other than the host). `parts` must hold every input that is not a
    file in the manifest: argv, environment, source text, a compiler's identity."""
    if ctx.name != "host":
        return None
    digest = hashlib.sha256()
    for part in [kind, name, *parts]:
        data = part.encode(errors="surrogateescape") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)  # length-prefixed: no ambiguity
    return ctx.cache / "probes" / ctx.name / kind / f"{name}-{digest.hexdigest()[:16]}"


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None  # absent: it must still be absent
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def stats(paths: Iterable[str]) -> dict[str, list[int] | None]:
    return {p: _stat(p) for p in sorted(set(paths))}


@dataclasses.dataclass(frozen=True)
class Kept:
    """A stored result whose inputs are unchanged: when it was made, and what it holds."""

    at: float  # time.time() when the probe ran
    result: dict[str, object]


def reusable(where: Path) -> Kept | None:
    """The result kept in `where` if every input in its manifest is unchanged."""
    try:
        data = json.loads((where / MANIFEST).read_text())
        recorded: dict[str, list[int] | None] = data["inputs"]
        if recorded and stats(recorded) == recorded:
            return Kept(float(data["at"]), data.get("result") or {})
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def keep(
    where: Path,
    inputs: Iterable[str],
    started: float,
    result: Mapping[str, object] | None = None,
    outputs: Iterable[str] = (),
) -> bool:
    """Record the result of a probe that began at `started` (time.time()) and read
    `inputs`; False (nothing kept) when one of them changed since just before it began.
    `outputs` (a compiled probe) are in the manifest too: one removed is made again."""
    found = stats(inputs)
    if not found or _racy(found, started):
        return False
    where.mkdir(parents=True, exist_ok=True)
    found.update(stats(outputs))
    text = json.dumps({"at": started, "inputs": found, "result": dict(result or {})})
    tmp = where / f".{MANIFEST}.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(text)
    tmp.replace(where / MANIFEST)  # parallel runs read the old manifest or the new one
    return True


def _racy(found: Mapping[str, list[int] | None], started: float) -> bool:
    limit = int((started - RACY_SECONDS) * 1e9)
    return any(st is not None and max(st[1], st[2]) >= limit for st in found.values())


def when(at: float) -> str:
    """A kept result's time, for a check's detail."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


@dataclasses.dataclass(frozen=True)
class Reused(Completed):
    """A command's result from an earlier run (see `reused_run`), made at `at`."""

    at: float = 0.0

    def note(self) -> str:
        return f"reused from {when(self.at)}: every input unchanged"


def reused_run(
    ctx: Context,
    name: str,
    argv: Sequence[str],
    *,
    key: Sequence[str | bytes],
    inputs: Callable[[Completed], Iterable[str] | None],
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> Completed:
    """`ctx.run(argv)`, or its result from an earlier run (a `Reused`) while the `key`
    (with argv, cwd and env) and every file `inputs` named from that result are the same.
    Only successful results are kept; `inputs` may return None to keep nothing."""
    where = probe_dir(
        ctx, "run", name,
        [*argv, "\0cwd", str(cwd or ctx.project), "\0env", json.dumps(dict(env or {}),
                                                                      sort_keys=True), *key],
    )
    if where is not None and (kept := reusable(where)) is not None:
        r = kept.result
        return Reused(tuple(argv), int(str(r["returncode"])), str(r["stdout"]), str(r["stderr"]),
                      at=kept.at)
    started = time.time()
    done = ctx.run(list(argv), cwd=cwd, env=dict(env) if env else None, timeout=timeout,
                   on_line=on_line)
    if where is not None and done.ok:
        read = inputs(done)
        if read is not None:
            keep(where, read, started, {"returncode": done.returncode, "stdout": done.stdout,
                                        "stderr": done.stderr})
    return done
