"""Release packaging (issue 25): FyneApp.toml read by the fyne CLI's rules (`metadata.py`)
and the Linux tarball `fyne package -os linux` makes, unpacked and installed as users do
(`linux.py`). The checks that use them are in checks/package.py."""

from __future__ import annotations

from pathlib import Path

FYNEAPP = "FyneApp.toml"
PREFIX = "package."  # the ids of the checks this feature's machinery serves


def wanted(project: Path, forced: bool) -> bool:
    """package.* is planned for a project with a FyneApp.toml, or when asked
    (--fynecheck-package). Here, not in checks/package.py: run/items.py reads it, and
    importing a check module would register its checks before the catalogue's order."""
    return forced or (project / FYNEAPP).is_file()
