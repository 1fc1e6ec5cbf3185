"""The file operations churn is made of, and an agent that applies them elsewhere.

Standard library only, Python >= 3.9: container modes run this file as a script with
the suite's own python3 (bullseye has 3.9), so churn inside a container is the same
code as churn on the host.

Agent protocol, one JSON line each way per request:
  in:  {"root": "/abs/dir", "prims": [{"verb", "path", "data" (base64), "dest", "mode"}]}
       or {"signal": 15, "group": PGID} (stopping a watcher without a `docker exec` each)
  out: {"ok": true}  or  {"error": "what failed"}
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
from typing import TextIO


def apply(
    root: str, verb: str, path: str, data: bytes = b"", dest: str = "", mode: int = 0
) -> None:
    """One file-system call under `root`; `path` and `dest` are relative, '/'-separated."""
    full = os.path.join(root, path)
    if verb in ("write", "append"):
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if verb == "append" else os.O_TRUNC)
        fd = os.open(full, flags, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    elif verb == "truncate":
        os.truncate(full, 0)
    elif verb == "rename":
        os.rename(full, os.path.join(root, dest))
    elif verb == "remove":
        os.unlink(full)
    elif verb == "mkdir":
        os.mkdir(full)
    elif verb == "rmtree":
        _rmtree(full)
    elif verb == "chmod":
        os.chmod(full, mode)
    elif verb == "symlink":
        os.symlink(dest, full)
    else:
        raise ValueError(f"unknown primitive {verb!r}")


def _rmtree(path: str) -> None:
    # Depth first, like `rm -r`: each entry is its own unlink the watcher may report.
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            _rmtree(entry.path)
        else:
            os.unlink(entry.path)
    os.rmdir(path)


def serve(src: TextIO, dst: TextIO) -> None:
    """Apply each request line from `src`; answer each on `dst`."""
    for line in src:
        try:
            req = json.loads(line)
            if "signal" in req:
                with contextlib.suppress(ProcessLookupError):  # gone: what stopping wanted
                    os.killpg(int(req["group"]), int(req["signal"]))
            for p in req.get("prims", ()):
                data = base64.b64decode(p.get("data", ""))
                apply(req["root"], p["verb"], p["path"], data, p.get("dest", ""), p.get("mode", 0))
            reply: dict[str, object] = {"ok": True}
        except Exception as exc:  # every failure goes back to the harness, named
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        dst.write(json.dumps(reply) + "\n")
        dst.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
