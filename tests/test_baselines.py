"""Baselines and the comparison (e2e/baselines.py, e2e/compare.py) on real screenshots:
fixtures/hello's own window on a real Xvfb and weston-xwayland, and seeded changes made by
a variant of the app (tests/support/looks.py), not by editing pixels. Synthetic edits only
add cases the app cannot make (a truncated file, another size).
"""

from __future__ import annotations

import base64
import dataclasses
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.looks import VARIANTS, jittered, shoot, variant_app

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.displays import images
from pytest_fynecheck.displays.servers import start_display
from pytest_fynecheck.e2e.baselines import (
    UPDATE_OPTION,
    BaselineError,
    BaselineWritten,
    assert_looks_like,
    attach,
    diff_path,
    html_extras,
    images_of,
)
from pytest_fynecheck.e2e.compare import MARK, compare, load

RUNS = 4  # screenshots of the unchanged app per backend (the bench takes 20 and more)
SEEDED = ("shift", "border", "colour")


@dataclasses.dataclass(frozen=True)
class Shots:
    xvfb: list[Path]  # the unchanged app, one launch each
    xwayland: list[Path]  # the same on weston-xwayland
    seeded: dict[str, Path]  # a variant's screenshot on Xvfb
    raw: dict[str, images.Image]  # the same, decoded by the kit's own reader


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shots]:
    out = tmp_path_factory.mktemp("shots")
    ctx = Context(out, out, cache_dir(), timeout=600)
    exe = variant_app(ctx)
    taken: dict[str, list[Path]] = {}
    raw: dict[str, images.Image] = {}

    def keep(label: str, image: images.Image) -> None:
        paths = taken.setdefault(label, [])
        paths.append(images.write_png(image, out / f"{label}-{len(paths)}.png"))
        raw.setdefault(label, image)

    for kind in ("xvfb", "weston-xwayland"):
        display = start_display(ctx, kind)
        try:
            for _ in range(RUNS):
                keep(kind, shoot(ctx, display, exe)[1])
            if kind == "xvfb":
                for variant in SEEDED:
                    keep(variant, shoot(ctx, display, exe, variant)[1])
        finally:
            display.stop()
    yield Shots(taken["xvfb"], taken["weston-xwayland"],
                {v: taken[v][0] for v in SEEDED}, raw)
    ctx.close()


def _written(actual: Path, root: Path, backend: str = "xvfb", name: str = "hello") -> Path:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert_looks_like(actual, name, backend, root=root, tolerance=None, update=True)
    baseline = root / backend / f"{name}.png"
    assert [str(w.message) for w in seen if w.category is BaselineWritten] == [
        f"wrote baseline {baseline} from {actual} ({UPDATE_OPTION})"
    ]
    return baseline


def test_the_same_app_and_backend_compare_equal(shots: Shots, tmp_path: Path) -> None:
    """Every later launch matches the first one's baseline at the default tolerance (0),
    per backend; and the two backends, which share this host's Mesa, draw the same."""
    for backend, taken in (("xvfb", shots.xvfb), ("weston-xwayland", shots.xwayland)):
        _written(taken[0], tmp_path, backend)
        for actual in taken[1:]:
            assert_looks_like(actual, "hello", backend, root=tmp_path, tolerance=None,
                              update=False)
            assert not diff_path(actual).exists(), "a diff image for an equal screenshot"
    across = compare(shots.xvfb[0], shots.xwayland[0])
    assert across.pixels == 0 and across.largest == 0, across.describe()


def _marked_box(diff: Path) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) round the diff image's marked pixels, its frame left out."""
    image = load(diff, "diff")
    marked = [(i % image.width, i // image.width)
              for i, px in enumerate(zip(*(iter(image.tobytes()),) * 3, strict=True))
              if px == MARK]
    if not marked:
        return None
    xs, ys = [x for x, _ in marked], [y for _, y in marked]
    # The frame is drawn 2 px outside the box: drop its rows and columns.
    inner = [(x, y) for x, y in marked
             if min(xs) < x < max(xs) and min(ys) < y < max(ys)]
    xs, ys = [x for x, _ in inner], [y for _, y in inner]
    return min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


@pytest.mark.parametrize("variant", SEEDED)
def test_a_seeded_change_fails_and_the_diff_shows_where(
    shots: Shots, tmp_path: Path, variant: str
) -> None:
    """A 1 px shift of the layout, a 1 px border and a text colour, each drawn by the app:
    the comparison fails naming the files and the distance, and the diff image's marks
    sit in the box where the kit's own pixel reader sees the two screenshots differ."""
    baseline = _written(shots.xvfb[0], tmp_path)
    actual = shots.seeded[variant]
    with pytest.raises(AssertionError) as failed:
        assert_looks_like(actual, "hello", "xvfb", root=tmp_path, tolerance=None, update=False)
    message = str(failed.value)
    diff = diff_path(actual)
    assert diff.is_file(), f"{VARIANTS[variant]}: no diff image"
    for named in (f"baseline: {baseline}", f"actual:   {actual}", f"diff:     {diff}",
                  "of the pixels differ", "tolerance 0.0000%", UPDATE_OPTION):
        assert named in message, f"{named!r} not in:\n{message}"
    changed = images.changed_box(shots.raw["xvfb"], shots.raw[variant])
    assert changed is not None
    marked = _marked_box(diff)
    assert marked is not None, f"{VARIANTS[variant]}: nothing marked in {diff}"
    cx, cy, cw, ch = changed
    mx, my, mw, mh = marked
    assert cx <= mx and cy <= my and mx + mw <= cx + cw and my + mh <= cy + ch, (
        f"marks {marked} outside the changed box {changed}"
    )
    # Not a token mark: most of the changed box is spanned.
    assert mw * mh >= 0.5 * cw * ch, f"marks {marked} cover little of {changed}"
    assert f"in the box x={mx} y={my} {mw}x{mh}" in message


def test_edge_noise_is_absorbed_and_a_faint_flat_change_is_not(
    shots: Shots, tmp_path: Path
) -> None:
    """Synthetic, on a real screenshot: its edge pixels jittered by up to 20 levels (what
    anti-aliasing of another renderer does) pass at tolerance 0, by up to 48 fail; a
    10x10 patch of flat background 5 levels brighter fails, the box exactly that patch."""
    _written(shots.xvfb[0], tmp_path)
    assert_looks_like(jittered(shots.xvfb[1], tmp_path, 20), "hello", "xvfb", root=tmp_path,
                      tolerance=None, update=False)
    with pytest.raises(AssertionError, match=r"on edges; largest difference 4[0-8]"):
        assert_looks_like(jittered(shots.xvfb[1], tmp_path, 48), "hello", "xvfb",
                          root=tmp_path, tolerance=None, update=False)
    raw = shots.raw["xvfb"]
    x, y = raw.width - 30, raw.height - 20  # below and right of hello's two labels
    patch = raw.crop(x, y, 10, 10)
    assert patch.colours() == 1, "the patch is not flat background"
    brighter = bytes(min(v + 5, 255) for v in patch.rgb)
    rows = bytearray(raw.rgb)
    for r in range(10):
        at = ((y + r) * raw.width + x) * 3
        rows[at : at + 30] = brighter[r * 30 : (r + 1) * 30]
    faint = images.write_png(images.Image(raw.width, raw.height, bytes(rows)),
                             tmp_path / "faint.png")
    with pytest.raises(AssertionError, match=rf"\(100 of .* in the box x={x} y={y} 10x10;"):
        assert_looks_like(faint, "hello", "xvfb", root=tmp_path, tolerance=None, update=False)


def test_a_tolerance_above_the_distance_passes_the_same_change(
    shots: Shots, tmp_path: Path
) -> None:
    """The tolerance is a share of pixels: the border (~2% of hello's window) passes at 5%
    and fails at 1%."""
    _written(shots.xvfb[0], tmp_path)
    actual = shots.seeded["border"]
    assert_looks_like(actual, "hello", "xvfb", root=tmp_path, tolerance=0.05, update=False)
    with pytest.raises(AssertionError, match=r"tolerance 1\.0000%"):
        assert_looks_like(actual, "hello", "xvfb", root=tmp_path, tolerance=0.01, update=False)


def test_update_writes_and_overwrites_the_baseline(shots: Shots, tmp_path: Path) -> None:
    root = tmp_path / "tests" / "fynecheck-baselines"  # made as needed
    baseline = _written(shots.seeded["colour"], root)
    assert baseline.read_bytes() == shots.seeded["colour"].read_bytes()
    assert_looks_like(shots.seeded["colour"], "hello", "xvfb", root=root, tolerance=None,
                      update=False)
    _written(shots.xvfb[0], root)  # a new look accepted
    assert baseline.read_bytes() == shots.xvfb[0].read_bytes()
    assert not list(baseline.parent.glob(".*.tmp")), "a temporary file left beside it"
    assert_looks_like(shots.xvfb[1], "hello", "xvfb", root=root, tolerance=None, update=False)


def test_a_missing_baseline_says_how_to_write_it(shots: Shots, tmp_path: Path) -> None:
    with pytest.raises(AssertionError) as failed:
        assert_looks_like(shots.xvfb[0], "hello", "weston-xwayland", root=tmp_path,
                          tolerance=None, update=False)
    message = str(failed.value)
    assert str(tmp_path / "weston-xwayland" / "hello.png") in message
    assert f"run pytest with {UPDATE_OPTION}" in message
    assert str(shots.xvfb[0]) in message


def test_an_unwritable_baseline_folder_is_named(shots: Shots, tmp_path: Path) -> None:
    """The backend's folder cannot be made (a file is in its place: root ignores modes)."""
    (tmp_path / "xvfb").write_text("not a folder")
    with pytest.raises(BaselineError) as failed:
        assert_looks_like(shots.xvfb[0], "hello", "xvfb", root=tmp_path, tolerance=None,
                          update=True)
    message = str(failed.value)
    assert f"cannot write baseline {tmp_path / 'xvfb' / 'hello.png'}" in message
    assert str(tmp_path / "xvfb") in message


def test_a_corrupt_baseline_is_named(shots: Shots, tmp_path: Path) -> None:
    """A truncated baseline (half of a real one) and one that is not an image at all."""
    baseline = tmp_path / "xvfb" / "hello.png"
    baseline.parent.mkdir()
    real = shots.xvfb[0].read_bytes()
    for broken in (real[: len(real) // 2], b"<<<<<<< HEAD\nmerge conflict\n"):
        baseline.write_bytes(broken)
        with pytest.raises(BaselineError) as failed:
            assert_looks_like(shots.xvfb[1], "hello", "xvfb", root=tmp_path, tolerance=None,
                              update=False)
        message = str(failed.value)
        assert message.startswith(f"baseline {baseline} is not a readable image"), message
        assert UPDATE_OPTION in message


def test_another_size_fails_even_at_full_tolerance(shots: Shots, tmp_path: Path) -> None:
    """A screenshot of another size (a window resized: here, the real one cropped) never
    passes, whatever the tolerance; the message gives both sizes."""
    _written(shots.xvfb[0], tmp_path)
    small = tmp_path / "cropped.png"
    raw = shots.raw["xvfb"]
    images.write_png(raw.crop(0, 0, raw.width, raw.height - 1), small)
    with pytest.raises(AssertionError, match=rf"baseline {raw.width}x{raw.height}, actual "
                       rf"{raw.width}x{raw.height - 1}"):
        assert_looks_like(small, "hello", "xvfb", root=tmp_path, tolerance=1.0, update=False)


def test_a_bad_name_is_refused_by_name(shots: Shots, tmp_path: Path) -> None:
    for name in ("../escape", "hello.png", ""):
        with pytest.raises(ValueError, match="baseline name"):
            assert_looks_like(shots.xvfb[0], name, "xvfb", root=tmp_path, tolerance=None,
                              update=True)
    assert not list(tmp_path.rglob("*.png")), "a bad name wrote a file"


def test_attach_names_the_files_in_the_report(
    shots: Shots, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """After a failure the fixture attaches baseline, actual and diff as JUnit properties
    (the `screenshot-*` roles run/attachments.py attaches)."""
    baseline = _written(shots.xvfb[0], tmp_path)
    actual = tmp_path / "actual.png"
    shutil.copy(shots.seeded["border"], actual)
    with pytest.raises(AssertionError):
        assert_looks_like(actual, "hello", "xvfb", root=tmp_path, tolerance=None, update=False)
    before = len(request.node.user_properties)
    attach(request.node, images_of(actual, "hello", "xvfb", root=tmp_path))
    added = request.node.user_properties[before:]
    extras = html_extras(request.node)
    del request.node.user_properties[before:]  # this test's own report stays plain
    assert added == [
        ("fynecheck.artifact.screenshot-baseline", str(baseline)),
        ("fynecheck.artifact.screenshot-actual", str(actual)),
        ("fynecheck.artifact.screenshot-diff", str(diff_path(actual))),
    ]
    # pytest-html (a test dependency) is loaded here: the three images inline, by role.
    assert [e["name"] for e in extras] == ["baseline", "actual", "diff"]
    assert base64.b64decode(extras[2]["content"]) == diff_path(actual).read_bytes()


def test_the_option_and_ini_reach_the_frozen_settings_on_workers(
    pytester: pytest.Pytester,
) -> None:
    """--fynecheck-update-baselines and ini fynecheck_baseline_tolerance, read once and
    shipped to an xdist worker as the other settings are."""
    pytester.makeini("[pytest]\nfynecheck_baseline_tolerance = 0.002\n")
    pytester.makepyfile(
        """
        from pytest_fynecheck.plan.settings import settings

        def test_settings(pytestconfig):
            assert hasattr(pytestconfig, "workerinput")
            baselines = settings(pytestconfig).baselines
            assert baselines.update is True and baselines.tolerance == 0.002
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "1", "--fynecheck-update-baselines"
    )
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("value", ["5%", "1.5", "nan"])
def test_a_bad_tolerance_ini_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, value: str
) -> None:
    pytester.makeini(f"[pytest]\nfynecheck_baseline_tolerance = {value}\n")
    pytester.makepyfile("def test_never_runs():\n    raise AssertionError\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines + result.errlines
    assert [line for line in result.errlines if line.startswith("ERROR:")] == [
        f"ERROR: ini fynecheck_baseline_tolerance must be a share from 0 to 1 (0.001 is "
        f"0.1%), not {value!r}"
    ]
