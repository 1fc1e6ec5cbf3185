"""Issue 22 item 13: when Go stops, the hint names the real cause. An unusable build cache
or work directory names the variable that placed it, with its value (not "fix the Go
installation"); a path outside the module or workspace is not "run `go mod tidy`"."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.sample import MODULE


@pytest.fixture
def not_a_dir(tmp_path: Path) -> Path:
    """A path below a regular file: no one can make a directory there."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return blocker / "sub"


@pytest.mark.parametrize(
    ("var", "unset", "placed"),
    [
        ("GOCACHE", (), ""),
        ("XDG_CACHE_HOME", ("GOCACHE",), "/go-build"),
        ("HOME", ("GOCACHE", "XDG_CACHE_HOME"), "/.cache/go-build"),
    ],
)
def test_an_unusable_build_cache_names_its_variable(
    pytester: pytest.Pytester, hello: Path, not_a_dir: Path, var: str,
    unset: tuple[str, ...], placed: str,
) -> None:
    run = run_fynecheck(pytester, hello, "-k", "go.env or project.gomod",
                        env={var: str(not_a_dir)}, unset=unset)
    assert run.ret == 1, run
    for check_id in ("go.env", "project.gomod"):
        found = run.checks[check_id]
        assert found["status"] == "fail", found
        assert f"failed to initialize build cache at {not_a_dir}{placed}" in found["detail"]
        hint = found["hint"]
        assert f"Go's build cache {not_a_dir}{placed} is not usable" in hint, hint
        assert f"it comes from {var}={not_a_dir}" in hint, hint
        assert "Go installation" not in hint and "go mod tidy" not in hint, hint


def test_an_unusable_tmpdir_names_it(pytester: pytest.Pytester, hello: Path) -> None:
    missing = pytester.path / "no-such-tmp"
    run = run_fynecheck(pytester, hello, "-k", "go.env", env={"TMPDIR": str(missing)})
    assert run.ret == 1, run
    found = run.checks["go.env"]
    assert "creating work dir" in found["detail"], found
    assert found["hint"].startswith(
        f"Go makes its work directory in TMPDIR={missing}, which is not usable (stat "
    ), found["hint"]
    assert "Go installation" not in found["hint"]


def test_a_module_outside_the_workspace_is_not_go_mod_tidy(
    pytester: pytest.Pytester, hello: Path
) -> None:
    """A go.work above the app that lists another module: Go will not build the app."""
    other = hello.parent / "other"
    other.mkdir()
    (other / "go.mod").write_text("module example.com/other\n\ngo 1.24\n")
    (hello.parent / "go.work").write_text("go 1.24\n\nuse ./other\n")
    run = run_fynecheck(pytester, hello, "-k", "project.gomod")
    assert run.ret == 1, run
    found = run.checks["project.gomod"]
    assert "does not contain modules listed in go.work" in found["detail"], found
    assert found["hint"].startswith(f"{hello} is in no module of the workspace"), found
    assert "`go work use .`" in found["hint"] and "go mod tidy" not in found["hint"]


@pytest.mark.parametrize(
    ("package", "said", "hint"),
    [
        ("../outside", "outside main module", "../outside is outside the project's module"),
        (f"{MODULE}/nope", "no required module provides package",
         f"{MODULE}/nope is not a package of the module {MODULE}"),
    ],
)
def test_a_package_path_outside_the_module_says_so(
    pytester: pytest.Pytester, hello: Path, package: str, said: str, hint: str
) -> None:
    outside = hello.parent / "outside"
    outside.mkdir()
    (outside / "main.go").write_text("package main\n\nfunc main() {}\n")
    run = run_fynecheck(pytester, hello, "-k", "app.build", "-o",
                        f"fynecheck_package={package}")
    assert run.ret == 1, run
    found = run.checks["app.build"]
    assert said in found["detail"], found
    assert found["hint"].startswith(hint), found["hint"]
    assert "go mod tidy" not in found["hint"] and "go get" not in found["hint"]
