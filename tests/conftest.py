"""Shared test helpers: copies of the sample app and a way to run `pytest --fynecheck` on one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import pytest

from pytest_fynecheck.containers.start import start_suite
from pytest_fynecheck.core.paths import cache_dir

__all__ = ["start_suite"]  # shared with the container and watcher tests

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "fixtures" / "hello"
# A path a user might really have: spaces and non-ASCII.
ODD_DIR_NAME = "my fyne app ñé"


# Fixed at import: pytester points HOME at each test's tmp dir, which would move the cache.
CACHE = cache_dir()


def _cache_env() -> dict[str, str]:
    """Go's caches and the kit's, where they are now. Under pytester's HOME they would be
    empty: every run would download modules and build Fyne cold (minutes each)."""
    done = subprocess.run(
        ["go", "env", "-json", "GOCACHE", "GOMODCACHE", "GOPATH", "GOENV"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    env: dict[str, str] = json.loads(done.stdout)
    return {**env, "XDG_CACHE_HOME": str(CACHE.parent)}


CACHE_ENV = _cache_env()


def pytest_configure(config: pytest.Config) -> None:
    """A shell's background job (`.ci/run &`, nohup) starts with SIGINT ignored, and the
    runs these tests start would inherit that: the kit then rightly leaves SIGINT alone,
    and a test's Ctrl-C never arrives. A handler of our own is reset to the default at
    exec, so the runs start as from a terminal."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _warm_caches(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester runs keep the warm caches; a test may still point one elsewhere."""
    if "pytester" in request.fixturenames:
        for key, value in CACHE_ENV.items():
            monkeypatch.setenv(key, value)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI=true a skipped self-test is a failure: CI installs everything the tests need."""
    report = yield
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if ci and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"
    return report


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    """A private copy of fixtures/hello under an awkward path, free to break."""
    dest = tmp_path / ODD_DIR_NAME
    shutil.copytree(HELLO, dest, ignore=shutil.ignore_patterns(".pytest_cache"))
    return dest


class FynecheckRun:
    def __init__(self, result: pytest.RunResult, report: dict[str, Any]) -> None:
        self.result = result
        self.report = report
        self.ret = result.ret
        self.checks = {c["id"]: c for c in report.get("checks", [])}

    def status(self, check_id: str) -> str:
        return str(self.checks[check_id]["status"])

    def __repr__(self) -> str:
        return "\n".join(self.result.outlines[-60:])


def run_fynecheck(
    pytester: pytest.Pytester,
    project: Path,
    *args: str,
    env: dict[str, str] | None = None,
    unset: Iterable[str] = (),
    xdist: bool = False,
) -> FynecheckRun:
    """Run `pytest --fynecheck` in a subprocess against `project`, with a changed environment."""
    out = pytester.path / "fynecheck.json"
    mp = pytest.MonkeyPatch()
    try:
        for k, v in (env or {}).items():
            mp.setenv(k, v)
        for k in unset:
            mp.delenv(k, raising=False)
        result = pytester.runpytest_subprocess(
            "--fynecheck",
            f"--fynecheck-project={project}",
            f"--fynecheck-json={out}",
            "-p",
            "no:cacheprovider",
            *(() if xdist else ("-p", "no:xdist")),
            *args,
            timeout=900,
        )
    finally:
        mp.undo()
    report = json.loads(out.read_text()) if out.exists() else {}
    return FynecheckRun(result, report)


def path_without(*tools: str, tmp: Path) -> str:
    """A PATH like this one, minus some tools: a symlink farm of every other executable."""
    farm = tmp / "bin"
    farm.mkdir(exist_ok=True)
    for d in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            src = Path(d, name)
            if any(name == t or name.startswith(t + "-") for t in tools):
                continue
            if (farm / name).exists() or not os.access(src, os.X_OK) or src.is_dir():
                continue
            (farm / name).symlink_to(src.resolve())
    return str(farm)


def pc_dir_without(module: str, tmp: Path) -> str:
    """A pkg-config search dir holding every system .pc file except `module`.pc."""
    dirs = subprocess.run(
        ["pkg-config", "--variable", "pc_path", "pkg-config"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    dest = tmp / "pkgconfig"
    dest.mkdir(exist_ok=True)
    for d in dirs.split(":"):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if name.endswith(".pc") and name != f"{module}.pc" and not (dest / name).exists():
                shutil.copy(Path(d, name), dest / name)
    return str(dest)
