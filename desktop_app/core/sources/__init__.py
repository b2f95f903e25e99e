"""Local imagery sources: open any supported path as an ImageSource."""
from __future__ import annotations

from pathlib import Path

from ..errors import SatSegError
from .base import ImageSource
from .geotiff_source import GeoTiffSource, is_url
from .sentinel2 import Sentinel2Source, find_band_files

__all__ = ["ImageSource", "GeoTiffSource", "Sentinel2Source", "open_image", "find_band_files"]


def open_image(path: str | Path, mask_clouds: bool = False, check_valid: bool = True, baseline=None) -> ImageSource:
    """Open a GeoTIFF/COG file, a folder of Sentinel-2 band files or a .SAFE product.

    ``baseline`` states the Sentinel-2 processing baseline of a band folder (e.g. "04.00").
    """
    if is_url(path):
        if mask_clouds or baseline is not None:
            raise SatSegError("cloud masking and a processing baseline need a Sentinel-2 band folder, not a URL")
        source: ImageSource = GeoTiffSource(str(path))
    elif not Path(path).exists():
        raise SatSegError(f"{Path(path)} does not exist")
    elif Path(path).is_dir():
        source = Sentinel2Source(Path(path), mask_clouds=mask_clouds, baseline=baseline)
    else:
        p = Path(path)
        if p.suffix.lower() == ".zip":
            raise SatSegError(f"{p} is a zip archive; unzip the .SAFE product and open its folder")
        if mask_clouds:
            raise SatSegError("cloud masking (SCL) needs a Sentinel-2 band folder or .SAFE product, not a single file")
        if baseline is not None:
            raise SatSegError("a processing baseline applies to a Sentinel-2 band folder or .SAFE product, "
                              "not a single file")
        source = GeoTiffSource(p)
    if check_valid:
        try:
            source.check_has_valid_pixels()
        except Exception:
            source.close()
            raise
    return source
