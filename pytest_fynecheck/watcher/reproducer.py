"""A standalone shell script that replays a failing run's steps against the same
watcher command, with the same cookie barriers, and prints the event that never came."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_fynecheck.churn import agent
from pytest_fynecheck.churn.prims import PLACEHOLDER, Prim
from pytest_fynecheck.churn.script import header, shell, shell_command, write_executable
from pytest_fynecheck.containers.context import Command
from pytest_fynecheck.containers.reproducer import FILES_IN_CONTAINER, write_reproducer
from pytest_fynecheck.core.model import Result, Status
from pytest_fynecheck.watcher.adapters import BRIDGE_NAME
from pytest_fynecheck.watcher.churn import COOKIE_PREFIX, Expect, Step
from pytest_fynecheck.watcher.protocol import command_argv

# The harness's own churn code, embedded in each script (standard library only).
AGENT_SOURCE = Path(agent.__file__).read_text(encoding="utf-8")

if TYPE_CHECKING:
    from pytest_fynecheck.watcher.modes import ContainerMode
    from pytest_fynecheck.watcher.options import Options
    from pytest_fynecheck.watcher.run import StepFailed

_AFTER_HEADER = r"""trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cat > "$WORK/agent.py" <<'FYNECHECK_AGENT'
__AGENT__
FYNECHECK_AGENT

# prims JSON: apply one step's file operations in one python3 process, back to back
# (separate commands, a fork each, give a watcher time the harness did not give it).
prims() {
    printf '{"root": "%s", "prims": %s}\n' "$ROOT" "$1" | python3 "$WORK/agent.py" \
        | grep -q '"ok"' || { echo "applying $1 failed"; exit 3; }
}

# wait_line PATTERN [POKE]: until the watcher's stdout holds PATTERN (fixed string)
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

running() {  # a zombie is not running; without ps, nothing is
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case $state in Z*) return 1 ;; esac
}

# The watcher runs in its own session; stopping it signals that whole process group
# (`kill -SIG -PGID`: dash's kill takes no `--`), so nothing it started outlives a try.
stop_watcher() {
    [ -n "$PID" ] || return 0
    i=0
    while [ ! -s "$OUT.pgid" ] && [ "$i" -lt 20 ] && running "$PID"; do
        sleep 0.05; i=$((i + 1))
    done
    PGID=$(cat "$OUT.pgid" 2>/dev/null)
    if [ -n "$PGID" ]; then kill -TERM -"$PGID" 2>/dev/null; else kill -TERM "$PID" 2>/dev/null; fi
    i=0
    while running "$PID" && [ "$i" -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
    sleep 0.1  # what the watcher started gets the same grace
    if [ -n "$PGID" ]; then kill -KILL -"$PGID" 2>/dev/null; fi
    kill -KILL "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=
}

cleanup() {
    stop_watcher
    chmod -R u+rwx "$ROOT" 2>/dev/null
    rm -rf "$ROOT" "$OUT" "$OUT.err" "$OUT.pgid"
}

start_watcher() {
    if command -v setsid >/dev/null 2>&1; then
        # $$ of the new session's first process is the group to signal.
        setsid sh -c 'echo $$ > "$0"; exec "$@"' "$OUT.pgid" __COMMAND__ >"$OUT" 2>"$OUT.err" &
    else
        __COMMAND__ >"$OUT" 2>"$OUT.err" &
    fi
    PID=$!
    if ! wait_line '"ready"'; then
        echo "the watcher did not print {\"ready\": true} within $TIMEOUT s; it printed:"
        cat "$OUT" "$OUT.err"
        exit 2
    fi
}

# One try: a fresh root and a fresh watcher, in a subshell with its own cleanup.
attempt() {
    ROOT=$WORK/root.$1
    OUT=$WORK/out.$1
    PID=
    mkdir "$ROOT"
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    start_watcher
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
    got = sorted(seen.get(e["path"], ()))
    only = "; it came only as " + " and ".join(got) if got else ""
    print("REPRODUCED: never came: %s for %r (%s)%s" % (" or ".join(e["ops"]), e["path"],
                                                       e["kind"], only))
for err in errors:
    print("REPRODUCED: the watcher declared a loss: " + err)
print("events in the failing step's window:")
for line in lines:
    print("   ", line)
sys.exit(1 if missing or errors else 0)
FYNECHECK_PY
}

n=1
while [ "$n" -le "$TRIES" ]; do
    if [ "$TRIES" -gt 1 ]; then echo "try $n of $TRIES"; fi
    (attempt "$n")
    status=$?
    if [ "$status" -ne 0 ]; then exit "$status"; fi
    n=$((n + 1))
done
echo "not reproduced: every expected event came, in $TRIES tries"
exit 0
"""


def _wire(prims: Sequence[Prim]) -> str:
    """A step's primitives as the agent's JSON (see agent.py), for `prims '...'`."""
    wire = [
        {"verb": p.verb, "path": p.path, "data": base64.b64encode(p.data).decode(),
         "dest": p.dest, "mode": p.mode}
        for p in prims
    ]
    return json.dumps(wire, ensure_ascii=True)


@dataclasses.dataclass(frozen=True)
class Tries:
    """How many tries the script makes, and why (a race found by the harness)."""

    count: int = 1
    why: str = ""


def render(
    cmd: str | Sequence[str],
    steps: Sequence[Step],
    missing: Sequence[Expect],
    options: Options,
    tries: Tries | None = None,
) -> str:
    tries = tries or Tries()
    shown = cmd if isinstance(cmd, str) else shlex.join(cmd)
    about = [
        "Replays a watcher failure found by pytest-fynecheck (watcher protocol v1).",
        f"Watcher command: {shown}",
        *([tries.why] if tries.why else []),
        f"It tries up to {tries.count} time(s), each with a fresh root and watcher, and "
        "stops at the first that reproduces.",
        "Exit status: 1 = the failure reproduced, 0 = it did not, 2 = the watcher did not "
        "start.",
        "Needs a POSIX shell (dash or bash), coreutils and python3 (to apply a step's file",
        "operations back to back, as the harness did, and to read the watcher's JSON lines).",
    ]
    settings = {
        "TIMEOUT": str(max(1, round(options.timeout))),
        "GRACE": f"{max(options.grace, 0.05):g}",
        "TRIES": str(tries.count),
    }
    out = header(about, settings, "WORK", "fynecheck-replay") + (
        _AFTER_HEADER.replace("__COMMAND__", shell_command(cmd, append_root=True))
        .replace("__AGENT__", AGENT_SOURCE.rstrip("\n"))
    )
    body: list[str] = []
    for n, step in enumerate(steps, 1):
        last = n == len(steps)
        body.append(f"\n    # step {n}: {step.label}")
        if last:
            body.append('    START=$(wc -l < "$OUT")')
        if len(step.prims) == 1:
            body.append("    " + shell(step.prims[0]))
        else:
            # Back to back, as the harness made them: that is what races the watcher.
            body.extend(f"    #   {shell(p)}" for p in step.prims)
            body.append(f"    prims {shlex.quote(_wire(step.prims))}")
        body.append(f"    barrier {shlex.quote(COOKIE_PREFIX + 'replay-' + str(n))}")
    expects = [
        {"path": e.path, "kind": e.kind.value, "ops": sorted(e.kind.covered_by)}
        for e in (missing or steps[-1].expects)
    ]
    check = _CHECK.replace("__EXPECTS__", repr(json.dumps(expects, ensure_ascii=False)))
    return out + "\n".join(body) + "\n" + check


def replay_name(cmd: str | Sequence[str], mode: str, app: Path | None) -> str:
    """`TOOL-APP-MODE-KEY`, the name of a failure's replay script and reproducer: readable,
    and keyed by the watcher's program as resolved here (two `./watch` of two apps are
    two programs), its arguments, the app and the mode, so that runs of other tools,
    apps or modes never overwrite each other's."""
    argv = command_argv(cmd, PLACEHOLDER)
    program = shutil.which(argv[0]) or argv[0]
    if os.sep in program:
        program = os.path.realpath(program)
    tool = os.path.basename(argv[0])
    if tool == BRIDGE_NAME and len(argv) > 1:
        tool = argv[1]  # a built-in through the bridge: the tool's own name
    where = str(app.resolve()) if app is not None else ""
    content = "\0".join([program, *argv[1:], where, mode])
    key = hashlib.sha256(content.encode()).hexdigest()[:10]
    parts = [tool, app.resolve().name if app is not None else "", mode, key]
    return "-".join(_slug(x) for x in parts if x)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+]+", "_", text).strip("_.")[:40] or "_"


def write_script(
    path: Path,
    cmd: str | Sequence[str],
    steps: Sequence[Step],
    missing: Sequence[Expect],
    options: Options,
    tries: Tries | None = None,
) -> Path:
    return write_executable(path, render(cmd, steps, missing, options, tries))


def write_container_reproducer(
    root: Path,
    mode: ContainerMode,
    cmd: str | Sequence[str],
    failure: StepFailed,
    options: Options,
    *,
    save: bool = False,
    tries: Tries | None = None,
    app: Path | None = None,
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
                                  failure.verdict.missing, options, tries))
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
            where=mode.name,
            kind="watcher",
        )
        return write_reproducer(
            root,
            mode.ctx,
            result,
            save=save,
            command=(command, f"the {len(failure.steps)} shrunk steps replayed ({where})"),
            files=files,
            name=f"watcher-{replay_name(cmd, mode.name, app)}",
        )
