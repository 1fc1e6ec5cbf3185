"""Which comparison library, by measurement on real screenshots of fixtures/hello.

    python bench/compare.py [--runs N] [--suites bullseye,trixie]

Screenshots: the app's own window (`xwd -id`, as app.window takes it), settled 1 s after
its first frame, N runs each on Xvfb and weston-xwayland; llvmpipe against Mesa's softpipe
(another rasteriser, the same scene); with --suites, app.window's screenshot in those
suite containers (their own Mesa) of hello with GL-drawn shapes; the seeded changes made by
a variant of the app (tests/support/looks.py: a 1 px shift, a 1 px border, a text colour,
a background 8 levels bluer); and, synthetic, the baseline's edge pixels jittered.

Each candidate (Pillow with thresholds, the kit's choice; pixelmatch; scikit-image SSIM,
when installed: `pip install '.[bench-compare]'`) prints its distance for each pair, and
its time per comparison as a ratio to Pillow's in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.looks import (  # noqa: E402
    VARIANTS,
    WIDGETS,
    jittered,
    shoot,
    variant_app,
    variant_source,
)

from pytest_fynecheck.core.context import Context  # noqa: E402
from pytest_fynecheck.core.paths import cache_dir  # noqa: E402
from pytest_fynecheck.displays import images  # noqa: E402
from pytest_fynecheck.displays.servers import start_display  # noqa: E402
from pytest_fynecheck.e2e.compare import (  # noqa: E402
    EDGE_THRESHOLD,
    PIXEL_THRESHOLD,
    distance,
    load,
)

BACKENDS = ("xvfb", "weston-xwayland")


def capture(ctx: Context, exe: Path, out: Path, runs: int) -> dict[str, list[Path]]:
    """Screenshots by label: `BACKEND` (N runs), `BACKEND first` (their first frames),
    `softpipe`, each variant; base and widgets."""
    shots: dict[str, list[Path]] = {}

    def keep(label: str, image: images.Image) -> None:
        paths = shots.setdefault(label, [])
        paths.append(images.write_png(image, out / f"{label.replace(' ', '_')}-{len(paths)}.png"))

    for kind in BACKENDS:
        display = start_display(ctx, kind)
        try:
            for base in ("", WIDGETS):
                tag = f" {base}" if base else ""
                for _ in range(runs):
                    first, settled = shoot(ctx, display, exe, base)
                    keep(f"{kind}{tag}", settled)
                    keep(f"{kind}{tag} first", first)
            if kind == BACKENDS[0]:
                for base in ("", WIDGETS):
                    tag = f" {base}" if base else ""
                    _, soft = shoot(ctx, display, exe, base, env={"GALLIUM_DRIVER": "softpipe"})
                    keep(f"softpipe{tag}", soft)
                    for variant in VARIANTS:
                        if variant:
                            names = f"{base},{variant}" if base else variant
                            _, changed = shoot(ctx, display, exe, names)
                            keep(f"{variant}{tag}", changed)
        finally:
            display.stop()
    return shots


def suite_shots(suites: str, out: Path) -> dict[str, list[Path]]:
    """app.window's screenshots of hello with shapes (widgets) in suite containers: a run
    of `pytest --fynecheck --fynecheck-os SUITES` in a copy made to draw them."""
    work = Path(tempfile.mkdtemp(prefix="bench-compare-suites-"))
    try:
        project = variant_source(work / "widgets", default=WIDGETS)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "--fynecheck", f"--fynecheck-os={suites}", "-q",
             "-p", "no:randomly"], cwd=project, capture_output=True, text=True, timeout=1800,
        )
        found: dict[str, list[Path]] = {}
        for shot in sorted((project / ".pytest_cache" / "d" / "fynecheck").glob(
                "app-window-*.png")):
            if shot.name.endswith(".thumb.png"):
                continue
            where = shot.stem.removeprefix("app-window-")
            found[f"suite {where} {WIDGETS}"] = [Path(shutil.copy(shot, out / shot.name))]
        if not found:
            print(done.stdout[-2000:], done.stderr[-2000:])
        return found
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the candidates: each returns (a distance, higher is further), its unit ------------------


def pillow(a: Path, b: Path) -> float:
    found, _ = distance(load(a, "a"), load(b, "b"))
    return float(found.pixels)


def pillow_flat(a: Path, b: Path) -> float:
    """Pillow with one threshold: the edge rule's absorbed pixels counted too."""
    found, _ = distance(load(a, "a"), load(b, "b"))
    return float(found.pixels + found.absorbed)


def pillow_largest(a: Path, b: Path) -> float:
    found, _ = distance(load(a, "a"), load(b, "b"))
    return float(found.largest)


def _pixelmatch(threshold: float) -> Callable[[Path, Path], float] | None:
    try:
        from pixelmatch.contrib.PIL import pixelmatch
    except ImportError:
        return None

    def run(a: Path, b: Path) -> float:
        from PIL import Image

        with Image.open(a) as x, Image.open(b) as y:
            return float(pixelmatch(x.convert("RGBA"), y.convert("RGBA"), None,
                                    threshold=threshold))

    return run


def _ssim() -> Callable[[Path, Path], float] | None:
    try:
        import numpy
        from skimage.metrics import structural_similarity
    except ImportError:
        return None

    def run(a: Path, b: Path) -> float:
        x = numpy.asarray(load(a, "a"))
        y = numpy.asarray(load(b, "b"))
        return 1.0 - float(structural_similarity(x, y, channel_axis=2))

    return run


def candidates() -> dict[str, Callable[[Path, Path], float] | None]:
    return {
        f"Pillow {PIXEL_THRESHOLD}/{EDGE_THRESHOLD}e": pillow,
        f"Pillow px>{PIXEL_THRESHOLD}": pillow_flat,
        "Pillow max level": pillow_largest,
        "pixelmatch t=0.1": _pixelmatch(0.1),
        "pixelmatch t=0.05": _pixelmatch(0.05),
        "1-SSIM": _ssim(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="screenshots per backend")
    parser.add_argument("--suites", default="", help="also app.window in these suites")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    ctx = Context(ROOT / "fixtures" / "hello", out, cache_dir(), timeout=600)
    exe = variant_app(ctx)
    shots = capture(ctx, exe, out, args.runs)
    if args.suites:
        shots.update(suite_shots(args.suites, out))
    base = shots[BACKENDS[0]][0]
    widgets = shots[f"{BACKENDS[0]} {WIDGETS}"][0]
    pairs: list[tuple[str, Path, Path]] = []
    for label, paths in shots.items():
        ref = widgets if WIDGETS in label else base
        for path in paths:
            if path != ref:
                pairs.append((label, ref, path))
    for levels in (2, 4, 16, 24, 32, 48):
        pairs.append((f"jitter {levels} (synthetic)", base, jittered(base, out, levels)))
    print(f"screenshots in {out}; reference: {base.name} and {widgets.name}; "
          f"{args.runs} runs per backend")
    found = candidates()
    names = [n for n, f in found.items() if f is not None]
    missing = [n for n, f in found.items() if f is None]
    if missing:
        print(f"not installed, not measured: {', '.join(missing)} "
              "(pip install '.[bench-compare]')")
    print(f"{'pair (worst over its screenshots)':<40}" + "".join(f"{n:>19}" for n in names))
    # Timed on pairs that differ: identical files are a fast path for some.
    times: dict[str, list[float]] = {n: [] for n in names}
    rows: dict[str, dict[str, float]] = {}
    for label, ref, path in pairs:
        row = rows.setdefault(label, {})
        differs = ref.read_bytes() != path.read_bytes()
        for name in names:
            measure = found[name]
            assert measure is not None
            start = time.perf_counter()
            value = measure(ref, path)
            if differs:
                times[name].append(time.perf_counter() - start)
            row[name] = max(row.get(name, 0.0), value)
    for label, row in rows.items():
        print(f"{label:<40}" + "".join(f"{_show(row[n]):>19}" for n in names))
    pixels = _size(base)
    print(f"(Pillow and pixelmatch count pixels, of {pixels} in hello's window and "
          f"{_size(widgets)} with widgets)")
    base_time = sorted(times[names[0]])[len(times[names[0]]) // 2]
    print(f"median time per comparison of two different screenshots ({len(times[names[0]])} "
          f"pairs), ratio to {names[0]}:")
    for name in names:
        median = sorted(times[name])[len(times[name]) // 2]
        print(f"  {name:<22} {median * 1000:8.1f} ms  {median / base_time:6.1f}x")


def _show(value: float) -> str:
    return f"{value:.0f}" if value >= 1 or value == 0 else f"{value:.6f}"


def _size(path: Path) -> int:
    image: Any = load(path, "screenshot")
    return int(image.width * image.height)


if __name__ == "__main__":
    main()
