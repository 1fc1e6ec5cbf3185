"""How a suite container is confined: no capabilities, no new privileges, a read-only
root file system with tmpfs where programs write, and the invoking user.

The user is this process's uid:gid when the engine shares this machine's files: what the
container writes into the bind-mounted scratch and cache is then the user's own, as a
host run would leave it (as root, CI's case, that is 0:0, root with no capabilities).
On a remote engine files cross by archive and are written here by this process, so a
uid of this machine means nothing there: the container runs as 0:0, still with no
capabilities and a read-only root. A non-root user gets an /etc/passwd entry bound in
(watchman and others refuse a uid without a name) and its own Go build-cache volume,
made its own once by a helper that may only chown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_fynecheck.containers.engine import Engine, failing, owner_labels
from pytest_fynecheck.containers.images import file_lock
from pytest_fynecheck.containers.transfer import read_file

if TYPE_CHECKING:
    import docker.types

# A tmpfs the container user owns: HOME for Go's telemetry and config, Fyne's settings.
HOME_IN_CONTAINER = "/home/fynecheck"
USER_NAME = "fynecheck"


@dataclasses.dataclass(frozen=True)
class User:
    uid: int
    gid: int

    @property
    def spec(self) -> str:
        return f"{self.uid}:{self.gid}"

    @property
    def root(self) -> bool:
        return self.uid == 0

    @classmethod
    def invoking(cls) -> User:
        return cls(os.getuid(), os.getgid())


ROOT = User(0, 0)


def run_options(user: User) -> dict[str, Any]:
    """Keyword arguments of `containers.run` that confine the container."""
    return {
        "user": user.spec,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        # Programs' own scratch (Xvfb's sockets and locks, weston's runtime directory,
        # go build's work directory, watchman's state: all under /tmp) never crosses to
        # the host: tmpfs. /run and /var/tmp are writable on any Debian system: kept so.
        # Files the kit copies in (a remote engine) go to volumes: the engine's
        # put_archive cannot write into a tmpfs.
        "tmpfs": {
            # exec: Docker's tmpfs is noexec unless told, and programs built into /tmp run
            # from there (a reloader's app, `go run`, `go test`).
            "/tmp": "exec,mode=1777",
            "/run": "mode=1777",
            "/var/tmp": "exec,mode=1777",
            HOME_IN_CONTAINER: f"exec,mode=0700,uid={user.uid},gid={user.gid}",
        },
    }


_ETC: dict[str, tuple[bytes, bytes]] = {}
_ETC_LOCK = threading.Lock()


def identity_mounts(engine: Engine, image: str, user: User, into: Path) -> list[docker.types.Mount]:
    """For a non-root user: the image's /etc/passwd and /etc/group plus an entry for
    `user`, written under `into` and bound read-only over the image's."""
    import docker.types  # here, not at import: containers.engine says why

    if user.root:
        return []
    with _ETC_LOCK:
        if image not in _ETC:
            _ETC[image] = _image_etc(engine, image)
        passwd, group = _ETC[image]
    into.mkdir(parents=True, exist_ok=True)
    files = {
        "passwd": _without(passwd, user.uid)
        + f"{USER_NAME}:x:{user.uid}:{user.gid}::{HOME_IN_CONTAINER}:/bin/sh\n".encode(),
        "group": _without(group, user.gid) + f"{USER_NAME}:x:{user.gid}:\n".encode(),
    }
    mounts = []
    for name, data in files.items():
        (into / name).write_bytes(data)
        mounts.append(docker.types.Mount(f"/etc/{name}", str(into / name), type="bind",
                                         read_only=True))
    return mounts


def _without(table: bytes, ident: int) -> bytes:
    """`table` without a line for `ident` (the user's entry replaces it), newline-ended."""
    lines = [ln for ln in table.decode(errors="surrogateescape").splitlines()
             if ln.split(":")[2:3] != [str(ident)]]
    return "".join(ln + "\n" for ln in lines).encode(errors="surrogateescape")


def _image_etc(engine: Engine, image: str) -> tuple[bytes, bytes]:
    import docker.errors  # here, not at import: containers.engine says why

    with failing(f"reading /etc/passwd of {image}"):
        box = engine.client.containers.create(image, ["true"], network_mode="none",
                                              labels=owner_labels("etc-reader"))
    try:
        return (read_file(engine.api, str(box.id), "/etc/passwd") or b"",
                read_file(engine.api, str(box.id), "/etc/group") or b"")
    finally:
        with contextlib.suppress(docker.errors.APIError):
            box.remove(force=True)


def user_volume(engine: Engine, image: str, name: str, at: str, user: User) -> str:
    """The volume `name` (root's) or, for a non-root user, its own `name-uidN`, whose
    top directory a helper chowns: a new volume is root's, and the confined container
    cannot chown. Idempotent, so it is done at every start (a cheap helper run)."""
    import docker.types  # here, not at import: containers.engine says why

    if user.root:
        return name
    mine = f"{name}-uid{user.uid}"
    with file_lock(engine.cache / "locks" / f"{mine}.lock"), \
            failing(f"giving volume {mine} to uid {user.uid}"):
        # Only CHOWN: the helper can do nothing else as root.
        engine.client.containers.run(
            image, ["chown", user.spec, at], remove=True, user="0:0", cap_drop=["ALL"],
            cap_add=["CHOWN"], security_opt=["no-new-privileges"], read_only=True,
            network_mode="none", labels=owner_labels("volume-owner"),
            mounts=[docker.types.Mount(at, mine, type="volume")],
        )
    return mine
