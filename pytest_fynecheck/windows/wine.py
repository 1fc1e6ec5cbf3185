"""Wine: a private prefix under the kit's cache, keyed by Wine's version and reused, and
sessions that leave no wineserver behind."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from pytest_fynecheck.core.context import TOOL_HINTS, Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.progress import HEARTBEAT_SECONDS, heartbeat
from pytest_fynecheck.displays.servers import SCREEN_SIZE

TOOL_HINTS.setdefault("wine", "install Wine (Debian: apt-get install wine wine64)")
TOOL_HINTS.setdefault("wineserver", "install Wine (Debian: apt-get install wine wine64)")

# No Mono or Gecko: their installers would ask (a dialog) to download them, and a Fyne
# .exe needs neither. fixme-all: Wine's "not implemented" chatter; err lines stay.
BASE_ENV = {"WINEARCH": "win64", "WINEDLLOVERRIDES": "mscoree,mshtml=", "WINEDEBUG": "fixme-all"}
_READY = ".fynecheck-ready"
INIT_TIMEOUT = 600.0


def wine_version(ctx: Context) -> str:
    def compute() -> str:
        done = ctx.run(["wine", "--version"], env=BASE_ENV, timeout=60)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("wine-")]
        if not done.ok or not lines:
            raise CheckFailed(f"`wine --version` failed: {done.output[-800:]}",
                              TOOL_HINTS["wine"])
        return lines[0].strip()

    version: str = ctx.memoize("wine version", compute)
    return version


def desktop_argv(exe: Path) -> list[str]:
    """Run `exe` in a Wine virtual desktop the size of the kit's screens. Without a window
    manager, Wine 10 leaves the app's top-level X window unmapped (seen in trixie, Xvfb);
    in a virtual desktop it is mapped, as a child of the desktop's window."""
    width, height = SCREEN_SIZE
    return ["wine", "explorer", f"/desktop={DESKTOP},{width}x{height}", str(exe)]


DESKTOP = "fynecheck"
# The virtual desktop's own X window: Wine's, not the app's, though explorer carries the
# app's run token; what anything draws in it shows in its frame.
DESKTOP_TITLE = f"{DESKTOP} - Wine Desktop"


def prefix_env(prefix: Path, display: dict[str, str] | None = None) -> dict[str, str]:
    return {**BASE_ENV, "WINEPREFIX": str(prefix), **(display or {})}


def wine_prefix(ctx: Context) -> Path:
    """A WINEPREFIX made once per Wine version and kept: `wineboot --init` is the slow part
    of a first run (seen: 37 s, 695 MB with Wine 8.0)."""

    def compute() -> Path:
        version = wine_version(ctx)
        key = hashlib.sha256(f"{version} {BASE_ENV}".encode()).hexdigest()[:12]
        slug = re.sub(r"[^A-Za-z0-9.]+", "-", version.split()[0])
        prefix = ctx.cache / "wine" / f"{slug}-{key}"
        if (prefix / _READY).is_file():
            return prefix
        with _locked(ctx, prefix.parent / f"{prefix.name}.lock", "the Wine prefix", INIT_TIMEOUT):
            if not (prefix / _READY).is_file():
                _init(ctx, prefix, version)
        return prefix

    prefix: Path = ctx.memoize("wine prefix", compute)
    return prefix


def _init(ctx: Context, prefix: Path, version: str) -> None:
    shutil.rmtree(prefix, ignore_errors=True)  # a half-made prefix from a killed run
    prefix.mkdir(parents=True)
    env = prefix_env(prefix)
    what = f"{ctx.name}: initialising the Wine prefix {prefix} ({version}), once per version"
    ctx.progress(what)
    start = time.monotonic()
    try:
        with heartbeat(ctx.progress, lambda: f"{what} ({time.monotonic() - start:.0f} s)"):
            done = ctx.run(["wine", "wineboot", "--init"], env=env, timeout=INIT_TIMEOUT)
        # wineboot returns before the prefix is written out: wait for its server to end.
        ctx.run(["wineserver", "-w"], env=env, timeout=120)
    finally:
        ctx.run(["wineserver", "-k"], env=env, timeout=30)
    if not done.ok or not (prefix / "system.reg").is_file():
        raise CheckFailed(
            f"`wine wineboot --init` did not make a prefix in {prefix} "
            f"(exit {done.returncode}): {done.output[-1500:]}",
            "run `WINEPREFIX=/tmp/p wine wineboot --init` by hand to see why",
        )
    (prefix / _READY).write_text(version + "\n")
    ctx.progress(f"{ctx.name}: Wine prefix ready in {time.monotonic() - start:.0f} s")


@contextlib.contextmanager
def session(ctx: Context, prefix: Path) -> Iterator[dict[str, str]]:
    """One Wine session at a time in `prefix` (wineserver -k would end a parallel run's
    app); at the end every Wine process of the prefix is gone, or this fails."""
    env = prefix_env(prefix)
    with _locked(ctx, prefix.parent / f"{prefix.name}.session.lock", "a Wine session", 600):
        try:
            yield env
        finally:
            ctx.run(["wineserver", "-k"], env=env, timeout=30)
            # -w returns once the prefix's wineserver has exited.
            waited = ctx.run(["wineserver", "-w"], env=env, timeout=30)
            if not waited.ok:
                raise CheckFailed(f"the wineserver of {prefix} did not stop: {waited.output}")


@contextlib.contextmanager
def _locked(ctx: Context, path: Path, what: str, timeout: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        start = time.monotonic()
        said = start
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if now - start > timeout:
                    raise CheckFailed(
                        f"waited {timeout:g} s for {what} ({path}), held by another run",
                        "wait for the other pytest-fynecheck run to finish",
                    ) from None
                if now - said >= HEARTBEAT_SECONDS:
                    said = now
                    ctx.progress(f"{ctx.name}: waiting for {what}, used by another run "
                                 f"({now - start:.0f} s)")
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
