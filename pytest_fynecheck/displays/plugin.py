"""The `fyne_display` fixture and the `fyne_display(...)` marker.

A test asks for `fyne_display` and gets a private, ready display (see displays.py);
`@pytest.mark.fyne_display("xvfb", "weston")` runs it once per kind. (Display servers
killed runs left behind are ended by the session: Session.reap.)
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.displays.servers import KINDS, Display, start_display
from pytest_fynecheck.run.session import host_context

DEFAULT_KIND = "xvfb"
START_TIMEOUT = 60.0  # a loaded CI machine with xdist; a ready server takes well under 1 s


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("fyne_display")
    if marker is None:
        return
    kinds = list(marker.args) or [DEFAULT_KIND]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        # A collection error that names the test, without a traceback into pytest.
        pytest.fail(
            f"fyne_display marker: unknown kind(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(KINDS)}",
            pytrace=False,
        )
    if "fyne_display" not in metafunc.fixturenames:
        pytest.fail(
            "the fyne_display marker needs the test to take the fyne_display fixture",
            pytrace=False,
        )
    metafunc.parametrize("fyne_display", kinds, indirect=True, ids=kinds)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # A failing test shows what its display server said, like captured output.
    display = getattr(item, "funcargs", {}).get("fyne_display")
    if report.failed and isinstance(display, Display):
        report.sections.append(
            (f"fyne_display {display.kind} log ({display.name})", display.log()[-4000:])
        )
    return report


@pytest.fixture(scope="session")
def _fyne_display_context(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Context]:
    ctx = host_context(
        pytestconfig, pytestconfig.invocation_params.dir, tmp_path_factory.mktemp("displays")
    )
    yield ctx
    ctx.close()


@pytest.fixture
def fyne_display(
    request: pytest.FixtureRequest, _fyne_display_context: Context
) -> Iterator[Display]:
    """A private display (default xvfb), ready for clients; stopped after the test."""
    kind: str = getattr(request, "param", DEFAULT_KIND)
    if kind not in KINDS:
        raise pytest.UsageError(f"fyne_display: unknown kind {kind!r}; known: {', '.join(KINDS)}")
    try:
        display = start_display(_fyne_display_context, kind, timeout=START_TIMEOUT)
    except CheckFailed as exc:
        pytest.fail(
            f"fyne_display[{kind}] did not start: {exc.detail}\nhint: {exc.hint}", pytrace=False
        )
    try:
        yield display
    finally:
        display.stop()
