"""wasm_exec.js: the JavaScript half of Go's js/wasm port, which must come from the Go
that built the .wasm (its syscall/js imports change between releases).

Go >= 1.24 keeps it in GOROOT/lib/wasm, older Go in GOROOT/misc/wasm; the toolchains
`GOTOOLCHAIN` downloads as modules before 1.24 have no misc/ at all. Files are read
through the context (`cat`), so a suite container's GOROOT is the one asked.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.toolchain.gotool import go_env, json_stream, version_tuple

NAME = "wasm_exec.js"
_NEW = Path("lib/wasm") / NAME  # Go >= 1.24
_OLD = Path("misc/wasm") / NAME


def candidates(goroot: Path, version: str) -> list[Path]:
    """Where a GOROOT of `version` keeps wasm_exec.js, its own place first."""
    try:
        new = version_tuple(version) >= (1, 24, 0)
    except ValueError:
        new = True  # a devel build: today's layout
    return [goroot / p for p in ((_NEW, _OLD) if new else (_OLD, _NEW))]


def find_wasm_exec(ctx: Context, env: dict[str, str] | None = None) -> Path:
    """The context's GOROOT's wasm_exec.js (with `env`: the Go those variables pick)."""
    goenv = go_env(ctx) if env is None else _go_env(ctx, env)
    goroot = Path(goenv.get("GOROOT", ""))
    version = goenv.get("GOVERSION", "")
    looked = candidates(goroot, version)
    for path in looked:
        if ctx.run(["test", "-f", str(path)], timeout=60).ok:
            return path
    raise CheckFailed(
        f"{version} at GOROOT {goroot} has no {NAME}: looked in "
        + " and ".join(str(p) for p in looked),
        f"install Go from https://go.dev/dl/ (its archive has {NAME}; toolchains that "
        "GOTOOLCHAIN downloads before Go 1.24 do not), or copy the file of the same Go "
        f"version to {looked[0]}",
    )


def compare_wasm_exec(ctx: Context, site: Path) -> str:
    """The site's wasm_exec.js is byte for byte the one of the Go that built its .wasm."""
    # The probe reads the .wasm's Go version (`go version -m` cannot); loaded on use.
    from pytest_fynecheck.drift.check import read_buildinfo

    served = site / NAME
    wasms = sorted(
        Path(p) for p in _lines(ctx, ["sh", "-c", 'ls -1d "$1"/*.wasm 2>/dev/null || true',
                                     "sh", str(site)])
    )
    if not wasms:
        raise CheckFailed(f"{site} holds no .wasm file", "run web.build again")
    if len(wasms) > 1:
        raise CheckFailed(
            f"{site} holds {len(wasms)} .wasm files ({', '.join(p.name for p in wasms)}): "
            "which one the page loads is not known",
            "keep one .wasm in the site directory",
        )
    wasm = wasms[0]
    built_by = read_buildinfo(ctx, wasm).go_version
    here = go_env(ctx).get("GOVERSION", "")
    if built_by == here:
        reference = find_wasm_exec(ctx)
    else:  # e.g. a fyne CLI built with another Go: ask that Go, offline
        reference = find_wasm_exec(ctx, {"GOTOOLCHAIN": built_by, "GOPROXY": "off"})
    got = _read(ctx, served, f"the site's {NAME}")
    want = _read(ctx, reference, f"{built_by}'s {NAME}")
    if got != want:
        raise CheckFailed(
            f"{served} ({_shown(got)}) is not the {NAME} of {built_by}, which built "
            f"{wasm.name}: that is {reference} ({_shown(want)}); the page's Go runtime glue "
            f"and the .wasm disagree (this context's Go is {here})",
            f"copy the right file: cp {reference} {served}",
        )
    return f"{served} is {built_by}'s {NAME} ({reference}), the Go that built {wasm.name}"


def _go_env(ctx: Context, env: dict[str, str]) -> dict[str, str]:
    done = ctx.run(["go", "env", "-json", "GOROOT", "GOVERSION"], env=env, timeout=120)
    found = json_stream(done.stdout) if done.ok else []
    if not found:
        shown = " ".join(f"{k}={v}" for k, v in env.items())
        raise CheckFailed(
            f"`{shown} go env GOROOT` failed, so the {NAME} of that Go cannot be read: "
            f"{done.output[-1500:]}",
            "download that toolchain once (`GOTOOLCHAIN=VERSION go version` with network "
            "access), or build the .wasm with this context's Go",
        )
    return {k: str(v) for k, v in found[0].items()}


def _read(ctx: Context, path: Path, what: str) -> bytes:
    done = ctx.run(["cat", str(path)], timeout=60)
    if not done.ok:
        raise CheckFailed(f"cannot read {what} at {path}: {done.output[-500:]}",
                          "run web.build again")
    return done.raw


def _lines(ctx: Context, argv: list[str]) -> list[str]:
    return [ln for ln in ctx.run(argv, timeout=60).stdout.splitlines() if ln.strip()]


def _shown(data: bytes) -> str:
    return f"{len(data)} B sha256 {hashlib.sha256(data).hexdigest()[:12]}"
