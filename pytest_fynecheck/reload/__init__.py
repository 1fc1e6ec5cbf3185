"""The reload oracle: does a hot-reload tool (air, wgo, gow, yours) end up running the
code on disk? No protocol is asked of the tool.

`probe` generates the app it reloads, `churn` the edits, `sandbox` runs the tool on a
tree and observes it, `oracle` judges quiescence, `machine` is the Hypothesis state
machine, `harness.check_reloader` the entry point, `plugin` the pytest side.
"""
