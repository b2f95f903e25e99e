"""Overlapping windows over a scene and their seamless stitching.

Windows overlap by ``overlap`` pixels. Each pixel belongs to exactly one
window's *core*: the part of the window nearer its own centre than any
neighbour's, cut at the middle of each overlap. Stitching copies every
window's core, so a pixel is always taken from a window in which it has at
least overlap/2 pixels of context (except at the scene edge), there are no
seams from window borders, and a constant mask round-trips exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from ..errors import SatSegError


@dataclass(frozen=True)
class Tile:
    row: int        # window origin and size in scene pixels
    col: int
    height: int
    width: int
    core: tuple[int, int, int, int]   # (r0, r1, c0, c1) in scene pixels

    @property
    def window(self) -> Window:
        return Window(self.col, self.row, self.width, self.height)

    def core_in_tile(self) -> tuple[slice, slice]:
        r0, r1, c0, c1 = self.core
        return slice(r0 - self.row, r1 - self.row), slice(c0 - self.col, c1 - self.col)

    def core_in_scene(self) -> tuple[slice, slice]:
        r0, r1, c0, c1 = self.core
        return slice(r0, r1), slice(c0, c1)

    def key(self) -> str:
        return f"{self.row},{self.col},{self.height},{self.width}"


def _starts(length: int, size: int, overlap: int) -> list[int]:
    if length <= size:
        return [0]
    stride = size - overlap
    starts = list(range(0, length - size, stride)) + [length - size]
    return sorted(set(starts))


def _cores(starts: list[int], size: int, length: int) -> list[tuple[int, int]]:
    cuts = [0] + [(starts[i + 1] + starts[i] + min(size, length)) // 2 for i in range(len(starts) - 1)] + [length]
    return [(cuts[i], cuts[i + 1]) for i in range(len(starts))]


def tile_scene(height: int, width: int, size: int = 1024, overlap: int = 128) -> list[Tile]:
    """Row-major overlapping tiles covering a height x width scene."""
    if size < 64:
        raise SatSegError("the SAM window must be at least 64 pixels")
    if not 0 <= overlap < size // 2:
        raise SatSegError(f"the window overlap must be between 0 and half the window ({size // 2 - 1} px)")
    rs, cs = _starts(height, size, overlap), _starts(width, size, overlap)
    rcore, ccore = _cores(rs, size, height), _cores(cs, size, width)
    return [Tile(r, c, min(size, height), min(size, width), (*rc, *cc))
            for r, rc in zip(rs, rcore) for c, cc in zip(cs, ccore)]


def stitch(out: np.ndarray, tile: Tile, result: np.ndarray) -> None:
    """Copy the core of a tile's result (rows, cols) or (k, rows, cols) into ``out`` in place."""
    rows, cols = tile.core_in_tile()
    srows, scols = tile.core_in_scene()
    out[..., srows, scols] = result[..., rows, cols]
