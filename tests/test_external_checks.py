"""Checks written outside the kit, plugged in through the `pytest_fynecheck.checks`
entry-point group by a real distribution that pip installs.

tests/dists/acme-fynecheck is a company's own check (acme.gitignore: the project's
.gitignore covers the binary). It is installed into a fresh venv that sees this
environment's packages, and `python -m pytest --fynecheck` runs in that venv on a copy of
fixtures/hello. Broken distributions (a module that fails to import, a taken check id, an
unknown requirement) are built from the same files and installed with pip as well.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.sample import ROOT

from pytest_fynecheck.checks import ENTRY_POINTS, catalogue, external_checks, for_context
from pytest_fynecheck.package import PREFIX
from pytest_fynecheck.run.items import GL_MINIMUM

ACME = ROOT / "tests" / "dists" / "acme-fynecheck"
# Offline: setuptools (and wheel) of this environment build the distribution.
PIP_INSTALL = ["-m", "pip", "--quiet", "install", "--no-index", "--no-build-isolation"]
# Usage errors exit with pytest's USAGE_ERROR.
USAGE_ERROR = int(pytest.ExitCode.USAGE_ERROR)


def _pip_install(python: str, source: Path, scratch: Path, *args: str) -> None:
    # pip builds in the source tree (build/, *.egg-info): never in the repository's copy.
    work = scratch / f"{source.name}-build"
    shutil.copytree(source, work)
    subprocess.run([python, *PIP_INSTALL, *args, str(work)], check=True, timeout=300)


@pytest.fixture(scope="module")
def acme_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh venv that sees this environment's packages (pytest, the kit's dependencies),
    with acme-fynecheck installed into it; its python."""
    home = tmp_path_factory.mktemp("acme-venv")
    venv = [sys.executable, "-m", "venv", "--system-site-packages", str(home / "venv")]
    subprocess.run(venv, check=True, timeout=300)
    python = str(home / "venv" / "bin" / "python")
    _pip_install(python, ACME, home)
    return python


def _fynecheck(
    python: str, project: Path, *args: str, env: dict[str, str] | None = None, xdist: bool = False
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`python -m pytest --fynecheck` in the project, as a user runs it; its JSON report."""
    out = project.parent / "fynecheck.json"
    out.unlink(missing_ok=True)
    done = subprocess.run(
        [python, "-m", "pytest", "--fynecheck", f"--fynecheck-json={out}",
         "-p", "no:cacheprovider", *(("-n", "2") if xdist else ("-p", "no:xdist")), *args],
        cwd=project, capture_output=True, text=True, timeout=900,
        # The checkout's kit, wherever the installed one points.
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return done, report


def _collected(python: str, project: Path) -> list[str]:
    done, _ = _fynecheck(python, project, "--co", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    return [line.rpartition("::")[2] for line in done.stdout.splitlines() if "::" in line]


@pytest.mark.slow  # a venv and a pip install: seconds
def test_installed_check_runs_and_reports_like_a_builtin(acme_python: str, hello: Path) -> None:
    (hello / ".gitignore").write_text("# build output\n/hello\n")
    done, report = _fynecheck(acme_python, hello, "-v", "-k", "gomod or acme")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "::fynecheck::acme.gitignore PASSED" in done.stdout
    assert "[✓] acme.gitignore: .gitignore covers the built binary" in done.stdout
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["acme.gitignore"]["status"] == "ok"
    assert checks["acme.gitignore"]["detail"] == ".gitignore line '/hello' covers the binary hello"
    assert checks["project.gomod"]["status"] == "ok"  # its requires= names a built-in
    assert report["ready"] is True
    # xdist's workers each load the group: they collect the same items, and the check runs.
    done, report = _fynecheck(acme_python, hello, "-k", "gomod or acme", xdist=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [(c["id"], c["status"]) for c in report["checks"]] == [
        ("project.gomod", "ok"), ("acme.gitignore", "ok")
    ]

    # The result is the check's own finding: without the line, it fails with its hint.
    (hello / ".gitignore").write_text("*.log\n")
    done, report = _fynecheck(acme_python, hello, "-v", "-k", "gomod or acme")
    assert done.returncode == 1, done.stdout + done.stderr
    (failed,) = [c for c in report["checks"] if c["id"] == "acme.gitignore"]
    assert failed["status"] == "fail"
    assert failed["detail"] == (
        f"{hello / '.gitignore'} does not cover hello, the binary `go build` writes here"
    )
    assert failed["hint"] == f"add /hello to {hello / '.gitignore'}"
    assert report["ready"] is False  # a required check, as the kit's own
    assert "::fynecheck::acme.gitignore FAILED" in done.stdout


@pytest.mark.slow  # a venv and a pip install: seconds
def test_items_with_and_without_the_entry_point(acme_python: str, hello: Path) -> None:
    # Planned for hello: not package.* (it has no FyneApp.toml), not the opt-in gl.minimum*.
    builtins = [i for i, c in for_context("linux").items()
                if c.run.__module__.startswith("pytest_fynecheck.checks.")
                and not i.startswith((PREFIX, GL_MINIMUM))]
    # This environment has no external checks: its run is the kit's alone, unchanged.
    assert not importlib.metadata.entry_points(group=ENTRY_POINTS)
    assert external_checks() == {}
    assert all(c.run.__module__.startswith("pytest_fynecheck.") for c in catalogue().values())
    assert _collected(sys.executable, hello) == builtins
    # Installed: the external check comes after the built-ins, as one more item.
    assert _collected(acme_python, hello) == [*builtins, "acme.gitignore"]


# What breaks: (the module's text, what it becomes, what the usage error says after "from").
BROKEN = {
    "import": (
        "from fnmatch import fnmatch\n",
        "import acme_fynecheck_missing_dependency\nfrom fnmatch import fnmatch\n",
        "external checks from {origin} failed to import: ModuleNotFoundError: "
        "No module named 'acme_fynecheck_missing_dependency'",
    ),
    "taken-id": (
        '"acme.gitignore",\n',
        '"go.version",\n',
        "external checks from {origin} adds a check id that is taken: DuplicateCheck: "
        "check id 'go.version' registered twice: by pytest_fynecheck.checks.go.go_version and "
        "acme_fynecheck.gitignore_covers_binary",
    ),
    "unknown-requires": (
        'requires=("project.gomod",)',
        'requires=("project.gomod", "acme.nothing")',
        "check 'acme.gitignore' from {origin} requires unknown check(s) acme.nothing; "
        "known: go.version, ",
    ),
    "unknown-target": (
        'requires=("project.gomod",)',
        'requires=("project.gomod",), targets=("linux", "macos")',
        "check 'acme.gitignore' from {origin} names unknown target(s) macos; "
        "known: linux, windows",
    ),
}


# The catalogue asked twice in one process: both refusals, and the external ids left in it.
TWICE = """
import json, pytest
from pytest_fynecheck import checks
said = []
for _ in range(2):
    try:
        checks.catalogue()
    except pytest.UsageError as exc:
        said.append(str(exc))
print(json.dumps([*said, [i for i in checks.CATALOGUE if i.startswith("acme.")]]))
"""


def _broken(kind: str, at: Path) -> Path:
    """acme-fynecheck with one thing broken, as a distribution of its own name."""
    src = at / f"acme-broken-{kind}"
    shutil.copytree(ACME, src)
    module, (old, new, _) = src / "acme_fynecheck.py", BROKEN[kind]
    text = module.read_text()
    assert text.count(old) == 1, f"{kind}: the module no longer has what the test edits"
    module.write_text(text.replace(old, new))
    meta = src / "pyproject.toml"
    meta.write_text(meta.read_text().replace('name = "acme-fynecheck"', 'name = "acme-broken"'))
    return src


@pytest.mark.slow  # pip installs: seconds
@pytest.mark.parametrize("kind", list(BROKEN))
def test_broken_external_check_is_a_usage_error_naming_it(
    kind: str, hello: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    _pip_install(sys.executable, _broken(kind, tmp_path), tmp_path,
                 "--no-deps", "--target", str(site))
    origin = (
        "acme-broken 1.0.0 (entry point acme = 'acme_fynecheck' in group "
        "pytest_fynecheck.checks)"
    )
    path = {"PYTHONPATH": f"{ROOT}{os.pathsep}{site}"}
    for xdist in (False, True):  # under xdist the controller stops it, before workers
        done, report = _fynecheck(sys.executable, hello, env=path, xdist=xdist)
        assert done.returncode == USAGE_ERROR, done.stdout + done.stderr
        assert report == {}
        assert "Traceback" not in done.stdout + done.stderr
        assert f"ERROR: fynecheck: {BROKEN[kind][2].format(origin=origin)}" in done.stderr
    # Asked again in the same process, the catalogue stays refused, none of it half there.
    again = subprocess.run([sys.executable, "-c", TWICE], env={**os.environ, **path},
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    first, second, left = json.loads(again.stdout)
    assert first == second
    assert first.startswith(f"fynecheck: {BROKEN[kind][2].format(origin=origin)}")
    assert left == []
