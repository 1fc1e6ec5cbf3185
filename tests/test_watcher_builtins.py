"""The built-in watchers, `--fynecheck-watcher inotifywait|fswatch|watchman|fsnotify`:
real tools nobody here wrote (through the kit's bridge) and fsnotify built against the
project's own version. What the harness found in each tool is a test here, not hidden."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.env import cache
from support.sample import HELLO
from support.watcher import BUILTIN_FINDINGS, broken, check_builtin, local, quick

from pytest_fynecheck.core.context import wait_until
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.watcher import adapters, bridge
from pytest_fynecheck.watcher.churn import Tree
from pytest_fynecheck.watcher.harness import LiveWatcher, WatcherCheckFailed, check_watcher
from pytest_fynecheck.watcher.options import Options
from pytest_fynecheck.watcher.reproducer import Tries, write_script

TOOLS = adapters.TOOLS  # the bridged ones: inotifywait fswatch watchman
ROOT = Path(__file__).resolve().parent.parent


def builtin(name: str, project: Path = HELLO) -> list[str]:
    return adapters.resolve(name, project, cache()).argv


def _new_dir_losses(name: str, root: Path, rounds: int) -> int:
    """mkdir and a file inside it, back to back (as an editor or `git checkout` does),
    `rounds` times: how often the watcher never reported the file."""
    lost = 0
    argv = [a.replace("{root}", str(root)) for a in builtin(name)]
    with LiveWatcher(argv, root) as live:
        for i in range(rounds):
            os.mkdir(root / f"d{i}")
            (root / f"d{i}" / "f").write_bytes(b"x")
            seen = {(e.op, e.path) for e in live.barrier()}
            lost += ("create", f"d{i}/f") not in seen
    return lost


def test_every_builtin_watcher_has_its_row_its_finding_and_its_package(
    pytester: pytest.Pytester,
) -> None:
    """`adapters.NAMES` is the one list: adding a built-in watcher there (or to the
    bridge) fails here until --help names it, README's table has its row and says what
    the harness finds as BUILTIN_FINDINGS does, and CI and the suite images install its
    package."""
    shown = pytester.runpytest_subprocess("--help", "-p", "no:cacheprovider")
    helps = " ".join(" ".join(shown.outlines).split())
    where = helps.index("--fynecheck-watcher=")
    for name in adapters.NAMES:
        assert re.search(rf"\b{name}\b", helps[where:where + 600]), f"--help: {name}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Built-in watchers", 1)[1].split("\n#", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([^`]+)`[^|]*\| ([^|]+)\|",
                                                         section, re.M)}
    assert sorted(rows) == sorted(adapters.NAMES), "README's Built-in watchers table"
    assert sorted(BUILTIN_FINDINGS) == sorted(adapters.NAMES), "tests/support/watcher.py"
    for name, local_column in rows.items():
        # The local column and the finding the test asserts say the same thing.
        caught = local_column.strip() == "caught"
        assert caught == (BUILTIN_FINDINGS[name] is not None), (name, local_column)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    apt = ci.split("APT_PACKAGES=(", 1)[1].split("\n)", 1)[0]
    recipe = (ROOT / "containers" / "Dockerfile").read_text(encoding="utf-8")
    # Its commands, each on one line (continuations joined), without its comments.
    image = "\n".join(x for x in recipe.replace("\\\n", " ").splitlines()
                      if not x.lstrip().startswith("#"))
    for name, package in bridge.PACKAGES.items():
        assert re.search(rf"^ +[^#\n]*\b{package}\b", apt, re.M), (
            f".ci/run does not install {package} for the built-in watcher {name}")
        assert re.search(rf"install .*\b{package}\b", image), (
            f"containers/Dockerfile does not install {package} for the built-in watcher {name}")


@pytest.mark.parametrize("name", sorted(BUILTIN_FINDINGS))
def test_builtin_watcher_in_local_mode(name: str, tmp_path: Path) -> None:
    print(check_builtin(name, local(), tmp_path))


@pytest.mark.parametrize("name", ["inotifywait", "fswatch"])
def test_tool_loses_a_file_made_in_a_new_directory(name: str, tmp_path: Path) -> None:
    # The finding: both add their watch on the new directory after its file exists and
    # never scan it (inotifywait -m -r's recursive-watch race; fswatch's inotify monitor).
    assert _new_dir_losses(name, tmp_path, 20) > 0, f"{name} reported every new file"


@pytest.mark.parametrize("name", ["watchman", "fsnotify"])
def test_tool_reports_files_made_in_a_new_directory(name: str, tmp_path: Path) -> None:
    # The contrast: watchman crawls a new directory, the kit's fsnotify watcher scans it.
    assert _new_dir_losses(name, tmp_path, 20) == 0


def test_bridge_reports_every_op_in_the_protocol(tmp_path: Path) -> None:
    argv = [a.replace("{root}", str(tmp_path)) for a in builtin("inotifywait")]
    with LiveWatcher(argv, tmp_path) as live:
        (tmp_path / ".dot").write_bytes(b"1")
        assert ("create", ".dot") in {(e.op, e.path) for e in live.barrier()}
        os.rename(tmp_path / ".dot", tmp_path / "my file")
        got = {(e.op, e.path) for e in live.barrier()}
        assert {("rename", ".dot"), ("create", "my file")} <= got
        os.chmod(tmp_path / "my file", 0o600)
        assert ("chmod", "my file") in {(e.op, e.path) for e in live.barrier()}
        os.unlink(tmp_path / "my file")
        assert ("remove", "my file") in {(e.op, e.path) for e in live.barrier()}


def test_fsnotify_is_built_against_the_projects_version(tmp_path: Path) -> None:
    # A project on an old fsnotify (before Event.Has): the watcher builds against it.
    project = tmp_path / "app"
    project.mkdir()
    (project / "go.mod").write_text(
        "module example.com/app\n\ngo 1.21\n\nrequire github.com/fsnotify/fsnotify v1.5.4\n"
    )
    (project / "main.go").write_text(
        'package main\n\nimport "github.com/fsnotify/fsnotify"\n\n'
        "func main() { _, _ = fsnotify.NewWatcher() }\n"
    )
    tidy = subprocess.run(["go", "mod", "tidy"], cwd=project, capture_output=True, text=True,
                          timeout=300)
    assert tidy.returncode == 0, tidy.stderr
    before = (project / "go.mod").read_bytes(), (project / "go.sum").read_bytes()
    found = adapters.resolve("fsnotify", project, cache())
    assert "fsnotify v1.5.4 (the project's" in found.note
    info = subprocess.run(["go", "version", "-m", found.argv[0]], capture_output=True,
                          text=True, timeout=60)
    assert "github.com/fsnotify/fsnotify\tv1.5.4" in info.stdout, info.stdout
    # Asking Go never touched the user's files.
    assert ((project / "go.mod").read_bytes(), (project / "go.sum").read_bytes()) == before
    out = check_watcher(found.argv, local(), hyp=quick(4, 15))
    assert out.stats.steps > 0


def test_fsnotify_without_a_project_uses_the_pinned_version_and_says_so(tmp_path: Path) -> None:
    found = adapters.resolve("fsnotify", tmp_path, cache())
    assert f"fsnotify {adapters.PINNED_FSNOTIFY} (pinned: no go.mod" in found.note


def test_a_missing_tool_is_named_with_its_package(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"needs fswatch on PATH .*apt-get install fswatch"):
        adapters.check_tool("fswatch", str(tmp_path))
    with pytest.raises(InputError, match="Debian trixie has no watchman package"):
        adapters.check_suite("watchman", "trixie")
    # The bridge itself says the same where the kit's check cannot look (a container).
    done = subprocess.run(
        [sys.executable, builtin("fswatch")[0], "fswatch", str(tmp_path)],
        capture_output=True, text=True,
        timeout=60, env={"PATH": str(tmp_path)},
    )
    assert done.returncode == 2 and "apt-get install fswatch" in done.stderr


# -- race-aware shrinking -------------------------------------------------------------


@pytest.mark.parametrize("name", ["inotifywait"])
def test_a_race_shrinks_to_what_the_bug_needs(name: str, tmp_path: Path) -> None:
    argv = builtin(name) if name in TOOLS else [str(broken(name))]
    with pytest.raises(WatcherCheckFailed) as caught:
        # A 20 s budget of retried candidates: a bridged tool's start costs ~0.5 s each.
        check_watcher(argv, local(), options=Options(race_budget=20), hyp=quick(),
                      artifacts=tmp_path)
    failure = caught.value.step_failure
    assert failure is not None
    message = str(caught.value)
    # The goal: at most 6 steps, ending in a directory made with files inside, and
    # none of the irrelevant kinds (symlink, atomic save, truncate, chmod) around it; names
    # shrink too. Usually 1 step; when the race budget runs out a burst that loads the
    # watcher may stay before it (seen in CI: 169 files, then the mkdir).
    assert len(failure.steps) <= 6, message
    step = failure.steps[-1]
    assert step.label.startswith("mkdir "), message
    assert max(len(p.path) for p in step.prims) <= 20, message
    for other in failure.steps:
        assert not other.label.startswith("atomic save"), message
        assert not {p.verb for p in other.prims} & {"symlink", "truncate", "chmod"}, message
    assert caught.value.tries.count >= 1
    script = caught.value.script
    assert script is not None
    text = script.read_text(encoding="utf-8")
    assert f"TRIES={caught.value.tries.count}\n" in text
    assert f"It tries up to {caught.value.tries.count} time(s)" in text
    for shell in ("dash", "bash"):
        done = subprocess.run([shell, str(script)], capture_output=True, text=True,
                              timeout=600, env={**os.environ, "TMPDIR": str(tmp_path)})
        assert done.returncode == 1, f"{shell}:\n{done.stdout}{done.stderr}"
        assert "REPRODUCED: never came: create or rename for" in done.stdout


# -- replay scripts: cleanup under dash and bash ---------------------------------------


def _replay_script(tmp_path: Path, cmd: list[str], tries: int = 1) -> Path:
    tree = Tree()
    steps = [tree.create("", "a", b"1"), tree.rename("a", "", "b")]
    return write_script(tmp_path / "replay.sh", cmd, steps, steps[-1].expects,
                        Options(timeout=5), Tries(tries))


def _wrapper(tmp_path: Path, marker: str) -> str:
    """`sh -c` text that starts a child (a sleep whose command line holds `marker`) and then
    execs the real watcher: only a signal to the whole group ends that child."""
    child = tmp_path / "child.sh"
    # Not `exec sleep`: this shell stays, so its command line (with the marker) shows.
    child.write_text("#!/bin/sh\nsleep 299\n")  # not 300: another test pgreps for that
    child.chmod(0o755)
    return f'"{child}" "{marker}" & exec "$0" "$1"'


def _left(marker: str) -> list[str]:
    """Processes still running whose command line holds `marker` (after a grace: a killed
    process takes a moment to go on a loaded machine)."""
    wait_until(lambda: not _running(marker), 10, 0.1)
    return _running(marker)


def _running(marker: str) -> list[str]:
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            raw = Path("/proc", pid, "cmdline").read_bytes()
            state = Path("/proc", pid, "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in raw and state not in ("Z", "X"):
            out.append(raw.replace(b"\0", b" ").decode(errors="replace"))
    return out


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_replay_stops_everything_the_watcher_started(shell: str, tmp_path: Path) -> None:
    # A watcher that leaves a child behind when only its own pid is signalled, as an
    # inotifywait pipeline in a wrapper script does. Before the fix, dash's kill
    # ("Illegal number" on `--`) signalled the pid alone and the child outlived the replay.
    marker = f"{tmp_path}/child-{shell}"
    wrapper = _wrapper(tmp_path, marker)
    script = _replay_script(tmp_path, ["sh", "-c", wrapper, str(broken("droprename")), "{root}"],
                            tries=3)
    done = subprocess.run([shell, str(script)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Illegal number" not in done.stderr
    assert _left(marker) == [], f"{shell} left the watcher's child running"
    assert not list(tmp_path.glob("fynecheck-replay.*")), "the replay left its work dir"


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_an_interrupted_replay_stops_the_watcher(shell: str, tmp_path: Path) -> None:
    # Every try passes (the reference watcher), so the script is mid-run when signalled.
    from support.watcher import reference

    marker = f"{tmp_path}/child-int-{shell}"
    wrapper = _wrapper(tmp_path, marker)
    script = _replay_script(tmp_path, ["sh", "-c", wrapper, str(reference()), "{root}"],
                            tries=50)
    proc = subprocess.Popen([shell, str(script)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmp_path)})
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("try 2 of"):
            break
    proc.terminate()
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert _left(marker) == [], f"{shell} left the watcher's child running"
