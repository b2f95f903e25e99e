"""Spectral indices computed on the fly, per block, as extra bands.

Built-in indices (docs/analysis.md lists the formulas and their sources)
and custom ones are formulas over band names. A formula is parsed with
Python's ``ast`` and only a whitelist of nodes is accepted — numbers, band
names, + - * / ** and parentheses — then evaluated with numpy on arrays, so
no user text is ever executed. Division by zero gives NaN, which the source
marks as nodata.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from ..errors import SatSegError
from ..raster import normalize_band_name, resolve_bands
from ..sources.base import ImageSource

# Sentinel-2 band names (docs/analysis.md, "Indices").
BUILTIN_INDICES = {
    "NDVI": "(B8 - B4) / (B8 + B4)",
    "NDWI": "(B3 - B8) / (B3 + B8)",          # McFeeters (1996)
    "MNDWI": "(B3 - B11) / (B3 + B11)",       # Xu (2006)
    "NDBI": "(B11 - B8) / (B11 + B8)",        # Zha et al. (2003)
    "SAVI": "1.5 * (B8 - B4) / (B8 + B4 + 0.5)",  # Huete (1988), L = 0.5
    "NDRE": "(B8 - B5) / (B8 + B5)",          # red-edge NDVI
}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: None, ast.Pow: np.power}


@dataclass(frozen=True)
class SpectralIndex:
    name: str
    formula: str

    def bands(self) -> list[str]:
        """Band names the formula reads, in order of first use."""
        return list(dict.fromkeys(_band_names(_parse(self.formula, self.name))))

    def compute(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """float32 index values; NaN where a denominator is zero or an input is NaN."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = _eval(_parse(self.formula, self.name).body, arrays)
        out = np.asarray(out, dtype=np.float32)
        out[~np.isfinite(out)] = np.nan
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "formula": self.formula}


def _parse(formula: str, name: str) -> ast.Expression:
    try:
        tree = ast.parse(formula.strip(), mode="eval")
    except SyntaxError:
        raise SatSegError(f"index {name}: '{formula}' is not a formula over band names") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.UAdd, ast.USub)) \
            or type(node) in _BINOPS \
            or (isinstance(node, ast.Constant) and type(node.value) in (int, float))
        if not ok:
            raise SatSegError(f"index {name}: '{formula}' may only use band names, numbers, + - * / ** "
                              f"and parentheses")
    return tree


def _band_names(tree) -> list[str]:
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]


def _eval(node, arrays):
    if isinstance(node, ast.Constant):
        return np.float32(node.value)
    if isinstance(node, ast.Name):
        return arrays[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, arrays)
        return -v if isinstance(node.op, ast.USub) else v
    left, right = _eval(node.left, arrays), _eval(node.right, arrays)
    if isinstance(node.op, ast.Div):
        right = np.asarray(right, dtype=np.float32)
        # A zero denominator gives NaN (nodata), never inf.
        return np.divide(left, np.where(right == 0, np.nan, right))
    return _BINOPS[type(node.op)](left, right)


def parse_index_list(text: Optional[str]) -> list[SpectralIndex]:
    """'NDVI,MNDWI,WET=(B3-B12)/(B3+B12)' -> indices; built-in names are case-insensitive."""
    if text is None or not text.strip():
        return []
    out: list[SpectralIndex] = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        name, sep, formula = item.partition("=")
        name = name.strip()
        if not sep:
            key = name.upper()
            if key not in BUILTIN_INDICES:
                raise SatSegError(f"unknown index '{name}'; built-in indices are {', '.join(BUILTIN_INDICES)}, "
                                  f"or give NAME=FORMULA")
            out.append(SpectralIndex(key, BUILTIN_INDICES[key]))
            continue
        if not _NAME.match(name):
            raise SatSegError(f"index name '{name}' must be letters, digits or _ (at most 32), starting with a letter")
        _parse(formula, name)
        out.append(SpectralIndex(name, formula.strip()))
    names = [i.name.upper() for i in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SatSegError(f"index {', '.join(dup)} given twice")
    return out


def check_indices(band_names: list[str], indices: Iterable[SpectralIndex]) -> None:
    """SatSegError naming the index and the band when a formula reads a band the image lacks."""
    lookup = {normalize_band_name(n).upper() for n in band_names}
    for index in indices:
        for band in index.bands():
            if normalize_band_name(band).upper() not in lookup:
                raise SatSegError(f"index {index.name} needs band {band}, which this image does not have "
                                  f"(bands: {', '.join(band_names)})")
        if index.name.upper() in lookup:
            raise SatSegError(f"index name {index.name} is already a band of this image")


def compute_indices(data: np.ndarray, band_names: list[str], indices: Iterable[SpectralIndex]) -> np.ndarray:
    """(len(indices), rows, cols) float32 from a (bands, rows, cols) reflectance block."""
    indices = list(indices)
    check_indices(band_names, indices)
    out = np.empty((len(indices), *data.shape[1:]), np.float32)
    for k, index in enumerate(indices):
        arrays = {b: data[resolve_bands(band_names, [b])[0]] for b in index.bands()}
        out[k] = index.compute(arrays)
    return out


class IndexedSource(ImageSource):
    """An image source with index bands appended after its own bands.

    Index values are computed from the block being read, so a classifier,
    the training-pixel reader and the spectral plot see them like any band.
    A pixel whose index is undefined (zero denominator) is nodata.
    """

    def __init__(self, source: ImageSource, indices: Iterable[SpectralIndex]) -> None:
        super().__init__()
        self.source = source
        self.indices = list(indices)
        check_indices(source.band_names, self.indices)
        self.width, self.height = source.width, source.height
        self.transform, self.crs = source.transform, source.crs
        self.band_names = list(source.band_names) + [i.name for i in self.indices]
        self.path = source.path
        self.kind = source.kind
        self.metadata = dict(getattr(source, "metadata", {}))
        self.metadata["indices"] = [i.to_dict() for i in self.indices]

    def _read(self, window, indexes, out_shape):
        n_raw = self.source.count
        wanted_idx = sorted({i - n_raw for i in indexes if i >= n_raw})
        need = {i for i in indexes if i < n_raw}
        for k in wanted_idx:
            need.update(resolve_bands(self.source.band_names, self.indices[k].bands()))
        need_list = sorted(need)
        data, nodata = self.source._read(window, need_list, out_shape)
        pos = {b: p for p, b in enumerate(need_list)}
        out = np.empty((len(indexes), *data.shape[1:]), np.float32)
        computed = {}
        if wanted_idx:
            names = [self.source.band_names[b] for b in need_list]
            values = compute_indices(data, names, [self.indices[k] for k in wanted_idx])
            computed = {k: values[j] for j, k in enumerate(wanted_idx)}
            nodata = nodata | ~np.isfinite(values).all(axis=0)
        for j, i in enumerate(indexes):
            out[j] = data[pos[i]] if i < n_raw else computed[i - n_raw]
        return out, nodata

    def close(self) -> None:
        self.source.close()
