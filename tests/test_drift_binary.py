"""Reading binaries: the `go version -m` oracle, NOTES §5.7 (buildid, strip,
cross-compiling), the embed table without symbols, bundles, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from support.drift import MODES, build, copy_repo, host, make_other, make_repo, run
from support.sample import HELLO, MODULE

from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.core.report import DRIFT_WORDS
from pytest_fynecheck.drift import check, probe


@pytest.fixture(scope="module")
def hello_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(HELLO, tmp_path_factory.mktemp("drift-bin") / "hello")


@pytest.fixture(scope="module")
def other_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_other(tmp_path_factory.mktemp("drift-other") / "other")


def _inspect(repo: Path, binary: Path) -> dict[str, Any]:
    req = {
        "packages": [{"import_path": MODULE, "names": ["assets/greeting.txt"]}],
        "contents": [],
        "data_max": 0,
    }
    return probe.inspect(host(repo), binary, req, symbols=True)


@pytest.mark.parametrize("mode", list(MODES))
def test_buildinfo_equals_go_version_m(mode: str, hello_repo: Path) -> None:
    """`go version -m -json` is the oracle for what the binary records."""
    binary = build(hello_repo, MODES[mode])
    oracle = json.loads(run(hello_repo, ["go", "version", "-m", "-json", str(binary)]))
    assert _inspect(hello_repo, binary)["buildinfo"] == oracle


def test_embed_table_found_without_symbols_is_the_symbols_table(hello_repo: Path) -> None:
    with_syms = _inspect(hello_repo, build(hello_repo, MODES["default"]))
    stripped = _inspect(hello_repo, build(hello_repo, MODES["sw"]))
    assert with_syms["symbols"] is True
    assert stripped["symbols"] is False
    tables = with_syms["tables"]
    # The scan by name lands on the table the compiler's symbol names.
    assert tables[0]["symbol"] == "main.embedded.files"
    assert [f["name"] for f in tables[0]["files"]] == ["assets/greeting.txt", "assets/style.json"]
    assert _without_ids(stripped["tables"]) == _without_ids(tables)


def test_one_binary_inspected_at_once_by_two_checks(hello_repo: Path) -> None:
    """web.serve and web.drift read the same .wasm at once. Fails before: the request
    file was named by pid and binary, so one call removed the other's ("cannot read
    the request")."""
    from concurrent.futures import ThreadPoolExecutor

    binary = build(hello_repo, MODES["default"])
    ctx = host(hello_repo)
    probe.probe_path(ctx)  # built once, before the race
    req: dict[str, Any] = {"packages": [], "contents": [], "data_max": 0}
    with ThreadPoolExecutor(4) as pool:  # one context, as a run's checks share theirs
        got = list(pool.map(lambda _: probe.inspect(ctx, binary, req)["buildinfo"], range(16)))
    assert len(got) == 16 and all(g == got[0] for g in got)


def _without_ids(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in t.items() if k not in ("symbol", "addr")} for t in tables]


# NOTES §5.7 claims build info vanishes with -buildid= and when cross-compiling. Decide it:
# each of these keeps build info and the embed table (non-cgo module: cheap to cross-build).
CLAIM_57 = {
    "buildid-empty": (("-ldflags=-buildid=",), {}),
    "s-w": (("-ldflags=-s -w",), {}),
    "windows-pe": ((), {"GOOS": "windows", "GOARCH": "amd64"}),
    "windows-pe-s-w": (("-ldflags=-s -w",), {"GOOS": "windows", "GOARCH": "amd64"}),
    "darwin-macho": ((), {"GOOS": "darwin", "GOARCH": "arm64"}),
}


@pytest.mark.parametrize("variant", list(CLAIM_57))
def test_claim_5_7_build_info_survives(variant: str, other_repo: Path) -> None:
    flags, env = CLAIM_57[variant]
    binary = build(other_repo, flags, {"CGO_ENABLED": "0", **env}, name="other")
    report = check(host(other_repo), binary)
    assert report.verdicts() == {
        "deps": "match",
        "vcs.revision": "match",
        "vcs.modified": "match",
        "embed": "match",
    }, report.text()
    shown = dict(report.build)
    assert shown["GOOS/GOARCH"] == f"{env.get('GOOS', 'linux')}/{env.get('GOARCH', 'amd64')}"
    assert shown["format"] == {"windows": "pe", "darwin": "macho"}.get(env.get("GOOS", ""), "elf")
    if env:
        assert "read without running it; this host is linux/amd64" in shown["note"]


def test_claim_5_7_strip_keeps_build_info_removing_the_section_kills_it(
    other_repo: Path, tmp_path: Path
) -> None:
    binary = build(other_repo, (), {"CGO_ENABLED": "0"}, name="other")
    stripped = tmp_path / "stripped"
    run(tmp_path, ["strip", "-o", str(stripped), str(binary)])
    assert set(check(host(other_repo), stripped).verdicts().values()) == {"match"}
    gone = tmp_path / "no-buildinfo"
    run(tmp_path, ["objcopy", "--remove-section", ".go.buildinfo", str(binary), str(gone)])
    with pytest.raises(InputError, match="is not a Go program: it has no Go build info"):
        check(host(other_repo), gone)


def test_no_vcs_is_unknown_with_the_reason(other_repo: Path) -> None:
    binary = build(other_repo, ("-buildvcs=false",), {"CGO_ENABLED": "0"}, name="other")
    report = check(host(other_repo), binary)
    for aspect in ("vcs.revision", "vcs.modified"):
        assert DRIFT_WORDS[report[aspect].status] == "unknown"
        assert "-buildvcs=false" in report[aspect].title
    assert DRIFT_WORDS[report["embed"].status] == "match"


def test_project_not_a_git_repository(other_repo: Path, tmp_path: Path) -> None:
    binary = build(other_repo, (), {"CGO_ENABLED": "0"}, name="other")
    plain = tmp_path / "plain"
    shutil.copytree(other_repo, plain, ignore=shutil.ignore_patterns(".git"))
    report = check(host(plain), binary)
    for aspect in ("vcs.revision", "vcs.modified"):
        assert DRIFT_WORDS[report[aspect].status] == "unknown"
        assert f"project {plain} is not a git repository" in report[aspect].title
    assert DRIFT_WORDS[report["embed"].status] == "match"
    assert DRIFT_WORDS[report["deps"].status] == "match"


def test_bad_inputs_each_name_the_input(hello_repo: Path, other_repo: Path, tmp_path: Path) -> None:
    hello = build(hello_repo, MODES["sw"])
    other = build(other_repo, (), {"CGO_ENABLED": "0"}, name="other")
    truncated = tmp_path / "truncated"
    truncated.write_bytes(hello.read_bytes()[: 4 << 20])
    damaged = tmp_path / "damaged"
    raw = bytearray(hello.read_bytes())
    at = raw.index(b"\xff Go buildinf:")
    raw[at + 16 : at + 64] = b"\xff" * 48
    damaged.write_bytes(bytes(raw))
    newer = tmp_path / "newer"
    newer.write_bytes(other.read_bytes().replace(b"go1.26.8", b"go1.99.8"))
    text = tmp_path / "notes.txt"
    text.write_text("not a program\n")
    cases = {
        Path("/bin/ls"): "/bin/ls is not a Go program: it has no Go build info",
        text: f"{text} is not an executable (not ELF, PE, Mach-O or WebAssembly",
        truncated: f"{truncated} is truncated or corrupt",
        damaged: f"{damaged} is truncated or corrupt ({damaged.stat().st_size} bytes): its Go "
        "build info block is there but damaged",
        other: f"was built from example.com/other (package example.com/other); this project "
        f"({hello_repo}) is {MODULE}",
        tmp_path / "missing": f"{tmp_path / 'missing'}: no such file",
    }
    if run(hello_repo, ["go", "env", "GOVERSION"]).strip() == "go1.26.8":
        cases[newer] = f"{newer} was built with go1.99.8, newer than this host's Go (go1.26.8)"
    for binary, message in cases.items():
        with pytest.raises(InputError) as info:
            check(host(hello_repo), binary)
        assert message in str(info.value), binary
        assert str(info.value).startswith(str(binary))
        assert "Traceback" not in str(info.value)


OLD_BUNDLE = """// Code generated by fyne bundle. DO NOT EDIT.

package main

import "fyne.io/fyne/v2"

var resourceLogoTxt = &fyne.StaticResource{
\tStaticName: "logo.txt",
\tStaticContent: []byte("logo v1\\n"),
}
"""

NEW_BUNDLE = """// Code generated by fyne bundle. DO NOT EDIT.

package main

import (
\t_ "embed"

\t"fyne.io/fyne/v2"
)

//go:embed logo.svg
var resourceLogoSvgData []byte
var resourceLogoSvg = &fyne.StaticResource{
\tStaticName:    "logo.svg",
\tStaticContent: resourceLogoSvgData,
}
"""


def test_bundle_old_style_goes_stale_new_style_is_the_source(
    hello_repo: Path, tmp_path: Path
) -> None:
    binary = build(hello_repo, MODES["sw"])
    repo = copy_repo(hello_repo, tmp_path / "hello")
    (repo / "bundled.go").write_text(OLD_BUNDLE)
    (repo / "logo.txt").write_text("logo v1\n")
    bundle = check(host(repo), binary)["bundle"]
    assert DRIFT_WORDS[bundle.status] == "match", bundle
    assert any(f"matches {repo / 'logo.txt'}" in line for line in bundle.detail.splitlines())

    (repo / "logo.txt").write_text("logo v2, edited after fyne bundle ran\n")
    bundle = check(host(repo), binary)["bundle"]
    assert DRIFT_WORDS[bundle.status] == "drift"
    assert "resourceLogoTxt (logo.txt): bundled 8 B" in bundle.detail

    (repo / "bundled.go").write_text(NEW_BUNDLE)
    (repo / "logo.svg").write_text("<svg/>\n")
    report = check(host(repo), binary)
    assert DRIFT_WORDS[report["bundle"].status] == "match"
    assert "go:embed logo.svg" in report["bundle"].detail
    # The binary predates the bundle: its bytes are not in it, and the embed aspect says so.
    assert DRIFT_WORDS[report["embed"].status] == "drift"
    assert f"{MODULE} logo.svg" in report["embed"].detail


@pytest.mark.slow  # a cold cgo cross-build of Fyne takes minutes, once per Go cache
def test_windows_cgo_fyne_binary_is_read_without_running(hello_repo: Path) -> None:
    """GOOS=windows via mingw-w64: a PE Fyne binary, listed with its own GOOS."""
    cc = shutil.which("x86_64-w64-mingw32-gcc")
    if cc is None:
        pytest.skip("not decided here: apt-get install gcc-mingw-w64-x86-64 to build for Windows")
    env = {"GOOS": "windows", "GOARCH": "amd64", "CGO_ENABLED": "1", "CC": cc}
    binary = build(hello_repo, (), env, name="app.exe")
    report = check(host(hello_repo), binary)
    assert set(report.verdicts().values()) == {"match"}, report.text()
    shown = dict(report.build)
    assert (shown["GOOS/GOARCH"], shown["format"]) == ("windows/amd64", "pe")
    # The source side is listed for windows too, so its module set differs from Linux.
    linux = check(host(hello_repo), build(hello_repo, MODES["default"]))
    assert report["deps"].title != linux["deps"].title
