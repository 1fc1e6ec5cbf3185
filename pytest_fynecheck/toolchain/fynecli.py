"""Where the fyne CLI runs: `fyne package` writes into the tree it packs (its output, and
FyneApp.toml's Build), so the kit runs it in a copy of the module under the context's
scratch, never in the user's tree. One place for the web and package checks."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.toolchain.gobuild import Built, InUse, KeyLock, cached_build


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


class PackageFailed(CheckFailed):
    """`fyne package` itself exited non-zero; `output` is what it said, so a caller can
    tell a reason it handles (web.build: no icon) from a failure."""

    def __init__(self, detail: str, hint: str, output: str) -> None:
        super().__init__(detail, hint)
        self.output = output


# Shell: $2 is the artifact glob, unquoted on purpose so the shell expands it in the copy.
_CLEAR = 'cd "$1" && rm -rf -- $2'
_LIST = 'cd "$1" && for f in $2; do if [ -e "$f" ]; then printf "%s\\n" "$f"; fi; done'


def package_in_copy(ctx: Context, module_root: Path, package_dir: Path, os_name: str,
                    pattern: str, *, env: Mapping[str, str] | None = None,
                    timeout: float | None = None, hint: str = "", fyne: str = "fyne") -> Path:
    """`fyne package -os os_name` in a fresh copy of the module (project_copy); the one
    artifact matching `pattern` (a shell glob relative to the copy's package dir). The
    CLI's failure is quoted; none or several artifacts are named. Listing goes through
    the context, so a suite container's own file system is what is looked at. `fyne`: the
    CLI (a path where the context has none on PATH)."""
    where = project_copy(ctx, module_root, package_dir, f"fyne-package-{os_name}-{ctx.name}")
    # An artifact the user's tree already had must not pass for the one made now.
    ctx.run(["sh", "-c", _CLEAR, "sh", str(where), pattern], timeout=120)
    command = f"fyne package -os {os_name}"
    done = ctx.run([fyne, "package", "-os", os_name], cwd=where, env=env, timeout=timeout)
    if not done.ok:
        raise PackageFailed(
            f"`{command}` in a copy of the project ({where}) failed "
            f"(exit {done.returncode}):\n{done.output[-3000:]}",
            hint or f"run `{command}` in the project to see the full error", done.output)
    listed = ctx.run(["sh", "-c", _LIST, "sh", str(where), pattern], timeout=120)
    made = sorted(line for line in listed.stdout.splitlines() if line)
    if len(made) != 1:
        raise CheckFailed(f"`{command}` left {len(made)} files matching {pattern} in {where}, "
                          f"not one: {made}",
                          f"run `{command} -v` in the project and look at its output")
    return where / made[0]


# -- the kit's own build of the CLI, for contexts that have none (suite containers) --

TOOLS_MODULE = "fyne.io/tools"
_CLI_VERSION = re.compile(r"fyne cli version:\s*(v\d+\.\d+\.\d+\S*)")


def cli_version(ctx: Context) -> str:
    """The version `fyne version` reports in `ctx` (a fyne.io/tools v1.x CLI), or
    CheckFailed naming what is wrong with the CLI found there."""
    if ctx.which("fyne") is None:
        raise CheckFailed("no fyne CLI on this machine's PATH: the kit builds the same "
                          "version for the container, so it needs one here to match",
                          "go install fyne.io/tools/cmd/fyne@latest, and put its directory "
                          "on PATH")
    done = ctx.run(["fyne", "version"], timeout=60)
    found = _CLI_VERSION.search(done.output)
    if not done.ok or found is None or found.group(1).startswith("v2."):
        raise CheckFailed(f"`fyne version` on this machine names no fyne.io/tools v1.x CLI "
                          f"(exit {done.returncode}): {done.output[-300:]}",
                          "go install fyne.io/tools/cmd/fyne@latest")
    return found.group(1)


def build_cli(ctx: Context, version: str) -> Built:
    """fyne.io/tools/cmd/fyne at `version`, built by the one cached Go build through
    `ctx`'s module proxy, static (CGO_ENABLED=0 builds it: the CLI uses no cgo) for
    Linux on this machine's arch, the arch of the Go toolchain containers run."""
    module = ctx.cache / "tools" / f"fyne-cli-{version}"
    gomod = f"module fynecheck.local/fynecli\n\ngo 1.22.0\n\nrequire {TOOLS_MODULE} {version}\n"
    module.mkdir(parents=True, exist_ok=True)
    if not (module / "go.mod").is_file():  # go may tidy it: written once, keyed by gomod
        tmp = module / f".go.mod.{os.getpid()}.tmp"
        tmp.write_text(gomod)
        os.replace(tmp, module / "go.mod")
    return cached_build(
        ctx, module, f"{TOOLS_MODULE}/cmd/fyne", "fyne", kind="tools",
        key_parts=[gomod],
        env={"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "", "GOFLAGS": "-mod=mod",
             "GOWORK": "off"},
        hint=lambda _err: f"run `go install {TOOLS_MODULE}/cmd/fyne@{version}` to see why",
        timeout=900,
    )


def copy_build(ctx: Context, built: Built) -> Path:
    """`built` (made in another cache) copied to `ctx`'s cache as a build of its own,
    cache/tools/fyne-KEY/fyne: `gobuild.sweep` bounds it like one, and it is held in use
    until `ctx` closes. Under the build's key lock: a sweep removes a build directory
    whose binary is not there yet."""
    out = ctx.cache / "tools" / f"fyne-{built.key}"
    held = KeyLock.acquire(out, f"tools/fyne-{built.key}", ctx.timeout, ctx.progress)
    try:
        dest = out / "fyne"
        if not dest.is_file():
            held.remove_leftovers("fyne")
            tmp = out / f".fyne.{os.getpid()}.{threading.get_ident()}.tmp"
            shutil.copy2(built.path, tmp)
            os.replace(tmp, dest)
        use = InUse.take(out)
        if use is not None:
            ctx.on_close(use.release)
    finally:
        held.release()
    return dest
