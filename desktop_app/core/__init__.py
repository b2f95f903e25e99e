"""Qt-free engine of SatSeg.

Nothing under this package may import PySide6 or pyqtgraph (a test checks it);
heavy optional libraries (torch, sam2, ee) are imported inside the functions
that need them so that the CLI and the window start fast.
"""

import os as _os

# GDAL's block cache defaults to 5 % of RAM and is never given back while the
# process runs: a preview read of a full tile would keep ~1 GB. 256 MB is
# plenty for windowed reads (a user's own GDAL_CACHEMAX still wins).
_os.environ.setdefault("GDAL_CACHEMAX", "256")

import warnings as _warnings

# rasterio hands every in-memory array to GDAL (rasterize, reproject of arrays, shapes, sieve)
# as a MEM dataset that it opens before giving it the transform we pass, and hides the
# NotGeoreferencedWarning this raises with warnings.catch_warnings(), which swaps the one
# process-wide filter list: on two worker threads at once one thread's warning escapes now and
# then. This filter, installed before any thread starts, hides just that warning for good.
# Narrow on purpose: raised from rasterio.features / rasterio.warp only, so a dataset we open
# or write without a transform (raised from rasterio.open) still warns. docs/performance.md
RASTERIO_MEM_WARNING = dict(action="ignore", message="Dataset has no geotransform, gcps, or rpcs",
                            module=r"rasterio\.(features|warp)$")


def quiet_rasterio_in_memory_datasets() -> None:
    _warnings.filterwarnings(**RASTERIO_MEM_WARNING)


quiet_rasterio_in_memory_datasets()
