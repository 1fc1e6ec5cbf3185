"""A second Docker engine whose file system this machine does not share: dockerd in a
container (Docker-in-Docker), reached only through its socket on a host path.

The container runs with network none (the inner engine has no network at all), its
/var/lib/docker on an anonymous volume (overlay2 nests there: the volume is not an
overlay), and the kit's owner labels, so the container reaper removes it (with its
volume) if this process is killed. Not --privileged: on machines whose bounding set
lacks a capability (here CAP_SYS_RESOURCE) runc refuses it, so it gets every capability
the host has, unconfined seccomp/AppArmor/system paths, and remounts /sys and the
cgroup hierarchies read-write itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import docker.types

from pytest_fynecheck.containers.engine import Engine, engine, owner_labels
from pytest_fynecheck.containers.images import (
    Target,
    ensure_image,
    exists,
    file_lock,
    follow_build,
    recipe_dir,
)
from pytest_fynecheck.core.context import wait_until
from pytest_fynecheck.core.paths import cache_dir

RECIPE = Path(__file__).resolve().parents[1] / "dind"  # tests/dind
LABEL_DIND = "io.fynecheck.dind"
INNER = "/run/fynecheck-dind"
_DOCKERD = (
    "mount -o remount,rw /sys && "
    "for m in /sys/fs/cgroup/*; do [ -L \"$m\" ] || mount -o remount,rw,bind \"$m\"; done && "
    f"exec dockerd -H unix://{INNER}/docker.sock --bridge=none --iptables=false "
    "--ip6tables=false --storage-driver overlay2"
)


def dind_image(progress: Callable[[str], None]) -> str:
    """bookworm's base image plus docker.io, tagged by this recipe's content."""
    local = engine(cache_dir())
    target = Target("bookworm")
    ensure_image(local, target, cache_dir() / "locks", progress)  # makes the base too
    base, _ = target.tags(recipe_dir())
    key = hashlib.sha256(base.encode() + (RECIPE / "Dockerfile").read_bytes()).hexdigest()[:12]
    tag = f"fynecheck-dind:{key}"
    with file_lock(cache_dir() / "locks" / f"dind-{key}.lock"):
        if not exists(local, tag):
            stream = local.api.build(path=str(RECIPE), buildargs={"BASE": base}, tag=tag,
                                     network_mode="host", rm=True, forcerm=True, decode=True)
            follow_build(stream, target, f"building {tag} (docker.io)", progress)
    return tag


@contextlib.contextmanager
def remote_engine(progress: Callable[[str], None] = print) -> Iterator[str]:
    """A started inner dockerd; yields its DOCKER_HOST. Removed (with its volume) after."""
    local = engine(cache_dir())
    image = dind_image(progress)
    with tempfile.TemporaryDirectory(prefix="fynecheck-dind-") as sock_dir:
        host = f"unix://{sock_dir}/docker.sock"
        # Low-level create: MaskedPaths/ReadonlyPaths (the CLI's systempaths=unconfined)
        # have no keyword in the SDK.
        config = local.api.create_host_config(
            network_mode="none", cap_add=["ALL"], cap_drop=["SYS_RESOURCE"],
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
            mounts=[docker.types.Mount(INNER, sock_dir, type="bind"),
                    docker.types.Mount("/var/lib/docker", None, type="volume")],
        )
        config.update(MaskedPaths=[], ReadonlyPaths=[])
        made = local.api.create_container(
            image, ["sh", "-c", _DOCKERD], host_config=config,
            labels={**owner_labels("dind"), LABEL_DIND: "1"},
        )
        box = local.client.containers.get(made["Id"])
        box.start()
        try:
            started = time.monotonic()
            ready = wait_until(lambda: _answers(host), 60, 0.2)
            assert ready, f"inner dockerd did not start: {box.logs()[-2000:].decode()}"
            progress(f"dind: inner dockerd answers after {time.monotonic() - started:.1f} s")
            yield host
        finally:
            with contextlib.suppress(docker.errors.NotFound):
                box.remove(force=True, v=True)


def _answers(host: str) -> bool:
    if not Path(host[7:]).is_socket():
        return False
    try:
        return bool(Engine(cache_dir(), host).client.version().get("Version"))
    except Exception:
        return False
