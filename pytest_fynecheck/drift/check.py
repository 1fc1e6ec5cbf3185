"""One drift check: read the binary, ask the source side the same questions, compare."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import InputError, Result
from pytest_fynecheck.drift import bundle, embedded, probe
from pytest_fynecheck.drift.buildinfo import BuildInfo, compare_deps, compare_vcs, source_modules
from pytest_fynecheck.drift.project import git_state, list_deps, module_path
from pytest_fynecheck.drift.report import DriftReport
from pytest_fynecheck.toolchain.gotool import go_env


def read_buildinfo(ctx: Context, binary: Path) -> BuildInfo:
    return BuildInfo.from_probe(probe.inspect(ctx, binary, {})["buildinfo"])


def check(ctx: Context, binary: Path) -> DriftReport:
    binary = binary.absolute()  # named as given: /bin/ls, not /usr/bin/ls
    # git and `go env` do not depend on the binary: run them while we read it.
    # Leaving the pool joins them; their results are memoized in ctx for _check.
    with ThreadPoolExecutor(2, thread_name_prefix="fynecheck-drift") as pool:
        pool.submit(git_state, ctx)
        pool.submit(go_env, ctx)
        return _check(ctx, binary)


def _check(ctx: Context, binary: Path) -> DriftReport:
    info = read_buildinfo(ctx, binary)
    # List the packages as the binary was built: its GOOS/GOARCH/cgo/tags pick the files.
    env: dict[str, str] = {
        k: info.settings[k] for k in ("GOOS", "GOARCH", "CGO_ENABLED") if k in info.settings
    }
    packages = list_deps(ctx, info.main_package, env, info.tags)
    main = next((p for p in packages if p.get("ImportPath") == info.main_package), None)
    main_mod = ((main or {}).get("Module") or {}).get("Path")
    if main is None or main.get("Error") or main_mod != info.main_module:
        raise InputError(
            f"{binary} was built from {info.main_module} (package {info.main_package}); "
            f"this project ({ctx.project}) is {module_path(ctx)}"
        )
    broken = [p for p in packages if p.get("Error")]
    if broken:
        raise InputError(
            f"project {ctx.project} does not load for {env.get('GOOS')}/{env.get('GOARCH')}: "
            + "; ".join(p["Error"].get("Err", "") for p in broken[:3])
        )
    local = embedded.local_packages(packages)
    seen = probe.inspect(ctx, binary, embedded.probe_request(local))
    aspects: list[Result] = [
        compare_deps(info, source_modules(packages)),
        *compare_vcs(info, git_state(ctx), go_env(ctx).get("GOFLAGS", "")),
        embedded.compare(local, seen),
    ]
    found = bundle.compare(ctx, bundle.bundle_files(packages))
    if found is not None:
        aspects.append(found)
    build = (*info.shown_settings(), ("format", f"{seen['format']}"))
    goenv = go_env(ctx)
    host = f"{goenv.get('GOHOSTOS')}/{goenv.get('GOHOSTARCH')}"
    if f"{info.goos}/{info.goarch}" != host:
        build += (("note", f"read without running it; this host is {host}"),)
    return DriftReport(str(binary), str(ctx.project), build, tuple(aspects))


__all__ = ["DriftReport", "check", "read_buildinfo"]
