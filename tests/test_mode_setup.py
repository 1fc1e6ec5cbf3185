"""A container mode whose setup fails stays clean: the container it started is reused or
removed, never lost. Real containers on the real engine, found again by the kit's
labels; the failure is real too (the churn agent's script is gone from the container).
And the modes need no `docker` CLI: their streams go through the SDK."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from conftest import start_suite
from support.env import cache
from support.watcher import quick, reference

from pytest_fynecheck.containers.context import SESSION_ID, ContainerContext
from pytest_fynecheck.containers.engine import LABEL_SESSION, Engine, engine
from pytest_fynecheck.containers.starter import ContainerStarter
from pytest_fynecheck.watcher.harness import check_watcher
from pytest_fynecheck.watcher.modes import AGENT_SCRIPT, ContainerMode, parse_mode

SUITE = "bookworm"


def _ours() -> set[str]:
    """Ids of every container this process started and has not removed."""
    found = engine(cache()).client.containers.list(
        all=True, filters={"label": f"{LABEL_SESSION}={SESSION_ID}"}
    )
    return {str(c.id) for c in found}


def _counting(
    started: list[str], then: Callable[[ContainerContext, Path], None]
) -> ContainerStarter:
    def start(suite: str, scratch: Path, readonly: Sequence[Path]) -> ContainerContext:
        ctx = start_suite(suite, scratch, readonly)
        assert ctx.container is not None
        started.append(ctx.container)
        then(ctx, scratch)
        return ctx

    return start


@pytest.mark.slow
def test_a_failed_churn_agent_leaves_no_container() -> None:
    def lose_the_agent(ctx: ContainerContext, scratch: Path) -> None:
        (scratch / AGENT_SCRIPT.name).unlink()  # the container mounts this directory

    started: list[str] = []
    before = _ours()
    mode = parse_mode(f"container:{SUITE}", start=_counting(started, lose_the_agent), mounts=[])
    assert isinstance(mode, ContainerMode)
    try:
        for _ in range(2):  # the harness asks again for the next example
            with pytest.raises(RuntimeError, match=r"exited with status 2: .*can't open file"):
                mode.sandbox()
        assert len(started) == 1, "a second container was started over the first"
    finally:
        mode.close()
        leaked = _ours() - before
        for cid in leaked:  # never leave them, even when the test fails
            engine(cache()).api.remove_container(cid, force=True)
    assert started and not leaked, f"containers left after close(): {sorted(leaked)}"


@pytest.mark.slow
def test_container_modes_need_no_docker_cli(tmp_path: Path) -> None:
    no_cli = Engine(cache())
    no_cli.host.environ["PATH"] = str(tmp_path)  # an empty directory: no docker CLI

    def reach_it_without_the_cli(ctx: ContainerContext, scratch: Path) -> None:
        ctx.engine = no_cli  # the same engine, reached from a machine without the CLI

    started: list[str] = []
    watcher = reference()
    start = _counting(started, reach_it_without_the_cli)
    mode = parse_mode(f"container:{SUITE}", start=start, mounts=[watcher.parent])
    assert isinstance(mode, ContainerMode)
    try:
        out = check_watcher([str(watcher)], mode, hyp=quick(3, 10))
    finally:
        mode.close()
    assert out.stats.examples >= 3 and out.stats.steps >= 3 and out.stats.declared == []
    assert len(started) == 1


def test_reload_modes_do_not_import_the_watchers_modes() -> None:
    """The suite container both share lives in the containers package."""
    code = (
        "import sys, pytest_fynecheck.reload.modes as m; "
        "from pytest_fynecheck.containers.starter import SuiteContainer; "
        "assert issubclass(m.BindReloadMode, SuiteContainer); "
        "print(sorted(n for n in sys.modules if n == 'pytest_fynecheck.watcher.modes'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"
