"""Containers left by killed runs: removed only when their owner is provably gone.

Asked only when this process is about to start a container (never at a plain pytest
session start), once per engine. A labelled container is removed when it is this user's,
was started on this machine, and its owner is provably gone (`reaper.Owner.gone`): an
earlier boot of this machine (same machine id), or this boot and pid namespace with no
process of that pid and start time. Anything else (another user's, another machine's, a
live session's, another pid namespace's, or unlabelled) is left alone: a pid means
nothing outside its own boot and namespace, and one engine may serve several machines.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Mapping

from pytest_fynecheck.containers.engine import (
    LABEL_BOOT,
    LABEL_HOST,
    LABEL_MACHINE,
    LABEL_PID,
    LABEL_PID_START,
    LABEL_PIDNS,
    LABEL_SESSION,
    LABEL_USER,
    Engine,
    failing,
    machine_id,
)
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.reaper import Owner, boot_id, me


def owner_gone(labels: Mapping[str, str]) -> bool:
    """True only when the labels prove the owner was ours and no longer runs."""
    if labels.get(LABEL_USER) != str(os.getuid()):
        return False
    if labels.get(LABEL_HOST) != socket.gethostname():
        return False
    boot, now = labels.get(LABEL_BOOT, ""), boot_id()
    if not now:
        return False  # no boot id here: nothing can be judged
    if boot != now:
        # An earlier boot of this very machine: gone. A namesake machine on a shared
        # engine (or no machine id to tell): unknown.
        here = machine_id()
        return bool(here) and labels.get(LABEL_MACHINE) == here and bool(boot)
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return False
    owner = Owner(boot, labels.get(LABEL_PIDNS, ""), pid, labels.get(LABEL_PID_START, ""))
    return owner != me() and owner.gone()


def reap_containers(docker_engine: Engine) -> list[str]:
    """Remove labelled containers whose owner is provably gone; return their ids."""
    import docker.errors  # here, not at import: containers.engine says why

    with failing("listing labelled containers for the reaper"):
        found = docker_engine.client.containers.list(
            all=True, filters={"label": [LABEL_SESSION, f"{LABEL_USER}={os.getuid()}"]}
        )
    removed = []
    for box in found:
        if owner_gone(box.labels):
            # A parallel reaper may get there first: gone is fine.
            with contextlib.suppress(docker.errors.NotFound):
                box.remove(force=True, v=True)
            removed.append(str(box.id))
    return removed


_REAPED: set[str] = set()
_LOCK = threading.Lock()


def reap_once(docker_engine: Engine) -> list[str]:
    """`reap_containers` the first time this process uses `docker_engine`; [] after."""
    with _LOCK:
        if docker_engine.address in _REAPED:
            return []
        _REAPED.add(docker_engine.address)
    try:
        return reap_containers(docker_engine)
    except CheckFailed:
        return []  # starting the container will say what is wrong with the engine
