"""Issue 22 item 15: a replay script the kit writes never removes a path it did not make.

With TMPDIR missing, `mktemp -d` fails; the scripts used to go on with an empty work
directory, which `cd "" && pwd -P` turned into the caller's current directory, and their
cleanup trap then ran `rm -rf` on it. Both kinds of script (the watcher's and the reload
oracle's) are made here through the real code paths, from real failures."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.reload import FAST, local_mode, reloader
from support.reload import quick as reload_quick
from support.watcher import broken, local, quick

from pytest_fynecheck.churn.script import NO_WORKDIR
from pytest_fynecheck.reload.harness import ReloadCheckFailed, check_reloader
from pytest_fynecheck.watcher.harness import WatcherCheckFailed, check_watcher


@pytest.fixture(scope="module")
def watcher_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.raises(WatcherCheckFailed) as caught:
        check_watcher([str(broken("droprename"))], local(), hyp=quick(),
                      artifacts=tmp_path_factory.mktemp("watcher-artifacts"))
    assert caught.value.script is not None
    return caught.value.script


@pytest.fixture(scope="module")
def reload_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.raises(ReloadCheckFailed) as caught:
        check_reloader(reloader("stale"), local_mode(), options=FAST, hyp=reload_quick(6),
                       seed_value=1, artifacts=tmp_path_factory.mktemp("reload-artifacts"))
    assert caught.value.script is not None
    return caught.value.script


@pytest.mark.parametrize("kind", ["watcher", "reload"])
@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_a_replay_script_with_a_missing_tmpdir_stops_and_keeps_the_current_directory(
    request: pytest.FixtureRequest, kind: str, shell: str, tmp_path: Path
) -> None:
    if shutil.which(shell) is None:
        pytest.fail(f"{shell} is not installed (the CI image has both dash and bash)")
    script: Path = request.getfixturevalue(f"{kind}_script")
    here = tmp_path / "caller's directory"
    here.mkdir()
    canary = here / "canary.txt"
    canary.write_text("still here\n")
    env = {**os.environ, "TMPDIR": str(tmp_path / "nonexistent")}
    done = subprocess.run([shell, str(script)], cwd=here, env=env, capture_output=True,
                          text=True, timeout=180)
    output = done.stdout + done.stderr
    assert canary.read_text() == "still here\n", f"{kind} script under {shell}: {output}"
    assert sorted(p.name for p in here.iterdir()) == ["canary.txt"], output
    assert done.returncode == NO_WORKDIR, output
    assert "cannot make a private work directory under" in done.stderr, output
    assert str(tmp_path / "nonexistent") in done.stderr, output
    assert "REPRODUCED" not in done.stdout, output
