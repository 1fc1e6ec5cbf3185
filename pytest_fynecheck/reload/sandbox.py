"""One example's world: a probe tree, the control directory the probe and the `go`
wrapper report into, and what the oracle reads there.

Liveness is a lock, not a pid: every probe keeps its announcement file locked, every
build holds a lock on builds/ID, and the kernel drops a lock when its holder dies. That
works the same when the tool runs in a container and its pids mean nothing here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from pytest_fynecheck.churn.prims import PLACEHOLDER, LocalFilesystem, Prim
from pytest_fynecheck.reload import probe
from pytest_fynecheck.reload.churn import Action, ProbeTree, state_label, track

POLL = 0.05


@dataclasses.dataclass(frozen=True)
class ProbeInfo:
    name: str
    pid: int
    hash: str
    port: str
    bound: bool
    error: str
    started_ns: int
    alive: bool

    @property
    def starting(self) -> bool:
        """Alive, and not yet listening (nor given up)."""
        return self.alive and not self.bound and not self.error


def locked(path: Path) -> bool:
    """Whether some live process holds a lock on `path`."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops our own lock, if we got it
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Sandbox:
    """base/tree (the project the tool reloads) and base/ctl (what it reports into)."""

    def __init__(self, parent: Path | None = None) -> None:
        made = tempfile.mkdtemp(prefix="fynecheck-reload-", dir=parent)
        self.base = Path(os.path.realpath(made))
        self.tree = self.base / "tree"
        self.ctl = self.base / "ctl"
        for d in (self.tree, self.ctl / "probes", self.ctl / "builds", self.ctl / "bin"):
            d.mkdir(parents=True)
        wrapper = self.ctl / "bin" / "go"
        wrapper.write_text(probe.GO_WRAPPER, encoding="utf-8")
        wrapper.chmod(0o755)
        (self.ctl / "builds.log").touch()
        self.port = free_port()
        self._mark = 0  # builds.log lines when the last hold began
        self.fs = LocalFilesystem(self.tree)
        self.model = ProbeTree()
        self.fs.apply(initial_prims(self.model.files))
        # What is on disk (the churn's own files), and its hash after every write: a
        # stale app names the state it was built from, mid-step ones too.
        self.disk = dict(self.model.files)
        self.history: list[tuple[str, str]] = [("at the start", self.model.hash())]
        self.states: dict[str, dict[str, bytes]] = {self.model.hash(): dict(self.disk)}

    def env(self, real_go: str, path: str) -> dict[str, str]:
        """What the tool runs with: our `go` first on PATH, the probe's settings."""
        return {
            "PATH": f"{self.ctl / 'bin'}:{path}",
            "FYNECHECK_REAL_GO": real_go,
            "FYNECHECK_RELOAD_DIR": str(self.ctl),
            "FYNECHECK_PROBE_PORT": str(self.port),
            "CGO_ENABLED": "0",  # the probe has no cgo: builds stay fast
        }

    def argv(self, template: Sequence[str]) -> list[str]:
        """The tool's command with `{root}` replaced by this tree (it runs in the tree)."""
        return [a.replace(PLACEHOLDER, str(self.tree)) for a in template]

    # -- acting ------------------------------------------------------------------------

    def apply(self, actions: Sequence[Action], step: int = 0, label: str = "") -> list[str]:
        """Run a step's actions; returns notes on waits that timed out."""
        notes: list[str] = []
        begun = len(self.builds())  # a build the step's edits start may end before its await
        for a in actions:
            if a.kind == "fs":
                assert a.prim is not None
                self.fs.apply([a.prim])
                self._track(a.prim, step, label)
            elif a.kind == "pause":
                time.sleep(a.seconds)
            elif a.kind == "hold":
                # A build held from now on counts, even one that started before.
                self._mark = len(self.builds())
                (self.ctl / "release").unlink(missing_ok=True)
                (self.ctl / "hold").touch()
            elif a.kind == "release":
                (self.ctl / "hold").unlink(missing_ok=True)
                (self.ctl / "release").touch()
            elif a.kind in ("await_held", "await_build"):
                word = "held" if a.kind == "await_held" else "end"
                mark = self._mark if word == "held" else begun
                if not self._await(word, mark, a.seconds):
                    notes.append(f"no build {'was held' if word == 'held' else 'ended'} "
                                 f"within {a.seconds:g} s")
            else:
                raise ValueError(f"unknown action {a.kind!r}")
        return notes

    def _track(self, p: Prim, step: int, label: str) -> None:
        track(self.disk, p)
        h = probe.tree_hash(self.disk)
        if h != self.history[-1][1]:  # e.g. an editor's temporary: nothing embedded changed
            self.history.append((state_label(step, label, p), h))
        self.states.setdefault(h, dict(self.disk))

    def _await(self, word: str, mark: int, seconds: float) -> bool:
        """Until builds.log has a `word` line past its first `mark` lines (for `end`,
        a build started there and no longer running counts: a failed `go run` notes
        no end)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            lines = self.builds()[mark:]
            if any(line[0] == word for line in lines):
                return True
            if word == "end" and any(line[0] == "start" and not self.building(line[1])
                                     for line in lines):
                return True
            time.sleep(POLL)
        return False

    def building(self, build_id: str) -> bool:
        """Whether the build noted as `build_id` still runs: its lock is held and no end
        noted (go run holds it while its app runs)."""
        ended = any(line[:2] == ["end", build_id] for line in self.builds())
        return not ended and locked(self.ctl / "builds" / build_id)

    # -- observing ---------------------------------------------------------------------

    def builds(self) -> list[list[str]]:
        text = (self.ctl / "builds.log").read_text(encoding="utf-8", errors="replace")
        return [line.split() for line in text.splitlines() if line.strip()]

    def busy(self) -> bool:
        """A build runs, or an app is still starting."""
        ended = {line[1] for line in self.builds() if line[0] == "end"}
        builds = any(locked(p) for p in (self.ctl / "builds").iterdir() if p.name not in ended)
        return builds or any(p.starting for p in self.probes())

    def probes(self) -> list[ProbeInfo]:
        out = []
        for path in sorted((self.ctl / "probes").glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # renamed into place only when written: a vanished file
            err = path.with_name(path.name + ".err")
            out.append(
                ProbeInfo(
                    path.name, int(data.get("pid", 0)), str(data.get("hash", "")),
                    str(data.get("port", "")), path.with_name(path.name + ".bound").exists(),
                    err.read_text(errors="replace") if err.exists() else "",
                    int(data.get("started_ns", 0)), locked(path),
                )
            )
        return sorted(out, key=lambda p: p.started_ns)

    def activity(self) -> tuple[int, int]:
        """Changes whenever a build starts or ends or a probe starts."""
        log = (self.ctl / "builds.log").stat().st_size
        return log, len(list((self.ctl / "probes").iterdir()))

    # -- ending ------------------------------------------------------------------------

    def stop_probes(self, timeout: float = 5.0, kill_local: bool = True) -> list[ProbeInfo]:
        """Flip the probes' stop switch; the ones still alive after `timeout` are
        returned (and, when their pids are ours, killed)."""
        (self.ctl / "stop").touch()
        deadline = time.monotonic() + timeout
        while True:
            alive = [p for p in self.probes() if p.alive]
            if not alive or time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        if kill_local:
            for p in alive:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(p.pid, signal.SIGKILL)
        return alive

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def initial_prims(files: dict[str, bytes]) -> list[Prim]:
    dirs = sorted({os.path.dirname(p) for p in files} - {""})
    return [*(Prim("mkdir", d) for d in dirs), *(Prim("write", p, files[p]) for p in sorted(files))]


__all__ = ["ProbeInfo", "Sandbox", "locked"]
