"""What every replay script the kit writes shares (the watcher's and the reload
oracle's): its header, the churn primitives as shell lines, the checked command with
the root in it, and the file written executable.

A script stands alone: POSIX sh and python3, nothing of the kit installed.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from pytest_fynecheck.churn.prims import PLACEHOLDER, Prim

# A script's exit status when it cannot make its private work directory.
NO_WORKDIR = 4


def header(comments: Sequence[str], settings: Mapping[str, str], workdir: str, prefix: str) -> str:
    """The script's start: what it replays (comment lines), `set -u`, its settings, and
    a private work directory in `$workdir` with its symlinks resolved (watchers and
    tools report real paths).

    The script stops when mktemp fails: an empty `$workdir` would make `cd ""` resolve
    to the caller's directory, which the script's cleanup trap then removes. The trap
    is set after this header, so it only ever removes the directory mktemp made."""
    lines = ["#!/bin/sh", *(f"# {c}" for c in comments)]
    lines.append(
        f"# Exit status {NO_WORKDIR} = no private work directory could be made (mktemp "
        "failed); nothing was removed."
    )
    lines.append("set -u")
    lines += [f"{name}={value}" for name, value in settings.items()]
    lines += [
        "nowork() {",
        '    echo "cannot make a private work directory under ${TMPDIR:-/tmp} (mktemp '
        'failed; set TMPDIR to a writable directory); nothing was removed" >&2',
        f"    exit {NO_WORKDIR}",
        "}",
        f'{workdir}=$(mktemp -d "${{TMPDIR:-/tmp}}/{prefix}.XXXXXX") && [ -n "${workdir}" ] '
        f'&& [ -d "${workdir}" ] || nowork',
        f'{workdir}=$(cd "${workdir}" && pwd -P) && [ -n "${workdir}" ] || nowork',
    ]
    return "\n".join(lines) + "\n"


def _q(path: str) -> str:
    return '"$ROOT"/' + shlex.quote(path)


def _printf(data: bytes) -> str:
    if not data:
        return ":"
    # Octal escapes: exact bytes, whatever the locale or the shell's echo.
    body = "".join(chr(b) if chr(b).isalnum() and b < 128 else f"\\{b:03o}" for b in data)
    return f"printf '{body}'"


# Each primitive as one shell line: {path} and {dest} lie under "$ROOT", {target} is a
# link's text as written, {data} prints the exact bytes.
_SHELL = {
    "write": "{data} > {path}",
    "append": "{data} >> {path}",
    "truncate": "truncate -s 0 {path}",
    "rename": "mv -f {path} {dest}",
    "remove": "rm -f {path}",
    "mkdir": "mkdir {path}",
    "rmtree": "rm -rf {path}",
    "chmod": "chmod {mode:o} {path}",
    "symlink": "ln -s -- {target} {path}",
}


def shell(p: Prim) -> str:
    template = _SHELL.get(p.verb)
    if template is None:
        raise ValueError(f"unknown primitive {p.verb!r}")
    return template.format(
        path=_q(p.path),
        dest=_q(p.dest),
        target=shlex.quote(p.dest),
        data=_printf(p.data),
        mode=p.mode,
    )


def shell_command(cmd: str | Sequence[str], *, append_root: bool) -> str:
    """The command as one shell line, "$ROOT" expanding where the placeholder was (or,
    with `append_root`, as a last argument when there is no placeholder)."""
    argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    marker = "\0ROOT\0"
    if any(PLACEHOLDER in a for a in argv):
        argv = [a.replace(PLACEHOLDER, marker) for a in argv]
    elif append_root:
        argv.append(marker)
    # Quote each argument, then let "$ROOT" expand where the placeholder was.
    return " ".join(
        '"$ROOT"' if a == marker else shlex.quote(a).replace(marker, "'\"$ROOT\"'") for a in argv
    )


def write_executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o755)
    return path
