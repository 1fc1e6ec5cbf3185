"""The kit as users get it: a real wheel built with pip, installed into a real venv."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from support.sample import ROOT

# What a build must not see: an in-tree build/ would ship stale files from earlier builds.
NOT_SOURCE = shutil.ignore_patterns(
    "build", "dist", "*.egg-info", ".git", "__pycache__", ".*_cache", ".hypothesis"
)
PIP = [sys.executable, "-m", "pip", "--quiet"]


def build_wheel(work: Path) -> Path:
    """`pip wheel` of a clean copy of the checkout; returns the .whl."""
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    wheels = work / "wheels"
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "-w", str(wheels), str(src)], check=True, timeout=600
    )
    (wheel,) = wheels.glob("pytest_fynecheck-*.whl")
    return wheel


def _source_hash() -> str:
    h = hashlib.sha256()
    for path in [*sorted((ROOT / "pytest_fynecheck").rglob("*")), ROOT / "pyproject.toml"]:
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def wheel_venv(shared: Path) -> Path:
    """A venv with the wheel (and its dependencies from the index) installed; its python.

    Made once per source under `shared` (one directory for every xdist worker of a run),
    behind a file lock, so parallel workers share it.
    """
    shared.mkdir(parents=True, exist_ok=True)
    home = shared / f"wheel-venv-{_source_hash()}"
    python = home / "venv" / "bin" / "python"
    with open(shared / "wheel-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "ready").is_file():
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            wheel = build_wheel(home)
            venv = [sys.executable, "-m", "venv", str(home / "venv")]
            subprocess.run(venv, check=True, timeout=300)
            install = [str(python), "-m", "pip", "--quiet", "install", str(wheel)]
            subprocess.run(install, check=True, timeout=900)
            (home / "ready").write_text(str(wheel))
    return python
