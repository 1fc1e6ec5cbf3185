"""Per-suite images from the recipes in `containers/`, tagged by the recipes' content.

An unchanged recipe is never rebuilt: the tag is a hash of what goes into the image,
so "is it built?" is one image lookup. A file lock per tag makes xdist workers (and
parallel runs) build once. Everything goes through the engine's API: the debootstrap
tree is imported as a tar stream, the layer is built from the API's JSON stream, and an
engine that cannot build it (a remote one without network) gets the image built by the
local engine, copied with save/load.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_fynecheck.containers.engine import Engine, failing, local_engine, where
from pytest_fynecheck.core.model import CheckFailed, InputError

SUITES = ("bullseye", "bookworm", "trixie")
# Variant name -> Dockerfile in the recipe directory. "full" is the default.
# "windows": mingw-w64 and Wine, for the Windows target (pytest_fynecheck/windows).
VARIANTS = {
    "full": "Dockerfile",
    "no-gl-dev": "Dockerfile.no-gl-dev",
    "windows": "Dockerfile.windows",
    "web": "Dockerfile.web",
    # "runtime": only what a user's desktop has for a Fyne app (package.install, issue 25).
    "runtime": "Dockerfile.runtime",
}
# A variant a suite cannot serve: its recipe needs a package that Debian release lacks
# (checked with apt-cache in each suite). Refused by name when the plan is read, not a
# minute later by a failing image build.
# Variants the kit uses itself, never a context users name: why, for the refusal.
INTERNAL = {
    "runtime": "the runtime-only image package.install installs the packaged app in; it has "
    "no Go, so no check can run in it (package.install starts it itself)",
}
UNSERVED = {
    ("bullseye", "web"): "Debian bullseye has no chromium-headless-shell package, the "
                         "headless Chromium the web target's container loads the app in",
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
    """One buildable image: a suite and a recipe variant, named `bookworm` or
    `bookworm-no-gl-dev`."""

    suite: str
    variant: str = "full"

    @property
    def name(self) -> str:
        return self.suite if self.variant == "full" else f"{self.suite}-{self.variant}"

    def __post_init__(self) -> None:
        # Made from names the plan checked (plan/spec.py parse_context), or a caller's own.
        if self.suite not in SUITES or self.variant not in VARIANTS:
            raise InputError(
                f"no image recipe for suite {self.suite!r}, variant {self.variant!r}; "
                f"suites: {', '.join(SUITES)}; variants: {', '.join(VARIANTS)}"
            )
        why = unserved(self.suite, self.variant)
        if why is not None:
            raise InputError(f"no image for {self.name}: {why}")

    def files(self, recipes: Path) -> tuple[Path, Path]:
        return recipes / BASE_SCRIPT, recipes / VARIANTS[self.variant]

    def tags(self, recipes: Path) -> tuple[str, str]:
        """(base tag, image tag), each a hash of everything that goes into it."""
        base_script, dockerfile = self.files(recipes)
        base_key = _digest(self.suite.encode(), base_script.read_bytes())
        base = f"fynecheck-base:{self.suite}-{base_key}"
        key = _digest(base.encode(), dockerfile.read_bytes())
        return base, f"fynecheck:{self.name}-{key}"


def unserved(suite: str, variant: str) -> str | None:
    """Why `suite` cannot serve `variant`, naming the suites that can; None if it can."""
    why = UNSERVED.get((suite, variant))
    if why is None:
        return None
    able = [f"{s}-{variant}" for s in SUITES if (s, variant) not in UNSERVED]
    return f"{why}; use {' or '.join(able)}"


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()[:12]


def exists(engine: Engine, tag: str) -> bool:
    import docker.errors  # here, not at import: containers.engine says why

    try:
        with failing(f"looking up image {tag}"):
            engine.client.images.get(tag)
    except CheckFailed as exc:
        if isinstance(exc.__cause__, docker.errors.ImageNotFound):
            return False
        raise
    return True


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


Progress = Callable[[str], None]


def ensure_image(
    engine: Engine,
    target: Target,
    locks: Path,
    progress: Progress = lambda _line: None,
    recipes: Path | None = None,
    prune: bool = True,
) -> str:
    """The image tag for `target`, built first if this recipe content was never built.

    `prune` untags the target's images from older recipe contents after a build."""
    recipes = recipes or recipe_dir()
    base, tag = target.tags(recipes)
    if exists(engine, tag):
        return tag
    # Per engine: a remote engine's lock must not wait for the local one's build.
    key = re.sub(r"[^A-Za-z0-9]", "_", f"{engine.address}-{tag}")
    with file_lock(locks / f"{key}.lock"):
        if exists(engine, tag):  # another worker built it while we waited
            return tag
        started = time.monotonic()
        try:
            _build_here(engine, target, base, tag, recipes, progress)
        except CheckFailed as failed:
            local = local_engine(engine.cache, engine)
            if local is None:
                raise
            progress(
                f"[{target.name}] the engine at {where()} could not build {tag} "
                f"({failed.detail.splitlines()[0][-200:]}); building it on the local engine "
                "and copying it over with save/load"
            )
            ensure_image(local, target, locks, progress, recipes, prune)
            copy_image(local, engine, tag, progress, f"[{target.name}]")
        progress(f"[{target.name}] {tag} ready in {time.monotonic() - started:.0f} s")
        if prune:
            _drop_older(engine, target, tag)
    return tag


def ensure_base(
    engine: Engine, suite: str, locks: Path, progress: Progress = lambda _l: None
) -> str:
    """The base image tag of `suite` (debootstrap only), built first if missing."""
    target = Target(suite)
    recipes = recipe_dir()
    base, _ = target.tags(recipes)
    if not exists(engine, base):
        key = re.sub(r"[^A-Za-z0-9]", "_", f"{engine.address}-{base}")
        with file_lock(locks / f"{key}.lock"):
            _build_base(engine, target, base, recipes, progress)
    return base


def _build_base(
    engine: Engine, target: Target, base: str, recipes: Path, progress: Progress
) -> None:
    if not exists(engine, base):
        tree = _base_tree(engine, target, base, recipes, progress)
        repo, _, version = base.partition(":")
        with failing(f"importing {tree} as {base}"):
            engine.api.import_image_from_file(str(tree), repository=repo, tag=version)


def _build_here(
    engine: Engine, target: Target, base: str, tag: str, recipes: Path, progress: Progress
) -> None:
    _build_base(engine, target, base, recipes, progress)
    _, dockerfile = target.files(recipes)
    what = f"building image {tag} (the packages of {dockerfile.name})"
    progress(f"[{target.name}] {what}; the first build takes a minute or two")
    with failing(what, f"build it by hand to see why: docker build --network "
                 f"host -f {dockerfile} --build-arg BASE={base} -t {tag} {recipes}"):
        stream = engine.api.build(
            path=str(recipes), dockerfile=dockerfile.name, buildargs={"BASE": base}, tag=tag,
            network_mode="host", rm=True, forcerm=True, decode=True,
        )
        follow_build(stream, target, what, progress)


def follow_build(
    stream: Iterable[dict[str, object]], target: Target, what: str, progress: Progress
) -> None:
    """Show the build's steps and a heartbeat while it is quiet; raise on its error."""
    log: list[str] = []
    with _heartbeat(target, what, progress, log):
        for chunk in stream:
            if "error" in chunk:
                tail = "\n".join(log[-15:])
                raise CheckFailed(f"{what} failed: {chunk['error']}\n{tail}",
                                  "run the same build by hand to see why")
            for line in str(chunk.get("stream", "")).splitlines():
                if line.strip():
                    log.append(line.strip())
                    if line.startswith("Step "):
                        progress(f"[{target.name}] {line.strip()}")


@contextmanager
def _heartbeat(target: Target, what: str, progress: Progress, log: list[str]) -> Iterator[None]:
    """A plain progress line at least every 10 s while a long step is quiet."""
    done = threading.Event()

    def beat() -> None:
        start = time.monotonic()
        while not done.wait(10):
            last = log[-1][:100] if log else ""
            progress(f"[{target.name}] still {what} ({time.monotonic() - start:.0f} s): {last}")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(1)


def _base_tree(
    engine: Engine, target: Target, base: str, recipes: Path, progress: Progress
) -> Path:
    """The debootstrap tree of `base` as a tar, made once per content tag on this machine
    (kept: another engine imports the same file)."""
    tree = engine.cache / "bases" / f"{base.replace(':', '-')}.tar"
    if tree.is_file():
        return tree
    tree.parent.mkdir(parents=True, exist_ok=True)
    argv = ["sh", str(recipes / BASE_SCRIPT), target.suite, base]
    what = f"building base image {base} (debootstrap --variant=minbase {target.suite})"
    progress(f"[{target.name}] {what}; the first build takes a minute or two")
    log: list[str] = []

    def on_line(line: str) -> None:
        log.append(line.strip())
        if line.startswith(("I: Base system", "I: Retrieving Release")):
            progress(f"[{target.name}] {line.strip()}")

    with _heartbeat(target, what, progress, log):
        done = engine.host.run(["sh", "-c", 'exec "$@" 1>&2', "sh", *argv], cwd=recipes,
                               env={"FYNECHECK_BASE_TAR": str(tree)}, timeout=1800,
                               on_line=on_line)
    if not done.ok:
        raise CheckFailed(f"{what} failed ({done.returncode}): {done.output[-2500:]}",
                          f"run the same step by hand to see why: {' '.join(argv)}")
    return tree


def copy_image(src: Engine, dst: Engine, tag: str, progress: Progress, who: str) -> None:
    """`docker save | docker load` between two engines, through their APIs."""
    sent = [0]

    def chunks() -> Iterator[bytes]:
        last = time.monotonic()
        with failing(f"saving {tag} from the local engine"):
            for chunk in src.api.get_image(tag, chunk_size=1 << 20):
                sent[0] += len(chunk)
                if time.monotonic() - last >= 10:
                    last = time.monotonic()
                    progress(f"{who} copying {tag}: {sent[0] >> 20} MB so far")
                yield chunk

    started = time.monotonic()
    with failing(f"loading {tag} into the engine at {where()}"):
        for chunk in dst.api.load_image(chunks()):
            if "error" in chunk:
                raise CheckFailed(f"loading {tag}: {chunk['error']}")
    progress(f"{who} copied {tag} ({sent[0] >> 20} MB) in {time.monotonic() - started:.0f} s")


def _drop_older(engine: Engine, target: Target, keep: str) -> None:
    """Untag this target's images from older recipe contents: they are never used again."""
    pattern = re.compile(rf"fynecheck:{re.escape(target.name)}-[0-9a-f]{{12}}")
    with failing("listing fynecheck images"):
        tags = [t for image in engine.client.images.list("fynecheck") for t in image.tags]
    for old in tags:
        if pattern.fullmatch(old) and old != keep:
            # In use by a running container, or untagged meanwhile: leave it.
            with contextlib.suppress(CheckFailed), failing(f"removing old image {old}"):
                engine.client.images.remove(old)


def save_image(engine: Engine, tag: str, dest: Path) -> None:
    """`docker save` through the API, for a reproducer's image.tar."""
    tmp = dest.with_name(dest.name + ".tmp")
    with failing(f"saving image {tag} to {dest}"), tmp.open("wb") as fh:
        for chunk in engine.api.get_image(tag, chunk_size=1 << 20):
            fh.write(chunk)
    tmp.replace(dest)
