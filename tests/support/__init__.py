"""Facts and helpers the tests share, in one place: the sample app (`sample`), the
environment test runs keep warm (`env`), and each area's helpers (`display`, `watcher`,
`reload`, `drift`, `interrupt`, `proc`, `dind`, `wheel`, `workflow`).
Imported as `support.*`: the rootdir conftest puts tests/ on sys.path.
Facts the kit owns (its suites: `pytest_fynecheck.containers.images.SUITES`) come from the
kit, not from here. Importing it runs no command: what costs one is computed on first use."""
