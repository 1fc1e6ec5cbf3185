"""STAND-IN (browser branch): the build branch writes this module; at the merge its version
wins. Only what web.serve calls, so the browser branch's checks run end to end."""

from __future__ import annotations

from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed


def find_wasm_exec(ctx: Context) -> Path:
    goroot = Path(ctx.run(["go", "env", "GOROOT"]).stdout.strip())
    looked = [goroot / "lib" / "wasm" / "wasm_exec.js", goroot / "misc" / "wasm" / "wasm_exec.js"]
    for path in looked:
        if path.is_file():
            return path
    raise CheckFailed(f"no wasm_exec.js in {', '.join(map(str, looked))}")


def compare_wasm_exec(ctx: Context, site: Path) -> str:
    ours = find_wasm_exec(ctx)
    if (site / "wasm_exec.js").read_bytes() != ours.read_bytes():
        raise CheckFailed(f"{site / 'wasm_exec.js'} differs from {ours}")
    return f"wasm_exec.js is {ours}'s"
