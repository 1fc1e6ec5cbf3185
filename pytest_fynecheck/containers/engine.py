"""The Docker engine, driven through the Docker SDK (the `docker` package).

One `Engine` per process and DOCKER_HOST. It knows whether the engine shares this
machine's file system (`shared_fs`), which decides bind mounts vs put/get_archive.
Every SDK failure becomes a `CheckFailed` that names what failed (`failing`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.reaper import boot_id, pid_namespace, process_start_time

# The Docker SDK (and requests) import in the functions that use them (0.1 s): most runs
# start no container and never pay for it. Other modules of the package do the same.

# Labels every container we start carries; the reaper reads them back.
LABEL_SESSION = "io.fynecheck.session"
LABEL_PID = "io.fynecheck.pid"
LABEL_PID_START = "io.fynecheck.pid-start"
LABEL_HOST = "io.fynecheck.host"
LABEL_BOOT = "io.fynecheck.boot-id"
LABEL_USER = "io.fynecheck.uid"
LABEL_PIDNS = "io.fynecheck.pid-ns"  # the owner's pid namespace: its pid means nothing outside
LABEL_MACHINE = "io.fynecheck.machine-id"  # tells this machine rebooted from a namesake

DEFAULT_SOCKET = "unix:///var/run/docker.sock"

NO_ENGINE_HINT = (
    "start a Docker engine (Debian: apt-get install docker.io; "
    "dockerd --bridge=none --iptables=false --ip6tables=false &), or set DOCKER_HOST to a "
    "running one"
)


def where() -> str:
    """The engine address as the user set it, for messages."""
    host = os.environ.get("DOCKER_HOST")
    return f"DOCKER_HOST={host}" if host else f"the default socket {DEFAULT_SOCKET[7:]} " \
        "(DOCKER_HOST is not set)"


def describe_error(exc: BaseException) -> str:
    """The engine's own words for an SDK exception, without the SDK's wrapping."""
    import docker.errors
    import requests.exceptions

    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    if isinstance(exc, docker.errors.BuildError):
        return str(exc.msg)
    if isinstance(exc, requests.exceptions.ConnectionError | docker.errors.DockerException):
        return f"no Docker engine answers at {where()} ({exc})"
    return str(exc)


@contextlib.contextmanager
def failing(what: str, hint: str = "") -> Iterator[None]:
    """Turn an SDK failure during `what` into a CheckFailed naming it."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        unreachable = isinstance(exc, requests.exceptions.ConnectionError) or (
            type(exc) is docker.errors.DockerException
        )
        raise CheckFailed(
            f"{what} failed: {describe_error(exc)}",
            NO_ENGINE_HINT if unreachable else hint,
        ) from exc


def machine_id() -> str:
    """/etc/machine-id: the same across boots, another on another machine; "" if none."""
    try:
        return Path("/etc/machine-id").read_text().strip()
    except OSError:
        return ""


class Engine:
    """The SDK client for one engine, plus a host context for what runs on this machine
    (debootstrap)."""

    def __init__(self, cache: Path, base_url: str | None = None) -> None:
        root = Path("/")  # always exists, whatever HOME or the cache is
        self.cache = cache
        self.host = Context(root, root, cache, timeout=900.0)
        self.address = base_url or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
        import docker

        with failing(f"connecting to the Docker engine at {where()}"):
            if base_url is not None:
                self.client = docker.DockerClient(base_url=base_url, timeout=300)
                streams = docker.DockerClient(base_url=base_url, timeout=None)  # type: ignore[arg-type]
            else:
                ssh = self.address.startswith("ssh://")
                self.client = docker.from_env(timeout=300, use_ssh_client=ssh)
                streams = docker.from_env(timeout=None, use_ssh_client=ssh)  # type: ignore[arg-type]
        self.api: Any = self.client.api
        # Without a read timeout: a quiet long-running exec (Xvfb) is not an error. The
        # kit's own timeouts bound every wait on it.
        self.stream_api: Any = streams.api
        self._shared: bool | None = None
        self._lock = threading.Lock()

    def info(self) -> dict[str, Any]:
        with failing(f"asking the Docker engine at {where()} for its info"):
            data: dict[str, Any] = self.client.info()
        return data

    def shared_fs(self, image: str) -> bool:
        """Does the engine see this machine's files? Asked once, by looking: a marker
        file written here is looked for through a bind mount in a container of `image`
        (created, never started). The address alone proves nothing (a tcp:// engine may
        be local; a unix socket may lead to a VM)."""
        with self._lock:
            if self._shared is None:
                self._shared = self._probe_shared(image)
            return self._shared

    def _probe_shared(self, image: str) -> bool:
        token = secrets.token_hex(8)
        import docker.errors
        import docker.types

        with tempfile.TemporaryDirectory(prefix="fynecheck-shared-") as tmp:
            Path(tmp, "marker").write_text(token)
            mount = docker.types.Mount("/fynecheck-probe", tmp, type="bind", read_only=True)
            try:
                box = self.client.containers.create(
                    image, ["true"], mounts=[mount], network_mode="none",
                    labels=owner_labels("shared-fs-probe"),
                )
            except docker.errors.APIError as exc:
                # The engine's machine has no such directory: it is not this one.
                if "bind source path does not exist" in str(exc.explanation):
                    return False
                raise CheckFailed(f"probing the engine at {where()}: {describe_error(exc)}",
                                  NO_ENGINE_HINT) from exc
            try:
                chunks, _ = box.get_archive("/fynecheck-probe/marker")
                data = b"".join(chunks)
                return token.encode() in data
            except docker.errors.NotFound:
                return False
            finally:
                with contextlib.suppress(docker.errors.APIError):
                    box.remove(force=True)


def owner_labels(session: str) -> dict[str, str]:
    """Who owns a container: this process (pid, its start time and pid namespace), user,
    machine and boot."""
    pid = os.getpid()
    return {
        LABEL_SESSION: session,
        LABEL_PID: str(pid),
        LABEL_PID_START: process_start_time(pid),
        LABEL_PIDNS: pid_namespace(),
        LABEL_HOST: socket.gethostname(),
        LABEL_MACHINE: machine_id(),
        LABEL_BOOT: boot_id(),
        LABEL_USER: str(os.getuid()),
    }


_ENGINES: dict[str, Engine] = {}
_PROBE: dict[str, str | None] = {}
_LOCK = threading.Lock()


def engine(cache: Path) -> Engine:
    """The engine DOCKER_HOST names, shared by everything in this process."""
    key = os.environ.get("DOCKER_HOST", "")
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = Engine(cache)
        return _ENGINES[key]


def local_engine(cache: Path, remote: Engine) -> Engine | None:
    """The engine on this machine's default socket, when it answers and is not `remote`
    (where an image the remote engine cannot build is built instead)."""
    if not Path(DEFAULT_SOCKET[7:]).is_socket():
        return None
    try:
        local = Engine(cache, DEFAULT_SOCKET)
        if local.info().get("ID") == remote.info().get("ID"):
            return None
    except CheckFailed:
        return None
    return local


def missing_engine(cache: Path) -> str | None:
    """None when an engine answers; else one sentence saying why not and what to do.

    Asked once per process and DOCKER_HOST: every container item shares the answer.
    """
    key = os.environ.get("DOCKER_HOST", "")
    with _LOCK:
        if key in _PROBE:
            return _PROBE[key]
    try:
        with failing(f"reaching the Docker engine at {where()}"):
            version = engine(cache).client.version()
        reason = None if version.get("Version") else f"the engine at {where()} gave no version"
    except CheckFailed as exc:
        reason = exc.detail
    message = None if reason is None else f"fynecheck containers need Docker: {reason}; " + (
        NO_ENGINE_HINT
    )
    with _LOCK:
        _PROBE[key] = message
    return message

