"""Baselines: the screenshots a user's test compares against, kept in the user's repo at
ROOT/<backend>/<name>.png (ROOT is tests/fynecheck-baselines), and the assertion.

One baseline per backend: the renderers measured draw the same app pixel for pixel
(bench/compare.py), but a backend is free to differ (a font, a scale, Chromium's
SwiftShader), and a baseline per backend keeps the tolerance at what one renderer needs.
`--fynecheck-update-baselines` writes them from the run's screenshots.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest

from pytest_fynecheck.e2e.compare import Distance, UnreadableImage, compare, load

# ini fynecheck_baseline_tolerance's default: the share of pixels that may differ. The
# backends measured differ in no pixel beyond the per-pixel threshold, so none may.
DEFAULT_TOLERANCE = 0.0
# Where baselines live, under the user's repo (its rootdir).
ROOT = Path("tests") / "fynecheck-baselines"
UPDATE_OPTION = "--fynecheck-update-baselines"

# A name or backend is one path segment: it names a file and a folder in the user's repo.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class BaselineWritten(UserWarning):
    """--fynecheck-update-baselines wrote a baseline: the test passed without comparing."""


class BaselineError(Exception):
    """A baseline that cannot be written or read (the message names the file)."""


@dataclasses.dataclass(frozen=True)
class Images:
    """The files of one comparison, for the failure message and the report."""

    baseline: Path
    actual: Path
    diff: Path | None  # written when a pixel differs


def baseline_path(root: Path, backend: str, name: str) -> Path:
    for what, value in (("name", name), ("backend", backend)):
        if not _SEGMENT.match(value) or value.lower().endswith(".png"):
            raise ValueError(
                f"baseline {what} {value!r}: use letters, digits, '.', '_' and '-' (it names "
                f"a {'file' if what == 'name' else 'folder'} under {root}), without .png"
            )
    return root / backend / f"{name}.png"


def diff_path(actual: Path) -> Path:
    """Where the diff image of `actual` goes: beside it, so the report finds both."""
    return actual.with_name(f"{actual.stem}.diff.png")


def assert_looks_like(
    actual: Path, name: str, backend: str, *, root: Path, tolerance: float | None,
    update: bool,
) -> None:
    """Pass when `actual` is within `tolerance` (a share of pixels, 0..1; None: the
    default) of the baseline ROOT/BACKEND/NAME.png; with `update`, write the baseline from
    `actual` and pass (with a BaselineWritten warning that says so)."""
    limit = DEFAULT_TOLERANCE if tolerance is None else tolerance
    if not 0.0 <= limit <= 1.0:
        raise ValueError(f"tolerance {tolerance!r}: a share of pixels from 0 to 1")
    baseline = baseline_path(root, backend, name)
    if update:
        write_baseline(actual, baseline)
        warnings.warn(
            BaselineWritten(f"wrote baseline {baseline} from {actual} ({UPDATE_OPTION})"),
            stacklevel=2,
        )
        return
    check(actual, baseline, limit, name=name, backend=backend)


def check(actual: Path, baseline: Path, tolerance: float, *, name: str, backend: str) -> Images:
    """Compare; AssertionError when the baseline is missing or too far, BaselineError when
    a file cannot be read. The Images of a pass."""
    if not baseline.exists():
        # Named before the actual image is read: the user's next step is the same.
        raise AssertionError(
            f"no baseline for {name!r} on {backend}: {baseline} does not exist; run pytest "
            f"with {UPDATE_OPTION} to write it from this run's screenshot ({actual}), look "
            "at it, and commit it"
        )
    diff = diff_path(actual)
    diff.unlink(missing_ok=True)  # a diff of an earlier run is not this one's
    try:
        found = compare(baseline, actual, diff)
    except UnreadableImage as exc:
        if str(exc).startswith("baseline"):
            raise BaselineError(
                f"{exc}; restore it from version control, or write it again with "
                f"{UPDATE_OPTION}"
            ) from None
        raise BaselineError(str(exc)) from None
    images = Images(baseline, actual, diff if diff.exists() else None)
    if not found.within(tolerance):
        raise AssertionError(mismatch(name, backend, found, tolerance, images))
    return images


def mismatch(name: str, backend: str, found: Distance, tolerance: float, images: Images) -> str:
    return (
        f"{name!r} on {backend} does not look like its baseline: {found.describe()}; "
        f"tolerance {tolerance:.4%}\n"
        f"  baseline: {images.baseline}\n"
        f"  actual:   {images.actual}\n"
        f"  diff:     {images.diff} (the differing pixels marked on the faded baseline)\n"
        f"if the new look is right, run pytest with {UPDATE_OPTION} and commit the baseline"
    )


def write_baseline(actual: Path, baseline: Path) -> None:
    """Copy `actual` to `baseline` (an image Pillow reads; folders made as needed)."""
    try:
        load(actual, "actual image")
    except UnreadableImage as exc:
        raise BaselineError(f"{exc}; no baseline written to {baseline}") from None
    try:
        baseline.parent.mkdir(parents=True, exist_ok=True)
        temp = baseline.with_name(f".{baseline.name}.tmp")
        shutil.copyfile(actual, temp)
        temp.replace(baseline)  # a reader never sees half a baseline
    except OSError as exc:
        where = exc.filename or baseline.parent
        raise BaselineError(
            f"cannot write baseline {baseline}: {exc.strerror or exc} ({where}); make the "
            "folder writable, or point the fixture's baseline root elsewhere"
        ) from None


# Report properties: the keys run/attachments.py reads (`fynecheck.artifact.ROLE`; a
# `screenshot-*` role is attached in JUnit).
_PROPERTY = "fynecheck.artifact.screenshot-{}"


def attach(item: pytest.Item, images: Images) -> None:
    """Name the comparison's files in the test's report (JUnit properties; run/
    attachments.py adds them as attachments): what the fixture calls after a comparison,
    pass or fail."""
    for role, path in (("baseline", images.baseline), ("actual", images.actual),
                       ("diff", images.diff)):
        if path is not None and path.is_file():
            item.user_properties.append((_PROPERTY.format(role), str(path)))


def html_extras(item: pytest.Item) -> list[Any]:
    """pytest-html extras (the images inline) for what `attach` named on `item`; [] when
    pytest-html is not loaded. For the fixture plugin's pytest_runtest_makereport, which
    appends them to the report's `extras`."""
    if item.config.pluginmanager.get_plugin("html") is None:
        return []
    from pytest_html import extras  # type: ignore[import-untyped]

    prefix = _PROPERTY.format("")
    return [
        extras.png(base64.b64encode(Path(str(path)).read_bytes()).decode(),
                   name=key[len(prefix):])
        for key, path in item.user_properties
        if key.startswith(prefix) and Path(str(path)).is_file()
    ]


def images_of(actual: Path, name: str, backend: str, *, root: Path) -> Images:
    """The files a comparison of `actual` as NAME on BACKEND reads and writes, for
    `attach` after a failure (the assertion's exception carries only the message)."""
    diff = diff_path(actual)
    return Images(baseline_path(root, backend, name), actual, diff if diff.exists() else None)
