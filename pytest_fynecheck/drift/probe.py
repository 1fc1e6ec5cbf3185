"""The Go probe that reads a binary without running it (build info, embed tables, bundles).

Go is the honest tool here: `debug/buildinfo` is what `go version -m` uses, and
`debug/elf|pe|macho` and `go/parser` are the reference readers. A .wasm has no block
`go version -m` can read (Go's wasm linker leaves it out): the probe reads the same facts
from its data segments and producers section (see the probe's comment). The probe is built
once per probe source and Go toolchain into the kit's one cached Go build (gobuild).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, InputError
from pytest_fynecheck.toolchain.gobuild import cached_build, go_sources

PROBE = "driftprobe"


def _source_dir() -> Path:
    return Path(str(resources.files("pytest_fynecheck") / "probes" / PROBE))


def probe_path(ctx: Context) -> Path:
    """The built probe; builds it on first use (seconds, no cgo)."""

    def compute() -> Path:
        parts = go_sources(_source_dir(), _source_dir())
        src = _sources_in_cache(ctx, parts)
        return cached_build(
            ctx,
            src,
            ".",
            PROBE,
            kind="go",
            key_parts=parts,
            # Built for where it runs: a cross context's GOOS/GOARCH (js/wasm) is the
            # app's target, not the probe's ("" is Go's own default).
            env={"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false", "GOWORK": "off",
                 "GOOS": "", "GOARCH": ""},
            hint=lambda _err: "this is a pytest-fynecheck bug or a broken Go install; "
            "report it with this text",
            timeout=300,
        ).path

    path: Path = ctx.memoize("drift probe", compute)
    return path


def _sources_in_cache(ctx: Context, parts: list[bytes]) -> Path:
    """The probe's sources copied into the context's cache, where the context can build
    them: a suite container mounts the kit's cache, not the installed package. Named by
    their content; copied aside and renamed, so a racing run finds all of them or none."""
    digest = hashlib.sha256(b"".join(parts)).hexdigest()[:16]
    where = ctx.cache / "sources" / f"{PROBE}-{digest}"
    if not (where / "main.go").is_file():
        tmp = where.with_name(f".{where.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        src = _source_dir()
        for path in [src / "go.mod", src / "go.sum", *src.glob("*.go")]:  # as go_sources
            if path.is_file():
                shutil.copy(path, tmp / path.name)
        try:
            tmp.rename(where)
        except OSError:  # another run's copy is there: the same bytes
            shutil.rmtree(tmp, ignore_errors=True)
    return where


def inspect(
    ctx: Context, binary: Path, request: dict[str, Any], symbols: bool = False
) -> dict[str, Any]:
    """Build info and embed tables of `binary`; bad binaries raise InputError.

    `symbols` names each table by its symbol when the binary has a symbol table
    (costs a symbol table read; the check itself does not need it).
    """
    if not binary.exists():
        raise InputError(f"{binary}: no such file (the binary to check for drift)")
    if not binary.is_file():
        raise InputError(f"{binary} is not a file (the binary to check for drift)")
    # One file per call: web.serve and web.drift inspect the same .wasm at once, and a
    # name from the pid and binary alone was removed under the other's feet.
    fd, name = tempfile.mkstemp(prefix="drift-request-", suffix=".json", dir=ctx.scratch)
    req = Path(name)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(request))
    try:
        data = _run(ctx, ["inspect", str(binary), str(req), *(["-symbols"] if symbols else [])])
    finally:
        req.unlink(missing_ok=True)
    err = data.get("error")
    if err:
        raise InputError(_input_message(binary, err["kind"], err["message"]))
    return data


def bundle(ctx: Context, gofile: Path) -> list[dict[str, Any]]:
    """The fyne.StaticResource values declared in one Go file."""
    data = _run(ctx, ["bundle", str(gofile)])
    if data.get("error"):
        raise CheckFailed(f"{gofile}: {data['error']['message']}", "fix the Go file")
    found: list[dict[str, Any]] = data["resources"]
    return found


def _run(ctx: Context, args: list[str]) -> dict[str, Any]:
    done = ctx.run([str(probe_path(ctx)), *args], timeout=120)
    try:
        data: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise CheckFailed(
            f"the drift probe failed (exit {done.returncode}): {done.output[-2000:]}",
            "this is a pytest-fynecheck bug; report it with this text",
        ) from None
    return data


def _input_message(binary: Path, kind: str, message: str) -> str:
    size = binary.stat().st_size
    message = message.removeprefix(f"{binary}: ")
    if kind == "corrupt" and "not a Go executable" in message:
        message = "its Go build info block is there but damaged"
    if kind == "not-executable":
        return f"{binary} is not an executable (not ELF, PE, Mach-O or WebAssembly; {size} bytes)"
    if kind == "not-go":
        return f"{binary} is not a Go program: it has no Go build info ({message})"
    if kind == "corrupt":
        return (
            f"{binary} is truncated or corrupt ({size} bytes): {message}; "
            "rebuild it, or copy it again in full"
        )
    if kind == "newer-go":
        return f"{message}; install that Go version (or newer) on this host to check it"
    return f"{binary}: {message}"
