"""Which DLLs a .exe imports (`objdump -p`), and which of them a clean Windows lacks."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from pytest_fynecheck.core.context import TOOL_HINTS, Context
from pytest_fynecheck.core.model import CheckFailed

# binutils-mingw-w64-x86-64 ships it; gcc-mingw-w64-x86-64 depends on that package.
OBJDUMP = "x86_64-w64-mingw32-objdump"
TOOL_HINTS.setdefault(
    OBJDUMP, "install gcc-mingw-w64-x86-64 (Debian: apt-get install gcc-mingw-w64-x86-64)"
)
# API sets: virtual names the Windows 10+ loader maps onto system DLLs.
_API_SET = re.compile(r"^(api|ext)-ms-win-[a-z0-9-]+\.dll$")


@functools.cache
def system_dlls() -> frozenset[str]:
    """system_dlls.txt: lower-case names of the DLLs every Windows 10/11 has."""
    text = (Path(__file__).with_name("system_dlls.txt")).read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def is_system(dll: str) -> bool:
    name = dll.lower()
    return name in system_dlls() or bool(_API_SET.match(name))


def imported_dlls(ctx: Context, binary: Path) -> list[str]:
    """The DLL names in the PE import table, as the linker wrote them."""
    done = ctx.run([OBJDUMP, "-p", str(binary)], timeout=60)
    if not done.ok:
        raise CheckFailed(f"`{OBJDUMP} -p {binary}` failed: {done.output[-800:]}")
    if "pei-x86-64" not in done.stdout:
        raise CheckFailed(f"{binary} is not a 64-bit Windows executable ({OBJDUMP} -p)")
    return re.findall(r"^\s*DLL Name: (\S+)", done.stdout, re.M)


def unresolved_dlls(ctx: Context, exe: Path) -> tuple[list[str], dict[str, str]]:
    """(system DLLs imported, {DLL: who imports it}) for the DLLs that ship with neither
    Windows nor the app. The app ships what sits beside its .exe, as Windows' loader looks
    there first; those DLLs' own imports are followed too."""
    beside = {p.name.lower(): p for p in exe.parent.iterdir() if p.suffix.lower() == ".dll"}
    system: set[str] = set()
    missing: dict[str, str] = {}
    todo, seen = [exe], {exe.name.lower()}
    while todo:
        binary = todo.pop()
        for dll in imported_dlls(ctx, binary):
            key = dll.lower()
            if key in seen:
                continue
            seen.add(key)
            if key in beside:
                todo.append(beside[key])
            elif is_system(key):
                system.add(dll)
            else:
                missing[dll] = binary.name
    return sorted(system, key=str.lower), missing


def missing_hint(missing: dict[str, str]) -> str:
    names = ", ".join(missing)
    mingw = [d for d in missing if d.lower() in _MINGW_RUNTIME]
    hint = (
        f"ship {names} next to the .exe (a DLL beside the .exe is found first), or link "
        "statically so the .exe imports no such DLL"
    )
    if mingw:
        hint += (
            f"; {', '.join(mingw)} is MinGW's own runtime: build with "
            "CGO_LDFLAGS='-static' (or copy it from /usr/lib/gcc/x86_64-w64-mingw32/*/ or "
            "/usr/x86_64-w64-mingw32/lib/)"
        )
    return hint


_MINGW_RUNTIME = {"libwinpthread-1.dll", "libgcc_s_seh-1.dll", "libstdc++-6.dll"}
