"""The live processes as /proc shows them, for tests that count what a run left behind.

Only the standard library: display_kill_rounds.py imports it when run as a script.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def in_pid_namespace() -> list[str]:
    """A command prefix that runs its command as pid 1 of a new pid namespace with its
    own /proc, as a container runtime or `unshare` does."""
    if os.geteuid() != 0:
        return ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc"]
    return ["unshare", "--pid", "--fork", "--mount-proc"]


def live_processes() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command name, /proc/PID/stat fields after the name) of each non-zombie process;
    in the fields, [1] is the parent's pid and [2] the process group."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        # The name may hold spaces and parentheses: it ends at the last ")".
        fields = raw[raw.rindex(")") + 2 :].split()
        if fields[0] in ("Z", "X"):
            continue
        yield int(entry.name), raw[raw.index("(") + 1 : raw.rindex(")")], fields
