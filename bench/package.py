"""Figures for issue 25: warm package.* on the packaged sample against the same work by hand.

    python bench/package.py [--runs N] [--fyne DIR]

Both sides in this one run, on this machine, alternately, each in a fresh copy of
fixtures/packaged (the copy is not timed):
  bare   `fyne package -os linux`, `tar -xJf` of its tarball, `make install DESTDIR=...`;
  kit    `pytest --fynecheck -k package` (package.metadata + package.linux, with fyne.cli
         and what they need; pytest's start included): the kit's copy of the project, the
         same three commands, desktop-file-validate, the icon compared.
Warm: Go's build cache already holds the app (one untimed warm-up of each side first).
The fyne CLI is fyne.io/tools v1.7.4 from the kit's cache (--fyne DIR, the directory that
holds `fyne`). Goal: kit ÷ bare ≤ 1.5x. The ratio is the median of --runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ROOT / "fixtures" / "packaged"


def _copy(tmp: Path, name: str) -> Path:
    dest = tmp / name
    shutil.copytree(PACKAGED, dest, ignore=shutil.ignore_patterns(".pytest_cache"))
    return dest


def bare(project: Path, env: dict[str, str]) -> float:
    start = time.monotonic()
    subprocess.run(["fyne", "package", "-os", "linux"], cwd=project, env=env, check=True,
                   capture_output=True, timeout=900)
    out = project / "unpacked"
    out.mkdir()
    subprocess.run(["tar", "-xJf", str(project / "Packaged.tar.xz"), "-C", str(out)],
                   check=True, timeout=300)
    dest = project / "destdir"
    (dest / "usr" / "local").mkdir(parents=True)
    subprocess.run(["make", "-C", str(out / "packaged"), "install", f"DESTDIR={dest}"],
                   check=True, capture_output=True, timeout=300)
    return time.monotonic() - start


def kit(project: Path, env: dict[str, str]) -> float:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "--fynecheck", "-k", "package",
                           "-p", "no:randomly", "-p", "no:cacheprovider", "-q",
                           f"--fynecheck-project={project}"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=900)
    took = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"the kit's run failed:\n{done.stdout[-3000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    default = Path.home() / ".cache" / "pytest-fynecheck" / "tools" / "fyne-v1.7.4"
    parser.add_argument("--fyne", type=Path, default=default)
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{args.fyne}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        base = Path(tmp)
        bare(_copy(base, "warm-bare"), env)
        kit(_copy(base, "warm-kit"), env)
        ratios = []
        for i in range(args.runs):
            b = bare(_copy(base, f"bare-{i}"), env)
            k = kit(_copy(base, f"kit-{i}"), env)
            ratios.append(k / b)
            print(f"run {i + 1}: bare {b:.1f} s, kit {k:.1f} s, kit ÷ bare {k / b:.2f}x",
                  flush=True)
    print(f"warm package.* ÷ bare fyne package + tar -x + make install: "
          f"{statistics.median(ratios):.2f}x (median of {args.runs}; goal ≤ 1.5x)")


if __name__ == "__main__":
    main()
