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
