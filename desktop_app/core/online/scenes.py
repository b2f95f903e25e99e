"""Which scenes a composite uses: the least cloudy, chosen per Sentinel-2 grid tile.

An ROI across two 100 km MGRS tiles needs scenes of both. Ranking all scenes
together lets the clearer tile crowd the other out (a least-cloudy "mosaic"
of one tile is half empty; a 16-scene median may hold no scene of the second
tile). So the choice is made per tile; the rule is in docs/online.md.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional, TypeVar

T = TypeVar("T")


def per_tile(scenes: Iterable[T], per: int, tile_of: Callable[[T], Optional[str]],
             cloud_of: Callable[[T], Optional[float]]) -> list[T]:
    """The ``per`` least cloudy scenes of every tile, least cloudy first overall.

    Unknown cloud cover ranks last; scenes without a tile id form one group.
    Ties keep the input order, so the choice is stable.
    """
    def cloud(s: T) -> float:
        c = cloud_of(s)
        return 101.0 if c is None else float(c)

    ranked = sorted(scenes, key=cloud)
    kept, count = [], {}
    for s in ranked:
        t = tile_of(s)
        if count.get(t, 0) < per:
            count[t] = count.get(t, 0) + 1
            kept.append(s)
    return kept
