"""Built-in watchers, named instead of a command: `--fynecheck-watcher inotifywait`,
`fswatch`, `watchman` (real tools, through the kit's bridge) and `fsnotify` (the kit's
recursive fsnotify watcher, built against the project's own fsnotify version).

`resolve` turns a name into a protocol-v1 command and says what it resolved to; any other
command is left as it is.
"""

from __future__ import annotations

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

from pytest_fynecheck.churn.prims import PLACEHOLDER
from pytest_fynecheck.core import process
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, InputError
from pytest_fynecheck.watcher import bridge
from pytest_fynecheck.watcher.build import REFERENCE_DIR, build_go

FSNOTIFY = "github.com/fsnotify/fsnotify"
# When the project has no go.mod or does not depend on fsnotify: the reference watcher's.
PINNED_FSNOTIFY = "v1.9.0"
# The one list of built-in watchers (tests/test_watcher_builtins.py holds --help, README's
# table, the findings, CI's and the images' packages to it): real tools through the
# bridge (bridge.PACKAGES: name -> Debian package), and those the kit builds itself.
TOOLS = tuple(bridge.PACKAGES)  # inotifywait fswatch watchman
KIT_BUILT = {"fsnotify": "the project's own fsnotify version"}
NAMES = (*TOOLS, *KIT_BUILT)
BRIDGE_NAME = "fynecheck-bridge"  # the bridge's program name in the cache
# (tool, suite) pairs a suite image cannot have: Debian has no package for them there.
UNAVAILABLE = {("watchman", "trixie"): "Debian trixie has no watchman package"}


@dataclasses.dataclass(frozen=True)
class Resolved:
    argv: list[str]  # with {root}
    builtin: str  # "" for a user's own command
    note: str  # what the name became, for the report


def builtin_name(cmd: str | Sequence[str]) -> str:
    argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
    return argv[0] if len(argv) == 1 and argv[0] in NAMES else ""


def resolve(cmd: str | Sequence[str], project: Path, cache: Path) -> Resolved:
    """A built-in name to its command (building what it needs); anything else unchanged."""
    name = builtin_name(cmd)
    if not name:
        argv = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)
        return Resolved(argv, "", "")
    if name == "fsnotify":
        binary, note = fsnotify_watcher(project, cache)
        return Resolved([str(binary), PLACEHOLDER], name, note)
    return Resolved(
        [str(install_bridge(cache)), name, PLACEHOLDER],
        name,
        f"{name} ({bridge.PACKAGES[name]}) through the kit's bridge",
    )


def check_tool(name: str, path: str) -> None:
    """A bridged tool missing on the host is one clear error, before anything runs."""
    if name in TOOLS and shutil.which(name, path=path) is None:
        raise InputError(
            f"built-in watcher {name!r} needs {name} on PATH ({path}); on Debian: "
            f"apt-get install {bridge.PACKAGES[name]}"
        )


def check_suite(name: str, suite: str) -> None:
    why = UNAVAILABLE.get((name, suite))
    if why:
        raise InputError(f"built-in watcher {name!r} cannot run in a {suite} container: {why}")


def install_bridge(cache: Path) -> Path:
    """The bridge script as an executable in the cache (content-keyed), so that a container
    mounts its directory like any kit-built watcher's."""
    body = Path(bridge.__file__).read_bytes()
    layer = Path(process.__file__).read_bytes()  # the bridge imports it from its directory
    key = hashlib.sha256(body + b"\0" + layer).hexdigest()[:16]
    out = cache / "go" / f"bridge-{key}" / BRIDGE_NAME
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    # The layer first: a bridge that is there finds its import there too.
    for name, data in (("fynecheck_process.py", layer), (out.name, body)):
        fd, tmp = tempfile.mkstemp(prefix=".bridge-", dir=out.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, out.parent / name)  # parallel workers never run half a script
    return out


@dataclasses.dataclass(frozen=True)
class FsnotifyVersion:
    version: str
    replace: str  # the right-hand side of a replace directive, or ""
    source: str  # where the version came from, in words


def project_fsnotify(project: Path, cache: Path) -> FsnotifyVersion:
    """The fsnotify the project builds with, from `go list -m -json` (Go's own answer,
    replace directives included); the pinned one when there is none."""
    if _module_root(project) is None:
        return FsnotifyVersion(PINNED_FSNOTIFY, "", f"pinned: no go.mod at or above {project}")
    ctx = Context(project, project, cache, timeout=300)
    # readonly: asking must never rewrite the user's go.mod or go.sum.
    done = ctx.run(["go", "list", "-m", "-json", FSNOTIFY], env={"GOFLAGS": "-mod=readonly"})
    if not done.ok:
        first = done.output.strip().splitlines()[:1]
        return FsnotifyVersion(
            PINNED_FSNOTIFY, "", f"pinned: the project does not build with fsnotify "
            f"(go list -m: {first[0] if first else 'no output'})"
        )
    info = json.loads(done.stdout)
    rep = info.get("Replace") or {}
    if rep:
        target = rep.get("Dir") if not rep.get("Version") else f"{rep['Path']} {rep['Version']}"
        how = f"the project's, replaced by {target} (go list -m)"
        return FsnotifyVersion(info.get("Version", ""), str(target), how)
    return FsnotifyVersion(info["Version"], "", f"the project's, from go list -m in {project}")


def _module_root(start: Path) -> Path | None:
    for d in [start, *start.parents]:
        if (d / "go.mod").is_file():
            return d
    return None


def fsnotify_watcher(project: Path, cache: Path) -> tuple[Path, str]:
    """The reference watcher's source, built against the project's fsnotify."""
    found = project_fsnotify(project, cache)
    label = found.version or "replaced"
    slug = re.sub(r"[^A-Za-z0-9.+-]", "_", label)
    key = hashlib.sha256(
        f"{found.version}\0{found.replace}".encode() + (REFERENCE_DIR / "main.go").read_bytes()
    ).hexdigest()[:12]
    # The directory names the binary: `fsnotify-v1.9.0-<key>` says what it was built with.
    module = cache / "fsnotify-src" / f"fsnotify-{slug}-{key}"
    if not (module / "go.sum").is_file():
        _make_module(module, found, cache)
    note = f"fsnotify {label} ({found.source}), the kit's recursive watcher"
    return build_go(module, cache=cache), note


def _make_module(module: Path, found: FsnotifyVersion, cache: Path) -> None:
    module.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".fsnotify-", dir=module.parent))
    try:
        shutil.copy2(REFERENCE_DIR / "main.go", work / "main.go")
        lines = ["module fynecheck-adapter/fsnotify", "", "go 1.21", ""]
        lines.append(f"require {FSNOTIFY} {found.version or PINNED_FSNOTIFY}")
        if found.replace:
            lines.append(f"replace {FSNOTIFY} => {found.replace}")
        (work / "go.mod").write_text("\n".join(lines) + "\n", encoding="utf-8")
        ctx = Context(work, work, cache, timeout=300)
        # tidy: go.sum, and the x/sys this fsnotify needs (through the module proxy).
        done = ctx.run(["go", "mod", "tidy"], env={"GOFLAGS": "-mod=mod"})
        if not done.ok:
            raise CheckFailed(
                f"preparing the fsnotify watcher against fsnotify {found.version} "
                f"({found.source}) failed:\n{done.output}"
            )
        try:
            os.replace(work, module)
        except OSError:
            if not (module / "go.sum").is_file():  # another worker won: theirs is the same
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


__all__ = ["NAMES", "PINNED_FSNOTIFY", "Resolved", "builtin_name", "resolve"]
