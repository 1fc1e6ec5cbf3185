"""Go itself, its environment, cgo, and the project's go.mod."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from pytest_fynecheck.checks import NATIVE, TARGETS, Needs, check
from pytest_fynecheck.core.context import TOOL_HINTS, Completed, Context
from pytest_fynecheck.core.model import CheckFailed, CheckWarning
from pytest_fynecheck.core.progress import count
from pytest_fynecheck.toolchain.gotool import (
    FYNE_MODULE,
    dedupe_errors,
    go_env,
    go_mod,
    go_project,
    json_stream,
    list_module,
    listing_inputs,
    main_package,
    mod_flag,
    package_deps,
    path_hint,
    proxy_refusal,
    setup_hint,
    stable_go_env,
    tag_args,
    version_tuple,
)
from pytest_fynecheck.toolchain.probecache import Reused, reused_run
from pytest_fynecheck.web.excluded import only_exclusions

# Fyne's own go.mod says `go 1.19` from v2.5 to v2.7: the floor when the module is not resolved.
FYNE_DOCUMENTED_MIN_GO = "1.19"


@check(
    "go.version",
    "Go version",
    hint="install a newer Go (https://go.dev/dl/)",
    targets=TARGETS,
)
def go_version(ctx: Context, needs: Needs) -> str:
    have = go_env(ctx)["GOVERSION"]
    pinned = ctx.settings.go_toolchain  # a matrix cell's --fynecheck-go toolchain
    if pinned and have != pinned:
        raise CheckFailed(
            f"this cell asks for {pinned} (GOTOOLCHAIN={pinned}) but `go env` reports {have}",
            f"the {ctx.name} context does not pass GOTOOLCHAIN on to go: a pytest-fynecheck bug",
        )
    minimums: list[tuple[str, str]] = []
    try:
        fyne = list_module(ctx, FYNE_MODULE)
        minimums.append((_module_named(fyne), fyne.get("GoVersion", "")))
    except CheckFailed as exc:
        if "requires go >=" in exc.detail:
            # The toolchain itself refuses the project's go line: say it in Go's words too.
            refusal = next(ln for ln in exc.detail.splitlines() if "requires go >=" in ln)
            want = ""
            with contextlib.suppress(CheckFailed):
                want = go_mod(ctx).get("Go", "")
            raise CheckFailed(
                f"{have} is older than go {want}, which the project's go directive needs; "
                f"go itself says: {refusal.split('failed: ')[-1].strip()}",
                f"{pinned} is below the go directive, the module's minimum: drop it from "
                "--fynecheck-go, or lower the go line if you mean to support it"
                if pinned
                else f"install Go >= {want} (https://go.dev/dl/), or set GOTOOLCHAIN=auto so "
                "Go fetches the toolchain go.mod asks for",
            ) from None
        minimums.append(("Fyne's documented minimum", FYNE_DOCUMENTED_MIN_GO))
    with contextlib.suppress(CheckFailed):  # project.gomod reports it
        minimums.append(("the project's go directive", go_mod(ctx).get("Go", "")))
    parts = []
    for who, want in minimums:
        if not want:
            continue
        if version_tuple(have) < version_tuple(want):
            raise CheckFailed(
                f"{have} is older than go {want}, which {who} needs",
                f"install Go >= {want} (https://go.dev/dl/), or set GOTOOLCHAIN=auto so Go "
                "fetches the toolchain go.mod asks for",
            )
        parts.append(f"{who} needs go {want}")
    return f"{have} at {go_env(ctx)['GOROOT']}; " + "; ".join(parts)


def _gomod_hint(err: str) -> str:
    if "requires go >=" in err:
        return "the Go toolchain is older than go.mod's go line: see go.version"
    if "inconsistent vendoring" in err:
        return "run `go mod vendor` to bring vendor/ in line with go.mod"
    if "go.sum" in err:
        return "run `go mod tidy` (or `go mod download`) so go.sum covers the build"
    return "run `go mod tidy`"


def _module_named(mod: dict[str, Any]) -> str:
    """A module as `go list -m -json` resolves it: its version, what replaces it, or that
    it is the main module (e.g. Fyne's own cmd/fyne_demo, which has no version)."""
    name = f"{mod['Path']} " + (
        mod["Version"] if mod.get("Version") else "(the main module)" if mod.get("Main")
        else "(no version)"
    )
    if rep := mod.get("Replace"):
        name += f" => {rep['Path']}" + (f" {rep['Version']}" if rep.get("Version") else "")
    return name


def _proxy_off(goproxy: str) -> bool:
    return goproxy.strip() == "off"


@check(
    "go.env",
    "Go environment",
    hint="see `go help environment`",
    targets=TARGETS,
)
def go_environment(ctx: Context, needs: Needs) -> str:
    env = go_env(ctx)
    shown = ", ".join(
        f"{k}={env.get(k, '')!s}" for k in ("GOPROXY", "GOSUMDB", "GOFLAGS", "GOTOOLCHAIN")
    )
    cache = _module_cache(ctx)
    if cache.missing and _proxy_off(env.get("GOPROXY", "")):
        raise CheckFailed(
            f"GOPROXY=off and {count(len(cache.missing), 'module')} that {cache.scope} "
            f"needs {'is' if len(cache.missing) == 1 else 'are'} not in the module cache "
            f"({env.get('GOMODCACHE')}): " + ", ".join(cache.missing),
            "unset GOPROXY (or set GOPROXY=https://proxy.golang.org,direct) and run "
            "`go mod download` once with network access",
        )
    note = f"; {cache.note}"
    if env.get("GOSUMDB", "") == "off":
        raise CheckWarning(
            f"{shown}{note}; GOSUMDB=off",
            "GOSUMDB=off only skips the checksum database for modules not yet in go.sum; "
            "go.sum is still verified. Set GOSUMDB=sum.golang.org unless you mirror modules.",
        )
    return shown + note


@dataclasses.dataclass(frozen=True)
class _ModuleCache:
    """What the build's package listing, with the network off, says about the cache."""

    scope: str  # what was listed, in words
    missing: list[str]  # MODULE@VERSION the listing needs and the cache lacks
    note: str  # what was checked, for the detail


# Go's words for a module it would have to fetch (GOPROXY=off is set for the listing).
_LOOKUP_OFF = "module lookup disabled by GOPROXY=off"


def _module_cache(ctx: Context) -> _ModuleCache:
    """Asks Go which packages the build needs (`go list -deps` of the main package, with
    the context's GOOS/GOARCH and tags), with the network off: a module the build never
    imports (a wasm-only one of Fyne's graph) is not asked for."""
    try:
        pkg = main_package(ctx)
        pattern, cwd, scope = pkg.pattern, ctx.project, f"the main package {pkg.import_path}"
    except CheckFailed:
        try:  # app.build says why there is no main package; the module's packages then
            root = Path(go_mod(ctx)["_GoMod"]).parent
        except CheckFailed:  # project.gomod reports it
            return _ModuleCache("", [], "modules not checked: go.mod does not load")
        pattern, cwd, scope = "./...", root, f"the packages of {root}"
    env = go_env(ctx)
    target = f"{env.get('GOOS')}/{env.get('GOARCH')}" + (
        f" with tags {','.join(ctx.tags)}" if ctx.tags else ""
    )
    mode = mod_flag(ctx)
    argv = ["go", "list", mode, "-e", "-deps",
            "-json=ImportPath,Dir,Module,Standard,EmbedFiles,Error", *tag_args(ctx), pattern]
    # Kept (probecache) only when every package listed without error: the module cache's
    # package directories and .mod files are among its inputs, so a module removed from
    # the cache lists again.
    done = reused_run(
        ctx, "go-list-offline", argv, key=[json.dumps(stable_go_env(ctx), sort_keys=True)],
        inputs=lambda listed: _complete_inputs(ctx, listed), cwd=cwd, env={"GOPROXY": "off"},
        timeout=300,
    )
    try:
        packages = json_stream(done.stdout)
    except ValueError:
        packages = []
    # An unpruned module graph (go.mod older than go 1.17) is loaded first: Go then names
    # the modules on stderr.
    missing = set(re.findall(r"^go: (\S+@\S+): " + re.escape(_LOOKUP_OFF), done.stderr, re.M))
    lacking = [p["ImportPath"] for p in packages
               if _LOOKUP_OFF in (p.get("Error") or {}).get("Err", "")]
    if lacking:
        missing |= set(_providers(ctx, lacking, cwd, mode))
    if missing:
        return _ModuleCache(
            scope, sorted(missing),
            f"{count(len(missing), 'module')} that {scope} needs for {target} "
            f"{'is' if len(missing) == 1 else 'are'} not cached yet: the first build "
            "downloads them",
        )
    shown = " ".join(argv[:3] + argv[4:])
    if not done.ok or not packages:
        said = dedupe_errors(done.stderr).splitlines()[:1] or ["no output"]
        return _ModuleCache(
            scope, [], f"modules not checked: `{shown}` failed: {said[0]}"
        )
    others = [p for p in packages if p.get("Error")]
    if others:  # not the cache's: a missing go.sum line, cgo off, ... (other checks say)
        first = others[0]
        return _ModuleCache(
            scope, [],
            f"modules not all checked: `{shown}` for {target} reports "
            f"{first['ImportPath']}: {first['Error'].get('Err', '').splitlines()[0]}",
        )
    if mode == "-mod=vendor":
        return _ModuleCache(scope, [], f"{scope} builds from vendor/ for {target}")
    modules = {
        f"{m['Path']}@{m.get('Version', '')}"
        for p in packages
        if (m := p.get("Module")) and not m.get("Main")
    }
    reused = f", {done.note()}" if isinstance(done, Reused) else ""
    return _ModuleCache(
        scope, [],
        f"the {count(len(modules), 'module')} that {scope} needs for {target} "
        f"{'is' if len(modules) == 1 else 'are'} in the module cache "
        f"(`{shown}` with GOPROXY=off{reused})",
    )


def _complete_inputs(ctx: Context, done: Completed) -> list[str] | None:
    """The listing's inputs when it is whole: no package with an error, nothing on stderr."""
    try:
        packages = json_stream(done.stdout)
    except ValueError:
        return None
    if done.stderr.strip() or not packages or any(p.get("Error") for p in packages):
        return None
    return listing_inputs(ctx, done)


def _providers(ctx: Context, imports: list[str], cwd: Path, mode: str) -> list[str]:
    """MODULE@VERSION of the build list that provides each import path (the longest
    module path that prefixes it, as Go resolves it); the path itself when none does."""
    done = ctx.run(
        ["go", "list", mode, "-m", "-e", "-f", "{{.Path}} {{.Version}}", "all"],
        cwd=cwd, env={"GOPROXY": "off"}, timeout=120,
    )
    build_list = dict(
        line.split(" ", 1) for line in done.stdout.splitlines() if " " in line.strip()
    )
    out = []
    for path in imports:
        owners = [m for m in build_list if path == m or path.startswith(m + "/")]
        if owners:
            module = max(owners, key=len)
            out.append(f"{module}@{build_list[module]}")
        else:
            out.append(f"{path} (no module of the build list provides it)")
    return out


@check(
    "cgo.enabled",
    "cgo enabled",
    hint="set CGO_ENABLED=1 and install a C compiler (Debian: apt-get install gcc libc6-dev)",
    targets=NATIVE,  # js/wasm has no cgo
)
def cgo_enabled(ctx: Context, needs: Needs) -> str:
    env = go_env(ctx)
    cc = env.get("CC") or "gcc"
    if env.get("CGO_ENABLED") == "1":
        return f"CGO_ENABLED=1, CC={cc} ({ctx.which(cc.split()[0]) or 'not on PATH'})"
    if ctx.environ.get("CGO_ENABLED") == "0":
        why = "CGO_ENABLED=0 is set in the environment"
        fix = "unset CGO_ENABLED (or set CGO_ENABLED=1); Fyne cannot build without cgo"
    elif ctx.which(cc.split()[0]) is None:
        why = f"Go turned cgo off by itself because the C compiler `{cc}` is not on PATH"
        # A cross compiler (e.g. mingw-w64 for GOOS=windows) has its own package.
        install = TOOL_HINTS.get(
            cc.split()[0], "install a C compiler (Debian: apt-get install gcc libc6-dev)"
        )
        fix = f"{install} or point CC at one; Go then enables cgo again"
    else:
        why = "CGO_ENABLED=0 comes from `go env -w` (see `go env GOENV`)"
        fix = "run `go env -u CGO_ENABLED`"
    raise CheckFailed(
        f"{why}; a Fyne build then stops with 'build constraints exclude all Go files in "
        "…/go-gl/gl/…'",
        fix,
    )


@check(
    "project.gomod",
    "Project go.mod",
    hint="run `go mod tidy` in the project",
    targets=TARGETS,
)
def project_gomod(ctx: Context, needs: Needs) -> str:
    mod = go_mod(ctx)
    path = mod["Module"]["Path"]
    gomod = Path(mod["_GoMod"])
    root = gomod.parent
    fyne = [r for r in mod.get("Require") or [] if r["Path"] == FYNE_MODULE]
    if path == FYNE_MODULE:
        fyne = [{"Path": path, "Version": "(this module)"}]  # e.g. fyne's own cmd/fyne_demo
    if not fyne:
        raise CheckFailed(
            f"{gomod} (module {path}) does not require {FYNE_MODULE}: "
            "not a Fyne project",
            f"run `go get {FYNE_MODULE}@latest` if this is meant to be a Fyne app",
        )
    for rep in mod.get("Replace") or []:
        target = rep["New"]["Path"]
        if not target.startswith(("./", "../", "/")):
            continue
        where = (root / target).resolve()
        if not (where / "go.mod").is_file():
            what = "has no go.mod" if where.is_dir() else "does not exist"
            raise CheckFailed(
                f"replace {rep['Old']['Path']} => {target}: {where} {what}",
                f"fix or remove the replace directive: `go mod edit -dropreplace="
                f"{rep['Old']['Path']}`",
            )
    vendored = (root / "vendor" / "modules.txt").is_file()
    mode = mod_flag(ctx)
    # The main package's dependencies when it is known (the listing app.build's key
    # reads too); else the whole module's.
    try:
        what, cwd = main_package(ctx).pattern, ctx.project
    except CheckFailed:  # app.build names the main packages
        what, cwd = "./...", root
    done = package_deps(ctx, what, cwd)
    excluded = not done.ok and only_exclusions(done.stderr)
    if not done.ok and not excluded:
        err = dedupe_errors(done.stderr)
        refused = proxy_refusal(err)
        if refused is not None:  # before go.sum: go.sum names the version it could not get
            raise CheckFailed(
                f"{refused.detail()}\n`go list {mode} -deps {what}` said:\n{err}",
                refused.hint(go_env(ctx).get("GOPROXY", "")),
            )
        # A directory of Go's, or a path outside the module: nothing for go mod tidy.
        hint = setup_hint(ctx, err) or path_hint(ctx, err) or _gomod_hint(err)
        raise CheckFailed(f"`go list {mode} -deps {what}` failed: {err}", hint)
    fyne_version = fyne[0]["Version"]
    extra = " (vendored, consistent)" if vendored else ""
    where = f" at {root}" if root != ctx.project else ""
    work = go_project(ctx).gowork
    extra += f"; workspace {work}" if work else ""
    # A listing of an earlier run (probecache): say so, and from when.
    reused = f" (`go list -deps` {done.note()})" if isinstance(done, Reused) else ""
    if excluded:  # not go.mod's fault: the build check names the package and its chain
        goenv = go_env(ctx)
        extra += (f"; for {goenv.get('GOOS')}/{goenv.get('GOARCH')} build constraints exclude "
                  "a package it imports (the build check names it)")
    return (
        f"module {path}{where}, requires {FYNE_MODULE} {fyne_version}{extra}; "
        f"go.sum covers the build{reused}"
    )

