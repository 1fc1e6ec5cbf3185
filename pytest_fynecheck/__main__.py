"""`python -m pytest_fynecheck merge *.json` (the only subcommand)."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "merge":
        print("usage: python -m pytest_fynecheck merge FILE.json... [-o OUT] [--summary PATH]",
              file=sys.stderr)
        return 2
    from pytest_fynecheck.matrix.merge import main as merge

    return merge(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
