"""The C side of a Fyne build: the compiler, pkg-config, and the GL, X11 and Wayland libraries.

Each library check asks pkg-config first, then compiles and links a probe that includes
the real headers, because a .pc file without its headers (or the reverse) still breaks
the build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import threading
from collections.abc import Sequence
from pathlib import Path

from pytest_fynecheck import PROBES_DIR
from pytest_fynecheck.checks import Needs, check
from pytest_fynecheck.context import Completed, Context
from pytest_fynecheck.gotool import go_env
from pytest_fynecheck.model import CheckFailed, NotApplicable

# pkg-config module -> the Debian package that ships its .pc file (and headers).
# tests/test_checks_cc.py checks each row against `dpkg-query -S` on the host.
DEBIAN_PACKAGES = {
    "gl": "libgl-dev",
    "x11": "libx11-dev",
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


@check(
    "cc.works",
    "C compiler builds and links cgo",
    hint="install a C compiler and the C library headers (Debian: apt-get install gcc libc6-dev)",
    requires=("cgo.enabled",),
)
def cc_works(ctx: Context, needs: Needs) -> str:
    exe, built = build_cgo_probe(ctx, "cgo", "probe")
    if not built.ok:
        raise CheckFailed(
            f"a tiny cgo program does not build: {built.output[-1500:]}",
            _cc_hint(built.output, c_compiler(ctx)),
        )
    ran = ctx.run([str(exe)], cwd=exe.parent, timeout=30)
    if ran.stdout.strip() != "cgo 42":
        raise CheckFailed(
            f"the cgo probe built but printed {ran.output!r} (exit {ran.returncode})",
            "the C toolchain produces broken binaries; reinstall gcc and libc6-dev",
        )
    return f"{compiler_identity(ctx)}; cgo probe ran"


def write_if_changed(path: Path, text: str) -> None:
    if path.is_file() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(path)  # parallel runs never see half a file


def _cc_hint(output: str, cc: Sequence[str]) -> str:
    if "executable file not found" in output or ("not found" in output and cc[0] in output):
        return (
            f"`{cc[0]}` is not on PATH: install it (Debian: apt-get install gcc) "
            "or set CC to your compiler"
        )
    if "crt1.o" in output or "cannot find -lc" in output or "stdlib.h" in output:
        return "the C library headers are missing (Debian: apt-get install libc6-dev)"
    return "install a working C toolchain (Debian: apt-get install gcc libc6-dev)"


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
    and source would read the same files: every header (gcc -MD) and library (ld -t)
    that compile used still has its size, mtime and inode. A missing or changed header
    or library, or a new compiler, compiles again, so the check still proves them."""
    flags = ctx.run(["pkg-config", "--cflags", "--libs", *modules], timeout=30)
    if not flags.ok:
        raise CheckFailed(f"pkg-config --cflags --libs {' '.join(modules)}: {flags.output}")
    # Probes run here, on Linux: a cross compiler (GOOS=windows's mingw) cannot build them.
    cc = ["gcc"] if ctx.environ.get("GOOS", "linux") != "linux" else c_compiler(ctx)
    argv = [*cc, *shlex.split(flags.stdout)]
    cached = _probe_cache(ctx, name, argv, source)
    if cached is not None and _inputs_unchanged(cached / "inputs.json"):
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
        write_if_changed(cached / "inputs.json", json.dumps(_stats([str(exe), *inputs])))
    return exe


def _probe_cache(ctx: Context, name: str, argv: Sequence[str], source: str) -> Path | None:
    """Where this probe's build is kept: host only (the inputs are stat()ed here)."""
    if ctx.name != "host":
        return None
    compiler = ctx.which(argv[0])
    if compiler is None:
        return None
    st = os.stat(compiler)
    key = hashlib.sha256(
        json.dumps([list(argv), compiler, st.st_size, st.st_mtime_ns, source]).encode()
    ).hexdigest()[:16]
    return ctx.cache / "probes" / ctx.name / "c" / f"{name}-{key}"


def _used_files(depfile: str, linker_trace: str) -> list[str]:
    """Headers from gcc's make-style depfile, and what ld opened (`-t`)."""
    headers = depfile.replace("\\\n", " ").split(":", 1)[-1].split()
    opened = re.finditer(r"\((/[^)]+)\)|^(/\S+)$", linker_trace, re.M)  # "-lGL (/p)" or "/p"
    libs = [m.group(1) or m.group(2) for m in opened]
    # The compiler's own temporary objects are gone by now: nothing to keep watching.
    return sorted({p for p in [*headers, *libs] if os.path.exists(p)})


def _stats(paths: Sequence[str]) -> dict[str, list[int]]:
    out = {}
    for path in paths:
        st = os.stat(path)
        out[path] = [st.st_size, st.st_mtime_ns, st.st_ino]
    return out


def _inputs_unchanged(manifest: Path) -> bool:
    try:
        recorded: dict[str, list[int]] = json.loads(manifest.read_text())
        return bool(recorded) and _stats(list(recorded)) == recorded
    except (OSError, ValueError):
        return False


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


@check(
    "pkgconfig.gl",
    "pkg-config finds OpenGL (gl.pc) and its headers",
    hint="Debian: apt-get install libgl-dev pkg-config",
    requires=("cc.works",),
)
def pkgconfig_gl(ctx: Context, needs: Needs) -> str:
    versions = pkg_config(ctx, ["gl"])
    compile_probe(ctx, "gl-probe", ["gl"], c_program(["GL/gl.h"], "return glGetString == 0;"))
    return f"gl {versions['gl']}; GL/gl.h compiles and -lGL links"


X11_MODULES = ["x11", "xrandr", "xcursor", "xinerama", "xi", "xxf86vm"]
X11_HEADERS = [
    "X11/Xlib.h",
    "X11/extensions/Xrandr.h",
    "X11/Xcursor/Xcursor.h",
    "X11/extensions/Xinerama.h",
    "X11/extensions/XInput2.h",
    "X11/extensions/xf86vmode.h",
]
X11_CALLS = """return XOpenDisplay == 0 || XRRGetScreenResources == 0 || XcursorImageCreate == 0
    || XineramaQueryScreens == 0 || XIQueryVersion == 0 || XF86VidModeQueryExtension == 0;"""


@check(
    "x11.libs",
    "X11 libraries GLFW links",
    hint="Debian: apt-get install xorg-dev (or libx11-dev libxrandr-dev libxcursor-dev "
    "libxinerama-dev libxi-dev libxxf86vm-dev)",
    requires=("cc.works",),
)
def x11_libs(ctx: Context, needs: Needs) -> str:
    if "wayland" in ctx.tags:
        raise NotApplicable("the app is built with -tags wayland, which does not link X11")
    versions = pkg_config(ctx, X11_MODULES)
    compile_probe(ctx, "x11-probe", X11_MODULES, c_program(X11_HEADERS, X11_CALLS))
    return ", ".join(f"{m} {v}" for m, v in versions.items()) + "; headers compile and link"


WAYLAND_MODULES = ["wayland-client", "wayland-cursor", "wayland-egl", "xkbcommon"]
WAYLAND_HEADERS = ["wayland-client.h", "wayland-cursor.h", "wayland-egl.h", "xkbcommon/xkbcommon.h"]
# go-gl/glfw ships Wayland protocol code generated by a newer wayland-scanner: it calls
# wl_proxy_marshal_flags, new in libwayland 1.20. With 1.18 (bullseye) a -tags wayland
# build fails: "'WL_MARSHAL_FLAG_DESTROY' undeclared".
WAYLAND_CLIENT_MIN = (1, 20)
WAYLAND_CALLS = """return wl_display_connect == 0 || wl_cursor_theme_load == 0
    || wl_egl_window_create == 0 || xkb_context_new == 0 || wl_proxy_marshal_flags == 0;"""


@check(
    "wayland.libs",
    "Wayland libraries GLFW links (-tags wayland)",
    hint="Debian: apt-get install libwayland-dev libxkbcommon-dev",
    requires=("cc.works",),
)
def wayland_libs(ctx: Context, needs: Needs) -> str:
    if "wayland" not in ctx.tags:
        raise NotApplicable("the app is not built with -tags wayland (see ini fynecheck_tags)")
    versions = pkg_config(ctx, WAYLAND_MODULES)
    client = versions["wayland-client"]
    if tuple(int(n) for n in re.findall(r"\d+", client)[:2]) < WAYLAND_CLIENT_MIN:
        need = ".".join(map(str, WAYLAND_CLIENT_MIN))
        raise CheckFailed(
            f"wayland-client {client} is older than {need}: the GLFW that go-gl bundles calls "
            f"wl_proxy_marshal_flags (libwayland >= {need}), so a -tags wayland build fails "
            "with 'WL_MARSHAL_FLAG_DESTROY' undeclared",
            f"build on a system with libwayland-dev >= {need} (Debian 12 bookworm has 1.21), "
            "or build without -tags wayland: the X11 build runs under Wayland through XWayland",
        )
    compile_probe(ctx, "wayland-probe", WAYLAND_MODULES, c_program(WAYLAND_HEADERS, WAYLAND_CALLS))
    return ", ".join(f"{m} {v}" for m, v in versions.items()) + "; headers compile and link"
