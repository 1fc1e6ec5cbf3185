"""acme.gitignore: the project's .gitignore covers the binary `go build` writes into it,
so nobody commits a 30 MB executable. Registered with the kit's `@check` on import."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from pytest_fynecheck.checks import Needs, check
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, NotApplicable


@check(
    "acme.gitignore",
    ".gitignore covers the built binary",
    hint="list the binary in the project's .gitignore",
    requires=("project.gomod",),  # a built-in: without a module there is nothing to build
)
def gitignore_covers_binary(ctx: Context, needs: Needs) -> str:
    done = ctx.run(["go", "list", "-f", "{{.Target}}", "."], timeout=120)
    if done.returncode != 0 or not done.stdout.strip():
        raise NotApplicable(f"{ctx.project} is not a main package: `go build` writes nothing")
    binary = Path(done.stdout.strip()).name  # what `go build` names it, .exe and /v2 included
    ignore = ctx.project / ".gitignore"
    if not ignore.is_file():
        raise CheckFailed(f"no .gitignore in {ctx.project}", f"add one that lists /{binary}")
    for line in ignore.read_text(encoding="utf-8").splitlines():
        pattern = line.strip()
        # Comments, negations and directory-only patterns never cover a file.
        if not pattern or pattern[0] in "#!" or pattern.endswith("/"):
            continue
        if fnmatch(binary, pattern.removeprefix("/")):
            return f"{ignore.name} line {pattern!r} covers the binary {binary}"
    raise CheckFailed(
        f"{ignore} does not cover {binary}, the binary `go build` writes here",
        f"add /{binary} to {ignore}",
    )
