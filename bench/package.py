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

--windows adds package.windows' own cost: its PE lint (pefile, the resource directory only,
the icon decoded and compared) of the .exe a warm bare `fyne package -os windows` makes
(mingw-w64), against that packaging. Wine's launch is windows.window's, timed there.

--suite-windows SUITE times warm package.windows in SUITE-windows (the kit's fyne CLI
copied in, `fyne package -os windows` in the container, the PE lint, the .exe shown under
that suite's Wine), against warm windows.window there (`go build` of the same app and its
launch under the same Wine), each a `pytest --fynecheck --fynecheck-os SUITE-windows -k
CHECK` with pytest's start; the ratio is what packaging adds to a plain Windows cell.
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


def windows(base: Path, env: dict[str, str], runs: int) -> None:
    from pytest_fynecheck.package.windows import lint
    from pytest_fynecheck.toolchain.cross import WINDOWS_ENV

    wenv = {**env, **WINDOWS_ENV}
    subprocess.run(["fyne", "package", "-os", "windows"], cwd=_copy(base, "warm-win"),
                   env=wenv, check=True, capture_output=True, timeout=1800)
    ratios = []
    for i in range(runs):
        project = _copy(base, f"win-{i}")
        start = time.monotonic()
        subprocess.run(["fyne", "package", "-os", "windows"], cwd=project, env=wenv,
                       check=True, capture_output=True, timeout=1800)
        b = time.monotonic() - start
        start = time.monotonic()
        found = lint(project / "Packaged.exe", "Packaged", "1.0.0", 1, project / "Icon.png")
        k = time.monotonic() - start
        if found.failed:
            raise SystemExit(f"the PE lint failed: {found.failed}")
        ratios.append(k / b)
        print(f"windows run {i + 1}: bare fyne package -os windows {b:.1f} s, PE lint "
              f"{k * 1000:.0f} ms ({k / b:.1%})", flush=True)
    print(f"PE lint ÷ warm bare fyne package -os windows: {statistics.median(ratios):.1%} "
          f"(median of {runs})")


def suite_windows(base: Path, env: dict[str, str], runs: int, suite: str) -> None:
    def timed(check: str, project: Path) -> float:
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "--fynecheck", f"--fynecheck-os={suite}-windows",
             "-k", check, "-o", "fynecheck_window_title=Packaged", "-p", "no:randomly",
             "-p", "no:cacheprovider", "-q", f"--fynecheck-project={project}"],
            cwd=project, env=env, capture_output=True, text=True, timeout=1800)
        took = time.monotonic() - start
        if done.returncode != 0 or "window 'Packaged'" not in done.stdout:
            raise SystemExit(f"{check} in {suite}-windows failed:\n{done.stdout[-3000:]}")
        return took

    for check in ("windows.window", "package.windows"):  # warm-up, untimed
        timed(check, _copy(base, f"warm-{check}"))
    ratios = []
    for i in range(runs):
        b = timed("windows.window", _copy(base, f"ww-{i}"))
        k = timed("package.windows", _copy(base, f"pw-{i}"))
        ratios.append(k / b)
        print(f"{suite}-windows run {i + 1}: windows.window {b:.1f} s, package.windows "
              f"{k:.1f} s ({k / b:.2f}x)", flush=True)
    print(f"warm package.windows ÷ warm windows.window in {suite}-windows: "
          f"{statistics.median(ratios):.2f}x (median of {runs})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    default = Path.home() / ".cache" / "pytest-fynecheck" / "tools" / "fyne-v1.7.4"
    parser.add_argument("--fyne", type=Path, default=default)
    parser.add_argument("--windows", action="store_true", help="add package.windows' PE lint")
    parser.add_argument("--only-windows", action="store_true", help="only that figure")
    parser.add_argument("--suite-windows", metavar="SUITE",
                        help="time package.windows in SUITE-windows (e.g. trixie), only that")
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{args.fyne}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        base = Path(tmp)
        if args.suite_windows:
            suite_windows(base, env, args.runs, args.suite_windows)
            return
        if args.windows or args.only_windows:
            windows(base, env, args.runs)
        if args.only_windows:
            return
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
