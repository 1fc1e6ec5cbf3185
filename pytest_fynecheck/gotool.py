"""What the Go tool itself says: `go env -json`, `go mod edit -json`, `go list -json`.

We ask the real tool instead of parsing go.mod or guessing the environment.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pytest_fynecheck.context import Context
from pytest_fynecheck.model import CheckFailed

FYNE_MODULE = "fyne.io/fyne/v2"


def go_env(ctx: Context) -> dict[str, str]:
    def compute() -> dict[str, str]:
        done = ctx.run(["go", "env", "-json"], timeout=60)
        if not done.ok:
            raise CheckFailed(f"`go env -json` failed: {done.output}", "fix the Go installation")
        env: dict[str, str] = json.loads(done.stdout)
        return env

    result: dict[str, str] = ctx.memoize("go env", compute)
    return result


def go_mod(ctx: Context) -> dict[str, Any]:
    """go.mod as `go mod edit -json` reads it; Go's own file:line message when it cannot."""

    def compute() -> dict[str, Any]:
        gomod = ctx.project / "go.mod"
        if not gomod.is_file():
            raise CheckFailed(
                f"{ctx.project} is not a Go module: there is no go.mod",
                "run pytest --fynecheck in your Fyne project's directory (where go.mod is), "
                "or set --fynecheck-project",
            )
        done = ctx.run(["go", "mod", "edit", "-json"], timeout=60)
        if not done.ok:
            raise CheckFailed(
                f"go.mod does not parse: {done.output}", f"fix {gomod} at the line Go names"
            )
        mod: dict[str, Any] = json.loads(done.stdout)
        return mod

    result: dict[str, Any] = ctx.memoize("go mod", compute)
    return result


def list_module(ctx: Context, path: str) -> dict[str, Any]:
    """`go list -m -json PATH` in the project: the resolved version and its `go` line."""

    def compute() -> dict[str, Any]:
        done = ctx.run(["go", "list", "-m", "-json", path], timeout=120)
        if not done.ok:
            raise CheckFailed(
                f"`go list -m {path}` failed: {done.output}",
                "run `go mod download` in the project, with network access",
            )
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    result: dict[str, Any] = ctx.memoize("go list -m " + path, compute)
    return result


def json_stream(text: str) -> list[dict[str, Any]]:
    """Go's `-json` flags print concatenated objects, not a JSON array."""
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        out.append(obj)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


_VERSION = re.compile(r"^(?:go)?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def version_tuple(version: str) -> tuple[int, int, int]:
    """'go1.22.3', '1.22', 'go1.23rc1' -> comparable tuple. Pre-releases sort as their base."""
    m = _VERSION.match(version.strip())
    if not m:
        raise ValueError(f"not a Go version: {version!r}")
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0))
