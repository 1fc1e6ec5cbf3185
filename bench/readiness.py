"""Figures for issue 11: `pytest --fynecheck` on fixtures/hello against the bare tools it runs.

    python bench/readiness.py            # warm figures and where the time goes (a minute)
    python bench/readiness.py --cold     # also cold: empty GOCACHE for both sides (minutes)
    python bench/readiness.py --app "$(go env GOMODCACHE)/fyne.io/fyne/v2@v2.7.1/cmd/fyne_demo" \
        --title "Fyne Demo"              # another app: its main package's directory

Both sides run in this one run, alternately, on the same display, so the ratio is fair on
a machine that others load too. Python runs with its bytecode cache, as on a user's
machine: with PYTHONDONTWRITEBYTECODE set, pytest re-rewrites every module of each
pytest11 plugin's distribution (all of Hypothesis) at every start.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stopwatch import timed

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "fixtures" / "hello"
TITLE = "fynecheck hello"


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


def pytest_run(env: dict[str, str], *args: str) -> float:
    """Seconds of one `pytest ARGS` in fixtures/hello (it must pass)."""

    def run() -> None:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
            cwd=HELLO,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode not in (0, 5):  # 5: --co without --fynecheck collects nothing
            raise RuntimeError(done.stdout[-3000:])

    return timed(run)


def kit(env: dict[str, str], report: Path | None = None, *args: str) -> float:
    extra = [f"--fynecheck-json={report}"] if report else []
    return pytest_run(env, "--fynecheck", *extra, *args)


def where_the_time_goes(env: dict[str, str], report: Path, repeat: int) -> None:
    """pytest's own start, what the kit's plugins add to it, and the slowest checks (they
    run in parallel: the longest chain bounds the run)."""
    plain = min(pytest_run(env, "--co", "-p", "no:fynecheck") for _ in range(repeat))
    loaded = min(pytest_run(env, "--co") for _ in range(repeat))
    print(f"      pytest start-up without the kit (--co -p no:fynecheck) {plain:5.2f} s")
    print(f"      the kit's plugins (--co: imports, session hooks) +{loaded - plain:4.2f} s")
    checks = json.loads(report.read_text())["checks"]
    slow = sorted(checks, key=lambda c: -c["seconds"])[:6]
    print("      slowest checks: " + ", ".join(f"{c['id']} {c['seconds']:.2f} s" for c in slow))


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
    global HELLO, TITLE  # one app per run: sh(), first_frame() and kit() read these
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="also measure cold builds")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--app", type=Path, default=HELLO, help="a main package's directory")
    parser.add_argument("--title", default=TITLE, help="its window's title")
    args = parser.parse_args()
    HELLO, TITLE = args.app.resolve(), args.title
    xvfb, display = start_xvfb()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "DISPLAY": display}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            out = Path(tmp, "hello")
            report = Path(tmp, "readiness.json")
            bare(env, out)  # warm both caches first
            kit(env)
            bs, ks = [], []
            for _ in range(args.repeat):  # alternately: both sides see the same load
                bs.append(bare(env, out))
                ks.append(kit(env, report))
            b, k = min(bs), min(ks)
            print(
                f"warm  bare tools {b:6.2f} s   pytest --fynecheck {k:6.2f} s   "
                f"ratio {k / b:4.2f} (goal <= 1.5)"
            )
            where_the_time_goes(env, report, args.repeat)
            no_display = {k_: v for k_, v in env.items() if k_ != "DISPLAY"}
            k2 = min(kit(no_display) for _ in range(args.repeat))
            print(f"warm  with a private Xvfb (no DISPLAY): pytest --fynecheck {k2:6.2f} s")
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
