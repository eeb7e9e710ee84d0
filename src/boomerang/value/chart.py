"""A bar chart as a PNG, drawn with numpy and written with zlib: no plotting library, no
font files, nothing downloaded. Mail clients show PNG inline (most do not show SVG), so
digests embed this by Content-ID.

Each bar carries its value on top in a small built-in pixel font (digits, ``.``, ``k``,
``M``, ``-``); the period labels and exact numbers are in the email's table next to it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

WIDTH, HEIGHT = 560, 220
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_SIDE = 28, 14, 14
BACKGROUND = (255, 255, 255)
BAR = (148, 163, 184)
HIGHLIGHT = (37, 99, 235)
AXIS = (100, 116, 139)
GRID = (226, 232, 240)
TEXT = (30, 41, 59)
SCALE = 2  # each font pixel is 2x2

# 3x5 glyphs, one string of 15 bits (rows top to bottom) per character.
GLYPHS = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001010010010",
    "8": "111101111101111",
    "9": "111101111001111",
    ".": "000000000000010",
    "-": "000000111000000",
    "k": "100101110101101",
    "M": "101111111101101",
}

Image = npt.NDArray[np.uint8]


def short_number(value: float) -> str:
    """``1234`` -> ``1.2k``, ``3.5`` -> ``3.5``, ``2000000`` -> ``2M``."""
    sign = "-" if value < 0 else ""
    v = abs(value)
    for div, suffix in ((1_000_000.0, "M"), (1000.0, "k")):
        if v >= div:
            text = f"{v / div:.1f}".removesuffix(".0")
            return f"{sign}{text}{suffix}"
    text = f"{v:.1f}".removesuffix(".0") if v < 100 else f"{v:.0f}"
    return f"{sign}{text}"


def _text(img: Image, text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
    """Draw ``text`` with its top-left corner at (x, y); characters without a glyph skip."""
    for ch in text:
        bits = GLYPHS.get(ch)
        if bits is not None:
            glyph = np.array([int(b) for b in bits], dtype=bool).reshape(5, 3)
            big = np.kron(glyph, np.ones((SCALE, SCALE), dtype=bool))
            h, w = big.shape
            region = img[y : y + h, x : x + w]
            mask = big[: region.shape[0], : region.shape[1]]
            region[mask] = colour
        x += 4 * SCALE


def text_width(text: str) -> int:
    return max(0, len(text) * 4 * SCALE - SCALE)


def bar_chart(values: Sequence[float], *, width: int = WIDTH, height: int = HEIGHT) -> Image:
    """An RGB image of one bar per value (the last one highlighted), zero at the bottom."""
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:, :] = BACKGROUND
    plot_top, plot_bottom = MARGIN_TOP, height - MARGIN_BOTTOM
    plot_h = plot_bottom - plot_top
    for frac in (0.25, 0.5, 0.75, 1.0):
        y = plot_bottom - round(plot_h * frac)
        img[y, MARGIN_SIDE : width - MARGIN_SIDE] = GRID
    img[plot_bottom, MARGIN_SIDE : width - MARGIN_SIDE] = AXIS
    n = len(values)
    if n == 0:
        return img
    top = max(max(values), 0.0) or 1.0
    slot = (width - 2 * MARGIN_SIDE) / n
    bar_w = max(2, int(slot * 0.6))
    for i, value in enumerate(values):
        x0 = int(MARGIN_SIDE + i * slot + (slot - bar_w) / 2)
        h = round(plot_h * max(value, 0.0) / top)
        colour = HIGHLIGHT if i == n - 1 else BAR
        if h > 0:
            img[plot_bottom - h : plot_bottom, x0 : x0 + bar_w] = colour
        label = short_number(value)
        lx = x0 + (bar_w - text_width(label)) // 2
        ly = max(2, plot_bottom - h - 5 * SCALE - 4)
        if text_width(label) <= slot:
            _text(img, label, max(0, lx), ly, TEXT)
    return img


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(img: Image) -> bytes:
    """An 8-bit RGB PNG of ``img`` (height x width x 3, uint8)."""
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError("expected a height x width x 3 uint8 image")
    height, width, _ = img.shape
    raw = np.concatenate([np.zeros((height, 1), dtype=np.uint8), img.reshape(height, -1)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + _chunk(b"IEND", b"")
    )


def bar_chart_png(values: Sequence[float]) -> bytes:
    """:func:`bar_chart` as PNG bytes."""
    return encode_png(bar_chart(values))


def decode_png(data: bytes) -> Image:
    """Read back a PNG written by :func:`encode_png` (8-bit RGB, filter 0): for tests."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if (depth, colour) != (8, 2):
                raise ValueError("only 8-bit RGB")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width * 3 + 1)
    if raw[:, 0].any():
        raise ValueError("only filter type 0")
    return raw[:, 1:].reshape(height, width, 3).copy()
