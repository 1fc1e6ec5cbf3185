"""package.windows for real (issue 25): the sample app packaged by the real
`fyne package -os windows` with mingw-w64, its .exe read with pefile, launched under Wine;
each bad .exe a fail naming the field."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import path_without, run_fynecheck
from PIL import Image
from support.env import cache
from test_package import PACKAGED, _path, fyne_bin  # noqa: F401  (fyne_bin: the fixture)

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.displays import images
from pytest_fynecheck.package.windows import dpi_declared, lint, manifest_name, package
from pytest_fynecheck.toolchain.cross import WINDOWS_ENV
from pytest_fynecheck.windows.wine import wine_version

ICON = PACKAGED / "Icon.png"
DPI_MANIFEST = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0"
 xmlns:asmv3="urn:schemas-microsoft-com:asm.v3">
<assemblyIdentity version="1.0.0.1" processorArchitecture="*" name="Packaged" type="win32"/>
<asmv3:application><asmv3:windowsSettings
 xmlns="http://schemas.microsoft.com/SMI/2005/WindowsSettings"><dpiAware>true/pm</dpiAware>
</asmv3:windowsSettings></asmv3:application>
</assembly>
"""


def _ctx(project: Path, fyne: Path) -> Context:
    ctx = Context(project, project.parent / "scratch", cache(), timeout=900)
    ctx.name = "windows"
    ctx.environ.update(WINDOWS_ENV)
    ctx.environ["PATH"] = _path(fyne)["PATH"]
    return ctx


def _copy(dest: Path) -> Path:
    shutil.copytree(PACKAGED, dest, ignore=shutil.ignore_patterns(".pytest_cache"))
    return dest


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory, fyne_bin: Path) -> Path:  # noqa: F811
    """Packaged.exe as the real CLI makes it from fixtures/packaged (in a copy)."""
    project = _copy(tmp_path_factory.mktemp("win") / "packaged")
    return package(_ctx(project, fyne_bin), project, project)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory, fyne_bin: Path) -> Path:  # noqa: F811
    """The same app by a bare `go build` with mingw-w64: the wrong artifact to ship (the
    CLI always links -H=windowsgui, build.go, so it cannot make a console .exe itself)."""
    project = _copy(tmp_path_factory.mktemp("plain") / "packaged")
    exe = project / "plain.exe"
    done = _ctx(project, fyne_bin).run(["go", "build", "-o", str(exe), "."], timeout=900)
    assert done.ok, done.output
    return exe


def test_the_cli_s_exe_is_gui_with_the_icon_versioninfo_and_a_manifest(shipped: Path) -> None:
    found = lint(shipped, "Packaged", "1.0.0", 1, ICON)
    assert found.facts == [
        "GUI subsystem",
        "icon 256x256 matches Icon.png (mean difference 0.0/255 at 64x64)",
        "VERSIONINFO ProductName 'Packaged' FileVersion 1.0.0.1",
    ], found
    # fyne.io/tools v1.7.4's manifest template declares no DPI awareness: warned, named.
    assert [(f.field, f.fail) for f in found.findings] == [("RT_MANIFEST dpiAware", False)]


def test_a_bare_go_build_exe_is_named_console_iconless_unversioned_and_manifestless(
    plain: Path,
) -> None:
    found = lint(plain, "Packaged", "1.0.0", 1, ICON)
    assert [f.field for f in found.failed] == ["Subsystem", "RT_GROUP_ICON", "RT_VERSION",
                                                "RT_MANIFEST"], found
    assert "console" in found.failed[0].message and "fyne#110" in found.failed[0].message
    assert found.facts == []


def test_an_icon_other_than_fyneapp_toml_s_is_named(shipped: Path, tmp_path: Path) -> None:
    other = tmp_path / "Other.png"
    Image.new("RGBA", (256, 256), (200, 30, 30, 255)).save(other)
    found = lint(shipped, "Packaged", "1.0.0", 1, other)
    assert [f.field for f in found.failed] == ["RT_ICON"], found
    assert "is not FyneApp.toml's Icon Other.png" in found.failed[0].message


def test_the_same_icon_re_encoded_at_another_size_matches(shipped: Path, tmp_path: Path) -> None:
    """Pixels are compared, not bytes: the CLI converts the PNG to an .ico."""
    smaller = tmp_path / "Icon.png"
    with Image.open(ICON) as src:
        src.convert("RGBA").resize((128, 128), Image.Resampling.LANCZOS).save(smaller)
    assert lint(shipped, "Packaged", "1.0.0", 1, smaller).failed == []


def test_fyneapp_toml_edited_after_packaging_is_a_versioninfo_mismatch(shipped: Path) -> None:
    found = lint(shipped, "Renamed", "2.0.0", 1, ICON)
    assert [f.field for f in found.failed] == ["FileVersion", "ProductName"], found
    assert "FileVersion is '1.0.0.1'" in found.failed[0].message
    assert "'2.0.0.1'" in found.failed[0].message
    assert "Name is 'Renamed'" in found.failed[1].message
    assert [f.field for f in lint(shipped, "Packaged", "1.0.0", 2, ICON).failed] == [
        "FileVersion"]


def test_the_hint_s_manifest_declares_dpi_awareness_through_the_real_cli(
    tmp_path: Path, fyne_bin: Path,  # noqa: F811
) -> None:
    """The warning's fix is true: a `<exe>.manifest` beside FyneApp.toml is embedded by the
    CLI instead of its template, and its dpiAware is read."""
    project = _copy(tmp_path / "packaged")
    assert manifest_name(project) == "packaged.exe.manifest"
    (project / manifest_name(project)).write_text(DPI_MANIFEST)
    found = lint(package(_ctx(project, fyne_bin), project, project), "Packaged", "1.0.0", 1,
                 ICON)
    assert found.findings == [], found
    assert "manifest declares dpiAware=true/pm" in found.facts


@pytest.mark.parametrize(("element", "declared"), [
    ("<dpiAware>true/pm</dpiAware>", [("dpiAware", "true/pm")]),
    ("<ws:dpiAwareness>PerMonitorV2, PerMonitor</ws:dpiAwareness>",
     [("dpiAwareness", "PerMonitorV2, PerMonitor")]),
    ("<dpiAware>false</dpiAware>", []),
    ("<dpiAwareness>unaware</dpiAwareness>", []),
    ("<!-- <dpiAware>true</dpiAware> -->", []),  # a comment declares nothing
    ("", []),
])
def test_only_a_declared_dpi_awareness_counts(element: str,
                                              declared: list[tuple[str, str]]) -> None:
    assert dpi_declared(DPI_MANIFEST.replace("<dpiAware>true/pm</dpiAware>", element)) == declared


def test_a_file_that_is_not_an_exe_is_named(tmp_path: Path) -> None:
    bogus = tmp_path / "Packaged.exe"
    bogus.write_bytes(b"MZ not really")
    with pytest.raises(CheckFailed, match=re.escape(f"{bogus} is not a PE file")):
        lint(bogus, "Packaged", "1.0.0", 1, ICON)


@pytest.mark.slow
def test_the_sample_on_the_windows_context_lints_clean_and_wine_shows_it_or_names_why(
    pytester: pytest.Pytester, tmp_path: Path, fyne_bin: Path,  # noqa: F811
) -> None:
    """`--fynecheck-os windows`: the real CLI with mingw-w64, pefile, then the .exe under
    this machine's Wine. Debian 12's Wine 8.0 cannot start Go >= 1.22 programs (no
    bcryptprimitives.dll, as tests/test_windows.py shows for hello): then the check fails
    saying so, with the lint's findings kept; a Wine >= 9 host shows the window."""
    project = _copy(tmp_path / "packaged app")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    run = run_fynecheck(pytester, project, "--fynecheck-os=windows", "-k", "package.windows",
                        env=_path(fyne_bin))
    check = next(c for c in run.report["checks"] if c["id"] == "package.windows")
    assert check["os"] == "windows", check
    assert ("Packaged.exe: GUI subsystem; icon 256x256 matches Icon.png (mean difference "
            "0.0/255 at 64x64); VERSIONINFO ProductName 'Packaged' FileVersion 1.0.0.1"
            ) in check["detail"], check
    assert "RT_MANIFEST dpiAware: the manifest declares no DPI awareness" in check["detail"]
    version = wine_version(_ctx(project, fyne_bin))
    if re.match(r"wine-[0-8]\.", version):
        assert check["status"] == "fail", check
        assert f"{version} has no bcryptprimitives.dll" in check["detail"], check
        assert check["hint"].startswith("run it under Wine >= 9"), check
        # The way out it names works: see the trixie-windows tests below.
        assert "`--fynecheck-os trixie-windows` runs package.windows" in check["hint"], check
    else:
        assert check["status"] == "warn", check
        assert "window 'Packaged'" in check["detail"], check
        assert "packaged.exe.manifest" in check["hint"], check
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_the_sample_packaged_in_a_trixie_windows_container_shows_its_window_under_wine_10(
    pytester: pytest.Pytester, tmp_path: Path, fyne_bin: Path,  # noqa: F811
) -> None:
    """`--fynecheck-os trixie-windows`: the container (network none) gets the kit's static
    build of this machine's fyne CLI, packs a copy there, the host reads the .exe with
    pefile, and the suite's Wine 10 shows it (Debian 12's Wine 8 cannot: the host test)."""
    project = _copy(tmp_path / "packaged")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    # The title, as fixtures/packaged/pytest.ini sets it (pytester's rootdir is elsewhere):
    # without one the Wine desktop's own window would do.
    run = run_fynecheck(pytester, project, "--fynecheck-os=trixie-windows", "-k",
                        "package.windows", "-o", "fynecheck_window_title=Packaged",
                        env=_path(fyne_bin))
    check = next(c for c in run.report["checks"] if c["id"] == "package.windows")
    assert check["os"] == "trixie-windows", check
    assert check["status"] == "warn", check  # only the template manifest's DPI warning
    assert ("Packaged.exe: GUI subsystem; icon 256x256 matches Icon.png (mean difference "
            "0.0/255 at 64x64); VERSIONINFO ProductName 'Packaged' FileVersion 1.0.0.1"
            ) in check["detail"], check
    assert "fyne CLI v1.7.4 as on this machine, built static for Linux by the kit" in \
        check["detail"], check
    assert "window 'Packaged'" in check["detail"] and "under wine-10." in check["detail"], check
    # Wine starts the .exe detached: it is the app's by the run token it inherited.
    assert "carries the app's run token" in check["detail"], check
    assert "packaged.exe.manifest" in check["hint"], check
    shot = Path(check["artifacts"]["screenshot"])
    assert shot.name == "package-windows-trixie-windows.png", check
    frame = images.read_png(shot.read_bytes())
    assert frame.colours(64) >= 8 and min(frame.width, frame.height) >= 32, check
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


STALE_RC = """1 ICON "old.ico"
1 VERSIONINFO
FILEVERSION 0,9,0,0
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "ProductName", "OldName"
      VALUE "FileVersion", "0.9.0.0"
    END
  END
END
"""


@pytest.mark.slow
def test_a_stale_syso_in_the_project_is_named_in_the_trixie_windows_container(
    pytester: pytest.Pytester, tmp_path: Path, fyne_bin: Path,  # noqa: F811
) -> None:
    """A .syso left by rsrc or go-winres is linked beside the one `fyne package` writes:
    its icon and VERSIONINFO ship, not FyneApp.toml's, and the CLI says nothing. The
    suite path fails naming each field and the file to remove, before Wine."""
    project = _copy(tmp_path / "packaged")
    Image.new("RGBA", (64, 64), (200, 30, 30, 255)).save(tmp_path / "old.ico")
    (tmp_path / "old.rc").write_text(STALE_RC)
    subprocess.run(["x86_64-w64-mingw32-windres", "-O", "coff", "-o",  # binutils-mingw-w64
                    str(project / "rsrc_windows_amd64.syso"), "old.rc"],
                   cwd=tmp_path, check=True, timeout=60)
    run = run_fynecheck(pytester, project, "--fynecheck-os=trixie-windows", "-k",
                        "package.windows", env=_path(fyne_bin))
    check = next(c for c in run.report["checks"] if c["id"] == "package.windows")
    assert (check["os"], check["status"]) == ("trixie-windows", "fail"), check
    lines = check["detail"].splitlines()
    assert lines[0] == "Packaged.exe:", check
    assert [ln.split(":")[0] for ln in lines[1:4]] == ["RT_ICON", "FileVersion",
                                                       "ProductName"], check
    assert "FileVersion is '0.9.0.0'" in lines[2] and "'OldName'" in lines[3], check
    assert check["hint"].startswith("remove rsrc_windows_amd64.syso from "), check
    assert "window" not in check["detail"] and "screenshot" not in check["artifacts"], check


@pytest.mark.slow
def test_no_fyne_cli_here_fails_the_trixie_windows_package_saying_how_to_install_it(
    pytester: pytest.Pytester, tmp_path: Path,
) -> None:
    """The container's CLI is the kit's build of the version this machine's `fyne`
    reports: with none here there is nothing to match, and the check says so."""
    project = _copy(tmp_path / "packaged")
    run = run_fynecheck(pytester, project, "--fynecheck-os=trixie-windows", "-k",
                        "package.windows", env={"PATH": path_without("fyne", tmp=pytester.path)})
    check = next(c for c in run.report["checks"] if c["id"] == "package.windows")
    assert (check["os"], check["status"]) == ("trixie-windows", "fail"), check
    assert check["detail"].startswith("no fyne CLI on this machine's PATH"), check
    assert "go install fyne.io/tools/cmd/fyne@latest" in check["hint"], check
