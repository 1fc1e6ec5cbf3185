"""Layer: the session, runner, items and the report."""
