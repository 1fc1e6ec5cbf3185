"""A package the target's build constraints exclude, named with the import chain that
pulls it in: what `go build` says as one raw "build constraints exclude all Go files in
DIR" line, said as "PKG is excluded for js/wasm (it needs cgo); imported by main (APP) →
A → PKG". The facts come from Go: `go list -e -deps -json` for the target (Imports,
Error), and the same package listed with cgo on (CgoFiles) for why.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.toolchain.gotool import go_env, json_stream, tag_args

EXCLUDED = "build constraints exclude all Go files"
_FIELDS = "-json=ImportPath,Dir,Imports,Error,IgnoredGoFiles,Standard"
_GO_BUILD = re.compile(r"^//go:build (.+)$", re.M)


@dataclasses.dataclass(frozen=True)
class Excluded:
    package: str
    chain: tuple[str, ...]  # the main package first, this package last
    why: str

    def text(self, target: str) -> str:
        main, *rest = self.chain
        shown = " → ".join([f"main ({main})", *rest])
        return f"{self.package} is excluded for {target} ({self.why}); imported by {shown}"


def only_exclusions(stderr: str) -> bool:
    """Go's error says nothing but that build constraints exclude packages (lines of
    the import stack around it aside)."""
    seen = False
    for line in stderr.splitlines():
        text = line.strip()
        if not text or text.startswith("(the same error"):
            continue
        if EXCLUDED in text:
            seen = True
        elif not (text.startswith(("package ", "imports ")) and ":" not in text):
            return False
    return seen


def excluded_packages(ctx: Context, pattern: str, main: str) -> list[Excluded]:
    """The packages of `pattern`'s dependencies the context's GOOS/GOARCH excludes,
    each with the shortest import chain from `main` (its import path)."""
    done = ctx.run(["go", "list", "-e", "-deps", _FIELDS, *tag_args(ctx), pattern], timeout=300)
    packages = {p["ImportPath"]: p for p in json_stream(done.stdout)}
    bad = [p for p in packages.values() if EXCLUDED in (p.get("Error") or {}).get("Err", "")]
    if not bad:
        return []
    cgo = _cgo_files(ctx, [p["ImportPath"] for p in bad])
    found = []
    for pkg in bad:
        path = pkg["ImportPath"]
        chain = _chain(packages, main, path) or tuple(
            (pkg.get("Error") or {}).get("ImportStack") or (main, path)
        )
        found.append(Excluded(path, chain, _why(ctx, pkg, cgo.get(path, []))))
    return sorted(found, key=lambda e: (len(e.chain), e.package))


def _chain(packages: Mapping[str, dict[str, Any]], main: str, target: str) -> tuple[str, ...]:
    """The shortest import path main → ... → target (breadth first over Imports)."""
    came: dict[str, str] = {main: ""}
    todo = deque([main])
    while todo:
        here = todo.popleft()
        if here == target:
            out = [here]
            while came[out[-1]]:
                out.append(came[out[-1]])
            return tuple(reversed(out))
        for imp in (packages.get(here) or {}).get("Imports") or []:
            if imp not in came:
                came[imp] = here
                todo.append(imp)
    return ()


def _cgo_files(ctx: Context, paths: list[str]) -> dict[str, list[str]]:
    """Each package's files that import "C", as Go sees them with cgo on."""
    done = ctx.run(
        ["go", "list", "-e", "-json=ImportPath,CgoFiles", *tag_args(ctx), *paths],
        env={"CGO_ENABLED": "1"},
        timeout=300,
    )
    return {p["ImportPath"]: p.get("CgoFiles") or [] for p in json_stream(done.stdout)}


def _why(ctx: Context, pkg: dict[str, Any], cgo: list[str]) -> str:
    env = go_env(ctx)
    target = f"{env.get('GOOS')}/{env.get('GOARCH')}"
    if cgo:
        off = "does not have" if env.get("GOOS") == "js" else "is built without (CGO_ENABLED=0)"
        verb = "imports" if len(cgo) == 1 else "import"
        return f"it needs cgo, which {target} {off}: {', '.join(cgo)} {verb} \"C\""
    ignored = pkg.get("IgnoredGoFiles") or []
    constraints = sorted({c for name in ignored for c in _constraints(Path(pkg["Dir"]) / name)})
    if constraints:
        return "its files build only where " + " or ".join(f"`{c}`" for c in constraints[:4])
    if ignored:
        return f"its files are for other systems: {', '.join(ignored[:6])}"
    return "it has no Go files for this target"


def _constraints(path: Path) -> list[str]:
    try:
        head = path.read_text(errors="replace")[:4096]
    except OSError:
        return []
    return [m.strip() for m in _GO_BUILD.findall(head)]
