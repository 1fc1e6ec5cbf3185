"""Debian's -dev packages and the exact runtime versions they are locked to."""

from __future__ import annotations

import re
from collections import defaultdict

from pytest_fynecheck.checks import Needs, check
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckWarning, NotApplicable

_EXACT = re.compile(r"^\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*\(\s*=\s*([^)\s]+)\s*\)\s*$")


@check(
    "debian.dev-locks",
    "Debian -dev packages match their runtime libraries",
    hint="upgrade the -dev package together with its runtime library: apt-get install PKG-dev PKG",
    required=False,
)
def dev_locks(ctx: Context, needs: Needs) -> str:
    if ctx.which("dpkg-query") is None:
        raise NotApplicable("no dpkg-query: not a Debian-based system")
    # One query for everything installed: name, arch, version, status, Depends.
    done = ctx.run(
        [
            "dpkg-query",
            "-W",
            "-f=${Package}\t${Architecture}\t${Version}\t${db:Status-Abbrev}\t${Depends}\n",
        ],
        timeout=60,
    )
    installed: dict[str, set[str]] = defaultdict(set)
    devs: list[tuple[str, str, str]] = []
    for line in done.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 5 or not parts[3].startswith("ii"):
            continue
        name, _arch, version, _status, depends = parts
        installed[name].add(version)
        if name.endswith("-dev"):
            devs.append((name, version, depends))
    broken = []
    for name, version, depends in devs:
        for group in depends.split(","):
            alternatives = [_EXACT.match(alt) for alt in group.split("|")]
            if not all(alternatives):
                continue  # only exact locks; other constraints are apt's business
            wanted = [(m.group(1), m.group(2)) for m in alternatives if m]
            if any(ver in installed.get(dep, set()) for dep, ver in wanted):
                continue
            dep, ver = wanted[0]
            have = ", ".join(sorted(installed.get(dep, set()))) or "not installed"
            broken.append(f"{name} {version} needs {dep} (= {ver}), found {have}")
    if broken:
        first = broken[0].split()
        raise CheckWarning(
            f"{len(broken)} exact-version lock(s) unmet: " + "; ".join(broken),
            f"install matching versions together, e.g. `apt-get install {first[0]} {first[3]}` "
            "(apt then upgrades both to one version); `apt-get -f install` repairs the rest",
        )
    return f"{len(devs)} -dev packages installed; every exact-version lock is met"
