"""A standalone shell script that replays a failing run's steps against the same
watcher command, with the same cookie barriers, and prints the event that never came."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_fynecheck.containers.context import Command
from pytest_fynecheck.containers.reproducer import FILES_IN_CONTAINER, write_reproducer
from pytest_fynecheck.model import Result, Status
from pytest_fynecheck.watcher.churn import COOKIE_PREFIX, Expect, Prim, Step
from pytest_fynecheck.watcher.protocol import PLACEHOLDER, command_argv

if TYPE_CHECKING:
    from pytest_fynecheck.watcher.machine import StepFailed
    from pytest_fynecheck.watcher.modes import ContainerMode
    from pytest_fynecheck.watcher.options import Options

_HEADER = r"""#!/bin/sh
# Replays a watcher failure found by pytest-fynecheck (watcher protocol v1).
# Exit status: 1 = the failure reproduced, 0 = it did not, 2 = the watcher did not start.
# Needs a POSIX shell, coreutils and python3 (to read the watcher's JSON lines).
set -u
TIMEOUT=__TIMEOUT__
GRACE=__GRACE__
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/fynecheck-replay.XXXXXX")
ROOT=$(cd "$ROOT" && pwd -P)
OUT=$(mktemp "${TMPDIR:-/tmp}/fynecheck-replay-out.XXXXXX")
ERR=$OUT.err
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM -- "-$PID" 2>/dev/null || kill -TERM "$PID" 2>/dev/null
        sleep 0.2
        kill -KILL -- "-$PID" 2>/dev/null || kill -KILL "$PID" 2>/dev/null
    fi
    chmod -R u+rwx "$ROOT" 2>/dev/null
    rm -rf "$ROOT" "$OUT" "$ERR"
}
trap cleanup EXIT INT TERM

# wait_line PATTERN: until the watcher's stdout holds PATTERN (fixed string)
wait_line() {
    i=0
    until grep -qF -- "$1" "$OUT"; do
        i=$((i + 1))
        if [ "$i" -ge $((TIMEOUT * 20)) ]; then return 1; fi
        if [ -n "${2:-}" ] && [ $((i % 4)) -eq 0 ]; then printf c >> "$2"; fi
        sleep 0.05
    done
}

barrier() {
    printf c > "$ROOT/$1"
    if ! wait_line "$1\"" "$ROOT/$1"; then
        echo "REPRODUCED: the watcher never reported the barrier file $1 within $TIMEOUT s"
        exit 1
    fi
    sleep "$GRACE"
}

if command -v setsid >/dev/null 2>&1; then
    setsid __COMMAND__ >"$OUT" 2>"$ERR" &
else
    __COMMAND__ >"$OUT" 2>"$ERR" &
fi
PID=$!
if ! wait_line '"ready"'; then
    echo "the watcher did not print {\"ready\": true} within $TIMEOUT s; it printed:"
    cat "$OUT" "$ERR"
    exit 2
fi
"""

_CHECK = r"""
python3 - "$ROOT" "$OUT" "$START" <<'FYNECHECK_PY'
import json, os, sys
root, out, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
expects = json.loads(__EXPECTS__)
seen, errors = {}, []
with open(out, encoding="utf-8", errors="replace") as f:
    lines = f.read().splitlines()[start:]
for line in lines:
    try:
        obj = json.loads(line)
    except ValueError:
        print("not protocol JSON:", repr(line))
        continue
    if not isinstance(obj, dict):
        continue
    if "error" in obj:
        errors.append(str(obj["error"]))
    path = obj.get("path")
    if isinstance(path, str) and isinstance(obj.get("op"), str):
        if os.path.isabs(path):
            path = os.path.relpath(os.path.normpath(path), root)
        seen.setdefault(os.path.normpath(path), set()).add(obj["op"].lower())
missing = [e for e in expects if not seen.get(e["path"], set()) & set(e["ops"])]
for e in missing:
    print("REPRODUCED: never came: %s for %r (%s)" % (" or ".join(e["ops"]), e["path"], e["kind"]))
for err in errors:
    print("REPRODUCED: the watcher declared a loss: " + err)
print("events in the failing step's window:")
for line in lines:
    print("   ", line)
sys.exit(1 if missing or errors else 0)
FYNECHECK_PY
status=$?
if [ "$status" -eq 0 ]; then echo "not reproduced: every expected event came"; fi
exit "$status"
"""


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


def _command(cmd: str | Sequence[str]) -> str:
    argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    marker = "\0ROOT\0"
    if any(PLACEHOLDER in a for a in argv):
        argv = [a.replace(PLACEHOLDER, marker) for a in argv]
    else:
        argv.append(marker)
    # Quote each argument, then let "$ROOT" expand where the placeholder was.
    return " ".join(
        '"$ROOT"' if a == marker else shlex.quote(a).replace(marker, "'\"$ROOT\"'") for a in argv
    )


def render(
    cmd: str | Sequence[str], steps: Sequence[Step], missing: Sequence[Expect], options: Options
) -> str:
    shown = cmd if isinstance(cmd, str) else shlex.join(cmd)
    out = (
        _HEADER.replace("# Exit status", f"# Watcher command: {shown}\n# Exit status")
        .replace("__TIMEOUT__", str(max(1, round(options.timeout))))
        .replace("__GRACE__", f"{max(options.grace, 0.05):g}")
        .replace("__COMMAND__", _command(cmd))
    )
    body: list[str] = []
    for n, step in enumerate(steps, 1):
        last = n == len(steps)
        body.append(f"\n# step {n}: {step.label}")
        if last:
            body.append('START=$(wc -l < "$OUT")')
        body.extend(shell(p) for p in step.prims)
        body.append(f"barrier {shlex.quote(COOKIE_PREFIX + 'replay-' + str(n))}")
    expects = [
        {"path": e.path, "kind": e.kind.value, "ops": sorted(e.kind.covered_by)}
        for e in (missing or steps[-1].expects)
    ]
    check = _CHECK.replace("__EXPECTS__", repr(json.dumps(expects, ensure_ascii=False)))
    return out + "\n".join(body) + "\n" + check


def write_script(
    path: Path,
    cmd: str | Sequence[str],
    steps: Sequence[Step],
    missing: Sequence[Expect],
    options: Options,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(cmd, steps, missing, options), encoding="utf-8")
    os.chmod(path, 0o755)
    return path


def write_container_reproducer(
    root: Path,
    mode: ContainerMode,
    cmd: str | Sequence[str],
    failure: StepFailed,
    options: Options,
    *,
    save: bool = False,
) -> Path:
    """A container reproducer (see containers.reproducer) whose failing command is the
    replay script, run with the watcher inside the suite's image. The watcher's program,
    when it is a host file, travels in the reproducer's files/."""
    assert mode.ctx is not None, "the mode's container is gone"
    argv = command_argv(cmd, PLACEHOLDER)
    files: list[Path] = []
    program = Path(argv[0])
    if program.is_absolute() and program.is_file():
        files.append(program)
        argv[0] = f"{FILES_IN_CONTAINER}/{program.name}"
    with tempfile.TemporaryDirectory() as tmp:
        files.append(write_script(Path(tmp, "replay.sh"), argv, failure.steps,
                                  failure.verdict.missing, options))
        # bind modes failed on a bind mount: root the replay on one too (files/ is).
        env = {"TMPDIR": FILES_IN_CONTAINER} if mode.kind == "bind" else {}
        missing = failure.verdict.missing
        expect = f"REPRODUCED: never came: {missing[0]}" if missing else "REPRODUCED"
        command = Command(("sh", f"{FILES_IN_CONTAINER}/replay.sh"), env, "/", 1, expect,
                          "watcher")
        where = (
            "churn and watcher both in the container"
            if mode.kind == "container"
            else "churn and watcher in the container, the root on a bind mount; the "
            f"failing run had the {'watcher' if mode.watch_inside else 'churn'} in it"
        )
        result = Result(
            "watcher",
            f"File watcher: {shlex.join(command_argv(cmd, PLACEHOLDER))}",
            Status.FAIL,
            f"{failure.reason} in mode {mode.name}: {failure.steps[-1].label}",
            os=mode.name,
        )
        key = hashlib.sha256(f"{shlex.join(argv)}\0{mode.name}".encode()).hexdigest()[:10]
        return write_reproducer(
            root,
            mode.ctx,
            result,
            save=save,
            command=(command, f"the {len(failure.steps)} shrunk steps replayed ({where})"),
            files=files,
            name=f"watcher-{key}@{mode.name.replace(':', '-')}",
        )
