"""The run's Hypothesis seed, in pytest-randomly's manner: `--hypothesis-seed` (Hypothesis's
own option) when given, else one chosen by the controller, sent to the xdist workers, and
named in the header, so `--hypothesis-seed=N` repeats the run. It seeds the kit's Hypothesis
runs (watcher, reload) unless the profile derandomizes them (Hypothesis's `ci` profile,
under CI=true): then no seed is used, as Hypothesis itself does with a forced seed.
Choosing one imports nothing; reading the profile imports Hypothesis, so only a run that
uses it asks."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import pytest

from pytest_fynecheck.plan.settings import settings

if TYPE_CHECKING:
    from hypothesis import settings as hyp_settings

_SEED = pytest.StashKey[int | str]()
_WORKER_KEY = "fynecheck_hypothesis_seed"


def run_seed(config: pytest.Config) -> int | str:
    """The seed of this run, the same in every process of it."""
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


def seed_for(config: pytest.Config, hyp: hyp_settings) -> int | str | None:
    """What a kit's Hypothesis run is seeded with: none when `hyp` derandomizes."""
    return None if hyp.derandomize else run_seed(config)


def uses_hypothesis(config: pytest.Config) -> bool:
    """The run checks a watcher or reload tool (items, or a fixture's default command)."""
    s = settings(config)
    return bool(s.watcher.command.default or s.reload.command.default)


def describe(config: pytest.Config) -> str:
    """The header's words on the seed (imports Hypothesis: call it only when it is used)."""
    from hypothesis import settings as hyp_settings

    profile = hyp_settings.get_current_profile_name()
    loaded = hyp_settings.default
    assert loaded is not None  # a profile is always loaded once Hypothesis is imported
    if loaded.derandomize:
        return f"Hypothesis derandomized (profile {profile!r}): no seed"
    seed = run_seed(config)
    return f"Hypothesis seed {seed} (--hypothesis-seed={seed} repeats it)"


@pytest.hookimpl(optionalhook=True)  # an xdist hook: without xdist it is never called
def pytest_configure_node(node: Any) -> None:
    node.workerinput[_WORKER_KEY] = run_seed(node.config)


def _int_or_str(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text  # Hypothesis takes any hashable seed, as its own option does
