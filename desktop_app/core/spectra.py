"""Reference surface reflectance spectra on the twelve Sentinel-2 L2A bands.

Values are band-averaged reflectance (0..1) for B1, B2, B3, B4, B5, B6, B7, B8,
B8A, B9, B11, B12. They were read off laboratory and field spectra resampled to
the Sentinel-2 MSI spectral response functions and rounded:

- vegetation (green crop, broadleaf forest), soils (dry/moist alluvial loam)
  and man-made surfaces (concrete, asphalt/dark roofing): USGS Spectral
  Library Version 7 (Kokaly et al., 2017, USGS Data Series 1035,
  doi:10.3133/ds1035) and the ECOSTRESS Spectral Library 1.0 (Meerdink et al.,
  2019, Remote Sensing of Environment 230, doi:10.1016/j.rse.2019.05.015);
- clear and sediment-laden river water: typical Sentinel-2 L2A values over
  inland waters (Pahlevan et al., 2017, "Sentinel-2 MultiSpectral Instrument
  (MSI) data processing for aquatic science applications", Remote Sensing of
  Environment 201, doi:10.1016/j.rse.2017.08.033);
- band centres: ESA Sentinel-2 MSI User Guide / spectral response functions
  (COPE-GSEG-EOPG-TN-15-0007).

They are endmembers for the synthetic demo scene, not a calibrated library:
the scene mixes them per pixel to create realistic within-class variation.
"""
from __future__ import annotations

import numpy as np

DEMO_BANDS = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"]

#                          B1     B2     B3     B4     B5     B6     B7     B8     B8A    B9     B11    B12
ENDMEMBERS = {
    "clear_water":  [0.045, 0.045, 0.055, 0.035, 0.028, 0.020, 0.017, 0.015, 0.013, 0.010, 0.006, 0.004],
    "turbid_water": [0.070, 0.075, 0.100, 0.090, 0.080, 0.050, 0.040, 0.035, 0.030, 0.020, 0.010, 0.007],
    "green_crop":   [0.030, 0.035, 0.070, 0.040, 0.110, 0.300, 0.380, 0.420, 0.430, 0.410, 0.220, 0.110],
    "dry_soil":     [0.090, 0.110, 0.160, 0.220, 0.250, 0.270, 0.285, 0.300, 0.310, 0.315, 0.380, 0.330],
    "moist_soil":   [0.060, 0.070, 0.100, 0.140, 0.160, 0.175, 0.185, 0.195, 0.200, 0.205, 0.250, 0.220],
    "concrete":     [0.160, 0.180, 0.200, 0.220, 0.230, 0.240, 0.245, 0.250, 0.255, 0.250, 0.280, 0.260],
    "asphalt_roof": [0.080, 0.085, 0.095, 0.105, 0.115, 0.125, 0.130, 0.135, 0.140, 0.140, 0.170, 0.160],
    "forest":       [0.020, 0.025, 0.045, 0.025, 0.070, 0.200, 0.260, 0.290, 0.300, 0.280, 0.140, 0.060],
}


def endmember(name: str) -> np.ndarray:
    return np.asarray(ENDMEMBERS[name], dtype=np.float32)
