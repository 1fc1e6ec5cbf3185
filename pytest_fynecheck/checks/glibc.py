"""Linux binary portability: the glibc symbol versions the built app needs (`objdump -p`,
its Version References) against those each other suite's libraries define."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

from pytest_fynecheck.checks import Needs, built_binary, check
from pytest_fynecheck.containers.engine import engine, failing, missing_engine, owner_labels
from pytest_fynecheck.containers.images import ensure_base
from pytest_fynecheck.core.context import TOOL_HINTS, Context
from pytest_fynecheck.core.model import CheckFailed, CheckWarning, NotApplicable
from pytest_fynecheck.core.paths import cache_dir

TOOL_HINTS.setdefault("objdump", "install binutils (Debian: apt-get install binutils)")
# Where a Debian amd64 suite keeps libc and friends (/lib is /usr/lib from bookworm on).
LIB_DIR = "/lib/x86_64-linux-gnu"


def version_key(name: str) -> tuple[int, ...]:
    """'GLIBC_2.2.5' -> (2, 2, 5)."""
    return tuple(int(n) for n in re.findall(r"\d+", name))


def needed_versions(ctx: Context, binary: Path) -> dict[str, list[str]]:
    """{library: GLIBC_ versions the binary requires from it}, from `objdump -p`."""
    done = ctx.run(["objdump", "-p", str(binary)], timeout=60)
    if not done.ok:
        raise CheckFailed(f"`objdump -p {binary}` failed: {done.output[-800:]}")
    needs: dict[str, list[str]] = {}
    lib = ""
    for line in done.stdout.splitlines():
        m = re.match(r"^\s+required from (\S+):$", line)
        if m:
            lib = m.group(1)
            continue
        m = re.match(r"^\s+0x[0-9a-f]+ 0x[0-9a-f]+ \d+ (GLIBC_[0-9.]+)$", line)
        if m and lib:
            needs.setdefault(lib, []).append(m.group(1))
    return needs


def defined_versions(objdump_output: str) -> list[str]:
    """The GLIBC_ version nodes a library defines (`objdump -p`'s Version definitions)."""
    section = objdump_output.split("Version definitions:", 1)[-1].split("Version References:")[0]
    return re.findall(r"^\d+ 0x[0-9a-f]+ 0x[0-9a-f]+ (GLIBC_[0-9.]+)$", section, re.M)


def suite_versions(ctx: Context, suite: str, lib: str) -> list[str] | None:
    """The GLIBC_ versions `lib` defines in `suite` (None: the suite has no such library),
    asked of the suite's own file: read out of its base image, then `objdump -p` here.
    Cached by the image tag, which is a hash of what went into the image."""
    from docker.errors import NotFound  # here, not at import: containers.engine says why

    # The container machinery loads where a suite is asked: catalogue() imports this
    # module in every run, before the first check.
    from pytest_fynecheck.containers.context import SESSION_ID

    root = cache_dir()  # the kit's cache, whatever ctx's is
    reason = missing_engine(root)
    if reason is not None:
        raise CheckFailed(f"cannot read {suite}'s glibc: {reason}")
    docker = engine(root)
    base = ensure_base(docker, suite, root / "locks", ctx.progress)
    cache = root / "glibc" / base.replace(":", "-") / f"{lib}.json"
    if cache.is_file():
        known: list[str] | None = json.loads(cache.read_text())
        return known
    versions: list[str] | None = None
    data = b""
    labels = owner_labels(SESSION_ID)
    with failing(f"reading {LIB_DIR}/{lib} out of {base}"):
        # The file, not its symlink (bullseye: libc.so.6 -> libc-2.31.so); copied out as a
        # tar (a container's log would mangle binary output).
        real: bytes = docker.client.containers.run(
            base, ["readlink", "-f", f"{LIB_DIR}/{lib}"], network_mode="none", remove=True,
            labels=labels, stdout=True, stderr=False,
        )
        box = docker.client.containers.create(base, ["true"], network_mode="none", labels=labels)
        try:
            chunks, _ = box.get_archive(real.decode().strip())
            with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
                member = tar.extractfile(tar.getmembers()[0])
                data = member.read() if member is not None else b""
        except NotFound:  # the suite has no such library
            data = b""
        finally:
            box.remove(force=True)
    if data:
        copy = cache.with_suffix(".so")
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(data)
        read = docker.host.run(["objdump", "-p", str(copy)], timeout=60)
        copy.unlink()
        if not read.ok:
            raise CheckFailed(f"`objdump -p` cannot read {suite}'s {lib}: {read.output[-500:]}")
        versions = defined_versions(read.stdout)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(versions))
    return versions


def _suites(ctx: Context) -> tuple[list[str], bool]:
    """(suites the binary should start on, whether the user named them in the ini)."""
    own = getattr(getattr(ctx, "target", None), "suite", None)
    suites = [s for s in ctx.settings.glibc_suites if s != own]
    return suites, ctx.settings.glibc_named


@check(
    "glibc.portability",
    "The app starts on the other suites' glibc",
    hint="build on the oldest suite you ship to: glibc keeps its old symbol versions, so a "
    "binary built against an older glibc starts on newer ones",
    requires=("app.build",),
    waits=True,
)
def glibc_portability(ctx: Context, needs: Needs) -> str:
    suites, named = _suites(ctx)
    if not suites:
        raise NotApplicable(
            "no other suite to compare with: name them in --fynecheck-os or ini "
            "fynecheck_glibc_suites"
        )
    exe = built_binary(needs, "app.build")
    wanted = needed_versions(ctx, exe)
    highest = max((v for vs in wanted.values() for v in vs), key=version_key, default="none")
    where = "this host" if ctx.name == "host" else ctx.name
    problems, fine = [], []
    for suite in suites:
        lacking = []
        for lib, versions in wanted.items():
            have = suite_versions(ctx, suite, lib)
            if have is None:
                lacking.append(f"{lib} (absent)")
                continue
            gone = sorted(set(versions) - set(have), key=version_key)
            if gone:
                top = max(have, key=version_key, default="none")
                lacking.append(f"{', '.join(gone)} ({suite}'s {lib} defines up to {top})")
        if lacking:
            problems.append(f"built on {where}, will not start on {suite}: needs "
                            + "; ".join(lacking))
        else:
            fine.append(suite)
    if problems:
        detail = "\n".join(problems) + (f"\nstarts on: {', '.join(fine)}" if fine else "")
        if named:
            raise CheckFailed(detail)
        raise CheckWarning(
            detail,
            "build on the oldest suite you ship to (glibc keeps its old symbol versions, so a "
            "binary built against an older glibc starts on newer ones); list the suites it "
            "must start on in ini fynecheck_glibc_suites to make this a failure",
        )
    return f"needs up to {highest}; starts on {', '.join(fine)} (built on {where})"
