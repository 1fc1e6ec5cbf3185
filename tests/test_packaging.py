"""The wheel: what a non-editable install really carries, built and installed for real."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.sample import ROOT
from support.wheel import PIP, build_wheel

from pytest_fynecheck.containers.images import recipe_dir

# Run by the installed copy: where it was imported from and where it finds the recipes.
WHERE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import pytest_fynecheck
from pytest_fynecheck.containers.images import recipe_dir
print(json.dumps([pytest_fynecheck.__file__, str(recipe_dir())]))
"""


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_checkout_reads_the_top_level_recipes() -> None:
    assert recipe_dir() == ROOT / "containers"


@pytest.mark.slow  # pip builds in an isolated environment: seconds, more when cold
def test_wheel_carries_the_recipes_byte_for_byte(tmp_path: Path) -> None:
    wheel, target = build_wheel(tmp_path), tmp_path / "site"
    subprocess.run(
        [*PIP, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, timeout=600
    )

    done = subprocess.run(
        [sys.executable, "-c", WHERE, str(target)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    module, recipes = json.loads(done.stdout)
    installed = target / "pytest_fynecheck"
    assert Path(module) == installed / "__init__.py"  # the wheel's copy, not the checkout
    assert Path(recipes) == installed / "recipes"
    assert files_under(Path(recipes)) == files_under(ROOT / "containers")
    # The package list in pyproject.toml is explicit: every source file must still ship.
    shipped = files_under(installed)
    source = files_under(ROOT / "pytest_fynecheck")
    assert {k: v for k, v in shipped.items() if k in source} == source
