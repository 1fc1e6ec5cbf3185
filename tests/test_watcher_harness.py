"""The harness against real Go watchers: the reference passes, every broken one is
caught, failures shrink and replay on their own, and bad watchers fail plainly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import Phase
from support.watcher import BROKEN, broken, local, quick, reference

from pytest_fynecheck.core.context import wait_until
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.watcher.harness import LiveWatcher, WatcherCheckFailed, check_watcher
from pytest_fynecheck.watcher.modes import LocalMode, parse_mode
from pytest_fynecheck.watcher.options import Options
from pytest_fynecheck.watcher.protocol import WatcherFailed


@pytest.mark.parametrize("seed", range(20))
def test_reference_watcher_passes_derandomised_seeds(seed: int) -> None:
    out = check_watcher(
        [str(reference())], local(), hyp=quick(8, 25, derandomize=True), seed_value=seed
    )
    assert out.stats.examples >= 8
    assert out.stats.steps > 8 * 10
    assert out.stats.declared == []


def test_reference_watcher_is_clean_in_strict_mode() -> None:
    # On the default temp dir, not tmpfs: the disk case is covered too.
    out = check_watcher(
        [str(reference())], LocalMode(), options=Options(strict=True), hyp=quick(15, 20)
    )
    assert out.stats.steps > 0


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_watcher_is_caught(name: str, tmp_path: Path) -> None:
    with pytest.raises(WatcherCheckFailed) as caught:
        check_watcher([str(broken(name))], local(), hyp=quick(), artifacts=tmp_path)
    failure = caught.value.step_failure
    assert failure is not None
    assert failure.reason == "silent loss"
    message = str(caught.value)
    assert "never came:" in message
    assert "shrunk steps" in message
    assert caught.value.script is not None and caught.value.script.is_file()
    # Races too: a candidate that passes is tried again (race-aware shrinking).
    assert len(failure.steps) <= 6, message


def test_shrinking_drops_a_step_that_later_dropped_steps_needed() -> None:
    # The burst cannot go while the chmods of its files stay; back to front, the chmods
    # go first and then the burst, down to the two steps norecurse's bug needs.
    from pytest_fynecheck.watcher.churn import Tree
    from pytest_fynecheck.watcher.run import minimize, replay

    t = Tree()
    steps = [t.burst("", 2), t.chmod("burst0"), t.chmod("burst1")]
    steps += [t.mkdir("", "d"), t.create("d", "f", b"x")]
    cmd, mode, options = [str(broken("norecurse"))], local(), Options()
    found = replay(cmd, mode, options, steps)
    assert found is not None and found.steps == steps, "a file in a new dir goes unseen"
    shrunk = minimize(cmd, mode, options, found, tries=1)
    assert shrunk.reason == "silent loss"
    assert [s.label for s in shrunk.steps] == ["mkdir 'd'", "create 'd/f' with 1 bytes"], shrunk


def test_shrinking_tries_the_failing_step_alone_first() -> None:
    from pytest_fynecheck.watcher.churn import Tree
    from pytest_fynecheck.watcher.run import minimize, replay

    t = Tree()
    steps = [t.burst("", 3), t.chmod("burst2"), t.mkdir("", "d", ["f"])]
    cmd, mode, options = [str(broken("norecurse"))], local(), Options()
    found = replay(cmd, mode, options, steps)
    assert found is not None and len(found.steps) == 3
    shrunk = minimize(cmd, mode, options, found, tries=1)
    assert [s.label for s in shrunk.steps] == ["mkdir 'd' with 1 entries inside"], shrunk


@pytest.mark.parametrize("name", ["droprename", "debounce", "statdrop", "norecurse"])
def test_replay_script_reproduces_on_its_own(name: str, tmp_path: Path) -> None:
    with pytest.raises(WatcherCheckFailed) as caught:
        check_watcher([str(broken(name))], local(), hyp=quick(), artifacts=tmp_path)
    script = caught.value.script
    assert script is not None
    failure = caught.value.step_failure
    assert failure is not None
    done = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    first = failure.verdict.missing[0]
    assert f"REPRODUCED: never came: {' or '.join(sorted(first.kind.covered_by))}" in done.stdout
    assert repr(first.path) in done.stdout


def test_replay_script_does_not_reproduce_against_the_reference(tmp_path: Path) -> None:
    with pytest.raises(WatcherCheckFailed) as caught:
        check_watcher([str(broken("droprename"))], local(), hyp=quick(), artifacts=tmp_path)
    script = caught.value.script
    assert script is not None
    text = script.read_text(encoding="utf-8").replace(str(broken("droprename")), str(reference()))
    fixed = tmp_path / "against-reference.sh"
    fixed.write_text(text, encoding="utf-8")
    done = subprocess.run(["sh", str(fixed)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not reproduced" in done.stdout


# Overflow is a race: shrinking its replays is slow and says nothing about the verdict.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


def test_declared_loss_fails_by_default_and_is_named_as_declared() -> None:
    cmd = [str(broken("overflow")), "-declare"]
    with pytest.raises(WatcherCheckFailed) as caught:
        check_watcher(cmd, local(), hyp=quick(phases=NO_SHRINK))
    failure = caught.value.step_failure
    assert failure is not None
    assert failure.reason.startswith("declared loss")
    assert "queue overflow" in str(caught.value)


def test_declared_loss_can_be_allowed() -> None:
    cmd = [str(broken("overflow")), "-declare"]
    out = check_watcher(
        cmd, local(), options=Options(fail_on_declared_loss=False), hyp=quick(phases=NO_SHRINK)
    )
    assert out.stats.declared, "the overflow fixture never overflowed"
    assert all("overflow" in d for d in out.stats.declared)


def test_strict_mode_rejects_events_for_untouched_paths() -> None:
    # The reference watcher plus one invented event before it starts.
    stray = ["sh", "-c", 'echo \'{"op": "write", "path": "invented"}\'; exec "$0" "$1"']
    cmd = [*stray, str(reference()), "{root}"]
    check_watcher(cmd, local(), hyp=quick(3, 5))
    with pytest.raises(WatcherCheckFailed, match="strict: events for paths the churn never"):
        check_watcher(cmd, local(), options=Options(strict=True), hyp=quick(3, 5))


FAST = Options(timeout=2.0)


def test_missing_command_is_an_input_error() -> None:
    with pytest.raises(InputError, match="watcher command not found: 'no-such-watcher-xyz'"):
        check_watcher(["no-such-watcher-xyz", "{root}"], local(), options=FAST)


def test_never_ready_names_the_timeout_and_the_output() -> None:
    cmd = ["sh", "-c", "echo watching... >&2; sleep 60"]
    with pytest.raises(WatcherFailed) as caught:
        check_watcher(cmd, local(), options=FAST)
    msg = str(caught.value)
    assert 'did not print {"ready": true} within 2 s' in msg
    assert "watching..." in msg
    assert "stdout: (nothing)" in msg


def test_garbage_is_shown_with_the_expected_form() -> None:
    cmd = ["sh", "-c", "echo 'Watching /tmp for changes'; sleep 60"]
    with pytest.raises(WatcherFailed) as caught:
        check_watcher(cmd, local(), options=FAST)
    msg = str(caught.value)
    assert "not protocol JSON" in msg
    assert "first bad line: 'Watching /tmp for changes'" in msg
    assert '{"ready": true}' in msg


def test_early_exit_gives_the_status_and_what_it_printed() -> None:
    cmd = ["sh", "-c", "echo 'inotify: no space left' >&2; exit 3"]
    with pytest.raises(WatcherFailed) as caught:
        check_watcher(cmd, local(), options=FAST)
    msg = str(caught.value)
    assert "exited with status 3 before printing" in msg
    assert "inotify: no space left" in msg


def test_exit_after_ready_is_caught_during_the_run() -> None:
    cmd = ["sh", "-c", "echo '{\"ready\": true}'; echo bye >&2"]
    with pytest.raises((WatcherFailed, WatcherCheckFailed)) as caught:
        check_watcher(cmd, local(), options=FAST)
    msg = str(caught.value)
    assert "exited with status 0" in msg
    assert "bye" in msg


def test_container_modes_need_a_way_to_start_containers() -> None:
    with pytest.raises(InputError, match="needs containers, which run under pytest"):
        parse_mode("container:bookworm")


def test_live_watcher_barriers_window_the_events(tmp_path: Path) -> None:
    with LiveWatcher([str(reference()), str(tmp_path)], tmp_path) as live:
        (tmp_path / "a").write_text("1")
        first = live.barrier()
        assert ("create", "a") in [(e.op, e.path) for e in first]
        (tmp_path / "a").unlink()
        second = live.barrier()
        assert [(e.op, e.path) for e in second] == [("remove", "a")]


def test_watchers_do_not_outlive_the_check() -> None:
    # A watcher that starts a child: stopping the group must end both. The child's
    # duration is this run's own (GNU sleep takes fractions), so other sessions' sleeps
    # do not count.
    child = f"sleep 300.{os.getpid()}{time.monotonic_ns() % 10**6}"
    cmd = ["sh", "-c", f'{child} & exec "$0" "$1"', str(reference())]
    check_watcher(cmd, local(), hyp=quick(2, 3))

    def gone() -> bool:
        left = subprocess.run(["pgrep", "-f", f"^{child}$"], capture_output=True, timeout=30)
        return left.returncode == 1

    # SIGKILL went to the whole group; a loaded machine may take a moment to end it.
    assert wait_until(gone, 10, 0.1), "a child of the watcher survived"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
