"""The web target's build side for real: js/wasm builds of the sample app and of a cgo-only
sample, the site (index.html, the toolchain's wasm_exec.js, app.wasm), wasm_exec.js found
and compared, and drift on a .wasm (issue 24)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import FynecheckRun, path_without, run_fynecheck
from support.drift import MODES, build, copy_repo, host, make_other, make_repo, run
from support.env import cache
from support.sample import HELLO, MODULE, ROOT

from pytest_fynecheck.checks import Found
from pytest_fynecheck.checks.web import web_build, web_drift
from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed, InputError, Result, Status
from pytest_fynecheck.drift import probe
from pytest_fynecheck.web import WEB_ENV
from pytest_fynecheck.web.build import make_site
from pytest_fynecheck.web.excluded import excluded_packages, only_exclusions
from pytest_fynecheck.web.wasmexec import compare_wasm_exec, find_wasm_exec

WEBCGO = ROOT / "fixtures" / "webcgo"
GOROOT_JS = "lib/wasm/wasm_exec.js"
# A toolchain GOTOOLCHAIN fetches as a module; before Go 1.24 such a GOROOT has no misc/.
OLD_GO = "go1.22.12"
OTHER_GO = "go1.24.13"
FYNE_CLI = "fyne.io/tools/cmd/fyne@v1.7.4"


def _web_ctx(project: Path, scratch: Path, **env: str) -> Context:
    ctx = Context(project, scratch, cache(), timeout=900)
    ctx.name = "web"
    ctx.environ.update({**WEB_ENV, **env})
    return ctx


def _check(run_: FynecheckRun, check_id: str, where: str = "web") -> dict[str, Any]:
    found = [c for c in run_.report.get("checks", []) if c["id"] == check_id and c["os"] == where]
    assert len(found) == 1, (check_id, where, run_)
    check: dict[str, Any] = found[0]
    return check


def _goroot() -> Path:
    return Path(run(HELLO, ["go", "env", "GOROOT"]).strip())


def test_hello_builds_for_the_web_and_its_wasm_matches_the_tree(
    pytester: pytest.Pytester, hello: Path, tmp_path: Path
) -> None:
    no_fyne = {"PATH": path_without("fyne", tmp=tmp_path)}
    run_ = run_fynecheck(pytester, hello, "--fynecheck-os=web", "-k", "web.build or web.drift",
                         env=no_fyne)
    built = _check(run_, "web.build")
    assert built["status"] == "ok", run_
    sizes = re.search(r"app\.wasm (\d+\.\d) MB raw, (\d+\.\d) MB gzipped", built["detail"])
    assert sizes, built
    site = Path(built["artifacts"]["site"])
    wasm = Path(built["artifacts"]["binary"])
    assert wasm == site / "app.wasm"
    data = wasm.read_bytes()
    assert data[:4] == b"\0asm"
    # The sizes shown are this file's (gzip -6 and Python's zlib make the same stream).
    assert sizes[1] == f"{len(data) / 1e6:.1f}"
    assert sizes[2] == f"{len(gzip.compress(data, 6)) / 1e6:.1f}"
    # The toolchain's own wasm_exec.js, byte for byte, and a page that runs the .wasm.
    assert (site / "wasm_exec.js").read_bytes() == (_goroot() / GOROOT_JS).read_bytes()
    page = (site / "index.html").read_text()
    for needed in ('src="wasm_exec.js"', "new Go()", 'fetch("app.wasm")', "go.run("):
        assert needed in page, page
    said = "`go build` for js/wasm: no fyne CLI on PATH packs for the browser"
    assert said in built["detail"], built
    drift = _check(run_, "web.drift")
    assert drift["status"] == "ok", drift
    assert "GOOS/GOARCH=js/wasm" in drift["detail"] and "format=wasm" in drift["detail"]
    assert "[✓] drift embed: match: 2 embedded file(s) match the disk" in drift["detail"]
    assert "[✓] drift deps: match" in drift["detail"]


CGO_CHAIN = (
    "example.com/webcgo/internal/native is excluded for js/wasm (it needs cgo, which "
    'js/wasm does not have: native.go imports "C"); imported by main '
    "(example.com/webcgo) → example.com/webcgo/internal/gui → "
    "example.com/webcgo/internal/native"
)


@pytest.mark.slow
def test_hello_builds_and_matches_its_tree_in_a_suite_container(
    pytester: pytest.Pytester, hello: Path
) -> None:
    """SUITE-web: the build, the site and the drift probe through the container's own
    commands (its Go, its GOCACHE volume; the kit's cache mounted)."""
    run_ = run_fynecheck(pytester, hello, "--fynecheck-os=bookworm-web", "-k",
                         "web.build or web.drift")
    built = _check(run_, "web.build", "bookworm-web")
    assert built["status"] == "ok", run_
    site = Path(built["artifacts"]["site"])
    assert {p.name for p in site.iterdir()} >= {"index.html", "wasm_exec.js", "app.wasm"}
    assert (site / "wasm_exec.js").read_bytes() == (_goroot() / GOROOT_JS).read_bytes()
    drift = _check(run_, "web.drift", "bookworm-web")
    assert drift["status"] == "ok", drift
    assert "[✓] drift embed: match: 2 embedded file(s) match the disk" in drift["detail"]


def test_a_cgo_only_import_fails_web_build_naming_the_package_and_its_chain(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    project = tmp_path / "webcgo"
    shutil.copytree(WEBCGO, project)
    run_ = run_fynecheck(pytester, project, "--fynecheck-os=web", "-k",
                         "web.build or app.build or project.gomod",
                         env={"PATH": path_without("fyne", tmp=tmp_path)})
    built = _check(run_, "web.build")
    assert built["status"] == "fail", run_
    assert built["detail"].splitlines()[0] == CGO_CHAIN, built
    assert "remove the import of example.com/webcgo/internal/native" in built["hint"]
    # go.mod is not what is wrong: project.gomod passes, saying the build check names it.
    gomod = _check(run_, "project.gomod")
    assert gomod["status"] == "ok" and "build constraints exclude" in gomod["detail"], gomod
    # The same sample builds natively (cgo on): the web target alone excludes it.
    native = _check(run_, "app.build", "host")
    assert native["status"] == "ok", native


def test_a_package_for_other_systems_is_named_with_its_constraint(tmp_path: Path) -> None:
    """Not only cgo: a package whose files are all `//go:build linux` is named with that."""
    mod = tmp_path / "tags"
    (mod / "lin").mkdir(parents=True)
    (mod / "go.mod").write_text("module example.com/tags\n\ngo 1.22\n")
    (mod / "main.go").write_text('package main\n\nimport "example.com/tags/lin"\n\n'
                                 "func main() { lin.F() }\n")
    (mod / "lin" / "lin.go").write_text("//go:build linux\n\npackage lin\n\nfunc F() {}\n")
    found = excluded_packages(_web_ctx(mod, tmp_path), ".", "example.com/tags")
    assert [e.text("js/wasm") for e in found] == [
        "example.com/tags/lin is excluded for js/wasm (its files build only where `linux`); "
        "imported by main (example.com/tags) → example.com/tags/lin"
    ]


def test_only_exclusions_tells_them_from_other_go_errors() -> None:
    excluded = ("package example.com/a\n\timports example.com/b\n\timports example.com/c: "
                "build constraints exclude all Go files in /x/c\n")
    assert only_exclusions(excluded)
    # A go.sum problem beside it is go.mod's to report: project.gomod must still fail.
    assert not only_exclusions(excluded + "main.go:4:2: missing go.sum entry for module "
                               "providing package example.com/d\n")
    assert not only_exclusions("")


def test_a_goroot_without_wasm_exec_names_every_path_looked_in(tmp_path: Path) -> None:
    """A copy of GOROOT (a symlink farm) with lib/wasm gone, pointed at by GOROOT."""
    real = _goroot()
    fake = tmp_path / "goroot"
    fake.mkdir()
    for entry in real.iterdir():
        if entry.name != "lib":
            (fake / entry.name).symlink_to(entry)
    (fake / "lib").mkdir()
    for entry in (real / "lib").iterdir():
        if entry.name != "wasm":
            (fake / "lib" / entry.name).symlink_to(entry)
    ctx = _web_ctx(tmp_path, tmp_path, GOROOT=str(fake))
    with pytest.raises(CheckFailed) as caught:
        find_wasm_exec(ctx)
    detail = caught.value.detail
    assert f"at GOROOT {fake} has no wasm_exec.js" in detail, detail
    assert f"looked in {fake / GOROOT_JS} and {fake / 'misc/wasm/wasm_exec.js'}" in detail
    assert find_wasm_exec(_web_ctx(tmp_path, tmp_path)) == real / GOROOT_JS


def test_a_pre_1_24_module_toolchain_has_no_wasm_exec_and_it_is_said(tmp_path: Path) -> None:
    """GOTOOLCHAIN's module of Go 1.22 has no misc/: the old place is looked in first."""
    ctx = _web_ctx(tmp_path, tmp_path, GOTOOLCHAIN=OLD_GO)
    with pytest.raises(CheckFailed) as caught:
        find_wasm_exec(ctx)
    detail = caught.value.detail
    assert re.search(rf"{OLD_GO} at GOROOT \S+toolchain@v0\.0\.1-{OLD_GO}\S+ has no "
                     r"wasm_exec\.js: looked in \S+/misc/wasm/wasm_exec\.js and "
                     r"\S+/lib/wasm/wasm_exec\.js", detail), detail


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small js/wasm program's site, made as web.build makes one, copied out of the cache
    (the tests edit it)."""
    tmp = tmp_path_factory.mktemp("web-site")
    repo = make_other(tmp / "other")
    wasm = build(repo, (), WEB_ENV, name="app.wasm")
    site = make_site(_web_ctx(repo, tmp), wasm, "other")
    copy = tmp / "site"
    shutil.copytree(site.dir, copy)
    return copy


def test_the_sites_wasm_exec_is_the_one_of_the_go_that_built_it(
    tiny_site: Path, tmp_path: Path
) -> None:
    ctx = _web_ctx(tmp_path, tmp_path)
    version = run(HELLO, ["go", "env", "GOVERSION"]).strip()
    said = compare_wasm_exec(ctx, tiny_site)
    assert said == (f"{tiny_site / 'wasm_exec.js'} is {version}'s wasm_exec.js "
                    f"({_goroot() / GOROOT_JS}), the Go that built app.wasm"), said


def test_another_versions_wasm_exec_is_a_mismatch_naming_both(
    tiny_site: Path, tmp_path: Path
) -> None:
    """An edited copy stands for another release's file (the glue changes between them)."""
    site = tmp_path / "site"
    shutil.copytree(tiny_site, site)
    served = site / "wasm_exec.js"
    served.write_text(served.read_text().replace("globalThis.Go = class {",
                                                 "globalThis.Go = class { // go1.20"))
    version = run(HELLO, ["go", "env", "GOVERSION"]).strip()
    with pytest.raises(CheckFailed) as caught:
        compare_wasm_exec(_web_ctx(tmp_path, tmp_path), site)
    reference = _goroot() / GOROOT_JS
    detail = caught.value.detail
    assert detail.startswith(f"{served} (") and "is not the wasm_exec.js of " in detail
    assert f"of {version}, which built app.wasm: that is {reference} (" in detail, detail
    assert caught.value.hint == f"copy the right file: cp {reference} {served}"


def test_a_wasm_built_by_another_go_is_compared_with_that_gos_file(tmp_path: Path) -> None:
    """A .wasm built by Go 1.24 (GOTOOLCHAIN, as a fyne CLI built with it would) is held to
    Go 1.24's wasm_exec.js, found through that toolchain, not to this context's Go."""
    repo = make_other(tmp_path / "other")
    wasm = build(repo, (), {**WEB_ENV, "GOTOOLCHAIN": OTHER_GO}, name="app.wasm")
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(wasm, site / "app.wasm")
    ctx = _web_ctx(tmp_path, tmp_path)
    other = find_wasm_exec(ctx, {"GOTOOLCHAIN": OTHER_GO})
    assert f"toolchain@v0.0.1-{OTHER_GO}" in str(other), other
    shutil.copy(other, site / "wasm_exec.js")
    said = compare_wasm_exec(ctx, site)
    assert said.startswith(f"{site / 'wasm_exec.js'} is {OTHER_GO}'s wasm_exec.js ({other})")
    (site / "wasm_exec.js").write_text("// not Go's\n")
    with pytest.raises(CheckFailed) as caught:
        compare_wasm_exec(ctx, site)
    assert f"of {OTHER_GO}, which built app.wasm: that is {other}" in caught.value.detail


def test_wasm_build_info_is_what_go_records_for_the_same_build_natively(tmp_path: Path) -> None:
    """`go version -m` cannot read a .wasm (Go's wasm linker leaves the block out), so the
    oracle is the same tree built for linux: everything but the target is the same."""
    repo = make_other(tmp_path / "other")
    wasm = build(repo, MODES["release"], WEB_ENV, name="app.wasm")
    native = build(repo, MODES["release"])
    oracle = json.loads(run(repo, ["go", "version", "-m", "-json", str(native)]))
    request = {"packages": [], "contents": [], "data_max": 0}
    seen = probe.inspect(_web_ctx(repo, tmp_path), wasm, request)
    assert seen["format"] == "wasm" and seen["ptr_size"] == 8
    info = seen["buildinfo"]
    target = {"GOOS", "GOARCH", "CGO_ENABLED", "GOAMD64"}
    assert {s["Key"]: s["Value"] for s in info["Settings"] if s["Key"] in target} == {
        "GOOS": "js", "GOARCH": "wasm", "CGO_ENABLED": "0"}

    def rest(bi: dict[str, object]) -> dict[str, object]:
        return {**bi, "Settings": [s for s in bi["Settings"]  # type: ignore[attr-defined]
                                   if s["Key"] not in target]}

    assert rest(info) == rest(oracle)
    direct = host(repo).run(["go", "version", "-m", str(wasm)], timeout=300)
    if direct.ok:  # a Go that reads .wasm build info is the oracle itself
        assert f"\tpath\t{info['Path']}" in direct.stdout
    else:
        assert "unrecognized file format" in direct.output, direct.output


def test_web_drift_names_an_embedded_file_edited_after_the_build(hello: Path) -> None:
    ctx = _web_ctx(hello, hello.parent)
    try:
        found = web_build(ctx, {})
        assert isinstance(found, Found)
        needs = {"web.build": Result("web.build", "", Status.OK, artifacts=found.artifacts)}
        assert "embed: match" in str(web_drift(ctx, needs))
        (hello / "assets" / "greeting.txt").write_text("Hello, edited after the build\n")
        with pytest.raises(CheckFailed) as caught:
            web_drift(ctx, needs)
    finally:
        ctx.close()
    detail = caught.value.detail
    assert f"changed: {MODULE} assets/greeting.txt: a reload shows 30 B" in detail, detail
    assert "+Hello, edited after the build" in detail and "-Hello from fynecheck!" in detail
    assert "[✗] drift embed: drift:" in detail
    assert caught.value.hint.startswith("rebuild the binary")


def test_fynecheck_binary_takes_a_wasm_with_the_native_report(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """`--fynecheck-binary app.wasm`: the same items and verdicts as for a native binary
    (tests/test_drift_plugin.py), vcs included (built with -buildvcs=true in a repo)."""
    template = make_repo(HELLO, tmp_path / "template")
    wasm = build(template, MODES["release"], WEB_ENV, name="app.wasm")
    project = copy_repo(template, tmp_path / "hello")
    args = ["--fynecheck", f"--fynecheck-binary={wasm}", f"--fynecheck-project={project}",
            "-k", "drift", "-p", "no:cacheprovider"]
    result = pytester.runpytest_subprocess(*args, timeout=900)
    result.assert_outcomes(passed=4, skipped=1)
    (project / "assets" / "greeting.txt").write_text("Hello, edited for reload\n")
    result = pytester.runpytest_subprocess(*args, "-rf", timeout=900)
    result.assert_outcomes(passed=2, failed=2, skipped=1)
    result.stdout.fnmatch_lines(
        ["FAILED *drift[[]vcs.modified[]]*", "FAILED *drift[[]embed[]]*"], consecutive=False
    )
    result.stdout.fnmatch_lines([f"*changed: {MODULE} assets/greeting.txt: a reload shows 25 B*"])
    result.stdout.fnmatch_lines(["*GOOS/GOARCH=js/wasm*format=wasm*"])


@pytest.fixture(scope="module")
def fyne_bin() -> Path:
    """fyne.io/tools' CLI, installed once into the kit's cache (not on the user's PATH:
    fyne.cli would see it) through the module proxy."""
    where = cache() / "test-tools" / FYNE_CLI.replace("/", "_").replace("@", "-")
    bin_dir = where / "bin"
    if not (bin_dir / "fyne").is_file():
        bin_dir.mkdir(parents=True, exist_ok=True)
        run(HELLO, ["go", "install", FYNE_CLI], {"GOBIN": str(bin_dir), "GOFLAGS": "-mod=mod"})
    return bin_dir


def _icon(path: Path) -> None:
    """A 16x16 opaque PNG: what `fyne package` wants as Icon.png."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\0" + bytes([47, 111, 223, 255]) * 16 for _ in range(16))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 6,
                                                                          0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_fyne_cli_packs_the_site_in_a_copy_of_the_project(
    pytester: pytest.Pytester, hello: Path, fyne_bin: Path
) -> None:
    """`fyne package -os wasm` is how users ship: used when the CLI is on PATH, in a copy
    (the user's tree gets no wasm/ directory), and its site holds what a browser needs."""
    _icon(hello / "Icon.png")
    before = sorted(p.relative_to(hello) for p in hello.rglob("*"))
    env = {"PATH": f"{fyne_bin}:{os.environ['PATH']}"}
    run_ = run_fynecheck(pytester, hello, "--fynecheck-os=web", "-k", "web.build or web.drift",
                         env=env)
    built = _check(run_, "web.build")
    assert built["status"] == "ok", run_
    assert re.match(r"\S+\.wasm \d+\.\d MB raw, \d+\.\d MB gzipped \(`fyne package -os wasm`, "
                    rf"fyne cli version: v1\.7\.4 at {re.escape(str(fyne_bin))}/fyne, in a copy",
                    built["detail"]), built
    site = Path(built["artifacts"]["site"])
    assert {"index.html", "wasm_exec.js"} <= {p.name for p in site.iterdir()}
    assert Path(built["artifacts"]["binary"]).read_bytes()[:4] == b"\0asm"
    assert sorted(p.relative_to(hello) for p in hello.rglob("*")) == before
    drift = _check(run_, "web.drift")
    assert drift["status"] == "ok", drift
    assert "[✓] drift embed: match: 2 embedded file(s) match the disk" in drift["detail"]


def test_a_project_the_fyne_cli_refuses_is_built_with_go_build_saying_why(
    pytester: pytest.Pytester, hello: Path, fyne_bin: Path
) -> None:
    """No Icon.png: `fyne package` stops; the project does not ship with the CLI, so the
    kit builds as `go build` does, and says why (not a silent switch)."""
    env = {"PATH": f"{fyne_bin}:{os.environ['PATH']}"}
    run_ = run_fynecheck(pytester, hello, "--fynecheck-os=web", "-k", "web.build", env=env)
    built = _check(run_, "web.build")
    assert built["status"] == "ok", run_
    assert ("(`go build` for js/wasm: fyne cli version: v1.7.4 is on PATH, but `fyne package` "
            "refuses this project: Missing application icon at") in built["detail"], built


def test_the_fyne_cli_build_of_a_cgo_only_import_is_named_the_same(
    pytester: pytest.Pytester, tmp_path: Path, fyne_bin: Path
) -> None:
    project = tmp_path / "webcgo"
    shutil.copytree(WEBCGO, project)
    _icon(project / "Icon.png")
    env = {"PATH": f"{fyne_bin}:{os.environ['PATH']}"}
    run_ = run_fynecheck(pytester, project, "--fynecheck-os=web", "-k", "web.build", env=env)
    built = _check(run_, "web.build")
    assert built["status"] == "fail", run_
    assert built["detail"].splitlines()[0] == CGO_CHAIN, built
    assert "`fyne package -os wasm` in a copy of the project" in built["detail"], built


def test_a_wasm_go_did_not_build_or_a_cut_one_is_bad_input_said_as_such(
    tiny_site: Path, tmp_path: Path
) -> None:
    """Never a build info made up: a WebAssembly module with no Go in it, and a cut .wasm."""
    ctx = _web_ctx(tmp_path, tmp_path)
    request: dict[str, object] = {"packages": [], "contents": [], "data_max": 0}
    empty = tmp_path / "empty.wasm"
    empty.write_bytes(b"\0asm\x01\0\0\0")  # a valid module with no sections
    with pytest.raises(InputError, match=r"empty\.wasm is not a Go program: it has no Go "
                       r"build info \(not a Go executable: no runtime\.modinfo"):
        probe.inspect(ctx, empty, request)
    cut = tmp_path / "cut.wasm"
    cut.write_bytes((tiny_site / "app.wasm").read_bytes()[: 1 << 20])
    with pytest.raises(InputError, match=r"cut\.wasm is truncated or corrupt \(1048576 bytes\): "
                       r"section \d+ at file offset \d+ runs past the end of the file"):
        probe.inspect(ctx, cut, request)
