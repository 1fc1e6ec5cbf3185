"""Watcher correctness: property-based file churn against a watcher command (protocol v1).

`harness.check_watcher` is the entry point; `plugin` wires it into pytest.
"""
