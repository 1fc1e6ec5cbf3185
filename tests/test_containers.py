"""Containers: real images on the real engine, real Xvfb inside. No mocks.

Docker is present in CI, so nothing here skips when it is missing: the tests that need an
engine fail with the plugin's own message instead.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FynecheckRun, run_fynecheck, start_suite
from support.sample import TITLE

from pytest_fynecheck.checks import catalogue
from pytest_fynecheck.containers.context import SESSION_ID, ContainerContext
from pytest_fynecheck.containers.engine import LABEL_PID, LABEL_SESSION, owner_labels
from pytest_fynecheck.containers.execs import Attached, Exec
from pytest_fynecheck.containers.images import SUITES, Target
from pytest_fynecheck.containers.reproducer import failing_command, write_reproducer
from pytest_fynecheck.containers.start import host_go
from pytest_fynecheck.core.context import ToolMissing, ToolTimeout, running_check
from pytest_fynecheck.core.model import CheckFailed, Result, Status
from pytest_fynecheck.displays import images
from pytest_fynecheck.toolchain.cprobe import c_program, compile_probe

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent.sock"}


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def container_ids(session: str) -> list[str]:
    return docker(
        "ps", "--all", "--quiet", "--filter", f"label={LABEL_SESSION}={session}"
    ).split()


@pytest.fixture(scope="module")
def bookworm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerContext]:
    ctx = start_suite("bookworm", tmp_path_factory.mktemp("scratch"))
    yield ctx
    ctx.close()  # else it outlives this worker, until the next run's reaper


# -- the context ------------------------------------------------------------------------------


def test_run_inside_the_container(bookworm: ContainerContext) -> None:
    done = bookworm.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    release = bookworm.run(["cat", "/etc/os-release"]).stdout
    assert "VERSION_CODENAME=bookworm" in release
    # The host's Go toolchain, read-only, offline.
    go = bookworm.run(["go", "env", "GOROOT", "GOPROXY", "GOFLAGS"]).stdout.split()
    assert go == [str(host_go()[0]), "off", "-mod=mod"]
    assert bookworm.run(["touch", f"{host_go()[0]}/x"]).returncode != 0
    # Lines reach on_line as they come, as on the host.
    lines: list[str] = []
    bookworm.run(["sh", "-c", "echo a >&2; echo b >&2"], on_line=lines.append)
    assert lines == ["a", "b"]


def test_host_paths_are_shared(bookworm: ContainerContext) -> None:
    (bookworm.scratch / "from-host").write_text("hello")
    done = bookworm.run(["sh", "-c", "cat from-host > from-container"], cwd=bookworm.scratch)
    assert done.ok, done.output
    assert (bookworm.scratch / "from-container").read_text() == "hello"


def test_no_network_no_privilege_no_socket(bookworm: ContainerContext) -> None:
    info = bookworm.inspect()
    host_config: dict[str, object] = info["HostConfig"]
    assert host_config["NetworkMode"] == "none"
    assert host_config["Privileged"] is False
    assert "docker.sock" not in json.dumps(info["Mounts"])
    assert bookworm.run(["ls", "/sys/class/net"]).stdout.split() == ["lo"]
    labels: dict[str, str] = info["Config"]["Labels"]
    assert labels[LABEL_SESSION] == SESSION_ID and labels[LABEL_PID] == str(os.getpid())


def test_missing_tool_is_named(bookworm: ContainerContext) -> None:
    with pytest.raises(ToolMissing, match="`fyne-nonexistent` not found on PATH in bookworm"):
        bookworm.run(["fyne-nonexistent"])
    assert bookworm.which("xdpyinfo") == "/usr/bin/xdpyinfo"
    # As on the host (shutil.which): a program that is also a shell builtin is found by
    # its file, and runs; a path is taken as given.
    for tool in ("test", "true", "kill"):
        assert bookworm.which(tool) == f"/usr/bin/{tool}", tool
    assert bookworm.run(["test", "-d", "/tmp"]).ok
    assert bookworm.which("/usr/bin/env") == "/usr/bin/env"
    assert bookworm.which("/etc/os-release") is None  # a file, not executable
    assert bookworm.which("/usr/bin/nonexistent") is None


def _running(ctx: ContainerContext, word: str) -> list[str]:
    ps = ctx.run(["ps", "-eo", "pid,args"]).stdout.splitlines()
    return [line for line in ps if word in line and "ps -eo" not in line]


def test_timeout_kills_the_tree_inside(bookworm: ContainerContext) -> None:
    with pytest.raises(ToolTimeout, match="did not finish within 1 s"):
        bookworm.run(["sh", "-c", "sleep 1001 & sleep 1002"], timeout=1)
    assert _running(bookworm, "sleep 100") == []


def test_finished_command_leaves_nothing(bookworm: ContainerContext) -> None:
    bookworm.run(["sh", "-c", "sleep 1003 &"])
    assert _running(bookworm, "sleep 1003") == []


def test_spawn_and_stop(bookworm: ContainerContext) -> None:
    proc = bookworm.spawn(["sh", "-c", "echo started; sleep 1004 & sleep 1005"])
    assert _running(bookworm, "sleep 1005"), "spawned process is not running inside"
    assert proc.poll() is None
    proc.stop(grace=2)
    assert proc.poll() is not None
    assert "started" in proc.output()
    assert _running(bookworm, "sleep 100") == []


def test_quick_output_survives_a_late_reader(
    bookworm: ContainerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker-py reads an exec's output from the raw socket under http.client's buffered
    reader, so what the reader had already buffered is lost: all of a quick command's
    output when this process reads the response late, as on a loaded machine (a watcher's
    `{"ready": true}` never came, once, in this suite; docker/docker-py#3332). A 0.3 s
    pause before the response is parsed stands in for the scheduler; the engine, the
    exec and the bytes are real. The kit reads through the buffered reader."""
    import http.client

    parse = http.client.HTTPResponse.begin

    def late(self: http.client.HTTPResponse) -> None:
        time.sleep(0.3)
        parse(self)

    monkeypatch.setattr(http.client.HTTPResponse, "begin", late)
    api, box = bookworm.engine.stream_api, bookworm.container
    assert box is not None
    lost = sum(api.exec_start(api.exec_create(box, ["echo", "hi"])["Id"]) != b"hi\n"
               for _ in range(3))
    assert lost == 3, "docker-py kept a late reader's output: is #3332 fixed upstream?"
    for _ in range(3):
        ex = Exec(bookworm.engine, box, ["echo", "hi"])
        assert ex.wait(30) and b"".join(ex.stdout) == b"hi\n" and ex.returncode() == 0
    attached = Attached(bookworm.engine, box, ["sh", "-c", "echo ready; cat; echo err >&2"])
    try:
        assert attached.stdout.readline() == b"ready\n"
        attached.write(b"in\n")
        assert attached.stdout.readline() == b"in\n"
        attached.close_stdin()  # cat ends at end of input
        assert attached.stderr.read() == b"err\n" and attached.wait(30) == 0
    finally:
        attached.stop(2.0)


def test_xvfb_inside(bookworm: ContainerContext) -> None:
    from pytest_fynecheck.displays.servers import x_display

    display = x_display(bookworm)
    done = bookworm.run(["xdpyinfo"], env=display.env)
    assert done.ok and "X.Org" in done.stdout, done.output


def test_close_removes_the_container(tmp_path: Path) -> None:
    ctx = start_suite("bookworm", tmp_path)
    cid = ctx.container
    assert cid is not None and cid[:12] in docker("ps", "--quiet")
    ctx.spawn(["sleep", "1006"])
    ctx.close()
    assert cid[:12] not in docker("ps", "--all", "--quiet")


def test_image_tag_is_content_keyed(tmp_path: Path) -> None:
    from pytest_fynecheck.containers.images import recipe_dir

    recipes = tmp_path / "recipes"
    recipes.mkdir()
    for f in recipe_dir().iterdir():
        (recipes / f.name).write_bytes(f.read_bytes())
    target = Target("bookworm")
    assert target.tags(recipes) == target.tags(recipe_dir())
    dockerfile = recipes / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# changed\n")
    base, tag = target.tags(recipes)
    assert base == target.tags(recipe_dir())[0] and tag != target.tags(recipe_dir())[1]


# -- hint truth -------------------------------------------------------------------------------


def test_gl_hint_is_true(tmp_path: Path) -> None:
    """Without GL headers pkgconfig.gl fails; installing what its hint names fixes it.
    The suite container is confined (no capabilities, read-only root), as a user's system
    is not: the packages go in as root in a helper container, committed as an image the
    check then runs in, confined again."""
    ctx = start_suite("bookworm", tmp_path / "before", variant="no-gl-dev")
    check = catalogue()["pkgconfig.gl"]
    try:
        with pytest.raises(CheckFailed) as failed:
            check.run(ctx, {})
        hint = failed.value.hint or check.hint
        assert "apt-get install" in hint, hint
        named = re.search(r"apt-get install ([a-z0-9.+ -]+)", hint)
        assert named is not None, hint
        packages = [p for p in named.group(1).split() if not p.startswith("-")]
    finally:
        ctx.close()
    # The container has no network: apt installs from the .debs the recipe pre-fetched.
    installed = _with_packages(ctx, packages)
    after = ContainerContext(ctx.target, installed, ctx.engine, tmp_path, tmp_path / "after",
                             tmp_path / "after" / "cache", goroot=ctx.goroot,
                             gomodcache=ctx.gomodcache).start()
    try:
        assert "gl " in str(check.run(after, {}))
    finally:
        after.close()
        ctx.engine.client.images.remove(installed, force=True)


def _with_packages(ctx: ContainerContext, packages: list[str]) -> str:
    """`ctx`'s image with `packages` installed (apt-get as root, offline), as a new tag."""
    box = ctx.engine.client.containers.run(
        ctx.image, ["apt-get", "install", "-y", "--no-download", *packages], detach=True,
        network_mode="none", labels=owner_labels(SESSION_ID))
    try:
        code = box.wait(timeout=300)["StatusCode"]
        assert code == 0, box.logs().decode(errors="replace")
        tag = f"fynecheck-test-gl:{SESSION_ID}"
        box.commit(*tag.split(":"))
        return tag
    finally:
        box.remove(force=True)


@pytest.mark.parametrize(("suite", "ok"), [("bullseye", False), ("trixie", True)])
def test_wayland_libs_needs_the_libwayland_go_gl_is_generated_for(
    suite: str, ok: bool, tmp_path: Path
) -> None:
    """bullseye's libwayland 1.18 fails a real -tags wayland build of fixtures/hello
    (tests/test_displays_suites.py shows it): wayland.libs must say so, not "ok"."""
    ctx = start_suite(suite, tmp_path, tags=("wayland",))
    check = catalogue()["wayland.libs"]
    try:
        if ok:
            assert "headers compile and link" in str(check.run(ctx, {}))
            return
        with pytest.raises(CheckFailed) as failed:
            check.run(ctx, {})
        assert "wayland-client 1.18" in failed.value.detail, failed.value.detail
        assert "WL_MARSHAL_FLAG_DESTROY" in failed.value.detail
        assert "without -tags wayland" in failed.value.hint
        # The probe behind the check really needs 1.20: its call does not compile here.
        with pytest.raises(CheckFailed, match="wl_proxy_marshal_flags"):
            compile_probe(ctx, "marshal", ["wayland-client"], c_program(
                ["wayland-client.h"], "return wl_proxy_marshal_flags == 0;"))
    finally:
        ctx.close()


# -- no engine --------------------------------------------------------------------------------


def _engine_env(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE["DOCKER_HOST"])
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)


def test_no_engine_with_fynecheck_os_is_one_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine_env(monkeypatch, None)
    result = pytester.runpytest_subprocess("--fynecheck", "--fynecheck-os", "bookworm")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and "fynecheck containers need Docker" in errors[0], result.errlines
    assert "nonexistent.sock" in errors[0]


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_no_engine_with_fyne_os_marker_is_an_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    _engine_env(monkeypatch, None)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.fyne_os("bookworm", "trixie")
        def test_it(fyne_container):
            pass
        """
    )
    result = pytester.runpytest_subprocess(*xdist)
    if xdist:
        # A worker cannot stop the run: each marked test errors with the message.
        result.assert_outcomes(errors=2)
        result.stdout.fnmatch_lines(["*fyne_os marker: fynecheck containers need Docker*"])
    else:
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        errors = [line for line in result.errlines if line.startswith("ERROR:")]
        assert len(errors) == 1 and "fynecheck containers need Docker" in errors[0], errors


def test_no_engine_skips_plain_fixture_users(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine_env(monkeypatch, None)
    pytester.makepyfile("def test_it(fyne_container):\n    pass\n")
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*fynecheck containers need Docker*"])


def test_no_engine_in_ci_is_an_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine_env(monkeypatch, "true")
    pytester.makepyfile("def test_it(fyne_container):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fynecheck containers need Docker*CI is set*"])


def test_unknown_os_names_the_input(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fynecheck", "--fynecheck-os", "bookworm,bokworm")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --fynecheck-os: unknown OS 'bokworm'; known: *; or windows (this machine's *"]
    )


# -- the marker and fixture through pytester --------------------------------------------------


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_fyne_os_marker_runs_once_per_suite(pytester: pytest.Pytester, xdist: list[str]) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.fyne_os("bullseye", "trixie")
        def test_release(fyne_container):
            release = fyne_container.run(["cat", "/etc/os-release"]).stdout
            assert f"VERSION_CODENAME={fyne_container.name}" in release

        def test_default_suite(fyne_container):
            assert fyne_container.name == "bookworm"
        """
    )
    result = pytester.runpytest_subprocess("-v", *xdist, timeout=900)
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    assert "test_release[bullseye]" in out and "test_release[trixie]" in out


# -- leftovers --------------------------------------------------------------------------------


def _orphaned_containers() -> list[str]:
    """Labelled containers whose owning process is gone (a live parallel run's are fine)."""
    from pytest_fynecheck.containers.reap import owner_gone

    ids = docker("ps", "--all", "--quiet", "--filter", f"label={LABEL_SESSION}").split()
    if not ids:
        return []
    orphans = []
    # A parallel run may remove its container between `ps` and `inspect`: gone is fine.
    listed = subprocess.run(
        ["docker", "inspect", *ids], capture_output=True, text=True, timeout=120
    ).stdout
    for item in json.loads(listed or "[]"):
        if owner_gone(item["Config"]["Labels"]):
            orphans.append(item["Id"])
    return orphans


def _docker_clients_of(pids: list[int]) -> list[int]:
    """`docker run` clients a killed run left (they run in their own session) still running."""
    marks = [f"{LABEL_PID}={pid}".encode() for pid in pids]
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if any(m in cmdline for m in marks):
            found.append(int(proc.name))
    return found


def test_sigkill_mid_run_leaves_no_container(pytester: pytest.Pytester) -> None:
    """SIGKILL pytest at random points, 20 times; the next run leaves 0 labelled containers."""
    import random
    import signal
    import sys
    import time

    from pytest_fynecheck.core.context import wait_until

    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.fyne_os("bookworm", "trixie")
        def test_slow(fyne_container):
            fyne_container.spawn(["sleep", "1000"])
            fyne_container.run(["sleep", "2"])
        """
    )
    rng = random.Random(int(os.environ.get("FYNECHECK_KILL_SEED", "4")))
    killed: list[int] = []
    orphaned = 0  # containers a kill left behind (each next run reaps the earlier ones)
    for _ in range(20):
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
            cwd=pytester.path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 6.0))  # before, during and after container start
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed.append(proc.pid)
        # Let the docker clients the killed run left finish what they were doing.
        assert wait_until(lambda: not _docker_clients_of(killed), 60, 0.2) is not None
        orphaned += len(_orphaned_containers())
    left = _orphaned_containers()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=2)
    assert _orphaned_containers() == []
    # The kill points really hit running containers, and every one left behind is gone.
    assert orphaned, "no kill landed while a container ran: the test proves nothing"
    # Under xdist another session's reaper may get there first, so this run's own
    # "removed N" line is not required; the containers being gone is.
    still = docker("ps", "--all", "--quiet", "--no-trunc").split()
    assert not [c for c in left if c in still]


# -- the matrix and reproducers on the sample app ---------------------------------------------


def _checks(run: FynecheckRun, os_name: str) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in run.report.get("checks", []) if c["os"] == os_name}


def test_matrix_on_hello_shows_a_window_in_every_suite(
    pytester: pytest.Pytester, hello: Path
) -> None:
    suites = list(SUITES)
    run = run_fynecheck(
        pytester,
        hello,
        f"--fynecheck-os={','.join(suites)}",
        "-o",
        f"fynecheck_window_title={TITLE}",
    )
    assert run.ret == 0, run
    oses = {c["os"] for c in run.report["checks"]}
    assert oses == {"host", *suites}
    for suite in suites:
        window = _checks(run, suite)["app.window"]
        assert window["status"] == "ok", (suite, window)
        shot = Path(window["artifacts"]["screenshot"])
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and suite in shot.name
        assert "Xvfb" in _checks(run, suite)["display.x11"]["detail"]
    run.result.stdout.fnmatch_lines(
        ["*fynecheck: checks by OS*", f"check * host * {' * '.join(SUITES)}",
         "app.window * ✓ * ✓ * ✓ * ✓"]
    )


def test_wayland_build_shows_its_window_in_a_suite_too(
    pytester: pytest.Pytester, hello: Path
) -> None:
    """-tags wayland in a container: the kit starts weston on Xvfb there (a compositor
    with a seat), and app.window sees the window in its screenshots, as on the host."""
    run = run_fynecheck(
        pytester, hello, "--fynecheck-os=trixie", "-o", "fynecheck_tags=wayland",
        "-k", "display.wayland or app.window",
    )
    assert run.ret == 0, run
    for os_name in ("host", "trixie"):
        checks = _checks(run, os_name)
        assert checks["display.wayland"]["status"] == "ok", checks["display.wayland"]
        assert "wl_seat version" in checks["display.wayland"]["detail"]
        window = checks["app.window"]
        assert window["status"] == "ok", window
        shot = images.read_png(Path(window["artifacts"]["screenshot"]).read_bytes())
        assert shot.colours(64) >= 8, window


def test_reproducer_replays_the_failure(
    pytester: pytest.Pytester, hello: Path, tmp_path: Path
) -> None:
    out = tmp_path / "repro"
    run = run_fynecheck(
        pytester, hello, "--fynecheck-os=bookworm-no-gl-dev", f"--fynecheck-reproducer={out}"
    )
    gl = _checks(run, "bookworm-no-gl-dev")["pkgconfig.gl"]
    assert gl["status"] == "fail", gl
    repro = out / "pkgconfig.gl@bookworm-no-gl-dev"
    assert sorted(p.name for p in repro.iterdir()) == ["README", "build.sh", "recipe", "run.sh"]
    readme = (repro / "README").read_text().splitlines()
    assert len(readme) == 3 and readme[0].startswith("pkgconfig.gl failed in bookworm-no-gl-dev")
    # Only the root failure gets one: a check not run is not a failure to replay.
    assert not (out / "app.build@bookworm-no-gl-dev").exists()
    expect = re.search(r"Expect exit (\d+) from `(.*)` \((.*)\), ending: (.*)$", readme[2])
    assert expect is not None, readme
    # The runner tagged the command with its check: no guess from the failure's text.
    assert expect.group(3) == "the last command pkgconfig.gl ran that failed"
    replay = subprocess.run(
        ["sh", str(repro / "run.sh")], capture_output=True, text=True, timeout=900
    )
    assert replay.returncode == int(expect.group(1)), replay
    assert expect.group(4).strip() in replay.stdout + replay.stderr
    assert "gl" in expect.group(2)


def test_reproducer_replays_the_checks_own_command_not_the_one_its_text_names(
    bookworm: ContainerContext, tmp_path: Path
) -> None:
    with running_check("demo.first"):
        bookworm.run(["sh", "-c", "echo first-cause >&2; exit 4"])
    with running_check("demo.second"):
        bookworm.run(["sh", "-c", "echo second-cause >&2; exit 5"])
        bookworm.run(["sh", "-c", "exit 0"])
    # Its text names demo.first's output: a guess would pick that command.
    result = Result("demo.second", "second", Status.FAIL, "it printed first-cause")
    found = failing_command(bookworm, result)
    assert found is not None
    assert (found[0].returncode, found[0].check) == (5, "demo.second")
    assert found[1] == "the last command demo.second ran that failed"
    readme = (write_reproducer(tmp_path, bookworm, result) / "README").read_text()
    assert "exit 5 from `sh -c " in readme
    assert "(the last command demo.second ran that failed), ending: second-cause" in readme

    # A check that ran no failing command of its own: the guess, and README says so.
    other = Result("demo.third", "third", Status.FAIL, "it printed first-cause")
    guessed = failing_command(bookworm, other)
    assert guessed is not None
    assert (guessed[0].returncode, guessed[0].check) == (4, "demo.first")
    assert guessed[1] == "demo.third ran no failing command; guessed from its text"
    readme = (write_reproducer(tmp_path, bookworm, other) / "README").read_text()
    assert "(demo.third ran no failing command; guessed from its text)" in readme
