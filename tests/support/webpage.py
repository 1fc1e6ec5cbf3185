"""A stand-in page probe for the SUITE-web container's plumbing tests (tests/test_web_suites.py):
the kit's own probe is the browser part's (pytest_fynecheck/probes/); this one only proves
that a script copied into the container's scratch can serve a site there (loopback only:
the container has no network), that the suite's headless Chromium loads and draws it
without a display, and that the screenshot it writes reaches the host.

Standard library only, Python >= 3.11 (bookworm's python3): run as a script in the
container. `python3 webpage.py SITE_DIR SCREENSHOT [STAY_SECONDS]` prints one JSON object:
the port, each file's Content-Type as served, and Chromium's exit status and output tail.
With STAY_SECONDS the browser is kept drawing the page that long first (the kill test).
With `selenium` for STAY_SECONDS, the page is loaded through the image's driver stack instead
(python3-selenium, chromedriver, chromium-headless-shell): the canvas's screenshot and the
browser's console log.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

# A page the stand-in serves: a canvas drawn by 2D JS (no WebGL, no wasm: the plumbing only).
PAGE = """<!doctype html><meta charset=utf-8><title>stand-in</title>
<body style="margin:0;background:#fff"><canvas id=c width=240 height=120></canvas><script>
const g = document.getElementById("c").getContext("2d");
g.fillStyle = "#c03"; g.fillRect(20, 20, 200, 80);
</script>"""

BROWSER = "chromium-headless-shell"
SHELL = "/usr/lib/chromium/chromium-headless-shell"  # the binary the wrapper above runs


class _Handler(http.server.SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return "application/wasm" if str(path).endswith(".wasm") else super().guess_type(path)

    def log_message(self, format: str, *args: object) -> None:
        pass  # stdout is the JSON answer


def _selenium(url: str, shot: Path) -> dict[str, object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = SHELL
    for flag in ("--no-sandbox", "--disable-dev-shm-usage", "--window-size=320,200"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit chromedriver: Selenium Manager (which would go online) never runs.
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    logs: Any = driver  # get_log is untyped in Selenium 4
    try:
        driver.get(url)
        driver.execute_script("console.log('stand-in says hi')")
        driver.find_element(By.ID, "c").screenshot(str(shot))
        return {"selenium": True, "version": driver.capabilities.get("browserVersion", ""),
                "console": [e.get("message", "") for e in logs.get_log("browser")]}
    finally:
        driver.quit()


def main(site: Path, shot: Path, mode: str) -> dict[str, object]:
    handler = functools.partial(_Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        types = {}
        for f in sorted(p.name for p in site.iterdir()):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{f}", timeout=10) as r:
                types[f] = r.headers.get("Content-Type", "")
        url = f"http://127.0.0.1:{port}/index.html"
        # Root in a capability-less container: Chromium's own sandbox cannot start there.
        flags = ["--no-sandbox", "--disable-dev-shm-usage", "--window-size=320,200"]
        if mode == "selenium":
            return {"port": port, "types": types, **_selenium(url, shot)}
        if mode:
            # The kill test: a browser that stays on the page until the run is SIGKILLed.
            stays = subprocess.Popen([BROWSER, *flags, "--remote-debugging-port=0", url],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                stays.wait(float(mode))
            except subprocess.TimeoutExpired:
                stays.kill()
                stays.wait()
        done = subprocess.run([BROWSER, *flags, f"--screenshot={shot}", url],
                              capture_output=True, text=True, timeout=60, check=False)
        return {"port": port, "types": types, "returncode": done.returncode,
                "tail": done.stderr.strip().splitlines()[-5:]}
    except subprocess.TimeoutExpired:
        return {"port": port, "timeout": True}
    finally:
        server.shutdown()


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]),
                          sys.argv[3] if len(sys.argv) > 3 else "")))
