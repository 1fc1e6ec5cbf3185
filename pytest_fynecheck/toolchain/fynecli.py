"""Where the fyne CLI runs: `fyne package` writes into the tree it packs (its output, and
FyneApp.toml's Build), so the kit runs it in a copy of the module under the context's
scratch, never in the user's tree. One place for the web and package checks."""

from __future__ import annotations

from collections.abc import Mapping
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
                    timeout: float | None = None, hint: str = "") -> Path:
    """`fyne package -os os_name` in a fresh copy of the module (project_copy); the one
    artifact matching `pattern` (a shell glob relative to the copy's package dir). The
    CLI's failure is quoted; none or several artifacts are named. Listing goes through
    the context, so a suite container's own file system is what is looked at."""
    where = project_copy(ctx, module_root, package_dir, f"fyne-package-{os_name}-{ctx.name}")
    # An artifact the user's tree already had must not pass for the one made now.
    ctx.run(["sh", "-c", _CLEAR, "sh", str(where), pattern], timeout=120)
    command = f"fyne package -os {os_name}"
    done = ctx.run(["fyne", "package", "-os", os_name], cwd=where, env=env, timeout=timeout)
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
