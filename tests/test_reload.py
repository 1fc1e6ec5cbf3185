"""The reload oracle's self-test, on the fixture reloaders (fixtures/reloaders): the
correct one passes, each broken one is caught with a short reproducer that replays on
its own under dash and bash and leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from reload_support import FAST, local_mode, quick, reloader, scenario

from pytest_fynecheck.reload import probe
from pytest_fynecheck.reload.churn import ProbeTree
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
    done = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=30)
    assert f"hash={tree.hash()}" in done.stdout, done
    assert probe.tree_hash(tree.files) == tree.hash()


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
    # No app or reloader of the replay is left: their binaries lived under tmp_path.
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert left.stdout == ""
