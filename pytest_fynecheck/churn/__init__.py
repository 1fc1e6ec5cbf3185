"""What the watcher check and the reload oracle share, below both: churn's file
operations and the agent that applies them elsewhere, replay scripts' common parts, and
running a Hypothesis state machine. It imports neither feature."""
