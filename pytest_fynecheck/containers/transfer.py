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

from pytest_fynecheck.containers.engine import failing
from pytest_fynecheck.core.process import DEVNULL, PIPE, Child

# Inside the container, outside every mirrored path; a volume (the root file system is
# read-only, and get_archive cannot see into a tmpfs).
SYNC_DIR = "/var/cache/fynecheck/sync"
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


def upload(api: Any, container: str, root: Path, paths: Iterable[Path], what: str) -> int:
    """put_archive `paths` (files, links, empty dirs; not recursive; all under `root`, a
    volume's mount point there) at their own paths. Into `root`, not "/": the engine
    refuses a copy to a read-only root file system, though the target is a volume.

    GNU tar writes the archive (streamed, not held in memory): Python's tarfile took a
    minute for GOROOT's 15,000 files where tar takes a second. Owned by root, who runs
    there (confine.py): with no capabilities, root may not write a file of another uid."""
    names = [str(p.relative_to(root)) for p in paths if p != root]
    if not names:
        return 0
    tar = Child(["tar", "-C", str(root), "--no-recursion", "--null", "-T", "-", "-cf", "-",
                 "--owner=0", "--group=0", "--numeric-owner"],
                stdin=PIPE, stderr=DEVNULL)
    stdin, out = tar.popen.stdin, tar.popen.stdout
    assert stdin is not None and out is not None
    feeder = threading.Thread(target=_feed, args=(stdin, names), daemon=True)
    feeder.start()
    try:
        with failing(f"copying {what} into container {container[:12]}"):
            # Chunked upload: a pipe has no length.
            api.put_archive(container, str(root), iter(lambda: out.read(1 << 20), b""))
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
    upload(api, container, root, (p for p, _ in _walk([root])), what)


def read_file(api: Any, container: str, path: str) -> bytes | None:
    """One small file from the container, or None when it does not exist."""
    import docker.errors  # here, not at import: containers.engine says why

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
    """Host directories and their copies in the container, each in a volume: `rw` ones
    kept in step both ways; the `project`'s changes sent before each command and `ro`
    ones sent once, both into `store`, the container that shares them read-only."""

    def __init__(
        self,
        api: Any,
        container: str,
        rw: Sequence[Path],
        project: Sequence[Path],
        ro: Sequence[Path],
        store: str | None = None,
    ) -> None:
        self.api, self.container = api, container
        self.rw = [Path(p) for p in rw]
        self.project = [Path(p) for p in project]
        self.ro = [Path(p) for p in ro]
        # Which container holds each root's copy.
        self._holder = {**{p: store or container for p in (*self.ro, *self.project)},
                        **{p: container for p in self.rw}}
        self._known: dict[Path, Stamp] = {}  # what the container has, as stamped here
        self._lock = threading.Lock()

    def _root(self, path: Path) -> Path:
        """The innermost mirrored root holding `path` (a root may sit inside another)."""
        held = [r for r in self._holder if r == path or r in path.parents]
        return max(held, key=lambda r: len(r.parts))

    def _send(self, paths: Iterable[Path], what: str) -> None:
        by_root: dict[Path, list[Path]] = {}
        for path in paths:
            by_root.setdefault(self._root(path), []).append(path)
        for root, group in by_root.items():
            upload(self.api, self._holder[root], root, group, what)

    def seed(self) -> None:
        for root in self.ro:
            self._send((p for p, _ in _walk([root])), f"{root} (read-only in the container)")
        self.push()

    def push(self) -> None:
        with self._lock:
            changed = {p: _stamp(st) for p, st in _walk([*self.rw, *self.project])
                       if self._known.get(p) != _stamp(st)}
            self._send(changed, "changed host files")
            self._known.update(changed)

    def pull(self, token: str) -> None:
        """Bring back what the command run under `token` wrote (see `pull_script`)."""
        import docker.errors  # here, not at import: containers.engine says why

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
