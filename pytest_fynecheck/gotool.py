"""What the Go tool itself says: `go env -json`, `go mod edit -json`, `go list -json`.

We ask the real tool instead of parsing go.mod or guessing the environment.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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


# Go's modfetch wording for an HTTP error from a module proxy:
# `MODULE@VERSION: reading URL: 403 Forbidden`. 404 and 410 say the proxy has no such
# version; Go tries the next entry of GOPROXY after those, so one shown here was the last.
_REFUSAL = re.compile(
    r"(?P<module>[^\s:@]+)@(?P<version>[^\s:]+): reading (?P<url>\S+): "
    r"(?P<status>(?:403|404|410)\b[^\n]*)"
)
# `a/a.go:4:2: ` before an error: where the import is, not what went wrong.
_POSITION = re.compile(r"^\S+?:\d+(?::\d+)?: ")


@dataclass(frozen=True)
class ProxyRefusal:
    """The module proxy would not serve a pinned version (go.sum cannot help: nothing
    to verify was downloaded)."""

    module: str
    version: str
    url: str
    status: str

    def detail(self) -> str:
        refused = "refused" if self.status.startswith("403") else "does not have"
        return (
            f"the module proxy {refused} {self.module}@{self.version}: "
            f"GET {self.url} answered {self.status}"
        )

    def hint(self, goproxy: str) -> str:
        return (
            f"the proxy (GOPROXY={goproxy}) will not serve this version, and `go mod tidy` "
            f"fails the same way. If {self.module} is private, set GOPRIVATE={self.module} "
            "so Go fetches it from its repository directly; if it is public, require a "
            f"released version (`go list -m -versions {self.module}`, then "
            f"`go get {self.module}@VERSION`), or point GOPROXY at a proxy that has it"
        )


def proxy_refusal(stderr: str) -> ProxyRefusal | None:
    m = _REFUSAL.search(stderr)
    if m is None:
        return None
    return ProxyRefusal(m["module"], m["version"], m["url"], m["status"].strip())


def dedupe_errors(stderr: str) -> str:
    """Go repeats one error for every import of a broken module: each message once (the
    first, with its position), then how many more imports gave it and where."""
    messages: list[list[str]] = []
    for line in stderr.strip().splitlines():
        if line.startswith(("\t", " ")) and messages:
            messages[-1].append(line)  # a continuation, e.g. "\tserver response: ..."
        else:
            messages.append([line])
    where: dict[str, list[str]] = {}
    for first, *rest in messages:
        m = _POSITION.match(first)
        key = "\n".join([first[m.end():] if m else first, *rest])
        where.setdefault(key, []).append(m[0].rstrip(": ") if m else "")
    out = []
    for key, places in where.items():
        text = f"{places[0]}: {key}" if places[0] else key
        if len(places) > 1:
            also = ", ".join(p for p in places[1:] if p)
            at = f", at {also}" if also else ""
            text += f"\n(the same error {len(places) - 1} more time(s){at})"
        out.append(text)
    return "\n".join(out)
