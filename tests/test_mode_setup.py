"""A container mode whose setup fails stays clean: the container it started is reused or
removed, never lost. Real containers on the real engine, found again by the kit's
labels; the failure is real too (the `docker` CLI the churn agent needs is not on the
PATH of this machine's context, while the SDK reaches the engine)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import CACHE, start_suite

from pytest_fynecheck.containers.context import SESSION_ID, ContainerContext
from pytest_fynecheck.containers.engine import LABEL_SESSION, Engine, engine
from pytest_fynecheck.context import ToolMissing
from pytest_fynecheck.watcher.modes import ContainerMode, parse_mode

SUITE = "bookworm"


def _ours() -> set[str]:
    """Ids of every container this process started and has not removed."""
    found = engine(CACHE).client.containers.list(
        all=True, filters={"label": f"{LABEL_SESSION}={SESSION_ID}"}
    )
    return {str(c.id) for c in found}


@pytest.mark.slow
def test_a_failed_churn_agent_leaves_no_container(tmp_path: Path) -> None:
    no_cli = Engine(CACHE)
    no_cli.host.environ["PATH"] = str(tmp_path)  # an empty directory: no docker CLI
    started: list[str] = []

    def start(suite: str, scratch: Path, readonly: Sequence[Path]) -> ContainerContext:
        ctx = start_suite(suite, scratch, readonly)
        assert ctx.container is not None
        started.append(ctx.container)
        ctx.engine = no_cli  # the same engine, reached from a machine without the CLI
        return ctx

    before = _ours()
    mode = parse_mode(f"container:{SUITE}", start=start, mounts=[])
    assert isinstance(mode, ContainerMode)
    try:
        for _ in range(2):  # the harness asks again for the next example
            with pytest.raises(ToolMissing, match="`docker` not found on PATH"):
                mode.sandbox()
        assert len(started) == 1, "a second container was started over the first"
    finally:
        mode.close()
        leaked = _ours() - before
        for cid in leaked:  # never leave them, even when the test fails
            engine(CACHE).api.remove_container(cid, force=True)
    assert started and not leaked, f"containers left after close(): {sorted(leaked)}"


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
