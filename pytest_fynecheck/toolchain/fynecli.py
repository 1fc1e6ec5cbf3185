"""Where the fyne CLI runs: `fyne package` writes into the tree it packs (its output, and
FyneApp.toml's Build), so the kit runs it in a copy of the module under the context's
scratch, never in the user's tree. One place for the web and package checks."""

from __future__ import annotations

from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed


def project_copy(ctx: Context, module_root: Path, package_dir: Path, name: str) -> Path:
    """A fresh copy of `module_root` at scratch/`name`, made by the context (a suite
    container copies in its own file system); the copy's `package_dir`."""
    copy = ctx.scratch / name
    made = ctx.run(["sh", "-c", 'rm -rf "$2" && mkdir -p "$2" && cp -a "$1"/. "$2"/',
                    "sh", str(module_root), str(copy)], timeout=600)
    if not made.ok:
        raise CheckFailed(f"copying {module_root} to {copy} failed: {made.output[-1000:]}",
                          "check that the scratch directory has room")
    return copy / package_dir.relative_to(module_root)
