"""Working at any image size.

On one machine: kept per-pixel evaluations, map tiles, overviews (docs/performance.md).
Past one machine (docs/scale.md): ``cluster`` connects to dask.distributed (a
LocalCluster or a scheduler address) and ``dask_classify`` classifies a local
raster's blocks on the workers. ``dask`` and ``ee`` are imported inside
functions, never at module top.
"""
