"""package.* on public Fyne apps nobody here wrote (issue 25): fyne's own cmd/ apps, each
shipping a FyneApp.toml, fetched through the module proxy at the version tests/test_corpus.py
pins. Each verdict is a pass or a true finding, and each finding is shown here again without
the kit: the real fyne CLI's own .desktop file, desktop-file-validate, and xprop on the
app's window on an Xvfb of the test's own.

- cmd/fyne_settings passes package.metadata, package.linux and package.install.
- cmd/hello: its window is titled "Hello" but FyneApp.toml's Name is "Fyne Hello", which
  the CLI writes as StartupWMClass: docks show a generic icon (fyne#6004).
- cmd/fyne_demo: its FyneApp.toml has a [Source] section, and fyne.io/tools v1.7.4's
  template then writes StartupWMClass inside [X-Fyne Source], where no desktop reads it.
"""

from __future__ import annotations

import configparser
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.env import cache_env, module_dir
from support.sample import ROOT
from test_corpus import FYNE
from test_package import _path, fyne_bin  # noqa: F401  (a fixture)
from test_package_install import _orphans

from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.package import install

# The kit's runs are slow: each packs the fyne module itself, so fyne package's cgo build
# of Fyne runs again in each new copy's path (a minute).


@pytest.fixture
def fyne(tmp_path: Path) -> Path:
    """A writable copy of the fyne.io/fyne/v2 module (the module cache is read-only, and
    the CLI writes its tarball and a new Build into the tree it packs)."""
    dest = tmp_path / "fyne"
    shutil.copytree(module_dir(FYNE), dest)
    for dirpath, _dirs, files in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return dest


def _kit(pytester: pytest.Pytester, project: Path, cli: Path) -> dict[str, dict[str, str]]:
    """package.metadata, .linux and .install of `project`, run by the kit."""
    before = _orphans()
    run = run_fynecheck(pytester, project, "-k", "package", env=_path(cli))
    assert _orphans() <= before, run
    assert "Traceback" not in run.result.stdout.str() + run.result.stderr.str(), run
    checks: dict[str, dict[str, str]] = run.checks
    return {k: checks[k] for k in ("package.metadata", "package.linux", "package.install")}


def _cli_desktop(cli: Path, app: Path, tmp: Path) -> tuple[Path, dict[str, dict[str, str]]]:
    """The .desktop file the real `fyne package -os linux` writes for `app` (the Go build
    replaced by a stand-in binary: the file does not depend on it), and its groups."""
    exe = tmp / app.name
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    for old in app.glob("*.tar.xz"):
        old.unlink()
    subprocess.run([str(cli / "fyne"), "package", "-os", "linux", "--executable", str(exe)],
                   cwd=app, check=True, capture_output=True, timeout=120)
    out = tmp / f"unpacked-{len(list(tmp.glob('unpacked-*')))}"
    out.mkdir()
    (tarball,) = app.glob("*.tar.xz")
    subprocess.run(["tar", "-xJf", str(tarball), "-C", str(out)], check=True, timeout=60)
    (desktop,) = out.rglob("*.desktop")
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep case
    parser.read_string(desktop.read_text())
    return desktop, {g: dict(parser[g]) for g in parser.sections()}


def _window_class(package: str, title: str, tmp: Path) -> tuple[str, str]:
    """The WM_CLASS of fyne.io/fyne/v2/`package`'s window titled `title`, read by xprop on
    a private Xvfb. Built by `go build` from fixtures/hello's module, which requires the
    same fyne.io/fyne/v2 version, so the build comes from the warm module and Go caches."""
    built = tmp / "built"  # _cli_desktop's stand-in has the app's name in tmp
    built.mkdir(exist_ok=True)
    binary = built / Path(package).name
    env = {**os.environ, **cache_env()}
    subprocess.run(["go", "build", "-o", str(binary), f"fyne.io/fyne/v2/{package}"],
                   cwd=ROOT / "fixtures" / "hello", check=True, env=env, timeout=900)
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24",
                             "-nolisten", "tcp"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    app = None
    try:
        assert select.select([read], [], [], 30)[0], "Xvfb gave no display number in 30 s"
        number = os.read(read, 64).decode().strip()
        assert number.isdigit(), number
        display = {"DISPLAY": f":{number}", "HOME": str(tmp)}
        app = subprocess.Popen([str(binary)], env={**os.environ, **display},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while True:
            done = subprocess.run(["xprop", "-name", title, "WM_CLASS"],
                                  env={**os.environ, **display}, capture_output=True,
                                  text=True, timeout=30)
            found = re.search(r'WM_CLASS\(\w+\) = "([^"]*)", "([^"]*)"', done.stdout)
            if found:
                return found[1], found[2]
            assert app.poll() is None, f"{package} exited ({app.returncode}) before its window"
            assert time.monotonic() < deadline, f"no window {title!r} in 90 s: {done.stderr}"
            time.sleep(0.3)
    finally:
        os.close(read)
        for proc in (app, xvfb):
            if proc is not None:
                proc.kill()
                proc.wait(timeout=30)


@pytest.mark.slow
def test_fyne_settings_passes_every_linux_package_check(
    pytester: pytest.Pytester, fyne: Path, fyne_bin: Path, tmp_path: Path  # noqa: F811
) -> None:
    got = _kit(pytester, fyne / "cmd" / "fyne_settings", fyne_bin)
    meta, linux, install = got["package.metadata"], got["package.linux"], got["package.install"]
    assert meta["status"] == "ok", got
    assert meta["detail"].startswith("Fyne Settings io.fyne.settings 2.6.0 build 2, icon "), meta
    assert meta["detail"].endswith("/theme/icons/fyne.png 512x512"), meta
    assert linux["status"] == "ok", got
    for part in ("Fyne Settings.tar.xz: one top-level directory fyne_settings/",
                 "put Exec=fyne_settings at usr/local/bin/fyne_settings",
                 "(the same bytes as fyne.png)",
                 "desktop-file-validate passes on io.fyne.settings.desktop"):
        assert part in linux["detail"], linux
    assert install["status"] == "ok", got
    for part in ("every shared library of /home/fynecheck/.local/bin/fyne_settings resolves",
                 "launched through its Exec=/home/fynecheck/.local/bin/fyne_settings: window "
                 "'Fyne Settings'",
                 "its WM_CLASS class 'Fyne Settings' matches StartupWMClass"):
        assert part in install["detail"], install
    # The pass agrees with the CLI's own file and the window's own class.
    _, groups = _cli_desktop(fyne_bin, fyne / "cmd" / "fyne_settings", tmp_path)
    assert groups["Desktop Entry"]["StartupWMClass"] == "Fyne Settings", groups
    assert _window_class("cmd/fyne_settings", "Fyne Settings", tmp_path)[1] == "Fyne Settings"


@pytest.mark.slow
def test_fyne_hello_window_class_is_not_its_startup_wm_class(
    pytester: pytest.Pytester, fyne: Path, fyne_bin: Path, tmp_path: Path  # noqa: F811
) -> None:
    """A true finding (fyne#6004): the CLI writes StartupWMClass from FyneApp.toml's Name,
    Fyne's window takes its WM_CLASS from its title, and cmd/hello's differ."""
    got = _kit(pytester, fyne / "cmd" / "hello", fyne_bin)
    assert got["package.metadata"]["status"] == "ok", got
    assert got["package.linux"]["status"] == "ok", got
    install = got["package.install"]
    assert install["status"] == "fail", got
    assert ("the window's WM_CLASS is 'Hello', 'Hello' (xprop) but /home/fynecheck/.local/"
            "share/applications/io.fyne.hello.desktop says StartupWMClass=Fyne Hello"
            ) in install["detail"], install
    # The proof, without the kit: the CLI's .desktop file, and xprop on the window.
    _, groups = _cli_desktop(fyne_bin, fyne / "cmd" / "hello", tmp_path)
    assert groups["Desktop Entry"]["StartupWMClass"] == "Fyne Hello", groups
    assert _window_class("cmd/hello", "Hello", tmp_path) == ("Hello", "Hello")


@pytest.mark.slow
def test_fyne_demo_startup_wm_class_lands_outside_the_desktop_entry(
    pytester: pytest.Pytester, fyne: Path, fyne_bin: Path, tmp_path: Path  # noqa: F811
) -> None:
    """A true finding: fyne.io/tools v1.7.4 writes StartupWMClass after the [X-Fyne Source]
    group (from FyneApp.toml's [Source]), so it is that group's key; desktops read
    StartupWMClass only in [Desktop Entry]. desktop-file-validate does not mind (X- groups
    hold anything), so package.linux's pass is true, and package.install names it."""
    demo = fyne / "cmd" / "fyne_demo"
    got = _kit(pytester, demo, fyne_bin)
    assert got["package.metadata"]["status"] == "ok", got
    assert got["package.linux"]["status"] == "ok", got
    assert "desktop-file-validate passes on io.fyne.demo.desktop" in got["package.linux"][
        "detail"], got
    install = got["package.install"]
    assert install["status"] == "fail", got
    assert ("/home/fynecheck/.local/share/applications/io.fyne.demo.desktop has "
            "StartupWMClass=Fyne Demo only in its [X-Fyne Source] group, not in [Desktop "
            "Entry], where desktops read it") in install["detail"], install
    assert "(WM_CLASS 'Fyne Demo', 'Fyne Demo')" in install["detail"], install
    assert "drop [Source] from FyneApp.toml" in install["hint"], install
    # The proof, without the kit: the CLI's own .desktop file, as an INI file.
    desktop, groups = _cli_desktop(fyne_bin, demo, tmp_path)
    assert "StartupWMClass" not in groups["Desktop Entry"], groups
    assert groups["X-Fyne Source"]["StartupWMClass"] == "Fyne Demo", groups
    valid = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True,
                           text=True, timeout=60)
    assert valid.returncode == 0 and "error:" not in valid.stdout, valid
    # The window's class is the stray value: placed in [Desktop Entry], it would match.
    assert _window_class("cmd/fyne_demo", "Fyne Demo", tmp_path) == ("Fyne Demo", "Fyne Demo")
    # The hint's claim: without [Source], the CLI puts the line in [Desktop Entry].
    toml = demo / "FyneApp.toml"
    toml.write_text(re.sub(r"\[Source\]\n(?:[^\[\n].*\n|\n)*", "", toml.read_text()))
    assert "[Source]" not in toml.read_text()
    _, groups = _cli_desktop(fyne_bin, demo, tmp_path)
    assert groups["Desktop Entry"]["StartupWMClass"] == "Fyne Demo", groups
    assert "X-Fyne Source" not in groups, groups


def test_a_startup_wm_class_in_another_group_is_named_not_matched(
    fyne: Path, fyne_bin: Path, tmp_path: Path  # noqa: F811
) -> None:
    """The kit's reading of the CLI's real fyne_demo .desktop file: the stray StartupWMClass
    fails even when its value is the window's class (no desktop reads it there). Before, the
    kit said the file had no StartupWMClass and told the user to add the line it has."""
    desktop, _ = _cli_desktop(fyne_bin, fyne / "cmd" / "fyne_demo", tmp_path)
    groups = install._groups(desktop.read_text())
    entry = groups.pop("Desktop Entry")
    with pytest.raises(CheckFailed) as failed:
        install.compare_wm_class("demo.desktop", entry, "Fyne Demo", "Fyne Demo", groups)
    assert failed.value.detail.startswith(
        "demo.desktop has StartupWMClass=Fyne Demo only in its [X-Fyne Source] group"), failed
    assert "add StartupWMClass" not in failed.value.hint, failed
    # In a group the CLI does not write, the hint just says where the line belongs.
    other = {"Desktop Action new": {"StartupWMClass": "Fyne Demo"}}
    with pytest.raises(CheckFailed) as failed:
        install.compare_wm_class("demo.desktop", entry, "Fyne Demo", "Fyne Demo", other)
    assert failed.value.hint == "move StartupWMClass=Fyne Demo into the [Desktop Entry] group"
    # Moved into [Desktop Entry], the same value matches.
    entry["StartupWMClass"] = groups["X-Fyne Source"].pop("StartupWMClass")
    assert install.compare_wm_class("demo.desktop", entry, "Fyne Demo", "Fyne Demo", groups) == (
        "its WM_CLASS class 'Fyne Demo' matches StartupWMClass")
