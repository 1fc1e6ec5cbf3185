"""Go toolchains for the matrix: `golang.org/toolchain` modules from the module proxy.

Go itself fetches and caches them (GOTOOLCHAIN=go1.X.Y, module cache, keyed by version);
the kit only asks the proxy's version list (`go list -m -versions`) to resolve `1.22` and
`stable`, and makes sure a toolchain is in the module cache before a container (which has
no network) asks for it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, InputError
from pytest_fynecheck.core.progress import GoBuildProgress
from pytest_fynecheck.plan.spec import GO_SPEC, LOCAL
from pytest_fynecheck.toolchain.gotool import go_env, version_tuple

MODULE = "golang.org/toolchain"
# A release (no rc/beta): go1.20, go1.22.12.
_RELEASE = re.compile(r"^go(\d+)\.(\d+)(?:\.(\d+))?$")


def needs_list(specs: Sequence[str]) -> bool:
    """Whether resolving asks the proxy: exact versions and `local` do not."""
    return any(s == "stable" or ((m := GO_SPEC.match(s)) and m.group(3) is None) for s in specs)


def releases(host: Context) -> list[str]:
    """Toolchain releases the module proxy has for this machine, oldest first."""
    env = go_env(host)
    suffix = f".{env['GOHOSTOS']}-{env['GOHOSTARCH']}"
    # Outside any module: the project's go.mod (and its go line) must not get in the way.
    done = host.run(
        ["go", "list", "-m", "-json", "-versions", MODULE],
        env={"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"},
        cwd=host.scratch,
        timeout=120,
    )
    if not done.ok:
        raise InputError(
            f"--fynecheck-go: cannot read the toolchain list from the module proxy "
            f"(GOPROXY={env.get('GOPROXY', '')}): `go list -m -versions {MODULE}` said: "
            f"{done.output[-800:]}\nname exact versions (e.g. 1.24.13) to run from the "
            "module cache without asking the proxy"
        )
    versions: list[str] = json.loads(done.stdout).get("Versions") or []
    found = [
        v.removeprefix("v0.0.1-").removesuffix(suffix)
        for v in versions
        if v.startswith("v0.0.1-go") and v.endswith(suffix)
    ]
    return sorted((v for v in found if _RELEASE.match(v)), key=version_tuple)


def resolve(host: Context, specs: Sequence[str]) -> list[str]:
    """Each spec as an exact toolchain (go1.22.12) or `local`."""
    known = releases(host) if needs_list(specs) else []
    out: list[str] = []
    for spec in specs:
        if spec == LOCAL:
            exact = LOCAL
        elif spec == "stable":
            exact = known[-1]
        else:
            m = GO_SPEC.match(spec)
            assert m is not None  # parse_go_specs checked it
            if m.group(3) is not None:
                exact = f"go{m.group(1)}.{m.group(2)}.{m.group(3)}"
            else:
                line = [v for v in known if version_tuple(v)[:2] == (int(m.group(1)),
                                                                      int(m.group(2)))]
                if not line:
                    newest = known[-1] if known else "none"
                    raise InputError(
                        f"--fynecheck-go: the module proxy has no go{spec} release for this "
                        f"machine (newest: {newest})"
                    )
                exact = line[-1]
        if exact not in out:
            out.append(exact)
    return out


_FETCHED: dict[str, str] = {}
_LOCK = threading.Lock()


def fetch(host: Context, version: str) -> str:
    """Make sure `version` is in the module cache (Go downloads it on first use, through
    the module proxy); return its GOROOT. Once per process and version."""
    with _LOCK:
        if version in _FETCHED:
            return _FETCHED[version]
        # Go says `go: downloading go1.X.Y (linux/amd64)` when it fetches (70 MB or so):
        # the heartbeat repeats it while that takes.
        fetching = GoBuildProgress(host.progress, f"go toolchain {version}")
        with fetching.running():
            done = host.run(
                ["go", "env", "GOVERSION", "GOROOT"],
                env={"GOTOOLCHAIN": version},
                cwd=host.scratch,
                timeout=600,
                on_line=fetching.on_line,
            )
        lines = done.stdout.split()
        if not done.ok or not lines or lines[0] != version:
            raise CheckFailed(
                f"GOTOOLCHAIN={version} does not give that toolchain: "
                f"{done.output[-1500:] or 'go printed ' + repr(done.stdout)}",
                "check the version exists (`go list -m -versions golang.org/toolchain`) and "
                "that GOPROXY reaches a module proxy; the first use of a toolchain downloads it",
            )
        _FETCHED[version] = lines[1]
        return lines[1]
