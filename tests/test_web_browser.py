"""The web target's browser half (issue 24): web.serve and web.window with real js/wasm
builds and the real headless Chromium (Selenium + Debian's chromedriver), nothing mocked.

- fixtures/hello and fyne's cmd/fyne_demo pass web.window on `--fynecheck-os web`;
- fixtures/webpanic (panics at start, only in the browser) fails naming the panic;
- fixtures/webnodraw (never draws) fails within the timeout with the console tail;
- fixtures/webpages: a canvas that stays one colour is never a pass, a page that throws
  after its first frame is a fail;
- 20 loads in a row of the same build all pass;
- no Chromium on PATH names the apt packages;
- after a pass, a fail, a timeout and a SIGKILLed run (then the next run) no chromium or
  chromedriver process of ours is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FynecheckRun, path_without, run_fynecheck
from support.env import cache_env
from support.proc import live_processes
from support.sample import ROOT

from pytest_fynecheck.core.context import Context, wait_until
from pytest_fynecheck.web import browser
from pytest_fynecheck.web.build import make_site

FIXTURES = ROOT / "fixtures"
PAGES = FIXTURES / "webpages"
FYNE = "fyne.io/fyne/v2@v2.7.1"
LOADS = 20
BROWSER_NAMES = ("chromium", "chromium-headle", "chromedriver", "chrome_crashpad")
WEB = ("--fynecheck-os", "web")


def _copy(name: str, tmp: Path) -> Path:
    dest = tmp / name
    shutil.copytree(FIXTURES / name, dest, ignore=shutil.ignore_patterns(".pytest_cache"))
    return dest


def _web_run(pytester: pytest.Pytester, project: Path, *args: str,
             env: dict[str, str] | None = None) -> FynecheckRun:
    return run_fynecheck(pytester, project, *WEB, "-k", "web", *args, env=env)


def _ours(marker: str) -> list[str]:
    """Browser and driver processes whose environment names `marker` (a test's own TMPDIR:
    every process a run starts inherits it, and nothing else has it)."""
    found = []
    for pid, name, _fields in live_processes():
        if not name.startswith(BROWSER_NAMES):
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ:
            found.append(f"{pid} {name}")
    return found


def _host(tmp: Path) -> Context:
    """A host context as a run makes one (TMPDIR in its scratch), outside a run."""
    scratch = tmp / "scratch"
    scratch.mkdir(exist_ok=True)
    return Context(tmp, scratch, tmp / "cache", environ={**os.environ, "TMPDIR": str(scratch)})


def _wasm_site(app: Path, where: Path) -> Path:
    """`app` built for js/wasm by a bare `go build`, in the site the kit makes for it
    (web/build.make_site: its index.html and the toolchain's wasm_exec.js)."""
    env = {**os.environ, **cache_env(), "GOOS": "js", "GOARCH": "wasm", "CGO_ENABLED": "0"}
    wasm = where / "app.wasm"
    subprocess.run(["go", "build", "-o", str(wasm), "."], cwd=app, env=env, check=True,
                   timeout=900)
    return make_site(_host(where), wasm, app.name).dir


@pytest.fixture(scope="module")
def hello_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fixtures/hello built for js/wasm with the toolchain's wasm_exec.js: a site."""
    return _wasm_site(FIXTURES / "hello", tmp_path_factory.mktemp("hello-site"))


def _frame_colours(png: Path) -> int:
    """The probe's own colour count (it is a script, not a module of the kit)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import webpage; "
            "print(webpage.frame_colors(open(sys.argv[2], 'rb').read()))")
    out = subprocess.run([sys.executable, "-c", code, str(browser.PROBE.parent), str(png)],
                         capture_output=True, text=True, check=True, timeout=60)
    return int(out.stdout)


# -- through pytest: hello, fyne_demo, the panic, the page that never draws --------------


@pytest.mark.slow  # a js/wasm build of Fyne: ~1 min cold
def test_hello_passes_web_window(pytester: pytest.Pytester, tmp_path: Path) -> None:
    marker = tmp_path / "tmp"
    marker.mkdir()
    run = _web_run(pytester, _copy("hello", tmp_path), env={"TMPDIR": str(marker)})
    serve, window = run.checks["web.serve"], run.checks["web.window"]
    assert serve["status"] == "ok", run
    assert "app.wasm application/wasm" in serve["detail"], serve
    assert window["status"] == "ok", run
    assert "first non-blank frame" in window["detail"] and "canvas 1280x720" in window["detail"]
    shot = Path(window["artifacts"]["screenshot"])
    assert shot.is_file() and _frame_colours(shot) > 10, window
    assert _ours(str(marker)) == [], "a browser outlived a passing run"


@pytest.mark.slow  # cold: the demo's js/wasm build takes minutes
def test_fyne_demo_from_the_module_proxy_passes(pytester: pytest.Pytester, tmp_path: Path) -> None:
    done = subprocess.run(["go", "mod", "download", "-json", FYNE], capture_output=True,
                          text=True, timeout=900, env={**os.environ, **cache_env()})
    info = json.loads(done.stdout)
    assert done.returncode == 0 and not info.get("Error"), (done.stdout, done.stderr)
    demo = Path(info["Dir"]) / "cmd" / "fyne_demo"
    run = _web_run(pytester, demo, "-o", "fynecheck_window_timeout=120")
    window = run.checks["web.window"]
    assert window["status"] == "ok", run
    assert _frame_colours(Path(window["artifacts"]["screenshot"])) > 10, window


@pytest.mark.slow
def test_a_panic_in_the_browser_fails_naming_it(pytester: pytest.Pytester, tmp_path: Path) -> None:
    project = _copy("webpanic", tmp_path)
    message = next(line.split('"')[1] for line in (project / "main.go").read_text().splitlines()
                   if line.startswith("const Message"))
    run = _web_run(pytester, project)
    window = run.checks["web.window"]
    assert window["status"] == "fail", run
    assert "the app panicked in the browser" in window["detail"]
    assert f"panic: {message}" in window["detail"], window
    assert "main.main()" in window["detail"], window  # its trace, not the first line alone
    assert run.ret == 1


def test_a_page_that_never_draws_fails_with_its_console_tail(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    project = _copy("webnodraw", tmp_path)
    started = time.monotonic()
    run = _web_run(pytester, project, "-o", "fynecheck_window_timeout=6")
    took = time.monotonic() - started
    window = run.checks["web.window"]
    assert window["status"] == "fail", run
    assert "no frame drawn within 6 s: the page made no canvas" in window["detail"], window
    assert "webnodraw: still not drawing" in window["detail"], window
    assert "fynecheck_window_timeout" in window["hint"]
    assert took < 300, f"the run took {took:.0f} s"  # bounded: no wait without a timeout


def test_no_chromium_names_the_apt_packages(pytester: pytest.Pytester, tmp_path: Path) -> None:
    path = path_without("chromium", "chromedriver", tmp=tmp_path)
    run = _web_run(pytester, _copy("webnodraw", tmp_path), env={"PATH": path})
    window = run.checks["web.window"]
    assert window["status"] == "fail", run
    assert "missing chromium-headless-shell, chromium-driver" in window["detail"], window
    assert "apt-get install chromium-headless-shell chromium-driver" in window["hint"], window


# -- the probe itself: wrong verdicts, 20 loads, serving -----------------------------------


def _load(tmp: Path, site: Path, timeout: float = 60.0) -> dict[str, Any]:
    ctx = _host(tmp)
    shot = tmp / "shot.png"
    shot.unlink(missing_ok=True)
    return browser.run_probe(ctx, "load", site, step="test", timeout=timeout, shot=shot)


def test_a_canvas_of_one_colour_is_never_a_pass(tmp_path: Path) -> None:
    report = _load(tmp_path, PAGES / "blank", timeout=4)
    assert report["verdict"] == "timeout", report
    assert report["canvas"]["width"] == 640 and report["colors"] == 1, report
    assert "blank: cleared the canvas" in "\n".join(report["console_tail"])


def test_a_page_that_throws_after_drawing_fails(tmp_path: Path) -> None:
    report = _load(tmp_path, PAGES / "throws")
    assert report["verdict"] == "page-error", report
    assert report["page_errors"] == ["Uncaught Error: throws: the page broke after its first frame"]


def test_a_go_panic_after_the_first_frame_fails(tmp_path: Path) -> None:
    report = _load(tmp_path, PAGES / "panics-late")
    assert "first_frame" in report["timings"], report  # it did draw first
    assert report["verdict"] == "panic", report
    assert report["panics"][0].startswith("panic: panics-late: a goroutine died"), report


def test_a_go_program_that_exits_fails(tmp_path: Path) -> None:
    site = _wasm_site(FIXTURES / "webexit", tmp_path)
    report = _load(tmp_path, site, timeout=120)
    assert report["verdict"] == "exited" and report["exit_code"] == 3, report
    assert "webexit: no configuration" in "\n".join(report["console_tail"])


@pytest.mark.slow
def test_twenty_loads_in_a_row_all_pass(tmp_path: Path, hello_site: Path) -> None:
    verdicts = [_load(tmp_path, hello_site)["verdict"] for _ in range(LOADS)]
    ok = verdicts.count("ok")
    print(f"{ok}/{LOADS} loads drew a frame; flakes {LOADS - ok}/{LOADS}")
    assert ok == LOADS, verdicts
    assert _ours(str(tmp_path)) == []


def test_serving_names_what_the_site_lacks(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html>")
    (site / "app.wasm").write_bytes(b"\0asm\1\0\0\0")
    report = browser.run_probe(_host(tmp_path), "serve", site, step="test")
    assert report["served"]["app.wasm"]["type"] == "application/wasm", report
    assert browser.served_problems(report) == ["the site has no wasm_exec.js"]


# -- nothing left running ------------------------------------------------------------------


class _Runs:
    """`pytest --fynecheck --fynecheck-os web` runs with a private TMPDIR (the marker of
    their processes) and kit cache."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.tmpdir = tmp / "tmp"
        self.tmpdir.mkdir()
        self.env = {**os.environ, **cache_env(), "TMPDIR": str(self.tmpdir),
                    "XDG_CACHE_HOME": str(tmp / "xdg-cache")}
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, project: Path, *args: str, k: str = "web.serve or web.window"
              ) -> subprocess.Popen[str]:
        where = self.tmp / f"run{len(self.procs)}"
        where.mkdir()
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--fynecheck", f"--fynecheck-project={project}",
             "-p", "no:cacheprovider", "-p", "no:xdist", *WEB, "-k", k, *args],
            cwd=where, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def ours(self) -> list[str]:
        return _ours(str(self.tmpdir))

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for pid, _name, _fields in live_processes():  # not this test's concern: only ours
            with contextlib.suppress(OSError):
                if str(self.tmpdir).encode() in Path(f"/proc/{pid}/environ").read_bytes():
                    os.kill(pid, signal.SIGKILL)


def _reads(pid: int, what: str, text: str) -> bool:
    try:
        return text.encode() in Path(f"/proc/{pid}/{what}").read_bytes()
    except OSError:
        return False


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[_Runs]:
    made = _Runs(tmp_path)
    yield made
    made.close()


@pytest.mark.slow
def test_no_browser_is_left_after_pass_fail_and_timeout(runs: _Runs, tmp_path: Path) -> None:
    for name, expected in (("hello", 0), ("webpanic", 1), ("webnodraw", 1)):
        proc = runs.start(_copy(name, tmp_path), "-o", "fynecheck_window_timeout=6")
        out, _ = proc.communicate(timeout=900)
        assert proc.returncode == expected, out[-3000:]
        assert runs.ours() == [], f"{name}: a browser outlived the run:\n{out[-2000:]}"


@pytest.mark.slow
def test_a_sigkilled_run_leaves_no_browser_after_the_next_run(
    runs: _Runs, tmp_path: Path
) -> None:
    """SIGKILL of the run and of the probe (nothing of ours gets to clean up): the browser
    and chromedriver are the next run's reaper's to end."""
    project = _copy("webnodraw", tmp_path)
    run = runs.start(project, "-o", "fynecheck_window_timeout=300")
    assert wait_until(lambda: any("chromium" in p for p in runs.ours()), 600, 0.1), \
        "no browser started"
    probes = [pid for pid, _n, _f in live_processes() if _reads(pid, "cmdline", "webpage.py")
              and _reads(pid, "environ", str(runs.tmpdir))]
    assert len(probes) == 1, probes
    time.sleep(3)  # the page is loaded and polled (for 300 s): no step is cut short
    os.kill(probes[0], signal.SIGKILL)
    run.kill()
    run.wait()
    time.sleep(2)
    left = runs.ours()
    print(f"left by the kill: {left}")
    assert left, "the kill left no browser: the test would prove nothing"
    nxt = runs.start(project, k="go.version")
    out, _ = nxt.communicate(timeout=600)
    assert nxt.returncode == 0, out[-3000:]
    assert wait_until(lambda: runs.ours() == [], 10, 0.2), (runs.ours(), out[-2000:])


@pytest.mark.slow
def test_a_sigkilled_run_stops_its_browser_at_once(runs: _Runs, tmp_path: Path) -> None:
    """SIGKILL of the run alone: the probe sees its parent die and stops the browser
    itself, before any next run."""
    project = _copy("webnodraw", tmp_path)
    run = runs.start(project, "-o", "fynecheck_window_timeout=300")
    assert wait_until(lambda: any("chromium" in p for p in runs.ours()), 600, 0.1), \
        "no browser started"
    run.kill()
    run.wait()
    assert wait_until(lambda: runs.ours() == [], 30, 0.2), runs.ours()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_while_the_page_loads_stops_the_browser(
    runs: _Runs, tmp_path: Path, sig: signal.Signals
) -> None:
    """Ctrl-C (or SIGTERM) of the run while web.window waits for a frame: the run says
    interrupted, and no browser is left. (The bound only ends a run that would go on.)"""
    run = runs.start(_copy("webnodraw", tmp_path), "-o", "fynecheck_window_timeout=300")
    assert wait_until(lambda: any("chromium" in p for p in runs.ours()), 600, 0.1), \
        "no browser started"
    run.send_signal(sig)
    out, _ = run.communicate(timeout=120)
    assert run.returncode == 2, out[-3000:]  # pytest's "interrupted"
    assert f"INTERRUPTED ({sig.name})" in out, out[-3000:]
    assert runs.ours() == [], out[-2000:]
