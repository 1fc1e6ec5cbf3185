"""The Docker engine, driven through its CLI (one way, the same a teammate replays with).

Every `docker` call goes through a host `Context.run`, so each has a timeout and
leaves nothing running.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from pytest_fynecheck.context import Completed, Context
from pytest_fynecheck.model import CheckFailed

# Labels every container we start carries; the reaper reads them back.
LABEL_SESSION = "io.fynecheck.session"
LABEL_PID = "io.fynecheck.pid"
LABEL_PID_START = "io.fynecheck.pid-start"
LABEL_HOST = "io.fynecheck.host"

NO_ENGINE_HINT = (
    "start a Docker engine (Debian: apt-get install docker.io; "
    "dockerd --bridge=none --iptables=false --ip6tables=false &), or set DOCKER_HOST to a "
    "running one"
)


class Engine:
    """A host context that runs `docker …`; shared by everything in this process."""

    def __init__(self, cache: Path, progress: Callable[[str], None] | None = None) -> None:
        # "/" as the working directory: it always exists, whatever HOME or the cache is.
        root = Path("/")
        self.host = Context(root, root, cache, timeout=900.0, progress=progress)

    def docker(
        self,
        args: Sequence[str],
        *,
        timeout: float = 120.0,
        on_line: Callable[[str], None] | None = None,
        cwd: Path | None = None,
    ) -> Completed:
        return self.host.run(["docker", *args], timeout=timeout, on_line=on_line, cwd=cwd)

    def check(self, args: Sequence[str], *, timeout: float = 120.0) -> str:
        """Run a docker command that must succeed; return its stdout."""
        done = self.docker(args, timeout=timeout)
        if not done.ok:
            raise CheckFailed(
                f"`docker {' '.join(args)}` failed ({done.returncode}): {done.output[-1500:]}",
                NO_ENGINE_HINT,
            )
        return done.stdout


_ENGINE: Engine | None = None
_PROBE: tuple[str, str | None] | None = None
_LOCK = threading.Lock()


def engine(cache: Path) -> Engine:
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            _ENGINE = Engine(cache)
        return _ENGINE


def missing_engine(cache: Path) -> str | None:
    """None when an engine answers; else one sentence saying why not and what to do.

    Asked once per process (and per DOCKER_HOST): every container item shares the answer.
    """
    global _PROBE
    key = os.environ.get("DOCKER_HOST", "")
    with _LOCK:
        if _PROBE is not None and _PROBE[0] == key:
            return _PROBE[1]
    try:
        done = engine(cache).docker(
            ["version", "--format", "{{.Server.Version}}"], timeout=20.0
        )
        reason = (
            None
            if done.ok and done.stdout.strip()
            else f"the Docker engine does not answer: {done.output.strip()[-400:]}"
        )
    except CheckFailed as exc:  # no docker CLI, or it hung
        reason = exc.detail
    message = None if reason is None else f"fynecheck containers need Docker: {reason}; " + (
        NO_ENGINE_HINT
    )
    with _LOCK:
        _PROBE = (key, message)
    return message
