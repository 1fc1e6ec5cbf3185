"""The fyne_display fixture and marker, on real Xvfb, weston and XWayland."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import path_without, pc_dir_without
from support.proc import live_processes

from pytest_fynecheck.core import reaper
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, InputError
from pytest_fynecheck.displays import images
from pytest_fynecheck.displays.servers import KINDS, Display, start_display, start_weston
from pytest_fynecheck.displays.wayland import wayland_globals, wayland_seat
from pytest_fynecheck.displays.x11 import probe_x

# An inner test that reports what its display was, for the outer test to check.
REPORTING_TEST = """
import json, os
import pytest

@pytest.mark.fyne_display({kinds})
def test_uses_display(fyne_display, request):
    name = request.module.__name__ + "." + request.node.callspec.id
    out = os.path.join({outdir!r}, name + "-" + str(os.getpid()) + ".json")
    with open(out, "w") as f:
        json.dump({{"env": fyne_display.env, "pid": fyne_display.server.pid,
                   "kind": fyne_display.kind}}, f)
"""


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group: what a server left running."""
    return [pid for pid, _, fields in live_processes() if int(fields[2]) == pgid]


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(tmp_path, tmp_path, tmp_path, timeout=120)


def test_marker_runs_the_test_once_per_kind_and_stops_each_server(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    kinds = ", ".join(repr(k) for k in KINDS)
    pytester.makepyfile(REPORTING_TEST.format(kinds=kinds, outdir=str(tmp_path)))
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=len(KINDS))
    result.stdout.fnmatch_lines(
        [
            "*test_uses_display?xvfb? PASSED*",
            "*test_uses_display?weston? PASSED*",
            "*test_uses_display?weston-xwayland? PASSED*",
            "*test_uses_display?weston-x11? PASSED*",
        ]
    )
    seen = {d["kind"]: d for d in (json.loads(p.read_text()) for p in tmp_path.glob("*.json"))}
    assert sorted(seen) == sorted(KINDS)
    assert set(seen["xvfb"]["env"]) == {"DISPLAY"}
    assert set(seen["weston"]["env"]) == {"WAYLAND_DISPLAY", "XDG_RUNTIME_DIR"}
    assert set(seen["weston-xwayland"]["env"]) == {"WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "DISPLAY"}
    # Its Xvfb is weston's output, not a display for clients.
    assert set(seen["weston-x11"]["env"]) == {"WAYLAND_DISPLAY", "XDG_RUNTIME_DIR"}
    for d in seen.values():
        # Teardown ended the server and all it started (weston's Xwayland and helpers).
        assert group_members(d["pid"]) == [], d
        runtime = d["env"].get("XDG_RUNTIME_DIR")
        assert runtime is None or not Path(runtime).exists()


def test_fixture_without_marker_is_a_private_xvfb(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import subprocess
        def test_default(fyne_display):
            assert fyne_display.kind == "xvfb"
            assert fyne_display.env["DISPLAY"].startswith(":")
            subprocess.run(["xdpyinfo"], env=fyne_display.env, check=True,
                           stdout=subprocess.DEVNULL)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_unknown_kind_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.fyne_display("xvfb", "mutter")
        def test_x(fyne_display):
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*unknown kind(s) 'mutter'; known: xvfb, weston, weston-xwayland, weston-x11*"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_marker_without_the_fixture_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.fyne_display("weston")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*the fyne_display marker needs the test to take*"])


def test_marker_is_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.fyne_display(*kinds)*"])


def test_two_xdist_workers_get_separate_live_displays(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    kinds = ", ".join(repr(k) for k in KINDS)
    body = REPORTING_TEST.format(kinds=kinds, outdir=str(tmp_path))
    # Two identical modules: both workers start every kind of server at about the same time.
    pytester.makepyfile(test_a=body, test_b=body)
    result = pytester.runpytest("-n", "2")
    result.assert_outcomes(passed=2 * len(KINDS))
    reports = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert len(reports) == 2 * len(KINDS)
    workers = {p.name.rsplit("-", 1)[1] for p in tmp_path.glob("*.json")}
    assert len(workers) == 2, "both workers should have run tests"
    for d in reports:
        assert group_members(d["pid"]) == []


def test_weston_offers_no_seat_and_answers_a_real_client(ctx: Context) -> None:
    display = start_weston(ctx)
    try:
        found = wayland_globals(ctx, display.env)
        # What the -tags wayland finding rests on: headless weston 10 has no input seat.
        assert "wl_seat" not in found
        assert {"wl_compositor", "xdg_wm_base", "wl_shm", "weston_screenshooter"} <= set(found)
        assert all(version >= 1 for version in found.values())
        assert wayland_seat(ctx, display) is False
        assert "no wl_seat" in display.description
        assert "headless-backend.so" in display.log()
    finally:
        display.stop()
    with pytest.raises(CheckFailed, match="nothing answers on WAYLAND_DISPLAY"):
        wayland_globals(ctx, display.env, timeout=10)


def test_weston_on_xvfb_offers_a_seat_and_stops_its_xvfb(ctx: Context) -> None:
    display = start_display(ctx, "weston-x11")
    try:
        assert wayland_seat(ctx, display) is True
        assert "with wl_seat" in display.description
        assert "x11-backend.so" in display.log()
        xvfb = re.search(r"on Xvfb (:\d+)", display.description)
        assert xvfb is not None
        probe_x(ctx, {"DISPLAY": xvfb.group(1)})
    finally:
        display.stop()
    with pytest.raises(CheckFailed, match="nothing answers on DISPLAY"):
        probe_x(ctx, {"DISPLAY": xvfb.group(1)}, timeout=10)


def test_xwayland_display_is_the_one_weston_holds(ctx: Context) -> None:
    display = start_weston(ctx, xwayland=True)
    try:
        number = display.env["DISPLAY"].lstrip(":")
        assert display.server is not None
        lock = Path(f"/tmp/.X{number}-lock").read_text().strip()
        assert lock == str(display.server.pid)
        assert f"xserver listening on display :{number}" in display.log()
        assert "name of display" in probe_x(ctx, {"DISPLAY": f":{number}"})
    finally:
        display.stop()


def test_screenshots_are_real_pngs_of_the_screen(ctx: Context, tmp_path: Path) -> None:
    shown: dict[str, images.Image] = {}
    for kind in KINDS:
        display = start_display(ctx, kind)
        try:
            shown[kind] = images.read_png(display.screenshot(tmp_path / f"{kind}.png").read_bytes())
        finally:
            display.stop()
    for image in shown.values():
        assert (image.width, image.height) == (1024, 768)
    # Nothing draws on a bare Xvfb root: one flat colour.
    assert shown["xvfb"].blank


def test_xvfb_does_not_reset_when_its_last_client_leaves(ctx: Context) -> None:
    """A reset after the last client (the GLX probe) drops clients that connect meanwhile,
    such as the app. Without one, what a client left on the root window is still there."""
    display = start_display(ctx, "xvfb")
    try:
        done = ctx.run(
            ["xprop", "-root", "-f", "FYNECHECK_MARK", "8s", "-set", "FYNECHECK_MARK", "kept"],
            env=display.env, timeout=15,
        )
        assert done.ok, done.output
        time.sleep(0.5)  # no client is connected now: a resetting server resets here
        read = ctx.run(["xprop", "-root", "FYNECHECK_MARK"], env=display.env, timeout=15)
        assert read.stdout.strip() == 'FYNECHECK_MARK(STRING) = "kept"', read.output
    finally:
        display.stop()


def test_unknown_kind_to_start_display_is_input_error(ctx: Context) -> None:
    with pytest.raises(InputError, match="unknown display kind 'sway'"):
        start_display(ctx, "sway")


# A pytest run that holds one display of each kind for a moment: something to kill.
OWNER = """
import sys, time
from pathlib import Path
from pytest_fynecheck.core.context import Context, ToolMissing
from pytest_fynecheck.displays.servers import start_display
ctx = Context(Path.cwd(), Path.cwd(), Path.cwd())
shown = [start_display(ctx, kind) for kind in sys.argv[1:]]
print(" ".join(str(d.server.pid) for d in shown), flush=True)
time.sleep(120)
"""


def test_reaper_ends_servers_of_a_killed_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FYNECHECK_RECORDS_DIR", str(tmp_path / "records"))
    env = {**os.environ, "FYNECHECK_RECORDS_DIR": str(tmp_path / "records")}

    def owner() -> tuple[subprocess.Popen[str], list[int]]:
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(OWNER), *KINDS],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        return proc, [int(p) for p in proc.stdout.readline().split()]

    killed, killed_pids = owner()
    alive, alive_pids = owner()
    try:
        assert len(killed_pids) == len(KINDS)
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        # The killed owner's servers outlive it: that is what the reaper is for.
        assert all(group_members(pid) for pid in killed_pids)
        ended = reaper.reap_processes()
        # Every server it started: the displays, and the Xvfb weston-x11 draws into.
        assert set(killed_pids) < set(ended)
        assert [group_members(pid) for pid in ended] == [[] for _ in ended]
        # A live run's servers are not touched.
        assert all(group_members(pid) for pid in alive_pids)
        assert set(alive_pids) < set(reaper.recorded_alive())
    finally:
        alive.send_signal(signal.SIGKILL)
        alive.wait(30)
        reaper.reap_processes()
    deadline = time.monotonic() + 10
    while any(group_members(pid) for pid in alive_pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reaper.recorded_alive() == []


def test_display_stop_is_idempotent(ctx: Context) -> None:
    display: Display = start_display(ctx, "weston")
    display.stop()
    display.stop()
    assert display.server is not None
    assert group_members(display.server.pid) == []


def test_weston_needs_no_wayland_utils(tmp_path: Path) -> None:
    # The kit's own C probe asks for the globals: no wayland-info or weston-info needed.
    environ = {**os.environ, "PATH": path_without("wayland-info", "weston-info", tmp=tmp_path)}
    ctx = Context(tmp_path, tmp_path, tmp_path, environ=environ, timeout=60)
    display = start_weston(ctx)
    try:
        assert "xdg_wm_base" in wayland_globals(ctx, display.env)
    finally:
        display.stop()


def test_no_wayland_client_library_is_a_clear_error(tmp_path: Path) -> None:
    environ = {**os.environ, "PKG_CONFIG_LIBDIR": pc_dir_without("wayland-client", tmp_path)}
    ctx = Context(tmp_path, tmp_path, tmp_path, environ=environ, timeout=60)
    with pytest.raises(CheckFailed) as caught:
        start_weston(ctx)
    assert "wayland-client.pc" in caught.value.detail
    assert "apt-get install libwayland-dev" in caught.value.hint


def test_a_failing_test_shows_its_display_servers_log(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.fyne_display("weston")
        def test_fails(fyne_display):
            assert False, "the app did not show up"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- fyne_display weston log (wayland-fynecheck) -*",
            "*Command line: */weston --backend=headless-backend.so --socket=wayland-fynecheck*",
        ]
    )


def test_a_missing_server_fails_setup_with_the_install_hint(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.fyne_display("weston")
        def test_x(fyne_display):
            pass
        """
    )
    monkeypatch.setenv("PATH", str(pytester.mkdir("empty-bin")))
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*fyne_display[[]weston[]] did not start: `weston` not found on PATH in host*",
            "*hint: install weston (Debian: apt-get install weston)*",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
