"""pytest entry point: hooks only. Thin on purpose.

Options, ini settings and markers are options.py (read and checked into settings.py);
the per-run object is session.py; the readiness items are items.py, the marker and
fixture readiness.py. Other features (displays, drift, containers, watcher, matrix,
reload) are plugins of their own, listed in `pytest_plugins`, and plug into the core
through hookspecs.py.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import pytest

from pytest_fynecheck.checks import catalogue
from pytest_fynecheck.core import process
from pytest_fynecheck.core.workers import is_worker
from pytest_fynecheck.plan import options
from pytest_fynecheck.plan.settings import configure, settings
from pytest_fynecheck.run.items import CheckItem, add_items, check_items
from pytest_fynecheck.run.session import core, start_session

# Feature plugins: each owns its fixtures, items and hooks; options are options.py's.
pytest_plugins: list[str] = [
    "pytest_fynecheck.run.readiness",
    "pytest_fynecheck.displays.plugin",
    "pytest_fynecheck.drift.plugin",
    "pytest_fynecheck.containers.plugin",
    "pytest_fynecheck.watcher.plugin",
    "pytest_fynecheck.matrix.plugin",
    "pytest_fynecheck.run.attachments",
    "pytest_fynecheck.windows.plugin",
    "pytest_fynecheck.web.plugin",
    "pytest_fynecheck.reload.plugin",
    "pytest_fynecheck.e2e.plugin",  # the fyne_app fixture (issue 26)
    # seed before report, which imports it: pytest rewrites asserts in an installed
    # plugin's modules, and one already imported warns in every run.
    "pytest_fynecheck.run.seed",  # the run's Hypothesis seed, sent to xdist workers
    "pytest_fynecheck.run.report",  # the header line and the one terminal summary
]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_fynecheck import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(tryfirst=True)  # before conftests load from the rootdir pytest chose
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser) -> None:
    options.check_space_form(early_config, parser)


@pytest.hookimpl(tryfirst=True)  # the settings and session exist before any feature's configure
def pytest_configure(config: pytest.Config) -> None:
    options.add_markers(config)
    configure(config)  # bad values stop the run here, as one usage error
    # First: cleanups run last-first, so SIGTERM still interrupts the session's close.
    _sigterm_interrupts(config)
    start_session(config)


def _sigterm_interrupts(config: pytest.Config) -> None:
    """SIGTERM (a CI job's cancel, `timeout`) becomes KeyboardInterrupt, once: teardown and
    the kit's cleanup then stop its displays, tools and containers. Python's default dies
    at once and leaves them running. A second SIGTERM kills as usual; a handler someone
    else set is left alone. The one before is back when the config goes.

    SIGTERM and SIGINT (Ctrl-C) also interrupt the process layer at once: no program
    starts, every running one (a `go build` in a worker thread, the app, displays) is
    stopped, and every wait ends, so the run exits within seconds, not after the build."""
    process.reset_interrupt()
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

        def on_sigterm(signum: int, _frame: object) -> None:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            process.interrupt("SIGTERM")
            raise KeyboardInterrupt(f"fynecheck: signal {signum} (SIGTERM): cleaning up")

        _handle(config, signal.SIGTERM, on_sigterm)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:

        def on_sigint(_signum: int, _frame: object) -> None:
            # A second Ctrl-C interrupts the cleanup too, as Python's own handler does.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            process.interrupt("SIGINT")
            raise KeyboardInterrupt

        _handle(config, signal.SIGINT, on_sigint)


def _handle(config: pytest.Config, signum: signal.Signals, handler: Any) -> None:
    before = signal.signal(signum, handler)

    def restore() -> None:
        signal.signal(signum, before)

    config.add_cleanup(restore)


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """A KeyboardInterrupt that came another way (a handler of the user's) interrupts too."""
    process.interrupt("KeyboardInterrupt")


def pytest_sessionstart(session: pytest.Session) -> None:
    if settings(session.config).core.fynecheck:
        # External checks (an entry-point group) load now: a broken one is one usage error,
        # on the xdist controller before any worker starts.
        catalogue()
    if not is_worker(session.config):  # the xdist controller reaps once for all workers
        core(session.config).reap()


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if settings(config).core.fynecheck:
        add_items(session, items, check_items)


def pytest_runtestloop(session: pytest.Session) -> None:
    """Without xdist, start every check at once so independent probes overlap."""
    if settings(session.config).core.fynecheck and not is_worker(session.config):
        if session.config.pluginmanager.has_plugin("dsession"):
            return  # xdist controller: the workers run the checks
        if session.config.option.collectonly:
            return  # --co lists the checks: it runs none
        runner = core(session.config).runner()
        for item in session.items:
            if isinstance(item, CheckItem):
                runner.submit(item.context, item.check_id)


def pytest_sessionfinish(session: pytest.Session) -> None:
    core(session.config).close()
    if process.interrupted():
        process.end_all()  # what a check was still starting when its context closed
