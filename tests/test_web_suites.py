"""The web target in a suite container (issue 24): `--fynecheck-os bookworm-web` and
`trixie-web` run the web checks in a network-none container of that suite, with its own
headless Chromium; bullseye-web is refused by name. Real images, real Chromium, real Go.

The kit's one page probe (probes/webpage) is run here in the container on a page of our
own (a 2D canvas: the plumbing, not WebGL): copied into the container's scratch, serving
the site there and drawing it in the suite's Chromium, its screenshot read back on the
host; and through the real checks (the `hello` tests)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_fynecheck, start_suite
from support.interrupt import InterruptedRun, wait_for

from pytest_fynecheck.checks import for_context
from pytest_fynecheck.containers.context import ContainerContext
from pytest_fynecheck.containers.engine import LABEL_PID, engine
from pytest_fynecheck.containers.images import (
    SUITES,
    UNSERVED,
    Target,
    ensure_base,
    follow_build,
    recipe_dir,
)
from pytest_fynecheck.core.model import CheckFailed, InputError
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.displays import images
from pytest_fynecheck.plan.spec import KINDS, parse_context
from pytest_fynecheck.toolchain.cross import WEB_ENV
from pytest_fynecheck.web import browser

WEB_CHECKS = ("web.build", "web.serve", "web.window", "web.drift")
SERVED = [s for s in SUITES if (s, "web") not in UNSERVED]  # bookworm, trixie
# A page drawn by 2D JS (no WebGL, no wasm): what the container's plumbing is tested on.
PAGE = """<!doctype html><meta charset=utf-8><title>plumbing</title>
<body style="margin:0;background:#fff"><canvas id=c width=240 height=120></canvas><script>
const g = document.getElementById("c").getContext("2d");
g.fillStyle = "#c03"; g.fillRect(20, 20, 200, 80);
console.log("the plumbing page says hi");
</script>"""
RED = bytes((0xCC, 0x00, 0x33))
# What the page probe runs in the container: the browser (its comm, cut to 15 characters).
BROWSER = frozenset({"chromium-headle", "chromium-headless-shell", "chromedriver", "chrome"})


def docker_ids(*filters: str) -> list[str]:
    argv = ["docker", "ps", "--all", "--quiet", "--no-trunc"]
    for f in filters:
        argv += ["--filter", f]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120
                          ).stdout.split()


# -- the plan -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", SERVED)
def test_suite_web_is_a_container_of_that_suite_building_for_js_wasm(suite: str) -> None:
    for where, only in (("--fynecheck-os", False), ("fyne_os marker", True)):
        spec = parse_context(f"{suite}-web", where, suites_only=only)
        assert (spec.kind, spec.name, spec.target, spec.arch) == (
            "suite-web", f"{suite}-web", "web", "wasm")
        assert (spec.suite, spec.variant) == (suite, "web")
        assert dict(spec.env) == WEB_ENV
    ids = set(for_context("web"))
    assert set(WEB_CHECKS) <= ids and not {"display.x11", "cgo.enabled", "app.window"} & ids
    assert KINDS["suite-web"].target == "web"


def test_bullseye_web_is_refused_naming_the_package_and_the_suites_that_can() -> None:
    """Checked in bullseye's archive: no chromium-headless-shell (its `chromium` is 120, the
    full browser, and its python3-selenium a 4.0 alpha)."""
    want = ("'bullseye-web': Debian bullseye has no chromium-headless-shell package, the "
            "headless Chromium the web target's container loads the app in; use "
            "bookworm-web or trixie-web")
    for only in (False, True):
        with pytest.raises(InputError) as caught:
            parse_context("bullseye-web", "--fynecheck-os", suites_only=only)
        assert str(caught.value) == f"--fynecheck-os: {want}"
    # A caller of the containers layer without the plan (start_suite) is refused too.
    with pytest.raises(InputError, match=r"no image for bullseye-web: Debian bullseye has no "
                       r"chromium-headless-shell package.*use bookworm-web or trixie-web"):
        Target("bullseye", "web")


def test_bullseye_web_stops_the_run_before_any_container(
    pytester: pytest.Pytester, hello: Path
) -> None:
    before = set(docker_ids("label=io.fynecheck.os=bullseye-web"))
    run = run_fynecheck(pytester, hello, "--fynecheck-os=bookworm,bullseye-web")
    assert run.ret == pytest.ExitCode.USAGE_ERROR, run
    errors = [line for line in run.result.errlines if line.startswith("ERROR:")]
    assert errors == [
        "ERROR: --fynecheck-os: 'bullseye-web': Debian bullseye has no chromium-headless-shell "
        "package, the headless Chromium the web target's container loads the app in; use "
        "bookworm-web or trixie-web"
    ], run.result.errlines
    assert run.report == {}  # no check ran: nothing to report
    assert set(docker_ids("label=io.fynecheck.os=bullseye-web")) == before

    # The same through the fyne_os marker (the one parser).
    pytester.makepyfile(
        test_marker="""
        import pytest

        @pytest.mark.fyne_os("bullseye-web")
        def test_x(fyne_container):
            pass
        """
    )
    marked = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_marker.py",
                                           timeout=300)
    assert marked.ret == pytest.ExitCode.INTERRUPTED  # a collection error, as for any bad name
    marked.stdout.fnmatch_lines(["*test_marker.py::test_x: fyne_os marker: 'bullseye-web': "
                                 "Debian bullseye has no chromium-headless-shell package*"])
    marked.assert_outcomes(errors=1)


@pytest.mark.slow
def test_the_recipe_itself_refuses_a_suite_without_headless_chromium() -> None:
    """Dockerfile.web built by hand (the plan refuses bullseye-web first) on bullseye's
    base stops at its check, naming the suite and the package, not at apt's "Unable to
    locate package"."""
    docker = engine(cache_dir())
    base = ensure_base(docker, "bullseye", cache_dir() / "locks")
    tag = f"fynecheck-test:bullseye-web-refused-{os.getpid()}"
    target = Target("bullseye")  # only its name, for progress lines
    with pytest.raises(CheckFailed) as caught:
        stream = docker.api.build(
            path=str(recipe_dir()), dockerfile="Dockerfile.web", buildargs={"BASE": base},
            tag=tag, network_mode="host", rm=True, forcerm=True, decode=True,
        )
        follow_build(stream, target, "building Dockerfile.web on bullseye", lambda _l: None)
    assert ("Debian bullseye has no chromium-headless-shell package, which the web target "
            "needs: use bookworm-web or trixie-web") in caught.value.detail, caught.value.detail


# -- the container: the stand-in probe and the suite's Go ----------------------------------------


@pytest.fixture(scope="module")
def web_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerContext]:
    ctx = start_suite("bookworm", tmp_path_factory.mktemp("web-scratch"), variant="web")
    yield ctx
    ctx.close()


@pytest.mark.slow
def test_a_probe_copied_in_serves_offline_and_chromium_draws_without_a_display(
    web_box: ContainerContext,
) -> None:
    ctx = web_box
    assert ctx.inspect()["HostConfig"]["NetworkMode"] == "none"
    assert ctx.environ["GOOS"] == "js" and ctx.environ["CGO_ENABLED"] == "0"
    # No X in the image and none asked for: headless Chromium draws without a display.
    assert ctx.which("Xvfb") is None and "DISPLAY" not in ctx.environ
    site = ctx.scratch / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    (site / "app.wasm").write_bytes(b"\0asm\x01\0\0\0")  # the smallest valid module
    served = browser.run_probe(ctx, "serve", site, step="plumbing")
    assert served["verdict"] == "ok", served
    types = {name: got["type"] for name, got in served["served"].items()}
    assert types == {"app.wasm": "application/wasm", "index.html": "text/html"}, served
    shot = ctx.artifacts() / "plumbing.png"
    said = browser.run_probe(ctx, "load", site, step="plumbing", timeout=60, shot=shot)
    assert said["verdict"] == "ok", said
    # Written in the container, read here: the screenshot reached the host.
    png = images.read_png(shot.read_bytes())
    assert not png.blank and png.crop(40, 40, 1, 1).rgb == RED, said
    # Nothing of the page is left running: the probe's server and browser ended with it.
    left = ctx.run(["ps", "-eo", "comm="]).stdout.split()
    assert not BROWSER & set(left) and "python3" not in left, left


@pytest.mark.slow
@pytest.mark.parametrize("suite", SERVED)
def test_the_images_selenium_drives_its_headless_chromium_offline(
    suite: str, tmp_path: Path
) -> None:
    """The page probe's stack as each image installs it (the driver choice: Selenium with
    Debian's chromedriver): a page loaded, its canvas screenshot, the console log read."""
    ctx = start_suite(suite, tmp_path, variant="web")
    try:
        site = tmp_path / "site"
        site.mkdir()
        (site / "index.html").write_text(PAGE, encoding="utf-8")
        shot = tmp_path / "canvas.png"
        said = browser.run_probe(ctx, "load", site, step="plumbing", timeout=120, shot=shot)
        assert said["verdict"] == "ok", said
        assert any("the plumbing page says hi" in line for line in said["console"]), said
        png = images.read_png(shot.read_bytes())
        assert not png.blank and png.crop(40, 40, 1, 1).rgb == RED, said
        left = ctx.run(["ps", "-eo", "comm="]).stdout.split()
        assert not BROWSER & set(left), left  # the probe ended chromedriver and Chromium
    finally:
        ctx.close()


@pytest.mark.slow
def test_hello_builds_for_js_wasm_offline_with_the_hosts_go(
    web_box: ContainerContext, hello: Path
) -> None:
    """The suite's Go is the host's GOROOT, mounted read-only (as for every suite), with
    wasm_exec.js where Go >= 1.24 keeps it; no C toolchain is needed or present."""
    ctx = web_box
    project = ctx.scratch / "hello"
    shutil.copytree(hello, project)
    out = ctx.scratch / "hello.wasm"
    done = ctx.run(["go", "build", "-o", str(out), "."], cwd=project, timeout=900)
    assert done.ok, done.output
    assert out.read_bytes()[:4] == b"\0asm"
    root = ctx.run(["go", "env", "GOROOT"]).stdout.strip()
    assert root == str(ctx.goroot)
    assert ctx.run(["sh", "-c", f"test -f {root}/lib/wasm/wasm_exec.js"]).ok
    assert ctx.which("gcc") is None  # js/wasm has no cgo: the image carries no compiler


# -- the real checks -------------------------------------------------------------------------


def _pid_file(pytester: pytest.Pytester) -> Path:
    """The inner run writes its pid (its containers' owner label) here."""
    pytester.makeconftest(
        "import os, pathlib\npathlib.Path('run.pid').write_text(str(os.getpid()))\n")
    return pytester.path / "run.pid"


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["bookworm"])
def test_hello_passes_every_web_check_in_a_suite_container(
    pytester: pytest.Pytester, hello: Path, suite: str
) -> None:
    """NEEDS the build and browser parts (web.build, web.serve, web.window, web.drift)."""
    cell = f"{suite}-web"
    pid = _pid_file(pytester)
    run = run_fynecheck(pytester, hello, f"--fynecheck-os={cell}")
    checks = {c["id"]: c for c in run.report["checks"] if c["os"] == cell}
    for check_id in WEB_CHECKS:
        assert checks[check_id]["status"] == "ok", checks.get(check_id)
    assert {"go.version", "go.env", "project.gomod"} <= set(checks)
    assert not {"display.x11", "app.window", "cgo.enabled"} & set(checks)
    shot = Path(checks["web.window"]["artifacts"]["screenshot"])
    png = images.read_png(shot.read_bytes())
    assert png.colours(64) >= 8, checks["web.window"]
    assert run.ret == 0, run
    # The run removed its container.
    assert docker_ids(f"label={LABEL_PID}={pid.read_text()}") == []


@pytest.mark.slow
def test_sigkill_while_chromium_draws_in_the_container_leaves_nothing_after_the_next_run(
    pytester: pytest.Pytester,
) -> None:
    """SIGKILL of a run whose suite-web container has Chromium on a page: the container
    (and the browser in it) outlives the run, and the next run that uses containers
    removes it. The kit's probe keeps the browser up on a page that never draws."""
    shutil.copy2(browser.PROBE, pytester.path / "webpage_probe.py")
    pytester.makepyfile(
        test_hold="""
        import pathlib, shutil
        import pytest

        @pytest.mark.fyne_os("bookworm-web")
        def test_browser_stays(fyne_container):
            ctx = fyne_container
            site = ctx.scratch / "site"
            site.mkdir()
            (site / "index.html").write_text("<canvas></canvas>")
            script = ctx.scratch / "webpage_probe.py"
            shutil.copy2(pathlib.Path(__file__).with_name("webpage_probe.py"), script)
            ctx.run(["python3", str(script), "load", str(site), "--timeout", "600"],
                    timeout=900)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
         "test_hold.py"],
        cwd=pytester.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    mine = f"label={LABEL_PID}={proc.pid}"
    try:
        def drawing() -> bool:
            for box in docker_ids(mine):
                top = subprocess.run(["docker", "top", box, "-o", "pid,comm"],
                                     capture_output=True, text=True, timeout=60).stdout
                if BROWSER & {ln.split()[-1] for ln in top.splitlines()[1:] if ln.split()}:
                    return True
            return False

        assert wait_for(drawing, 300, 0.5), "Chromium never ran in the run's container"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    left = docker_ids(mine)
    assert left, "the kill left no container: it landed too late to prove anything"
    # The next run that starts a container reaps the orphan (or another session's did).
    pytester.makepyfile(
        test_next="""
        import pytest

        @pytest.mark.fyne_os("bookworm-web")
        def test_next(fyne_container):
            assert fyne_container.run(["sh", "-c", "exit 0"]).ok
        """
    )
    after = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_next.py", timeout=300)
    after.assert_outcomes(passed=1)
    assert wait_for(lambda: not docker_ids(mine), 60, 0.5), docker_ids(mine)


@pytest.mark.slow
def test_sigkill_during_the_web_checks_leaves_nothing_after_the_next_run(
    tmp_path: Path,
) -> None:
    """The same with the real checks: killed while they run in the container (Go now; the
    browser too once web.window runs there)."""
    run = InterruptedRun(tmp_path, cold=False, args=["--fynecheck-os=bookworm-web"])
    try:
        busy = frozenset({"go", "compile", "link", *BROWSER})
        assert wait_for(lambda: run.in_container(busy), 600, 0.3), run.output[-3000:]
    finally:
        run.kill()
    boxes = run.containers()
    assert boxes, "the kill left no container: it landed too late to prove anything"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--fynecheck", "--fynecheck-os=bookworm-web",
         "-k", "go.version", "-p", "no:cacheprovider", "-p", "no:xdist", "-q"],
        cwd=run.project, capture_output=True, text=True, timeout=600,
    )
    assert "go.version" in done.stdout, done.stdout[-3000:]
    assert wait_for(lambda: not run.containers(), 60, 0.5), run.containers()
    still = set(docker_ids())
    assert not [b for b in boxes if b in still]
