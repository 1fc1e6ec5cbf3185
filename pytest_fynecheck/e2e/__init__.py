"""Users' own end-to-end tests of their app: the `fyne_app` fixture (plugin.py) builds,
launches and drives the app on a real display (app.py)."""
