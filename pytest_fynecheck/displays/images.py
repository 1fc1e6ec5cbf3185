"""Screenshots: X's XWD dumps to PNG, and whether an image shows anything.

`xwd` is everywhere X is; ImageMagick is not, and is not needed to read XWD.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from pathlib import Path
from typing import Literal

_HEADER_FIELDS = 25  # CARD32 fields of XWDFileHeader, written big-endian by xwd
_COLOR_SIZE = 12  # XWDColor: pixel, r, g, b, flags, pad


@dataclasses.dataclass(frozen=True)
class Image:
    width: int
    height: int
    rgb: bytes  # row-major, 3 bytes a pixel

    def colours(self, limit: int = 1 << 16) -> int:
        """Distinct colours, counted up to `limit`."""
        seen: set[bytes] = set()
        rgb = self.rgb
        for i in range(0, len(rgb), 3):
            seen.add(rgb[i : i + 3])
            if len(seen) >= limit:
                break
        return len(seen)

    @property
    def blank(self) -> bool:
        """One flat colour: nothing was drawn (or only a cleared frame)."""
        return self.colours(limit=2) < 2

    def crop(self, x: int, y: int, width: int, height: int) -> Image:
        """The part inside the box, clipped to the image."""
        x, y = max(x, 0), max(y, 0)
        width, height = min(width, self.width - x), min(height, self.height - y)
        stride = self.width * 3
        rows = [
            self.rgb[(y + r) * stride + x * 3 : (y + r) * stride + (x + width) * 3]
            for r in range(height)
        ]
        return Image(width, height, b"".join(rows))

    def scaled(self, width: int) -> Image:
        """At most `width` pixels wide (nearest neighbour), for thumbnails."""
        if self.width <= width:
            return self
        height = max(1, self.height * width // self.width)
        stride = self.width * 3
        cols = [x * self.width // width * 3 for x in range(width)]
        rows = []
        for y in range(height):
            line = self.rgb[(y * self.height // height) * stride :][:stride]
            rows.append(b"".join(line[c : c + 3] for c in cols))
        return Image(width, height, b"".join(rows))


def changed_box(before: Image, after: Image, top: int = 0) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) around every pixel that differs, from row `top` down."""
    if (before.width, before.height) != (after.width, after.height):
        raise ValueError(
            f"images differ in size: {before.width}x{before.height} vs {after.width}x{after.height}"
        )
    stride = before.width * 3
    left, right, rows = before.width, -1, []
    for y in range(top, before.height):
        a = before.rgb[y * stride : (y + 1) * stride]
        b = after.rgb[y * stride : (y + 1) * stride]
        if a == b:  # most rows: one bytes comparison
            continue
        rows.append(y)
        diff = [i // 3 for i in range(0, stride, 3) if a[i : i + 3] != b[i : i + 3]]
        left, right = min(left, diff[0]), max(right, diff[-1])
    if not rows:
        return None
    return left, rows[0], right - left + 1, rows[-1] - rows[0] + 1


def _shift(mask: int) -> tuple[int, int]:
    """Where a colour mask starts and how many bits wide it is."""
    if mask == 0:
        return 0, 0
    shift = (mask & -mask).bit_length() - 1
    return shift, (mask >> shift).bit_length()


def read_xwd(data: bytes) -> Image:
    if len(data) < _HEADER_FIELDS * 4:
        raise ValueError(f"not an XWD image: {len(data)} bytes is shorter than its header")
    h = struct.unpack(f">{_HEADER_FIELDS}I", data[: _HEADER_FIELDS * 4])
    (header_size, version, fmt, _depth, width, height, _xoff, byte_order) = h[:8]
    bits_per_pixel, bytes_per_line = h[11], h[12]
    masks = h[14:17]
    ncolors = h[19]
    if version != 7 or fmt != 2:
        raise ValueError(f"unsupported XWD image (version {version}, format {fmt}): need ZPixmap")
    if bits_per_pixel not in (16, 24, 32) or not all(masks):
        raise ValueError(f"unsupported XWD pixel layout: {bits_per_pixel} bits, masks {masks}")
    start = header_size + ncolors * _COLOR_SIZE
    need = start + bytes_per_line * height
    if len(data) < need:
        raise ValueError(f"truncated XWD image: {len(data)} bytes, header says {need}")
    step = bits_per_pixel // 8
    if bits_per_pixel == 24 and bytes_per_line >= width * 4:
        step = 4  # xwd of a depth-24 root says 24 bits but stores 32-bit pixels (seen on Xvfb)
    endian: Literal["little", "big"] = "little" if byte_order == 0 else "big"
    shifts = [_shift(m) for m in masks]
    if step == 4 and all(bits == 8 and s % 8 == 0 for s, bits in shifts):
        # The common 24-bit-colour case: copy byte columns with slices, ~100x faster.
        offsets = [s // 8 if endian == "little" else 3 - s // 8 for s, _ in shifts]
        rows = b"".join(
            data[start + y * bytes_per_line : start + y * bytes_per_line + width * 4]
            for y in range(height)
        )
        fast = bytearray(width * height * 3)
        for channel, off in enumerate(offsets):
            fast[channel::3] = rows[off::4]
        return Image(width, height, bytes(fast))
    out = bytearray(width * height * 3)
    o = 0
    for y in range(height):
        row = start + y * bytes_per_line
        for x in range(width):
            p = row + x * step
            pixel = int.from_bytes(data[p : p + step], endian)
            for (s, bits), m in zip(shifts, masks, strict=True):
                v = (pixel & m) >> s
                out[o] = v if bits == 8 else (v * 255) // ((1 << bits) - 1)
                o += 1
    return Image(width, height, bytes(out))


def write_png(image: Image, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(png_bytes(image))
    return dest


# Screenshots' thumbnails (the matrix summary's table), this wide at most.
THUMB_WIDTH = 160


def thumbnail_path(shot: Path) -> Path:
    return shot.with_name(shot.stem + ".thumb.png")


def write_screenshot(image: Image, dest: Path) -> Path:
    """The screenshot and, beside it, its thumbnail (`thumbnail_path`): made from the
    frame in hand in 1 ms, where decoding the PNG again for the report took 0.1 s."""
    write_png(image.scaled(THUMB_WIDTH), thumbnail_path(dest))
    return write_png(image, dest)


def png_bytes(image: Image) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    stride = image.width * 3
    raw = b"".join(b"\x00" + image.rgb[y * stride : (y + 1) * stride] for y in range(image.height))
    ihdr = struct.pack(">IIBBBBB", image.width, image.height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def read_png(data: bytes) -> Image:
    """8-bit RGB or RGBA PNGs, as our writer and weston-screenshooter make them."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    pos, idat, width, height, kind = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if tag == b"IHDR":
            width, height, depth, kind = struct.unpack(">IIBB", body[:10])
            if depth != 8 or kind not in (2, 6) or body[12] != 0:
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {kind}, interlaced")
        elif tag == b"IDAT":
            idat += body
    channels = 3 if kind == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        _unfilter(f, line, prev, channels)
        rows.append(line)
        prev = line
    rgb = bytearray()
    for line in rows:
        if channels == 3:
            rgb += line
        else:
            for i in range(0, stride, 4):
                rgb += line[i : i + 3]
    return Image(width, height, bytes(rgb))


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> None:
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + a) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + b) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (a + b) // 2) & 0xFF
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[i] = (line[i] + pred) & 0xFF
