"""The kit against a remote Docker engine: a second dockerd in a container (tests/
support/dind.py) whose file system this machine does not share, reached by DOCKER_HOST
alone. The matrix, files in and out, and the container watcher mode work there; bind
modes say clearly why they cannot. Real engines, real images, no mocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import run_fynecheck, start_suite
from support.dind import remote_engine
from support.env import cache
from support.watcher import quick, reference

from pytest_fynecheck.containers.context import SESSION_ID, ContainerContext
from pytest_fynecheck.containers.engine import LABEL_SESSION, engine
from pytest_fynecheck.core.context import wait_until
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.reload.modes import BindReloadMode
from pytest_fynecheck.reload.modes import parse_mode as parse_reload_mode
from pytest_fynecheck.watcher.harness import check_watcher
from pytest_fynecheck.watcher.modes import ContainerMode, parse_mode

pytestmark = pytest.mark.slow


def test_the_kit_against_a_remote_engine(
    pytester: pytest.Pytester, hello: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One test, one inner engine: under xdist, separate tests would each start (and fill)
    their own. Each step is a function below."""
    with remote_engine() as host:
        monkeypatch.setenv("DOCKER_HOST", host)
        _is_another_engine(host)
        project = tmp_path / "project"
        project.mkdir()
        (project / "canary").write_text("as the host left it\n")
        ctx = start_suite("bookworm", tmp_path / "scratch", project=project)
        try:
            _files_go_in_and_out(ctx)
            _confined(ctx)
            _spawn_and_stop(ctx)
        finally:
            ctx.close()
        _matrix(pytester, hello)
        _container_watcher_mode()
        for spec in ("bind:bookworm", "bind:bookworm:reverse"):
            _bind_mode_refused(host, spec)
        _reload_bind_mode_refused(host)


def _is_another_engine(remote: str) -> None:
    here = engine(cache_dir())
    assert here.address == remote
    assert here.info()["ID"] != _local_id()


def _local_id() -> str:
    import docker

    info: dict[str, Any] = docker.DockerClient(base_url="unix:///var/run/docker.sock").info()
    return str(info["ID"])


def _files_go_in_and_out(ctx: ContainerContext) -> None:
    assert not ctx.shared, "the kit took the remote engine for a local one"
    mounts = ctx.inspect()["Mounts"]
    assert {m["Type"] for m in mounts} == {"volume"}, mounts  # no bind mount at all
    (ctx.scratch / "from-host").write_text("hello")
    done = ctx.run(["sh", "-c", "cat from-host > from-container; mkdir -p d; echo x > d/y"],
                   cwd=ctx.scratch)
    assert done.ok, done.output
    assert (ctx.scratch / "from-container").read_text() == "hello"
    assert (ctx.scratch / "d" / "y").read_text() == "x\n"
    # A change here after the first copy reaches the container too.
    (ctx.scratch / "from-host").write_text("changed")
    assert ctx.run(["cat", "from-host"], cwd=ctx.scratch).stdout == "changed"
    # The Go toolchain is there, read-only, and the container stays offline.
    go = ctx.run(["go", "env", "GOROOT", "GOPROXY"]).stdout.split()
    assert go[0] == str(ctx.goroot) and go[1].startswith("file://")
    assert not ctx.run(["touch", f"{ctx.goroot}/x"]).ok
    assert ctx.run(["ls", "/sys/class/net"]).stdout.split() == ["lo"]


def _confined(ctx: ContainerContext) -> None:
    """Item 19 on a remote engine: the project's copy is read-only there, though a change
    here still reaches it; no capabilities; a read-only root file system."""
    canary = ctx.project / "canary"
    assert ctx.run(["cat", str(canary)]).stdout == "as the host left it\n"
    wrote = ctx.run(["sh", "-c", 'echo changed > "$1"', "sh", str(canary)])
    assert wrote.returncode != 0 and "Read-only file system" in wrote.output, wrote
    assert canary.read_text() == "as the host left it\n"
    canary.write_text("changed here\n")
    assert ctx.run(["cat", str(canary)]).stdout == "changed here\n"
    caps = ctx.run(["grep", "^CapEff", "/proc/1/status", "/proc/self/status"]).stdout
    assert caps.count("0000000000000000") == 2, caps
    etc = ctx.run(["touch", "/etc/fynecheck-was-here"])
    assert etc.returncode != 0 and "Read-only file system" in etc.output, etc


def _spawn_and_stop(ctx: ContainerContext) -> None:
    proc = ctx.spawn(["sh", "-c", "echo started; sleep 1005"])
    assert proc.pid > 0 and proc.poll() is None
    proc.stop(grace=2)
    assert proc.poll() is not None and "started" in proc.output()
    ps = ctx.run(["ps", "-eo", "args"]).stdout
    assert "sleep 1005" not in ps
    # One that ends by itself: what it wrote comes back when it is stopped (the web
    # target's page probe writes its screenshot so).
    done = ctx.spawn(["sh", "-c", "echo drawn > spawned.png"], cwd=ctx.scratch)
    assert wait_until(lambda: done.poll() is not None, 60)
    done.stop()
    assert (ctx.scratch / "spawned.png").read_text() == "drawn\n"


def _matrix(pytester: pytest.Pytester, hello: Path) -> None:
    """The readiness matrix on bookworm, remotely. Without app.build/app.window, nor
    glibc.portability, which runs app.build: a fresh inner engine has a cold GOCACHE, and
    a cold cgo build of Fyne takes minutes (the local suite tests cover those; files
    coming back are shown above)."""
    run = run_fynecheck(pytester, hello, "--fynecheck-os=bookworm",
                        "-k", "not app. and not glibc")
    assert run.ret == 0, run
    checks = {c["id"]: c for c in run.report["checks"] if c["os"] == "bookworm"}
    for cid in ("go.env", "cc.works", "pkgconfig.gl", "x11.libs", "display.x11", "gl.context"):
        assert checks[cid]["status"] == "ok", checks[cid]
    assert checks["go.env"]["detail"].startswith("GOPROXY=file://"), checks["go.env"]
    assert "llvmpipe" in checks["gl.context"]["detail"], checks["gl.context"]
    run.result.stdout.fnmatch_lines(["*fynecheck: checks by OS*", "gl.context * ✓ * ✓",
                                     "host: ready; bookworm: ready"])


def _container_watcher_mode() -> None:
    watcher = reference()
    mode = parse_mode("container:bookworm", start=start_suite, mounts=[watcher.parent])
    assert isinstance(mode, ContainerMode)
    try:
        out = check_watcher([str(watcher)], mode, hyp=quick(5, 15))
        assert out.stats.examples >= 5 and out.stats.declared == []
    finally:
        mode.close()


def _bind_mode_refused(remote: str, spec: str) -> None:
    mode = parse_mode(spec, start=start_suite, mounts=[cache() / "go"])
    assert isinstance(mode, ContainerMode)
    try:
        with pytest.raises(InputError) as caught:
            mode.sandbox()
        message = str(caught.value)
        assert f"watcher mode {spec} needs a file system shared" in message
        assert f"DOCKER_HOST={remote}" in message
        _refused_clean(mode)
    finally:
        mode.close()


def _refused_clean(mode: ContainerMode | BindReloadMode) -> None:
    """A refused mode removed the container it started, and refuses again: asked once
    more (the next example), it starts no second container over a lost first one."""
    assert mode.ctx is None, "the refused mode kept its container"
    with pytest.raises(InputError, match="needs a file system shared"):
        mode.sandbox()
    assert mode.ctx is None
    left = engine(cache_dir()).client.containers.list(
        all=True, filters={"label": f"{LABEL_SESSION}={SESSION_ID}"})
    assert left == [], f"containers left by a refused mode: {left}"


def _reload_bind_mode_refused(remote: str) -> None:
    """The reload oracle's bind mode churns on the host for a tool in the container: the
    same shared file system the watcher's bind modes need."""
    mode = parse_reload_mode("bind:bookworm", start=start_suite, mounts=[])
    assert isinstance(mode, BindReloadMode)
    try:
        with pytest.raises(InputError) as caught:
            mode.sandbox()
        message = str(caught.value)
        assert "reload mode bind:bookworm needs a file system shared" in message
        assert f"DOCKER_HOST={remote}" in message
        assert "use local," in message
        _refused_clean(mode)
    finally:
        mode.close()
