"""`fyne bundle` resources against the source files they were made from.

Old `fyne bundle` wrote the bytes into Go source (`StaticContent: []byte(...)`), a
snapshot that silently goes stale when the source file changes. Since fyne.io/tools
1.7 it writes `//go:embed` instead, so the source file is the resource and only the
binary can lag (the embed aspect checks that).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import Result
from pytest_fynecheck.drift import probe
from pytest_fynecheck.drift.report import DRIFT, MATCH, UNKNOWN, aspect

_SKIP_DIRS = {".git", "vendor", "node_modules", "build", "dist"}


def bundle_files(packages: list[dict[str, Any]]) -> list[Path]:
    """Go files of the main module that declare fyne.StaticResource values."""
    out = []
    for pkg in packages:
        if not (pkg.get("Module") or {}).get("Main"):
            continue
        for name in pkg.get("GoFiles") or []:
            path = Path(pkg["Dir"]) / name
            if b"StaticResource{" in path.read_bytes():
                out.append(path)
    return out


def _sources(project: Path, name: str) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(project):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        if name in files:
            found.append(Path(root) / name)
    return sorted(found)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compare(ctx: Context, files: list[Path]) -> Result | None:
    if not files:
        return None
    lines: list[str] = []
    drift = unknown = total = 0
    for gofile in files:
        rel = gofile.relative_to(ctx.project) if gofile.is_relative_to(ctx.project) else gofile
        for res in probe.bundle(ctx, gofile):
            total += 1
            name = res["name"]
            if res["kind"] == "embed":
                src = gofile.parent / res["embed_path"]
                lines.append(
                    f"{rel} {res['var']} ({name}): go:embed {res['embed_path']}, "
                    f"the source file itself{'' if src.is_file() else ' (missing!)'}"
                )
                if not src.is_file():
                    drift += 1
                continue
            if res["kind"] != "bytes":
                unknown += 1
                lines.append(f"{rel} {res['var']} ({name}): content is not a literal; not compared")
                continue
            sources = _sources(ctx.project, name)
            matching = [s for s in sources if _sha(s) == res["sha256"]]
            if matching:
                lines.append(f"{rel} {res['var']} ({name}): matches {matching[0]}")
            elif not sources:
                unknown += 1
                lines.append(
                    f"{rel} {res['var']} ({name}): no file named {name} under {ctx.project} "
                    "to compare with"
                )
            else:
                drift += 1
                shown = ", ".join(
                    f"{s} ({s.stat().st_size} B sha256 {_sha(s)[:12]})" for s in sources
                )
                lines.append(
                    f"{rel} {res['var']} ({name}): bundled {res['size']} B sha256 "
                    f"{res['sha256'][:12]}, but the source differs: {shown}"
                )
    status = DRIFT if drift else UNKNOWN if unknown else MATCH
    return aspect(
        "bundle",
        status,
        f"{total} fyne bundle resource(s): {drift} stale, {unknown} without a source to compare",
        tuple(lines),
        "re-run `fyne bundle` (fyne.io/tools >= 1.7 writes go:embed bundles that cannot go stale)",
    )
