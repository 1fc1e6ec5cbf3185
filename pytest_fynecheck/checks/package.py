"""package.*: the app as users ship it (issue 25). They run when the project has a
FyneApp.toml or --fynecheck-package is given (`package.wanted`), on the host;
package.metadata and package.windows also in a SUITE-windows container."""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
from pathlib import Path
from typing import NoReturn

from pytest_fynecheck.checks import Found, Needs, check
from pytest_fynecheck.checks.app_window import show_x_window
from pytest_fynecheck.checks.fyne_cli import INSTALL
from pytest_fynecheck.checks.windows import WINDOWS, wine_window
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import (
    CheckFailed,
    CheckWarning,
    NotApplicable,
    Result,
    Status,
)
from pytest_fynecheck.displays.servers import x_display
from pytest_fynecheck.displays.x11 import MappedWindow, lend_xwindows_probe, xwindows_probe
from pytest_fynecheck.package import elsewhere, install, linux, windows
from pytest_fynecheck.package.metadata import lint
from pytest_fynecheck.toolchain import fynecli
from pytest_fynecheck.toolchain.gotool import go_project, main_package


def _host_only(ctx: Context, *, windows_suite: bool = False) -> None:
    # The host and the host-side kinds (`--fynecheck-os windows` is this machine with
    # mingw-w64's env) are plain Contexts; a suite container's is a subclass.
    if type(ctx) is not Context and not (windows_suite and _in_windows_suite(ctx)):
        raise NotApplicable("package checks run on this machine (package.metadata and "
                            "package.windows also in SUITE-windows); package.install starts "
                            "the runtime-only container of each suite itself (this one's "
                            "too: --fynecheck-os's suites, or ini fynecheck_package_suites)")


def _in_windows_suite(ctx: Context) -> bool:
    from pytest_fynecheck.containers.context import ContainerContext

    return isinstance(ctx, ContainerContext) and ctx.target.variant == "windows"


def _suite_cli(ctx: Context) -> tuple[str, str]:
    """A SUITE-windows container has no fyne CLI: the version this machine's `fyne`
    reports, built here by the kit (through the module proxy; the container has no
    network), put in the container's cache. The container sees that cache at the same
    path (bind-mounted, or copied in by containers/transfer.py before its next command).
    The CLI's path there, and what the detail says of it."""

    def compute() -> tuple[str, str]:
        from pytest_fynecheck.core.paths import cache_dir

        host = Context(ctx.project, ctx.scratch, cache_dir(), timeout=ctx.timeout,
                       progress=ctx.progress)
        ctx.on_close(host.close)  # the build is held in use until the run's end
        version = fynecli.cli_version(host)
        built = fynecli.build_cli(host, version)
        dest = fynecli.copy_build(ctx, built)
        how = "reused" if built.cached else f"built in {built.seconds:.0f} s"
        return str(dest), (f"fyne CLI {version} as on this machine, built static for "
                           f"Linux by the kit ({how}) and copied into the container")

    found: tuple[str, str] = ctx.memoize("package.windows fyne CLI", compute)
    return found


def _cli(ctx: Context, needs: Needs) -> Result:
    cli = needs["fyne.cli"]
    if ctx.which("fyne") is None or (cli.status is Status.WARN and "deprecated" in cli.detail):
        raise CheckFailed(f"no fyne CLI to package with: {cli.detail}", cli.hint or INSTALL)
    return cli


@check("package.metadata", "FyneApp.toml by the fyne CLI's rules", required=False,
       hint="fix the FyneApp.toml field named")
def package_metadata(ctx: Context, needs: Needs) -> str:
    _host_only(ctx, windows_suite=True)
    found = lint(main_package(ctx).dir)
    fails = [f"{f.field}: {f.message}" for f in found.failed]
    warns = [f"{f.field}: {f.message}" for f in found.findings if not f.fail]
    if fails:
        raise CheckFailed("\n".join(fails + warns), f"fix {found.failed[0].field} in {found.path}")
    d = found.details
    size = f"{found.icon_size[0]}x{found.icon_size[1]}" if found.icon_size else "?"
    facts = (f"{d.get('Name', '')} {d.get('ID', '')} {d.get('Version', '')} build "
             f"{d.get('Build', 0)}, icon {found.icon} {size}")
    if warns:
        raise CheckWarning(facts + "\n" + "\n".join(warns), f"see {found.path}")
    return facts


@check("package.linux", "fyne package -os linux, unpacked and installed", required=False,
       hint="run `fyne package -os linux` in the project", requires=("package.metadata",
                                                                      "fyne.cli"), waits=True)
def package_linux(ctx: Context, needs: Needs) -> Found:
    _host_only(ctx)
    cli = _cli(ctx, needs)
    pkg, project = main_package(ctx), go_project(ctx)
    tarball, where = linux.package(ctx, project.module_root, pkg.dir)
    done = linux.install(ctx, tarball, where.parent / "installed")
    linux.validate_desktop(ctx, done.desktop)
    source = lint(pkg.dir).icon
    if source is None:
        raise CheckFailed("FyneApp.toml's Icon is gone since package.metadata", "run again")
    same = linux.same_icon(done.icon, source)
    rel = done.root
    detail = (f"{tarball.name}: one top-level directory {done.top}/; `make install` "
              f"DESTDIR={rel} put Exec={done.entry['Exec']} at "
              f"{done.binary.relative_to(rel)}, Icon={done.entry['Icon']} at "
              f"{done.icon.relative_to(rel)} ({same} as {source.name}); "
              f"desktop-file-validate passes on {done.desktop.name}")
    if cli.status is Status.WARN:
        detail += f"\n(fyne.cli warned: {cli.detail})"
    # The tarball is in scratch: it does not outlive the run; package.install takes it.
    return Found(detail, {"tarball": str(tarball)})


@check("package.install", "the tarball installed and run on a clean runtime-only desktop",
       required=False, hint="unpack the tarball on a desktop without Go and run `make "
       "user-install`", requires=("package.linux",), waits=True)
def package_install(ctx: Context, needs: Needs) -> Found:
    _host_only(ctx)
    from pytest_fynecheck.containers.images import SUITES

    tarball = Path(needs["package.linux"].artifacts["tarball"])
    named = ctx.settings.package_suites
    if not named:
        suite, why = install.suite_for_host(SUITES)
        return install_on(ctx, tarball, suite, why)
    # Each named suite in turn (one runtime container at a time: 2-core machines), all
    # reported; a failing suite does not hide how the others went.
    why = ctx.settings.package_suites_from
    done: list[tuple[str, Found | CheckFailed]] = []
    for suite in named:
        try:
            done.append((suite, install_on(ctx, tarball, suite, f"{suite}, from {why}")))
        except CheckFailed as exc:
            done.append((suite, exc))
    failed = [(s, e) for s, e in done if isinstance(e, CheckFailed)]
    lines = [f"on {s}: " + (e.detail if isinstance(e, Found) else f"FAILED: {e.detail}")
             for s, e in done]
    if failed:
        first = failed[0][1]
        raise CheckFailed("\n".join(lines), f"on {failed[0][0]}: {first.hint}", first.status)
    shots = {f"{k}-{s}": v for s, e in done if isinstance(e, Found) for k, v in e.artifacts.items()}
    return Found("\n".join(lines), shots)


def install_on(ctx: Context, tarball: Path, suite: str, why: str) -> Found:
    """`tarball` installed and launched in `suite`'s runtime-only container, started from
    the host context `ctx`; `why` says why that suite."""
    from pytest_fynecheck.containers.confine import User
    from pytest_fynecheck.containers.images import Target
    from pytest_fynecheck.containers.start import start_container
    from pytest_fynecheck.core.paths import scratch_dir

    probe = _suite_probe(ctx, suite)
    # A user's HOME, not root's: the tarball and the probe go to a directory that user
    # can read (the kit's cache is under root's HOME, closed to others).
    stage = scratch_dir()
    try:
        stage.chmod(0o755)
        shutil.copy2(tarball, stage / tarball.name)
        (stage / tarball.name).chmod(0o644)
        shutil.copy2(probe, stage / probe.name)
        (stage / probe.name).chmod(0o755)
        # The container's own scratch, the user's: the kit's process records (pid files)
        # are written there from inside, as that user.
        own = stage / "scratch"
        (own / ".fynecheck-pids").mkdir(parents=True)
        for path in (own, own / ".fynecheck-pids"):
            os.chown(path, USER_UID, USER_UID)
        user_side = copy.copy(ctx)
        user_side.scratch = own
        box = start_container(user_side, Target(suite, "runtime"), readonly=[stage],
                              user=User(USER_UID, USER_UID))
        try:
            done = install.user_install(box, stage / tarball.name)
            libs = install.library_report(box, ctx, done.binary, _pretty(ctx))
            lend_xwindows_probe(box, stage / probe.name)
            display = x_display(box)

            def wm_class(win: MappedWindow) -> str:
                instance, klass = install.wm_class(box, display.env, win.id)
                return install.compare_wm_class(done.desktop, done.entry, instance, klass,
                                                 done.others)

            shown = show_x_window(box, display, done.exec_argv, display.env, title="",
                                  inspect=wm_class)
        finally:
            box.close()
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return Found(f"{box.name} container (suite {why}), user {USER_UID}: `make user-install` "
                 f"of {tarball.name} installed {done.desktop}; {libs}; launched through its "
                 f"Exec={done.entry['Exec']}: {shown.detail}", shown.artifacts)


USER_UID = 1000  # the first user of a Debian desktop


def _suite_probe(ctx: Context, suite: str) -> Path:
    """app.window's X probe for `suite`, compiled where a compiler is (the suite's full
    image) and kept beside that image's builds (containers/start.image_cache: keyed by the
    content-tagged image, and by the probe's source here): a warm package.install starts
    no full container."""
    from pytest_fynecheck.containers.engine import engine
    from pytest_fynecheck.containers.images import Target, ensure_image
    from pytest_fynecheck.containers.start import image_cache, start_container
    from pytest_fynecheck.core.paths import cache_dir
    from pytest_fynecheck.toolchain.cprobe import shipped_probe

    image = ensure_image(engine(cache_dir()), Target(suite), cache_dir() / "locks",
                         ctx.progress)
    key = hashlib.sha256(shipped_probe("xwindows_probe.c").encode()).hexdigest()[:16]
    kept = image_cache(image) / "package-install" / f"xwindows-{key}"
    if kept.is_file():
        return kept
    full = start_container(ctx, Target(suite))
    try:
        probe = xwindows_probe(full)
    finally:
        full.close()
    kept.parent.mkdir(parents=True, exist_ok=True)
    aside = kept.with_name(f".{kept.name}.{os.getpid()}")  # racing runs see whole files
    shutil.copy2(probe, aside)
    aside.replace(kept)
    return kept


def _pretty(ctx: Context) -> str:
    try:
        for line in install.OS_RELEASE.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "this machine"


@check("package.windows", "fyne package -os windows: a GUI .exe with icon, VERSIONINFO and "
       "manifest, shown under Wine", required=False,
       hint="run `fyne package -os windows` with CC=x86_64-w64-mingw32-gcc in the project",
       requires=("package.metadata", "fyne.cli", "windows.cc", "display.x11"), waits=True,
       targets=WINDOWS)
def package_windows(ctx: Context, needs: Needs) -> Found:
    _host_only(ctx, windows_suite=True)
    if _in_windows_suite(ctx):
        fyne, cli_note = _suite_cli(ctx)
    else:
        cli = _cli(ctx, needs)
        fyne = "fyne"
        cli_note = f"(fyne.cli warned: {cli.detail})" if cli.status is Status.WARN else ""
    pkg, project = main_package(ctx), go_project(ctx)
    meta = lint(pkg.dir)  # the user's tree: the copy's Build is bumped by the CLI
    if meta.icon is None:
        raise CheckFailed("FyneApp.toml's Icon is gone since package.metadata", "run again")
    d = meta.details
    exe = windows.package(ctx, project.module_root, pkg.dir, fyne)
    found = windows.lint(exe, str(d.get("Name", "")), str(d.get("Version", "")),
                         int(d.get("Build", 1) or 1), meta.icon)
    warns = [f"{f.field}: {f.message}" for f in found.findings if not f.fail]
    if found.failed:
        first = found.failed[0].field
        hint = {"Subsystem": "package with `fyne package -os windows` (it links "
                             "-H=windowsgui), not a bare `go build`"}.get(
            first, f"package again with `fyne package -os windows` ({first} is wrong)")
        # A .syso of the user's (rsrc, go-winres) is linked beside the CLI's, and its icon
        # group and VERSIONINFO win (tests/test_package_windows.py shows it): repackaging
        # cannot help.
        own = sorted(p.name for p in pkg.dir.glob("*.syso"))
        if own and first != "Subsystem":
            hint = (f"remove {', '.join(own)} from {pkg.dir}: Go links every .syso of the "
                    "package, and its icon and VERSIONINFO shadow those `fyne package` "
                    "writes from FyneApp.toml")
        raise CheckFailed(
            f"{exe.name}:\n" + "\n".join(f"{f.field}: {f.message}" for f in found.failed)
            + "".join(f"\n{w}" for w in warns), hint)
    linted = f"{exe.name}: {'; '.join(found.facts)}"
    try:
        shown = wine_window(ctx, exe, "package-windows")
    except CheckFailed as exc:  # the lint's verdict stays in the report
        hint = exc.hint
        if "bcryptprimitives.dll" in exc.detail:  # windows.window's hint names a suite
            hint = ("run it under Wine >= 9 (Debian 13 trixie has Wine 10): "
                    "`--fynecheck-os trixie-windows` runs package.windows in a trixie "
                    "container, with the kit's build of this machine's fyne CLI")
        raise CheckFailed("".join(f"{w}\n" for w in [linted, *warns]) + exc.detail, hint,
                          exc.status) from None
    detail = f"{linted}\n{shown.detail}" + (f"\n{cli_note}" if cli_note else "")
    if warns:
        raise CheckWarning(detail + "\n" + "\n".join(warns),
                           f"ship {windows.manifest_name(pkg.dir)} beside FyneApp.toml, declaring "
                           "<dpiAware>true/pm</dpiAware>: the CLI embeds it instead of its "
                           "template", shown.artifacts)
    return Found(detail, shown.artifacts)


NDK_OFFLINE = ("the Android NDK cannot be installed offline (it is a download from Google, "
               "not a Debian package); with one, set ANDROID_NDK_HOME")


# n/a, never a pass: the kit runs none of these platforms' packaging (package/elsewhere.py).
@check("package.android", "fyne package -os android: n/a, naming what this machine lacks",
       required=False, hint=NDK_OFFLINE)
def package_android(ctx: Context, needs: Needs) -> str:
    _host_only(ctx)
    ndk = elsewhere.find_ndk(ctx.environ)
    if ndk.found is None:
        raise NotApplicable(f"no Android NDK found: {'; '.join(ndk.looked)}; {NDK_OFFLINE}")
    at = f"an Android NDK {ndk.revision or '(revision unknown)'} is at {ndk.found}"
    raise NotApplicable(f"{at}, but "
                        + elsewhere.NOT_CHECKED.format(what="Android", os="android"))


def _apple(ctx: Context, what: str, os_name: str) -> NoReturn:
    _host_only(ctx)
    uname = ctx.run(["uname", "-s"], timeout=30)
    missing = elsewhere.apple_missing(uname.stdout.strip() if uname.ok else "",
                                      ctx.which("xcrun"))
    if missing:
        raise NotApplicable(f"{missing}: `fyne package -os {os_name}` needs a Mac with Xcode")
    raise NotApplicable("a Mac with xcrun, but "
                        + elsewhere.NOT_CHECKED.format(what=what, os=os_name))


@check("package.macos", "fyne package -os darwin: n/a, naming what this machine lacks",
       required=False, hint="run the macOS packaging on a Mac with Xcode")
def package_macos(ctx: Context, needs: Needs) -> str:
    _apple(ctx, "macOS", "darwin")


@check("package.ios", "fyne package -os ios: n/a, naming what this machine lacks",
       required=False, hint="run the iOS packaging on a Mac with Xcode")
def package_ios(ctx: Context, needs: Needs) -> str:
    _apple(ctx, "iOS", "ios")
