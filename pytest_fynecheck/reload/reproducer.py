"""A standalone shell script that replays a failing run's steps against the same reload
tool, with the same `go` wrapper and probe, and judges quiescence the same way.

Every wait in it has a bound, and it cleans up (tool, apps, files) on any exit under
dash and bash alike.
"""

from __future__ import annotations

import inspect
import json
import shlex
from collections.abc import Sequence
from pathlib import Path

from pytest_fynecheck.churn.script import header, shell, shell_command, write_executable
from pytest_fynecheck.reload import probe
from pytest_fynecheck.reload.churn import Action, ProbeTree, Step, history
from pytest_fynecheck.reload.options import Options
from pytest_fynecheck.reload.sandbox import initial_prims, locked

_AFTER_HEADER = r"""ROOT=$BASE/tree
CTL=$BASE/ctl
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM -- "-$PID" 2>/dev/null || kill -TERM "$PID" 2>/dev/null
        i=0
        while [ "$i" -lt 50 ] && kill -0 "$PID" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
        kill -KILL -- "-$PID" 2>/dev/null
    fi
    : > "$CTL/stop"
    sleep 0.5 # the apps look at their stop switch every 200 ms
    rm -rf "$BASE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$ROOT" "$CTL/probes" "$CTL/builds" "$CTL/bin"
: > "$CTL/builds.log"
cat > "$CTL/bin/go" <<'FYNECHECK_GO'
__WRAPPER__FYNECHECK_GO
chmod +x "$CTL/bin/go"
REAL_GO=$(command -v go) || { echo "go is not on PATH"; exit 2; }
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
FYNECHECK_REAL_GO=$REAL_GO FYNECHECK_RELOAD_DIR=$CTL FYNECHECK_PROBE_PORT=$PORT CGO_ENABLED=0
export FYNECHECK_REAL_GO FYNECHECK_RELOAD_DIR FYNECHECK_PROBE_PORT CGO_ENABLED
PATH=$CTL/bin:$PATH
export PATH

# ended MARK: a build started past MARK no longer runs (a failed go run notes no end)
ended() {
    for b in $(tail -n "+$(($1 + 1))" "$CTL/builds.log" | awk '$1 == "start" { print $2 }'); do
        if [ ! -e "$CTL/builds/$b" ] || flock -n "$CTL/builds/$b" true; then return 0; fi
    done
    return 1
}

# await WORD SECONDS [MARK]: until builds.log has a line "WORD ..." past its first MARK
# lines (default: those there now): a build held, or ended
await() {
    mark=${3:-$(wc -l < "$CTL/builds.log")}
    i=0
    until tail -n "+$((mark + 1))" "$CTL/builds.log" | grep -q "^$1 " ||
        { [ "$1" = end ] && ended "$mark"; }; do
        i=$((i + 1))
        if [ "$i" -ge $(($2 * 20)) ]; then echo "(no build $1 within $2 s)"; return 0; fi
        sleep 0.05
    done
}
"""

_START = r"""
cd "$ROOT" || exit 2
if command -v setsid >/dev/null 2>&1; then
    setsid __COMMAND__ > "$BASE/out" 2>&1 &
else
    __COMMAND__ > "$BASE/out" 2>&1 &
fi
PID=$!
i=0
until grep -qs '"hash":"__INITIAL__"' "$CTL"/probes/*.json; do
    i=$((i + 1))
    if [ "$i" -ge $((START_TIMEOUT * 20)) ] || ! kill -0 "$PID" 2>/dev/null; then
        echo "the tool did not start the app within $START_TIMEOUT s; it printed:"
        cat "$BASE/out"
        exit 2
    fi
    sleep 0.05
done
echo "the app is up; replaying the steps"
"""

# The sandbox's own lock test, embedded (standard library only): one way to tell a live app.
_LOCKED = inspect.getsource(locked)

_CHECK = r"""
python3 - "$CTL" "$QUIET" "$SETTLE" <<'FYNECHECK_PY'
import fcntl, glob, json, os, sys, time
from pathlib import Path
ctl, quiet, settle = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
history = json.loads(__HISTORY__)
final = history[-1][1]
__LOCKED__def activity():
    return os.path.getsize(ctl + "/builds.log"), len(os.listdir(ctl + "/probes"))
def starting(path):
    return locked(path) and not any(os.path.exists(path + x) for x in (".bound", ".err"))
def busy():
    probes = glob.glob(ctl + "/probes/*.json")
    with open(ctl + "/builds.log") as f:
        ended = {line.split()[1] for line in f if line.startswith("end ")}
    builds = [b for b in glob.glob(ctl + "/builds/*") if os.path.basename(b) not in ended]
    return any(locked(b) for b in builds) or any(map(starting, probes))
start = last = time.monotonic()
seen, quiesced = activity(), False
while time.monotonic() - start < settle:
    now = time.monotonic()
    if activity() != seen or busy():
        seen, last = activity(), now
    elif now - last >= quiet:
        quiesced = True
        break
    time.sleep(0.05)
problems = []
if not quiesced:
    problems.append("never quiet within %g s: a rebuild loop" % settle)
alive = []
for path in sorted(glob.glob(ctl + "/probes/*.json")):
    with open(path) as f:
        info = json.load(f)
    if locked(path):
        alive.append(dict(info, path=path))
if not alive:
    problems.append("no app is running after quiescence")
elif len(alive) > 1:
    problems.append("%d app processes alive: old ones were not stopped" % len(alive))
for a in alive:
    if a["hash"] != final:
        when = [label for label, h in history if h == a["hash"]]
        problems.append("pid %d runs %s, not the final tree" % (
            a["pid"], "the tree as it was " + when[-1] if when else "an unknown build"))
    if not os.path.exists(a["path"] + ".bound"):
        problems.append("pid %d does not hold its port" % a["pid"])
if quiesced and not problems:
    before = activity()
    time.sleep(quiet)
    if activity() != before:
        problems.append("restarted after quiescence with no change")
for p in problems:
    print("REPRODUCED: " + p)
sys.exit(1 if problems else 0)
FYNECHECK_PY
status=$?
if [ "$status" -eq 0 ]; then echo "not reproduced: one app, built from the final tree"; fi
echo "the tool printed (last lines):"
tail -n 15 "$BASE/out"
exit "$status"
"""


def _action(a: Action) -> str:
    if a.kind == "fs":
        assert a.prim is not None
        return shell(a.prim)
    return {
        "pause": f"sleep {a.seconds:g}",
        "hold": 'HOLD=$(wc -l < "$CTL/builds.log"); rm -f "$CTL/release"; : > "$CTL/hold"',
        "release": 'rm -f "$CTL/hold"; : > "$CTL/release"',
        "await_held": f'await held {max(1, round(a.seconds))} "$HOLD"',
        "await_build": f"await end {max(1, round(a.seconds))}",
    }[a.kind]


def render(argv: Sequence[str], steps: Sequence[Step], options: Options) -> str:
    shown = shlex.join(argv)
    tree = ProbeTree()
    about = [
        "Replays a hot-reload failure found by pytest-fynecheck's reload oracle.",
        f"Tool command: {shown.replace(chr(10), ' ')}",
        "Exit status: 1 = the failure reproduced, 0 = it did not, 2 = the tool never started "
        "the app.",
        "Needs a POSIX shell, coreutils, flock (util-linux), go and python3.",
    ]
    settings = {
        "START_TIMEOUT": str(max(1, round(options.start_timeout))),
        "QUIET": f"{options.quiet:g}",
        "SETTLE": f"{options.settle_timeout:g}",
    }
    out = header(about, settings, "BASE", "fynecheck-reload-replay") + _AFTER_HEADER.replace(
        "__WRAPPER__", probe.GO_WRAPPER
    )
    body = ["\n# the probe app's initial tree"]
    body += [shell(p) for p in initial_prims(tree.files)]
    command = shell_command(argv, append_root=False)
    body.append(_START.replace("__COMMAND__", command).replace("__INITIAL__", tree.hash()))
    for n, step in enumerate(steps, 1):
        body.append(f"# step {n}: {step.label}")
        body += [_action(a) for a in step.actions]
    check = _CHECK.replace("__HISTORY__", repr(json.dumps(history(list(steps))))).replace(
        "__LOCKED__", _LOCKED
    )
    return out + "\n".join(body) + "\n" + check


def write_script(path: Path, argv: Sequence[str], steps: Sequence[Step], options: Options) -> Path:
    return write_executable(path, render(argv, steps, options))


__all__ = ["render", "write_script"]
