"""The probe app the reload oracle churns: a tiny Go module (no cgo, no dependencies)
whose binary hashes its own embedded sources and assets at start and announces that
hash with its pid in a file it keeps locked while it lives.

The kit computes the same hash from its model of the tree (`tree_hash`), so "the running
app is the final tree's" is one string comparison.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

PROBE_GO = Path(__file__).resolve().parent.parent / "probes" / "reloadprobe" / "probe.go"
MODULE = "fynecheckprobe"
GO_MOD = f"module {MODULE}\n\ngo 1.21\n".encode()
ASSETS = "assets"
# What the probe announces itself with, on stdout, when it starts.
ANNOUNCE_PREFIX = "fynecheck-probe pid="


def main_go(packages: Sequence[str], rev: int, broken: bool = False) -> bytes:
    """main.go: the package table (each entry keeps that package's sources linked in)."""
    imports = "".join(f'\t{p} "{MODULE}/{p}"\n' for p in packages)
    table = "".join(f'\t"{p}": {p}.Src,\n' for p in packages)
    body = (
        f'package main\n\nimport (\n\t"embed"\n{imports})\n\n// rev {rev}\n'
        f"var packages = map[string]embed.FS{{\n{table}}}\n"
    )
    if broken:
        # A type error, not a syntax error: the compiler, not only the parser, must run.
        body += 'var broken int = "fynecheck: a broken build, fixed by the next step"\n'
    return body.encode()


def package_go(name: str, rev: int) -> bytes:
    return (
        f'package {name}\n\nimport "embed"\n\n//go:embed *.go\nvar Src embed.FS\n\n'
        f"// rev {rev}\n"
    ).encode()


def asset(name: str, rev: int) -> bytes:
    return f"asset {name} rev {rev}\n".encode()


def embedded(path: str) -> bool:
    """Whether the probe embeds `path` (tree-relative): root and package *.go, assets/*."""
    parts = path.split("/")
    name = parts[-1]
    if name.startswith((".", "_")):
        return False  # go:embed and the go tool both skip these
    if len(parts) == 1:
        return name.endswith(".go")
    if parts[0] == ASSETS:
        return True
    return len(parts) == 2 and name.endswith(".go")


def tree_hash(files: Mapping[str, bytes]) -> str:
    """What a probe built from `files` announces (see probe.go's hashTree)."""
    lines = sorted(
        f"{p}\0{hashlib.sha256(data).hexdigest()}\n" for p, data in files.items() if embedded(p)
    )
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def initial_files() -> dict[str, bytes]:
    return {
        "go.mod": GO_MOD,
        "probe.go": PROBE_GO.read_bytes(),
        "main.go": main_go([], 0),
        f"{ASSETS}/greeting.txt": asset("greeting.txt", 0),
    }


# The `go` the reload tool finds first on PATH: the real one, with each build noted in
# builds.log and a lock on builds/ID held while it runs, so the oracle knows when the
# tool is building without asking the tool. While the file `hold` exists, a finished
# build waits for `release` before it exits: an edit made then lands "during the build"
# after the compiler has read the sources, the race air#784 is about. `go run` builds
# and runs in one process: its build ends where go hands the binary to `-exec` (this
# wrapper again), which holds and notes the end before the app runs (go keeps the lock:
# an end line says it is done). A failed `go run` build notes no end; its lock goes with
# the go process. Only builtins run there after the hold: gow signals only the newest
# process under it, which must be the app or the hold's sleep, never a helper.
GO_WRAPPER = r"""#!/bin/sh
# pytest-fynecheck reload oracle: the real go, with its builds noted (see probe.py).
d=$FYNECHECK_RELOAD_DIR
# hold ID: while `hold` exists, wait for `release`. A signal to its sleep fails it, as
# one to a compiler fails a build (gow signals only one descendant of go run).
hold() {
    if [ -e "$d/hold" ]; then
        echo "held $1" >> "$d/builds.log"
        i=0
        while [ ! -e "$d/release" ] && [ "$i" -lt 300 ] && kill -0 "$1" 2>/dev/null; do
            sleep 0.1 || return 1
            i=$((i + 1))
        done
    fi
}
case "$1" in
build | install | run) ;;
__fynecheck_exec)
    # go run's binary is built; go (our parent) waits for it.
    shift
    # Killed while held (the tool restarts go run): its binary must not run now.
    hold "$PPID" || exit 143
    kill -0 "$PPID" 2>/dev/null || exit 143
    echo "end $PPID 0" >> "$d/builds.log"
    exec "$@"
    ;;
*) exec "$FYNECHECK_REAL_GO" "$@" ;;
esac
exec 9> "$d/builds/$$"
flock 9
echo "start $$ $1" >> "$d/builds.log"
if [ "$1" = run ]; then
    shift
    exec "$FYNECHECK_REAL_GO" run -exec "'$d/bin/go' __fynecheck_exec" "$@"
fi
"$FYNECHECK_REAL_GO" "$@"
rc=$?
hold $$ || rc=143
echo "end $$ $rc" >> "$d/builds.log"
exit "$rc"
"""
