"""Go programs the watcher harness runs, built once per content into the kit's cache."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from pytest_fynecheck.context import Context
from pytest_fynecheck.model import CheckFailed

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "probes" / "watcher"


def _fingerprint(module: Path, package: Path, goversion: str) -> str:
    digest = hashlib.sha256(goversion.encode())
    for path in [module / "go.mod", module / "go.sum", *sorted(package.glob("*.go"))]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _toolchain(ctx: Context) -> str:
    """Which Go would build, without running it: a cache hit must not wait on `go env`
    (it can take seconds on a loaded machine)."""
    go = os.path.realpath(ctx.require("go"))
    st = os.stat(go)
    env = ctx.env()
    parts = [go, str(st.st_mtime_ns), str(st.st_size)]
    parts += [f"{k}={env.get(k, '')}" for k in ("GOOS", "GOARCH", "GOTOOLCHAIN")]
    parts.append("static")  # binaries built before CGO_ENABLED=0 was forced are not reused
    return "\n".join(parts)


def build_go(module: Path, package: str = ".", *, cache: Path, timeout: float = 300.0) -> Path:
    """Build `module/package` to `cache/go/<name>-<hash>/<name>`; reuse it when it exists.

    The key covers go.mod, go.sum, the package's sources and the Go version, so an edit
    rebuilds and a repeat run does not.
    """
    module = module.resolve()
    pkg_dir = (module / package).resolve()
    name = pkg_dir.name
    ctx = Context(module, module, cache, timeout=timeout)
    out_dir = cache / "go" / f"{name}-{_fingerprint(module, pkg_dir, _toolchain(ctx))}"
    binary = out_dir / name
    if binary.is_file():
        return binary
    out_dir.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename: parallel workers never see half a binary.
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=out_dir)
    os.close(fd)
    try:
        done = ctx.run(
            ["go", "build", "-o", tmp, "./" + os.path.relpath(pkg_dir, module)],
            # Static (no cgo): the same binary runs on the host and in every suite container.
            env={"GOFLAGS": "-mod=readonly -buildvcs=false", "CGO_ENABLED": "0"},
        )
        if not done.ok:
            raise CheckFailed(f"building {pkg_dir} failed:\n{done.output}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, binary)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return binary


def reference_watcher(cache: Path) -> Path:
    """The kit's own fsnotify watcher (probes/watcher), built for this machine."""
    return build_go(REFERENCE_DIR, cache=cache)
