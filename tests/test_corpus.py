"""Real Fyne apps nobody here wrote, fetched as Go modules through the module proxy at test
time (never committed), checked by the kit installed from a real wheel.

- fyne's own cmd/fyne_demo and cmd/hello: packages inside the fyne.io/fyne/v2 module, in
  the read-only module cache, where the kit must write nothing;
- fyne.io/x/fyne's cmd/fyne-x: a module of its own with many packages and several main
  packages (the root has none), chosen with ini fynecheck_package.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support.env import cache_env, module_dir
from support.sample import ROOT
from support.wheel import wheel_venv

from pytest_fynecheck.displays.images import read_png

FYNE = "fyne.io/fyne/v2@v2.7.1"
FYNE_X = "fyne.io/x/fyne@v0.0.0-20261007154834-b636b6d322fc"

# (module, project directory inside it, extra pytest arguments, a word the window shows)
CORPUS = {
    "fyne_demo": (FYNE, "cmd/fyne_demo", ()),
    "hello": (FYNE, "cmd/hello", ()),
    "fyne-x": (FYNE_X, "", ("-o", "fynecheck_package=./cmd/fyne-x")),
}
REQUIRED = (
    "go.version", "go.env", "cgo.enabled", "project.gomod", "cc.works", "pkgconfig.gl",
    "x11.libs", "display.x11", "gl.context", "app.build", "app.window",
)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """python of a venv with the kit's wheel installed: one per run, shared by xdist workers."""
    python = wheel_venv(tmp_path_factory.getbasetemp().parent / "shared")
    where = subprocess.run(
        [str(python), "-c", "import pytest_fynecheck; print(pytest_fynecheck.__file__)"],
        capture_output=True, text=True, check=True, timeout=60, cwd="/",
    ).stdout
    assert "site-packages" in where and str(ROOT) not in where, where  # the wheel's copy
    return python


def _snapshot(tree: Path) -> dict[str, tuple[int, int, int]]:
    """Every file and directory with its size, mtime and mode: what a write would change."""
    out = {}
    for dirpath, _dirs, files in os.walk(tree):
        for name in [".", *files]:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.join(dirpath, name)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


@pytest.mark.slow  # cold: minutes of cgo; warm: seconds
@pytest.mark.parametrize("app", list(CORPUS))
def test_real_app_is_ready_from_the_wheel(installed: Path, tmp_path: Path, app: str) -> None:
    module, below, args = CORPUS[app]
    root = module_dir(module)
    project = root / below
    before = _snapshot(root)
    out = tmp_path / "readiness.json"
    done = subprocess.run(
        [
            str(installed), "-m", "pytest", "--fynecheck", f"--fynecheck-project={project}",
            f"--fynecheck-json={out}", "-p", "no:cacheprovider", "-p", "no:xdist", *args,
        ],
        cwd=tmp_path,  # the rootdir: nothing of pytest's goes into the module cache
        env={**os.environ, **cache_env(), "DISPLAY": ""},
        capture_output=True, text=True, timeout=1800,
    )
    log = done.stdout[-6000:] + done.stderr[-2000:]
    report = json.loads(out.read_text())
    checks = {c["id"]: c for c in report["checks"]}
    for check_id in REQUIRED:
        assert checks[check_id]["status"] == "ok", (check_id, checks[check_id], log)
    assert done.returncode == 0 and report["ready"] is True, log
    image = read_png(Path(checks["app.window"]["artifacts"]["screenshot"]).read_bytes())
    assert not image.blank and image.colours(64) > 10, checks["app.window"]
    assert _snapshot(root) == before, "the kit wrote into the read-only module cache"


def test_real_module_with_several_mains_lists_them(installed: Path, tmp_path: Path) -> None:
    """fyne.io/x/fyne's root has no Go files and many cmd/NAME: app.build names them all."""
    root = module_dir(FYNE_X)
    out = tmp_path / "readiness.json"
    done = subprocess.run(
        [
            str(installed), "-m", "pytest", "--fynecheck", f"--fynecheck-project={root}",
            f"--fynecheck-json={out}", "-p", "no:cacheprovider", "-k", "gomod or app.build",
        ],
        cwd=tmp_path, env={**os.environ, **cache_env()}, capture_output=True, text=True,
        timeout=900,
    )
    checks = {c["id"]: c for c in json.loads(out.read_text())["checks"]}
    assert done.returncode == 1, done.stdout[-3000:]
    assert checks["project.gomod"]["status"] == "ok", checks["project.gomod"]
    build = checks["app.build"]
    mains = sorted(p.parent.name for p in (root / "cmd").glob("*/main.go"))
    assert len(mains) > 2
    for name in mains:
        assert f"fynecheck_package = ./cmd/{name}" in build["detail"], build
