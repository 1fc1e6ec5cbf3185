"""Per-suite images from the recipes in `containers/`, tagged by the recipes' content.

An unchanged recipe is never rebuilt: the tag is a hash of what goes into the image,
so "is it built?" is one `docker image inspect`. A file lock per tag makes xdist
workers (and parallel runs) build once.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_fynecheck.containers.engine import Engine
from pytest_fynecheck.model import CheckFailed, InputError

SUITES = ("bullseye", "bookworm", "trixie")
# Variant name -> Dockerfile in the recipe directory. "full" is the default.
# "windows": mingw-w64 and Wine, for the Windows target (pytest_fynecheck/windows).
VARIANTS = {
    "full": "Dockerfile",
    "no-gl-dev": "Dockerfile.no-gl-dev",
    "windows": "Dockerfile.windows",
}
BASE_SCRIPT = "base.sh"


def recipe_dir() -> Path:
    """The image recipes: `recipes/` in an installed wheel (built from the repository's
    `containers/`, see pyproject.toml), else `containers/` next to the package in a checkout."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "recipes"
    return installed if installed.is_dir() else package.parent / "containers"


@dataclasses.dataclass(frozen=True)
class Target:
    """One buildable image: a suite and a recipe variant. Written `bookworm` or
    `bookworm-no-gl-dev`."""

    suite: str
    variant: str = "full"

    @property
    def name(self) -> str:
        return self.suite if self.variant == "full" else f"{self.suite}-{self.variant}"

    @classmethod
    def parse(cls, text: str, what: str = "--fynecheck-os") -> Target:
        text = text.strip()
        for suite in SUITES:
            if text == suite:
                return cls(suite)
            for variant in VARIANTS:
                if text == f"{suite}-{variant}":
                    return cls(suite, variant)
        known = ", ".join(SUITES)
        variants = ", ".join(v for v in VARIANTS if v != "full")
        raise InputError(
            f"{what}: unknown OS {text!r}; known: {known} (variants: SUITE-{{{variants}}})"
        )

    def files(self, recipes: Path) -> tuple[Path, Path]:
        return recipes / BASE_SCRIPT, recipes / VARIANTS[self.variant]

    def tags(self, recipes: Path) -> tuple[str, str]:
        """(base tag, image tag), each a hash of everything that goes into it."""
        base_script, dockerfile = self.files(recipes)
        base_key = _digest(self.suite.encode(), base_script.read_bytes())
        base = f"fynecheck-base:{self.suite}-{base_key}"
        key = _digest(base.encode(), dockerfile.read_bytes())
        return base, f"fynecheck:{self.name}-{key}"


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()[:12]


def exists(engine: Engine, tag: str) -> bool:
    return engine.docker(["image", "inspect", "--format", "{{.Id}}", tag], timeout=30).ok


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_image(
    engine: Engine,
    target: Target,
    locks: Path,
    progress: Callable[[str], None] = lambda _line: None,
    recipes: Path | None = None,
    prune: bool = True,
) -> str:
    """The image tag for `target`, built first if this recipe content was never built.

    `prune` untags the target's images from older recipe contents after a build."""
    recipes = recipes or recipe_dir()
    base, tag = target.tags(recipes)
    if exists(engine, tag):
        return tag
    with _file_lock(locks / f"{tag.replace(':', '_')}.lock"):
        if exists(engine, tag):  # another worker built it while we waited
            return tag
        started = time.monotonic()
        _build_base(engine, target, base, recipes, progress)
        _, dockerfile = target.files(recipes)
        _build(
            engine,
            target,
            ["docker", "build", "--network", "host", "-f", str(dockerfile),
             "--build-arg", f"BASE={base}", "-t", tag, str(recipes)],
            recipes,
            progress,
            f"image {tag} (display and cgo packages)",
        )
        progress(f"[{target.name}] built {tag} in {time.monotonic() - started:.0f} s")
        if prune:
            _drop_older(engine, target, tag)
    return tag


def ensure_base(
    engine: Engine, suite: str, locks: Path, progress: Callable[[str], None] = lambda _l: None
) -> str:
    """The base image tag of `suite` (debootstrap only), built first if missing."""
    target = Target(suite)
    recipes = recipe_dir()
    base, _ = target.tags(recipes)
    if not exists(engine, base):
        with _file_lock(locks / f"{base.replace(':', '_')}.lock"):
            _build_base(engine, target, base, recipes, progress)
    return base


def _build_base(
    engine: Engine, target: Target, base: str, recipes: Path, progress: Callable[[str], None]
) -> None:
    if not exists(engine, base):
        _build(
            engine,
            target,
            ["sh", str(recipes / BASE_SCRIPT), target.suite, base],
            recipes,
            progress,
            f"base image {base} (debootstrap --variant=minbase {target.suite})",
        )


def _drop_older(engine: Engine, target: Target, keep: str) -> None:
    """Untag this target's images from older recipe contents: they are never used again."""
    listed = engine.docker(["images", "fynecheck", "--format", "{{.Repository}}:{{.Tag}}"])
    pattern = re.compile(rf"fynecheck:{re.escape(target.name)}-[0-9a-f]{{12}}")
    old = [t for t in listed.stdout.split() if pattern.fullmatch(t) and t != keep]
    if old:
        engine.docker(["rmi", *old], timeout=120)


def _build(
    engine: Engine,
    target: Target,
    argv: list[str],
    recipes: Path,
    progress: Callable[[str], None],
    what: str,
) -> None:
    """Run one build step, showing a line per phase and a heartbeat while it is quiet."""
    progress(f"[{target.name}] building {what}; the first build takes a minute or two")
    last = [""]
    done_event = threading.Event()

    def on_line(line: str) -> None:
        last[0] = line.strip()
        # Phase lines only: debootstrap's "I: Retrieving/Base system", docker's "Step n/m".
        if line.startswith("Step ") or line.startswith("I: Base system") or (
            line.startswith("I: Retrieving Release")
        ):
            progress(f"[{target.name}] {line.strip()}")

    def heartbeat() -> None:
        start = time.monotonic()
        while not done_event.wait(10):  # CI logs: a line at least every 10 s
            progress(f"[{target.name}] still building ({time.monotonic() - start:.0f} s): "
                     f"{last[0][:100]}")

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        # docker build prints its steps on stdout: send them to stderr, which feeds on_line.
        done = engine.host.run(
            ["sh", "-c", 'exec "$@" 1>&2', "sh", *argv],
            cwd=recipes,
            timeout=1800,
            on_line=on_line,
        )
    finally:
        done_event.set()
        beat.join(1)
    if not done.ok:
        raise CheckFailed(
            f"building {what} failed ({done.returncode}): {done.output[-2500:]}",
            f"run the same step by hand to see why: {' '.join(argv)}",
        )
