"""What every imagery source offers: a grid, band names and windowed reads."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterable, Optional

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import array_bounds
from rasterio.windows import Window

from ..raster import BandRef, Raster, iter_windows, resolve_bands


class ImageSource(ABC):
    """A georeferenced multi-band image read window by window as reflectance.

    Subclasses set ``width``, ``height``, ``transform``, ``crs``, ``band_names``
    and implement ``_read(window, indexes)`` returning ``(data, nodata_mask)``
    with ``data`` float32 reflectance for the 0-based band ``indexes``.
    """

    width: int
    height: int
    transform: Affine
    crs: CRS
    band_names: list[str]
    path: str
    kind: str = "image"

    def __init__(self) -> None:
        self.metadata: dict = {}
        # What the user should know about how the pixels were read (shown by the CLI and the app).
        self.warnings: list[str] = []

    # -- grid -------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self.band_names)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return array_bounds(self.height, self.width, self.transform)

    @property
    def res(self) -> tuple[float, float]:
        return abs(self.transform.a), abs(self.transform.e)

    def windows(self, block: int = 1024) -> list[Window]:
        return iter_windows(self.height, self.width, block)

    # -- reading ----------------------------------------------------------
    def read(self, window: Optional[Window] = None, bands: Optional[Iterable[BandRef]] = None) -> Raster:
        """Read a window (default: everything) of the chosen bands (default: all)."""
        from rasterio.windows import transform as window_transform

        if window is None:
            window = Window(0, 0, self.width, self.height)
        idx = resolve_bands(self.band_names, bands) if bands is not None else list(range(self.count))
        data, nodata = self._read(window, idx, None)
        return Raster(
            data, window_transform(window, self.transform), self.crs,
            [self.band_names[i] for i in idx], nodata, dict(self.metadata),
        )

    def preview(self, max_size: int = 1024, bands: Optional[Iterable[BandRef]] = None) -> Raster:
        """The whole image decimated so its longer side is at most ``max_size``.

        Uses the files' overviews where they exist, so it is cheap even for a
        full Sentinel-2 tile; the returned transform matches the coarser grid.
        """
        scale = max(self.width, self.height) / max_size
        if scale <= 1:
            return self.read(bands=bands)
        out_h, out_w = max(1, round(self.height / scale)), max(1, round(self.width / scale))
        idx = resolve_bands(self.band_names, bands) if bands is not None else list(range(self.count))
        data, nodata = self._read(Window(0, 0, self.width, self.height), idx, (out_h, out_w))
        transform = self.transform @ Affine.scale(self.width / out_w, self.height / out_h)
        return Raster(data, transform, self.crs, [self.band_names[i] for i in idx], nodata, dict(self.metadata))

    def sample(self, target_px: int = 1_048_576,
               indexes: Optional[list[int]] = None) -> tuple[np.ndarray, np.ndarray, str]:
        """A cheap look at the whole image for statistics (``satseg info``): (bands, n) float32
        values, (n,) nodata flags and how they were got. ``indexes``: only these bands (the
        map's stretch needs three of twelve).

        The smallest overview when the file has one (about ``max_size`` px a side); else a few
        blocks spread over the image, never a decimated read of everything, which decompresses
        every block of a file without overviews (13 s for 16 MP).
        """
        idx = list(range(self.count)) if indexes is None else list(indexes)
        if self.has_overviews():
            r = self.preview(max(64, int(target_px ** 0.5)), [self.band_names[i] for i in idx])
            return r.data.reshape(r.count, -1), r.nodata_mask.ravel(), "overview"
        windows = self.sample_windows(target_px)
        parts = [self._read(w, idx, None) for w in windows]
        data = np.concatenate([d.reshape(d.shape[0], -1) for d, _ in parts], axis=1)
        nodata = np.concatenate([m.ravel() for _, m in parts])
        if len(windows) == 1 and windows[0].width == self.width and windows[0].height == self.height:
            return data, nodata, "all pixels"
        return data, nodata, f"{len(windows)} blocks"

    def has_overviews(self) -> bool:
        return False

    def baseline_record(self) -> Optional[dict]:
        """For a Sentinel-2 band folder, how its digital numbers became reflectance (saved with a
        model trained on it, docs/sentinel2.md); None for every other image."""
        return None

    def sample_windows(self, target_px: int = 262_144, count: int = 16) -> list[Window]:
        """Up to ``count`` square windows on a regular grid with about ``target_px`` pixels in all."""
        if self.width * self.height <= target_px:
            return [Window(0, 0, self.width, self.height)]
        side = max(16, int((target_px / count) ** 0.5))
        n = max(1, int(count ** 0.5))
        out = []
        for i in range(n):
            for j in range(n):
                r = round((self.height - side) * (i + 0.5) / n) if self.height > side else 0
                c = round((self.width - side) * (j + 0.5) / n) if self.width > side else 0
                out.append(Window(c, r, min(side, self.width), min(side, self.height)))
        return out

    @abstractmethod
    def _read(
        self, window: Window, indexes: list[int], out_shape: Optional[tuple[int, int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(float32 reflectance of the bands, nodata mask) for a window,
        resampled to ``out_shape`` (rows, cols) when given."""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> str:
        return f"{self.kind} {self.path}"

    def check_has_valid_pixels(self) -> None:
        """Fail early, with a clear message, on an image that is all nodata."""
        from ..errors import SatSegError

        # A few blocks (or the smallest overview) first: any valid pixel there settles it
        # without decompressing the whole file; only an all-nodata sample needs the full look.
        _, nodata, _ = self.sample(65_536)
        if nodata.size and not nodata.all():
            return
        if self.preview(256).nodata_mask.all():
            raise SatSegError(f"{self.path} has no valid pixels (every pixel is nodata)")
