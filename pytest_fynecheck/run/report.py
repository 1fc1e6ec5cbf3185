"""The run's one report: the header line that says what the run is, and the one terminal
summary, rendered from sections (core/report.py's `Section`). The core's own section is
the checks and the verdict; features add theirs through `pytest_fynecheck_report_sections`
(hookspecs.py). Nothing else in the kit writes a summary."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pytest_fynecheck.checks import catalogue
from pytest_fynecheck.core import process
from pytest_fynecheck.core import report as model
from pytest_fynecheck.core.model import CheckFailed, Result
from pytest_fynecheck.core.workers import is_worker
from pytest_fynecheck.plan.settings import settings
from pytest_fynecheck.run import seed
from pytest_fynecheck.run.session import core
from pytest_fynecheck.toolchain.gotool import FYNE_MODULE, go_env, list_module


def pytest_report_header(config: pytest.Config) -> list[str]:
    """What the run is, in one line like pytest-randomly's; printed by the xdist controller
    (or the one process), never worked out on a worker."""
    if is_worker(config):
        return []
    parts = run_parts(config) if settings(config).core.fynecheck else []
    if seed.uses_hypothesis(config):
        parts.append(seed.describe(config))
    return ["fynecheck: " + "; ".join(parts)] if parts else []


def run_parts(config: pytest.Config) -> list[str]:
    """Project, contexts, Go and Fyne versions. The versions come from the host context's
    `go env -json` and `go list -m` probes, which go.version runs anyway: memoized on the
    runner's host context, so the checks reuse them (bench/report_header.py)."""
    lead = core(config)
    parts = [f"project {lead.project()}", f"contexts {', '.join(lead.context_names())}"]
    host = lead.runner().context("host")
    with ThreadPoolExecutor(1) as pool:  # the two go commands at once
        fyne = pool.submit(list_module, host, FYNE_MODULE)
        try:
            parts.append(f"Go {go_env(host)['GOVERSION']} (host)")
        except (CheckFailed, KeyError):
            parts.append("Go unknown (see go.version)")  # the check says why, with its fix
    try:
        parts.append(f"Fyne {_module_version(fyne.result())}")
    except CheckFailed as exc:  # e.g. "not a known dependency": Go's own words, short
        said = str(exc).splitlines()[0].partition(" failed: ")[2].removeprefix("go: ")
        parts.append(f"Fyne unknown ({said[:80]})")
    return parts


def _module_version(module: dict[str, Any]) -> str:
    """As `go list -m` prints it after the path: `v2.7.1`, `v2.7.1 => ../fyne`."""
    shown = module.get("Version") or "(main module)"
    replace = module.get("Replace")
    if replace:
        shown += " => " + " ".join(filter(None, (replace.get("Path"), replace.get("Version"))))
    return str(shown)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The kit's only terminal summary: every section, in `Section.order`. Not on an xdist
    worker: nobody sees its output, and its sections would write files (the JSON, summary
    pages) from a part of the results."""
    if is_worker(config):
        return
    added = config.hook.pytest_fynecheck_report_sections(config=config)
    features = [s for sections in added for s in sections]
    for section in render(config, features):
        if section.title:
            terminalreporter.write_sep("=", section.title)
        for line in section.lines:
            terminalreporter.write_line(line)


def render(config: pytest.Config, features: Iterable[model.Section]) -> list[model.Section]:
    """The sections to show, sorted; writes --fynecheck-json with every section's keys."""
    features = list(features)
    checks = _checks_section(config, features)
    shown = [s for s in [*features, *([checks] if checks else [])] if s.lines]
    return sorted(shown, key=model.Section.key)


def _checks_section(config: pytest.Config, features: list[model.Section]) -> model.Section | None:
    state = core(config)
    # Drift aspects have their own section, headed by the binary they compare.
    ids = list(catalogue())

    def rank(r: Result) -> tuple[int, str]:  # catalogue order, unknown ids last
        return (ids.index(r.id) if r.id in ids else len(ids), r.where)

    results = sorted((r for r in state.results if r.kind != "drift"), key=rank)
    stopped = process.interrupted()  # an interrupted run is never "ready"
    # Interrupted before any check ended: still say so, and write the JSON that says it.
    if not results and not (stopped and settings(config).core.fynecheck):
        return None
    lines = [*model.table(results, interrupted=stopped).splitlines(), state.cache_summary()]
    path = settings(config).core.json
    if path:
        extra: dict[str, Any] = {}
        for section in features:
            extra.update(section.json)
        extra.update(state.json_extra)  # the kit's own keys (build_cache) win
        text = model.to_json(results, extra, interrupted=stopped)
        Path(path).write_text(text, encoding="utf-8")
        lines.append(f"fynecheck: JSON written to {path}")
    return model.Section("fynecheck", tuple(lines), order=model.Order.CHECKS)

