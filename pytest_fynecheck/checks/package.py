"""package.*: the app as users ship it (issue 25). They run when the project has a
FyneApp.toml or --fynecheck-package is given (`package.wanted`), on the host."""

from __future__ import annotations

from pytest_fynecheck.checks import Found, Needs, check
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
from pytest_fynecheck.package import linux, windows
from pytest_fynecheck.package.metadata import lint
from pytest_fynecheck.toolchain.gotool import go_project, main_package


def _host_only(ctx: Context) -> None:
    # The host and the host-side kinds (`--fynecheck-os windows` is this machine with
    # mingw-w64's env) are plain Contexts; a suite container's is a subclass.
    if type(ctx) is not Context:
        raise NotApplicable("package checks run on this machine (package.install in suites "
                            "is not written yet)")


def _cli(ctx: Context, needs: Needs) -> Result:
    cli = needs["fyne.cli"]
    if ctx.which("fyne") is None or (cli.status is Status.WARN and "deprecated" in cli.detail):
        raise CheckFailed(f"no fyne CLI to package with: {cli.detail}", cli.hint or INSTALL)
    return cli


@check("package.metadata", "FyneApp.toml by the fyne CLI's rules", required=False,
       hint="fix the FyneApp.toml field named")
def package_metadata(ctx: Context, needs: Needs) -> str:
    _host_only(ctx)
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
    tarball, copy = linux.package(ctx, project.module_root, pkg.dir)
    done = linux.install(ctx, tarball, copy.parent / "installed")
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
    return Found(detail)  # the tarball is in scratch: no artifact that outlives the run


@check("package.windows", "fyne package -os windows: a GUI .exe with icon, VERSIONINFO and "
       "manifest, shown under Wine", required=False,
       hint="run `fyne package -os windows` with CC=x86_64-w64-mingw32-gcc in the project",
       requires=("package.metadata", "fyne.cli", "windows.cc", "display.x11"), waits=True,
       targets=WINDOWS)
def package_windows(ctx: Context, needs: Needs) -> Found:
    _host_only(ctx)
    cli = _cli(ctx, needs)
    pkg, project = main_package(ctx), go_project(ctx)
    meta = lint(pkg.dir)  # the user's tree: the copy's Build is bumped by the CLI
    if meta.icon is None:
        raise CheckFailed("FyneApp.toml's Icon is gone since package.metadata", "run again")
    d = meta.details
    exe = windows.package(ctx, project.module_root, pkg.dir)
    found = windows.lint(exe, str(d.get("Name", "")), str(d.get("Version", "")),
                         int(d.get("Build", 1) or 1), meta.icon)
    warns = [f"{f.field}: {f.message}" for f in found.findings if not f.fail]
    if found.failed:
        first = found.failed[0].field
        raise CheckFailed(
            f"{exe.name}:\n" + "\n".join(f"{f.field}: {f.message}" for f in found.failed)
            + "".join(f"\n{w}" for w in warns),
            {"Subsystem": "package with `fyne package -os windows` (it links -H=windowsgui), "
                          "not a bare `go build`"}.get(
                first, f"package again with `fyne package -os windows` ({first} is wrong)"))
    linted = f"{exe.name}: {'; '.join(found.facts)}"
    try:
        shown = wine_window(ctx, exe, "package-windows")
    except CheckFailed as exc:  # the lint's verdict stays in the report
        hint = exc.hint
        if "bcryptprimitives.dll" in exc.detail:  # windows.window's hint names a suite
            hint = ("run it on a host with Wine >= 9 (Debian 13 trixie has Wine 10); "
                    "package.windows does not run in suite containers yet, but "
                    "`--fynecheck-os trixie-windows` shows the app's `go build` .exe there "
                    "(windows.window)")
        raise CheckFailed("".join(f"{w}\n" for w in [linted, *warns]) + exc.detail, hint,
                          exc.status) from None
    detail = f"{linted}\n{shown.detail}"
    if cli.status is Status.WARN:
        detail += f"\n(fyne.cli warned: {cli.detail})"
    if warns:
        raise CheckWarning(detail + "\n" + "\n".join(warns),
                           f"ship {windows.manifest_name(pkg.dir)} beside FyneApp.toml, declaring "
                           "<dpiAware>true/pm</dpiAware>: the CLI embeds it instead of its "
                           "template")
    return Found(detail, shown.artifacts)
