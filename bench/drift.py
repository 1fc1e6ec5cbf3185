"""Figures for issue 6: drift check time vs `go version -m` on the same binary, and
which edits are detected in which build mode.

    python bench/drift.py [--runs N] [--windows]

Builds the sample app once per mode (cached by content, as the tests do), then for
each edit copies the committed tree, applies the edit and checks the unchanged binary.
`--windows` adds GOOS=windows (cgo via x86_64-w64-mingw32-gcc, if installed).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from stopwatch import median
from support.drift import MODES, build, commit, copy_repo, host, make_repo, run
from support.sample import HELLO

from pytest_fynecheck.drift import check, probe
from pytest_fynecheck.drift.embedded import local_packages, probe_request
from pytest_fynecheck.drift.project import list_deps


def _timed(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm the page cache and any one-time build
    return median(fn, runs)


def timing(repo: Path, binary: Path, runs: int) -> None:
    ctx = host(repo)
    size = binary.stat().st_size / 1e6

    def go_version_m() -> None:
        assert ctx.run(["go", "version", "-m", str(binary)]).ok

    packages = local_packages(list_deps(ctx, "example.com/hello", {}, []))

    def binary_side() -> None:
        # What reads the binary: build info and every embed table, by the probe.
        probe.inspect(ctx, binary, probe_request(packages))

    def full() -> None:
        # A fresh context: go env, go list, git and the probe all run again.
        check(host(repo), binary)

    base = _timed(go_version_m, runs)
    side = _timed(binary_side, runs)
    whole = _timed(full, runs)
    print(f"binary {binary.name}: {size:.1f} MB, median of {runs} runs")
    print(f"  go version -m                  {base * 1000:7.1f} ms")
    print(f"  drift probe (binary side)      {side * 1000:7.1f} ms  = {side / base:4.1f}x")
    print(f"  full drift check (+go list/git) {whole * 1000:6.1f} ms  = {whole / base:4.1f}x")


def _edit(name: str, repo: Path) -> None:
    assets = repo / "assets"
    if name == "change":
        (assets / "greeting.txt").write_text("Hello from the reloaded tree!\n")
    elif name == "add":
        (assets / "extra.txt").write_text("a new asset\n")
    elif name == "remove":
        (assets / "style.json").unlink()
    elif name == "bump":
        run(repo, ["go", "get", "github.com/yuin/goldmark@v1.7.9"])
    elif name == "dirty":
        (repo / "NOTES.txt").write_text("untracked\n")
    elif name == "commit":
        (repo / "CHANGES.txt").write_text("committed\n")
        commit(repo, "changes", "2026-02-01T00:00:00Z")


EDITS = {
    "change": {"embed", "vcs.modified"},
    "add": {"embed", "vcs.modified"},
    "remove": {"embed", "vcs.modified"},
    "bump": {"deps", "vcs.modified"},
    "dirty": {"vcs.modified"},
    "commit": {"vcs.revision"},
}


def detection(template: Path, binaries: dict[str, Path], scratch: Path) -> None:
    print("\ndetection: each edit of the tree against the unchanged binary")
    print("(ok = exactly the expected aspects drift, the others match)")
    print(f"{'edit':<8} {'expected drift':<22} " + " ".join(f"{m:<10}" for m in binaries))
    for edit, want in EDITS.items():
        cells = []
        for mode, binary in binaries.items():
            repo = copy_repo(template, scratch / f"{mode}-{edit}")
            _edit(edit, repo)
            got = check(host(repo), binary).verdicts()
            drift = {a for a, v in got.items() if v == "drift"}
            others = {v for a, v in got.items() if a not in drift}
            cells.append("ok" if drift == want and others <= {"match"} else ",".join(sorted(drift)))
        print(f"{edit:<8} {','.join(sorted(want)):<22} " + " ".join(f"{c:<10}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--windows", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fynecheck-bench-") as tmp:
        scratch = Path(tmp)
        template = make_repo(HELLO, scratch / "hello")
        binaries = {mode: build(template, flags) for mode, flags in MODES.items()}
        if args.windows:
            cc = shutil.which("x86_64-w64-mingw32-gcc")
            if cc is None:
                print("GOOS=windows: skipped, x86_64-w64-mingw32-gcc is not installed")
            else:
                binaries["windows"] = build(
                    template,
                    (),
                    {"GOOS": "windows", "GOARCH": "amd64", "CGO_ENABLED": "1", "CC": cc},
                    name="app.exe",
                )
        for mode in ("default", "release"):
            timing(template, binaries[mode], args.runs)
        detection(template, binaries, scratch)


if __name__ == "__main__":
    main()
