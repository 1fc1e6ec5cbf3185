"""Issue 22 item 5: a watcher failure's report says what it shows, names why an event that
came does not count, shrinks names to one letter, and each replay script keeps its own
file (keyed by tool, app and mode). Real broken watchers (fixtures/watchers) throughout."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from hypothesis import Phase, find
from support.watcher import broken, local, quick

from pytest_fynecheck.watcher.churn import Tree, names
from pytest_fynecheck.watcher.harness import WatcherCheckFailed, check_watcher
from pytest_fynecheck.watcher.options import Options
from pytest_fynecheck.watcher.run import minimize, replay

SHOWN_EVENTS = 20  # run.SHOWN_EVENTS
WINDOW = re.compile(r"  events in this step's window: (\d+)(?: \((.*)\))?$")


def _window(report: str) -> tuple[int, str, list[str]]:
    """The window line's count and note, and the event lines listed under it."""
    lines = report.splitlines()
    at = next(i for i, line in enumerate(lines) if WINDOW.match(line))
    m = WINDOW.match(lines[at])
    assert m is not None
    events = []
    for line in lines[at + 1 :]:
        if not line.startswith("    "):
            break
        events.append(line.strip())
    return int(m.group(1)), m.group(2) or "", events


def test_the_window_count_agrees_with_the_events_shown_and_names_the_rest() -> None:
    # debounce reports a new file only as a write: every path of the burst is missing,
    # and each has one event; the cookie's own events are counted but not listed.
    t = Tree()
    step = t.burst("", SHOWN_EVENTS + 5)
    failed = replay([str(broken("debounce"))], local(), Options(), [step])
    assert failed is not None
    report = failed.describe()
    count, note, shown = _window(report)
    assert len(shown) == SHOWN_EVENTS, report
    cookies = re.search(r"(\d+) for the barrier cookie, not shown", note)
    assert cookies is not None, report
    writes = sum(1 for e in failed.window if not e.path.startswith(".fynecheck-cookie-"))
    assert f"the first {SHOWN_EVENTS} of the {writes} others below" in note, report
    assert count == int(cookies.group(1)) + writes == len(failed.window), report


def test_a_path_that_came_with_an_op_that_does_not_count_says_so() -> None:
    t = Tree()
    failed = replay([str(broken("debounce"))], local(), Options(), [t.create("", "a", b"x")])
    assert failed is not None
    report = failed.describe()
    assert (
        "never came: create or rename for 'a' (path appeared); it came only as write, "
        "which does not report a new path"
    ) in report
    count, _, shown = _window(report)
    assert shown == ["write 'a'"], report
    assert count == len(failed.window), report


def test_names_shrink_toward_a() -> None:
    assert find(names(), lambda s: True) == "a"
    assert find(names(), lambda s: " " in s) == "a a"


def test_minimize_gives_each_made_path_a_one_letter_name() -> None:
    # norecurse misses a file made in a new directory; the names play no part in that.
    t = Tree()
    steps = [t.create("", "zzz top ñé", b"x"), t.mkdir("", "-some dir")]
    steps.append(t.create("-some dir", "long file name", b"x"))
    cmd, mode, options = [str(broken("norecurse"))], local(), Options()
    found = replay(cmd, mode, options, steps)
    assert found is not None and len(found.steps) == 3
    shrunk = minimize(cmd, mode, options, found, tries=1)
    assert [s.label for s in shrunk.steps] == ["mkdir 'a'", "create 'a/a' with 1 bytes"], shrunk
    assert str(shrunk.verdict.missing[0]) == "create or rename for 'a/a' (path appeared)"


@pytest.mark.parametrize("name", ["droprename", "statdrop"])
def test_an_unshrunk_failing_run_still_reports_one_letter_names(name: str, tmp_path: Path) -> None:
    # No Hypothesis shrink (as when a race's budget runs out): the kit's minimizer alone.
    no_shrink = (Phase.explicit, Phase.reuse, Phase.generate)
    with pytest.raises(WatcherCheckFailed) as caught:
        check_watcher([str(broken(name))], local(), hyp=quick(phases=no_shrink, derandomize=True),
                      artifacts=tmp_path)
    failure = caught.value.step_failure
    assert failure is not None
    # Every name Hypothesis drew is one letter now; the churn's own names (a burst's
    # files, an atomic save's temporary) stay as they are.
    paths = {e.path for s in failure.steps for e in s.expects}
    paths |= {x for s in failure.steps for p in s.prims for x in (p.path, p.dest)
              if (x and p.verb != "symlink") or x == p.path}
    drawn = {part for x in paths for part in x.split("/")}
    drawn = {n for n in drawn if not re.fullmatch(r"burst\d+|sub|\..*\.swp", n)}
    assert all(len(n) == 1 for n in drawn), str(caught.value)
    script = caught.value.script
    assert script is not None and repr(failure.verdict.missing[0].path) in script.read_text()


FAST_INI = """
[pytest]
fynecheck_watcher_max_examples = 15
fynecheck_watcher_stateful_step_count = 20
"""


def test_replay_scripts_of_two_apps_watchers_do_not_overwrite_each_other(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A monorepo: one ini (so one rootdir and one .pytest_cache) and two apps, each with
    # its own ./watch. The command line is the same; the watchers are not.
    pytester.makeini(FAST_INI)
    scripts: dict[str, Path] = {}
    texts: dict[str, str] = {}
    for app, bug in (("app1", "droprename"), ("app2", "statdrop")):
        where = pytester.mkdir(app)
        shutil.copy2(broken(bug), where / "watch")
        monkeypatch.chdir(where)
        result = pytester.runpytest_subprocess("--fynecheck-watcher", "./watch {root}")
        result.assert_outcomes(failed=1)
        out = result.stdout.str()
        m = re.search(r"replay it on its own.*: sh (\S+)", out)
        assert m is not None, out
        scripts[app] = Path(shlex.split(m.group(1))[0])
        texts[app] = scripts[app].read_text(encoding="utf-8")
        assert scripts[app].parent == pytester.path / ".pytest_cache" / "d" / "fynecheck", out
    assert scripts["app1"] != scripts["app2"], scripts
    for app, script in scripts.items():
        assert script.read_text(encoding="utf-8") == texts[app], f"{app}'s script was overwritten"
        assert script.name.startswith(f"watcher-replay-watch-{app}-local-"), script
