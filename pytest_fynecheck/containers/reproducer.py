"""Reproducers: a directory a teammate runs to see a container failure for themselves.

It holds the recipe (so the same image is rebuilt under the same content tag, or loaded
from `image.tar`), the failing command as a script with its environment, working
directory and mounts, and three lines of README.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path

from pytest_fynecheck.containers.context import Command, ContainerContext
from pytest_fynecheck.containers.images import BASE_SCRIPT, VARIANTS, recipe_dir, save_image
from pytest_fynecheck.core.model import Result

_BUILD = """#!/bin/sh
# Rebuild (or load) the image this failure happened in; a no-op when it exists.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
if docker image inspect {tag} >/dev/null 2>&1; then exit 0; fi
if [ -f "$here/image.tar" ]; then docker load -i "$here/image.tar"; exit 0; fi
docker image inspect {base} >/dev/null 2>&1 || sh "$here/recipe/{base_script}" {suite} {base}
docker build --network host -f "$here/recipe/{dockerfile}" --build-arg BASE={base} \\
  -t {tag} "$here/recipe"
"""

_RUN = """#!/bin/sh
# Replay: build or load the image, then run the failing command in a fresh container
# set up as the check saw it (no network, the same mounts and environment).
# Set GOROOT/GOMODCACHE if your Go lives elsewhere.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
sh "$here/build.sh" || exit 1
exec docker run --rm --init --network none \\
{mounts}{env}  --workdir {cwd} {tag} \\
  {argv}
"""


def failing_command(ctx: ContainerContext, result: Result) -> tuple[Command, str] | None:
    """The command behind a failed result, and how it was chosen.

    Exact: the last failed command the result's own check ran (the runner tags each).
    Only when it ran none (e.g. it failed on a value another check computed) is it
    guessed: of the commands that failed in this context, the one the result's text names
    most (its program and arguments), the latest on a tie.
    """
    failed = [c for c in ctx.commands if c.returncode != 0]
    own = [c for c in failed if c.check == result.id]
    if own:
        return own[-1], f"the last command {result.id} ran that failed"
    if not failed:
        return None
    text = f"{result.detail}\n{result.hint}"

    def score(command_index: tuple[int, Command]) -> tuple[int, int]:
        index, command = command_index
        words = [Path(command.argv[0]).name, *command.argv[1:]]
        tail = command.output.strip().splitlines()[-1:] or [""]
        named = sum(1 for w in words if w and w in text) + 3 * (bool(tail[0]) and tail[0] in text)
        return named, index

    guess = max(enumerate(failed), key=score)[1]
    return guess, f"{result.id} ran no failing command; guessed from its text"


# Where run.sh mounts the reproducer's own files/ (e.g. a watcher and its replay script).
FILES_IN_CONTAINER = "/fynecheck-reproducer"


def write_reproducer(
    root: Path,
    ctx: ContainerContext,
    result: Result,
    *,
    save: bool = False,
    command: tuple[Command, str] | None = None,
    files: Sequence[Path] = (),
    name: str = "",
) -> Path:
    """Write `root/<name or check@os>/` for a failed check in `ctx`; return that directory.

    `command` (with how it was chosen) overrides the recorded one; `files` are copied to
    files/, which run.sh mounts at FILES_IN_CONTAINER (so `command` may name them there).
    """
    name = re.sub(r"[^A-Za-z0-9._@-]", "_", name or f"{result.id}@{ctx.name}")
    out = root / name
    if out.exists():
        shutil.rmtree(out)
    (out / "recipe").mkdir(parents=True)
    if files:
        (out / "files").mkdir()
        for f in files:
            shutil.copy2(f, out / "files" / f.name)
    recipes = recipe_dir()
    dockerfile = VARIANTS[ctx.target.variant]
    for file in (BASE_SCRIPT, dockerfile):
        shutil.copy2(recipes / file, out / "recipe" / file)
    base, tag = ctx.target.tags(recipes)

    found = command or failing_command(ctx, result)
    wanted, how = found if found else (None, "no command failed in this container")
    argv = wanted.argv if wanted else ("true",)
    env = {**ctx.environ, **(wanted.env if wanted else {})}
    cwd = wanted.cwd if wanted else str(ctx.project)

    q = shlex.quote
    mounts = [
        f"  --volume {q(str(ctx.project))}:{q(str(ctx.project))} \\\n",
        f"  --volume \"${{GOROOT:-{ctx.goroot}}}\":{q(str(ctx.goroot))}:ro \\\n",
    ]
    if files:
        mounts.append(f"  --volume \"$here/files\":{FILES_IN_CONTAINER} \\\n")
    if ctx.gomodcache is not None:
        mounts.append(
            f"  --volume \"${{GOMODCACHE:-{ctx.gomodcache}}}\":{q(str(ctx.gomodcache))}:ro \\\n"
        )
    env_lines = "".join(f"  --env {q(f'{k}={v}')} \\\n" for k, v in sorted(env.items()))
    (out / "build.sh").write_text(
        _BUILD.format(tag=q(tag), base=q(base), base_script=BASE_SCRIPT, suite=q(
            ctx.target.suite), dockerfile=dockerfile),
        encoding="utf-8",
    )
    (out / "run.sh").write_text(
        _RUN.format(mounts="".join(mounts), env=env_lines, cwd=q(cwd), tag=q(tag),
                    argv=" ".join(q(a) for a in argv)),
        encoding="utf-8",
    )
    for script in ("build.sh", "run.sh"):
        (out / script).chmod(0o755)
    first = (wanted.output.strip().splitlines() or [""])[-1] if wanted else result.detail
    (out / "README").write_text(
        f"{result.id} failed in {ctx.name} ({tag}): {result.detail.splitlines()[0][:200]}\n"
        f"Replay: sh run.sh  (needs Docker; rebuilds the image from recipe/ or loads image.tar)\n"
        f"Expect exit {wanted.returncode if wanted else '?'}"
        f" from `{' '.join(argv)}` ({how}), ending: {first[:200]}\n",
        encoding="utf-8",
    )
    if save:
        save_image(ctx.engine, tag, out / "image.tar")
    return out
