"""Online imagery: Sentinel-2 from Earth Engine or a STAC catalogue, cached for offline work.

The one entry point is :func:`desktop_app.core.online.fetch.fetch_imagery`;
both the ``satseg fetch`` command and the Imagery panel call it. Nothing here
imports ``ee`` at module level, so importing the package stays light.
"""
from .fetch import (COMPOSITES, DEFAULT_BANDS, SCALES, SOURCES, FetchPlan, FetchRequest, FetchResult, default_cache_dir,
                    default_date_range, fetch_imagery, plan_fetch)

__all__ = [
    "COMPOSITES", "DEFAULT_BANDS", "SCALES", "SOURCES", "FetchPlan", "FetchRequest", "FetchResult",
    "default_cache_dir", "default_date_range", "fetch_imagery", "plan_fetch",
]
