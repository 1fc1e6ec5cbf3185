"""What the kit puts in JUnit XML: which artifacts are attached, and the test case's
classname (issue 22 item 12)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import run_fynecheck

ATTACHMENT = re.compile(r"\[\[ATTACHMENT\|(.*?)\]\]")


@pytest.mark.parametrize("logging", ["no", "system-out"])
def test_junit_attaches_the_screenshot_not_the_app_binary_under_fynecheck_context(
    pytester: pytest.Pytester, hello: Path, tmp_path: Path, logging: str
) -> None:
    """Before: the built app (31 MB for a real app) was an [[ATTACHMENT|…]] of app.build,
    which CI then copies per check; and the classname was `.fynecheck` (the nodeid's root)."""
    junit = tmp_path / "junit.xml"
    run = run_fynecheck(pytester, hello, "-k", "app.build or app.window",
                        f"--junitxml={junit}", "-o", f"junit_logging={logging}")
    assert run.ret == 0, run
    binary = run.checks["app.build"]["artifacts"]["binary"]
    shot = run.checks["app.window"]["artifacts"]["screenshot"]
    assert Path(binary).is_file() and Path(shot).is_file()

    cases = {c.get("name"): c for c in ET.parse(junit).iter("testcase")}
    assert set(cases) == {"app.build", "app.window"}, set(cases)
    attached = {
        name: ATTACHMENT.findall("".join(o.text or "" for o in case.iter("system-out")))
        for name, case in cases.items()
    }
    assert attached == {"app.build": [], "app.window": [shot]}, attached
    # The binary's path is still said, as a property: only the copy is gone.
    props = {p.get("name"): p.get("value") for p in cases["app.build"].iter("property")}
    assert props["fynecheck.artifact.binary"] == binary
    assert {c.get("classname") for c in cases.values()} == {"fynecheck.host"}


def test_junit_classname_of_a_users_own_test_is_left_alone(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """Only the kit's items read `fynecheck.…`: a user's test keeps pytest's classname."""
    pytester.makepyfile(test_user="def test_mine():\n    pass\n")
    junit = tmp_path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:xdist", f"--junitxml={junit}"
    )
    assert result.ret == 0, result.outlines
    (case,) = ET.parse(junit).iter("testcase")
    assert case.get("classname") == "test_user" and case.get("name") == "test_mine"
