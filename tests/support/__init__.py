"""Facts the tests share, in one place: the sample app (`sample`) and the environment test
runs keep warm (`env`). Imported as `support.*`: the rootdir conftest puts tests/ on sys.path.
Facts the kit owns (its suites: `pytest_fynecheck.containers.images.SUITES`) come from the
kit, not from here. Importing it runs no command: what costs one is computed on first use."""
