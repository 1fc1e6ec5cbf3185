"""fixtures/hello, the sample app: its facts read from its own files, never retyped."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "fixtures" / "hello"


def _gomod(pattern: str) -> str:
    found = re.search(pattern, (HELLO / "go.mod").read_text(encoding="utf-8"), re.MULTILINE)
    assert found, f"{HELLO / 'go.mod'} has no match for {pattern!r}"
    return found.group(1)


def _ini(key: str) -> str:
    ini = configparser.ConfigParser()
    ini.read(HELLO / "pytest.ini", encoding="utf-8")
    return ini["pytest"][key]


# Its main package is the module's root: `go build` names the binary after the module.
MODULE = _gomod(r"^module (\S+)$")  # example.com/hello
FYNE_VERSION = _gomod(r"^require fyne\.io/fyne/v2 (\S+)$")
TITLE = _ini("fynecheck_window_title")  # its window's title, which app.window looks for
BINARY = MODULE.rpartition("/")[2]
