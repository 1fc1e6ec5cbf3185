"""Watcher modes in suite containers: churn and watcher inside one (its overlay file
system), churn on the host with the watcher inside on a bind mount, and the reverse.
Real containers on the real engine, real Go watchers; nothing skips without Docker."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import start_suite
from support.env import cache
from support.watcher import BROKEN, BUILTIN_FINDINGS, broken, check_builtin, quick, reference

from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.watcher.harness import WatcherCheckFailed, check_watcher
from pytest_fynecheck.watcher.modes import ContainerMode, parse_mode

pytestmark = pytest.mark.slow  # the first run builds the suite image
SUITE = "bookworm"
MODES = [f"container:{SUITE}", f"bind:{SUITE}", f"bind:{SUITE}:reverse"]


def _mode(spec: str) -> ContainerMode:
    # Every kit-built watcher lives under the cache's go/ dir: one mount serves them all.
    mode = parse_mode(spec, start=start_suite, mounts=[cache() / "go"])
    assert isinstance(mode, ContainerMode)
    return mode


@pytest.fixture(scope="module", params=MODES)
def mode(request: pytest.FixtureRequest) -> Iterator[ContainerMode]:
    reference(), [broken(n) for n in BROKEN]  # built before the container mounts go/
    m = _mode(request.param)
    yield m
    m.close()


def test_reference_watcher_passes(mode: ContainerMode) -> None:
    out = check_watcher([str(reference())], mode, hyp=quick(10, 25))
    assert out.mode == mode.name
    assert out.stats.examples >= 10 and out.stats.steps > 10 * 10
    assert out.stats.declared == []


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_watcher_is_caught(mode: ContainerMode, name: str, tmp_path: Path) -> None:
    # Room to find the bugs that need a rare step; a run stops at the first failure, so it
    # costs nothing when the bug shows early. (newdirrace pauses before its new watch: as a
    # bare race it fired in 1 of 5 replays on a CI bind mount, and no shrink can rest on
    # that; race-aware shrinking is tested on inotifywait's real race.)
    with pytest.raises(WatcherCheckFailed) as caught:
        check_watcher([str(broken(name))], mode, hyp=quick(200), artifacts=tmp_path)
    failure = caught.value.step_failure
    assert failure is not None and failure.reason == "silent loss", str(caught.value)
    message = str(caught.value)
    assert f"in mode {mode.name}" in message
    assert "never came:" in message
    # Races too: a candidate that passes is tried again (race-aware shrinking).
    assert len(failure.steps) <= 6, message


@pytest.mark.parametrize("name", sorted(BUILTIN_FINDINGS))
def test_builtin_watcher(mode: ContainerMode, name: str, tmp_path: Path) -> None:
    # Every built-in runs in every container mode (the bookworm image has the tools).
    print(check_builtin(name, mode, tmp_path))


@pytest.fixture(scope="module")
def inside() -> Iterator[ContainerMode]:
    m = _mode(f"container:{SUITE}")
    yield m
    m.close()


@pytest.mark.parametrize("seed", range(20))
def test_reference_passes_derandomised_seeds_in_a_container(
    inside: ContainerMode, seed: int
) -> None:
    out = check_watcher(
        [str(reference())], inside, hyp=quick(8, 25, derandomize=True), seed_value=seed
    )
    assert out.stats.examples >= 8 and out.stats.declared == []


def test_churn_really_happens_inside_the_container(inside: ContainerMode) -> None:
    # The root is on the container's own file system: the host has no such directory.
    box = inside.sandbox()
    try:
        assert box.watcher_root.startswith("/tmp/fynecheck-watch-")
        assert not Path(box.watcher_root).exists()
        assert inside.ctx is not None
        listed = inside.ctx.run(["ls", "-d", box.watcher_root])
        assert listed.ok, listed.output
    finally:
        box.close()
    assert not inside.ctx.run(["ls", "-d", box.watcher_root]).ok, "the root outlived its sandbox"


def test_a_program_the_container_lacks_is_named(inside: ContainerMode) -> None:
    with pytest.raises(InputError, match=r"not found in the bookworm container: 'no-such-watch'"):
        check_watcher(["no-such-watch", "{root}"], inside, hyp=quick(1, 1))


def test_closing_the_mode_removes_its_container() -> None:
    m = _mode(f"bind:{SUITE}")
    check_watcher([str(reference())], m, hyp=quick(2, 3))
    assert m.ctx is not None and m.ctx.container is not None
    container, scratch = m.ctx.container, m.scratch
    m.close()
    gone = subprocess.run(["docker", "inspect", container], capture_output=True, timeout=60)
    assert gone.returncode != 0, "the mode's container is still there"
    assert not scratch.exists()


def test_mode_specs_are_checked() -> None:
    with pytest.raises(InputError, match="unknown suite 'jessie'"):
        parse_mode("container:jessie", start=start_suite)
    with pytest.raises(InputError, match="only bind modes have a reverse"):
        parse_mode("container:bookworm:reverse", start=start_suite)
    with pytest.raises(InputError, match="unknown watcher mode 'nfs'"):
        parse_mode("nfs")
    m = parse_mode("bind:trixie:reverse", start=start_suite)
    assert m.name == "bind:trixie:reverse"
    m.close()  # never started: nothing to remove, and no container was made


@pytest.mark.parametrize("spec", [f"container:{SUITE}", f"bind:{SUITE}"])
def test_container_reproducer_replays_on_its_own(spec: str, tmp_path: Path) -> None:
    watcher = broken("droprename")
    m = _mode(spec)
    try:
        with pytest.raises(WatcherCheckFailed) as caught:
            check_watcher(
                [str(watcher), "{root}"], m, hyp=quick(), artifacts=tmp_path / "local",
                reproducers=tmp_path / "repro",
            )
    finally:
        m.close()  # the failing run's container is gone: the reproducer stands alone
    where = caught.value.reproducer
    assert where is not None, str(caught.value)
    assert f"container reproducer: sh {where}/run.sh" in str(caught.value)
    assert (where / "files" / watcher.name).read_bytes() == watcher.read_bytes()
    readme = (where / "README").read_text(encoding="utf-8").splitlines()
    assert len(readme) == 3 and "shrunk steps replayed" in readme[2], readme
    done = subprocess.run(
        ["sh", str(where / "run.sh")], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 1, done.stdout + done.stderr
    failure = caught.value.step_failure
    assert failure is not None
    first = failure.verdict.missing[0]
    assert f"REPRODUCED: never came: {' or '.join(sorted(first.kind.covered_by))}" in done.stdout
    assert repr(first.path) in done.stdout
    # Replayed with the reference watcher instead, the same steps pass.
    run_sh = where / "run.sh"
    script = where / "files" / "replay.sh"
    script.write_text(
        script.read_text(encoding="utf-8").replace(watcher.name, reference().name),
        encoding="utf-8",
    )
    (where / "files" / reference().name).write_bytes(reference().read_bytes())
    (where / "files" / reference().name).chmod(0o755)
    fixed = subprocess.run(["sh", str(run_sh)], capture_output=True, text=True, timeout=600)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "not reproduced" in fixed.stdout


def test_watchers_do_not_outlive_their_example(inside: ContainerMode) -> None:
    check_watcher([str(reference())], inside, hyp=quick(3, 5))
    assert inside.ctx is not None
    left = inside.ctx.run(["pgrep", "-x", reference().name])
    assert left.returncode == 1, f"watchers still running in the container: {left.output}"
