"""Build info in the binary (what `go version -m` prints) against the source tree."""

from __future__ import annotations

import dataclasses
from typing import Any

from pytest_fynecheck.core.model import Result
from pytest_fynecheck.drift.project import GitState
from pytest_fynecheck.drift.report import DRIFT, MATCH, UNKNOWN, aspect


@dataclasses.dataclass(frozen=True)
class Module:
    path: str
    version: str
    sum: str
    replace: str  # "" or "path version", as `go version -m` shows it after "=>"

    def shown(self) -> str:
        text = f"{self.path} {self.version or '(devel)'}"
        if self.replace:
            text += f" => {self.replace}"
        elif self.sum:
            text += f" {self.sum}"
        return text


@dataclasses.dataclass(frozen=True)
class BuildInfo:
    go_version: str
    main_package: str
    main_module: str
    main_version: str
    deps: dict[str, Module]
    settings: dict[str, str]

    @classmethod
    def from_probe(cls, data: dict[str, Any]) -> BuildInfo:
        deps = {}
        for d in data.get("Deps") or []:
            mod = _module(d)
            deps[mod.path] = mod
        main = data.get("Main") or {}
        return cls(
            go_version=data.get("GoVersion", ""),
            main_package=data.get("Path", ""),
            main_module=main.get("Path", ""),
            main_version=main.get("Version", ""),
            deps=deps,
            settings={s["Key"]: s.get("Value", "") for s in data.get("Settings") or []},
        )

    @property
    def goos(self) -> str:
        return self.settings.get("GOOS", "")

    @property
    def goarch(self) -> str:
        return self.settings.get("GOARCH", "")

    @property
    def tags(self) -> list[str]:
        return [t for t in self.settings.get("-tags", "").split(",") if t]

    def shown_settings(self) -> tuple[tuple[str, str], ...]:
        return (
            ("go", self.go_version),
            ("GOOS/GOARCH", f"{self.goos}/{self.goarch}"),
            ("CGO_ENABLED", self.settings.get("CGO_ENABLED", "(not recorded)")),
            ("-tags", self.settings.get("-tags", "(none)")),
            ("-trimpath", self.settings.get("-trimpath", "false")),
            # -trimpath drops -ldflags from the record, so absence proves nothing then.
            (
                "-ldflags",
                self.settings.get(
                    "-ldflags",
                    "(not recorded: -trimpath)" if "-trimpath" in self.settings else "(none)",
                ),
            ),
            ("main", f"{self.main_module} {self.main_version}"),
        )


def _module(d: dict[str, Any]) -> Module:
    rep = d.get("Replace")
    replace = ""
    if rep:
        replace = f"{rep.get('Path', '')} {rep.get('Version') or '(devel)'}"
        if rep.get("Sum"):
            replace += f" {rep['Sum']}"
    return Module(d.get("Path", ""), d.get("Version", ""), d.get("Sum", ""), replace)


def source_modules(packages: list[dict[str, Any]]) -> dict[str, Module]:
    """The modules a build of these packages would record, as `go list` resolves them."""
    out: dict[str, Module] = {}
    for pkg in packages:
        mod = pkg.get("Module")
        if not mod or mod.get("Main") or pkg.get("Standard"):
            continue
        m = _module(mod)
        out[m.path] = m
    return out


def compare_deps(binary: BuildInfo, source: dict[str, Module]) -> Result:
    changed = [
        f"changed: {binary.deps[p].shown()} in the binary, {source[p].shown()} in the source"
        for p in sorted(binary.deps.keys() & source.keys())
        if binary.deps[p] != source[p]
    ]
    added = [f"added: {source[p].shown()}" for p in sorted(source.keys() - binary.deps.keys())]
    removed = [
        f"removed: {binary.deps[p].shown()}" for p in sorted(binary.deps.keys() - source.keys())
    ]
    lines = changed + added + removed
    if not lines:
        return aspect(
            "deps", MATCH, f"{len(source)} modules match (versions, sums, replaces)"
        )
    return aspect(
        "deps",
        DRIFT,
        f"{len(changed)} changed, {len(added)} added, {len(removed)} removed since the build",
        tuple(lines),
        "rebuild the binary (the source's go.mod/go.sum moved on)",
    )


# The ways Go ends up recording no vcs.* settings (NOTES §2).
_NO_VCS = (
    "the binary records no vcs.* settings; Go omits them with -buildvcs=false, "
    "for `go run` and `go test`, without git on PATH, or outside a repository"
)


def _no_vcs_reason(goflags: str) -> str:
    if "-buildvcs=false" in goflags:
        return _NO_VCS + f"; here `go env GOFLAGS` is {goflags!r}, which sets -buildvcs=false"
    return _NO_VCS


def compare_vcs(binary: BuildInfo, git: GitState, goflags: str) -> list[Result]:
    rev = binary.settings.get("vcs.revision")
    modified = binary.settings.get("vcs.modified")
    hint = "build with -buildvcs=true inside the git repository (and git on PATH)"
    if git.head is None:
        reason = git.reason
        return [
            aspect("vcs.revision", UNKNOWN, reason, hint="run the check in a git clone"),
            aspect("vcs.modified", UNKNOWN, reason, hint="run the check in a git clone"),
        ]
    out: list[Result] = []
    if rev is None:
        out.append(aspect("vcs.revision", UNKNOWN, _no_vcs_reason(goflags), hint=hint))
    elif rev == git.head:
        out.append(aspect("vcs.revision", MATCH, f"built at HEAD {rev[:12]}"))
    else:
        out.append(
            aspect(
                "vcs.revision",
                DRIFT,
                f"built at {rev[:12]}, HEAD is now {git.head[:12]}",
                (f"binary: vcs.revision={rev}", f"source: git rev-parse HEAD = {git.head}"),
                "rebuild the binary at HEAD",
            )
        )
    dirty = bool(git.porcelain)
    shown = tuple(f"git status: {line}" for line in git.porcelain[:10])
    if len(git.porcelain) > 10:
        shown += (f"... and {len(git.porcelain) - 10} more",)
    if modified is None:
        out.append(aspect("vcs.modified", UNKNOWN, _no_vcs_reason(goflags), hint=hint))
    elif modified == "false" and not dirty:
        out.append(aspect("vcs.modified", MATCH, "built from a clean tree; it is clean"))
    elif modified == "false":
        out.append(
            aspect(
                "vcs.modified",
                DRIFT,
                f"built from a clean tree; {len(git.porcelain)} uncommitted change(s) now "
                "(untracked files count, as for Go)",
                shown,
                "commit or stash the changes, or rebuild",
            )
        )
    elif not dirty:
        out.append(
            aspect(
                "vcs.modified",
                DRIFT,
                "built from a modified tree (vcs.modified=true); the tree is clean now, so "
                "the binary holds changes HEAD does not",
                hint="rebuild from the clean tree",
            )
        )
    else:
        out.append(
            aspect(
                "vcs.modified",
                UNKNOWN,
                "built from a modified tree and the tree is modified now; Go records no "
                "detail, so whether they are the same changes is unknown",
                shown,
                "commit, then rebuild, to make this comparable",
            )
        )
    return out
