#!/usr/bin/env python3
"""The page probe of the web target: serve a built site and (load mode) prove headless
Chromium draws it.

Standalone: the standard library and Selenium only, no import of the kit. The kit runs it
with the host's Python, or copies it into a suite container (network none) and runs it
with the suite's python3 (bookworm: Python 3.11, python3-selenium 4.8.3).

    webpage.py serve SITE_DIR
        serve SITE_DIR on 127.0.0.1:free-port, fetch every file back, report its MIME type.
    webpage.py load SITE_DIR --shot PNG [--timeout S] [--settle S] [--page index.html]
                   [--browser PATH] [--chromedriver PATH]
        also load the page in headless Chromium (through chromedriver), poll until its
        canvas shows a non-blank frame, write that frame to PNG.
    webpage.py drive SITE_DIR --control SOCKET [--timeout S]
        load the page as `load` does, then answer commands (one JSON object a line) on
        the Unix socket SOCKET until told to quit or the parent dies: the fyne_app
        fixture's web backend (input through Selenium's ActionChains on the canvas,
        frames from canvas screenshots, the console as the app's stdout).

Prints one JSON object, the last line of stdout; progress lines go to stderr, at least
every PROGRESS_EVERY seconds. Exit status 0: the JSON says what was seen ("verdict": ok,
page-error, panic, exited, timeout, missing, no-canvas); 2: bad arguments.

The browser and chromedriver are stopped on every path: the end, an exception, SIGTERM,
SIGINT or SIGHUP, and the parent's death (a SIGKILLed run: PR_SET_PDEATHSIG, and a watch
on getppid). When the probe leads its process group (the kit starts it so), whatever is
left of the group is killed last.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import http.server
import json
import os
import re
import shutil
import signal
import struct
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PROGRESS_EVERY = 5.0  # seconds between progress lines (the kit wants one every 10 s)
POLL = 0.25  # seconds between looks at the canvas
CONSOLE_TAIL = 20  # console lines a timeout reports
QUIT_WAIT = 10.0  # for driver.quit; then the group is killed
# WebGL on a machine without a GPU: SwiftShader, which Chromium enables only when asked.
# --no-sandbox: the suites run as root, where Chromium's sandbox refuses to start.
# --disable-dev-shm-usage: a container's /dev/shm is 64 MB.
CHROMIUM_ARGS = (
    "--headless",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1280,720",
)
# Looked up on PATH in this order; Debian's /usr/bin ones are shell wrappers around
# /usr/lib/chromium/<name>, which chromedriver is given instead (so ending it ends Chromium).
BROWSERS = ("chromium-headless-shell", "chromium")
PACKAGES = {
    "chromium-headless-shell": "chromium-headless-shell",
    "chromedriver": "chromium-driver",
    "selenium": "python3-selenium",
}
# What a dying Go program prints: the runtime's panic and fatal error (its stderr reaches
# the console through wasm_exec.js, a line at a time), and wasm_exec.js's warning when the
# program exits with a status (a GUI app's main never returns while it runs).
GO_DEATH = re.compile(r"^(panic: |fatal error: )")
GO_EXIT = re.compile(r"^exit code: (-?\d+)")
# chromedriver's browser log: "URL LINE:COL rest", rest being the console arguments, each
# string JSON-quoted.
LOG_LINE = re.compile(r"^(\S+) (\d+(?::\d+)?) (.*)$", re.S)

MIME = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".html": "text/html",
    ".css": "text/css",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}


def progress(line: str) -> None:
    print(f"webpage: {line}", file=sys.stderr, flush=True)


# -- serving ------------------------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    # Our own table, not the machine's mimetypes files (a container may lack them).
    extensions_map = {"": "application/octet-stream", **MIME}  # noqa: RUF012

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the JSON reports what was served

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # each load reads this build
        super().end_headers()


@contextlib.contextmanager
def serving(site: Path) -> Iterator[str]:
    """SITE on 127.0.0.1 on a free port (port 0: the kernel picks); yields the base URL."""
    handler = functools.partial(_Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def served_types(base: str, site: Path, timeout: float = 10.0) -> dict[str, Any]:
    """Fetch every file of SITE back from the server: path -> Content-Type (or an error)."""
    found: dict[str, Any] = {}
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        rel = path.relative_to(site).as_posix()
        try:
            with urllib.request.urlopen(base + rel, timeout=timeout) as reply:
                body = reply.read()
                found[rel] = {"type": reply.headers.get("Content-Type", ""),
                              "status": reply.status, "bytes": len(body),
                              "same": len(body) == path.stat().st_size}
        except OSError as exc:
            found[rel] = {"type": "", "status": 0, "error": str(exc)}
    return found


# -- frames -------------------------------------------------------------------------------


def png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, bytes per pixel, unfiltered rows) of an 8-bit RGB/RGBA/gray PNG,
    the kinds Chromium writes. Raises ValueError on anything else."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, bytearray(), 0
    height = bpp = 0
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            bpp = {0: 1, 2: 3, 4: 2, 6: 4}.get(color, 0)
            if depth != 8 or not bpp or interlace:
                raise ValueError(f"PNG kind not read here: depth {depth} color {color}")
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    out = bytearray(stride * height)
    prev = bytearray(stride)
    for y in range(height):
        filt = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if filt == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif filt == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif filt == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif filt == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        elif filt != 0:
            raise ValueError(f"bad PNG filter {filt}")
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return width, height, bpp, bytes(out)


def frame_colors(data: bytes, limit: int = 64) -> int:
    """How many distinct colours the PNG has (counting stops at `limit`): 1 is a blank
    frame (one uniform colour: black, white, transparent or the theme's background)."""
    width, height, bpp, pixels = png_pixels(data)
    seen: set[bytes] = set()
    for i in range(0, width * height * bpp, bpp):
        seen.add(pixels[i:i + bpp])
        if len(seen) >= limit:
            break
    return len(seen)


# -- the browser --------------------------------------------------------------------------


class Stop(BaseException):
    """A signal or the parent's death: stop the browser and exit (not an Exception, so no
    handler on the way mistakes it for a load failure)."""


def _on_signal(signum: int, _frame: object) -> None:
    signal.signal(signum, signal.SIG_IGN)  # once: the cleanup must not be interrupted again
    raise Stop(signal.Signals(signum).name)


def guard_parent() -> None:
    """Stop when the parent dies: PR_SET_PDEATHSIG (Linux) sends SIGTERM, and a thread
    that sees the parent change (another kernel, or the parent gone before prctl) too."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    # (A parent of 1 or 0 may be a container's init or `docker exec`: nothing to tell.)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def rest_of_group() -> list[int]:
    """The other processes of our group, when we lead it (the kit starts the probe so; run
    by hand, the group is the shell's: none)."""
    me = os.getpid()
    if os.getpgrp() != me:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == me:
            found.append(int(entry))
    return found


_announced: set[int] = set()


def announce_processes() -> None:
    """Name chromedriver's and Chromium's new pids for the kit's reaper: a probe SIGKILLed
    alone leaves them, in a group whose leader is gone, and the next run ends each by
    its pid and start time."""
    pids = sorted(set(rest_of_group()) - _announced)
    if pids:
        _announced.update(pids)
        progress("pids " + " ".join(map(str, pids)))


@contextlib.contextmanager
def announcing(every: float = 0.2) -> Iterator[None]:
    """Announce new pids while the block runs (Chromium starts inside one driver call)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            announce_processes()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(every * 5)


def kill_rest_of_group() -> None:
    for pid in rest_of_group():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _real_binary(path: str) -> str:
    """Debian's /usr/bin/chromium* are `sh` scripts that run /usr/lib/chromium/<name>;
    the binary itself, so chromedriver's end of the browser is not the wrapper's."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return path
    if not head.startswith(b"#!"):
        return path
    for word in re.findall(rb"(/[\w./-]*chrom[\w.-]*)", head):
        target = bytes(word).decode()
        if target != path and os.path.isfile(target) and os.access(target, os.X_OK):
            with open(target, "rb") as f:
                if not f.read(2).startswith(b"#!"):
                    return target
    return path


def find_tools(browser: str | None, chromedriver: str | None) -> tuple[dict[str, str], list[str]]:
    """({"browser": path, "chromedriver": path}, the Debian packages of what is missing)."""
    found: dict[str, str] = {}
    missing: list[str] = []
    b = browser or next(filter(None, (shutil.which(n) for n in BROWSERS)), None)
    if b and os.access(b, os.X_OK):
        found["browser"] = _real_binary(b)
    else:
        missing.append(PACKAGES["chromium-headless-shell"])
    d = chromedriver or shutil.which("chromedriver")
    if d and os.access(d, os.X_OK):
        found["chromedriver"] = d
    else:
        missing.append(PACKAGES["chromedriver"])
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append(PACKAGES["selenium"])
    return found, missing


def parse_log(entry: dict[str, Any]) -> dict[str, str]:
    """One chromedriver log entry as {"level", "source", "text", "where"}."""
    message = str(entry.get("message", ""))
    where, text = "", message
    m = LOG_LINE.match(message)
    if m and "://" in m.group(1):
        where, text = f"{m.group(1)} {m.group(2)}", m.group(3)
        if entry.get("source") == "console-api":
            text = _unquote_args(text)
    return {"level": str(entry.get("level", "")), "source": str(entry.get("source", "")),
            "text": text, "where": where}


def _unquote_args(text: str) -> str:
    """Console arguments as the page printed them: strings are JSON-quoted in the log."""
    out: list[str] = []
    decoder = json.JSONDecoder()
    rest = text.strip()
    while rest:
        try:
            value, end = decoder.raw_decode(rest)
        except ValueError:
            out.append(rest)
            break
        out.append(value if isinstance(value, str) else json.dumps(value))
        rest = rest[end:].strip()
    return " ".join(out)


class Page:
    """What the page printed and threw, read from chromedriver's browser log."""

    def __init__(self) -> None:
        self.console: list[dict[str, str]] = []
        self.page_errors: list[str] = []
        self.panics: list[str] = []  # each a panic's or fatal error's text with its trace
        self.exit_code: int | None = None
        # console.error lines and failed requests: named in a pass, no fail by themselves
        # (a page that still draws survived them); the browser's own favicon.ico is none.
        self.console_errors: list[str] = []
        self._panic: list[str] | None = None

    def take(self, entries: list[dict[str, Any]]) -> None:
        for raw in entries:
            entry = parse_log(raw)
            self.console.append(entry)
            if (entry["level"] == "SEVERE" and entry["source"] != "javascript"
                    and "favicon.ico" not in entry["where"] + entry["text"]):
                self.console_errors.append(entry["text"])
            # A Go panic: its "panic:" line and what follows (goroutine trace) until the
            # exit warning; the runtime prints each line to stderr, one console line each.
            for line in entry["text"].splitlines() or [""]:
                self._line(line, entry)

    def _line(self, line: str, entry: dict[str, str]) -> None:
        exited = GO_EXIT.match(line)
        if exited:
            self.exit_code = int(exited.group(1))
            self._panic = None
            return
        if GO_DEATH.match(line):
            self._panic = [line]
            self.panics.append(line)
            return
        if self._panic is not None and entry["source"] == "console-api":
            if len(self._panic) < 40 and line.strip():
                self._panic.append(line)
                self.panics[-1] = "\n".join(self._panic)
            return
        # An uncaught exception (a call into an exited Go program, GO_EXITED, is one too).
        if entry["source"] == "javascript":
            self.page_errors.append(line)

    def tail(self, n: int = CONSOLE_TAIL) -> list[str]:
        return [f"[{e['level']} {e['source']}] {e['text']}" for e in self.console[-n:]]

    def verdict(self) -> str:
        if self.panics:
            return "panic"
        if self.exit_code is not None:
            return "exited"
        if self.page_errors:
            return "page-error"
        return ""


CANVAS_JS = """
const all = Array.from(document.querySelectorAll('canvas'));
if (!all.length) return null;
const area = (c) => c.getBoundingClientRect().width * c.getBoundingClientRect().height;
all.sort((a, b) => area(b) - area(a));
const c = all[0], r = c.getBoundingClientRect();
return {count: all.length, width: c.width, height: c.height,
        css_width: Math.round(r.width), css_height: Math.round(r.height)};
"""
CANVAS_ELEMENT_JS = """
const all = Array.from(document.querySelectorAll('canvas'));
const area = (c) => c.getBoundingClientRect().width * c.getBoundingClientRect().height;
all.sort((a, b) => area(b) - area(a));
return all[0] || null;
"""


def load(args: argparse.Namespace, site: Path, result: dict[str, Any]) -> None:
    """Fill `result` with what loading the page showed; the caller prints it."""
    found, missing = find_tools(args.browser, args.chromedriver)
    result["tools"] = found
    if missing:
        result.update(verdict="missing", missing=missing)
        return
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service

    timings: dict[str, float] = {}
    result["timings"] = timings
    page = Page()
    start = time.monotonic()
    options = webdriver.ChromeOptions()
    options.binary_location = found["browser"]
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager (which would go to the network) is skipped.
    service = Service(found["chromedriver"])  # its log: DEVNULL (Selenium 4.8 and 4.5x)
    driver: Any = None
    shot: bytes | None = None
    try:
        progress(f"starting {found['browser']} through {found['chromedriver']}")
        try:
            with announcing():
                driver = webdriver.Chrome(options=options, service=service)
        except WebDriverException as exc:
            result.update(verdict="no-browser", error=_first_lines(exc.msg or str(exc)))
            return
        timings["launch"] = round(time.monotonic() - start, 3)
        announce_processes()
        driver.set_page_load_timeout(max(1.0, args.timeout))
        driver.set_script_timeout(10)
        url = result["url"] + args.page
        progress(f"loading {url}")
        t_get = time.monotonic()
        try:
            driver.get(url)
            timings["page_loaded"] = round(time.monotonic() - t_get, 3)
        except TimeoutException:
            pass  # its load event never came: the loop below reports the timeout, with console
        announce_processes()  # the page's renderer is new
        deadline = t_get + args.timeout
        settle_until: float | None = None
        canvas: dict[str, Any] | None = None
        colors = 0
        last_note = time.monotonic()
        while True:
            page.take(driver.get_log("browser"))
            now = time.monotonic()
            # A panic's trace comes in the next lines: read them for 0.5 s, then stop.
            if page.verdict() and (settle_until is None or settle_until - now > 0.5):
                settle_until = now + 0.5
            if settle_until is None:
                info = driver.execute_script(CANVAS_JS)
                if info:
                    canvas = dict(info)
                    timings.setdefault("first_canvas", round(now - t_get, 3))
                    element = driver.execute_script(CANVAS_ELEMENT_JS)
                    with contextlib.suppress(WebDriverException):
                        png = element.screenshot_as_png if element else None
                        if png:
                            shot = png
                            colors = frame_colors(png)
                    if colors > 1:
                        timings["first_frame"] = round(time.monotonic() - t_get, 3)
                        # A panic just after the first frame is still a failure: look on.
                        settle_until = time.monotonic() + args.settle
            if settle_until is not None and time.monotonic() >= settle_until:
                break
            if time.monotonic() >= deadline:
                break
            if time.monotonic() - last_note >= PROGRESS_EVERY:
                last_note = time.monotonic()
                announce_processes()
                progress(f"waiting for a non-blank frame: {time.monotonic() - t_get:.0f} s of "
                         f"{args.timeout:g} s, {len(page.console)} console lines"
                         + (f", canvas {canvas['width']}x{canvas['height']} "
                            f"with {colors} colour{'s' * (colors != 1)}" if canvas else
                            ", no canvas yet"))
            time.sleep(POLL)
        result["canvas"] = canvas
        result["colors"] = colors
        bad = page.verdict()
        if bad:
            result["verdict"] = bad
        elif "first_frame" in timings:
            result["verdict"] = "ok"
        else:
            result["verdict"] = "timeout" if canvas else "no-canvas"
    finally:
        result["console"] = page.tail(200)
        result["console_tail"] = page.tail()
        result["page_errors"] = page.page_errors
        result["console_errors"] = page.console_errors
        result["panics"] = page.panics
        result["exit_code"] = page.exit_code
        if shot and args.shot:
            Path(args.shot).write_bytes(shot)
            result["screenshot"] = args.shot
        if driver is not None:
            _quit(driver)
        else:
            with contextlib.suppress(Exception):
                service.stop()
        timings["total"] = round(time.monotonic() - start, 3)


def _quit(driver: Any) -> None:
    """driver.quit() ends Chromium and chromedriver; bounded, then the group is killed."""
    done = threading.Event()

    def quit_() -> None:
        with contextlib.suppress(Exception):
            driver.quit()
        done.set()

    threading.Thread(target=quit_, daemon=True).start()
    done.wait(QUIT_WAIT)


def _first_lines(text: str, n: int = 6) -> str:
    lines = [line for line in text.strip().splitlines() if not line.startswith("#")]
    return "\n".join(lines[:n])


# -- drive mode ---------------------------------------------------------------------------

# X keysym names (what fyne_app.key takes on X) to Selenium's Keys attribute names.
KEYSYMS = {
    "backspace": "BACKSPACE", "return": "ENTER", "enter": "ENTER", "kp_enter": "ENTER",
    "tab": "TAB", "escape": "ESCAPE", "delete": "DELETE", "left": "LEFT", "right": "RIGHT",
    "up": "UP", "down": "DOWN", "home": "HOME", "end": "END", "page_up": "PAGE_UP",
    "prior": "PAGE_UP", "page_down": "PAGE_DOWN", "next": "PAGE_DOWN", "space": "SPACE",
    "ctrl": "CONTROL", "control": "CONTROL", "shift": "SHIFT", "alt": "ALT",
    "super": "META", "meta": "META",
}


def key_chord(name: str) -> list[str] | None:
    """An X keysym chord ("ctrl+a", "Return") as the keys Selenium presses, in order;
    None when a part names no key."""
    from selenium.webdriver.common.keys import Keys

    keys = []
    for part in name.split("+"):
        attr = KEYSYMS.get(part.lower())
        if attr is not None:
            keys.append(getattr(Keys, attr))
        elif len(part) == 1:
            keys.append(part)
        elif re.fullmatch(r"[Ff]([1-9]|1[0-2])", part):
            keys.append(getattr(Keys, part.upper()))
        else:
            return None
    return keys


def start_browser(found: dict[str, str]) -> Any:
    """Chromium with the probe's flags, through chromedriver, its console logged."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found["browser"]
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with announcing():
        driver = webdriver.Chrome(options=options, service=Service(found["chromedriver"]))
    announce_processes()
    return driver


class Driven:
    """The loaded page and the commands fyne_app sends it."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.page = Page()
        self.canvas: Any = None

    def console(self) -> list[str]:
        self.page.take(self.driver.get_log("browser"))
        return [e["text"] for e in self.page.console]

    def shot(self, path: str) -> dict[str, Any]:
        """The canvas's pixels now, written to `path` (PNG)."""
        if self.canvas is None:
            self.canvas = self.driver.execute_script(CANVAS_ELEMENT_JS)
        if self.canvas is None:
            return {"ok": False, "error": "the page has no canvas"}
        png = self.canvas.screenshot_as_png
        Path(path).write_bytes(png)
        width, height, _, _ = png_pixels(png)
        return {"ok": True, "width": width, "height": height}

    def command(self, req: dict[str, Any]) -> dict[str, Any]:
        from selenium.webdriver.common.action_chains import ActionChains

        op = req.get("op")
        self.page.take(self.driver.get_log("browser"))
        dead = self.page.verdict()
        if dead and op not in ("console", "quit"):
            return {"ok": False, "error": f"the page's program ended ({dead})",
                    "console": self.page.tail()}
        if op == "console":
            return {"ok": True, "lines": self.console()}
        if op == "shot":
            return self.shot(str(req["path"]))
        if op == "click":
            rect = self.canvas.rect if self.canvas is not None else {"width": 0, "height": 0}
            # Selenium 4 offsets from the element's centre; the kit's coordinates are the
            # canvas's, from its top-left corner (CSS pixels: the device scale is 1 here).
            dx = int(req["x"]) - int(rect["width"]) // 2
            dy = int(req["y"]) - int(rect["height"]) // 2
            chain = ActionChains(self.driver).move_to_element_with_offset(self.canvas, dx, dy)
            chain.click().perform()
            return {"ok": True}
        if op == "type":
            ActionChains(self.driver).send_keys(str(req["text"])).perform()
            return {"ok": True}
        if op == "key":
            keys = key_chord(str(req["name"]))
            if keys is None:
                return {"ok": False, "error": f"no key named {req['name']!r} (X keysym "
                        f"names: {', '.join(sorted(KEYSYMS))}, F1-F12, or one character)"}
            chain = ActionChains(self.driver)
            for k in keys[:-1]:
                chain.key_down(k)
            chain.send_keys(keys[-1])
            for k in reversed(keys[:-1]):
                chain.key_up(k)
            chain.perform()
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {op!r}"}


def drive(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """Load the page, wait for a non-blank canvas frame, then serve commands on the
    control socket until "quit" (or a signal, or the parent's death)."""
    import socket

    found, missing = find_tools(args.browser, args.chromedriver)
    result["tools"] = found
    if missing:
        result.update(verdict="missing", missing=missing)
        return
    from selenium.common.exceptions import WebDriverException

    timings: dict[str, float] = {}
    result["timings"] = timings
    driver: Any = None
    start = time.monotonic()
    try:
        progress(f"starting {found['browser']} through {found['chromedriver']}")
        try:
            driver = start_browser(found)
        except WebDriverException as exc:
            result.update(verdict="no-browser", error=_first_lines(exc.msg or str(exc)))
            return
        timings["launch"] = round(time.monotonic() - start, 3)
        driver.set_page_load_timeout(max(1.0, args.timeout))
        driver.set_script_timeout(10)
        driven = Driven(driver)
        t_get = time.monotonic()
        driver.get(result["url"] + args.page)
        announce_processes()
        deadline = t_get + args.timeout
        while True:  # one-shot screenshots flake: poll for a frame of more than one colour
            if driven.page.verdict() or time.monotonic() >= deadline:
                break
            driven.canvas = driver.execute_script(CANVAS_ELEMENT_JS)
            if driven.canvas is not None:
                with contextlib.suppress(WebDriverException):
                    if frame_colors(driven.canvas.screenshot_as_png) > 1:
                        break
            driven.page.take(driver.get_log("browser"))
            time.sleep(POLL)
        timings["first_frame"] = round(time.monotonic() - t_get, 3)
        bad = driven.page.verdict()
        if bad or time.monotonic() >= deadline:
            result.update(verdict=bad or "timeout", console_tail=driven.page.tail(),
                          panics=driven.page.panics, page_errors=driven.page.page_errors)
            return
        announce_processes()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(args.control)
        server.listen(1)
        # The ready line: the host connects after it (a line, not the JSON: that is last).
        progress(f"ready {json.dumps({'timings': timings})}")
        conn, _ = server.accept()
        with conn, conn.makefile("rwb") as stream:
            for raw in stream:
                req = json.loads(raw)
                if req.get("op") == "quit":
                    stream.write(b'{"ok": true}\n')
                    stream.flush()
                    break
                try:
                    reply = driven.command(req)
                except WebDriverException as exc:
                    reply = {"ok": False, "error": _first_lines(exc.msg or str(exc))}
                stream.write(json.dumps(reply).encode() + b"\n")
                stream.flush()
        result["verdict"] = "ok"
        result["console"] = driven.page.tail(200)
    finally:
        if driver is not None:
            _quit(driver)
        timings["total"] = round(time.monotonic() - start, 3)


# -- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="webpage.py", description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("serve", "load", "drive"))
    parser.add_argument("site", type=Path)
    parser.add_argument("--page", default="index.html")
    parser.add_argument("--shot", default="")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--browser", default=None)
    parser.add_argument("--chromedriver", default=None)
    parser.add_argument("--control", default="")
    args = parser.parse_args(argv)
    site: Path = args.site.resolve()
    if not (site / args.page).is_file():
        print(json.dumps({"mode": args.mode, "verdict": "bad-site",
                          "error": f"{site / args.page} is not a file"}))
        return 0
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    result: dict[str, Any] = {"mode": args.mode, "site": str(site), "verdict": ""}
    try:
        guard_parent()
        with serving(site) as base:
            result["url"] = base
            if args.mode != "drive":  # drive is a test's launch: no 38 MB fetched back
                result["served"] = served_types(base, site)
            if args.mode == "serve":
                result["verdict"] = "ok"
            elif args.mode == "drive":
                drive(args, result)
            else:
                load(args, site, result)
    except Stop as stop:
        result.update(verdict="stopped", error=f"stopped by {stop}")
    except Exception as exc:  # the JSON still says what happened
        result.update(verdict="error", error=f"{type(exc).__name__}: {_first_lines(str(exc))}")
    finally:
        kill_rest_of_group()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
