"""app.window counts only the app's own windows, and names why an app showed none.

On a display other processes use (a shared Xvfb the test starts, `--fynecheck-display=host`),
windows of strangers titled like the app map while the check waits: a real Fyne app
(fixtures/hello, restarted in a loop) and xmessage (which sets no _NET_WM_PID). The app
under test is fixtures/windowless, a real Go program that never opens a window.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.sample import HELLO, ROOT, TITLE  # hello's title: the strangers use it too

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.process import Child
from pytest_fynecheck.displays.images import read_png
from pytest_fynecheck.displays.servers import Display, start_display

WINDOWLESS = ROOT / "fixtures" / "windowless"


@pytest.fixture(scope="module")
def hello_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fixtures/hello built once, to run as another process's window."""
    out = tmp_path_factory.mktemp("hello-bin") / "hello"
    subprocess.run(["go", "build", "-o", str(out), "."], cwd=HELLO, check=True, timeout=900)
    return out


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Display]:
    """A real Xvfb that the test, strangers and the run all use."""
    ctx = Context(tmp_path, tmp_path, tmp_path, timeout=120)
    display = start_display(ctx, "xvfb")
    yield display
    display.stop()


@pytest.fixture
def strangers() -> Iterator[list[Child]]:
    """Processes the test starts on the shared display; each is stopped with its group."""
    started: list[Child] = []
    yield started
    for child in started:
        child.stop(grace=2.0)


def _loop(display: Display, command: str) -> Child:
    """`command` again and again: a stranger's window maps anew while the check waits."""
    return Child(["sh", "-c", f"while :; do {command}; sleep 0.2; done"],
                 env={**os.environ, **display.env}, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)


def _windowless(tmp_path: Path) -> Path:
    dest = tmp_path / "windowless"
    shutil.copytree(WINDOWLESS, dest)
    return dest


def _on_shared(display: Display, *args: str) -> tuple[str, ...]:
    return ("-k", "app.window", "--fynecheck-display=host", *args)


def test_another_apps_window_with_the_apps_title_does_not_count(
    pytester: pytest.Pytester, tmp_path: Path, shared: Display, strangers: list[Child],
    hello_binary: Path,
) -> None:
    """Issue 22 item 1 (a): an app that never opens a window, while another Fyne app on
    the same display maps a window with the configured title. Before: app.window passed
    with the stranger's window (a false pass)."""
    strangers.append(_loop(shared, f"timeout 4 {hello_binary}"))
    run = run_fynecheck(
        pytester, _windowless(tmp_path),
        *_on_shared(shared, "-o", "fynecheck_app_args=sleep", "-o",
                    f"fynecheck_window_title={TITLE}", "-o", "fynecheck_window_timeout=20"),
        env={"DISPLAY": shared.name},
    )
    window = run.checks["app.window"]
    assert window["status"] == "fail", run
    detail = window["detail"]
    assert f"mapped no window titled {TITLE!r} or any other of their own" in detail
    # The stranger's window did map during the check, and was judged by its owner.
    assert f"{TITLE!r} (its X client is pid " in detail and "not the app's" in detail
    assert "fynecheck_window_title" not in window["hint"]


@pytest.mark.parametrize("title", ["", TITLE], ids=["no-title", "title"])
def test_a_window_without_net_wm_pid_of_another_process_does_not_count(
    pytester: pytest.Pytester, tmp_path: Path, shared: Display, strangers: list[Child],
    title: str,
) -> None:
    """Issue 22 item 1 (b): xmessage sets no _NET_WM_PID; the X server (X-Resource) names
    its real process, which is not the app's. Before: it counted, with a title or
    without (pid -1 was taken as the app's)."""
    strangers.append(_loop(shared, f"xmessage -title '{TITLE}' -timeout 1 stranger"))
    run = run_fynecheck(
        pytester, _windowless(tmp_path),
        *_on_shared(shared, "-o", "fynecheck_app_args=sleep", "-o",
                    f"fynecheck_window_title={title}", "-o", "fynecheck_window_timeout=8"),
        env={"DISPLAY": shared.name},
    )
    window = run.checks["app.window"]
    assert window["status"] == "fail", run
    assert "mapped no window" in window["detail"]
    assert f"{TITLE!r} (its X client is pid " in window["detail"]


def test_the_real_app_passes_among_strangers_and_says_how_it_is_its_own(
    pytester: pytest.Pytester, hello: Path, shared: Display, strangers: list[Child],
    hello_binary: Path,
) -> None:
    """Issue 22 item 1 (c): hello on the shared display while both strangers map windows
    with its title: its own window is found, and the detail names the route (before: no
    route, just a pid)."""
    strangers.append(_loop(shared, f"timeout 4 {hello_binary}"))
    strangers.append(_loop(shared, f"xmessage -title '{TITLE}' -timeout 1 stranger"))
    run = run_fynecheck(pytester, hello, *_on_shared(shared), env={"DISPLAY": shared.name})
    window = run.checks["app.window"]
    assert window["status"] == "ok", run
    # Fyne sets _NET_WM_PID and Xvfb names the client's pid: both say the app.
    assert "(the app) via X-Resource; its _NET_WM_PID agrees" in window["detail"], window
    shot = read_png(Path(window["artifacts"]["screenshot"]).read_bytes())
    assert shot.width >= 300 and not shot.blank  # hello's 320x160 window, not xmessage's


def test_a_window_of_a_reparented_child_counts_by_the_apps_session(
    pytester: pytest.Pytester, tmp_path: Path, hello_binary: Path
) -> None:
    """Issue 22 item 1: the app starts hello through a shell that exits at once (a
    launcher's double fork), so hello's parent chain no longer reaches the app; it is still
    in the session the kit started the app in, and its window counts (before, with no
    title: "no window of the app", a false fail)."""
    run = run_fynecheck(
        pytester, _windowless(tmp_path), "-k", "app.window", "--fynecheck-display=xvfb",
        "-o", f"fynecheck_app_args=launch {hello_binary}",
    )
    window = run.checks["app.window"]
    assert window["status"] == "ok", run
    assert "in the app's session" in window["detail"] and "via X-Resource" in window["detail"]


@pytest.mark.parametrize("title", ["", "main window"], ids=["no-title", "title"])
def test_a_windowless_app_is_told_what_is_true(
    pytester: pytest.Pytester, tmp_path: Path, title: str
) -> None:
    """Issue 22 item 13: an app that maps no window is not told to set the title (before,
    with a title set, it was), and is told it is still running and mapped nothing."""
    run = run_fynecheck(
        pytester, _windowless(tmp_path), "-k", "app.window", "--fynecheck-display=xvfb",
        "-o", "fynecheck_app_args=sleep", "-o", f"fynecheck_window_title={title}",
        "-o", "fynecheck_window_timeout=5",
    )
    window = run.checks["app.window"]
    assert window["status"] == "fail", run
    assert "mapped no window" in window["detail"] and "of their own" in window["detail"]
    assert " in 5 s; it is still running; the app printed:" in window["detail"]
    assert "fynecheck_window_title" not in window["hint"]
    assert "windowless: running, with no window" in window["detail"]


def test_a_panic_is_named_by_its_first_line_and_place(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """Issue 22 item 6: the app logs a screenful, then panics deep in a goroutine (as
    fyne_demo's systray can). Before: the detail's head and tail cut the panic line out."""
    run = run_fynecheck(
        pytester, _windowless(tmp_path), "-k", "app.window", "--fynecheck-display=xvfb",
        "-o", "fynecheck_app_args=panic",
    )
    window = run.checks["app.window"]
    assert window["status"] == "fail", run
    first = window["detail"].splitlines()[0]
    assert first.startswith(
        "the app exited with 2 before showing a window; it crashed: panic: systray: no "
        "StatusNotifierWatcher on the session bus (in main.tray, "
    ), first
    assert "main.go:" in first and "crashed" in window["hint"]


def test_a_death_by_sigterm_is_named(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Issue 22 item 6: the app is killed by a SIGTERM the kit did not send. Before: "the
    app exited with -15"."""
    run = run_fynecheck(
        pytester, _windowless(tmp_path), "-k", "app.window", "--fynecheck-display=xvfb",
        "-o", "fynecheck_app_args=sigterm",
    )
    window = run.checks["app.window"]
    assert window["status"] == "fail", run
    assert window["detail"].startswith(
        "the app was killed by signal SIGTERM (15) before showing a window"
    ), window["detail"]
    assert "another process signalled the app" in window["hint"]
