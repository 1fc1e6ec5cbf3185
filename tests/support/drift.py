"""Real builds for the drift tests: the sample app per build mode, and a tiny module.

Builds are keyed by what goes into them (sources, flags, Go version) and kept in the
kit's cache, so a warm machine only links once per mode. Repositories are committed
with fixed dates, so their commit hash, and so the binary's vcs.revision, is the same
every session.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.paths import cache_dir

# The build modes of issue 6; release is what `fyne build --release` adds.
MODES: dict[str, tuple[str, ...]] = {
    "default": (),
    "trimpath": ("-trimpath",),
    "sw": ("-ldflags=-s -w",),
    "release": ("-trimpath", "-ldflags=-s -w", "-tags=release"),
}

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "fynecheck",
    "GIT_AUTHOR_EMAIL": "fynecheck@example.com",
    "GIT_COMMITTER_NAME": "fynecheck",
    "GIT_COMMITTER_EMAIL": "fynecheck@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def host(project: Path) -> Context:
    """A fresh host context: nothing memoized from another check."""
    scratch = cache_dir() / "drift-scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    return Context(project, scratch, cache_dir(), timeout=900)


def run(cwd: Path, argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    done = host(cwd).run(argv, env=env, timeout=900)
    assert done.ok, f"{' '.join(argv)} in {cwd} failed:\n{done.output}"
    return done.stdout


def git(repo: Path, *args: str) -> str:
    return run(repo, ["git", *args], _GIT_ENV)


def commit(repo: Path, message: str, when: str = "2026-01-01T00:00:00Z") -> str:
    """Commit everything at a fixed date, so the same tree gives the same hash every session."""
    git(repo, "add", "-A")
    run(
        repo,
        ["git", "commit", "-q", "--no-gpg-sign", "-m", message],
        {**_GIT_ENV, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when},
    )
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".git"))
    git(dest, "init", "-q", "-b", "main")
    commit(dest, "sample app")
    return dest


def _tree_key(repo: Path) -> str:
    digest = hashlib.sha256()
    digest.update(git(repo, "rev-parse", "HEAD").encode())
    digest.update(git(repo, "status", "--porcelain").encode())
    for path in sorted(p for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts):
        digest.update(str(path.relative_to(repo)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # xdist workers share the cache: one builds, the other waits and reuses.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(
    repo: Path,
    flags: Sequence[str],
    env: Mapping[str, str] | None = None,
    name: str = "app",
) -> Path:
    """`go build -buildvcs=true FLAGS .` in repo, cached by content, flags and Go version."""
    env = dict(env or {})
    goversion = run(repo, ["go", "env", "GOVERSION"]).strip()
    digest = hashlib.sha256(
        "\0".join(
            [_tree_key(repo), *flags, *sorted(f"{k}={v}" for k, v in env.items()), goversion]
        ).encode()
    ).hexdigest()[:20]
    out = cache_dir() / "drift-builds" / digest / name
    with _locked(out.parent.with_suffix(".lock")):
        if not out.is_file():
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(name + ".tmp")
            # -buildvcs=true on the command line beats a GOFLAGS=-buildvcs=false in go env.
            run(repo, ["go", "build", "-buildvcs=true", *flags, "-o", str(tmp), "."], env)
            tmp.replace(out)
    return out


OTHER_MAIN = """package main

import (
\t"embed"
\t"fmt"
\t"io/fs"
)

//go:embed data
var files embed.FS

func main() {
\tb, _ := fs.ReadFile(files, "data/hello.txt")
\tfmt.Print(string(b))
}
"""


def make_other(dest: Path) -> Path:
    """A tiny non-cgo module with an embed.FS: cheap to cross-compile."""
    (dest / "data").mkdir(parents=True)
    (dest / "main.go").write_text(OTHER_MAIN)
    (dest / "go.mod").write_text("module example.com/other\n\ngo 1.24\n")
    (dest / "data" / "hello.txt").write_text("hi from other\n")
    (dest / "data" / "more.json").write_text('{"more": true}\n')
    git(dest, "init", "-q", "-b", "main")
    commit(dest, "other")
    return dest


def copy_repo(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    return dest
