"""Input recipe: three bands and a fixed percentile stretch, mapping reflectance to SAM's RGB.

SAM-2 sees an 8-bit-like RGB picture. Which three bands, and how they are
stretched, changes what it sees, so both are chosen once per scene and
stored with every refined result and every fine-tuned model: a new scene is
then mapped exactly as the training one was (docs/sam.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..errors import SatSegError
from ..raster import normalize_band_name, resolve_bands

RECIPES = {
    "true_colour": ("B4", "B3", "B2"),
    "false_colour": ("B8", "B4", "B3"),
    "swir": ("B12", "B8", "B4"),
}
DEFAULT_RECIPE = "true_colour"
STRETCH_PERCENTILES = (2.0, 98.0)


@dataclass
class InputMapping:
    """A recipe with its stretch: ``limits`` is (3, 2) reflectance at the low/high percentile."""

    recipe: str
    bands: list[str]
    limits: np.ndarray

    def to_dict(self) -> dict:
        return {"recipe": self.recipe, "bands": list(self.bands), "limits": np.asarray(self.limits).round(6).tolist(),
                "percentiles": list(STRETCH_PERCENTILES)}

    @classmethod
    def from_dict(cls, d: dict) -> "InputMapping":
        return cls(str(d["recipe"]), [str(b) for b in d["bands"]], np.asarray(d["limits"], np.float64))

    def key(self) -> str:
        return f"{self.recipe}:{','.join(self.bands)}:{np.asarray(self.limits).round(6).tolist()}"

    def to_rgb(self, data: np.ndarray, nodata: np.ndarray) -> np.ndarray:
        """(3, rows, cols) reflectance of ``bands`` -> (rows, cols, 3) float32 in 0..1; nodata black."""
        lo = self.limits[:, 0, None, None]
        hi = self.limits[:, 1, None, None]
        rgb = np.clip((data - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
        rgb[:, nodata] = 0.0
        return np.ascontiguousarray(np.moveaxis(np.nan_to_num(rgb, nan=0.0), 0, -1))


def recipe_bands(recipe: str) -> list[str]:
    """A named recipe's bands, or a custom 'B8,B4,B3' list."""
    if recipe in RECIPES:
        return list(RECIPES[recipe])
    parts = [normalize_band_name(p) for p in recipe.split(",") if p.strip()]
    if len(parts) != 3:
        raise SatSegError(f"unknown recipe '{recipe}': use one of {', '.join(RECIPES)} or three bands like B8,B4,B3")
    return parts


def scene_mapping(source, recipe: str = DEFAULT_RECIPE, band_names: Optional[Sequence[str]] = None) -> InputMapping:
    """The recipe's bands in ``source`` with a stretch from a whole-scene preview (computed once)."""
    from ..display import percentile_limits

    bands = recipe_bands(recipe)
    available = list(band_names or source.band_names)
    try:
        idx = resolve_bands(available, bands)
    except SatSegError:
        raise SatSegError(f"the image has no band(s) for recipe '{recipe}' ({', '.join(bands)}); "
                          f"its bands: {', '.join(available)}") from None
    names = [available[i] for i in idx]
    preview = source.preview(1024, bands=names)
    limits = percentile_limits(preview.data, preview.valid_mask, *STRETCH_PERCENTILES)
    return InputMapping(recipe, names, limits)
