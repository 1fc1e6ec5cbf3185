"""Issue 22 item 13: progress lines read "fynecheck: ..." once. The writer
(progress.line_writer) adds the prefix; a message handed to a progress callable must not
carry it too (two did: "fynecheck: fynecheck: removed 1 container(s) ...")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_fynecheck"


def _leading_text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        return _leading_text(node.values[0])
    return None


def _prefixed_progress_calls() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(
                f, ast.Attribute) else ""
            text = _leading_text(node.args[0])
            if name.endswith("progress") and text is not None and text.startswith("fynecheck"):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {text!r}")
    return found


def test_no_progress_message_carries_the_prefix_the_writer_adds() -> None:
    assert _prefixed_progress_calls() == []


def test_the_writer_adds_the_prefix_once(pytester: pytest.Pytester) -> None:
    """A real session's progress line, as the containers' reaper writes it."""
    pytester.makeconftest(
        "from pytest_fynecheck.run.session import core\n"
        "def pytest_sessionstart(session):\n"
        "    core(session.config).progress('removed 1 container(s) left by killed runs')\n"
    )
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["  fynecheck: removed 1 container(s) left by killed runs"])
    assert "fynecheck: fynecheck:" not in result.stdout.str()
