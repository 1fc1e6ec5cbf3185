"""Host side of the page probe (probes/webpage/webpage.py): run it in the context, in its
own process group, recorded for the reaper, and read the one JSON object it prints.

The probe serves the site on 127.0.0.1 and drives headless Chromium through Selenium and
chromedriver (README, "The web target", says why this driver). In a suite container it
runs with the suite's python3 from a copy in the scratch directory, which the container
sees at the same path.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_fynecheck.core import reaper
from pytest_fynecheck.core.context import Context, HostProcess
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.paths import PROBES_DIR
from pytest_fynecheck.core.progress import step_name

PROBE = PROBES_DIR / "webpage" / "webpage.py"
# Beyond the page's own timeout: Chromium's start and stop, the server, the JSON.
MARGIN = 60.0
SERVE_TIMEOUT = 60.0
QUIET = 8.0  # seconds without a probe line before a progress line of our own
WASM_MIME = "application/wasm"
PIDS = "webpage: pids "  # the probe's line naming chromedriver's and Chromium's pids
# The Debian packages the probe names when it finds no browser, driver or Selenium.
APT = "apt-get install chromium-headless-shell chromium-driver"
MISSING_HINTS = {
    "chromium-headless-shell": f"install Chromium's headless shell (Debian: {APT})",
    "chromium-driver": f"install chromedriver (Debian: {APT})",
    "python3-selenium": "install Selenium for the Python that runs pytest: "
    "pip install 'pytest-fynecheck[web]' (in a suite image: apt-get install python3-selenium)",
}


class BrowserMissing(CheckFailed):
    """No Chromium, chromedriver or Selenium where the page must load: named by package."""

    def __init__(self, packages: list[str], context: str, path: str) -> None:
        super().__init__(
            f"headless Chromium cannot run in {context}: missing {', '.join(packages)} "
            f"(looked for chromium-headless-shell or chromium, and chromedriver, on PATH={path})",
            "; ".join(MISSING_HINTS.get(p, f"install {p}") for p in packages),
        )
        self.packages = packages


def _in_container(ctx: Context) -> bool:
    from pytest_fynecheck.containers.context import ContainerContext

    return isinstance(ctx, ContainerContext)


def _probe_argv(ctx: Context) -> list[str]:
    """The interpreter and probe path as the context sees them."""
    if not _in_container(ctx):
        return [sys.executable, str(PROBE)]
    # The scratch directory is the container's too (a bind mount, or the remote mirror).
    copy = ctx.scratch / "webpage.py"
    if not copy.is_file() or copy.read_bytes() != PROBE.read_bytes():
        shutil.copyfile(PROBE, copy)
    return ["python3", str(copy)]


def run_probe(
    ctx: Context,
    mode: str,
    site: Path,
    *,
    step: str,
    timeout: float = 60.0,
    shot: Path | None = None,
) -> dict[str, Any]:
    """Run the probe in `mode` ("serve" or "load") on `site`; its JSON report.

    Progress lines (the probe's, every 5 s while it waits) go to the context's progress.
    The probe is stopped (its group: chromedriver and Chromium too) on every path."""
    argv = [*_probe_argv(ctx), mode, str(site), "--timeout", f"{timeout:g}"]
    # The screenshot is written where the probe runs: a container writes it into the
    # scratch it shares with this machine, and it is moved to `shot` after.
    written = shot if shot is None or not _in_container(ctx) else ctx.scratch / shot.name
    if written is not None:
        argv += ["--shot", str(written)]
    label = step_name(step, ctx.name)
    proc = ctx.spawn(argv)
    recorded: set[int] | None = None  # inside a container the container's end does it
    if isinstance(proc, HostProcess):
        # A SIGKILLed run's probe (and the browser in its group) is the next run's to end.
        reaper.record_process(proc.pid)
        recorded = {proc.pid}
    seen = 0
    limit = timeout + MARGIN
    deadline = time.monotonic() + limit
    started = last = time.monotonic()
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            now_seen = _forward(ctx, label, proc.output(), seen, recorded)
            if now_seen > seen:
                seen, last = now_seen, time.monotonic()
            elif time.monotonic() - last >= QUIET:  # a line at least every 10 s
                last = time.monotonic()
                ctx.progress(f"{label}: the page probe runs ({last - started:.0f} s)")
        if proc.poll() is None:
            raise CheckFailed(
                f"the page probe did not finish within {limit:g} s; it printed:\n"
                + _tail(proc.output()),
                "raise fynecheck_window_timeout if this machine is slow",
            )
    finally:
        proc.stop(grace=10.0)
    output = proc.output()
    _forward(ctx, label, output, seen, recorded)
    report = _report(output, argv)
    if shot is not None and written is not None and written != shot and written.is_file():
        shutil.move(written, shot)
    if report.get("screenshot"):
        report["screenshot"] = str(shot) if shot is not None and shot.is_file() else None
    return report


def _forward(ctx: Context, label: str, output: str, seen: int, recorded: set[int] | None) -> int:
    """The probe's new progress lines to the context's progress; the chromedriver and
    Chromium pids it names to the reaper (`recorded`: those done; None: not on this
    machine), each by pid and start time: if the probe is SIGKILLed alone they outlive it,
    in a group whose leader is gone, and the next run ends them."""
    lines = output.splitlines()
    done = len(lines) if output.endswith("\n") else max(0, len(lines) - 1)
    for line in lines[seen:done]:
        if line.startswith(PIDS):
            for pid in map(int, line.removeprefix(PIDS).split()):
                if recorded is not None and pid not in recorded:
                    reaper.record_process(pid)
                    recorded.add(pid)
        elif line.startswith("webpage: "):
            ctx.progress(f"{label}: {line.removeprefix('webpage: ')}")
    return max(seen, done)


def _report(output: str, argv: list[str]) -> dict[str, Any]:
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                break
            if isinstance(found, dict):
                return found
    raise CheckFailed(
        f"the page probe (`{' '.join(argv)}`) printed no report; it printed:\n" + _tail(output),
        "this is a pytest-fynecheck bug, or the context's python3 cannot run the probe",
    )


def _tail(text: str, n: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def require_tools(ctx: Context, report: dict[str, Any]) -> None:
    """BrowserMissing when the probe found no browser, driver or Selenium."""
    if report.get("verdict") == "missing":
        raise BrowserMissing(list(report.get("missing", [])), ctx.name,
                             ctx.env().get("PATH", ""))


def served_problems(report: dict[str, Any]) -> list[str]:
    """What is wrong with how the probe's server served the site (empty: nothing)."""
    served: dict[str, dict[str, Any]] = report.get("served") or {}
    problems = []
    if not any(name.endswith(".wasm") for name in served):
        problems.append("the site has no .wasm file")
    for name in ("index.html", "wasm_exec.js"):
        if not any(n == name or n.endswith("/" + name) for n in served):
            problems.append(f"the site has no {name}")
    for name, got in sorted(served.items()):
        status = got.get("status")
        if got.get("error") or status != 200:
            problems.append(f"{name}: {got.get('error') or f'HTTP status {status}'}")
        elif not got.get("same"):
            problems.append(f"{name}: served {got.get('bytes')} bytes, not the file's")
        elif name.endswith(".wasm") and got.get("type") != WASM_MIME:
            problems.append(f"{name}: served as {got.get('type')!r}, not {WASM_MIME}")
    return problems


def console_tail(report: dict[str, Any], n: int = 12) -> str:
    lines = list(report.get("console_tail") or [])[-n:]
    return "\n".join("  " + line for line in lines) if lines else "  (the page printed nothing)"


class Driven:
    """The probe in drive mode: a page loaded in headless Chromium, driven by commands
    on a Unix socket (the fyne_app fixture's web backend, e2e/app.py's WebApp). The
    probe leads its process group and is recorded for the reaper, as run_probe does;
    `stop` ends it (and Chromium and chromedriver with it) on every path."""

    def __init__(self, ctx: Context, site: Path, *, timeout: float) -> None:
        import socket

        self.ctx = ctx
        name = f"webdrive-{time.monotonic_ns()}.sock"
        self.control = ctx.scratch / name
        if len(str(self.control)) > 100 and not _in_container(ctx):
            # A Unix socket's path has at most 107 bytes; pytest's tmp paths can be longer.
            self.control = Path(tempfile.gettempdir()) / name
        argv = [*_probe_argv(ctx), "drive", str(site), "--timeout", f"{timeout:g}",
                "--control", str(self.control)]
        self.argv = argv
        self.proc = ctx.spawn(argv)
        self.recorded: set[int] | None = None
        if isinstance(self.proc, HostProcess):
            reaper.record_process(self.proc.pid)
            self.recorded = {self.proc.pid}
        self.seen = 0
        self.timings: dict[str, float] = {}
        self._stream: Any = None
        try:
            deadline = time.monotonic() + timeout + MARGIN
            while True:
                out = self.proc.output()
                self.seen = _forward(ctx, "fyne_app web", out, self.seen, self.recorded)
                ready = next((ln for ln in out.splitlines()
                              if ln.startswith("webpage: ready ")), None)
                if ready is not None and self.control.exists():
                    self.timings = json.loads(ready.removeprefix("webpage: ready "))["timings"]
                    break
                if self.proc.poll() is not None:
                    report = _report(self.proc.output(), argv)
                    require_tools(ctx, report)
                    raise CheckFailed(
                        f"the page did not draw a frame in headless Chromium "
                        f"(verdict {report.get('verdict')}): "
                        f"{report.get('error') or ''}\n{console_tail(report)}",
                        "run the web.window check on the project for the page's own report",
                    )
                if time.monotonic() >= deadline:
                    raise CheckFailed(
                        f"the page probe was not ready within {timeout + MARGIN:g} s; it "
                        "printed:\n" + _tail(out),
                        "raise fynecheck_window_timeout if this machine is slow",
                    )
                time.sleep(0.1)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(COMMAND_TIMEOUT)
            sock.connect(str(self.control))
            self._stream = sock.makefile("rwb")
            self._sock = sock
        except BaseException:
            self.stop()
            raise

    def command(self, op: str, **args: Any) -> dict[str, Any]:
        """One command's reply; CheckFailed when the probe is gone or does not answer."""
        self.seen = _forward(self.ctx, "fyne_app web", self.proc.output(), self.seen,
                             self.recorded)
        try:
            self._stream.write(json.dumps({"op": op, **args}).encode() + b"\n")
            self._stream.flush()
            line = self._stream.readline()
        except OSError as exc:
            raise CheckFailed(f"the page probe did not answer {op!r}: {exc}",
                              "see the probe's output in the report") from None
        if not line:
            raise CheckFailed(f"the page probe ended before answering {op!r}; it printed:\n"
                              + _tail(self.proc.output()), "see the console above")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def poll(self) -> int | None:
        return self.proc.poll()

    def stop(self) -> int | None:
        """Ask the probe to quit (it ends Chromium through chromedriver), then stop its
        group whatever it did. Idempotent."""
        if self._stream is not None:
            with contextlib.suppress(OSError, ValueError):
                self._stream.write(b'{"op": "quit"}\n')
                self._stream.flush()
                self._stream.readline()
            with contextlib.suppress(OSError):
                self._stream.close()
                self._sock.close()
            self._stream = None
        code = self.proc.stop(grace=10.0)
        with contextlib.suppress(OSError):
            self.control.unlink()
        return code


COMMAND_TIMEOUT = 60.0  # one command: a screenshot under load takes well under a second
