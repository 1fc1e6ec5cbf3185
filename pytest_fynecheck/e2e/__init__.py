"""Real-window tests of users' own apps: the fyne_app fixture, baselines, comparison."""
