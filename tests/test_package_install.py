"""package.install for real (issue 25): fyne package's tarball unpacked and `make
user-install`ed by a non-root user in a suite's runtime-only container (no Go, no -dev
package, no compiler), its libraries resolved, and the app launched through the .desktop
file's Exec line to a non-blank frame, its WM_CLASS held to StartupWMClass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_fynecheck
from test_package import PACKAGED, _path, fyne_bin  # noqa: F401  (a fixture)

from pytest_fynecheck.containers.engine import LABEL_PID
from pytest_fynecheck.containers.images import SUITES
from pytest_fynecheck.package.install import suite_for_host


def _orphans() -> set[str]:
    """Containers of the kit whose owning process is gone: a run that ended left them.
    (Tests run in parallel: another test's live run's containers are not orphans.)"""
    out = subprocess.run(["docker", "ps", "-a", "--filter", f"label={LABEL_PID}",
                          "--format", f'{{{{.ID}}}} {{{{.Label "{LABEL_PID}"}}}}'],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return {box for box, pid in (ln.split() for ln in out.splitlines())
            if not Path(f"/proc/{pid}").exists()}


@pytest.fixture
def app(tmp_path: Path) -> Path:
    dest = tmp_path / "packaged app"
    shutil.copytree(PACKAGED, dest, ignore=shutil.ignore_patterns(".pytest_cache"))
    return dest


def _install(pytester: pytest.Pytester, project: Path, fyne: Path) -> dict[str, str]:
    before = _orphans()
    run = run_fynecheck(pytester, project, "-k", "package", env=_path(fyne))
    # The check's containers (the full one that built the X probe, the runtime one) are
    # gone after pass or fail.
    assert _orphans() <= before, run
    assert "Traceback" not in run.result.stdout.str(), run
    result: dict[str, str] = run.checks["package.install"]
    return result


def test_the_sample_installs_and_shows_its_window_on_a_clean_desktop(
    pytester: pytest.Pytester, app: Path, fyne_bin: Path  # noqa: F811
) -> None:
    got = _install(pytester, app, fyne_bin)
    suite, _ = suite_for_host(SUITES)
    assert got["status"] == "ok", got
    for part in (f"{suite}-runtime container (suite ", "user 1000: `make user-install` of "
                 "Packaged.tar.xz installed /home/fynecheck/.local/share/applications/"
                 "com.example.packaged.desktop",
                 "every shared library of /home/fynecheck/.local/bin/packaged resolves (ldd)",
                 "launched through its Exec=/home/fynecheck/.local/bin/packaged: window "
                 "'Packaged'", "stopped with SIGTERM",
                 "its WM_CLASS class 'Packaged' matches StartupWMClass"):
        assert part in got["detail"], got


def test_a_window_class_other_than_startup_wm_class_is_named(
    pytester: pytest.Pytester, app: Path, fyne_bin: Path  # noqa: F811
) -> None:
    """fyne#6004: fyne package writes StartupWMClass=Name, and Fyne's window takes its
    WM_CLASS from its title: a window titled otherwise gets a generic dock icon."""
    main = app / "main.go"
    main.write_text(main.read_text().replace('NewWindow("Packaged")', 'NewWindow("Other")'))
    got = _install(pytester, app, fyne_bin)
    assert got["status"] == "fail", got
    assert ("the window's WM_CLASS is 'Other', 'Other' (xprop) but /home/fynecheck/.local/"
            "share/applications/com.example.packaged.desktop says StartupWMClass=Packaged"
            ) in got["detail"], got
    assert "give the first window the title 'Packaged'" in got["hint"], got


def test_a_library_the_runtime_desktop_lacks_is_named_with_its_package(
    pytester: pytest.Pytester, app: Path, fyne_bin: Path  # noqa: F811
) -> None:
    """The app links libsqlite3 (this build machine has libsqlite3-dev); a user's desktop
    without libsqlite3-0 cannot start it."""
    (app / "db.go").write_text(
        "package main\n\n// #cgo LDFLAGS: -lsqlite3\n"
        "// extern int sqlite3_libversion_number(void);\nimport \"C\"\n\n"
        "var sqliteVersion = int(C.sqlite3_libversion_number())\n")
    got = _install(pytester, app, fyne_bin)
    assert got["status"] == "fail", got
    assert "needs shared libraries a " in got["detail"], got
    assert ("libsqlite3.so.0: from Debian package libsqlite3-0 (per this machine's dpkg "
            "database") in got["detail"], got
    assert "users need libsqlite3-0 installed" in got["hint"], got


@pytest.mark.parametrize(("release", "suite", "says"), [
    ('PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nVERSION_CODENAME=trixie\n', "trixie",
     "this machine's own suite (trixie, from "),
    ('NAME="Ubuntu"\nVERSION_CODENAME=noble\n', "bookworm",
     "bookworm (this machine is 'noble', not one of "),
    ("NAME=Other\n", "bookworm", "names no suite, not one of "),
])
def test_the_host_runs_its_own_suite_or_bookworm_and_says_which(
    tmp_path: Path, release: str, suite: str, says: str
) -> None:
    os_release = tmp_path / "os-release"
    os_release.write_text(release)
    got, why = suite_for_host(SUITES, os_release)
    assert got == suite
    assert says in why, why


@pytest.mark.parametrize(("suite", "named_by"), [
    ("bookworm", ("-k", "package", "-o", "fynecheck_package_suites=bookworm")),
    # The run's suite context: the host's package.install installs in its runtime image.
    ("trixie", ("-k", "package and not trixie", "--fynecheck-os", "trixie")),
])
def test_the_sample_passes_every_package_check_on_the_suite_named(
    pytester: pytest.Pytester, app: Path, fyne_bin: Path, suite: str,  # noqa: F811
    named_by: tuple[str, ...],
) -> None:
    """ini fynecheck_package_suites, else --fynecheck-os's suites, pick the runtime-only
    images package.install uses: the host-built tarball installed and shown there."""
    before = _orphans()
    run = run_fynecheck(pytester, app, *named_by, env=_path(fyne_bin))
    assert _orphans() <= before, run
    assert "Traceback" not in run.result.stdout.str(), run
    for check_id in ("package.metadata", "package.linux", "package.install"):
        assert run.checks[check_id]["status"] == "ok", run.checks[check_id]
    detail = run.checks["package.install"]["detail"]
    source = "ini fynecheck_package_suites" if "-o" in named_by else "--fynecheck-os"
    for part in (f"on {suite}: {suite}-runtime container (suite {suite}, from {source})",
                 "user 1000: `make user-install` of Packaged.tar.xz",
                 "every shared library of /home/fynecheck/.local/bin/packaged resolves (ldd)",
                 "window 'Packaged'", "its WM_CLASS class 'Packaged' matches StartupWMClass"):
        assert part in detail, detail
    assert list(run.checks["package.install"]["artifacts"]) == [f"screenshot-{suite}"], run


def test_bullseye_refuses_a_tarball_built_against_a_newer_glibc_by_name(
    pytester: pytest.Pytester, app: Path, fyne_bin: Path  # noqa: F811
) -> None:
    """This machine's tarball needs this machine's glibc: bullseye (2.31) cannot start it,
    and the check says which symbol versions, not that the app exited."""
    if "VERSION_CODENAME=bullseye" in Path("/etc/os-release").read_text():
        pytest.skip("a bullseye host builds for bullseye: the glibc gap is the point")
    run = run_fynecheck(pytester, app, "-k", "package", "-o",
                        "fynecheck_package_suites=bullseye trixie", env=_path(fyne_bin))
    got = run.checks["package.install"]
    assert got["status"] == "fail", got
    assert ("on bullseye: FAILED: /home/fynecheck/.local/bin/packaged needs GLIBC_2.3"
            in got["detail"]), got
    assert "newer than a bullseye-runtime desktop has (ldd: version not found)" in got["detail"]
    # The other suite still ran and is reported.
    assert "\non trixie: trixie-runtime container" in got["detail"], got
    assert got["hint"].startswith("on bullseye: build the tarball on the oldest Debian suite"), got


def test_the_sample_installs_and_shows_its_window_on_trixie_too(
    app: Path, fyne_bin: Path, tmp_path: Path  # noqa: F811
) -> None:
    """The other suite than this machine's: the same tarball, trixie's runtime image."""
    from pytest_fynecheck.checks.package import install_on
    from pytest_fynecheck.core.context import Context
    from pytest_fynecheck.core.paths import cache_dir

    subprocess.run([str(fyne_bin / "fyne"), "package", "-os", "linux"], cwd=app, check=True,
                   capture_output=True, timeout=900)
    before = _orphans()
    ctx = Context(app, tmp_path, cache_dir(), timeout=600)
    try:
        found = install_on(ctx, app / "Packaged.tar.xz", "trixie", "asked by the test")
    finally:
        ctx.close()
    assert _orphans() <= before
    for part in ("trixie-runtime container (suite asked by the test), user 1000",
                 "every shared library of /home/fynecheck/.local/bin/packaged resolves (ldd)",
                 "window 'Packaged'", "its WM_CLASS class 'Packaged' matches StartupWMClass"):
        assert part in found.detail, found
