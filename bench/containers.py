"""Container figures, each against a baseline measured in the same run.

    python bench/containers.py [--cold] [--repeat N]

1. warm container start -> display ready (Xvfb answering xdpyinfo), vs a bare
   `docker run --rm IMAGE true`                                  goal <= 2x
2. image build per suite: warm (cache hit) always; cold with --cold (from salted copies
   of the recipes, so no layer is cached; the real images stay)  goals <= 120 s cold, <= 1 s warm
   With --variant VARIANT (e.g. web) the suites' VARIANT images; cold then salts only the
   variant's Dockerfile: the debootstrap base is the suite's own, which its full image
   builds anyway, so the figure is what the variant adds
3. warm `pytest --fynecheck --fynecheck-os` over 3 suites vs one suite  goal <= 2.5x
4. with --only remote: warm `--fynecheck-os bookworm` against a remote engine (a
   Docker-in-Docker dockerd whose files this machine does not share) vs the local engine

Everything runs against the engine DOCKER_HOST names (the default socket when unset).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from stopwatch import median, timed

from pytest_fynecheck.containers.context import ContainerContext
from pytest_fynecheck.containers.engine import engine
from pytest_fynecheck.containers.images import (
    BASE_SCRIPT,
    SUITES,
    Target,
    ensure_image,
    recipe_dir,
    unserved,
)
from pytest_fynecheck.containers.start import host_go
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.displays.servers import x_display

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "fixtures" / "hello"


def line(what: str, seconds: float, base: float | None = None, goal: str = "") -> None:
    ratio = f"  {seconds / base:5.2f}x" if base else ""
    print(f"{what:<58} {seconds:8.2f} s{ratio}  {goal}", flush=True)


def bench_start(repeat: int) -> None:
    docker = engine(cache_dir())
    target = Target("bookworm")
    image = ensure_image(docker, target, cache_dir() / "locks")
    goroot, modcache = host_go()

    def bare() -> None:
        docker.client.containers.run(image, ["true"], remove=True, network_mode="none")

    spec = (target, image, goroot, modcache)
    bare()
    _ready_only(spec)  # warm the page cache and the image layers
    base = median(bare, repeat)
    line("bare `docker run --rm IMAGE true` (baseline)", base)
    ready = statistics.median(_ready_only(spec) for _ in range(repeat))
    line("container start -> display ready (teardown not counted)", ready, base, "goal <= 2x")


def _ready_only(spec: tuple[Target, str, Path, Path | None]) -> float:
    """Start and make the display ready; close outside the timed part."""
    target, image, goroot, modcache = spec
    docker = engine(cache_dir())
    tmp = tempfile.TemporaryDirectory()
    scratch = Path(tmp.name)
    start = time.monotonic()
    ctx = ContainerContext(
        target, image, docker, scratch, scratch, scratch / "c", goroot=goroot, gomodcache=modcache
    ).start()
    x_display(ctx)
    took = time.monotonic() - start
    ctx.close()
    tmp.cleanup()
    return took


def bench_images(cold: bool, variant: str = "full") -> None:
    docker = engine(cache_dir())
    for suite in SUITES:
        if unserved(suite, variant):
            continue
        target = Target(suite, variant)
        if cold:
            what = "debootstrap + layer" if variant == "full" else "layer on the suite's base"
            line(f"image build {target.name}, cold ({what})",
                 cold_build(target, base_too=variant == "full"), None, "goal <= 120 s")
        took = timed(partial(ensure_image, docker, target, cache_dir() / "locks"))
        line(f"image build {target.name}, warm (content tag exists)", took, None, "goal <= 1 s")


def cold_build(target: Target, base_too: bool = True) -> float:
    """A truly cold build that leaves the real images alone (tests may be using them): the
    recipes are copied with a salt line, so the content tags are new (the base's too
    unless `base_too` is false); what it made is removed after."""
    docker = engine(cache_dir())
    with tempfile.TemporaryDirectory() as tmp:
        recipes = Path(tmp)
        for f in recipe_dir().iterdir():
            if f.is_file():
                salt = f"\n# bench salt {time.time_ns()}\n".encode()
                data = f.read_bytes()
                if not base_too and f.name == BASE_SCRIPT:
                    salt = b""
                elif not base_too:
                    # On the same base, a comment would leave every build step cached: an
                    # instruction first thing after FROM makes the steps run.
                    env = f"FROM ${{BASE}}\nENV FYNECHECK_BENCH_SALT={time.time_ns()}\n"
                    data = data.replace(b"FROM ${BASE}\n", env.encode(), 1)
                (recipes / f.name).write_bytes(data + salt)
        if not base_too:  # the suite's own base, built (or reused) outside the timed part
            ensure_image(docker, Target(target.suite), cache_dir() / "locks")
        start = time.perf_counter()
        tag = ensure_image(docker, target, recipes / "locks", recipes=recipes, prune=False)
        took = time.perf_counter() - start
        base, _ = target.tags(recipes)
        for old in (tag, base) if base_too else (tag,):
            docker.client.images.remove(old, force=True)
    return took


SELECT: list[str] = []  # --select EXPR: passed to every matrix run as -k EXPR


def matrix_run(oses: str, env: dict[str, str] | None = None) -> float:
    argv = [sys.executable, "-m", "pytest", "--fynecheck", f"--fynecheck-project={HELLO}",
            f"--fynecheck-os={oses}", "-p", "no:cacheprovider", "-q",
            "-o", "fynecheck_window_title=fynecheck hello", "--rootdir", str(HELLO),
            *(["-k", SELECT[0]] if SELECT else [])]
    start = time.monotonic()
    done = subprocess.run(argv, cwd=HELLO, capture_output=True, text=True, timeout=3600,
                          env={**os.environ, **(env or {})})
    took = time.monotonic() - start
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-2000:])
        raise SystemExit(f"pytest --fynecheck-os={oses} failed ({done.returncode})")
    return took


def bench_remote(repeat: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.dind import remote_engine

    matrix_run("bookworm")  # warm the local side
    local = statistics.median(matrix_run("bookworm") for _ in range(repeat))
    line("warm --fynecheck-os bookworm, local engine (baseline)", local)
    with remote_engine(lambda text: print(f"  {text}", flush=True)) as host:
        env = {"DOCKER_HOST": host}
        first = matrix_run("bookworm", env)
        line("first --fynecheck-os bookworm, fresh remote engine (image copy, volumes)",
             first, local)
        warm = statistics.median(matrix_run("bookworm", env) for _ in range(repeat))
        line("warm --fynecheck-os bookworm, remote engine", warm, local)


def bench_matrix() -> None:
    matrix_run(",".join(SUITES))  # warm every suite's image, GOCACHE volume and build cache
    one = matrix_run("bookworm")
    line("warm --fynecheck-os bookworm (baseline; host checks too)", one)
    line("warm --fynecheck-os bullseye,bookworm,trixie", matrix_run(",".join(SUITES)), one,
         "goal <= 2.5x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also time cold image builds")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=("start", "images", "matrix", "remote"))
    parser.add_argument("--variant", default="full",
                        help="the image variant --only images builds (e.g. web)")
    parser.add_argument("--select", metavar="EXPR",
                        help="only the checks -k EXPR selects, in every matrix run")
    args = parser.parse_args()
    if args.select:
        SELECT.append(args.select)
    if args.only in (None, "images"):
        bench_images(args.cold, args.variant)
    if args.only in (None, "start"):
        bench_start(args.repeat)
    if args.only in (None, "matrix"):
        bench_matrix()
    if args.only == "remote":
        bench_remote(args.repeat)


if __name__ == "__main__":
    main()
