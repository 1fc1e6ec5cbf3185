"""Starting a ContainerContext set up like the run's host context: image, mounts, Go,
display. The caller makes the host context (the run layer): this module knows no pytest."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from pytest_fynecheck.containers.confine import User
from pytest_fynecheck.containers.context import BASE_PATH, ContainerContext
from pytest_fynecheck.containers.engine import engine, missing_engine
from pytest_fynecheck.containers.images import Target, ensure_image
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.toolchain.cross import WEB_ENV, WINDOWS_ENV
from pytest_fynecheck.toolchain.gotool import go_env

_GO: dict[str, Path | None] = {}
_GO_LOCK = threading.Lock()


def host_go() -> tuple[Path, Path | None]:
    """The host's GOROOT and GOMODCACHE, mounted read-only into every container."""
    with _GO_LOCK:
        if not _GO:
            host = Context(Path("/"), Path("/"), cache_dir(), timeout=60)
            try:
                env = go_env(host)
            except CheckFailed as exc:
                raise CheckFailed(f"`go env` failed on the host: {exc.detail}",
                                  "install Go on the host; containers use its toolchain") from exc
            _GO["root"] = Path(env["GOROOT"])
            _GO["modcache"] = Path(env["GOMODCACHE"]) if env.get("GOMODCACHE") else None
    root_path = _GO["root"]
    assert root_path is not None
    return root_path, _GO["modcache"]


_FILLED: set[Path] = set()


def fill_module_cache(host: Context) -> None:
    """`go mod download` on the host, once per project: containers have no network and
    read the host's module cache, so the host fetches what the project needs (as its own
    first build would). A failure is left for the containers' go.env check to report."""
    with _GO_LOCK:
        if host.project in _FILLED or not (host.project / "go.mod").is_file():
            return
        _FILLED.add(host.project)
    with contextlib.suppress(CheckFailed):
        host.run(["go", "mod", "download"], timeout=600)


def image_cache(image: str) -> Path:
    """Builds and probes of containers of `image`, kept between runs. Keyed by image: a
    binary built against one suite's libraries is never reused in another, nor after the
    image changes."""
    return cache_dir() / "containers" / image.replace(":", "-")


def start_container(
    host: Context,
    target: Target,
    readonly: Sequence[Path] = (),
    environ: Mapping[str, str] | None = None,
    display_mode: str = "xvfb",
    user: User | None = None,
) -> ContainerContext:
    """Build (if needed) and start the container for `target`, set up like `host` (the run's
    host context: its project, scratch, timeout, progress and settings); `environ` is set
    in it on top of its own (e.g. a matrix cell's GOTOOLCHAIN); `user` replaces the
    invoking user (package.install's non-root user)."""
    scratch = host.scratch
    progress = host.progress
    docker = engine(cache_dir())
    image = ensure_image(docker, target, cache_dir() / "locks", progress)
    goroot, gomodcache = host_go()
    fill_module_cache(host)
    ctx = ContainerContext(
        target,
        image,
        docker,
        host.project,
        scratch,
        image_cache(image),
        goroot=goroot,
        gomodcache=gomodcache,
        timeout=host.timeout,
        progress=progress,
        display_mode=display_mode,
        tags=host.tags,
        extra_mounts=[host.artifacts()],
        readonly_mounts=readonly,
        user=user,
    )
    ctx.settings = host.settings
    ctx.environ.update(environ or {})
    return for_target(ctx).start()


def start_suite(
    suite: str,
    scratch: Path,
    readonly: Sequence[Path] = (),
    *,
    variant: str = "full",
    project: Path | None = None,
    tags: Sequence[str] = (),
    keep_builds: bool = False,
    timeout: float = 600.0,
    user: User | None = None,
) -> ContainerContext:
    """A started container of `suite` (e.g. bookworm; `variant` e.g. no-gl-dev) with `project`
    (default `scratch`) as its project, without a pytest config (benches, tests, the
    watcher's modes outside pytest).

    With `keep_builds`, builds and probes go to the image-keyed cache start_container uses
    (warm runs do not relink) instead of under `scratch`. `user` (uid, gid) replaces
    the invoking user (a test of a non-root run, as root).
    """
    cache = cache_dir()
    reason = missing_engine(cache)
    if reason is not None:
        raise CheckFailed(reason)
    docker = engine(cache)
    target = Target(suite, variant)
    image = ensure_image(docker, target, cache / "locks")
    goroot, modcache = host_go()
    if project is not None:
        fill_module_cache(Context(project, scratch, cache))  # the container is offline
    return for_target(ContainerContext(
        target, image, docker, project or scratch, scratch,
        image_cache(image) if keep_builds else scratch / "cache",
        goroot=goroot, gomodcache=modcache, timeout=timeout, tags=tags,
        readonly_mounts=readonly, user=user,
    )).start()


def for_target(ctx: ContainerContext) -> ContainerContext:
    """A SUITE-windows container cross-builds, a SUITE-web one builds for js/wasm: its
    environment, before start() passes it. A SUITE-runtime one is a user's desktop: the
    host's Go, mounted in every container, is on no PATH there."""
    ctx.environ.update({"windows": WINDOWS_ENV, "web": WEB_ENV}.get(ctx.target.variant, {}))
    if ctx.target.variant == "runtime":
        ctx.environ["PATH"] = BASE_PATH
        for go in ("GOROOT", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN", "GOCACHE", "GOMODCACHE"):
            ctx.environ.pop(go, None)
    return ctx
