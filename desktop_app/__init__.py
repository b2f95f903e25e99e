"""SatSeg: land-use / land-cover segmentation of Sentinel-2 imagery."""

__version__ = "0.1.0"
