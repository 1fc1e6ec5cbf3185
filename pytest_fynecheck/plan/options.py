"""Every command-line option, ini setting and marker the kit has, in one place: the
entry point's pytest_addoption and pytest_configure call these. What they mean once
read and checked is settings.py."""

from __future__ import annotations

import inspect
import os
import shlex
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from _pytest.config.findpaths import determine_setup

from pytest_fynecheck.containers.images import SUITES
from pytest_fynecheck.core.context import ContextSettings
from pytest_fynecheck.displays.servers import KINDS
from pytest_fynecheck.reload import options as reload
from pytest_fynecheck.watcher import options as watcher

GROUP = "fynecheck"

def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "Fyne readiness, watcher and drift checks")
    _core(parser, group)
    _containers(parser, group)
    _matrix(parser, group)
    _drift(parser, group)
    _watcher(parser, group)
    _reload(parser, group)
    _baselines(parser, group)


def add_markers(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)


MARKERS = (
    "fyne_ready(checks=None): run these readiness checks (default: every required one) "
    "before the test; the test errors with the report when one fails",
    f"fyne_display(*kinds): run the test once per display kind ({', '.join(KINDS)}); "
    "the fyne_display fixture gives each test its display",
    "fyne_os(*suites): run the test once per Debian suite "
    f"({', '.join(SUITES)}); the fyne_container fixture gives each its container",
    "fyne_drift(binary=None, project=None): before the test, check BINARY against "
    "PROJECT (default: --fynecheck-binary and the fynecheck project); the test errors "
    "with the drift report when they differ",
    "fyne_watcher(cmd=None, modes=None): before the test, check the watcher command "
    "(default: --fynecheck-watcher) in these modes (default: local) with property-based "
    "file churn; with the fyne_watcher fixture, the test runs the check itself",
    "fyne_reload(cmd=None, modes=None): before the test, check the hot-reload command "
    "(default: --fynecheck-reload) in these modes (default: local) with property-based "
    "churn of a probe app; with the fyne_reload fixture, the test runs the check itself",
    "fyne_web: fyne_app builds the app for js/wasm and drives it in headless Chromium "
    "(its baselines: backend chromium)",
)


# -- readiness checks, the project, the host display ------------------------------------


def _core(parser: pytest.Parser, group: pytest.OptionGroup) -> None:
    group.addoption(
        "--fynecheck",
        action="store_true",
        help="collect one item per readiness check and print a doctor-style report",
    )
    group.addoption(
        "--fynecheck-package",
        action="store_true",
        help="run the package.* checks (fyne package -os linux, installed and validated) "
        "even when the project has no FyneApp.toml",
    )
    group.addoption(
        "--fynecheck-gl-minimum",
        action="store_true",
        help="run gl.minimum and gl.minimum.gles: bisect the lowest OpenGL (and, built with "
        "-tags gles, OpenGL ES) version the app draws its first frame at, on Mesa's llvmpipe",
    )
    group.addoption(
        "--fynecheck-json",
        metavar="PATH",
        help="write the check results as JSON to PATH",
    )
    group.addoption(
        "--fynecheck-display",
        choices=("auto", "host", "xvfb"),
        default=None,
        help="auto: use DISPLAY (WAYLAND_DISPLAY for -tags wayland) if it answers, else a "
        "private Xvfb (weston on Xvfb); host: that display only; xvfb: always the private one "
        "(default: ini fynecheck_display or auto)",
    )
    group.addoption(
        "--fynecheck-project",
        metavar="DIR",
        help="the Fyne project to check (default: ini fynecheck_project or the current directory)",
    )
    parser.addini("fynecheck_project", "the Fyne project to check", default="")
    parser.addini("fynecheck_display", "auto, host or xvfb", default="auto")
    parser.addini("fynecheck_tags", "Go build tags the app is built with", type="args")
    parser.addini(
        "fynecheck_window_title",
        "title of the app's main window (default: any window the app opens)",
        default="",
    )
    parser.addini(
        "fynecheck_package",
        "the main package to build, as `go build` takes it (e.g. ./cmd/NAME), relative to "
        "the project directory (default: `.`, or the only main package below it)",
        default="",
    )
    parser.addini("fynecheck_app_args", "arguments app.window starts the app with", type="args")
    parser.addini("fynecheck_window_timeout", "seconds to wait for the app's window",
                  default=f"{ContextSettings.window_timeout:g}")
    parser.addini("fynecheck_timeout", "seconds any one external command may take", default="900")
    parser.addini(
        "fynecheck_glibc_suites",
        "Debian suites the built app must start on (glibc.portability fails, not warns)",
        type="args",
    )
    parser.addini(
        "fynecheck_package_suites",
        "Debian suites package.install installs the packaged app on, each in its runtime-only "
        "image (default: --fynecheck-os's Linux suites, else this machine's own suite)",
        type="args",
    )
    group.addoption(
        "--fynecheck-cache-size",
        metavar="SIZE",
        help="bound of the kit's build cache, all projects together, e.g. 2G or 500M; the "
        "least recently used builds go first (default: ini fynecheck_cache_size or 2G)",
    )
    parser.addini(
        "fynecheck_cache_size",
        "bound of the kit's build cache, all projects together (e.g. 2G, 500M)",
        default="2G",
    )


# -- suite containers and their reproducers -----------------------------------------------


def _containers(parser: pytest.Parser, group: pytest.OptionGroup) -> None:
    group.addoption(
        "--fynecheck-os",
        metavar="SUITES",
        help=f"also run the readiness checks inside containers of these Debian suites "
        f"(comma-separated: {', '.join(SUITES)}; SUITE-no-gl-dev for the variant without GL "
        "headers; SUITE-windows cross-builds for Windows and runs the .exe under Wine in "
        "the container); needs a Docker engine. `windows` alone: the same on this host",
    )
    group.addoption(
        "--fynecheck-reproducer",
        metavar="DIR",
        help="for each check that fails in a container, write a directory under DIR that "
        "rebuilds the image and replays the failing command",
    )
    group.addoption(
        "--fynecheck-reproducer-save",
        action="store_true",
        help="also put a `docker save` archive of the image in each reproducer",
    )
    parser.addini(
        "fynecheck_os",
        "suite the fyne_container fixture uses when no fyne_os marker names one",
        default="bookworm",
    )


# -- the matrix: Go toolchains, CI shards, the summary page ------------------------------


def _matrix(parser: pytest.Parser, group: pytest.OptionGroup) -> None:
    group.addoption(
        "--fynecheck-go",
        metavar="VERSIONS",
        help="run the checks with each of these Go toolchains (comma-separated: 1.22 = its "
        "latest patch, 1.24.3, stable = the newest release, local = no toolchain pinned), fetched "
        "as golang.org/toolchain modules through the module proxy (default: ini fynecheck_go, "
        "else local only)",
    )
    group.addoption(
        "--fynecheck-shard",
        metavar="I/N",
        help="run only shard I of N of the matrix's cells (one cell each when N is the number "
        "of cells, as --fynecheck-matrix-json gives them)",
    )
    group.addoption(
        "--fynecheck-matrix-json",
        action="store_true",
        help="print the matrix (suite x Go x target) as one line of JSON for GitHub Actions' "
        "strategy.matrix (fromJSON) and exit",
    )
    group.addoption(
        "--fynecheck-summary",
        metavar="PATH",
        help="write a one-page summary (Markdown; HTML for .html) with screenshot thumbnails; "
        "it is also appended to $GITHUB_STEP_SUMMARY when that is set",
    )
    parser.addini("fynecheck_go", "Go toolchains to run the checks with", default="")


# -- embed vs reload drift of a built binary -----------------------------------------------


def _drift(parser: pytest.Parser, group: pytest.OptionGroup) -> None:
    group.addoption(
        "--fynecheck-binary",
        metavar="PATH",
        help="with --fynecheck: check this built binary for drift against the project "
        "(default: ini fynecheck_binary)",
    )
    parser.addini("fynecheck_binary", "built binary to check for drift", default="")
    parser.addini(
        "fynecheck_drift_unknown",
        "what an aspect that cannot be compared (e.g. no vcs info) does: skip or fail",
        default="skip",
    )


# -- a user's command checked in modes (watcher, reload): the names they share ----------


def _command(
    parser: pytest.Parser, group: pytest.OptionGroup, name: str, *, command: str, modes: str,
    ini: str,
) -> None:
    """`--fynecheck-NAME CMD`, `--fynecheck-NAME-mode`, ini `fynecheck_NAME` and its modes."""
    group.addoption(f"--fynecheck-{name}", metavar="CMD", help=command)
    group.addoption(f"--fynecheck-{name}-mode", action="append", metavar="MODE", help=modes)
    parser.addini(f"fynecheck_{name}", ini, default="")
    parser.addini(
        f"fynecheck_{name}_modes", f"modes for {name} items", type="args", default=["local"]
    )


def _watcher(parser: pytest.Parser, group: pytest.OptionGroup) -> None:
    _command(
        parser,
        group,
        "watcher",
        command="check this file-watcher command (watcher protocol v1); {root} is replaced by "
        "the watched directory, or it is appended; or a built-in: inotifywait, fswatch, "
        "watchman, fsnotify (the project's own fsnotify version) (default: ini fynecheck_watcher)",
        modes="where to check the watcher: local, container:SUITE, bind:SUITE (churn on the host, "
        "watcher in the container) or bind:SUITE:reverse (repeatable; default: ini "
        "fynecheck_watcher_modes)",
        ini="file-watcher command to check",
    )
    parser.addini(
        "fynecheck_watcher_max_examples",
        "Hypothesis max_examples for the watcher check (default: the loaded profile's "
        f"when it sets one, else {watcher.DEFAULT_MAX_EXAMPLES})",
        default="",
    )
    parser.addini(
        "fynecheck_watcher_stateful_step_count",
        "Hypothesis stateful_step_count for the watcher check (default: the loaded "
        f"profile's when it sets one, else {watcher.DEFAULT_STEPS})",
        default="",
    )
    parser.addini(
        "fynecheck_watcher_strict",
        "also fail on events for paths the churn never touched",
        type="bool",
        default=False,
    )
    parser.addini(
        "fynecheck_watcher_fail_on_declared_loss",
        'fail when the watcher prints {"error": ...} (a declared loss); when false it is '
        "reported as a warning",
        type="bool",
        default=True,
    )
    parser.addini(
        "fynecheck_watcher_timeout",
        "seconds to wait for ready and for each barrier cookie",
        default="10",
    )
    parser.addini(
        "fynecheck_watcher_grace",
        "seconds to keep listening after each barrier cookie",
        default=str(watcher.Options.grace),
    )


def _reload(parser: pytest.Parser, group: pytest.OptionGroup) -> None:
    _command(
        parser,
        group,
        "reload",
        command="check this hot-reload command, run in a generated probe app, not in your "
        "project ({root} is the probe's directory); air, wgo and gow mean the kit's pinned "
        "installs, NAME@VERSION another version (default: ini fynecheck_reload)",
        modes="where the tool runs: local, or bind:SUITE (in a suite container, the tree on "
        "a bind mount) (repeatable; default: ini fynecheck_reload_modes)",
        ini="hot-reload command to check",
    )
    parser.addini("fynecheck_reload_max_examples",
                  "Hypothesis max_examples for the reload check "
                  f"(default {reload.DEFAULT_MAX_EXAMPLES})",
                  default=str(reload.DEFAULT_MAX_EXAMPLES))
    parser.addini("fynecheck_reload_stateful_step_count",
                  f"most churn steps per example (default {reload.DEFAULT_STEPS})",
                  default=str(reload.DEFAULT_STEPS))
    parser.addini("fynecheck_reload_quiet",
                  "seconds with no build and no restart that count as quiescence (longer "
                  "than the tool's debounce: air waits 1 s)", default=str(reload.Options.quiet))
    parser.addini("fynecheck_reload_timeout", "seconds for the tool's first start of the app",
                  default=str(reload.Options.start_timeout))


# -- screenshots compared with baselines (e2e/baselines.py) ---------------------------------


def _baselines(parser: pytest.Parser, group: pytest.OptionGroup) -> None:
    group.addoption(
        "--fynecheck-update-baselines",
        action="store_true",
        help="assert_looks_like writes each baseline (tests/fynecheck-baselines/BACKEND/"
        "NAME.png) from this run's screenshot and passes, instead of comparing",
    )
    parser.addini(
        "fynecheck_baseline_tolerance",
        "share of a screenshot's pixels (0 to 1) that may differ from its baseline (by more "
        "than 4 levels, 24 on edges) when a test gives no tolerance",
        default="0",
    )


# -- a path option's value after a space, which pytest took for a test path --------------


def check_space_form(config: pytest.Config, parser: pytest.Parser) -> None:
    """`--fynecheck-binary PATH` must mean what `--fynecheck-binary=PATH` does.

    pytest picks its rootdir and ini file before it loads any plugin, so it does not know
    the kit's options then: the PATH after the space is taken for a test path, and the ini
    is looked for from PATH's folder (the project's ini is then silently ignored). Now that
    the options are known, the choice is made again without those values; when it differs,
    the run stops here, before any check, saying what to write."""
    given = [*shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
             *map(str, config.invocation_params.args)]
    spaced = [(opt, value) for opt, value in pairwise(given)
              if opt in _VALUE_OPTIONS and not value.startswith("-")
              and Path(config.invocation_params.dir, value).exists()]  # pytest skips the rest
    if not spaced:
        return
    ns = parser.parse_known_args(given)
    setup = partial(_setup, config, ns)
    meant, taken = setup(ns.file_or_dir), (config.rootpath, config.inipath)
    if meant == taken:
        return
    if setup([*ns.file_or_dir, *(value for _, value in spaced)]) != taken:
        return  # not (only) ours: another plugin's option, say
    raise pytest.UsageError(
        "; ".join(f"{opt} {value}" for opt, value in spaced)
        + ": pytest took the value for a test path while it looked for its ini file, so it "
        f"used {_describe(*taken)} instead of {_describe(*meant)}; write "
        + " ".join(f"{opt}={shlex.quote(value)}" for opt, value in spaced)
    )


# Options that take a value (the rest are flags). tests/test_settings.py checks the list.
_VALUE_OPTIONS = frozenset(
    f"--fynecheck-{name}"
    for name in (
        "json", "display", "project", "os", "reproducer", "go", "shard", "summary", "binary",
        "watcher", "watcher-mode", "reload", "reload-mode", "cache-size",
    )
)


def _setup(config: pytest.Config, ns: Any, args: list[str]) -> tuple[Path, Path | None]:
    """pytest's rootdir and ini file for these test paths and the run's other arguments."""
    given = {
        "inifile": ns.inifilename,
        "override_ini": ns.override_ini,  # pytest >= 9 only
        "args": args,
        "rootdir_cmd_arg": ns.rootdir or None,
        "invocation_dir": config.invocation_params.dir,
    }
    takes = inspect.signature(determine_setup).parameters
    found = determine_setup(**{k: v for k, v in given.items() if k in takes})
    return found[0], found[1]


def _describe(rootdir: Path, ini: Path | None) -> str:
    return f"rootdir {rootdir} with {f'ini file {ini}' if ini else 'no ini file'}"
