"""Which driver library the web target uses, by measurement (issue 24): Playwright for
Python driving the system Chromium vs Selenium 4 with Debian's chromedriver.

Each of N loads (a fresh browser each, as web.window does) of the same built page:
launch -> ready (driver and browser up), then goto -> first non-blank canvas frame
(element screenshot, polled; the probe's own colour count), then close. Prints per
driver: ok count, launch median/max, first-frame median/max, and processes left over.

    python bench/web_driver.py SITE_DIR [N]     # SITE_DIR: index.html, wasm_exec.js, app.wasm
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"
CHROMEDRIVER = "/usr/bin/chromedriver"
TIMEOUT = 60.0


def _probe() -> ModuleType:
    path = ROOT / "pytest_fynecheck" / "probes" / "webpage" / "webpage.py"
    spec = importlib.util.spec_from_file_location("webpage", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROBE = _probe()


def _poll(shot: Callable[[], bytes]) -> float:
    """Seconds until `shot` returns a non-blank frame; raises TimeoutError."""
    start = time.monotonic()
    while time.monotonic() - start < TIMEOUT:
        try:
            if PROBE.frame_colors(shot()) > 1:
                return time.monotonic() - start
        except Exception:  # no canvas yet
            pass
        time.sleep(PROBE.POLL)
    raise TimeoutError


def load_playwright(url: str) -> tuple[float, float, int]:
    from playwright.sync_api import sync_playwright

    t0 = time.monotonic()
    with sync_playwright() as pw:
        # Playwright adds --headless and --no-sandbox itself.
        args = [a for a in PROBE.CHROMIUM_ARGS if a not in ("--headless", "--no-sandbox")]
        browser = pw.chromium.launch(executable_path=HEADLESS_SHELL, args=args)
        try:
            page = browser.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text))
            page.on("pageerror", lambda e: console.append(str(e)))
            ready = time.monotonic() - t0
            page.goto(url)
            frame = _poll(lambda: page.locator("canvas").first.screenshot(timeout=2000))
        finally:
            browser.close()
    return ready, frame, len(console)


def load_selenium(url: str) -> tuple[float, float, int]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    t0 = time.monotonic()
    options = webdriver.ChromeOptions()
    options.binary_location = HEADLESS_SHELL
    for arg in PROBE.CHROMIUM_ARGS:  # with --headless and --no-sandbox (root)
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        ready = time.monotonic() - t0
        driver.get(url)
        frame = _poll(lambda: driver.find_element(By.TAG_NAME, "canvas").screenshot_as_png)
        console = driver.get_log("browser")  # type: ignore[no-untyped-call]
    finally:
        driver.quit()
    return ready, frame, len(console)


def _ours() -> list[str]:
    """chromium/chromedriver processes whose ancestor is this bench."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,comm="], capture_output=True, text=True)
    parent: dict[int, int] = {}
    name: dict[int, str] = {}
    for line in out.stdout.splitlines():
        a, b, comm = line.split(None, 2)
        parent[int(a)], name[int(a)] = int(b), comm
    left = []
    for pid, comm in name.items():
        up = pid
        while up > 1 and up != os.getpid():
            up = parent.get(up, 0)
        if up == os.getpid() and ("chrom" in comm or "headless" in comm):
            left.append(f"{pid} {comm}")
    return left


def run(name: str, load: Callable[[str], tuple[float, float, int]], url: str,
        n: int) -> dict[str, Any]:
    readies, frames, fails, leftovers = [], [], [], 0
    for i in range(n):
        try:
            ready, frame, _lines = load(url)
            readies.append(ready)
            frames.append(frame)
        except Exception as exc:
            fails.append(f"load {i}: {type(exc).__name__}: {exc}"[:300])
        time.sleep(0.3)
        leftovers += len(_ours())
        print(f"  {name} {i + 1}/{n}: "
              f"{'ok' if len(readies) + len(fails) == i + 1 and not fails[i:] else 'FAIL'}",
              file=sys.stderr, flush=True)
    return {"driver": name, "ok": len(readies), "n": n, "fails": fails,
            "launch_median": statistics.median(readies) if readies else None,
            "launch_max": max(readies, default=None),
            "frame_median": statistics.median(frames) if frames else None,
            "frame_max": max(frames, default=None), "leftover_processes": leftovers}


def main() -> None:
    site = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with PROBE.serving(site) as base:
        url = base + "index.html"
        results = [run("playwright", load_playwright, url, n),
                   run("selenium", load_selenium, url, n)]
    for r in results:
        if not r["ok"]:
            print(f"{r['driver']:10} ok 0/{r['n']}")
            continue
        print(f"{r['driver']:10} ok {r['ok']}/{r['n']}  launch median {r['launch_median']:.2f} s"
              f" max {r['launch_max']:.2f} s  first frame median {r['frame_median']:.2f} s"
              f" max {r['frame_max']:.2f} s  leftover processes {r['leftover_processes']}")
        for f in r["fails"]:
            print("   ", f)
    pw, se = results
    if pw["ok"] and se["ok"]:
        print(f"ratio launch selenium/playwright: {se['launch_median'] / pw['launch_median']:.2f}"
              f"  first frame: {se['frame_median'] / pw['frame_median']:.2f}")


if __name__ == "__main__":
    main()
