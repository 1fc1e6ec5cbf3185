"""The reload oracle against real hot-reload tools nobody here wrote, installed at their
pinned versions (reload/tools.py). Each finding is a test that shows it; see README's
table. Full property runs over 20 seeds: bench/reload.py --seeds 20."""

from __future__ import annotations

import subprocess

import pytest
from support.env import cache
from support.reload import AIR, AIR_FIXED, ASSET, FAST, GOW_FIXED, RACES, WGO_FIXED, scenario, tool

from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.reload.tools import TOOLS, install
from pytest_fynecheck.toolchain.gotool import version_tuple

pytestmark = pytest.mark.slow  # the first run builds each tool (air: a minute or two)



def test_pinned_installs_are_the_versions_go_reports() -> None:
    for name in ("air", "wgo", "gow"):
        binary = tool(name)[0]
        shown = subprocess.run(["go", "version", "-m", binary], capture_output=True,
                               text=True, timeout=60, check=True).stdout
        assert f"\t{TOOLS[name].module}\t{TOOLS[name].version}" in shown
        if TOOLS[name].go:  # built by its pinned toolchain, fetched through the proxy
            assert shown.split("\n")[0].endswith(f": {TOOLS[name].go}"), shown


@pytest.mark.parametrize("cmd", ["air", "wgo run .", "gow run ."])
def test_default_configuration_misses_embedded_asset_edits(cmd: str) -> None:
    """air (assets/ excluded, go,tpl,tmpl,html only; cf. air#151), wgo run (.go only) and
    gow (go,mod only) keep running an app whose //go:embed file changed."""
    failed = scenario(tool(cmd), [ASSET], AIR if cmd == "air" else FAST)
    assert failed is not None
    text = failed.describe()
    assert "stale build (the tree as it was at the start)" in text, text
    assert "only //go:embed files differ (assets/greeting.txt)" in text, text


@pytest.mark.parametrize("cmd", [AIR_FIXED, WGO_FIXED, GOW_FIXED])
def test_with_assets_watched_every_race_ends_up_to_date(cmd: str) -> None:
    """The same tools told to watch assets pass each race (air#784's change during a
    build included: fixed in the pinned air)."""
    options = AIR if cmd.startswith("air") else FAST
    for call in RACES:
        failed = scenario(tool(cmd), [call], options)
        assert failed is None, failed.describe() if failed else ""


def test_gow_does_not_build_with_go_1_26() -> None:
    """gow's newest commit needs github.com/mitranim/gg v0.1.29, whose build constraints
    give gid() a body only for go1.23-go1.25 (and the slow path only below go1.23): from
    go1.26 on, `gid` is undefined. The kit reports Go's own error (and so builds gow with
    its pinned go1.25 toolchain, the tests above)."""
    go = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True,
                        timeout=60, check=True).stdout.strip()
    if version_tuple(go) < (1, 26):
        pytest.skip(f"{go} builds gow; the bug needs go1.26 or newer")
    gow = TOOLS["gow"]
    with pytest.raises(CheckFailed) as info:
        install(gow, gow.version, cache(), go="")  # the local go
    assert "mitranim/gg@v0.1.29/gid.go" in info.value.detail
    assert "undefined: gid" in info.value.detail
    assert "give your own gow binary by its path" in info.value.hint
