"""Real-window tests of users' own apps: the `fyne_app` fixture (plugin.py) builds,
launches and drives the app on a real display (app.py); baselines and their comparison
(baselines.py, compare.py)."""
