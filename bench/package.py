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
--install times package.install per suite (--suites, default bookworm trixie): the
kit's install_on (the X probe from the suite's full image, the runtime-only container as
user 1000, `make user-install`, ldd, the launch through Exec to a non-blank frame,
WM_CLASS) of one host-built tarball, warm (images built, probe cached), against a bare
`docker run --rm --network none --user 1000` of the same runtime image doing only
`tar -xJf` + `make user-install` of that tarball. Alternately, --runs times each.

--cold-image adds the cold runtime-only image build per suite (slow, minutes): the
Dockerfile.runtime layer on the suite's debootstrap base (shared with its full image,
built or reused untimed), from salted recipes into a throwaway tag that is removed after
(bench/containers.py cold_build: the real images stay). Goal: <= 120 s each.
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


COLD_GOAL = 120.0  # seconds, issue 25: a cold runtime-only image build per suite


def cold_images(suites: list[str]) -> None:
    from containers import cold_build
    from pytest_fynecheck.containers.images import Target

    for suite in suites:
        took = cold_build(Target(suite, "runtime"), base_too=False)
        print(f"cold {suite}-runtime image build (layer on the suite's base): {took:.1f} s, "
              f"{took / COLD_GOAL:.2f}x the issue's {COLD_GOAL:.0f} s goal", flush=True)


_BARE_INSTALL = ('set -e; work=$(mktemp -d); tar -xJf "/stage/$1" -C "$work"; '
                 'make -C "$work/$2" user-install >/dev/null')


def install(base: Path, env: dict[str, str], suites: list[str], runs: int) -> None:
    from pytest_fynecheck.checks.package import install_on
    from pytest_fynecheck.containers.confine import HOME_IN_CONTAINER
    from pytest_fynecheck.containers.engine import engine
    from pytest_fynecheck.containers.images import Target, ensure_image
    from pytest_fynecheck.core.context import Context
    from pytest_fynecheck.core.paths import cache_dir
    from pytest_fynecheck.package.linux import top_entry

    project = _copy(base, "install")
    subprocess.run(["fyne", "package", "-os", "linux"], cwd=project, env=env, check=True,
                   capture_output=True, timeout=900)
    tarball = project / "Packaged.tar.xz"
    stage = base / "stage"  # what the bare side mounts: the tarball alone, world-readable
    stage.mkdir(mode=0o755)
    shutil.copy2(tarball, stage / tarball.name)
    (stage / tarball.name).chmod(0o644)
    base.chmod(0o755)
    top = top_entry(tarball)
    docker = engine(cache_dir())

    def kit_side(suite: str) -> float:
        scratch = base / f"scratch-{suite}"
        scratch.mkdir(exist_ok=True)
        ctx = Context(project, scratch, cache_dir(), timeout=600)
        try:
            start = time.monotonic()
            install_on(ctx, tarball, suite, "bench")
            return time.monotonic() - start
        finally:
            ctx.close()

    def bare_side(image: str) -> float:
        start = time.monotonic()
        # The user's HOME as the kit gives it (containers/confine.py): a tmpfs it owns.
        home = f"{HOME_IN_CONTAINER}:exec,mode=0700,uid=1000,gid=1000"
        subprocess.run(["docker", "run", "--rm", "--network", "none", "--user", "1000:1000",
                        "--tmpfs", home, "-e", f"HOME={HOME_IN_CONTAINER}",
                        "-v", f"{stage}:/stage:ro", image, "sh", "-c", _BARE_INSTALL, "sh",
                        tarball.name, top], check=True, capture_output=True, timeout=600)
        return time.monotonic() - start

    for suite in suites:
        image = ensure_image(docker, Target(suite, "runtime"), cache_dir() / "locks")
        bare_side(image)  # warm: page cache, the probe, the image's layers
        kit_side(suite)
        ratios = []
        for i in range(runs):
            b, k = bare_side(image), kit_side(suite)
            ratios.append(k / b)
            print(f"{suite} run {i + 1}: bare docker run + make user-install {b:.1f} s, "
                  f"package.install {k:.1f} s, ratio {k / b:.2f}x", flush=True)
        print(f"{suite}: warm package.install ÷ bare docker run + make user-install: "
              f"{statistics.median(ratios):.2f}x (median of {runs}; the kit also launches "
              "the app to a checked frame)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    default = Path.home() / ".cache" / "pytest-fynecheck" / "tools" / "fyne-v1.7.4"
    parser.add_argument("--fyne", type=Path, default=default)
    parser.add_argument("--windows", action="store_true", help="add package.windows' PE lint")
    parser.add_argument("--only-windows", action="store_true", help="only that figure")
    parser.add_argument("--suite-windows", metavar="SUITE",
                        help="time package.windows in SUITE-windows (e.g. trixie), only that")
    parser.add_argument("--install", action="store_true",
                        help="package.install per suite vs a bare docker run")
    parser.add_argument("--cold-image", action="store_true",
                        help="cold runtime-only image build per suite (slow)")
    parser.add_argument("--only", action="store_true",
                        help="only the --install / --cold-image figures")
    parser.add_argument("--suites", default="bookworm trixie",
                        help="suites for --install and --cold-image")
    args = parser.parse_args()
    suites = args.suites.replace(",", " ").split()
    env = {**os.environ, "PATH": f"{args.fyne}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        base = Path(tmp)
        if args.suite_windows:
            suite_windows(base, env, args.runs, args.suite_windows)
            return
        if args.windows or args.only_windows:
            windows(base, env, args.runs)
        if args.cold_image:
            cold_images(suites)
        if args.install:
            install(base, env, suites, args.runs)
        if args.only_windows or args.only:
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
