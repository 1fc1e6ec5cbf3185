"""The one C-probe compiler: C programs compiled and linked against pkg-config modules
(the cc.* checks, the X11 and Wayland probes, the GL probe), and the tiny cgo program that
proves cgo works. Checks, displays and the Windows target import it; it imports no check.
"""

from __future__ import annotations

import os
import re
import shlex
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from pytest_fynecheck.core.context import Completed, Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.core.paths import PROBES_DIR
from pytest_fynecheck.toolchain.gotool import go_env
from pytest_fynecheck.toolchain.probecache import keep, probe_dir, reusable

# pkg-config module -> the Debian package that ships its .pc file (and headers).
# tests/test_readiness.py checks each row against `dpkg-query -S` on the host.
DEBIAN_PACKAGES = {
    "gl": "libgl-dev",
    "x11": "libx11-dev",
    "xres": "libxres-dev",
    "xrandr": "libxrandr-dev",
    "xcursor": "libxcursor-dev",
    "xinerama": "libxinerama-dev",
    "xi": "libxi-dev",
    "xxf86vm": "libxxf86vm-dev",
    "wayland-client": "libwayland-dev",
    "wayland-cursor": "libwayland-dev",
    "wayland-egl": "libwayland-dev",
    "xkbcommon": "libxkbcommon-dev",
}

CGO_PROBE = """package main

/*
static int twice(int x) { return 2 * x; }
*/
import "C"

import "fmt"

func main() { fmt.Println("cgo", int(C.twice(21))) }
"""


def c_compiler(ctx: Context) -> list[str]:
    """CC as Go will call it (it may carry flags, e.g. `gcc -m64`)."""
    return shlex.split(go_env(ctx).get("CC") or "gcc")


def compiler_identity(ctx: Context) -> str:
    """CC and the first line of its --version, for a check's detail."""
    cc = c_compiler(ctx)
    version = ctx.run([*cc, "--version"], timeout=30).stdout.splitlines()
    return f"{' '.join(cc)}: {version[0] if version else '?'}"


def build_cgo_probe(ctx: Context, where: str, exe_name: str) -> tuple[Path, Completed]:
    """CGO_PROBE built for the context's GOOS: the program, and what the build said."""
    # A lasting directory: Go then skips the link when nothing changed, but still asks
    # the compiler for its identity, so a vanished gcc is noticed.
    src = ctx.cache / "probes" / ctx.name / where
    write_if_changed(src / "go.mod", "module fynecheck.probe/cgo\n\ngo 1.19\n")
    write_if_changed(src / "main.go", CGO_PROBE)
    exe = src / exe_name
    # The probe is its own module: the user's GOFLAGS (e.g. -mod=vendor) do not apply to it.
    env = {"GOFLAGS": "-mod=mod", "GOWORK": "off"}
    return exe, ctx.run(["go", "build", "-o", str(exe), "."], cwd=src, env=env, timeout=300)


def write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(path)  # parallel runs never see half a file


def pkg_config(ctx: Context, modules: Sequence[str]) -> dict[str, str]:
    """Versions of the modules pkg-config knows; fails naming the missing ones."""
    versions: dict[str, str] = {}
    missing: list[str] = []
    together = ctx.run(["pkg-config", "--modversion", *modules], timeout=30)
    lines = together.stdout.splitlines()
    if together.ok and len(lines) == len(modules):  # one call when all are there
        return dict(zip(modules, (line.strip() for line in lines), strict=True))
    for mod in modules:
        done = ctx.run(["pkg-config", "--modversion", mod], timeout=30)
        if done.ok:
            versions[mod] = done.stdout.strip()
        else:
            missing.append(mod)
    if missing:
        pkgs = sorted({DEBIAN_PACKAGES.get(m, f"the -dev package with {m}.pc") for m in missing})
        raise CheckFailed(
            f"pkg-config does not find {', '.join(m + '.pc' for m in missing)} "
            f"(PKG_CONFIG_PATH={ctx.environ.get('PKG_CONFIG_PATH', '')!s}, "
            f"PKG_CONFIG_LIBDIR={ctx.environ.get('PKG_CONFIG_LIBDIR', '')!s})",
            f"Debian: apt-get install {' '.join(pkgs)}; elsewhere install the development "
            f"package that provides {', '.join(m + '.pc' for m in missing)}",
        )
    return versions


def c_program(headers: Sequence[str], body: str) -> str:
    includes = "".join(f"#include <{h}>\n" for h in headers)
    return f"{includes}\nint main(void) {{\n{body}\n}}\n"


def shipped_probe(name: str) -> str:
    """A C probe shipped in pytest_fynecheck/probes/."""
    return (PROBES_DIR / name).read_text()


def compile_probe(ctx: Context, name: str, modules: Sequence[str], source: str) -> Path:
    """Compile and link a C program against the modules; returns the executable.

    On the host, a probe that compiled before is reused while the same compiler, flags
    and source would read the same files (probecache): every header (gcc -MD) and
    library (ld -t) that compile used is as it was. A missing or changed header or
    library, or a new compiler, compiles again, so the check still proves them."""
    flags = ctx.run(["pkg-config", "--cflags", "--libs", *modules], timeout=30)
    if not flags.ok:
        raise CheckFailed(f"pkg-config --cflags --libs {' '.join(modules)}: {flags.output}")
    # Probes run here, on Linux: a cross compiler (GOOS=windows's mingw) cannot build them.
    cc = ["gcc"] if ctx.environ.get("GOOS", "linux") != "linux" else c_compiler(ctx)
    argv = [*cc, *shlex.split(flags.stdout)]
    cached = _probe_cache(ctx, name, argv, source)
    if cached is not None and reusable(cached) is not None:
        return cached / name
    out = cached or ctx.scratch
    out.mkdir(parents=True, exist_ok=True)
    src = out / f"{name}.c"
    src.write_text(source)
    exe = out / name
    # Cached: built beside and renamed, so a parallel run uses the old probe or the new one.
    target = out / f".{name}.{os.getpid()}.{threading.get_ident()}" if cached else exe
    deps = target.with_name(target.name + ".d")
    trace = ["-MD", "-MF", str(deps), "-Wl,-t"] if cached else []
    started = time.time()
    done = ctx.run([argv[0], *trace, "-o", str(target), str(src), *argv[1:]], timeout=120)
    if not done.ok:
        raise CheckFailed(
            f"a probe using {', '.join(modules)} does not compile and link: {done.output[-1500:]}",
            _owner_hint(ctx, modules),
        )
    if cached:
        target.replace(exe)
        inputs = _used_files(deps.read_text(), done.stdout)
        deps.unlink()
        # The source is the kit's own (its text is in the key), written just now.
        keep(cached, [p for p in inputs if p != str(src)], started, outputs=[str(exe)])
    return exe


def _probe_cache(ctx: Context, name: str, argv: Sequence[str], source: str) -> Path | None:
    """Where this probe's build is kept (probecache's key: compiler, flags, source)."""
    compiler = ctx.which(argv[0]) if ctx.name == "host" else None
    if compiler is None:
        return None
    st = os.stat(compiler)
    return probe_dir(ctx, "c", name, [*argv, "\0", compiler, str(st.st_size),
                                      str(st.st_mtime_ns), source])


def _used_files(depfile: str, linker_trace: str) -> list[str]:
    """Headers from gcc's make-style depfile, and what ld opened (`-t`)."""
    headers = depfile.replace("\\\n", " ").split(":", 1)[-1].split()
    opened = re.finditer(r"\((/[^)]+)\)|^(/\S+)$", linker_trace, re.M)  # "-lGL (/p)" or "/p"
    libs = [m.group(1) or m.group(2) for m in opened]
    # The compiler's own temporary objects are gone by now: nothing to keep watching.
    return sorted({p for p in [*headers, *libs] if os.path.exists(p)})


def _owner_hint(ctx: Context, modules: Sequence[str]) -> str:
    """The .pc files are there but headers or libraries are not: name the package that owns them."""
    owners = []
    for mod in modules:
        pcdir = ctx.run(["pkg-config", "--variable=pcfiledir", mod], timeout=30).stdout.strip()
        owner = ""
        if ctx.which("dpkg-query"):
            found = ctx.run(["dpkg-query", "-S", f"{pcdir}/{mod}.pc"], timeout=30)
            owner = found.stdout.split(":")[0] if found.ok else ""
        owners.append(owner or DEBIAN_PACKAGES.get(mod, f"the -dev package of {mod}"))
    pkgs = " ".join(sorted(set(owners)))
    return f"reinstall {pkgs} (Debian: apt-get install --reinstall {pkgs})"
