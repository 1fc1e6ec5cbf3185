"""The container reaper's scope (issue 15 item 6): it runs only when the kit is about to
use containers, removes only this user's, machine's and boot's containers whose owner is
provably gone, and never one a live session owns. Real sessions, real containers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import start_suite
from support.proc import in_pid_namespace

from pytest_fynecheck.containers.context import ContainerContext
from pytest_fynecheck.containers.engine import (
    LABEL_BOOT,
    LABEL_MACHINE,
    LABEL_PID,
    LABEL_PID_START,
    LABEL_PIDNS,
    LABEL_SESSION,
    LABEL_USER,
    engine,
    owner_labels,
)
from pytest_fynecheck.containers.reap import reap_containers
from pytest_fynecheck.core.context import wait_until
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.core.reaper import process_start_time


@pytest.fixture(scope="module")
def bookworm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerContext]:
    ctx = start_suite("bookworm", tmp_path_factory.mktemp("scratch"))
    yield ctx
    ctx.close()


def _gone_pid() -> tuple[int, str]:
    """A pid (and its start time) that named a process of ours which has ended."""
    proc = subprocess.Popen(["sleep", "0.2"])
    started = process_start_time(proc.pid)
    proc.wait()
    return proc.pid, started


class Planted:
    """Labelled containers made to look like other runs' leftovers; removed at the end."""

    def __init__(self, image: str, session: str) -> None:
        self.image, self.session = image, session
        self.ids: list[str] = []

    def add(self, **labels: str) -> str:
        box = engine(cache_dir()).client.containers.create(
            self.image, ["sleep", "600"], network_mode="none",
            labels={**owner_labels(self.session), **labels},
        )
        self.ids.append(str(box.id))
        return str(box.id)

    def left(self) -> set[str]:
        found = engine(cache_dir()).client.containers.list(
            all=True, filters={"label": f"{LABEL_SESSION}={self.session}"})
        return {str(b.id) for b in found}

    def close(self) -> None:
        for cid in self.ids:
            subprocess.run(["docker", "rm", "--force", cid], capture_output=True, timeout=60)


@pytest.fixture
def planted(bookworm: ContainerContext) -> Iterator[Planted]:
    p = Planted(bookworm.image, f"reap-test-{os.getpid()}-{time.monotonic_ns()}")
    yield p
    p.close()


def test_reaper_removes_only_provably_orphaned_containers(planted: Planted) -> None:
    pid, start = _gone_pid()
    dead = planted.add(**{LABEL_PID: str(pid), LABEL_PID_START: start})
    # A live pid with another start time: the pid was recycled, the owner is gone.
    recycled = planted.add(**{LABEL_PID: str(os.getppid()), LABEL_PID_START: "1"})
    alive = planted.add(**{LABEL_PID: str(os.getppid()),
                           LABEL_PID_START: process_start_time(os.getppid())})
    other_user = planted.add(**{LABEL_PID: str(pid), LABEL_PID_START: start,
                                LABEL_USER: str(os.getuid() + 4242)})
    # Another boot of another machine with this name (a shared engine) proves nothing.
    other_boot = planted.add(**{LABEL_PID: str(pid), LABEL_PID_START: start,
                                LABEL_BOOT: "00000000-0000-0000-0000-000000000000",
                                LABEL_MACHINE: "0" * 32})
    # An earlier boot of this machine (same machine id): every process of it has ended.
    rebooted = planted.add(**{LABEL_PID: str(os.getppid()),
                              LABEL_PID_START: process_start_time(os.getppid()),
                              LABEL_BOOT: "00000000-0000-0000-0000-000000000000"})
    no_start = planted.add(**{LABEL_PID: str(pid), LABEL_PID_START: ""})
    # A dead pid of another pid namespace: it names another process there, if any.
    other_ns = planted.add(**{LABEL_PID: str(pid), LABEL_PID_START: start,
                              LABEL_PIDNS: "4026531"})
    no_ns = planted.add(**{LABEL_PID: str(pid), LABEL_PID_START: start, LABEL_PIDNS: ""})
    reap_containers(engine(cache_dir()))
    # Under xdist another session's reaper may remove the orphans first: what counts is
    # what is left.
    assert planted.left() == {alive, other_user, other_boot, no_start, other_ns, no_ns}
    for gone in (dead, recycled, rebooted):
        assert gone not in planted.left()


# Planted by the session itself, in its own pid namespace, before it could reap: only that
# session can take the container for a dead run's, so another xdist worker's reaper (which
# removed a planted orphan of the host's namespace in CI) leaves it alone.
PLANT_CONFTEST = """
import os, pathlib, subprocess
from pytest_fynecheck.containers.engine import (
    LABEL_PID, LABEL_PID_START, engine, owner_labels)
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.core.reaper import process_start_time

_gone = subprocess.Popen(["sleep", "0.2"])
_start = process_start_time(_gone.pid)
_gone.wait()
_box = engine(cache_dir()).client.containers.create(
    os.environ["FYNECHECK_TEST_IMAGE"], ["sleep", "600"], network_mode="none",
    labels={**owner_labels(os.environ["FYNECHECK_TEST_SESSION"]),
            LABEL_PID: str(_gone.pid), LABEL_PID_START: _start})
(pathlib.Path(os.environ["FYNECHECK_TEST_DIR"]) / "orphan").write_text(str(_box.id))
"""


def test_a_session_without_containers_reaps_nothing(
    pytester: pytest.Pytester, planted: Planted, tmp_path: Path
) -> None:
    """Fails before the fix: every session start reaped, and said so."""
    pytester.makeconftest(PLANT_CONFTEST)
    pytester.makepyfile("def test_plain():\n    assert True\n")
    env = {**os.environ, "FYNECHECK_TEST_DIR": str(tmp_path),
           "FYNECHECK_TEST_IMAGE": planted.image, "FYNECHECK_TEST_SESSION": planted.session}
    result = subprocess.run(
        [*in_pid_namespace(), sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=pytester.path, env=env, capture_output=True, text=True, timeout=300,
    )
    orphan_file = tmp_path / "orphan"
    assert orphan_file.exists(), result.stdout + result.stderr
    orphan = orphan_file.read_text()
    planted.ids.append(orphan)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "left by killed runs" not in result.stdout
    assert orphan in planted.left()


SESSION_TEST = '''
import os, pathlib, time

def test_holds_a_container(fyne_container):
    me = pathlib.Path(os.environ["FYNECHECK_TEST_DIR"])
    (me / f"started-{os.getpid()}").write_text(fyne_container.container)
    # Hold the container until the other session has started (and reaped).
    deadline = time.monotonic() + 240
    while not (me / "release").exists():
        assert time.monotonic() < deadline, "never released"
        time.sleep(0.1)
    assert fyne_container.run(["sh", "-c", "exit 0"]).ok
'''


@pytest.mark.parametrize("a_runs", ["here", "in its own pid namespace"])
def test_two_live_sessions_keep_each_others_containers(
    pytester: pytest.Pytester, planted: Planted, tmp_path: Path, a_runs: str
) -> None:
    """Session A holds a container; session B starts (and reaps) meanwhile. B removes a
    dead run's container, A's survives and A's test still passes.

    In its own pid namespace, A's pid (a few, there) names another process here or none:
    before issue 22 item 16, B took A for a dead run and removed its container."""
    pytester.makepyfile(test_hold=SESSION_TEST)
    env = {**os.environ, "FYNECHECK_TEST_DIR": str(tmp_path)}

    def session(prefix: list[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*prefix, sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s"],
            cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )

    first = session(in_pid_namespace() if a_runs != "here" else [])
    try:
        assert wait_until(lambda: list(tmp_path.glob("started-*")), 240, 0.1), "A never started"
        a_container = next(tmp_path.glob("started-*")).read_text()
        # Planted after A started (and reaped): B is the session that must remove it.
        pid, start = _gone_pid()
        orphan = planted.add(**{LABEL_PID: str(pid), LABEL_PID_START: start})
        second = session([])
        assert wait_until(lambda: len(list(tmp_path.glob("started-*"))) == 2, 240, 0.1)
        assert orphan not in planted.left(), "the dead run's container was not reaped"
        assert a_container in {c.id for c in engine(cache_dir()).client.containers.list()}
        (tmp_path / "release").write_text("")
        out_b, _ = second.communicate(timeout=240)
        out_a, _ = first.communicate(timeout=240)
    finally:
        (tmp_path / "release").write_text("")
        for proc in (first, locals().get("second")):
            if isinstance(proc, subprocess.Popen) and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert first.returncode == 0, out_a
    assert second.returncode == 0, out_b
