"""Real builds of the sample app in each build mode, then real edits of a copy of its
tree: each edit must flip exactly the aspects it touches, in every mode."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from support.drift import MODES, build, commit, copy_repo, git, host, make_repo, run
from support.sample import HELLO, MODULE

from pytest_fynecheck.core.report import DRIFT_WORDS
from pytest_fynecheck.drift import DriftReport, check

ASPECTS = {"deps", "vcs.revision", "vcs.modified", "embed"}


@pytest.fixture(scope="session")
def hello_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(HELLO, tmp_path_factory.mktemp("drift") / "hello")


@pytest.fixture(scope="session", params=list(MODES))
def hello_binary(request: pytest.FixtureRequest, hello_template: Path) -> tuple[str, Path]:
    mode: str = request.param
    return mode, build(hello_template, MODES[mode])


def _change(repo: Path) -> None:
    (repo / "assets" / "greeting.txt").write_text("Hello from the reloaded tree!\n")


def _add(repo: Path) -> None:
    (repo / "assets" / "extra.txt").write_text("a new asset\n")


def _remove(repo: Path) -> None:
    (repo / "assets" / "style.json").unlink()


def _bump(repo: Path) -> None:
    # A leaf module: the bump changes nothing else in the build list.
    run(repo, ["go", "get", "github.com/yuin/goldmark@v1.7.9"])


def _replace(repo: Path) -> None:
    gomodcache = run(repo, ["go", "env", "GOMODCACHE"]).strip()
    local = repo.parent / "goldmark-local"
    shutil.copytree(Path(gomodcache) / "github.com/yuin/goldmark@v1.7.8", local)
    run(repo, ["go", "mod", "edit", "-replace", "github.com/yuin/goldmark=../goldmark-local"])


def _dirty(repo: Path) -> None:
    (repo / "NOTES.txt").write_text("untracked, outside every embed\n")


def _commit(repo: Path) -> None:
    (repo / "CHANGES.txt").write_text("a committed file outside every embed\n")
    commit(repo, "changes", "2026-02-01T00:00:00Z")


def _commit_asset(repo: Path) -> None:
    _change(repo)
    commit(repo, "new greeting", "2026-02-01T00:00:00Z")


# edit -> (what it does to the tree, the aspects that must drift, a line the report must name)
EDITS: dict[str, tuple[Callable[[Path], None], set[str], str]] = {
    "none": (lambda _repo: None, set(), ""),
    "change": (
        _change,
        {"embed", "vcs.modified"},
        f"changed: {MODULE} assets/greeting.txt",
    ),
    "add": (_add, {"embed", "vcs.modified"}, f"added: {MODULE} assets/extra.txt"),
    "remove": (_remove, {"embed", "vcs.modified"}, f"removed: {MODULE} assets/style.json"),
    "bump": (_bump, {"deps", "vcs.modified"}, "changed: github.com/yuin/goldmark v1.7.8"),
    "replace": (_replace, {"deps", "vcs.modified"}, "=> ../goldmark-local (devel)"),
    "dirty": (_dirty, {"vcs.modified"}, "git status: ?? NOTES.txt"),
    "commit": (_commit, {"vcs.revision"}, "built at "),
    "commit-asset": (_commit_asset, {"vcs.revision", "embed"}, "assets/greeting.txt"),
}


def _lines(report: DriftReport) -> str:
    return "\n".join(
        [a.title for a in report.aspects] + [a.detail for a in report.aspects]
    )


@pytest.mark.parametrize("edit", list(EDITS))
def test_each_edit_flips_exactly_its_aspects(
    edit: str, hello_binary: tuple[str, Path], hello_template: Path, tmp_path: Path
) -> None:
    mode, binary = hello_binary
    repo = copy_repo(hello_template, tmp_path / "hello")
    apply, drifting, named = EDITS[edit]
    apply(repo)
    report = check(host(repo), binary)
    want = {a: ("drift" if a in drifting else "match") for a in ASPECTS}
    assert report.verdicts() == want, f"{mode}/{edit}:\n{report.text()}"
    assert named in _lines(report)


def test_embed_change_report_says_what_a_reload_shows(
    hello_binary: tuple[str, Path], hello_template: Path, tmp_path: Path
) -> None:
    _mode, binary = hello_binary
    repo = copy_repo(hello_template, tmp_path / "hello")
    _change(repo)
    embed = check(host(repo), binary)["embed"]
    text = embed.detail
    assert "a reload shows 30 B" in text
    assert "the binary embeds 22 B" in text
    # The diff runs from what the binary shows to what dev-mode reload reads.
    assert "-Hello from fynecheck!" in text
    assert "+Hello from the reloaded tree!" in text


def test_build_settings_are_shown(hello_binary: tuple[str, Path], hello_template: Path) -> None:
    mode, binary = hello_binary
    build_info = dict(check(host(hello_template), binary).build)
    assert build_info["GOOS/GOARCH"] == "linux/amd64"
    assert build_info["CGO_ENABLED"] == "1"
    assert build_info["-trimpath"] == (
        "true" if "trimpath" in mode or mode == "release" else "false"
    )
    assert build_info["-tags"] == ("release" if mode == "release" else "(none)")
    if mode == "sw":
        assert build_info["-ldflags"] == "-s -w"
    if build_info["-trimpath"] == "true":
        # -trimpath drops -ldflags from what Go records (NOTES §2): say so, do not guess.
        assert build_info["-ldflags"] == "(not recorded: -trimpath)"


def test_head_moves_back_to_the_built_revision(hello_template: Path, tmp_path: Path) -> None:
    """After a commit and a reset to the built commit, the binary matches again."""
    binary = build(hello_template, MODES["sw"])
    repo = copy_repo(hello_template, tmp_path / "hello")
    built = git(repo, "rev-parse", "HEAD").strip()
    _commit(repo)
    assert DRIFT_WORDS[check(host(repo), binary)["vcs.revision"].status] == "drift"
    git(repo, "reset", "-q", "--hard", built)
    # A new context: git state is memoized per context, like per session.
    assert set(check(host(repo), binary).verdicts().values()) == {"match"}
