"""The one raster model used everywhere: bands x rows x cols float32 reflectance.

A :class:`Raster` is an in-memory block of imagery (a whole small scene or one
window of a big one) with its georeferencing. Large images are never loaded
whole; an image source (``core.sources``) hands out Rasters window by window.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence, Union

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import array_bounds
from rasterio.windows import Window

from .errors import SatSegError

BandRef = Union[str, int]

# Sentinel-2 MSI band order and centre wavelengths (nm), ESA S2 MSI user guide.
S2_BANDS = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"]
S2_WAVELENGTHS_NM = {
    "B1": 443, "B2": 490, "B3": 560, "B4": 665, "B5": 705, "B6": 740, "B7": 783,
    "B8": 842, "B8A": 865, "B9": 945, "B10": 1375, "B11": 1610, "B12": 2190,
}
S2_RESOLUTION_M = {
    "B1": 60, "B2": 10, "B3": 10, "B4": 10, "B5": 20, "B6": 20, "B7": 20,
    "B8": 10, "B8A": 20, "B9": 60, "B10": 60, "B11": 20, "B12": 20,
}

_S2_NAME = re.compile(r"^B0*(\d{1,2}A?)$", re.IGNORECASE)


def normalize_band_name(name: str) -> str:
    """'B02', 'b2' and 'B2' all mean B2; 'b8a' means B8A. Other names are kept."""
    m = _S2_NAME.match(name.strip())
    return f"B{m.group(1).upper()}" if m else name.strip()


def resolve_bands(band_names: Sequence[str], selection: Iterable[BandRef]) -> list[int]:
    """Turn band names or 1-based indexes into 0-based positions.

    Raises SatSegError naming the band that does not exist and listing the
    ones that do.
    """
    lookup = {normalize_band_name(n).upper(): i for i, n in enumerate(band_names)}
    out = []
    for ref in selection:
        if isinstance(ref, (int, np.integer)) or (isinstance(ref, str) and ref.strip().isdigit()):
            idx = int(ref)
            if not 1 <= idx <= len(band_names):
                raise SatSegError(
                    f"band index {idx} is out of range: the image has {len(band_names)} bands (1..{len(band_names)})"
                )
            out.append(idx - 1)
            continue
        key = normalize_band_name(str(ref)).upper()
        if key not in lookup:
            raise SatSegError(
                f"band '{ref}' does not exist in this image; available bands: {', '.join(band_names)}"
            )
        out.append(lookup[key])
    if not out:
        raise SatSegError("no bands selected")
    return out


def parse_band_list(text: str | None) -> list[BandRef] | None:
    """Parse a CLI band list such as 'B4,B3,B2' or '4,3,2'."""
    if text is None or not text.strip():
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_band_option(text: str | None, flag: str = "--bands") -> list[BandRef] | None:
    """A band-list option: absent means all bands, but given-and-empty is a mistake, not 'all'."""
    if text is not None and not parse_band_list(text):
        raise SatSegError(f"{flag} is empty: list bands such as B2,B3,B4,B8, or leave {flag} out to use all bands")
    return parse_band_list(text)


@dataclass
class Raster:
    """Reflectance block: ``data`` is (bands, rows, cols) float32.

    ``nodata_mask`` is (rows, cols) bool, True where a pixel has no valid data
    (outside the footprint, the source's nodata value, masked clouds).
    """

    data: np.ndarray
    transform: Affine
    crs: CRS
    band_names: list[str]
    nodata_mask: np.ndarray = field(default=None)  # type: ignore[assignment]
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.data.ndim != 3:
            raise ValueError("Raster data must be (bands, rows, cols)")
        if self.data.dtype != np.float32:
            self.data = self.data.astype(np.float32)
        if len(self.band_names) != self.data.shape[0]:
            raise ValueError("one band name per band is required")
        if self.nodata_mask is None:
            self.nodata_mask = ~np.isfinite(self.data).all(axis=0)
        if self.nodata_mask.shape != self.data.shape[1:]:
            raise ValueError("nodata_mask must be (rows, cols)")

    @property
    def count(self) -> int:
        return self.data.shape[0]

    @property
    def height(self) -> int:
        return self.data.shape[1]

    @property
    def width(self) -> int:
        return self.data.shape[2]

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape[1], self.data.shape[2]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the raster CRS."""
        return array_bounds(self.height, self.width, self.transform)

    @property
    def res(self) -> tuple[float, float]:
        return abs(self.transform.a), abs(self.transform.e)

    @property
    def valid_mask(self) -> np.ndarray:
        return ~self.nodata_mask

    def band_indexes(self, bands: Iterable[BandRef]) -> list[int]:
        return resolve_bands(self.band_names, bands)

    def band(self, ref: BandRef) -> np.ndarray:
        return self.data[self.band_indexes([ref])[0]]

    def select(self, bands: Iterable[BandRef] | None) -> "Raster":
        """A Raster with only the chosen bands (by name or 1-based index)."""
        if bands is None:
            return self
        idx = self.band_indexes(bands)
        return Raster(
            self.data[idx], self.transform, self.crs, [self.band_names[i] for i in idx],
            self.nodata_mask, dict(self.metadata),
        )

    def window(self, window: Window) -> "Raster":
        """A view of a window of this raster (no copy)."""
        r0, c0 = int(window.row_off), int(window.col_off)
        r1, c1 = r0 + int(window.height), c0 + int(window.width)
        from rasterio.windows import transform as window_transform

        return Raster(
            self.data[:, r0:r1, c0:c1], window_transform(window, self.transform), self.crs,
            list(self.band_names), self.nodata_mask[r0:r1, c0:c1], dict(self.metadata),
        )

    def pixels(self) -> np.ndarray:
        """Valid pixels as an (n, bands) array, ready for a classifier."""
        return self.data[:, self.valid_mask].T


def iter_windows(height: int, width: int, block: int = 1024) -> list[Window]:
    """Row-major blocks covering a height x width grid."""
    return [
        Window(c, r, min(block, width - c), min(block, height - r))
        for r in range(0, height, block)
        for c in range(0, width, block)
    ]
