"""How far a screenshot is from its baseline, with Pillow, and the diff image that shows where.

A pixel differs when one of its channels is more than `PIXEL_THRESHOLD` levels off, or,
on an edge, more than `EDGE_THRESHOLD`: anti-aliasing is where renderers disagree, and it
lies on edges (a pixel whose 3x3 neighbourhood spans more than `EDGE_SPAN` grey levels in
either image). The renderers measured (llvmpipe of Mesa 20, 22 and 25, softpipe) draw the
same app within 1 level; edge noise of up to 24 levels (synthetic) is absorbed; a 1 px shift
(up to 220 levels), a 1 px border (105), a text colour (43) and a background 8 levels off
are caught (bench/compare.py). The distance is the share of pixels that differ; a
tolerance is a share too. Pillow is imported in the functions: the plugins load without it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

# Levels (of 255) one channel may be off before the pixel counts as different: anywhere,
# and on an edge.
PIXEL_THRESHOLD = 4
EDGE_THRESHOLD = 24
EDGE_SPAN = 64

# The diff image: the baseline faded to grey, differing pixels in this colour.
MARK = (255, 0, 64)


class UnreadableImage(Exception):
    """A file that is not an image Pillow reads; the message names it."""


@dataclasses.dataclass(frozen=True)
class Distance:
    pixels: int  # pixels that differ (beyond PIXEL_THRESHOLD, on edges EDGE_THRESHOLD)
    absorbed: int  # edge pixels off by more than PIXEL_THRESHOLD, within EDGE_THRESHOLD
    total: int  # pixels compared (the larger image's, when the sizes differ)
    largest: int  # the largest channel difference seen, 0..255
    box: tuple[int, int, int, int] | None  # (x, y, width, height) round the differing pixels
    sizes: tuple[tuple[int, int], tuple[int, int]]  # (baseline, actual) width x height

    @property
    def share(self) -> float:
        """The distance: the share of pixels that differ, 0..1."""
        return self.pixels / self.total if self.total else 0.0

    @property
    def same_size(self) -> bool:
        return self.sizes[0] == self.sizes[1]

    def within(self, tolerance: float) -> bool:
        return self.same_size and self.share <= tolerance

    def describe(self) -> str:
        if not self.same_size:
            (bw, bh), (aw, ah) = self.sizes
            return f"the sizes differ: baseline {bw}x{bh}, actual {aw}x{ah}"
        where = ""
        if self.box is not None:
            x, y, w, h = self.box
            where = f", in the box x={x} y={y} {w}x{h}"
        return (
            f"{self.share:.4%} of the pixels differ ({self.pixels} of {self.total} by more "
            f"than {PIXEL_THRESHOLD} levels, {EDGE_THRESHOLD} on edges; largest difference "
            f"{self.largest}){where}"
        )


def load(path: Path, what: str) -> Image.Image:
    """`path` as RGB; a file Pillow cannot read raises UnreadableImage naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()  # a truncated file fails here, not later
            rgb: Image.Image = image.convert("RGB")
            return rgb
    except FileNotFoundError:
        raise UnreadableImage(f"{what} {path} does not exist") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImage(f"{what} {path} is not a readable image: {exc}") from None


def distance(baseline: Image.Image, actual: Image.Image) -> tuple[Distance, Image.Image]:
    """How far `actual` is from `baseline`, and the mask of the differing pixels (mode L,
    255 where a pixel differs; the larger size when the sizes differ)."""
    from PIL import Image, ImageChops, ImageFilter

    sizes = (baseline.size, actual.size)
    if baseline.size != actual.size:
        # Compared on the larger canvas: what only one image covers differs.
        width = max(baseline.width, actual.width)
        height = max(baseline.height, actual.height)
        a, b = (_padded(i, width, height) for i in (baseline, actual))
        inside = Image.new("L", (width, height), 255)
        inside.paste(0, (0, 0, min(baseline.width, actual.width),
                         min(baseline.height, actual.height)))
    else:
        a, b, inside = baseline, actual, None
    red, green, blue = ImageChops.difference(a, b).split()
    worst = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    spans = [ImageChops.subtract(g.filter(ImageFilter.MaxFilter(3)),
                                 g.filter(ImageFilter.MinFilter(3)))
             for g in (a.convert("L"), b.convert("L"))]
    edge = ImageChops.lighter(*spans).point(lambda v: 255 if v > EDGE_SPAN else 0)
    off = worst.point(lambda v: 255 if v > PIXEL_THRESHOLD else 0)
    mask = Image.composite(worst.point(lambda v: 255 if v > EDGE_THRESHOLD else 0), off, edge)
    if inside is not None:
        mask = ImageChops.lighter(mask, inside)
    pixels = mask.histogram()[255]
    _, high = worst.getextrema()  # an L image's: (low, high)
    box = mask.getbbox()
    found = Distance(
        pixels=pixels,
        absorbed=max(off.histogram()[255] - pixels, 0) if inside is None else 0,
        total=mask.width * mask.height,
        largest=int(high),  # type: ignore[arg-type]
        box=None if box is None else (box[0], box[1], box[2] - box[0], box[3] - box[1]),
        sizes=sizes,
    )
    return found, mask


def _padded(image: Image.Image, width: int, height: int) -> Image.Image:
    from PIL import Image

    if image.size == (width, height):
        return image
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    canvas.paste(image, (0, 0))
    return canvas


def diff_image(baseline: Image.Image, mask: Image.Image) -> Image.Image:
    """The baseline, faded to a light grey so the marks stand out, with every differing
    pixel in MARK and a 1 px frame round their box."""
    from PIL import Image, ImageDraw

    faded = _padded(baseline, *mask.size).convert("L").point(lambda v: 160 + v * 80 // 255)
    out = faded.convert("RGB")
    out.paste(Image.new("RGB", mask.size, MARK), (0, 0), mask)
    box = mask.getbbox()
    if box is not None:
        x0, y0, x1, y1 = box
        frame = (max(x0 - 2, 0), max(y0 - 2, 0), min(x1 + 1, out.width - 1),
                 min(y1 + 1, out.height - 1))
        ImageDraw.Draw(out).rectangle(frame, outline=MARK)
    return out


def compare(baseline: Path, actual: Path, diff: Path | None = None) -> Distance:
    """The distance between two image files; with `diff`, the diff image is written there
    when any pixel differs."""
    base_image = load(baseline, "baseline")
    actual_image = load(actual, "actual image")
    found, mask = distance(base_image, actual_image)
    if diff is not None and found.pixels:
        diff.parent.mkdir(parents=True, exist_ok=True)
        diff_image(base_image, mask).save(diff, format="PNG")
    return found
