"""Issue 22 item 19: a suite container is confined. It runs as the invoking user (root
in CI, so also as a non-root uid here), with no capabilities, no new privileges and a
read-only root file system; the project is mounted read-only. Real containers, real
write attempts, real builds and displays; no mocks."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import start_suite

from pytest_fynecheck.containers.confine import HOME_IN_CONTAINER, USER_NAME, User
from pytest_fynecheck.containers.context import ContainerContext
from pytest_fynecheck.displays.servers import start_display

pytestmark = pytest.mark.slow

MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("confined") }\n'


def _project(at: Path) -> Path:
    at.mkdir(parents=True)
    (at / "go.mod").write_text("module example.com/confined\n\ngo 1.21\n")
    (at / "main.go").write_text(MAIN)
    (at / "canary").write_text("as the host left it\n")
    return at


def _caps(ctx: ContainerContext) -> dict[str, list[str]]:
    """Capability and privilege lines of PID 1 (docker-init) and of a command."""
    done = ctx.run(["grep", "-H", r"^\(Cap\|NoNewPrivs\)", "/proc/1/status", "/proc/self/status"])
    assert done.ok, done.output
    found: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        _, field, value = re.split(r":\s*", line, maxsplit=2)
        found.setdefault(field, []).append(value.strip())
    return found


def _is_confined(ctx: ContainerContext, project: Path, user: User) -> None:
    # The project: an existing file cannot be changed, nor a new one made.
    canary = project / "canary"
    changed = ctx.run(["sh", "-c", 'echo changed > "$1"', "sh", str(canary)])
    assert changed.returncode != 0 and "Read-only file system" in changed.output, changed
    made = ctx.run(["touch", str(project / "new")])
    assert made.returncode != 0 and "Read-only file system" in made.output, made
    assert canary.read_text() == "as the host left it\n" and not (project / "new").exists()
    host = ctx.inspect()["HostConfig"]
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"], host
    assert "no-new-privileges" in host["SecurityOpt"], host["SecurityOpt"]
    assert ctx.inspect()["Config"]["User"] == user.spec

    caps = _caps(ctx)
    for field in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert caps[field] == ["0000000000000000"] * 2, (field, caps)
    assert caps["NoNewPrivs"] == ["1", "1"], caps
    ids = ctx.run(["sh", "-c", "id -u; id -g"])
    assert ids.stdout.split() == [str(user.uid), str(user.gid)], ids.output

    # Nor the root file system.
    etc = ctx.run(["touch", "/etc/fynecheck-was-here"])
    assert etc.returncode != 0 and "Read-only file system" in etc.output, etc

    # What must be written can be: scratch (seen here, the user's), HOME, /tmp.
    wrote = ctx.run(["sh", "-c", 'echo ok > out && touch "$HOME/h" /tmp/t'], cwd=ctx.scratch)
    assert wrote.ok, wrote.output
    assert (ctx.scratch / "out").read_text() == "ok\n"
    assert (ctx.scratch / "out").stat().st_uid == user.uid
    assert ctx.run(["sh", "-c", "echo $HOME"]).stdout.strip() == HOME_IN_CONTAINER

    # A Go build of the project: its output goes to scratch, its cache to a volume.
    exe = ctx.scratch / "app"
    built = ctx.run(["go", "build", "-o", str(exe), "."], cwd=project,
                    env={"CGO_ENABLED": "0"}, timeout=600)
    assert built.ok, built.output
    assert ctx.run([str(exe)]).stdout == "confined\n"
    assert exe.stat().st_uid == user.uid

    # A private X server starts (its sockets and locks on the /tmp tmpfs).
    display = start_display(ctx, "xvfb")
    try:
        shown = ctx.run(["xdpyinfo"], env=display.env)
        assert shown.ok and "screen #0" in shown.output, shown.output
    finally:
        display.stop()


def test_a_suite_container_cannot_write_the_project_and_has_no_capabilities(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path / "project")
    ctx = start_suite("bookworm", tmp_path / "scratch", project=project)
    try:
        assert ctx.shared
        _is_confined(ctx, project, User.invoking())
    finally:
        ctx.close()


@pytest.fixture
def non_root() -> Iterator[tuple[User, Path]]:
    """A non-root user and a directory of its own: this process's uid when it is not
    root, else uid 4242 (CI runs as root), with the directory chowned to it."""
    user = User.invoking() if os.getuid() else User(4242, 4242)
    base = Path(tempfile.mkdtemp(prefix="fynecheck-nonroot-"))
    try:
        for sub in ("scratch", "scratch/.fynecheck-pids", "scratch/cache"):
            (base / sub).mkdir()
            os.chown(base / sub, user.uid, user.gid)
        yield user, base
    finally:
        shutil.rmtree(base)


def test_a_non_root_user_runs_confined_with_a_name_and_its_own_caches(
    non_root: tuple[User, Path],
) -> None:
    user, base = non_root
    project = _project(base / "project")
    ctx = start_suite("bookworm", base / "scratch", project=project,
                      user=None if user == User.invoking() else user)
    try:
        _is_confined(ctx, project, user)
        # A name for the uid: watchman (and others) refuse a uid that has none.
        assert ctx.run(["id", "-un"]).stdout.strip() == USER_NAME
        watch = ctx.run(["watchman", "watch", str(ctx.scratch)], timeout=60)
        assert watch.ok and '"watcher"' in watch.stdout, watch.output
        ctx.run(["watchman", "shutdown-server"], timeout=60)
        gocache = ctx.run(["go", "env", "GOCACHE"]).stdout.strip()
        owner = ctx.run(["stat", "-c", "%u:%g", gocache]).stdout.strip()
        assert owner == user.spec, owner
    finally:
        ctx.close()
