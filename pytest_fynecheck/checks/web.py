"""The web target: the app built for js/wasm, served, and drawn by headless Chromium
(see pytest_fynecheck/web). Skeleton: each check's body is being written (issue 24)."""

from __future__ import annotations

from pytest_fynecheck.checks import Found, Needs, built_binary, check
from pytest_fynecheck.checks.app_build import build_app
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, InputError
from pytest_fynecheck.drift.report import UNKNOWN
from pytest_fynecheck.toolchain.gotool import go_env, go_project, main_package
from pytest_fynecheck.web.build import WASM, Site, fyne_cli, make_site, package_with_fyne
from pytest_fynecheck.web.excluded import EXCLUDED, excluded_packages

WEB = ("web",)


@check(
    "web.build",
    "The app builds for the browser (js/wasm)",
    hint="run `GOOS=js GOARCH=wasm go build` in the project to see the full error",
    requires=("project.gomod",),
    waits=True,
    targets=WEB,
)
def web_build(ctx: Context, needs: Needs) -> Found:
    try:
        return _build(ctx)
    except CheckFailed as exc:
        if EXCLUDED not in exc.detail:
            raise
        raise _excluded(ctx, exc) from None


def _build(ctx: Context) -> Found:
    """With the fyne CLI where it packs this project for the browser, else `go build`."""
    pkg = main_package(ctx)
    cli = fyne_cli(ctx)
    why = "no fyne CLI on PATH packs for the browser"
    if cli is not None:
        packed = package_with_fyne(ctx, go_project(ctx).module_root, pkg.dir)
        if isinstance(packed, Site):
            return Found(
                f"{packed.wasm.name} {packed.sizes()} (`fyne package -os wasm`, {cli[1]} at "
                f"{cli[0]}, in a copy of the project); site {packed.dir}",
                {"site": str(packed.dir), "binary": str(packed.wasm)},
            )
        why = f"{cli[1]} is on PATH, but `fyne package` refuses this project: {packed}"
    wasm, detail = build_app(ctx, WASM)
    site = make_site(ctx, wasm, pkg.import_path)
    return Found(
        f"{WASM} {site.sizes()} (`go build` for js/wasm: {why}); site {site.dir}: "
        f"index.html, {site.wasm_exec.name} of {go_env(ctx).get('GOVERSION')} "
        f"({site.wasm_exec}), {WASM}; {detail}",
        {"site": str(site.dir), "binary": str(site.wasm)},  # web.serve and web.drift read it
    )


def _excluded(ctx: Context, failed: CheckFailed) -> CheckFailed:
    """Go's "build constraints exclude all Go files" said as which package, why, and
    the imports that pull it in."""
    pkg = main_package(ctx)
    found = excluded_packages(ctx, pkg.pattern, pkg.import_path)
    if not found:  # Go said it, and its listing does not show it: keep Go's words
        return failed
    target = "{GOOS}/{GOARCH}".format(**go_env(ctx))
    named = "\n".join(e.text(target) for e in found)
    fix = (
        f"remove the import of {found[0].package} from the web build (put the code that "
        "needs it behind a `//go:build !js` file, with a js/wasm alternative), or use a "
        "pure-Go package"
    )
    return CheckFailed(f"{named}\n(Go said: {failed.detail.strip()[-800:]})", fix)


@check(
    "web.serve",
    "The build is served with application/wasm and the toolchain's wasm_exec.js",
    hint="serve .wasm as application/wasm, and copy wasm_exec.js from the GOROOT that built it",
    requires=("web.build",),
    targets=WEB,
)
def web_serve(ctx: Context, needs: Needs) -> str:
    raise CheckFailed("not written yet", "issue 24")


@check(
    "web.window",
    "Headless Chromium draws the app",
    hint="open the page in Chromium with its console open and read the first error",
    requires=("web.serve",),
    targets=WEB,
)
def web_window(ctx: Context, needs: Needs) -> Found:
    raise CheckFailed("not written yet", "issue 24")


@check(
    "web.drift",
    "The .wasm matches the source tree",
    hint="rebuild the .wasm from this tree",
    requires=("web.build",),
    targets=WEB,
)
def web_drift(ctx: Context, needs: Needs) -> str:
    from pytest_fynecheck.drift.check import check as drift_check  # the comparison, on use

    wasm = built_binary(needs, "web.build")
    try:
        report = drift_check(ctx, wasm)
    except InputError as exc:
        raise CheckFailed(str(exc), "rebuild the .wasm from this tree") from None
    text = report.text()
    if report.drifted:
        hints = dict.fromkeys(a.hint for a in report.drifted if a.hint)
        raise CheckFailed(text, "; ".join(hints) or "rebuild the .wasm from this tree")
    unknown = [a.id for a in report.aspects if a.status is UNKNOWN]
    said = f" ({', '.join(unknown)}: not comparable, see below)" if unknown else ""
    return f"{wasm.name} matches the tree{said}\n{text}"
