"""Figures for issues 11 and 23: `pytest --fynecheck` on an app against the bare tools it runs.

    python bench/readiness.py                  # fixtures/hello, warm, where the time goes
    python bench/readiness.py --app fyne_demo  # fyne's cmd/fyne_demo, through the module proxy
    python bench/readiness.py --cold           # also cold: empty GOCACHE for both sides (minutes)
    python bench/readiness.py --before DIR     # also another tree's kit, in the same loop
    python bench/readiness.py --app DIR --title TITLE   # another app: its main package's directory

pytest runs with its cache in a directory of the bench's own (`-o cache_dir=`), as a user's
run has it; --no-cacheprovider runs it with -p no:cacheprovider instead, as the issue-11
figures were taken.

Both sides run in this one run, alternately, on the same display, so the ratio is fair on
a machine that others load too; figures are medians of --repeat runs (min beside them), with
the load average. Python runs with its bytecode cache, as on a user's machine: with
PYTHONDONTWRITEBYTECODE set, pytest re-rewrites every module of each pytest11 plugin's
distribution (all of Hypothesis) at every start.

Where the time goes comes from bench/timeline.py, a plugin loaded into each run (`-p
timeline`): pytest's start without the kit (`--co -p no:fynecheck`, to the end of its
collection), what the kit adds before its first check starts, and each check's start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stopwatch import timed

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "fixtures" / "hello"
TITLE = "fynecheck hello"
# Where pytest runs: the app's directory (its pytest.ini), or for an app in the read-only
# module cache a directory of the bench's own, with --fynecheck-project (as tests/test_corpus).
CWD = HELLO
PROJECT_ARGS: list[str] = []
# pytest's cache as a user has it (on), in a directory of the bench's own: the tree stays
# clean. With it off (--no-cacheprovider, the issue-11 figures) the kit keeps artifacts
# under pytest's basetemp, whose cleanup of old numbered directories every side pays for.
CACHE_ARGS: list[str] = []
# Apps fetched as Go modules through the module proxy: (module, directory, window title).
FETCHED = {"fyne_demo": ("fyne.io/fyne/v2@v2.7.1", "cmd/fyne_demo", "Fyne Demo")}


def sh(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        argv, cwd=cwd or HELLO, env=env, capture_output=True, text=False, timeout=1800, check=True
    )
    return done.stdout.decode(errors="replace")


def first_frame(exe: str, env: dict[str, str]) -> None:
    """Start the app, wait for its window, then for a non-blank frame: the bare way."""
    app = subprocess.Popen([exe], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        win = None
        while win is None and time.monotonic() < deadline:
            # A window vanishing mid-listing makes xwininfo exit 1: read what it printed.
            tree = subprocess.run(
                ["xwininfo", "-root", "-children"],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
            m = re.search(rf'^\s+(0x[0-9a-f]+) "{re.escape(TITLE)}":', tree, re.M)
            win = m.group(1) if m else None
        while time.monotonic() < deadline:
            raw = subprocess.run(
                ["xwd", "-id", str(win), "-silent"], env=env, capture_output=True, timeout=30
            ).stdout
            pixels = raw[-320 * 160 * 4 :]  # the window's 32-bit pixels end the dump
            if len({pixels[i : i + 4] for i in range(0, len(pixels), 4)}) > 1:
                return
        raise RuntimeError("no first frame within 60 s")
    finally:
        app.terminate()
        app.wait(10)


def bare(env: dict[str, str], out: Path) -> float:
    steps = [
        lambda: sh("go", "env", "-json", env=env),
        lambda: sh("go", "list", "-m", "-json", "all", env=env),
        lambda: sh(
            "pkg-config",
            "--modversion",
            "gl",
            "x11",
            "xrandr",
            "xcursor",
            "xinerama",
            "xi",
            "xxf86vm",
            env=env,
        ),
        lambda: sh("pkg-config", "--cflags", "--libs", "gl", "x11", env=env),
        lambda: sh("go", "build", "-o", str(out), ".", env=env),
        lambda: first_frame(str(out), env),
    ]
    return sum(timed(s) for s in steps)


TIMELINES: list[dict[str, Any]] = []  # of the kit's runs (--fynecheck), in order
PLAIN: list[dict[str, Any]] = []  # of `--co -p no:fynecheck` runs


def pytest_run(
    env: dict[str, str], *args: str, into: list[dict[str, Any]] | None = None
) -> float:
    """Seconds of one `pytest ARGS` in the app's directory (it must pass); its timeline
    (bench/timeline.py) goes `into` the list given."""
    line = Path(tempfile.mkstemp(suffix=".json")[1])
    bench = str(Path(__file__).resolve().parent)
    env = {
        **env,
        "PYTHONPATH": os.pathsep.join(p for p in (bench, env.get("PYTHONPATH", "")) if p),
        "FYNECHECK_BENCH_TIMELINE": str(line),
    }

    def run() -> None:
        env["FYNECHECK_BENCH_T0"] = repr(time.time())
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", *CACHE_ARGS, "-p", "timeline", *args],
            cwd=CWD,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode not in (0, 5):  # 5: --co without --fynecheck collects nothing
            raise RuntimeError(done.stdout[-3000:])

    try:
        seconds = timed(run)
        if into is not None:
            into.append({**json.loads(line.read_text()), "wall": seconds})
    finally:
        line.unlink()
    return seconds


def kit(env: dict[str, str], report: Path | None = None, *args: str) -> float:
    extra = [f"--fynecheck-json={report}"] if report else []
    return pytest_run(env, "--fynecheck", *PROJECT_ARGS, *extra, *args, into=TIMELINES)


def med(values: Sequence[float]) -> float:
    return statistics.median(values)


def figure(values: Sequence[float]) -> str:
    return f"{med(values):5.2f} s (min {min(values):4.2f})"


def load() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def where_the_time_goes(env: dict[str, str], repeat: int) -> None:
    """pytest's own start, what the kit adds before its first check, and each check's
    start and end (they run in parallel: the longest chain bounds the run). Medians."""
    plain = [pytest_run(env, "--co", "-p", "no:fynecheck", into=PLAIN) for _ in range(repeat)]
    loaded = [pytest_run(env, "--co", *PROJECT_ARGS) for _ in range(repeat)]
    print(f"      pytest start-up without the kit (--co -p no:fynecheck)   {figure(plain)}")
    print(f"      the kit loaded, --fynecheck off (--co)                   {figure(loaded)}"
          f"   +{med(loaded) - med(plain):4.2f} s")
    ready = med([t["collected"] for t in PLAIN])
    first = med([min(s for s, _ in t["checks"].values()) for t in TIMELINES if t["checks"]])
    print(f"      pytest without the kit has collected at                  {ready:5.2f} s")
    print(f"      the kit's first check starts at                          {first:5.2f} s"
          f"   the kit's plugins before it: +{first - ready:4.2f} s")

    def at(key: str) -> float:
        return med([t[key] for t in TIMELINES])

    last = med([max(e for _, e in t["checks"].values()) for t in TIMELINES if t["checks"]])
    print(f"      phases (since exec): pytest loaded {at('loaded'):4.2f}, configured "
          f"{at('configured'):4.2f}, collected {at('collected'):4.2f}, first check "
          f"{first:4.2f}, last check ends {last:4.2f}, session finish {at('finished'):4.2f}, "
          f"exit {at('wall'):4.2f}")
    ids = sorted(TIMELINES[-1]["checks"], key=lambda i: TIMELINES[-1]["checks"][i][0])
    print("      checks (median start .. end, seconds since exec; duration):")
    for check_id in ids:
        spans = [t["checks"][check_id] for t in TIMELINES if check_id in t["checks"]]
        start, end = med([s for s, _ in spans]), med([e for _, e in spans])
        took = med([e - s for s, e in spans])
        print(f"        {check_id:22} {start:5.2f} .. {end:5.2f}  {took:4.2f} s")


def fetched_app(name: str, env: dict[str, str]) -> tuple[Path, str]:
    """An app's main package directory, fetched as a Go module through the module proxy
    (`go mod download`, as tests/test_corpus.py does), and its window title."""
    module, below, title = FETCHED[name]
    done = subprocess.run(
        ["go", "mod", "download", "-json", module],
        capture_output=True, text=True, timeout=900, env=env, check=False,
    )
    info = json.loads(done.stdout)
    if done.returncode != 0 or info.get("Error"):
        raise RuntimeError(f"go mod download {module}: {done.stdout}{done.stderr}")
    return Path(info["Dir"]) / below, title


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    r, w = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", "1024x768x24", "-nolisten", "tcp",
         "-noreset"],
        pass_fds=(w,),
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    with os.fdopen(r) as f:
        return xvfb, ":" + f.readline().strip()


def main() -> None:
    global HELLO, TITLE, CWD  # one app per run: sh(), first_frame() and kit() read these
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="also measure cold builds")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--app", default=str(HELLO),
        help=f"a main package's directory, or one of {', '.join(FETCHED)} (fetched)",
    )
    parser.add_argument("--title", default=None, help="its window's title")
    parser.add_argument(
        "--no-cacheprovider", action="store_true",
        help="run pytest with -p no:cacheprovider (as the issue-11 figures did)",
    )
    parser.add_argument(
        "--before", type=Path, default=None,
        help="a directory holding another pytest_fynecheck, timed in the same loop",
    )
    args = parser.parse_args()
    xvfb, display = start_xvfb()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "DISPLAY": display}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            if args.app in FETCHED:
                HELLO, TITLE = fetched_app(args.app, env)
            else:
                HELLO, TITLE = Path(args.app).resolve(), TITLE
            TITLE = args.title or TITLE
            CACHE_ARGS.extend(["-p", "no:cacheprovider"] if args.no_cacheprovider
                              else ["-o", f"cache_dir={Path(tmp, 'pytest-cache')}"])
            if not (HELLO / "pytest.ini").is_file():  # not the app's own pytest root
                CWD = Path(tmp, "run")
                CWD.mkdir()
                PROJECT_ARGS.append(f"--fynecheck-project={HELLO}")
            out = Path(tmp, "hello")
            report = Path(tmp, "readiness.json")
            print(f"app {HELLO}; {args.repeat} runs each; {load()}", flush=True)
            bare(env, out)  # warm both caches first
            kit(env)
            # --before DIR: another tree's kit (e.g. `git archive` of an older commit) in
            # the same loop, so both kits see the same load.
            other = {**env, "PYTHONPATH": os.pathsep.join(
                [str(args.before), env.get("PYTHONPATH", "")])} if args.before else None
            if other is not None:
                kit(other)
            TIMELINES.clear()
            bs, ks, olds = [], [], []
            old_lines: list[dict[str, Any]] = []
            for _ in range(args.repeat):  # alternately: every side sees the same load
                bs.append(bare(env, out))
                ks.append(kit(env, report))
                if other is not None:
                    olds.append(pytest_run(other, "--fynecheck", *PROJECT_ARGS, into=old_lines))
            print(
                f"warm  bare tools {figure(bs)}   pytest --fynecheck {figure(ks)}   "
                f"ratio {med(ks) / med(bs):4.2f} (goal <= 2.0)   {load()}"
            )
            if other is not None:
                first = med([min(s for s, _ in t["checks"].values()) for t in old_lines])
                last = med([max(e for _, e in t["checks"].values()) for t in old_lines])
                print(
                    f"      the kit at --before {args.before}: {figure(olds)}   ratio "
                    f"{med(olds) / med(bs):4.2f}; first check at {first:4.2f}, last check "
                    f"ends {last:4.2f}, exit {med(olds):4.2f} (medians, same loop)"
                )
            where_the_time_goes(env, args.repeat)
            no_display = {k_: v for k_, v in env.items() if k_ != "DISPLAY"}
            k2 = [kit(no_display) for _ in range(args.repeat)]
            print(f"warm  with a private Xvfb (no DISPLAY): pytest --fynecheck {figure(k2)}"
                  f"   {load()}")
            if args.cold:
                # Temporary caches: the machine's warm GOCACHE and kit cache stay warm.
                cold_env = {**env, "GOCACHE": str(Path(tmp, "gocache-bare"))}
                cb = timed(lambda: sh("go", "build", "-o", str(out), ".", env=cold_env))
                print(f"cold  bare go build {cb:6.1f} s", flush=True)
                kit_env = {
                    **env,
                    "GOCACHE": str(Path(tmp, "gocache-kit")),
                    "XDG_CACHE_HOME": str(Path(tmp, "xdg")),
                }
                # A loaded machine's cold build can outlast the kit's default 900 s limit
                # on one command: measure it, as the bare side is, instead of timing out.
                ck = kit(kit_env, None, "-o", "fynecheck_timeout=7200")
                print(
                    f"cold  bare go build {cb:6.1f} s   pytest --fynecheck {ck:6.1f} s   "
                    f"ratio {ck / cb:4.2f} (goal <= 1.2)"
                )
    finally:
        xvfb.terminate()
        xvfb.wait(10)


if __name__ == "__main__":
    main()
