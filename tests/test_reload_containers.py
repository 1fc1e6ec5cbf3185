"""The reload oracle with the tool in a suite container and the tree on a bind mount
(churned from the host, as an editor there would): the pinned air, a static binary,
mounted read-only. Real container, real engine; nothing skips without Docker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import CACHE, start_suite
from reload_support import AIR, AIR_FIXED, ASSET, RACES, reloader, scenario, tool

from pytest_fynecheck.reload.modes import BindReloadMode, parse_mode

pytestmark = pytest.mark.slow  # the first run builds the suite image
SUITE = "bookworm"


@pytest.fixture(scope="module")
def bind() -> Iterator[BindReloadMode]:
    tool("air"), tool(AIR_FIXED), reloader("stale")  # built before the mounts are fixed
    mode = parse_mode(f"bind:{SUITE}", start=start_suite,
                      mounts=[CACHE / "tools", CACHE / "go"])
    assert isinstance(mode, BindReloadMode)
    yield mode
    mode.close()


def test_air_in_a_container_misses_embedded_assets_too(bind: BindReloadMode) -> None:
    failed = scenario(tool("air"), [ASSET], AIR, bind)
    assert failed is not None
    assert "only //go:embed files differ" in failed.describe()


def test_air_with_assets_watched_passes_races_on_a_bind_mount(bind: BindReloadMode) -> None:
    # The two that involve builds (each race runs locally in test_reload_tools).
    for call in RACES[:1] + RACES[3:4]:
        failed = scenario(tool(AIR_FIXED), [call], AIR, bind)
        assert failed is None, failed.describe() if failed else ""


def test_the_stale_fixture_is_caught_in_the_container(bind: BindReloadMode) -> None:
    failed = scenario(reloader("stale"), [("edit_during_build", {"first": 0, "second": 0})],
                      AIR, bind)
    assert failed is not None and "stale build" in failed.problems[0]
    assert bind.ctx is not None and bind.ctx.container  # it really ran in the container
