"""pytest-fynecheck: can this machine build and show a Fyne app; do watchers and embeds hold."""

from pathlib import Path

# Probe programs (C and Go sources) shipped with the package.
PROBES_DIR = Path(__file__).resolve().parent / "probes"
