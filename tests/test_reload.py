"""The reload oracle's self-test, on the fixture reloaders (fixtures/reloaders): the
correct one passes, each broken one is caught with a short reproducer that replays on
its own under dash and bash and leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.reload import FAST, local_mode, quick, reloader, scenario

from pytest_fynecheck.core.context import wait_until
from pytest_fynecheck.reload.churn import Action, ProbeTree
from pytest_fynecheck.reload.harness import ReloadCheckFailed, check_reloader
from pytest_fynecheck.watcher.build import build_go


def test_the_probe_announces_the_hash_the_kit_computes(tmp_path: Path) -> None:
    """The oracle's premise: a probe built from a tree announces tree_hash(tree)."""
    tree = ProbeTree()
    tree.new_package(0)
    tree.asset_edit(None, False)
    for path, data in tree.files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    binary = build_go(tmp_path, cache=tmp_path / "cache")
    ctl = tmp_path / "ctl"
    (ctl / "probes").mkdir(parents=True)
    env = {**os.environ, "FYNECHECK_RELOAD_DIR": str(ctl), "FYNECHECK_PROBE_PORT": ""}
    (ctl / "stop").touch()  # it exits at its first look at the switch
    built = tree.hash()
    done = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=30)
    assert f"hash={built}" in done.stdout, done
    # What was compiled, not what is on disk now: an edit after the build changes nothing.
    tree.asset_edit("assets/greeting.txt", False)
    (tmp_path / "assets" / "greeting.txt").write_bytes(tree.files["assets/greeting.txt"])
    again = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=30)
    assert f"hash={built}" in again.stdout and tree.hash() != built


def test_the_correct_reloader_passes() -> None:
    outcome = check_reloader(reloader("good"), local_mode(), options=FAST, hyp=quick(3, 3))
    assert outcome.stats.examples >= 1 and outcome.stats.steps >= 1
    assert outcome.stats.builds >= 1  # it really rebuilt


def test_a_change_during_a_build_is_caught() -> None:
    """`stale` takes a change made while it builds as built (air#784's symptom)."""
    failed = scenario(reloader("stale"), [("edit_during_build", {"first": 0, "second": 0})])
    assert failed is not None
    assert "stale build" in failed.problems[0], failed.describe()
    # A correct reloader rebuilds after the same step.
    assert scenario(reloader("good"), [("edit_during_build", {"first": 0, "second": 0})]) is None


def test_an_old_process_left_running_is_caught() -> None:
    """`nokill` never stops the old app: it keeps the port, the new app cannot start."""
    failed = scenario(reloader("nokill"), [("edit", {"pick": 0, "atomic": True})])
    assert failed is not None
    text = failed.describe()
    assert "stale build (the tree as it was at the start)" in text
    assert "held by an old process" in text and "address already in use" in text


@pytest.fixture(scope="module")
def stale_failure(tmp_path_factory: pytest.TempPathFactory) -> ReloadCheckFailed:
    with pytest.raises(ReloadCheckFailed) as info:
        check_reloader(reloader("stale"), local_mode(), options=FAST, hyp=quick(6),
                       seed_value=1, artifacts=tmp_path_factory.mktemp("artifacts"))
    return info.value


def test_the_stale_reloader_is_caught_and_shrunk(stale_failure: ReloadCheckFailed) -> None:
    f = stale_failure.failure
    assert 1 <= len(f.steps) <= 6, str(stale_failure)
    assert "stale build" in str(stale_failure)
    assert "replay it on its own: sh " in str(stale_failure)


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_the_replay_script_fails_on_its_own_and_cleans_up(
    stale_failure: ReloadCheckFailed, shell: str, tmp_path: Path
) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    assert stale_failure.script is not None
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([shell, str(stale_failure.script)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "REPRODUCED: pid" in done.stdout and "not the final tree" in done.stdout
    assert list(tmp_path.iterdir()) == []  # tree, control dir and output removed
    assert _running_in(tmp_path) == []  # the reloader ran in the tree, its app from there


def _running_in(where: Path) -> list[str]:
    """Processes whose working directory or program lies under `where`."""
    found = []
    for proc in Path("/proc").iterdir():
        for link in ("cwd", "exe"):
            try:
                target = os.readlink(proc / link)
            except OSError:
                continue
            if target.startswith(str(where)):
                found.append(f"{proc.name}: {link} {target}")
    return found


def test_a_go_run_build_is_seen_held_and_ended_like_go_build() -> None:
    """Issue 22 item 7: gow runs `go run`, whose build the oracle could not see (no lock,
    no end, no hold). Quiescence came while it compiled (under load, longer than the
    quiet time): "no app is running", and every broken build waited out its budget."""
    mode = local_mode()
    box = mode.sandbox()
    proc = None
    try:
        box.apply([Action("hold")])
        proc = mode.spawn(["go", "run", "."], box)
        assert box.apply([Action("await_held", seconds=120)]) == [], proc.output()
        # Built, held before the app runs, and busy all along.
        assert box.busy() and box.probes() == []
        box.apply([Action("release")])
        want = box.model.hash()
        assert wait_until(lambda: any(p.alive and p.hash == want for p in box.probes()), 60)
        assert [line[0] for line in box.builds()] == ["start", "held", "end"]
        assert wait_until(lambda: not box.busy(), 30)
        proc.stop()
        box.stop_probes()
        # A failed `go run` build notes no end line, yet ends: its lock goes with go.
        step = box.model.broken_build(False, 0)
        box.apply(step.actions[:1])
        proc = mode.spawn(["go", "run", "."], box)
        assert wait_until(lambda: "cannot use" in proc.output(), 120), proc.output()
        (started,) = [line[1] for line in box.builds() if line[0] == "start"][-1:]
        assert wait_until(lambda: not box.building(started), 30), box.builds()
        assert "end" not in [line[0] for line in box.builds() if line[1:2] == [started]]
    finally:
        if proc is not None:
            proc.stop()
        box.stop_probes()
        box.close()
