"""The layer table of ARCHITECTURE.md, enforced: every import of every module of the
package (read with `ast`, so imports inside functions and under TYPE_CHECKING count too,
and so does a module named by string for a later import) goes to its own layer or one
below, and a feature imports another feature only where the table's "may also import"
column says so. The table is read from the document itself: the doc and this test cannot
disagree."""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
import re
import shutil
from pathlib import Path

import pytest

import pytest_fynecheck

PACKAGE = Path(pytest_fynecheck.__file__).parent
ARCHITECTURE = Path(__file__).resolve().parent.parent / "ARCHITECTURE.md"

# Imports allowed to run back up while a change removes them (none today); an exception
# that no longer matches an import fails the test, so none lingers.
ALLOWED_FOR_NOW: set[tuple[str, str]] = set()


@dataclasses.dataclass(frozen=True)
class Layer:
    rank: int  # 1 is the bottom
    name: str
    patterns: tuple[str, ...]  # paths under the package: `core/`, `plugin.py`, `*/plugin.py`
    allowed: frozenset[tuple[str, str]]  # (from unit, to unit) within the layer
    siblings_free: bool  # "any": the layer's units may import each other


@dataclasses.dataclass(frozen=True)
class Edge:
    module: str
    path: str  # of the importing file, relative to the package's parent
    line: int
    target: str
    how: str = "imports"  # or "names by string": imported later, by that name


# A module named in a string, "pytest_fynecheck.run.session" or "...session:function":
# what imports it later (pytest_plugins, a factory table) does so for this module.
_NAMED = re.compile(r"pytest_fynecheck(?:\.\w+)+(?::\w+)?")


def layer_table(doc: Path) -> list[Layer]:
    """The first table under the document's "## Layers" heading, bottom layer first."""
    text = doc.read_text(encoding="utf-8")
    section = re.search(r"^## Layers\b.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, f"{doc} has no '## Layers' section"
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.group(1).splitlines()
        if line.strip().startswith("|")
    ]
    assert len(rows) > 2, f"{doc}: no table under '## Layers'"
    header = [h.lower() for h in rows[0]]
    col = {
        name: next(i for i, h in enumerate(header) if h.startswith(name))
        for name in ("#", "layer", "modules", "may also import")
    }
    layers = []
    for row in rows[2:]:  # rows[1] is the --- line
        ticks = re.findall(r"`([^`]+)`", row[col["may also import"]])
        pairs = [re.split(r"\s*(?:→|->)\s*", t) for t in ticks]
        layers.append(Layer(
            rank=int(row[col["#"]]),
            name=row[col["layer"]].strip("*"),
            patterns=tuple(re.findall(r"`([^`]+)`", row[col["modules"]])),
            allowed=frozenset((p[0], p[1]) for p in pairs if len(p) == 2),
            siblings_free=row[col["may also import"]].strip().lower().startswith("any"),
        ))
    ranks = [la.rank for la in layers]
    assert ranks == list(range(1, len(layers) + 1)), f"{doc}: layers numbered {ranks}"
    return layers


def module_name(package: Path, path: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: Path) -> dict[str, Path]:
    return {module_name(package, p): p for p in sorted(package.rglob("*.py"))}


def layer_of(rel: str, layers: list[Layer]) -> Layer | None:
    """The row naming `rel` (a path under the package) most closely: a file by its name,
    then a glob of files, then the longest folder."""
    best: tuple[tuple[int, int], Layer] | None = None
    for layer in layers:
        for pattern in layer.patterns:
            if pattern.endswith("/"):
                score = (0, len(pattern)) if rel.startswith(pattern) else None
            elif any(c in pattern for c in "*?["):
                score = (1, len(pattern)) if fnmatch.fnmatchcase(rel, pattern) else None
            else:
                score = (2, 0) if rel == pattern else None
            if score is not None and (best is None or score > best[0]):
                best = (score, layer)
    return best[1] if best else None


def unit_of(rel: str) -> str:
    """The package a module belongs to (its first folder), or the top-level file."""
    return rel.split("/")[0].removesuffix(".py")


def imports(package: Path, known: dict[str, Path]) -> list[Edge]:
    """Every import of a module of the package, wherever in the file it is."""
    root = package.name
    edges = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_pkg = path.name == "__init__.py"
        rel = str(path.relative_to(package.parent))
        for node in ast.walk(tree):
            targets: list[str] = []
            how = "imports"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if not _NAMED.fullmatch(node.value):
                    continue
                targets, how = [node.value.split(":")[0]], "names by string"
            elif not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    mod = node.module or ""
                # `from pkg import mod` imports the module pkg.mod; `from mod import x`, mod.
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod
                           for a in node.names]
            for target in targets:
                if target == root or target.startswith(root + "."):
                    while target not in known:  # a name in a package: the package
                        target = target.rsplit(".", 1)[0]
                    edges.append(Edge(name, rel, node.lineno, target, how))
    return list(dict.fromkeys(edges))  # `from m import a, b`: one edge


def back_up_imports(package: Path, doc: Path) -> list[str]:
    """What breaks the layer table of `doc` in `package`: one line per import that runs
    up, or sideways into another feature, naming both modules and both layers; and each
    module no row of the table names."""
    layers = layer_table(doc)
    known = modules(package)
    rel = {m: str(p.relative_to(package)) for m, p in known.items()}
    found = [
        f"{rel[m]}: in no row of the layer table of {doc.name}; add its folder to a row"
        for m in known
        if layer_of(rel[m], layers) is None
    ]
    edges = imports(package, known)
    for m in known:
        # Importing a module runs its packages' __init__.py first: one placed in a layer
        # below its package's (a feature's options file, in the plan) must not drag the
        # feature in through it.
        here = layer_of(rel[m], layers)
        parent = m.rsplit(".", 1)[0]
        while here is not None and parent in known and parent != package.name:
            above = layer_of(rel[parent], layers)
            pulled = [e.target for e in edges if e.module == parent]
            if above is not None and above.rank > here.rank and pulled:
                found.append(
                    f"{rel[m]}: in layer {here.rank} {here.name}, but importing it runs "
                    f"{rel[parent]} (layer {above.rank} {above.name}), which imports "
                    f"{', '.join(sorted(set(pulled)))}"
                )
            parent = parent.rsplit(".", 1)[0]
    for e in edges:
        here, there = layer_of(rel[e.module], layers), layer_of(rel[e.target], layers)
        if here is None or there is None:
            continue  # named above
        src, dst = unit_of(rel[e.module]), unit_of(rel[e.target])
        if there.rank < here.rank or src == dst:
            continue
        if there.rank == here.rank and (here.siblings_free or (src, dst) in here.allowed):
            continue
        how = "above it" if there.rank > here.rank else "beside it, not allowed by the table"
        found.append(
            f"{e.path}:{e.line}: {e.module} (layer {here.rank} {here.name}) {e.how} "
            f"{e.target} (layer {there.rank} {there.name}, {how})"
        )
    return found


def _is_allowed_for_now(line: str) -> tuple[str, str] | None:
    for importer, imported in ALLOWED_FOR_NOW:
        if f" {importer} (" in line and f" imports {imported} (" in line:
            return importer, imported
    return None


def test_no_import_runs_back_up() -> None:
    found = back_up_imports(PACKAGE, ARCHITECTURE)
    used = {_is_allowed_for_now(f) for f in found}
    wrong = [f for f in found if _is_allowed_for_now(f) is None]
    assert not wrong, "imports against ARCHITECTURE.md's layer table:\n" + "\n".join(wrong)
    stale = ALLOWED_FOR_NOW - used
    assert not stale, f"no longer imported, remove from ALLOWED_FOR_NOW: {sorted(stale)}"


def test_the_table_has_the_layers_and_names_every_module() -> None:
    layers = layer_table(ARCHITECTURE)
    names = [la.name for la in layers]
    # The order the code shows (ARCHITECTURE.md says why plan sits above the features).
    assert names.index("core") < names.index("containers") < names.index("churn")
    assert names.index("churn") < names.index("plan") < names.index("features") < names.index("run")
    every = modules(PACKAGE)
    for path in every.values():
        rel = str(path.relative_to(PACKAGE))
        assert layer_of(rel, layers) is not None, f"{rel} is in no row of the layer table"
    assert len(every) > 100


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package in a temporary tree: a planted import changes no real file."""
    out = tmp_path / PACKAGE.name
    shutil.copytree(PACKAGE, out, ignore=shutil.ignore_patterns("__pycache__", "probes"))
    return out


def test_a_planted_lazy_import_back_up_is_caught(copy: Path) -> None:
    """The checker reads real files: a core module that imports the session inside a
    function (a lazy import that runs up is still one) is named with both layers."""
    (copy / "core" / "planted.py").write_text(
        "def folder():\n"
        "    from pytest_fynecheck.run.session import core\n"
        "    return core\n"
    )
    found = back_up_imports(copy, ARCHITECTURE)
    planted = [f for f in found if "planted" in f]
    assert planted == [
        "pytest_fynecheck/core/planted.py:2: pytest_fynecheck.core.planted (layer 1 core) "
        "imports pytest_fynecheck.run.session (layer 8 run, above it)"
    ], found


def test_a_module_named_by_string_counts_as_an_import(copy: Path) -> None:
    """A factory table that names an upper module by string imports it later: the plan
    naming the session's function is the plan depending on the run layer."""
    (copy / "plan" / "planted.py").write_text(
        'FACTORIES = {"host": "pytest_fynecheck.run.session:host_context"}\n'
    )
    found = [f for f in back_up_imports(copy, ARCHITECTURE) if "planted" in f]
    assert found == [
        "pytest_fynecheck/plan/planted.py:1: pytest_fynecheck.plan.planted (layer 6 plan) "
        "names by string pytest_fynecheck.run.session (layer 8 run, above it)"
    ], found


def test_a_planted_import_between_features_is_caught(copy: Path) -> None:
    """Features do not import each other unless the table says so: reload importing
    the watcher's churn model (as it did before churn/ existed) is caught, with a
    relative import and an import under TYPE_CHECKING."""
    sandbox = copy / "reload" / "sandbox.py"
    sandbox.write_text(
        sandbox.read_text()
        + "\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from ..watcher.churn import Tree\n"
    )
    found = [f for f in back_up_imports(copy, ARCHITECTURE) if "sandbox" in f]
    assert len(found) == 1, found
    assert found[0].endswith(
        "pytest_fynecheck.reload.sandbox (layer 7 features) imports "
        "pytest_fynecheck.watcher.churn (layer 7 features, beside it, not allowed by the table)"
    ), found


def test_a_file_placed_below_its_package_cannot_drag_the_package_in(copy: Path) -> None:
    """watcher/options.py sits in the plan layer, but importing it runs watcher/__init__.py
    first: an import planted there would load the feature under the plan."""
    (copy / "watcher" / "__init__.py").write_text("from . import harness\n")
    found = [f for f in back_up_imports(copy, ARCHITECTURE) if "runs" in f]
    assert found == [
        "watcher/options.py: in layer 6 plan, but importing it runs watcher/__init__.py "
        "(layer 7 features), which imports pytest_fynecheck.watcher.harness"
    ], found


def test_a_module_in_no_row_is_named(copy: Path) -> None:
    (copy / "newthing").mkdir()
    (copy / "newthing" / "__init__.py").write_text("")
    found = back_up_imports(copy, ARCHITECTURE)
    assert found[:1] == [
        "newthing/__init__.py: in no row of the layer table of ARCHITECTURE.md; "
        "add its folder to a row"
    ], found


def test_the_document_is_the_table(tmp_path: Path) -> None:
    """Swap two rows of a copy of ARCHITECTURE.md: the same code now breaks it, so the
    test reads the document, not a table of its own."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    core = re.search(r"^\| 1 \| core \|.*$", text, re.M)
    run = re.search(r"^\| 8 \| run \|.*$", text, re.M)
    assert core and run, "the table's rows for core (1) and run (8) changed: update this test"
    swapped = (
        text.replace(core.group(0), "@@CORE@@")
        .replace(run.group(0), core.group(0).replace("| 1 | core |", "| 8 | core |"))
        .replace("@@CORE@@", run.group(0).replace("| 8 | run |", "| 1 | run |"))
    )
    doc = tmp_path / "ARCHITECTURE.md"
    doc.write_text(swapped, encoding="utf-8")
    found = back_up_imports(PACKAGE, doc)
    assert any(
        "pytest_fynecheck.run.session (layer 1 run) imports pytest_fynecheck.core." in f
        for f in found
    ), found

