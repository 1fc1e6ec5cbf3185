"""The reload oracle with the tool in a suite container and the tree on a bind mount
(churned from the host, as an editor there would): the pinned air, wgo and gow, static
binaries, mounted read-only. Real container, real engine; nothing skips without Docker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import start_suite
from support.env import cache
from support.reload import (
    AIR,
    AIR_FIXED,
    ASSET,
    FAST,
    GOW_FIXED,
    WGO_FIXED,
    reloader,
    scenario,
    tool,
)

from pytest_fynecheck.reload.machine import CASES
from pytest_fynecheck.reload.modes import BindReloadMode, parse_mode
from pytest_fynecheck.reload.options import Options

pytestmark = pytest.mark.slow  # the first run builds the suite image
SUITE = "bookworm"
# Per tool: (default command, command that watches the embedded assets, settings).
TOOLS: dict[str, tuple[str, str, Options]] = {
    "air": ("air", AIR_FIXED, AIR),
    "wgo": ("wgo run .", WGO_FIXED, FAST),
    "gow": ("gow run .", GOW_FIXED, FAST),
}


@pytest.fixture(scope="module")
def bind() -> Iterator[BindReloadMode]:
    for default, fixed, _options in TOOLS.values():  # built before the mounts are fixed
        tool(default), tool(fixed)
    reloader("stale")
    mode = parse_mode(f"bind:{SUITE}", start=start_suite,
                      mounts=[cache() / "tools", cache() / "go"])
    assert isinstance(mode, BindReloadMode)
    yield mode
    mode.close()


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_default_config_in_a_container_misses_embedded_assets_too(
    bind: BindReloadMode, name: str
) -> None:
    default, _fixed, options = TOOLS[name]
    failed = scenario(tool(default), [ASSET], options, bind)
    assert failed is not None
    assert "only //go:embed files differ" in failed.describe()


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_with_assets_watched_races_pass_on_a_bind_mount(bind: BindReloadMode, name: str) -> None:
    _default, fixed, options = TOOLS[name]
    # The two that involve builds (each race runs locally in test_reload_tools), and the
    # embedded asset edit.
    for call in [CASES["edit during a build"], CASES["broken build then its fix"], ASSET]:
        failed = scenario(tool(fixed), [call], options, bind)
        assert failed is None, failed.describe() if failed else ""


def test_the_stale_fixture_is_caught_in_the_container(bind: BindReloadMode) -> None:
    failed = scenario(reloader("stale"), [("edit_during_build", {"first": 0, "second": 0})],
                      AIR, bind)
    assert failed is not None and "stale build" in failed.problems[0]
    assert bind.ctx is not None and bind.ctx.container  # it really ran in the container
