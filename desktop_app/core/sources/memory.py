"""An in-memory Raster seen as an ImageSource (the demo scene and small images the app holds whole)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..raster import Raster
from .base import ImageSource


class MemorySource(ImageSource):
    def __init__(self, raster: Raster, path: str = "<memory>") -> None:
        super().__init__()
        self.raster = raster
        self.width, self.height = raster.width, raster.height
        self.transform, self.crs = raster.transform, raster.crs
        self.band_names = list(raster.band_names)
        self.path = path
        self.kind = "in-memory image"
        self.metadata = dict(raster.metadata)

    def _read(self, window, indexes: list[int], out_shape: Optional[tuple[int, int]]):
        r0, c0 = int(window.row_off), int(window.col_off)
        rows = slice(r0, r0 + int(window.height))
        cols = slice(c0, c0 + int(window.width))
        data = self.raster.data[indexes, rows, cols]
        nodata = self.raster.nodata_mask[rows, cols]
        if out_shape is not None and out_shape != data.shape[1:]:
            # nearest sampling at the centres of the coarser grid (previews only)
            ri = ((np.arange(out_shape[0]) + 0.5) * data.shape[1] / out_shape[0]).astype(int)
            ci = ((np.arange(out_shape[1]) + 0.5) * data.shape[2] / out_shape[1]).astype(int)
            data, nodata = data[:, ri][:, :, ci], nodata[ri][:, ci]
        return np.array(data, np.float32), np.array(nodata, bool)
