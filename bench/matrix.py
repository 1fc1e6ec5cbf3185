"""Figures for issue 14's matrix: sharded vs unsharded wall time, and merging 100 cells.

    python bench/matrix.py merge                 # merge 100 cells' JSON (goal <= 0.2 s)
    python bench/matrix.py shards [--axes ...]   # 3 local shards + merge vs one unsharded run

`shards` runs the same matrix (default `--fynecheck-go local,1.24,1.22`: 3 host cells, the
1.22 one refused by hello's go line; `--axes` adds e.g. `--fynecheck-os bookworm`) on a copy
of fixtures/hello three times: a warm-up (discarded: cold builds would
dominate), then 3 shards at once (as CI's jobs would run, here on this machine's cores) plus
the merge, then one unsharded run. The ratio is sharded / unsharded, both warm.

`merge` makes 100 cells' files from one real run's JSON (the host catalogue of fixtures/hello,
run once first) and times load + merge + table in this process, median of 5.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stopwatch import median, timed

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "fixtures" / "hello"
sys.path.insert(0, str(ROOT))

from pytest_fynecheck.matrix import merge  # noqa: E402


def pytest_run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--fynecheck", "-p", "no:xdist", *args],
        cwd=project, capture_output=True, text=True, timeout=3600,
    )


def bench_merge(work: Path) -> None:
    one = work / "one.json"
    done = pytest_run(work / "hello", f"--fynecheck-json={one}")
    if not one.exists():
        sys.exit(f"the real run wrote no JSON:\n{done.stdout[-2000:]}")
    checks = json.loads(one.read_text())["checks"]
    cells = [f"host+go1.{i // 10}.{i % 10}" for i in range(100)]
    files = []
    for i, cell in enumerate(cells):
        data = {
            "checks": [{**c, "os": cell} for c in checks],
            "ready": True,
            "matrix": merge.meta(cells, f"{i + 1}/100", [cell], {}),
        }
        path = work / f"cell-{i}.json"
        path.write_text(json.dumps(data, indent=2))
        files.append(path)

    def run() -> None:
        merge.merge([merge.load(p) for p in files]).table()

    run()  # imports (the check catalogue) outside the timing
    took = median(run, 5)
    print(f"merge of 100 cells' JSON ({len(checks)} checks each): {took:.3f} s "
          f"(goal <= 0.2 s: {took / 0.2:.2f} x the goal)")


def bench_shards(work: Path, axes: str, shards: int) -> None:
    project = work / "hello"
    args = shlex.split(axes)
    print(f"warm-up run ({axes}) ...", flush=True)
    warm = pytest_run(project, *args, f"--fynecheck-json={work / 'warm.json'}")
    print(f"  exit {warm.returncode}", flush=True)

    def shard(i: int) -> None:
        pytest_run(project, *args, f"--fynecheck-shard={i}/{shards}",
                   f"--fynecheck-json={work / f'shard-{i}.json'}")

    def sharded() -> None:
        with ThreadPoolExecutor(shards) as pool:
            list(pool.map(shard, range(1, shards + 1)))
        merged = merge.merge([merge.load(work / f"shard-{i}.json")
                              for i in range(1, shards + 1)])
        print(merged.table())

    t_sharded = timed(sharded)
    t_one = timed(lambda: pytest_run(project, *args, f"--fynecheck-json={work / 'one.json'}"))
    one = merge.merge([merge.load(work / "one.json")])
    print(f"{shards} shards at once + merge: {t_sharded:.1f} s; one unsharded run: "
          f"{t_one:.1f} s; ratio sharded/unsharded: {t_sharded / t_one:.2f} "
          f"({len(one.cells)} cells)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("merge", "shards"))
    parser.add_argument("--axes", default="--fynecheck-go local,1.24,1.22")
    parser.add_argument("--shards", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-matrix-") as tmp:
        work = Path(tmp)
        shutil.copytree(HELLO, work / "hello", ignore=shutil.ignore_patterns(".pytest_cache"))
        if args.what == "merge":
            bench_merge(work)
        else:
            bench_shards(work, args.axes, args.shards)


if __name__ == "__main__":
    main()
