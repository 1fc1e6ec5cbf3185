"""package.*: the app as users ship it (issue 25). They run when the project has a
FyneApp.toml or --fynecheck-package is given (`package.wanted`), on the host;
package.metadata and package.windows also in a SUITE-windows container."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

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
from pytest_fynecheck.package import install, linux, windows
from pytest_fynecheck.package.metadata import lint
from pytest_fynecheck.toolchain import fynecli
from pytest_fynecheck.toolchain.gotool import go_project, main_package


def _host_only(ctx: Context, *, windows_suite: bool = False) -> None:
    # The host and the host-side kinds (`--fynecheck-os windows` is this machine with
    # mingw-w64's env) are plain Contexts; a suite container's is a subclass.
    if type(ctx) is not Context and not (windows_suite and _in_windows_suite(ctx)):
        raise NotApplicable("package checks run on this machine (package.metadata and "
                            "package.windows also in SUITE-windows); package.install starts "
                            "the runtime-only container of a suite itself")


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

    suite, why = install.suite_for_host(SUITES)
    return install_on(ctx, Path(needs["package.linux"].artifacts["tarball"]), suite, why)


def install_on(ctx: Context, tarball: Path, suite: str, why: str) -> Found:
    """`tarball` installed and launched in `suite`'s runtime-only container, started from
    the host context `ctx`; `why` says why that suite."""
    from pytest_fynecheck.containers.confine import User
    from pytest_fynecheck.containers.images import Target
    from pytest_fynecheck.containers.start import start_container
    from pytest_fynecheck.core.paths import scratch_dir

    # app.window's X probe is compiled where a compiler is: the suite's full image.
    full = start_container(ctx, Target(suite))
    try:
        probe = xwindows_probe(full)
    finally:
        full.close()
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
