#!/usr/bin/env python3
"""Watcher protocol v1 for real tools nobody here wrote: `bridge.py TOOL ROOT` runs
inotifywait, fswatch or watchman on ROOT and prints what it reports as protocol lines.

Standard library only, Python >= 3.9: in container modes it runs with the suite's own
python3 (bullseye has 3.9), next to the suite's own build of the tool.

The bridge translates and never repairs: an event the tool does not print is not
printed. It says `{"ready": true}` only once the tool reported a file the bridge made
in ROOT (a cookie, as watchman's own tests do), so "ready" means the tool's watch is
really in place, whatever the tool itself claims.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, NoReturn

if TYPE_CHECKING or __package__:
    from pytest_fynecheck.core import process
else:  # a script in the kit's cache (in containers too): the layer is copied next to it
    import fynecheck_process as process

COOKIE = ".fynecheck-cookie-ready-"
READY_TIMEOUT = 30.0
# What each tool needs, and where Debian has it.
PACKAGES = {"inotifywait": "inotify-tools", "fswatch": "fswatch", "watchman": "watchman"}

_out_lock = threading.Lock()
Line = dict[str, object]


def emit(obj: Line) -> None:
    with _out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


# -- inotifywait (inotify-tools) --------------------------------------------------------

INOTIFY_OPS = {
    "CREATE": "create",
    "MODIFY": "write",
    "DELETE": "remove",
    "DELETE_SELF": "remove",
    "MOVED_FROM": "rename",
    "MOVED_TO": "create",  # fsnotify's convention: Rename old, then Create new
    "ATTRIB": "chmod",
}


def inotifywait_argv(root: str, _state: str) -> list[str]:
    events = ["create", "modify", "delete", "delete_self", "move", "attrib"]
    # A tab between the events and the path: the churn's names hold spaces, never tabs.
    argv = ["inotifywait", "-m", "-r", "--format", "%e\t%w%f"]
    for e in events:
        argv += ["-e", e]
    return [*argv, root]


def inotifywait_line(text: str) -> list[Line]:
    flags, sep, path = text.partition("\t")
    if not sep:
        return []
    names = flags.split(",")
    if "Q_OVERFLOW" in names:
        return [{"error": "inotifywait: Q_OVERFLOW, the kernel's inotify queue overflowed"}]
    return [{"op": INOTIFY_OPS[n], "path": path} for n in names if n in INOTIFY_OPS]


# -- fswatch ----------------------------------------------------------------------------

FSWATCH_OPS = {
    "Created": "create",
    "Updated": "write",
    "Removed": "remove",
    "Renamed": "rename",
    "MovedFrom": "rename",
    "MovedTo": "create",
    "AttributeModified": "chmod",
    "OwnerModified": "chmod",
}


def fswatch_argv(root: str, _state: str) -> list[str]:
    # -l: the smallest latency fswatch takes (its default, 1 s, makes every barrier wait).
    return ["fswatch", "-r", "-x", "--event-flag-separator=,", "-l", "0.1", root]


def fswatch_line(text: str) -> list[Line]:
    path, sep, flags = text.rpartition(" ")
    if not sep:
        return []
    names = flags.split(",")
    if "Overflow" in names:
        return [{"error": "fswatch: Overflow, events were lost"}]
    return [{"op": FSWATCH_OPS[n], "path": path} for n in names if n in FSWATCH_OPS]


# -- watchman ---------------------------------------------------------------------------


def watchman_server(state: str) -> list[str]:
    """A private server in the foreground: it shares nothing with the user's own
    watchman, and it ends with the bridge (same process group)."""
    return [
        "watchman", "--foreground", "--no-save-state",
        "--sockname=" + os.path.join(state, "sock"),
        "--statefile=" + os.path.join(state, "state"),
        "--logfile=" + os.path.join(state, "log"),
        "--pidfile=" + os.path.join(state, "pid"),
    ]


def watchman_argv(state: str) -> list[str]:
    """The client, on the private server; -p: stay and print each subscription PDU."""
    return ["watchman", "--sockname=" + os.path.join(state, "sock"), "--no-spawn",
            "--no-pretty", "-p"]


def watchman_request(root: str) -> bytes:
    fields = ["name", "exists", "new"]
    return json.dumps(["subscribe", root, "fynecheck", {"fields": fields}]).encode() + b"\n"


def watchman_objects(obj: object, root: str, started: bool) -> list[Line]:
    """One subscription PDU: watchman reports state (exists, new), not events."""
    if not isinstance(obj, dict):
        return []
    out: list[Line] = []
    for key in ("error", "warning"):
        if key in obj:
            out.append({"error": "watchman: " + str(obj[key])})
    if started and obj.get("is_fresh_instance"):
        # A fresh instance after the first answer means watchman recrawled: it lost track.
        out.append({"error": "watchman: fresh instance (it recrawled and lost events)"})
    for f in obj.get("files") or []:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            continue
        path = os.path.join(root, f["name"])
        if not f.get("exists"):
            out.append({"op": "remove", "path": path})
        else:
            out.append({"op": "create" if f.get("new") else "write", "path": path})
    return out


# -- running ------------------------------------------------------------------------------


class Bridge:
    def __init__(self, tool: str, root: str) -> None:
        self.tool, self.root = tool, os.path.abspath(root)
        self.state = tempfile.mkdtemp(prefix="fynecheck-bridge-")
        self.children: list[process.Child] = []
        self.seen = threading.Condition()
        self.cookie_seen = False
        self.cookie = ""
        self.announced = False
        self.stderr_lines: list[str] = []

    def spawn(self, argv: list[str], stdin: int = process.DEVNULL) -> process.Child:
        # In the bridge's group: when the kit kills that group, the tools die with it.
        p = process.Child(argv, stdin=stdin, own_group=False)
        self.children.append(p)
        assert p.popen.stderr is not None
        threading.Thread(target=self._stderr, args=(p.popen.stderr,), daemon=True).start()
        return p

    def _stderr(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            with self.seen:
                self.stderr_lines.append(text)
                self.seen.notify_all()
            sys.stderr.write(self.tool + ": " + text + "\n")
            sys.stderr.flush()

    def forward(self, lines: list[Line]) -> None:
        for obj in lines:
            path = obj.get("path")
            if isinstance(path, str) and self.cookie and os.path.basename(path) == self.cookie:
                with self.seen:
                    self.cookie_seen = True
                    self.seen.notify_all()
            emit(obj)

    def read_lines(self, stream: IO[bytes], parse: Callable[[str], list[Line]]) -> None:
        for raw in iter(stream.readline, b""):
            self.forward(parse(raw.decode("utf-8", "surrogateescape").rstrip("\n")))

    def read_json(self, stream: IO[bytes]) -> None:
        decoder, buf = json.JSONDecoder(), ""
        for raw in iter(lambda: stream.read1(65536), b""):  # type: ignore[attr-defined]
            buf += raw.decode("utf-8", "surrogateescape")
            while True:
                buf = buf.lstrip()
                if not buf:
                    break
                try:
                    obj, end = decoder.raw_decode(buf)
                except ValueError:
                    break  # half an object: wait for the rest
                buf = buf[end:]
                self.forward(watchman_objects(obj, self.root, self.announced))

    def start(self) -> process.Child:
        if self.tool == "watchman":
            self.spawn(watchman_server(self.state))
            sock = os.path.join(self.state, "sock")
            if not wait(lambda: os.path.exists(sock), 20):
                fail("watchman's server did not create its socket within 20 s")
            try:
                watch = process.run([*watchman_argv(self.state)[:3], "watch", self.root],
                                    timeout=READY_TIMEOUT)
            except process.TimedOut:
                fail(f"watchman watch did not finish within {READY_TIMEOUT:g} s")
            if watch.returncode != 0:
                said = watch.stdout + watch.stderr
                fail("watchman watch failed: " + said.decode("utf-8", "replace"))
            client = self.spawn([*watchman_argv(self.state), "-j"], stdin=process.PIPE)
            stdin, stdout = client.popen.stdin, client.popen.stdout
            assert stdin is not None and stdout is not None
            stdin.write(watchman_request(self.root))
            stdin.close()  # -j reads one command up to the end of its input
            threading.Thread(target=self.read_json, args=(stdout,), daemon=True).start()
            return client
        argv, parse = {"inotifywait": (inotifywait_argv, inotifywait_line),
                       "fswatch": (fswatch_argv, fswatch_line)}[self.tool]
        proc = self.spawn(argv(self.root, self.state))
        assert proc.popen.stdout is not None
        threading.Thread(target=self.read_lines, args=(proc.popen.stdout, parse),
                         daemon=True).start()
        if self.tool == "inotifywait":
            # Its own signal first: before it, a cookie could land before the watch exists.
            with self.seen:
                if not self.seen.wait_for(
                    lambda: any("Watches established" in x for x in self.stderr_lines)
                    or proc.poll() is not None,
                    READY_TIMEOUT,
                ):
                    fail("inotifywait did not print 'Watches established.' within 30 s")
        return proc

    def ready(self, main: process.Child) -> None:
        """Make a cookie in ROOT and say ready once the tool reported it."""
        self.cookie = COOKIE + str(os.getpid())
        path = os.path.join(self.root, self.cookie)
        deadline = time.monotonic() + READY_TIMEOUT
        with open(path, "w") as f:
            f.write("c")
        while True:
            with self.seen:
                if self.seen.wait_for(lambda: self.cookie_seen or main.poll() is not None, 0.2):
                    break
            if time.monotonic() > deadline:
                fail(f"{self.tool} never reported the file {path} within {READY_TIMEOUT:g} s")
            with open(path, "a") as f:  # a tool with latency may have folded the first
                f.write("c")
        if main.poll() is not None:
            fail(f"{self.tool} exited with status {main.returncode}")
        os.unlink(path)
        self.announced = True
        emit({"ready": True})

    def stop(self) -> None:
        for p in self.children:  # all at once: each may take its grace time
            if p.poll() is None:
                p.signal(signal.SIGTERM)
        for p in self.children:
            p.stop(3)
        shutil.rmtree(self.state, ignore_errors=True)


def wait(pred: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def fail(message: str) -> NoReturn:
    sys.stderr.write("fynecheck bridge: " + message + "\n")
    sys.stderr.flush()
    raise SystemExit(1)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in PACKAGES:
        sys.stderr.write(f"usage: bridge.py {{{'|'.join(PACKAGES)}}} ROOT\n")
        return 2
    tool, root = argv
    if shutil.which(tool) is None:
        sys.stderr.write(
            f"fynecheck bridge: {tool} is not installed here (PATH={os.environ.get('PATH', '')}); "
            f"on Debian: apt-get install {PACKAGES[tool]}\n"
        )
        return 2
    if not os.path.isdir(root):
        sys.stderr.write(f"fynecheck bridge: not a directory: {root}\n")
        return 2
    bridge = Bridge(tool, root)

    def on_signal(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        main_proc = bridge.start()
        bridge.ready(main_proc)
        # No timeout: the bridge lives as long as its tool (the kit stops both).
        code: int | None = main_proc.popen.wait()
        # The tool ended on its own: say how (stderr was forwarded as it came).
        sys.stderr.write(f"fynecheck bridge: {tool} exited with status {code}\n")
        return 1
    finally:
        bridge.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


__all__: tuple[str, ...] = ("PACKAGES", "main")
