"""Screenshots where people look: pytest-html extras (when pytest-html is installed), and in
JUnit XML as properties plus `[[ATTACHMENT|path]]` lines (the form Jenkins' JUnit
Attachments plugin and GitLab read from a test case's system-out). Every artifact is a
property (its path); only what a person opens is attached: screenshots, logs, reproducers,
never the built app (CI would copy it, tens of MB, per check). In JUnit a kit item's
classname is `fynecheck.<context>` (a check's context or cell, a mode)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_fynecheck.core.model import Result
from pytest_fynecheck.core.results import recorded
from pytest_fynecheck.run.items import CheckItem, junit_context

PREFIX = "fynecheck."
# Artifact roles that are attached (also as `ROLE-...`); others, e.g. `binary`, are not.
ATTACHED = ("screenshot", "log", "reproducer", "replay")


def attached(role: str) -> bool:
    return any(role == r or role.startswith(r + "-") for r in ATTACHED)


def _attachment_lines(props: list[tuple[str, object]]) -> str:
    artifact = PREFIX + "artifact."
    return "".join(
        f"[[ATTACHMENT|{value}]]\n" for key, value in props
        if key.startswith(artifact) and attached(key[len(artifact):])
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    found = recorded(item.user_properties) if call.when == "call" else []
    result: Result | None = found[0] if found else None
    shots: dict[str, str] = {}
    context = junit_context(item)
    if context is not None and call.when == "setup":
        # The controller names the JUnit classname from it (no item there under xdist).
        item.user_properties.append((PREFIX + "context", context))
    if isinstance(item, CheckItem) and result is not None:
        item.user_properties += [(PREFIX + "cell", result.where),
                                 (PREFIX + "status", result.status.value)]
        for role, path in sorted(result.artifacts.items()):
            if Path(path).is_file():
                item.user_properties.append((PREFIX + "artifact." + role, path))
                if path.endswith(".png"):
                    shots[role] = path
        lines = _attachment_lines(item.user_properties)
        if lines:
            # In the captured stdout, for junit_logging=system-out/all (see the teardown hook).
            item.add_report_section("call", "stdout", lines)
    outcome = yield
    if not shots or item.config.pluginmanager.get_plugin("html") is None:
        return
    from pytest_html import extras  # type: ignore[import-untyped]

    rep = outcome.get_result()
    rep.extras = [*getattr(rep, "extras", [])] + [
        extras.png(base64.b64encode(Path(p).read_bytes()).decode(), name=f"{role} ({result.where})")
        for role, p in shots.items()
        if result is not None
    ]


class _JUnitAttachments:
    """Registered per run: junitxml's LogXML lives in the config's stash."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)  # before junitxml closes the test case at teardown
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        context = dict(report.user_properties).get(PREFIX + "context")
        if context is not None:
            # Kept by junitxml over the nodeid's `.fynecheck` (the collector sits at the root).
            xml.node_reporter(report).add_attribute("classname", f"fynecheck.{context}")
        lines = _attachment_lines(report.user_properties)
        if not lines or xml.logging != "no":
            return  # nothing to attach, or junitxml writes the captured stdout, lines and all
        node = ET.Element("system-out")
        node.text = lines
        xml.node_reporter(report).append(node)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_JUnitAttachments(config), "fynecheck-junit-attachments")
