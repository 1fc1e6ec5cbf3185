"""`pytest --fynecheck` end to end: every check's pass and fail paths, in really broken setups.

Each test runs the real plugin in a subprocess (pytester) against a copy of fixtures/hello
with one thing broken for real: a PATH without gcc, CGO_ENABLED=0, a pkg-config dir
without gl.pc, a dead DISPLAY, a broken go.mod, ...
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import path_without, pc_dir_without, run_fynecheck
from support.sample import TITLE

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.displays.images import read_png
from pytest_fynecheck.displays.servers import start_display
from pytest_fynecheck.displays.wayland import SEATLESS_HINT

REQUIRED = [
    "go.version",
    "go.env",
    "cgo.enabled",
    "project.gomod",
    "cc.works",
    "pkgconfig.gl",
    "x11.libs",
    "display.x11",
    "gl.context",
    "app.build",
    "app.window",
]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sample_app_is_ready_with_a_real_window(pytester: pytest.Pytester, hello: Path) -> None:
    run = run_fynecheck(pytester, hello, env={"DISPLAY": ""})
    assert run.ret == 0, run
    for check_id in REQUIRED:
        assert run.status(check_id) == "ok", (check_id, run.checks[check_id])
    assert run.status("wayland.libs") == "n/a"
    assert all(c["os"] == "host" for c in run.report["checks"])
    assert run.report["ready"] is True
    # The doctor report: one marked line per check and a verdict.
    run.result.stdout.fnmatch_lines(["*[[]✓[]] app.window*", "ready: every required check*"])

    shot = Path(run.checks["app.window"]["artifacts"]["screenshot"])
    image = read_png(shot.read_bytes())
    assert not image.blank and image.colours(64) > 10
    assert TITLE in run.checks["app.window"]["detail"]
    assert "llvmpipe" in run.checks["gl.context"]["detail"]

    # The private Xvfb is gone once the run is over.
    pid = int(re.search(r"server pid (\d+)", run.checks["display.x11"]["detail"]).group(1))  # type: ignore[union-attr]
    assert not _alive(pid)


def test_path_without_gcc_turns_cgo_off(pytester: pytest.Pytester, hello: Path) -> None:
    """Go disables cgo by itself when gcc is missing: users see cgo.enabled fail, with why."""
    path = path_without("gcc", "cc", "x86_64-linux-gnu-gcc", tmp=pytester.path)
    run = run_fynecheck(pytester, hello, env={"PATH": path}, unset=["CGO_ENABLED", "CC"])
    assert run.ret == 1, run
    cgo = run.checks["cgo.enabled"]
    assert cgo["status"] == "fail"
    assert "Go turned cgo off by itself" in cgo["detail"] and "`gcc`" in cgo["detail"]
    assert "apt-get install gcc" in cgo["hint"]
    # Everything that needs the compiler reports the one root cause, not a cascade of guesses.
    assert run.checks["cc.works"]["detail"] == "not run: needs cgo.enabled, which failed"
    assert run.status("app.build") == "not run"


def test_forced_cgo_without_gcc_fails_cc_works(pytester: pytest.Pytester, hello: Path) -> None:
    path = path_without("gcc", "cc", "x86_64-linux-gnu-gcc", tmp=pytester.path)
    run = run_fynecheck(pytester, hello, "-k", "cc.works", env={"PATH": path, "CGO_ENABLED": "1"})
    assert run.ret == 1, run
    cc = run.checks["cc.works"]
    assert cc["status"] == "fail"
    assert "gcc" in cc["detail"] and "not on PATH" in cc["hint"]


def test_cgo_enabled_0(pytester: pytest.Pytester, hello: Path) -> None:
    run = run_fynecheck(pytester, hello, "-k", "cgo", env={"CGO_ENABLED": "0"})
    assert run.ret == 1, run
    cgo = run.checks["cgo.enabled"]
    assert cgo["status"] == "fail"
    assert "CGO_ENABLED=0 is set in the environment" in cgo["detail"]
    assert "unset CGO_ENABLED" in cgo["hint"]


def test_claim_cgo_off_is_a_hard_error_not_a_silent_stub(hello: Path) -> None:
    """NOTES §5.6: the hint says CGO_ENABLED=0 stops the build; show it does, by default."""
    env = {**os.environ, "CGO_ENABLED": "0"}
    done = subprocess.run(
        ["go", "build", "-o", os.devnull, "."],
        cwd=hello,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "build constraints exclude all Go files in" in done.stderr
    assert "go-gl/gl" in done.stderr
    # With -tags ci the same build succeeds: Fyne swaps in a driver that needs no cgo.
    ci = subprocess.run(
        ["go", "build", "-tags", "ci", "-o", os.devnull, "."],
        cwd=hello,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ci.returncode == 0, ci.stderr


def test_pkg_config_without_gl_pc(pytester: pytest.Pytester, hello: Path) -> None:
    libdir = pc_dir_without("gl", pytester.path)
    run = run_fynecheck(
        pytester, hello, env={"PKG_CONFIG_LIBDIR": libdir}, unset=["PKG_CONFIG_PATH"]
    )
    assert run.ret == 1, run
    gl = run.checks["pkgconfig.gl"]
    assert gl["status"] == "fail"
    assert "gl.pc" in gl["detail"] and libdir in gl["detail"]
    assert "apt-get install libgl-dev" in gl["hint"]
    assert run.status("x11.libs") == "ok"  # the other .pc files are still there
    assert run.checks["app.build"]["detail"].startswith("not run:")


def test_debian_package_table_matches_dpkg(tmp_path: Path) -> None:
    """The hint names the package dpkg says owns each .pc file (here, on Debian)."""
    from pytest_fynecheck.toolchain.cprobe import DEBIAN_PACKAGES

    for module, package in DEBIAN_PACKAGES.items():
        pcdir = subprocess.run(
            ["pkg-config", "--variable=pcfiledir", module],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        owner = subprocess.run(
            ["dpkg-query", "-S", f"{pcdir}/{module}.pc"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split(":")[0]
        assert owner == package, module


def test_dead_display(pytester: pytest.Pytester, hello: Path) -> None:
    run = run_fynecheck(pytester, hello, "--fynecheck-display=host", env={"DISPLAY": ":97"})
    assert run.ret == 1, run
    x = run.checks["display.x11"]
    assert x["status"] == "fail"
    assert "nothing answers on DISPLAY=:97" in x["detail"]
    assert "Xvfb" in x["hint"]
    assert run.checks["app.window"]["detail"].startswith("not run:")


def test_dead_display_in_auto_mode_falls_back_to_xvfb(
    pytester: pytest.Pytester, hello: Path
) -> None:
    run = run_fynecheck(pytester, hello, "-k", "display or gl", env={"DISPLAY": ":97"})
    assert run.ret == 0, run
    x = run.checks["display.x11"]
    assert x["status"] == "warn"
    assert "DISPLAY=:97 did not answer" in x["detail"] and "private Xvfb" in x["detail"]
    assert run.status("gl.context") == "ok"


def test_malformed_go_mod(pytester: pytest.Pytester, hello: Path) -> None:
    gomod = hello / "go.mod"
    gomod.write_text(gomod.read_text() + "\nbogus directive here\n")
    run = run_fynecheck(pytester, hello)
    assert run.ret == 1, run
    mod = run.checks["project.gomod"]
    assert mod["status"] == "fail"
    # Go's own file:line message is passed on.
    assert re.search(r"go\.mod:\d+: unknown directive: bogus", mod["detail"]), mod
    assert "Traceback" not in run.result.stdout.str()
    assert run.status("cc.works") == "ok"  # the toolchain is still checked


def test_replace_pointing_at_missing_directory(pytester: pytest.Pytester, hello: Path) -> None:
    subprocess.run(
        ["go", "mod", "edit", "-replace=fyne.io/fyne/v2=../no-such-fyne"],
        cwd=hello,
        check=True,
        timeout=60,
    )
    run = run_fynecheck(pytester, hello, "-k", "gomod")
    assert run.ret == 1, run
    mod = run.checks["project.gomod"]
    assert "no-such-fyne" in mod["detail"] and "does not exist" in mod["detail"]
    assert "-dropreplace=fyne.io/fyne/v2" in mod["hint"]


def test_not_a_go_module(pytester: pytest.Pytester, tmp_path: Path) -> None:
    empty = tmp_path / "not a module"
    empty.mkdir()
    run = run_fynecheck(pytester, empty, "-k", "gomod or go.version")
    assert run.ret == 1, run
    assert "is not a Go module: there is no go.mod" in run.checks["project.gomod"]["detail"]
    assert str(empty) in run.checks["project.gomod"]["detail"]
    assert run.status("go.version") == "ok"


def test_not_a_fyne_project(pytester: pytest.Pytester, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "go.mod").write_text("module example.com/plain\n\ngo 1.21\n")
    (plain / "main.go").write_text("package main\n\nfunc main() {}\n")
    run = run_fynecheck(pytester, plain, "-k", "gomod")
    assert run.ret == 1, run
    detail = run.checks["project.gomod"]["detail"]
    assert "does not require fyne.io/fyne/v2: not a Fyne project" in detail


def test_no_go_binary(pytester: pytest.Pytester, hello: Path) -> None:
    path = path_without("go", "gofmt", tmp=pytester.path)
    run = run_fynecheck(pytester, hello, env={"PATH": path})
    assert run.ret == 1, run
    # Every check that runs Go fails with the same clear cause.
    for check_id in ("go.version", "go.env", "cgo.enabled", "project.gomod"):
        detail = run.checks[check_id]["detail"]
        assert detail.startswith("`go` not found on PATH in host"), (check_id, detail)
        assert "go.dev/dl" in run.checks[check_id]["hint"]
    assert "Traceback" not in run.result.stdout.str()


def test_goproxy_off_with_modules_missing(pytester: pytest.Pytester, hello: Path) -> None:
    empty_cache = pytester.path / "empty-modcache"
    run = run_fynecheck(
        pytester,
        hello,
        "-k",
        "go.env",
        env={"GOPROXY": "off", "GOMODCACHE": str(empty_cache)},
    )
    assert run.ret == 1, run
    env = run.checks["go.env"]
    assert env["status"] == "fail"
    assert "fyne.io/fyne/v2@v2.7.1" in env["detail"] and "GOPROXY=off" in env["detail"]
    assert "go mod download" in env["hint"]


def test_gosumdb_off_is_only_a_warning(pytester: pytest.Pytester, hello: Path) -> None:
    run = run_fynecheck(pytester, hello, "-k", "go.env", env={"GOSUMDB": "off"})
    assert run.ret == 0, run
    assert run.status("go.env") == "warn"
    assert "go.sum is still verified" in run.checks["go.env"]["hint"]


def test_claim_gosumdb_off_still_verifies_go_sum(hello: Path) -> None:
    """NOTES §5.1: the go.env hint says go.sum is still checked with GOSUMDB=off."""
    gosum = hello / "go.sum"
    tampered = re.sub(
        r"^(fyne\.io/fyne/v2 v2\.7\.1 h1:)\S+",
        r"\1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        gosum.read_text(),
        count=1,
        flags=re.M,
    )
    gosum.write_text(tampered)
    done = subprocess.run(
        ["go", "list", "-deps", "."],
        cwd=hello,
        env={**os.environ, "GOSUMDB": "off"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "checksum mismatch" in done.stderr


def test_debian_dev_lock_unmet(pytester: pytest.Pytester, tmp_path: Path, hello: Path) -> None:
    """A dpkg database where libx11-6 is not the version libx11-dev is locked to."""
    admin = tmp_path / "dpkg"
    shutil.copytree("/var/lib/dpkg", admin, ignore=shutil.ignore_patterns("lock*", "info"))
    (admin / "info").mkdir()
    status = (admin / "status").read_text()
    status = re.sub(
        r"(Package: libx11-6\n(?:.+\n)*?Version: )(\S+)", r"\g<1>2:0.0.1-1", status, count=1
    )
    (admin / "status").write_text(status)
    run = run_fynecheck(pytester, hello, "-k", "dev-locks", env={"DPKG_ADMINDIR": str(admin)})
    assert run.ret == 0, run  # optional: it warns, the run still passes
    locks = run.checks["debian.dev-locks"]
    assert locks["status"] == "warn"
    assert "libx11-dev" in locks["detail"] and "needs libx11-6 (= " in locks["detail"]
    assert "found 2:0.0.1-1" in locks["detail"]
    assert "apt-get install libx11-dev libx11-6" in locks["hint"]


def test_debian_dev_locks_pass_on_this_machine(pytester: pytest.Pytester, hello: Path) -> None:
    run = run_fynecheck(pytester, hello, "-k", "dev-locks")
    assert run.status("debian.dev-locks") == "ok"
    assert "every exact-version lock is met" in run.checks["debian.dev-locks"]["detail"]


def test_fyne_cli_missing_is_a_warning_with_install_command(
    pytester: pytest.Pytester, hello: Path
) -> None:
    gobin = pytester.path / "empty-gobin"
    gobin.mkdir()
    path = path_without("fyne", tmp=pytester.path)
    run = run_fynecheck(pytester, hello, "-k", "fyne.cli", env={"PATH": path, "GOBIN": str(gobin)})
    assert run.ret == 0, run
    cli = run.checks["fyne.cli"]
    assert cli["status"] == "warn"
    assert "go install fyne.io/tools/cmd/fyne@latest" in cli["hint"]
    assert str(gobin) in cli["hint"]


def test_go_older_than_the_project_needs(pytester: pytest.Pytester, hello: Path) -> None:
    subprocess.run(["go", "mod", "edit", "-go=1.99"], cwd=hello, check=True, timeout=60)
    run = run_fynecheck(pytester, hello, "-k", "go.version", env={"GOTOOLCHAIN": "local"})
    assert run.ret == 1, run
    version = run.checks["go.version"]
    assert "older than go 1.99, which the project's go directive needs" in version["detail"]
    assert "GOTOOLCHAIN=auto" in version["hint"]


def test_wayland_tag_checks_the_wayland_libraries(pytester: pytest.Pytester, hello: Path) -> None:
    run = run_fynecheck(pytester, hello, "-k", "libs", "-o", "fynecheck_tags=wayland")
    assert run.status("wayland.libs") == "ok", run
    assert "wayland-client" in run.checks["wayland.libs"]["detail"]
    assert run.status("x11.libs") == "n/a"

    libdir = pc_dir_without("wayland-client", pytester.path)
    broken = run_fynecheck(
        pytester,
        hello,
        "-k",
        "wayland.libs",
        "-o",
        "fynecheck_tags=wayland",
        env={"PKG_CONFIG_LIBDIR": libdir},
        unset=["PKG_CONFIG_PATH"],
    )
    assert broken.ret == 1, broken
    assert "wayland-client.pc" in broken.checks["wayland.libs"]["detail"]
    assert "libwayland-dev" in broken.checks["wayland.libs"]["hint"]


@pytest.mark.parametrize(("kind", "status"), [("weston", "warn"), ("weston-x11", "ok")])
def test_display_wayland_warns_on_a_compositor_without_a_seat(
    pytester: pytest.Pytester, hello: Path, tmp_path: Path, kind: str, status: str
) -> None:
    host = Context(hello, tmp_path, tmp_path, timeout=120)
    display = start_display(host, kind)
    try:
        run = run_fynecheck(
            pytester,
            hello,
            "-k",
            "display.wayland",
            "-o",
            "fynecheck_tags=wayland",
            env=display.env,
        )
    finally:
        display.stop()
    assert run.ret == 0, run  # a warning never fails the run
    check = run.checks["display.wayland"]
    assert check["status"] == status, run
    assert f"WAYLAND_DISPLAY={display.env['WAYLAND_DISPLAY']}" in check["detail"]
    if status == "warn":
        # Headless weston: the globals answer, but Fyne's GLFW 3.3.10 would crash in glfwInit.
        assert "no wl_seat" in check["detail"]
        assert check["hint"] == SEATLESS_HINT
        run.result.stdout.fnmatch_lines(["[[]!] display.wayland: *", "*; no wl_seat (input seat)"])
    else:
        assert "wl_seat version" in check["detail"]


def test_vendor_consistent_then_drifted(pytester: pytest.Pytester, hello: Path) -> None:
    subprocess.run(["go", "mod", "vendor"], cwd=hello, check=True, timeout=300)
    run = run_fynecheck(pytester, hello, "-k", "gomod")
    assert run.status("project.gomod") == "ok", run
    assert "(vendored, consistent)" in run.checks["project.gomod"]["detail"]

    # go.mod moves on without re-vendoring.
    subprocess.run(
        ["go", "mod", "edit", "-require=github.com/fsnotify/fsnotify@v1.8.0"],
        cwd=hello,
        check=True,
        timeout=60,
    )
    drifted = run_fynecheck(pytester, hello, "-k", "gomod")
    assert drifted.ret == 1, drifted
    mod = drifted.checks["project.gomod"]
    assert "inconsistent vendoring" in mod["detail"]
    assert "go mod vendor" in mod["hint"]


def test_go_sum_missing_an_entry(pytester: pytest.Pytester, hello: Path) -> None:
    gosum = hello / "go.sum"
    gosum.write_text(
        "".join(
            line
            for line in gosum.read_text().splitlines(keepends=True)
            if not line.startswith("github.com/go-gl/gl ")
        )
    )
    run = run_fynecheck(pytester, hello, "-k", "gomod")
    assert run.ret == 1, run
    mod = run.checks["project.gomod"]
    assert "missing go.sum entry" in mod["detail"]
    assert "go mod tidy" in mod["hint"]


def test_wayland_build_shows_its_window_on_a_private_weston(
    pytester: pytest.Pytester, hello: Path
) -> None:
    """No WAYLAND_DISPLAY: the kit starts weston on Xvfb (it has a seat) and sees the window."""
    run = run_fynecheck(
        pytester, hello, "-o", "fynecheck_tags=wayland", unset=["WAYLAND_DISPLAY"]
    )
    assert run.ret == 0, run
    wayland = run.checks["display.wayland"]
    assert wayland["status"] == "ok", wayland
    assert "wl_seat version" in wayland["detail"] and "on Xvfb" in wayland["detail"]
    assert run.status("display.x11") == run.status("gl.context") == "n/a"
    window = run.checks["app.window"]
    assert window["status"] == "ok", window
    shot = read_png(Path(window["artifacts"]["screenshot"]).read_bytes())
    assert shot.colours(64) >= 8 and min(shot.width, shot.height) >= 32
    # The private weston (and its Xvfb) are gone once the run is over.
    pid = int(re.search(r"server pid (\d+)", wayland["detail"]).group(1))  # type: ignore[union-attr]
    assert not _alive(pid)


def test_wayland_build_on_a_seatless_compositor_is_diagnosed(
    pytester: pytest.Pytester, hello: Path, tmp_path: Path
) -> None:
    """The user's compositor is headless weston (no wl_seat): app.window names the cause."""
    host = Context(hello, tmp_path, tmp_path, timeout=120)
    display = start_display(host, "weston")
    try:
        run = run_fynecheck(
            pytester,
            hello,
            "--fynecheck-display=host",
            "-o",
            "fynecheck_tags=wayland",
            env=display.env,
        )
    finally:
        display.stop()
    assert run.ret == 1, run
    assert run.status("display.wayland") == "warn"
    window = run.checks["app.window"]
    assert window["status"] == "fail", window
    assert "crashed in glfwInit" in window["detail"] and "without wl_seat" in window["detail"]
    assert window["hint"] == SEATLESS_HINT
