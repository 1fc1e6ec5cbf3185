"""The source side: what the project would build now, asked of `go list` and git."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, InputError
from pytest_fynecheck.toolchain.gotool import go_mod, json_stream

# Only what we compare: -json=fields makes `go list` skip the rest (3-4x faster).
_LIST_FIELDS = "ImportPath,Dir,Module,EmbedFiles,GoFiles,Standard,Error"


def module_path(ctx: Context) -> str:
    try:
        path: str = go_mod(ctx)["Module"]["Path"]
    except CheckFailed as exc:
        raise InputError(f"project {ctx.project}: {exc.detail}") from None
    return path


def list_deps(
    ctx: Context, main_pkg: str, env: Mapping[str, str], tags: Sequence[str]
) -> list[dict[str, Any]]:
    """Every package `main_pkg` links for this GOOS/GOARCH/tags, as the build would see them."""
    key = f"drift go list {main_pkg} {sorted(env.items())} {list(tags)}"

    def compute() -> list[dict[str, Any]]:
        argv = ["go", "list", "-e", "-deps", f"-json={_LIST_FIELDS}"]
        if tags:
            argv.append("-tags=" + ",".join(tags))
        done = ctx.run([*argv, main_pkg], env={**env, "GOWORK": "off"}, timeout=300)
        if not done.ok:
            raise InputError(
                f"`go list -deps {main_pkg}` failed in project {ctx.project}: {done.output}"
            )
        return json_stream(done.stdout)

    result: list[dict[str, Any]] = ctx.memoize(key, compute)
    return result


@dataclasses.dataclass(frozen=True)
class GitState:
    head: str | None
    porcelain: tuple[str, ...]
    # Why head is None: not a repository, or no git.
    reason: str = ""


def git_state(ctx: Context) -> GitState:
    def compute() -> GitState:
        if ctx.which("git") is None:
            return GitState(None, (), "git is not on PATH")
        done = ctx.run(["git", "rev-parse", "HEAD"], timeout=60)
        if not done.ok:
            text = done.output.splitlines()[0] if done.output else f"exit {done.returncode}"
            return GitState(None, (), f"project {ctx.project} is not a git repository ({text})")
        # Untracked files count: Go's vcs.modified uses the same `git status --porcelain`.
        status = ctx.run(["git", "status", "--porcelain"], timeout=60)
        return GitState(done.stdout.strip(), tuple(status.stdout.splitlines()))

    state: GitState = ctx.memoize("drift git state", compute)
    return state
