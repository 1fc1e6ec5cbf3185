"""glibc portability between suites, for real: a binary built on trixie against bullseye."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from conftest import start_suite
from support.sample import ROOT

from pytest_fynecheck.checks.glibc import glibc_portability
from pytest_fynecheck.containers.context import ContainerContext
from pytest_fynecheck.containers.images import SUITES
from pytest_fynecheck.core.model import CheckFailed, CheckWarning, Needs, Result, Status

STRLCPY = ROOT / "fixtures" / "portability" / "strlcpy"


def _built_on(suite: str, tmp: Path) -> tuple[ContainerContext, Path]:
    project = tmp / suite
    shutil.copytree(STRLCPY, project)
    ctx = start_suite(suite, tmp / f"scratch-{suite}", project=project)
    exe = ctx.scratch / "strlcpy"  # the project is read-only in a suite container
    done = ctx.run(["go", "build", "-o", str(exe), "."], timeout=600)
    assert done.ok, done.output
    return ctx, exe


def _needs(exe: Path) -> Needs:
    """What the runner hands glibc.portability: app.build's result, with its binary."""
    return {"app.build": Result("app.build", "", Status.OK, artifacts={"binary": str(exe)})}


@pytest.mark.slow
def test_built_on_trixie_is_caught_before_bullseye_refuses_it(tmp_path: Path) -> None:
    trixie, exe = _built_on("trixie", tmp_path)
    bullseye = start_suite("bullseye", tmp_path / "scratch-run", readonly=[exe.parent])
    try:
        trixie.settings = dataclasses.replace(
            trixie.settings, glibc_suites=tuple(SUITES), glibc_named=True
        )
        with pytest.raises(CheckFailed) as caught:
            glibc_portability(trixie, _needs(exe))
        detail = caught.value.detail
        assert "built on trixie, will not start on bullseye: needs GLIBC_2.32, GLIBC_2.34, " \
            "GLIBC_2.38 (bullseye's libc.so.6 defines up to GLIBC_2.30)" in detail, detail
        assert "will not start on bookworm: needs GLIBC_2.38 (bookworm's libc.so.6 defines " \
            "up to GLIBC_2.36)" in detail, detail
        assert not isinstance(caught.value, CheckWarning)  # named in the ini: a failure

        # What the check predicts is what bullseye's loader does.
        ran = bullseye.run([str(exe)], timeout=60)
        assert ran.returncode != 0
        assert "version `GLIBC_2.38' not found" in ran.output, ran.output

        # Suites from --fynecheck-os only: the same finding, as a warning.
        trixie.settings = dataclasses.replace(
            trixie.settings, glibc_suites=("bullseye", "trixie"), glibc_named=False
        )
        with pytest.raises(CheckWarning):
            glibc_portability(trixie, _needs(exe))
    finally:
        trixie.close()
        bullseye.close()


@pytest.mark.slow
def test_built_on_bullseye_starts_on_newer_suites_as_the_hint_says(tmp_path: Path) -> None:
    bullseye, exe = _built_on("bullseye", tmp_path)
    trixie = start_suite("trixie", tmp_path / "scratch-run", readonly=[exe.parent])
    try:
        bullseye.settings = dataclasses.replace(
            bullseye.settings, glibc_suites=("bookworm", "trixie"), glibc_named=True
        )
        found = str(glibc_portability(bullseye, _needs(exe)))
        assert "starts on bookworm, trixie (built on bullseye)" in found, found
        ran = trixie.run([str(exe)], timeout=60)
        assert ran.stdout.strip() == "copied 9 fyneche", ran.output
    finally:
        bullseye.close()
        trixie.close()
