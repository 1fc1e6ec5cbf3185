"""Exact ownership for the reaper (issue 22 item 16): a record made by a live process in
another pid namespace, or by a process whose pid was reused, is never taken for a dead
run's. Real processes in a real pid namespace (`unshare --pid --fork --mount-proc`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.proc import in_pid_namespace

from pytest_fynecheck.core import reaper
from pytest_fynecheck.core.context import wait_until

# Records a private directory the reaper may remove, then holds until released.
HOLDER = """
import os, sys, tempfile, time
from pathlib import Path
from pytest_fynecheck.core import reaper
made = tempfile.mkdtemp(prefix=reaper.OWN_DIR_PREFIX)
reaper.record_dir(made)
Path(sys.argv[1]).write_text(made)
while not Path(sys.argv[2]).exists():
    time.sleep(0.05)
"""


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "records"
    monkeypatch.setenv(reaper.RECORDS_ENV, str(path))  # only this test's records
    return path


class Holder:
    def __init__(self, tmp: Path, prefix: list[str]) -> None:
        self.ready, self.release = tmp / "ready", tmp / "release"
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-c", HOLDER, str(self.ready), str(self.release)],
            env=os.environ.copy(),
        )
        assert wait_until(self.ready.exists, 60, 0.05), "the holder never recorded"
        self.dir = Path(self.ready.read_text())

    def close(self) -> None:
        self.release.write_text("")
        try:
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def holders(tmp_path: Path) -> Iterator[list[Holder]]:
    made: list[Holder] = []
    yield made
    for holder in made:
        holder.close()


def test_a_live_owner_in_another_pid_namespace_keeps_its_records(
    records: Path, tmp_path: Path, holders: list[Holder]
) -> None:
    """Fails before the fix: its pid (1 or 2 in its namespace) named another process here,
    so the reaper judged the owner gone and removed the live run's directory."""
    holder = Holder(tmp_path, in_pid_namespace())
    holders.append(holder)
    reaper.reap_processes()
    assert holder.dir.is_dir(), "the reaper removed a live run's directory"
    assert holder.proc.poll() is None


def test_a_dead_owner_of_this_namespace_loses_its_directory(
    records: Path, tmp_path: Path, holders: list[Holder]
) -> None:
    holder = Holder(tmp_path, [])
    holder.proc.kill()  # SIGKILL: it cannot clean up
    holder.proc.wait()
    reaper.reap_processes()
    assert not holder.dir.exists()
    assert not list(records.rglob("*.pids"))


def test_a_reused_pid_does_not_pass_for_the_owner() -> None:
    """The same pid with another start time is another process."""
    me = reaper.me()
    assert not me.gone()
    assert reaper.Owner(me.boot, me.pidns, me.pid, str(int(me.start) + 1)).gone()
    # Unknown is never gone: no namespace, no start time, another namespace.
    assert not reaper.Owner(me.boot, "", me.pid, "1").gone()
    assert not reaper.Owner(me.boot, me.pidns + "0", 999_999_999, "1").gone()
    # An earlier boot of this machine: every process of it has ended.
    assert reaper.Owner("0-0", me.pidns, me.pid, me.start).gone()


def test_scratch_of_a_killed_run_is_removed_by_the_next(records: Path) -> None:
    made = subprocess.run(
        [sys.executable, "-c",
         "import os, signal\n"
         "from pytest_fynecheck.core import paths\n"
         "print(paths.scratch_dir('fynecheck-test-'), flush=True)\n"
         "os.kill(os.getpid(), signal.SIGKILL)\n"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    left = Path(made.stdout.strip())
    assert made.returncode == -9 and left.is_dir(), made
    reaper.reap_processes()
    assert not left.exists()
