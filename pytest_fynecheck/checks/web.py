"""The web target: the app built for js/wasm, served, and drawn by headless Chromium
(see pytest_fynecheck/web): web.build makes the site, web.serve serves it and holds its
wasm_exec.js to the toolchain, web.window has headless Chromium draw it, web.drift holds the
.wasm to the tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_fynecheck.checks import Found, Needs, built_binary, check
from pytest_fynecheck.checks.app_build import build_app
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, InputError
from pytest_fynecheck.drift.report import UNKNOWN
from pytest_fynecheck.toolchain.gotool import go_env, go_project, main_package
from pytest_fynecheck.web import browser
from pytest_fynecheck.web.build import WASM, Site, fyne_cli, make_site, package_with_fyne
from pytest_fynecheck.web.excluded import EXCLUDED, excluded_packages
from pytest_fynecheck.web.wasmexec import compare_wasm_exec

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
def web_serve(ctx: Context, needs: Needs) -> Found:
    site = Path(needs["web.build"].artifacts["site"])
    report = browser.run_probe(ctx, "serve", site, step="web.serve", timeout=browser.SERVE_TIMEOUT)
    if report.get("verdict") == "bad-site":
        raise CheckFailed(f"nothing to serve: {report.get('error')}")
    if report.get("verdict") != "ok":
        raise CheckFailed(f"serving {site} failed: {report.get('error') or report.get('verdict')}")
    problems = browser.served_problems(report)
    if problems:
        raise CheckFailed(f"{site} served from {report['url']}: " + "; ".join(problems))
    served = report["served"]
    types = ", ".join(
        f"{name} {got['type']}" for name, got in sorted(served.items())
        if name.endswith((".wasm", ".js", ".html"))
    )
    detail = f"served {site} on {report['url']} ({types}); {compare_wasm_exec(ctx, site)}"
    return Found(detail, {"site": str(site)})  # web.window loads it


@check(
    "web.window",
    "Headless Chromium draws the app",
    hint="open the page in Chromium with its console open and read the first error",
    requires=("web.serve",),
    targets=WEB,
)
def web_window(ctx: Context, needs: Needs) -> Found:
    site = Path(needs["web.serve"].artifacts["site"])
    shot = ctx.artifacts() / f"web-window-{ctx.name}.png"
    shot.unlink(missing_ok=True)  # an earlier run's frame is no evidence of this one
    timeout = ctx.settings.window_timeout
    report = browser.run_probe(ctx, "load", site, step="web.window", timeout=timeout, shot=shot)
    browser.require_tools(ctx, report)
    return _window_verdict(report, site, timeout)


def _window_verdict(report: dict[str, Any], site: Path, timeout: float) -> Found:
    """The probe's report as a result: a pass only for a non-blank frame with no page error,
    Go panic or exit of the Go program."""
    verdict = report.get("verdict")
    timings = report.get("timings") or {}
    tail = browser.console_tail(report)
    frame = f"; its last frame: {report['screenshot']}" if report.get("screenshot") else ""
    if verdict == "panic":
        raise CheckFailed(
            "the app panicked in the browser:\n" + "\n\n".join(report["panics"])[:3000]
            + frame,
            "the panic is the app's own, only in js/wasm: read its first line and trace",
        )
    if verdict == "exited":
        raise CheckFailed(
            f"the Go program exited in the browser (exit code {report.get('exit_code')}), "
            f"so nothing draws; its last console lines:\n{tail}{frame}",
        )
    if verdict == "page-error":
        raise CheckFailed(
            "the page threw: " + "; ".join(report["page_errors"][:5]) + f"{frame}\n"
            f"its last console lines:\n{tail}",
        )
    if verdict in ("timeout", "no-canvas"):
        canvas = report.get("canvas")
        what = (
            f"the canvas ({canvas['width']}x{canvas['height']}) stayed blank "
            f"(one colour)" if canvas else "the page made no canvas"
        )
        raise CheckFailed(
            f"no frame drawn within {timeout:g} s: {what}{frame}; the last console "
            f"lines:\n{tail}",
            "raise fynecheck_window_timeout if this machine is slow; otherwise read the "
            "console lines: the app did not reach its first frame",
        )
    if verdict == "no-browser":
        raise CheckFailed(
            f"headless Chromium did not start: {report.get('error')}",
            "run chromedriver and chromium-headless-shell by hand to see why; both come "
            "from the same Debian source (chromium): their versions must match",
        )
    canvas = report.get("canvas")
    if verdict != "ok" or not canvas or int(report.get("colors") or 0) < 2:
        raise CheckFailed(f"loading {site} failed: {report.get('error') or verdict}")
    return Found(
        f"first non-blank frame {timings.get('first_frame', 0):.1f} s after the page "
        f"was opened (browser start {timings.get('launch', 0):.1f} s), canvas "
        f"{canvas['width']}x{canvas['height']}, {_colours(int(report['colors']))}; "
        f"{len(report.get('console') or [])} console lines, no page error or Go panic"
        + _console_errors(report),
        {"screenshot": report["screenshot"]} if report.get("screenshot") else {},
    )


def _console_errors(report: dict[str, Any]) -> str:
    errors = list(report.get("console_errors") or [])
    if not errors:
        return ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"; console errors: {errors[0][:300]}{more}"


def _colours(n: int) -> str:
    return f"{n} colours" if n < MANY_COLOURS else f"{n}+ colours"


MANY_COLOURS = 64  # the probe stops counting there


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
