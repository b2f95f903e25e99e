"""satseg cluster IMAGE --k K --out CLUSTERS.tif"""
from __future__ import annotations

from ..core.raster import parse_band_option
from .common import add_json_argument, print_json, print_warnings
from .source_options import add_baseline_argument, source_warnings

NAME = "cluster"
HELP = "unsupervised k-means clusters of an image into a class raster"
DESCRIPTION = (
    "MiniBatch k-means on a random sample of pixels (--sample; from the whole image up to 4 MP, else from 64 "
    "random 256 x 256 tiles), "
    "then every pixel is assigned to its nearest centre block by block. The output is a class raster with "
    "classes 'cluster 1'..'cluster K' (ordered by mean reflectance); the same --seed gives the same clusters. "
    "See docs/analysis.md."
)


def add_arguments(p) -> None:
    p.add_argument("image", metavar="IMAGE", help="GeoTIFF/COG, Sentinel-2 band folder or .SAFE folder")
    p.add_argument("--k", type=int, required=True, metavar="K", help="number of clusters (2..254)")
    p.add_argument("--out", required=True, metavar="CLUSTERS.tif", help="class raster to write")
    p.add_argument("--bands", metavar="LIST", help="bands to use, e.g. B2,B3,B4,B8 (default: all)")
    p.add_argument("--indices", metavar="LIST", help="add spectral indices as bands, e.g. NDVI,MNDWI")
    p.add_argument("--sample", type=int, default=100_000, metavar="N", help="pixels to fit on (default 100000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--block", type=int, default=1024, help="block size in pixels (default 1024)")
    p.add_argument("--mask-clouds", action="store_true", help="treat SCL clouds/shadows as nodata (Sentinel-2 folders)")
    add_json_argument(p)
    add_baseline_argument(p)


def run(args) -> int:
    from pathlib import Path

    from ..core.analysis.clusters import cluster_image
    from ..core.analysis.indices import IndexedSource, parse_index_list
    from ..core.classify import bounded_gdal_cache
    from ..core.errors import SatSegError
    from ..core.sources import open_image
    from .progress import terminal_job

    if Path(args.out).resolve() == Path(args.image).resolve():
        raise SatSegError("--out must not be the input image")
    if args.sample < 100:
        raise SatSegError("--sample must be at least 100 pixels")
    indices = parse_index_list(args.indices)
    bands = parse_band_option(args.bands)
    with bounded_gdal_cache(), open_image(args.image, mask_clouds=args.mask_clouds, baseline=args.baseline) as src:
        source = IndexedSource(src, indices) if indices else src
        if bands is not None and indices:
            bands = list(bands) + [i.name for i in indices]
        summary = cluster_image(source, args.k, args.out, bands=bands, sample=args.sample, seed=args.seed,
                                block=args.block, job=terminal_job(None if not args.json else False))
        summary["warnings"] = source_warnings(src)
    if print_json(args, summary):
        return 0
    print_warnings(summary["warnings"])
    print(f"{args.out}: {args.k} clusters on bands {','.join(summary['bands'])}, seed {args.seed}")
    for c in summary["clusters"]:
        print(f"  {c['id']:>3} {c['name']:<12} {c['pixels']:>11} px")
    return 0
