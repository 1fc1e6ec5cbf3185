"""The process layer with real programs: a timed-out run ends its whole group, a grand-
child too; stop escalates to SIGKILL for a program that ignores SIGTERM; nothing it
started is left. Processes are counted in /proc (tests/support/proc.py), never assumed."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.proc import live_processes

from pytest_fynecheck.core import process
from pytest_fynecheck.core.context import Context, HostProcess, ToolTimeout, wait_until


def _group(pgid: int) -> list[int]:
    return [pid for pid, _, fields in live_processes() if int(fields[2]) == pgid]


def _gone(pgid: int) -> bool:
    # SIGKILL is asynchronous: the kernel may take a moment to end each member.
    return bool(wait_until(lambda: not _group(pgid), 10))


def _alive(pid: int) -> bool:
    return pid in {p for p, _, _ in live_processes()}


def _pid(path: Path) -> int:
    found = wait_until(lambda: path.is_file() and path.read_text().strip(), 10)
    assert found, f"{path} was never written"
    return int(found)


# A shell that starts a grandchild ignoring SIGTERM, says where it is, and waits.
GRANDCHILD = 'sh -c \'trap "" TERM; while :; do sleep 1; done\' & echo $! > "$0"; '


def test_a_run_past_its_deadline_ends_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    with pytest.raises(process.TimedOut) as caught:
        process.run(["sh", "-c", GRANDCHILD + "echo started; wait", str(pidfile)], timeout=1)
    assert caught.value.seconds == 1
    assert b"started" in caught.value.output
    grandchild = _pid(pidfile)
    assert wait_until(lambda: not _alive(grandchild), 10), (
        "the grandchild outlived the timed-out run"
    )


def test_context_run_keeps_its_timeout_message(tmp_path: Path) -> None:
    ctx = Context(tmp_path, tmp_path, tmp_path, timeout=1)
    with pytest.raises(ToolTimeout, match=r"`sh -c echo half; sleep 100` did not finish "
                                          r"within 1 s; it printed:\nhalf") as caught:
        ctx.run(["sh", "-c", "echo half; sleep 100"])
    assert caught.value.hint == "raise fynecheck_timeout in your ini file if this machine is slow"


def test_a_finished_run_leaves_nothing_behind(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    lines: list[str] = []
    done = process.run(["sh", "-c", GRANDCHILD + "echo out; echo err >&2", str(pidfile)],
                       timeout=60, on_line=lines.append)
    assert (done.returncode, done.stdout, done.stderr, lines) == (0, b"out\n", b"err\n", ["err"])
    grandchild = _pid(pidfile)
    assert wait_until(lambda: not _alive(grandchild), 10), (
        "a run that finished left its grandchild running"
    )


def test_stop_escalates_to_sigkill_for_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    child = process.Child(
        ["sh", "-c", 'trap "" TERM; touch "$0"; while :; do sleep 1; done', str(ready)]
    )
    assert wait_until(ready.exists, 10)
    assert os.getpgid(child.pid) == child.pid  # its own group
    assert child.stop(grace=0.5) == -signal.SIGKILL
    assert _gone(child.pid), "the group outlived stop()"


def test_stop_ends_what_a_cooperative_leader_left(tmp_path: Path) -> None:
    """The leader exits on SIGTERM; its grandchild ignores it: the group kill gets both."""
    pidfile = tmp_path / "grandchild"
    app = Context(tmp_path, tmp_path, tmp_path).spawn(
        ["sh", "-c", GRANDCHILD + "echo up; wait", str(pidfile)]
    )
    assert isinstance(app, HostProcess)
    _pid(pidfile)
    assert app.stop(grace=5) == -signal.SIGTERM
    assert "up" in app.output()
    assert _gone(app.pid), "the grandchild outlived stop()"


def test_a_child_without_its_own_group_is_signalled_alone(tmp_path: Path) -> None:
    child = process.Child(["sleep", "100"], own_group=False)
    assert os.getpgid(child.pid) == os.getpgid(0)
    assert child.stop(grace=5) == -signal.SIGTERM  # this test's group got no signal


def test_output_of_an_exited_program_is_whole() -> None:
    # Read as soon as it exits, as app.window does: the pipe's last bytes used to be missing
    # now and then (3 of 50 here before the fix; a crash message, once, in CI).
    for _ in range(30):
        app = HostProcess(["sh", "-c", "head -c 60000 /dev/zero | tr '\\0' x; exit 3"])
        try:
            assert app.wait(10) == 3
            assert app.output() == "x" * 60000
        finally:
            app.stop()


@pytest.fixture
def interrupted_later() -> Iterator[None]:
    """A test that interrupts the process layer; this process's later runs are not."""
    yield
    process.reset_interrupt()


def _in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    caught: list[BaseException] = []

    def call() -> None:
        try:
            fn()
        except BaseException as exc:  # the test reads what ended it
            caught.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread, caught


def test_an_interrupt_ends_a_running_run_and_its_group(
    tmp_path: Path, interrupted_later: None
) -> None:
    """Issue 22 item 2: a check thread's `go build` went on for minutes after Ctrl-C. The
    run ends at once, with Interrupted (not a result), and its whole group goes: here a
    grandchild that ignores SIGTERM."""
    pidfile = tmp_path / "grandchild"
    thread, caught = _in_thread(
        lambda: process.run(["sh", "-c", GRANDCHILD + "sleep 600", str(pidfile)], timeout=600)
    )
    grandchild = _pid(pidfile)
    process.interrupt("SIGINT")
    thread.join(60)  # the bound only ends an old layer's wait (600 s)
    assert not thread.is_alive(), "run() still waits for its program after the interrupt"
    assert len(caught) == 1 and isinstance(caught[0], process.Interrupted), caught
    assert caught[0].reason == "SIGINT"
    assert wait_until(lambda: not _alive(grandchild), 10), "the grandchild outlived it"


def test_after_an_interrupt_no_program_starts(tmp_path: Path, interrupted_later: None) -> None:
    process.interrupt("SIGTERM")
    ran = tmp_path / "ran"
    with pytest.raises(process.Interrupted, match=r"interrupted \(SIGTERM\)"):
        process.run(["touch", str(ran)], timeout=60)
    with pytest.raises(process.Interrupted):
        HostProcess(["touch", str(ran)])
    assert not ran.exists()
    assert process.interrupted() == "SIGTERM"


def test_after_an_interrupt_stop_gives_no_long_grace(
    tmp_path: Path, interrupted_later: None
) -> None:
    """An app that ignores SIGTERM: stop(grace=600) would wait 600 s; interrupted, it
    escalates to SIGKILL after the interrupt's short grace."""
    ready = tmp_path / "ready"
    app = HostProcess(["sh", "-c", 'trap "" TERM; touch "$0"; while :; do sleep 1; done',
                       str(ready)])
    assert wait_until(ready.exists, 10)
    process.interrupt("SIGTERM")
    codes: list[int] = []
    thread, caught = _in_thread(lambda: codes.append(app.stop(grace=600)))
    thread.join(60)
    assert not thread.is_alive(), "stop() gave the full grace after the interrupt"
    assert (codes, caught) == ([-signal.SIGKILL], [])
    assert _gone(app.pid)
