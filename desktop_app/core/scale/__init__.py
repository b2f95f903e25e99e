"""Working at any image size: kept per-pixel evaluations, map tiles, overviews (docs/performance.md)."""
