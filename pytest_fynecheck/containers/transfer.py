"""Files in and out of a container on an engine that does not share this machine's files.

Host directories are mirrored at their own paths with put_archive/get_archive, so the
checks (which write a probe here and read a screenshot back) need no remote-specific
code: `Mirror.push` sends what changed here before a command, `Mirror.pull` brings back
what the command wrote there (the command's wrapper tars it; see `pull_script`).
Deletions are not mirrored: nothing the kit does depends on a file being gone.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tarfile
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import docker.errors

from pytest_fynecheck.containers.engine import failing
from pytest_fynecheck.process import DEVNULL, PIPE, Child

SYNC_DIR = "/tmp/.fynecheck-sync"  # inside the container, outside every mirrored path
Stamp = tuple[int, int]  # (mtime in whole seconds, size): what a tar round trip keeps


def _stamp(st: os.stat_result) -> Stamp:
    return int(st.st_mtime), st.st_size


def _walk(roots: Iterable[Path]) -> Iterator[tuple[Path, os.stat_result]]:
    for root in roots:
        if not root.exists():
            continue
        yield root, root.lstat()
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [*dirnames, *filenames]:
                path = Path(dirpath, name)
                with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                    yield path, path.lstat()


def upload(api: Any, container: str, paths: Iterable[Path], what: str) -> int:
    """put_archive `paths` (files, links, empty dirs; not recursive) at their own paths.

    GNU tar writes the archive (streamed, not held in memory): Python's tarfile took a
    minute for GOROOT's 15,000 files where tar takes a second."""
    names = [str(p).lstrip("/") for p in paths]
    if not names:
        return 0
    tar = Child(["tar", "-C", "/", "--no-recursion", "--null", "-T", "-", "-cf", "-"],
                stdin=PIPE, stderr=DEVNULL)
    stdin, out = tar.popen.stdin, tar.popen.stdout
    assert stdin is not None and out is not None
    feeder = threading.Thread(target=_feed, args=(stdin, names), daemon=True)
    feeder.start()
    try:
        with failing(f"copying {what} into container {container[:12]}"):
            # Chunked upload: a pipe has no length.
            api.put_archive(container, "/", iter(lambda: out.read(1 << 20), b""))
    finally:
        feeder.join(60)
        out.close()
        if tar.wait(60) is None:  # a failed upload must not leave tar behind
            tar.kill()
    return len(names)


def _feed(stdin: IO[bytes], names: list[str]) -> None:
    with contextlib.suppress(BrokenPipeError):
        stdin.write(b"".join(n.encode(errors="surrogateescape") + b"\0" for n in names))
    with contextlib.suppress(BrokenPipeError):
        stdin.close()


def upload_tree(api: Any, container: str, root: Path, what: str) -> None:
    upload(api, container, (p for p, _ in _walk([root])), what)


def read_file(api: Any, container: str, path: str) -> bytes | None:
    """One small file from the container, or None when it does not exist."""
    try:
        chunks, _ = api.get_archive(container, path)
        data = b"".join(chunks)
    except docker.errors.NotFound:
        return None
    with tempfile.TemporaryFile() as buf:
        buf.write(data)
        buf.seek(0)
        with tarfile.open(fileobj=buf) as tar:
            member = tar.next()
            handle = tar.extractfile(member) if member is not None else None
            return handle.read() if handle is not None else None


class Mirror:
    """`rw` directories kept in step both ways; `ro` ones sent once."""

    def __init__(self, api: Any, container: str, rw: Sequence[Path], ro: Sequence[Path]) -> None:
        self.api, self.container = api, container
        self.rw = [Path(p) for p in rw]
        self.ro = [Path(p) for p in ro]
        self._known: dict[Path, Stamp] = {}  # what the container has, as stamped here
        self._lock = threading.Lock()

    def seed(self) -> None:
        for root in self.ro:
            upload_tree(self.api, self.container, root, f"{root} (read-only in the container)")
        self.push()

    def push(self) -> None:
        with self._lock:
            changed = [(p, _stamp(st)) for p, st in _walk(self.rw)
                       if self._known.get(p) != _stamp(st)]
            upload(self.api, self.container, (p for p, _ in changed), "changed host files")
            self._known.update(changed)

    def pull(self, token: str) -> None:
        """Bring back what the command run under `token` wrote (see `pull_script`)."""
        remote = f"{SYNC_DIR}/{token}.tar"
        try:
            chunks, _ = self.api.get_archive(self.container, remote)
            with tempfile.TemporaryFile() as outer:
                for chunk in chunks:
                    outer.write(chunk)
                outer.seek(0)
                self._unpack_outer(outer)
        except docker.errors.NotFound:
            return  # the command wrote nothing there
        with failing(f"removing {remote} in container {self.container[:12]}"):
            exec_id = self.api.exec_create(self.container, ["rm", "-f", remote])["Id"]
            self.api.exec_start(exec_id)

    def _unpack_outer(self, outer: Any) -> None:
        with tarfile.open(fileobj=outer) as wrapper:
            member = wrapper.next()
            inner = wrapper.extractfile(member) if member is not None else None
            if inner is None:
                return
            with tempfile.TemporaryFile() as buf:
                buf.write(inner.read())
                buf.seek(0)
                with tarfile.open(fileobj=buf) as tar:
                    self._extract(tar)

    def _extract(self, tar: tarfile.TarFile) -> None:
        with self._lock:
            for member in tar:
                path = Path("/", member.name)
                # Only what we mirror: a member outside the rw roots is never written here.
                if not any(path == r or r in path.parents for r in self.rw):
                    continue
                if member.isdir():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                tar.extract(member, "/", set_attrs=True, filter="fully_trusted")
                with contextlib.suppress(FileNotFoundError):
                    self._known[path] = _stamp(path.lstat())


def pull_script(rw: Sequence[Path]) -> str:
    """Shell that tars what changed under `rw` since "$0" (the wrapper's pid file, back-
    dated 2 s: file times are coarse) into SYNC_DIR/<token>.tar, for `Mirror.pull`."""
    roots = " ".join(shlex.quote(str(p)) for p in rw)
    return (
        f'mkdir -p {SYNC_DIR}; t="{SYNC_DIR}/${{0##*/}}"; '
        f"find {roots} -newer \"$0\" ! -type d ! -path '*/.fynecheck-pids/*' -print0 "
        '2>/dev/null > "$t.list"; '
        'if [ -s "$t.list" ]; then tar --null -T "$t.list" -cf "$t.tar" 2>/dev/null; fi; '
        'rm -f "$t.list"; '
    )
