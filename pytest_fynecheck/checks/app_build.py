"""app.build: the project builds, cached by what Go builds (build_key)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from pytest_fynecheck.checks import Found, Needs, check
from pytest_fynecheck.core.context import CURRENT_CHECK, Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.progress import count
from pytest_fynecheck.toolchain.gobuild import cached_build
from pytest_fynecheck.toolchain.gotool import (
    SOURCE_FIELDS,
    MainPackage,
    go_env,
    json_stream,
    main_package,
    package_deps,
)

# What in `go env` changes the binary.
_ENV_KEYS = (
    "GOVERSION",
    "GOOS",
    "GOARCH",
    "GOAMD64",
    "CGO_ENABLED",
    "CC",
    "CXX",
    "CGO_CFLAGS",
    "CGO_CPPFLAGS",
    "CGO_CXXFLAGS",
    "CGO_LDFLAGS",
    "GOFLAGS",
    "GOEXPERIMENT",
    "GOWORK",
    "PKG_CONFIG",
)


def build_key(ctx: Context, pkg: MainPackage, tags: Sequence[str] | None = None) -> str:
    """A key over what Go builds: toolchain and flags, then every package of
    `go list -deps -json` (module versions from the module cache, which never change;
    the bytes of the files of every other package), go.mod, go.sum and go.work.

    Files Go does not read (reports, caches, `--fynecheck-json` output) do not count.
    `tags`: a build of other tags than the context's (gl.minimum.gles adds gles).
    """
    chosen = ctx.tags if tags is None else tuple(tags)
    h = hashlib.sha256()
    env = go_env(ctx)
    for k in _ENV_KEYS:
        h.update(f"{k}={env.get(k, '')}\n".encode())
    h.update(f"context={ctx.name} tags={','.join(chosen)} package={pkg.import_path}\n".encode())
    done = package_deps(ctx, pkg.pattern, tags=tags)  # project.gomod ran it: memoized
    if not done.ok:
        raise CheckFailed(
            f"`go list -deps {pkg.pattern}` failed: {done.stderr.strip()[-3000:]}",
            _build_hint(done.stderr),
        )
    extra: set[str] = set()
    for dep in json_stream(done.stdout):
        if dep.get("Standard"):
            continue  # GOVERSION covers it
        mod = dep.get("Module") or {}
        rep = mod.get("Replace") or {}
        if mod.get("Version") and not (rep and not rep.get("Version")):
            # A module cache entry is immutable and go.sum-verified: its version is enough.
            h.update(f"{dep['ImportPath']} {mod['Path']}@{mod['Version']}".encode())
            h.update(f" => {rep.get('Path')}@{rep.get('Version')}\n".encode() if rep else b"\n")
            continue
        h.update(f"{dep['ImportPath']}\n".encode())
        pkg_dir = Path(dep["Dir"])
        for field in SOURCE_FIELDS:
            for name in dep.get(field) or []:
                h.update(f"{field} {name}\0".encode(errors="surrogateescape"))
                h.update(hashlib.sha256((pkg_dir / name).read_bytes()).digest())
        gomod = (rep or mod).get("GoMod")
        if gomod:
            extra |= {gomod, str(Path(gomod).with_name("go.sum"))}
    gowork = env.get("GOWORK", "")
    if gowork and gowork != "off":
        extra |= {gowork, gowork + ".sum"}
    for name in sorted(extra):
        path = Path(name)
        h.update(name.encode(errors="surrogateescape") + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"-")
    return h.hexdigest()[:20]


@check(
    "app.build",
    "The app builds",
    hint="run `go build` in the project to see the full error",
    requires=("project.gomod", "cc.works", "pkgconfig.gl", "x11.libs", "wayland.libs"),
    waits=True,  # a doomed cold build would burn minutes
)
def app_build(ctx: Context, needs: Needs) -> Found:
    exe, detail = build_app(ctx, "app")
    return Found(detail, {"binary": str(exe)})  # app.window and glibc run this binary


def build_app(
    ctx: Context, name: str, tags: Sequence[str] | None = None
) -> tuple[Path, str]:
    """The app built for the context's GOOS (`name` is app, or app.exe), cached by build_key;
    with the context's tags, or `tags` (a second build beside app.build's, e.g. -tags gles)."""
    pkg = main_package(ctx)
    chosen = ctx.tags if tags is None else tuple(tags)
    what = f"{pkg.import_path}" + (f" ({pkg.note})" if pkg.note else "")
    built = cached_build(
        ctx,
        ctx.project,
        pkg.pattern,
        name,
        kind="builds",
        key_parts=[build_key(ctx, pkg, tags)],
        tags=chosen,
        progress=CURRENT_CHECK.get() or "app.build",
        hint=_build_hint,
        owner=f"{ctx.name} {pkg.dir} {','.join(chosen)}",
    )
    if built.cached:
        return built.path, f"cached build {built.key} of {what} (what Go builds is unchanged)"
    note = f"; removed {built.pruned} older build(s) of it" if built.pruned else ""
    return built.path, (
        f"built {what} in {built.seconds:.1f} s ({count(built.compiled, 'package')} compiled); "
        f"key {built.key}{note}"
    )


def _build_hint(stderr: str) -> str:
    if "build constraints exclude all Go files" in stderr and "go-gl" in stderr:
        return "cgo is off for this build: set CGO_ENABLED=1 and install gcc"
    if "pkg-config" in stderr:
        return "a C library's .pc file is missing: see the pkgconfig.* checks"
    if "missing go.sum entry" in stderr:
        return "run `go mod tidy`"
    return "run `go build -v` in the project to see the full error"
