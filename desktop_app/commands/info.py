"""satseg info IMAGE"""
from __future__ import annotations

from ..core.geo import bounds_to_wgs84
from ..core.sources import open_image
from .common import add_json_argument, print_json, print_warnings
from .source_options import add_baseline_argument, source_warnings

NAME = "info"
HELP = "print bands, size, CRS, bounds and nodata share of an image"
DESCRIPTION = (
    "Describe a GeoTIFF/COG, a folder of Sentinel-2 band files or a .SAFE product: bands, size, "
    "pixel size, CRS, bounds (native and WGS84) and the share of nodata pixels and mean reflectance, "
    "estimated from the smallest overview or, without overviews, from a few blocks spread over the image "
    "(never a pass over every pixel)."
)


def add_arguments(p) -> None:
    p.add_argument("image", metavar="IMAGE", help="GeoTIFF/COG file, Sentinel-2 band folder or .SAFE folder")
    p.add_argument("--mask-clouds", action="store_true", help="count SCL clouds/shadows as nodata (Sentinel-2 folders)")
    add_baseline_argument(p)
    add_json_argument(p)


def run(args) -> int:
    with open_image(args.image, mask_clouds=args.mask_clouds, check_valid=False, baseline=args.baseline) as src:
        values, nodata, sampled = src.sample()
        nodata_share = float(nodata.mean()) if nodata.size else 1.0
        info = {
            "path": src.path, "kind": src.kind, "bands": src.band_names,
            "width": src.width, "height": src.height, "pixel_size": list(src.res),
            "crs": src.crs.to_string(), "bounds": list(src.bounds),
            "bounds_wgs84": list(bounds_to_wgs84(src.bounds, src.crs)),
            "nodata_share": round(nodata_share, 6), "sampled_from": sampled,
            "metadata": {k: v for k, v in src.metadata.items() if v is not None and k not in ("path", "bands")},
            "warnings": source_warnings(src),
        }
        if not nodata.all():
            info["mean_reflectance"] = {
                b: round(float(v), 4) for b, v in zip(src.band_names, values[:, ~nodata].mean(axis=1))
            }
    if print_json(args, info):
        return 0
    w, s, e, n = info["bounds_wgs84"]
    print(f"{info['path']} ({info['kind']})")
    print(f"  size:    {info['width']} x {info['height']} px, pixel {info['pixel_size'][0]:g} x {info['pixel_size'][1]:g}")
    print(f"  CRS:     {info['crs']}")
    print(f"  bounds:  {', '.join(f'{v:.2f}' for v in info['bounds'])}")
    print(f"  WGS84:   W {w:.5f}  S {s:.5f}  E {e:.5f}  N {n:.5f}")
    print(f"  bands:   {' '.join(info['bands'])} ({len(info['bands'])})")
    print(f"  nodata:  {100 * nodata_share:.2f} % ({'from ' + sampled if sampled != 'all pixels' else 'all pixels'})")
    for k, v in info["metadata"].items():
        print(f"  {k}: {v}")
    if nodata_share >= 1.0:
        print("  warning: no valid pixel in " + ("the image" if sampled == "all pixels" else f"the {sampled} read"))
    print_warnings(info["warnings"])
    return 0
