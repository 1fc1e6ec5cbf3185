"""The run's Hypothesis seed, in pytest-randomly's manner: `--hypothesis-seed` (Hypothesis's
own option) when given, else one the controller picks and sends to the xdist workers; the
header names it, so `--hypothesis-seed=N` repeats the run. Only in a run that uses
Hypothesis (a watcher or reload command is set): choosing imports nothing, applying and
naming it import Hypothesis. A profile that derandomizes (Hypothesis's `ci`, under CI=true)
wins over any seed, as in Hypothesis itself; the header then says so."""

from __future__ import annotations

import random
from typing import Any

import pytest

from pytest_fynecheck.plan.settings import settings

_SEED = pytest.StashKey[int | str]()
_WORKER_KEY = "fynecheck_hypothesis_seed"


def uses_hypothesis(config: pytest.Config) -> bool:
    """The run checks a watcher or reload tool (as items, or a fixture's default command)."""
    s = settings(config)
    return bool(s.watcher.command.default or s.reload.command.default)


def run_seed(config: pytest.Config) -> int | str:
    """This run's seed, the same in every process of it."""
    if _SEED not in config.stash:
        given = config.getoption("hypothesis_seed", None)
        worker = getattr(config, "workerinput", None)
        if given is not None:
            seed: int | str = _int_or_str(str(given))
        elif worker is not None and _WORKER_KEY in worker:
            seed = worker[_WORKER_KEY]
        else:
            seed = random.SystemRandom().randrange(2**32)
        config.stash[_SEED] = seed
    return config.stash[_SEED]


def describe(config: pytest.Config) -> str:
    """The header's words on the seed."""
    from hypothesis import settings as hyp_settings

    loaded = hyp_settings.default
    assert loaded is not None  # a profile is always loaded once Hypothesis is imported
    if loaded.derandomize:
        profile = hyp_settings.get_current_profile_name()
        return f"Hypothesis derandomized (profile {profile!r}): no seed"
    seed = run_seed(config)
    return f"Hypothesis seed {seed} (--hypothesis-seed={seed} repeats it)"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Seed every Hypothesis run of this process (the kit's watcher and reload, a user's
    own tests) as `--hypothesis-seed` does; Hypothesis's plugin did it when that was given.
    An xdist controller runs no test and collects nothing, so never gets here."""
    config = session.config
    if not uses_hypothesis(config) or config.getoption("hypothesis_seed", None) is not None:
        return
    from hypothesis import core

    hyp_core: Any = core  # typed None there: its plugin sets it the same way
    before = hyp_core.global_force_seed
    hyp_core.global_force_seed = run_seed(config)

    def restore() -> None:  # an in-process run (pytester) leaves the next one unseeded
        hyp_core.global_force_seed = before

    config.add_cleanup(restore)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: without xdist it is never called
def pytest_configure_node(node: Any) -> None:
    node.workerinput[_WORKER_KEY] = run_seed(node.config)


def _int_or_str(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text  # Hypothesis takes any hashable seed, as its own option does
