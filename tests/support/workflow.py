"""A small local runner for examples/fynecheck-matrix.yml: the `run:` steps of its jobs, in
bash, with GitHub's expressions, outputs, job matrix and step summary done as Actions does.

Only what the workflow uses is supported; anything else is an error, so the test can never
run a step other than the one written. `uses:` steps (checkout, setup-go, artifacts) are the
machine's or the runner's job here: the project is the cwd, Go is installed, and every job
shares one directory, as the artifact steps make it on GitHub.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pytest_fynecheck.toolchain.gotool import version_tuple

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclasses.dataclass
class StepRun:
    job: str
    name: str
    command: str
    returncode: int
    output: str
    seconds: float


class LocalWorkflow:
    def __init__(self, path: Path, workdir: Path, env: Mapping[str, str]) -> None:
        self.doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.workdir = workdir
        self.env = {**env, **{k: str(v) for k, v in (self.doc.get("env") or {}).items()}}
        self.outputs: dict[str, dict[str, str]] = {}
        self.steps: list[StepRun] = []
        self.summary = workdir / "step-summary.md"

    def job(self, name: str) -> dict[str, Any]:
        job: dict[str, Any] = self.doc["jobs"][name]
        return job

    def matrix(self, job: str) -> list[dict[str, Any]]:
        """The job's strategy.matrix, evaluated: `fromJSON(needs.JOB.outputs.NAME)`."""
        expr = self.job(job)["strategy"]["matrix"]
        m = _EXPR.fullmatch(str(expr).strip())
        assert m, f"{job}: strategy.matrix is not one expression: {expr!r}"
        call = re.fullmatch(r"fromJSON\((.+)\)", m.group(1))
        assert call, f"{job}: unsupported matrix expression {m.group(1)!r}"
        value = json.loads(self._value(call.group(1), {}))
        include: list[dict[str, Any]] = value["include"]
        assert set(value) == {"include"}, f"other keys would become matrix axes: {value}"
        return include

    def run_job(self, job: str, matrix: Mapping[str, Any] | None = None, index: int = 0
                ) -> bool:
        """Run the job's `run:` steps (not `Install ...` ones); True when all passed."""
        ctx = {"matrix": dict(matrix or {}), "strategy.job-index": str(index)}
        outputs_file = self.workdir / f".github-output-{job}-{index}"
        outputs_file.write_text("")
        ok = True
        for step in self.job(job)["steps"]:
            if "run" not in step or str(step.get("name", "")).startswith("Install"):
                continue
            if not ok and "always()" not in str(step.get("if", "")):
                break
            command = _EXPR.sub(lambda m: self._value(m.group(1), ctx), str(step["run"]))
            env = {**self.env, "GITHUB_OUTPUT": str(outputs_file),
                   "GITHUB_STEP_SUMMARY": str(self.summary), "CI": "true"}
            start = time.monotonic()
            done = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", command], cwd=self.workdir, env=env,
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1500,
            )
            self.steps.append(StepRun(job, str(step.get("name", "")), command, done.returncode,
                                      done.stdout + done.stderr,
                                      round(time.monotonic() - start, 1)))
            ok = ok and done.returncode == 0
            if "id" in step:
                self.outputs[step["id"]] = _read_outputs(outputs_file)
        return ok

    def _value(self, expr: str, ctx: Mapping[str, Any]) -> str:
        if m := re.fullmatch(r"matrix\.([\w-]+)", expr):
            return str(ctx["matrix"][m.group(1)])
        if expr == "strategy.job-index":
            return str(ctx[expr])
        if m := re.fullmatch(r"(?:steps\.([\w-]+)|needs\.([\w-]+))\.outputs\.([\w-]+)", expr):
            if m.group(1):
                return self.outputs[m.group(1)][m.group(3)]
            # needs.JOB.outputs.NAME: the job maps NAME to a step output expression
            mapping = self.job(m.group(2))["outputs"][m.group(3)]
            inner = _EXPR.fullmatch(mapping.strip())
            assert inner, mapping
            return self._value(inner.group(1), ctx)
        raise AssertionError(f"the local runner does not know the expression {expr!r}")


def _read_outputs(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def proxy_releases(cache_env: Mapping[str, str]) -> list[str]:
    """Releases for linux/amd64 as the real `go list -m -versions` gives them, oldest first."""
    done = subprocess.run(
        ["go", "list", "-m", "-json", "-versions", "golang.org/toolchain"],
        capture_output=True, text=True, check=True, timeout=120, cwd="/",
        env={**tool_env(cache_env), "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"},
    )
    found = [
        v.removeprefix("v0.0.1-").removesuffix(".linux-amd64")
        for v in json.loads(done.stdout)["Versions"]
        if v.endswith(".linux-amd64")
    ]
    return sorted((v for v in found if re.fullmatch(r"go\d+\.\d+(\.\d+)?", v)),
                  key=version_tuple)


def tool_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This test run's environment: the venv's pytest and python first on PATH."""
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, **extra, "PATH": bindir + os.pathsep + os.environ["PATH"]}
