"""pytest-fynecheck: can this machine build and show a Fyne app; do watchers and embeds hold."""
