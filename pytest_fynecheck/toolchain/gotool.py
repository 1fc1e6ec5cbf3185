"""What the Go tool itself says: `go env -json`, `go mod edit -json`, `go list -json`.

We ask the real tool instead of parsing go.mod or guessing the environment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_fynecheck.core.context import CURRENT_CHECK, Completed, Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.progress import GoBuildProgress, step_name
from pytest_fynecheck.toolchain.probecache import reused_run

FYNE_MODULE = "fyne.io/fyne/v2"


def go_env(ctx: Context) -> dict[str, str]:
    def compute() -> dict[str, str]:
        done = ctx.run(["go", "env", "-json"], timeout=60)
        if not done.ok:
            raise CheckFailed(
                f"`go env -json` failed: {done.output}",
                setup_hint(ctx, done.output) or "fix the Go installation",
            )
        env: dict[str, str] = json.loads(done.stdout)
        return env

    result: dict[str, str] = ctx.memoize("go env", compute)
    return result


@dataclass(frozen=True)
class GoProject:
    """Where Go itself places the project: its module's go.mod and the workspace, if any."""

    dir: Path
    gomod: Path | None  # None: no module of its own (a go.work directory above modules)
    gowork: Path | None

    @property
    def module_root(self) -> Path:
        return self.gomod.parent if self.gomod else self.dir


def go_project(ctx: Context) -> GoProject:
    """`go env GOMOD GOWORK` in the project directory: Go searches the parents, so a package
    below the module root (cmd/NAME, or a module in the module cache) is found like Go does."""

    def compute() -> GoProject:
        done = ctx.run(["go", "env", "-json", "GOMOD", "GOWORK"], timeout=60)
        if not done.ok:
            raise CheckFailed(
                f"`go env -json GOMOD GOWORK` failed in {ctx.project}: {done.output}",
                setup_hint(ctx, done.output) or "fix the Go installation",
            )
        env = json.loads(done.stdout)
        gomod = env.get("GOMOD", "")
        gowork = env.get("GOWORK", "")
        if gowork in ("", "off"):
            gowork = ""
        if gomod in ("", os.devnull) and not gowork:
            why = "GO111MODULE=off" if gomod == "" else "there is no go.mod"
            raise CheckFailed(
                f"{ctx.project} is not a Go module: {why} in it or any parent directory "
                f"(`go env GOMOD` says {gomod or 'nothing'})",
                "run pytest --fynecheck in your Fyne project (a module, a package in one, or "
                "a go.work workspace), or set --fynecheck-project",
            )
        return GoProject(
            ctx.project,
            Path(gomod) if gomod not in ("", os.devnull) else None,
            Path(gowork) if gowork else None,
        )

    result: GoProject = ctx.memoize("go project", compute)
    return result


def go_mod(ctx: Context) -> dict[str, Any]:
    """The project's go.mod as `go mod edit -json` reads it; Go's own file:line message
    when it cannot. In a go.work directory without a module: the main package's module."""

    def compute() -> dict[str, Any]:
        gomod = go_project(ctx).gomod
        if gomod is None:
            module = main_package(ctx).module
            if not module.get("GoMod"):
                raise CheckFailed(
                    f"the main package {main_package(ctx).pattern} belongs to no module"
                )
            gomod = Path(module["GoMod"])
        done = ctx.run(["go", "mod", "edit", "-json", str(gomod)], cwd=gomod.parent, timeout=60)
        if not done.ok:
            raise CheckFailed(
                f"go.mod does not parse: {done.output}", f"fix {gomod} at the line Go names"
            )
        mod: dict[str, Any] = json.loads(done.stdout)
        mod["_GoMod"] = str(gomod)
        return mod

    result: dict[str, Any] = ctx.memoize("go mod", compute)
    return result


@dataclass(frozen=True)
class MainPackage:
    """The main package app.build builds, as `go list -json` describes it."""

    pattern: str  # what `go build` is given, relative to the project directory
    import_path: str
    dir: Path
    module: dict[str, Any]
    note: str = ""  # why this one, when the kit chose it


def tag_args(ctx: Context, tags: Sequence[str] | None = None) -> list[str]:
    """-tags for the context's tags, or for `tags` when given (a build of other tags)."""
    chosen = ctx.tags if tags is None else tuple(tags)
    return ["-tags", ",".join(chosen)] if chosen else []


def _relative_pattern(ctx: Context, pkg_dir: str) -> str:
    rel = os.path.relpath(pkg_dir, ctx.project)
    return "." if rel == "." else "./" + rel if not rel.startswith("..") else pkg_dir


def main_packages(ctx: Context, where: Path) -> list[str]:
    """Every main package under `where`, as patterns relative to the project directory."""
    done = ctx.run(
        ["go", "list", "-e", *tag_args(ctx), "-f",
         '{{if eq .Name "main"}}{{.Dir}}{{end}}', "./..."],
        cwd=where,
        timeout=300,
    )
    return sorted(_relative_pattern(ctx, d) for d in done.stdout.split("\n") if d.strip())


def _module_roots(ctx: Context) -> list[Path]:
    """The project's module root; in a go.work directory, every workspace module's."""
    project = go_project(ctx)
    if project.gomod is not None:
        return [project.module_root]
    done = ctx.run(["go", "list", "-m", "-f", "{{.Dir}}"], timeout=120)
    return [Path(d) for d in done.stdout.split("\n") if d.strip()]


# What main_package reads: with a field list Go skips the rest, staleness above all (a
# plain -json hashes every dependency: 0.2 s of 0.25 s on a warm machine).
_MAIN_FIELDS = "-json=Name,ImportPath,Dir,Module,Error"


def _is_main(done: Completed) -> bool:
    try:
        (pkg,) = json_stream(done.stdout)
    except ValueError:
        return False
    return pkg.get("Name") == "main" and not pkg.get("Error")


def main_package(ctx: Context) -> MainPackage:
    """The package to build: ini fynecheck_package (default `.`, the project directory).
    When the default is no main package, the only main package below it (or in the module)
    is taken; several, or a chosen package that is not main, fail with the list."""

    def compute() -> MainPackage:
        explicit = bool(ctx.settings.package)  # ini fynecheck_package is set
        chosen = ctx.settings.package or "."
        # Kept (probecache) only when it names a main package: its name, import path and
        # module come from its directory's files and go.mod (listing_inputs), `go env`.
        done = reused_run(
            ctx, "go-list-main", ["go", "list", "-e", _MAIN_FIELDS, *tag_args(ctx), chosen],
            key=[json.dumps(stable_go_env(ctx), sort_keys=True)],
            inputs=lambda listed: listing_inputs(ctx, listed) if _is_main(listed) else None,
            timeout=300,
        )
        try:
            (pkg,) = json_stream(done.stdout)
        except ValueError:
            raise CheckFailed(
                f"`go list {chosen}` in {ctx.project} failed: {done.output[-1500:]}",
                setup_hint(ctx, done.output) or path_hint(ctx, done.output)
                or "set ini fynecheck_package to a package `go build` accepts, e.g. ./cmd/NAME",
            ) from None
        err = (pkg.get("Error") or {}).get("Err", "")
        if pkg.get("Name") == "main" and not err:
            return MainPackage(chosen, pkg["ImportPath"], Path(pkg["Dir"]), pkg.get("Module") or {})
        if err and "no Go files" not in err and "no non-test Go files" not in err:
            raise CheckFailed(
                f"`go list {chosen}` in {ctx.project}: {err}",
                setup_hint(ctx, err) or path_hint(ctx, err)
                or "set ini fynecheck_package to a package `go build` accepts, e.g. ./cmd/NAME",
            )
        what = f"is package `{pkg['Name']}`, not main" if pkg.get("Name") else "has no Go files"
        mains = main_packages(ctx, ctx.project)
        for root in [] if mains else _module_roots(ctx):
            mains += main_packages(ctx, root)
        if len(mains) == 1 and not explicit:
            found = json_stream(
                ctx.run(["go", "list", _MAIN_FIELDS, *tag_args(ctx), mains[0]], timeout=300).stdout
            )[0]
            return MainPackage(
                mains[0], found["ImportPath"], Path(found["Dir"]), found.get("Module") or {},
                f"{ctx.project} {what}; {mains[0]} is the only main package",
            )
        listed = "".join(f"\n    fynecheck_package = {m}" for m in mains)
        if mains:
            raise CheckFailed(
                f"{chosen} in {ctx.project} {what}, so `go build` makes no program; "
                f"the main packages here are:{listed}",
                "choose one in your ini file ([pytest] section), e.g. "
                f"`fynecheck_package = {mains[0]}`",
            )
        raise CheckFailed(
            f"{chosen} in {ctx.project} {what}, and "
            f"{' '.join(map(str, _module_roots(ctx)))} holds no main package: there is no app "
            "to build",
            "point --fynecheck-project at your app's main package, or set ini "
            "fynecheck_package",
        )

    result: MainPackage = ctx.memoize("main package", compute)
    return result


# The files of a package that `go build` reads (see `go help list`).
SOURCE_FIELDS = (
    "GoFiles",
    "CgoFiles",
    "CFiles",
    "CXXFiles",
    "MFiles",
    "HFiles",
    "FFiles",
    "SFiles",
    "SwigFiles",
    "SwigCXXFiles",
    "SysoFiles",
    "EmbedFiles",
)
# Only what build_key hashes: -json=FIELDS lets `go list` skip the rest (staleness).
_DEPS_FIELDS = ",".join(["ImportPath", "Dir", "Module", "Standard", *SOURCE_FIELDS])


def mod_flag(ctx: Context) -> str:
    """-mod=vendor when the module vendors, else readonly: asking never rewrites go.mod."""
    root = Path(go_mod(ctx)["_GoMod"]).parent
    return "-mod=vendor" if (root / "vendor" / "modules.txt").is_file() else "-mod=readonly"


def package_deps(
    ctx: Context, pattern: str, cwd: Path | None = None, tags: Sequence[str] | None = None
) -> Completed:
    """`go list MODE -deps -json=FIELDS PATTERN` with the context's tags (or `tags`), in `cwd`
    (the project), run once per context: project.gomod (go.sum covers the build) and app.build's
    build_key (what Go builds) read the same listing. A first run downloads the modules
    here: minutes on a fresh machine, so it shows progress."""
    mode = mod_flag(ctx)
    where = cwd or ctx.project

    def compute() -> Completed:
        listing = GoBuildProgress(ctx.progress, step_name(CURRENT_CHECK.get() or "go list",
                                                          ctx.name))
        with listing.running():
            # `go env` (toolchain, GOOS, GOFLAGS, GOPROXY, CC, ...) is the key; the files
            # the listing names are the inputs (listing_inputs).
            return reused_run(
                ctx, "go-list-deps",
                ["go", "list", mode, "-deps", f"-json={_DEPS_FIELDS}", *tag_args(ctx, tags),
                 pattern],
                key=[json.dumps(stable_go_env(ctx), sort_keys=True)],
                inputs=lambda done: listing_inputs(ctx, done),
                cwd=where,
                timeout=300,
                on_line=listing.on_line,
            )

    shown = "" if tags is None else f" tags {','.join(tags)}"
    done: Completed = ctx.memoize(f"go list -deps {mode} {pattern} in {where}{shown}", compute)
    return done


def stable_go_env(ctx: Context) -> dict[str, str]:
    """`go env` without what differs at every call: GOGCCFLAGS names a fresh temporary
    directory (-fdebug-prefix-map); CC, CGO_CFLAGS and GOARCH, which make the rest of
    it, stay."""
    return {k: v for k, v in go_env(ctx).items() if k != "GOGCCFLAGS"}


def listing_inputs(ctx: Context, done: Completed) -> list[str]:
    """Every file a `go list -deps` result depends on, for probecache: the go binary and
    its GOROOT's VERSION (the standard library's packages are the toolchain's, as in
    app.build's key), go.work, each other package's directory (a file added or removed)
    and its files, the trees its //go:embed patterns may reach, and each module's go.mod
    (the main module's go.sum and vendor/modules.txt beside it). `go env` is in the key."""
    env = go_env(ctx)
    goroot = Path(env.get("GOROOT", ""))
    paths = {str(goroot / "bin" / "go"), str(goroot / "VERSION")}
    gowork = env.get("GOWORK", "")
    if gowork and gowork != "off":
        paths |= {gowork, gowork + ".sum"}
    for pkg in json_stream(done.stdout):
        pkg_dir = pkg.get("Dir")
        if pkg_dir and not pkg.get("Standard"):
            paths |= _dir_entries(Path(pkg_dir), recursive=bool(pkg.get("EmbedFiles")))
        module = pkg.get("Module") or {}
        for mod in (module, module.get("Replace") or {}):
            if gomod := mod.get("GoMod"):
                paths.add(gomod)
                if mod.get("Main") or not mod.get("Version"):  # mutable: the main module's
                    root = Path(gomod).parent
                    paths |= {str(root / "go.sum"), str(root / "vendor" / "modules.txt")}
    return sorted(paths)


def _dir_entries(where: Path, *, recursive: bool) -> set[str]:
    """A directory and what is in it (subdirectories' own entries too, if `recursive`)."""
    out = {str(where)}
    try:
        entries = list(os.scandir(where))
    except OSError:
        return out
    for entry in entries:
        out.add(entry.path)
        if recursive and entry.is_dir(follow_symlinks=False):
            out |= _dir_entries(Path(entry.path), recursive=True)
    return out


def list_module(ctx: Context, path: str) -> dict[str, Any]:
    """`go list -m -json PATH` in the project: the resolved version and its `go` line."""

    def compute() -> dict[str, Any]:
        done = ctx.run(["go", "list", "-m", "-json", path], timeout=120)
        if not done.ok:
            raise CheckFailed(
                f"`go list -m {path}` failed: {done.output}",
                setup_hint(ctx, done.output) or path_hint(ctx, done.output)
                or "run `go mod download` in the project, with network access",
            )
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    result: dict[str, Any] = ctx.memoize("go list -m " + path, compute)
    return result


def json_stream(text: str) -> list[dict[str, Any]]:
    """Go's `-json` flags print concatenated objects, not a JSON array."""
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        obj, end = decoder.raw_decode(text, pos)
        out.append(obj)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


_VERSION = re.compile(r"^(?:go)?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def version_tuple(version: str) -> tuple[int, int, int]:
    """'go1.22.3', '1.22', 'go1.23rc1' -> comparable tuple. Pre-releases sort as their base."""
    m = _VERSION.match(version.strip())
    if not m:
        raise ValueError(f"not a Go version: {version!r}")
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0))


# Go's modfetch wording for an HTTP error from a module proxy:
# `MODULE@VERSION: reading URL: 403 Forbidden`. 404 and 410 say the proxy has no such
# version; Go tries the next entry of GOPROXY after those, so one shown here was the last.
_REFUSAL = re.compile(
    r"(?P<module>[^\s:@]+)@(?P<version>[^\s:]+): reading (?P<url>\S+): "
    r"(?P<status>(?:403|404|410)\b[^\n]*)"
)
# `a/a.go:4:2: ` before an error: where the import is, not what went wrong.
_POSITION = re.compile(r"^\S+?:\d+(?::\d+)?: ")


@dataclass(frozen=True)
class ProxyRefusal:
    """The module proxy would not serve a pinned version (go.sum cannot help: nothing
    to verify was downloaded)."""

    module: str
    version: str
    url: str
    status: str

    def detail(self) -> str:
        refused = "refused" if self.status.startswith("403") else "does not have"
        return (
            f"the module proxy {refused} {self.module}@{self.version}: "
            f"GET {self.url} answered {self.status}"
        )

    def hint(self, goproxy: str) -> str:
        return (
            f"the proxy (GOPROXY={goproxy}) will not serve this version, and `go mod tidy` "
            f"fails the same way. If {self.module} is private, set GOPRIVATE={self.module} "
            "so Go fetches it from its repository directly; if it is public, require a "
            f"released version (`go list -m -versions {self.module}`, then "
            f"`go get {self.module}@VERSION`), or point GOPROXY at a proxy that has it"
        )


def proxy_refusal(stderr: str) -> ProxyRefusal | None:
    m = _REFUSAL.search(stderr)
    if m is None:
        return None
    return ProxyRefusal(m["module"], m["version"], m["url"], m["status"].strip())


def dedupe_errors(stderr: str) -> str:
    """Go repeats one error for every import of a broken module: each message once (the
    first, with its position), then how many more imports gave it and where."""
    messages: list[list[str]] = []
    for line in stderr.strip().splitlines():
        if line.startswith(("\t", " ")) and messages:
            messages[-1].append(line)  # a continuation, e.g. "\tserver response: ..."
        else:
            messages.append([line])
    where: dict[str, list[str]] = {}
    for first, *rest in messages:
        m = _POSITION.match(first)
        key = "\n".join([first[m.end():] if m else first, *rest])
        where.setdefault(key, []).append(m[0].rstrip(": ") if m else "")
    out = []
    for key, places in where.items():
        text = f"{places[0]}: {key}" if places[0] else key
        if len(places) > 1:
            also = ", ".join(p for p in places[1:] if p)
            at = f", at {also}" if also else ""
            text += f"\n(the same error {len(places) - 1} more time(s){at})"
        out.append(text)
    return "\n".join(out)


# Go's words when a directory it needs is not usable (cmd/go: cache, work dir, module cache).
_BUILD_CACHE = re.compile(r"failed to initialize build cache at (?P<path>\S+): (?P<why>[^\n]*)")
_NO_CACHE = re.compile(r"build cache is required, but could not be located: (?P<why>[^\n]*)")
_WORK_DIR = re.compile(r"creating work dir: (?P<why>[^\n]*)")
_MOD_CACHE = re.compile(r"could not create module cache: (?P<why>[^\n]*)")


def _cache_origin(env: Mapping[str, str], default_under: str) -> str:
    """Which variable put a Go cache where it is: GOCACHE/GOMODCACHE itself, or the
    directory Go derives it from."""
    if env.get("XDG_CACHE_HOME") and default_under == "cache":
        return (f"XDG_CACHE_HOME={env['XDG_CACHE_HOME']} (Go's build cache defaults to "
                "$XDG_CACHE_HOME/go-build)")
    if env.get("GOPATH") and default_under == "gopath":
        return f"GOPATH={env['GOPATH']} (the module cache defaults to $GOPATH/pkg/mod)"
    if env.get("HOME"):
        where = ".cache/go-build" if default_under == "cache" else "go/pkg/mod"
        return f"HOME={env['HOME']} (Go derives it as $HOME/{where})"
    return "neither HOME nor XDG_CACHE_HOME (they are unset)"


def setup_hint(ctx: Context, output: str) -> str | None:
    """The fix when Go stops because a directory of its own (build cache, work dir,
    module cache) is unusable: the variable that placed it, with its value."""
    env = ctx.env()
    if m := _BUILD_CACHE.search(output) or _NO_CACHE.search(output):
        path = m.groupdict().get("path") or env.get("GOCACHE", "")
        why = m["why"]
        at = f" {path}" if path else ""
        derived = (f"{env['XDG_CACHE_HOME']}/go-build" if env.get("XDG_CACHE_HOME")
                   else f"{env['HOME']}/.cache/go-build" if env.get("HOME") else "")
        if env.get("GOCACHE"):
            origin = f"GOCACHE={env['GOCACHE']}"
            fix = "set GOCACHE to a writable absolute directory, or unset it"
        elif not derived:
            return (f"Go has no build cache ({why}): set HOME, or GOCACHE to a writable "
                    "absolute directory")
        elif path and path != derived:
            origin = f"GOCACHE={path}, set by `go env -w` (in the file `go env GOENV` names)"
            fix = "run `go env -u GOCACHE`, or set GOCACHE to a writable absolute directory"
        else:
            origin = _cache_origin(env, "cache")
            fix = "make that directory writable, or set GOCACHE to a writable absolute directory"
        return f"Go's build cache{at} is not usable ({why}); it comes from {origin}: {fix}"
    if m := _WORK_DIR.search(output):
        var = "GOTMPDIR" if env.get("GOTMPDIR") else "TMPDIR"
        return (f"Go makes its work directory in {var}={env.get(var, '')}, which is not "
                f"usable ({m['why']}): set {var} to a writable directory, or unset it")
    if m := _MOD_CACHE.search(output):
        origin = (f"GOMODCACHE={env['GOMODCACHE']}" if env.get("GOMODCACHE")
                  else _cache_origin(env, "gopath"))
        return (f"Go's module cache is not usable ({m['why']}); it comes from {origin}: "
                "point it at a writable directory")
    return None


# Go's words when the package or directory asked for is not where the module is.
_OUTSIDE_WORK = re.compile(r"directory prefix (?P<dir>\S+) does not contain modules listed in "
                           r"go\.work")
_OUTSIDE_MODULE = re.compile(r"directory (?P<dir>\S+) outside (?:main module|modules listed in "
                             r"go\.work)")
_NO_PROVIDER = re.compile(r"no required module provides package (?P<pkg>[^\s;]+)")
_NOT_IN_MODULE = re.compile(r"main module \((?P<mod>\S+)\) does not contain package "
                            r"(?P<pkg>\S+)")


def path_hint(ctx: Context, output: str) -> str | None:
    """The fix when Go says a path is outside the module or workspace (not `go mod tidy`:
    nothing is missing from go.mod)."""
    if m := _OUTSIDE_WORK.search(output):
        work = ctx.env().get("GOWORK") or "its go.work"
        return (f"{ctx.project} is in no module of the workspace ({work}): run "
                "`go work use .` in its module, or set GOWORK=off to build it alone")
    if m := _OUTSIDE_MODULE.search(output):
        return (f"{m['dir']} is outside the project's module: set --fynecheck-project to the "
                "module's directory, or ini fynecheck_package to a package inside it")
    if m := _NOT_IN_MODULE.search(output):
        return (f"{m['pkg']} is not a package of the module {m['mod']}: set ini "
                "fynecheck_package to one of its packages (e.g. ./cmd/NAME)")
    if m := _NO_PROVIDER.search(output):
        try:
            own = go_mod(ctx)["Module"]["Path"]
        except CheckFailed:
            own = ""
        if own and m["pkg"].startswith(own + "/"):  # `go get` cannot add a module's own path
            return (f"{m['pkg']} is not a package of the module {own} (no such directory in "
                    "it): set ini fynecheck_package to one of its packages (e.g. ./cmd/NAME)")
    if "cannot find main module" in output or "does not contain main module" in output:
        return (f"Go finds no go.mod for {ctx.project}: run pytest in your module (or set "
                "--fynecheck-project to it)")
    return None
