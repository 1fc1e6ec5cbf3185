"""Every shell command README shows is run, so README stays true (issue 22 item 14).

Each ```sh block in README.md is preceded by a marker line that says how it is run:

- `<!-- main-command -->`, `<!-- test-command -->`: .ci/run extracts and runs these (the
  readiness doctor on fixtures/hello, then this suite: a test cannot run the suite it is
  part of, and the doctor's full run is CI's own step). The test checks that .ci/run's
  extraction still finds exactly README's text.
- `<!-- readme-test: run ... -->`: run for real with bash (`set -e`), in a fresh copy of the
  checkout, with these fields:
  `exit=N` the status the block must end with (default 0); `expect=TEXT` (repeatable) in
  its output; `sub="OLD=>NEW"` replaces a placeholder (`{checkout}`: this checkout, `{tmp}`:
  a fresh directory); `cheap="ARGS"` appends ARGS to each command, for a block whose full
  run takes minutes (say why in the README's marker context: it is visible there);
  `venv`: run with a fresh venv's bin first on PATH (it sees this Python's packages, so
  installs need no downloads of dependencies).
- `<!-- readme-test: collect ... -->`: the block's pytest commands run with `--co -q`
  appended: every option, mode and value is parsed, checked and turned into items, but the
  churn itself (minutes per mode) does not run; tests/test_watcher_containers.py and
  tests/test_reload_tools.py run those modes and tools for real. It runs in an empty
  directory; `stub=PATH` (repeatable) makes an executable stand-in for the user's program.

A ```sh block without a marker fails the test, so a new command cannot go untested.

Not run in full here, and why (each is still run, as said):
- main-command (`cd fixtures/hello && pytest --fynecheck`): .ci/run's own step, before the
  tests; "your project" runs the same command form here with `-k go.version`.
- test-command (`pytest -n 2`): it is the run this test is part of.
- `pip install pytest-fynecheck`: with `--dry-run --ignore-installed`: it must fail (not on
  PyPI), and if it ever resolved it must not install over the kit under test. Needs PyPI.
- the watcher block (4 modes, 2 in containers) and the reload block (4 tools): `--co`; a
  full run is minutes per mode; their tests run them for real.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.wheel import NOT_SOURCE

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI_TAGS = ("main-command", "test-command")
MARKER = re.compile(r"^<!-- (readme-test: .*|main-command|test-command) -->$")


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    code: str
    mode: str  # run, collect, or a CI tag
    fields: dict[str, list[str]] = field(default_factory=dict)

    def get(self, key: str, default: str = "") -> str:
        return self.fields.get(key, [default])[-1]

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def blocks() -> list[Block]:
    """Every ```sh block and the marker line right above it."""
    lines = README.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```sh":
            i += 1
            continue
        end = lines.index("```", i + 1)
        code = "\n".join(lines[i + 1:end])
        marker = MARKER.match(lines[i - 1]) if i else None
        if marker is None:
            found.append(Block(i + 1, code, "unmarked"))
        elif marker.group(1) in CI_TAGS:
            found.append(Block(i + 1, code, marker.group(1)))
        else:
            words = shlex.split(marker.group(1).removeprefix("readme-test:"))
            fields: dict[str, list[str]] = {}
            for word in words[1:]:
                key, _, value = word.partition("=")
                fields.setdefault(key, []).append(value)
            found.append(Block(i + 1, code, words[0], fields))
        i = end + 1
    return found


BLOCKS = blocks()


def commands(code: str) -> list[str]:
    """The block's commands: continuation lines joined, comment lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    return [ln for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def appended(command: str, args: str) -> str:
    """`args` at the end of `command`, before a trailing comment."""
    quote = ""
    for i, ch in enumerate(command):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and i and command[i - 1].isspace():  # a comment, as sh reads it
            start = len(command[:i].rstrip())
            return f"{command[:start]} {args}{command[start:]}"
    return f"{command} {args}"


def test_every_sh_block_is_marked() -> None:
    unmarked = [b.id for b in BLOCKS if b.mode == "unmarked"]
    assert not unmarked, f"```sh blocks without a marker (see tests/test_readme.py): {unmarked}"
    assert {b.mode for b in BLOCKS} <= {"run", "collect", *CI_TAGS}, {b.mode for b in BLOCKS}
    assert sum(b.mode == "run" for b in BLOCKS) >= 3  # your project, install, drift


def test_ci_runs_readmes_two_commands() -> None:
    """.ci/run's own awk extraction, run for real, gives README's text for both tags."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    function = re.search(r"^readme_command\(\) \{\n.*?\n\}\n", script, re.M | re.S)
    assert function is not None, ".ci/run lost readme_command()"
    for tag in CI_TAGS:
        (block,) = [b for b in BLOCKS if b.mode == tag]
        done = subprocess.run(
            ["bash", "-c", f"{function.group(0)}readme_command {tag}"],
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=30,
        )
        assert done.stdout.strip() == block.code.strip(), (tag, done.stdout)
    assert 'bash -c "$MAIN_CMD"' in script and 'bash -c "$TEST_CMD"' in script


def _env(extra_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # `pytest` and `pip` as README says them: this Python's (a venv's when the block asks).
    path = [str(Path(sys.executable).parent), env.get("PATH", "")]
    if extra_path is not None:
        path.insert(0, str(extra_path))
    env["PATH"] = os.pathsep.join(path)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def _run(block: Block, script: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(
        ["bash", "-c", "set -eo pipefail\n" + script], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
    )
    return done.returncode, done.stdout


@pytest.mark.slow  # builds the sample app (cached), a wheel, a venv
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mode == "run"], ids=lambda b: b.id)
def test_readme_block_runs(block: Block, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=NOT_SOURCE)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = block.code
    for sub in block.fields.get("sub", []):
        old, new = sub.split("=>", 1)
        code = code.replace(old, new.format(checkout=ROOT, tmp=scratch))
    cheap = block.get("cheap")
    script = "\n".join(appended(c, cheap) if cheap else c for c in commands(code))
    bin_dir = None
    if "venv" in block.fields:
        venv.create(tmp_path / "venv", system_site_packages=True, with_pip=True)
        bin_dir = tmp_path / "venv" / "bin"
    cwd = scratch if "venv" in block.fields else checkout
    status, out = _run(block, script, cwd, _env(bin_dir))
    assert status == int(block.get("exit", "0")), f"{block.id}: exit {status}\n{script}\n{out}"
    for text in block.fields.get("expect", []):
        assert text in out, f"{block.id}: {text!r} not in the output\n{script}\n{out}"
    if bin_dir is not None:  # the venv's own copy, not this checkout's
        where = subprocess.run(
            [str(bin_dir / "python"), "-c", "import pytest_fynecheck as m; print(m.__file__)"],
            cwd=scratch, env=_env(bin_dir) | {"PYTHONPATH": ""}, capture_output=True,
            text=True, check=True, timeout=60,
        ).stdout.strip()
        assert where.startswith(str(tmp_path / "venv")), where


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mode == "collect"], ids=lambda b: b.id)
def test_readme_block_collects(block: Block, tmp_path: Path) -> None:
    for stub in block.fields.get("stub", []):
        made = tmp_path / stub
        made.parent.mkdir(parents=True, exist_ok=True)
        made.write_text("#!/bin/sh\nexit 0\n")
        made.chmod(0o755)
    lines = commands(block.code)
    assert lines and all(c.startswith("pytest ") for c in lines), lines
    script = "\n".join(appended(c, "--co -q -p no:cacheprovider") for c in lines)
    status, out = _run(block, script, tmp_path, _env())
    assert status == 0, f"{block.id}: exit {status}\n{script}\n{out}"
    for text in block.fields.get("expect", []):
        assert text in out, f"{block.id}: {text!r} not in the output\n{script}\n{out}"
