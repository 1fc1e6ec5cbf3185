"""The `fyne_app` fixture: a user's test builds, launches and drives the project's app.

    def test_echo(fyne_app):
        app = fyne_app()                  # the rootdir's main package, on a private Xvfb
        app.click(150, 25); app.type("hi")
        app.click(150, 75)
        app.wait_frame()

It runs on the test's `fyne_display` (so `@pytest.mark.fyne_display("xvfb",
"weston-xwayland")` runs it once per kind). On a display without X (pure weston) input
cannot be injected: the test is skipped with that reason. Every app a test launched is
stopped at its teardown, pass or fail; its images are attached to the report.

With the `fyne_os("bookworm")` marker (the test then takes `fyne_container` too) the app
is built and run in that suite's container, on an Xvfb of its own there, and driven by
the container's xdotool; its baselines are the backend "SUITE-xvfb".

With the `fyne_web` marker the app is built for js/wasm and drawn by headless Chromium
(e2e/app.py's WebApp: input through Selenium, frames from the canvas, stdout the browser
console); its baselines are the backend "chromium".
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import re
import secrets
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_fynecheck.core import paths
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.displays.servers import Display
from pytest_fynecheck.plan.settings import settings
from pytest_fynecheck.run.session import core, host_context

if TYPE_CHECKING:
    from pytest_fynecheck.e2e.app import FyneApp

PREFIX = "fynecheck.artifact."

# Display kinds where the app cannot be driven, and why: a skip, never a pass.
_PURE_WAYLAND = (
    "a Wayland compositor without Xwayland, and Wayland lets no client send input to "
    "another; use weston-x11-xwayland to test under weston"
)
NO_INPUT = {
    "weston": _PURE_WAYLAND,
    "weston-x11": _PURE_WAYLAND,
    "weston-xwayland": (
        "weston's headless backend gives Xwayland no input seat, and Xwayland crashes "
        "(SIGSEGV) at the first injected event; use weston-x11-xwayland (weston's X11 "
        "backend, with a seat)"
    ),
}


class Launcher:
    """What the fixture gives: call it to launch the app; it stops each at teardown."""

    def __init__(self, request: pytest.FixtureRequest, display: Display, scratch: Path,
                 container: Context | None = None) -> None:
        self._request = request
        self.display = display
        # A suite's container (fyne_os): the app is built and run there, not on the host.
        self._container = container
        self._scratch = scratch
        self.apps: list[FyneApp] = []
        self._contexts: list[Context] = []
        self.attached: list[tuple[str, Path]] = []

    def __call__(
        self,
        package: str | None = None,
        args: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        title: str | None = None,
        timeout: float | None = None,
    ) -> FyneApp:
        """Build and launch the app: `package` (default: ini fynecheck_package, else the
        project's main package) with `args` (default: ini fynecheck_app_args) and `env`
        added to the environment (XDG_CONFIG_HOME is a fresh directory unless `env` sets
        it); wait for its window (`title`, default: ini
        fynecheck_window_title; "" takes its first) for `timeout` seconds (default: ini
        fynecheck_window_timeout)."""
        # Here, not at the top: pytest loads every plugin at every start (tests/test_imports).
        from pytest_fynecheck.e2e.app import FyneAppError, launch, launch_web

        config = self._request.config
        n = len(self.apps)
        web = self._request.node.get_closest_marker("fyne_web") is not None
        if web and self._container is not None:
            pytest.fail("fyne_app: the fyne_web marker runs on this machine's Chromium; "
                        "with fyne_os it is not supported yet", pytrace=False)
        if self._container is not None:
            if package is not None:
                # The container's context is shared by the process's tests: its package
                # (and what it memoized of it) is the ini's.
                pytest.fail(
                    f"fyne_app(package={package!r}) in suite {self._container.name}: a suite "
                    "builds the ini's fynecheck_package; set that instead", pytrace=False)
            if self._container.environ.get("GOOS") == "windows" and any(
                    app.exit_code is None for app in self.apps):
                # Its Wine session holds the prefix's lock until the first app stops.
                pytest.fail(f"fyne_app in suite {self._container.name}: one app at a time "
                            "under Wine; stop() the running one first", pytrace=False)
            ctx = self._container
            # In the container's own scratch (gone with it): one per launch.
            config_home = ctx.scratch / f"fyne_app-config-{secrets.token_hex(6)}"
        else:
            scratch = self._scratch / f"app{n}"
            scratch.mkdir()
            given = settings(config).core.project
            project = core(config).project() if given else config.rootpath
            ctx = host_context(config, project, scratch)
            config_home = scratch / "config"
            self._contexts.append(ctx)  # closed at teardown: it holds the build in use
            if package is not None:
                ctx.settings = dataclasses.replace(ctx.settings, package=package)
        # By node id: two modules' tests of one name keep their images apart.
        name = re.sub(r"[^\w.-]+", "_", self._request.node.nodeid)[-100:]
        failed = ""
        try:
            app = (launch_web if web else launch)(
                ctx, self.display,
                args=list(ctx.settings.app_args if args is None else args),
                # A fresh config dir per launch: Fyne keeps preferences and storage there
                # (fyne_demo reopens its last page at its last size), which would carry
                # state from test to test and into the user's own desktop. (In Chromium
                # each launch has a fresh profile, and the page passes no environment.)
                env=dict(env or {}) if web else {"XDG_CONFIG_HOME": str(config_home),
                                                 **(env or {})},
                title=ctx.settings.window_title if title is None else title,
                timeout=ctx.settings.window_timeout if timeout is None else timeout,
                shots=paths.artifact_dir(config) / "fyne_app" / f"{name}-{n}",
                attach=lambda role, path: self.attached.append((role, path)),
            )
        except FyneAppError as exc:
            failed = str(exc)
        if failed:
            # The message names the package and what went wrong; pytest's trace adds nothing.
            pytest.fail(failed, pytrace=False)
        if self._container is not None:
            app.suite = self._container.name
        app.baseline_root = config.rootpath
        app.update_baselines = settings(config).baselines.update
        app.tolerance = settings(config).baselines.tolerance
        self.apps.append(app)
        return app

    def close(self) -> None:
        """Stop every app (and what it started), then release the builds and contexts."""
        try:
            for app in self.apps:
                app.stop()
        finally:
            while self._contexts:
                self._contexts.pop().close()


_LAUNCHER = pytest.StashKey[Launcher]()


@pytest.fixture
def fyne_app(
    request: pytest.FixtureRequest, fyne_display: Display,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Launcher]:
    """Launch the project's app on the test's display: `app = fyne_app()`; see e2e/app.py
    for what the app object does. Every app is stopped after the test."""
    scratch = tmp_path_factory.mktemp("fyne_app")
    if "fyne_container" in request.fixturenames:  # the fyne_os marker's test
        with _suite_display(request) as (container, display):
            launcher = Launcher(request, display, scratch, container)
            request.node.stash[_LAUNCHER] = launcher
            try:
                yield launcher
            finally:
                launcher.close()
        return
    why = NO_INPUT.get(fyne_display.kind)
    if why is not None and request.node.get_closest_marker("fyne_web") is None:
        pytest.skip(f"fyne_app: input cannot be injected on {fyne_display.kind}: {why}")
    launcher = Launcher(request, fyne_display, scratch)
    request.node.stash[_LAUNCHER] = launcher
    try:
        yield launcher
    finally:
        launcher.close()


@contextlib.contextmanager
def _suite_display(request: pytest.FixtureRequest) -> Iterator[tuple[Context, Display]]:
    """The test's suite container and a private Xvfb in it, stopped after the test (the
    container is the fyne_container fixture's: removed at session end)."""
    from pytest_fynecheck.core.model import CheckFailed
    from pytest_fynecheck.displays.plugin import START_TIMEOUT
    from pytest_fynecheck.displays.servers import start_display

    container: Context = request.getfixturevalue("fyne_container")
    failed = ""
    try:
        display = start_display(container, "xvfb", timeout=START_TIMEOUT)
    except CheckFailed as exc:
        failed = f"fyne_app: Xvfb did not start in suite {container.name}: {exc.detail}"
    if failed:
        pytest.fail(failed, pytrace=False)
    try:
        yield container, display
    finally:
        display.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    launcher = item.stash.get(_LAUNCHER, None)
    if launcher is None or call.when != "call":
        return report
    # Images as properties (JUnit) and [[ATTACHMENT|path]] lines (Jenkins, GitLab).
    for role, path in launcher.attached:
        item.user_properties.append((PREFIX + "screenshot-" + role, str(path)))
        report.user_properties.append((PREFIX + "screenshot-" + role, str(path)))
    if launcher.attached:
        report.sections.append(("fyne_app images", "".join(
            f"[[ATTACHMENT|{path}]]\n" for _, path in launcher.attached
        )))
    if report.failed:
        for app in launcher.apps:
            report.sections.append(
                (f"fyne_app output ({app.package}, pid {app.pid})",
                 "\n".join(app.stdout)[-4000:])
            )
    _html_extras(item, report, launcher.attached)
    return report


def _html_extras(item: pytest.Item, report: pytest.TestReport,
                 shots: list[tuple[str, Path]]) -> None:
    if not shots or item.config.pluginmanager.get_plugin("html") is None:
        return
    from pytest_html import extras  # type: ignore[import-untyped]

    added: list[Any] = [
        extras.png(base64.b64encode(path.read_bytes()).decode(), name=role)
        for role, path in shots if path.is_file()
    ]
    report.extras = [*getattr(report, "extras", []), *added]  # type: ignore[attr-defined]
