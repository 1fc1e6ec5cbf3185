"""The `fyne` CLI: on PATH, which one, and whether it fits the library version."""

from __future__ import annotations

import re
from pathlib import Path

from pytest_fynecheck.checks import Needs, check
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, CheckWarning
from pytest_fynecheck.toolchain.gotool import FYNE_MODULE, go_env, list_module, version_tuple

INSTALL = "go install fyne.io/tools/cmd/fyne@latest"

# fyne.io/tools writes fyne_metadata_init.go with AppMetadata.Migrations, a field that
# fyne.io/fyne/v2 gained in v2.6.0: older libraries fail to compile it
# (tests/test_checks_fyne_cli.py shows the compile error).
METADATA_MIGRATIONS_SINCE = "v2.6.0"


def _bin_dirs(ctx: Context) -> list[Path]:
    env = go_env(ctx)
    if env.get("GOBIN"):
        return [Path(env["GOBIN"])]
    return [Path(p) / "bin" for p in env.get("GOPATH", "").split(":") if p]


@check(
    "fyne.cli",
    "fyne CLI (packaging, bundling)",
    hint=INSTALL,
    required=False,
)
def fyne_cli(ctx: Context, needs: Needs) -> str:
    exe = ctx.which("fyne")
    if exe is None:
        installed = [d / "fyne" for d in _bin_dirs(ctx) if (d / "fyne").is_file()]
        if installed:
            raise CheckWarning(
                f"fyne is installed at {installed[0]} but {installed[0].parent} is not on PATH",
                f'add it to PATH: export PATH="$PATH:{installed[0].parent}"',
            )
        dirs = " or ".join(str(d) for d in _bin_dirs(ctx))
        raise CheckWarning(
            "fyne is not on PATH (only needed for `fyne package`, `fyne bundle`, `fyne release`)",
            f"{INSTALL}; it installs into {dirs}, which must be on PATH",
        )
    done = ctx.run(["fyne", "version"], timeout=60)
    out = done.output
    cli = re.search(r"fyne cli version:\s*(\S+)", out)
    if not done.ok or not cli:
        raise CheckWarning(
            f"`{exe} version` did not say its version (exit {done.returncode}): {out[-300:]}",
            f"reinstall the CLI: {INSTALL}",
        )
    cli_version = cli.group(1)
    found = f"{exe}: cli {cli_version}"
    if "deprecated" in out or cli_version.startswith("v2."):
        raise CheckWarning(
            found + " is the deprecated fyne.io/fyne/v2/cmd/fyne",
            f"switch to the maintained CLI: {INSTALL}",
        )
    try:
        library = list_module(ctx, FYNE_MODULE).get("Version", "")
    except CheckFailed:
        return found + "; library version unknown here"
    if library and version_tuple(library.lstrip("v")) < version_tuple(
        METADATA_MIGRATIONS_SINCE.lstrip("v")
    ):
        raise CheckWarning(
            f"{found} with {FYNE_MODULE} {library}: `fyne build`/`fyne package` generate "
            "metadata (AppMetadata.Migrations) that this library does not have, so they "
            "fail with 'unknown field Migrations'",
            f"upgrade the library: go get {FYNE_MODULE}@latest (>= {METADATA_MIGRATIONS_SINCE})",
        )
    return found + f" with {FYNE_MODULE} {library}: compatible"
