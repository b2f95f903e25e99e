"""Spectral index bands on the open image (Qt-free; used by the Bands panel's index box).

A small image held in memory gets its index bands computed once, block by block, and appended
to its raster; a big image read from disk gets them per block as it is read
(``core.analysis.indices.IndexedSource``). Either way the classifier, the training pixels and
the spectral plot see the indices as ordinary bands. Formulas: docs/analysis.md ("Indices").
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core.analysis.indices import IndexedSource, SpectralIndex, check_indices, compute_indices
from ..core.raster import Raster

BLOCK_ROWS = 512


def base_band_names(doc) -> list[str]:
    return list(doc.band_names[:len(doc.band_names) - len(doc.indices)])


def set_indices(doc, indices: Sequence[SpectralIndex]) -> None:
    """Replace the index bands of ``doc`` (in place, so results keep pointing at the same document)."""
    indices = list(indices)
    base = base_band_names(doc)
    check_indices(base, indices)
    if doc.raster is not None:
        r = doc.raster
        data = r.data[:len(base)]
        extra = np.empty((len(indices), r.height, r.width), np.float32)
        for r0 in range(0, r.height, BLOCK_ROWS):
            extra[:, r0:r0 + BLOCK_ROWS] = compute_indices(data[:, r0:r0 + BLOCK_ROWS], base, indices)
        # The image's own nodata is kept aside so removing an index gives its pixels back.
        own = r.metadata.get("satseg_base_nodata", r.nodata_mask)
        nodata = own | ~np.isfinite(extra).all(axis=0) if indices else own
        meta = dict(r.metadata, satseg_base_nodata=own)
        doc.raster = Raster(np.concatenate([data, extra]) if indices else data, r.transform, r.crs,
                            base + [i.name for i in indices], nodata, meta)
    elif doc.source is not None:
        raw = doc.source.source if isinstance(doc.source, IndexedSource) else doc.source
        doc.source = IndexedSource(raw, indices) if indices else raw
    doc.indices = indices
    doc.band_names = base + [i.name for i in indices]
