"""Figures of the installers (README "Install on a field laptop"): sizes, what takes the space, start-up times.

    .venv-package/bin/python benchmarks/package_figures.py [--bundle dist/satseg] [--runs 3]

Prints the unpacked bundle size, the .deb and .tar.gz sizes, the 10 largest folders
(counting the files directly in each folder, so a parent does not repeat its children),
launch-to-usable-window time (process start until the map page reports ready, offscreen;
the first run is cold) and `satseg --help` wall time, each with its target.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from desktop_app import __version__  # noqa: E402

GB, MB = 1e9, 1e6


def folder_sizes(bundle: Path) -> tuple[int, Counter]:
    own: Counter = Counter()
    total = 0
    for dirpath, _dirs, files in os.walk(bundle):
        for name in files:
            p = Path(dirpath, name)
            if not p.is_symlink():
                size = p.stat().st_size
                own[str(Path(dirpath).relative_to(bundle))] += size
                total += size
    return total, own


def launch_seconds(app: Path, env: dict) -> float:
    """Process start until the smoke test prints that the map page is ready (then it is stopped)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(app), "--smoke-test", "--demo-size", "200"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        for line in proc.stdout:
            if "map page ready" in line:
                return time.perf_counter() - t0
        raise SystemExit(f"{app} ended without a ready map page (exit {proc.wait()})")
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=ROOT / "dist" / "satseg")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    bundle = args.bundle

    total, own = folder_sizes(bundle)
    print(f"unpacked bundle {bundle}: {total / GB:.2f} GB (target <= 1.6 GB, ratio {total / 1.6e9:.2f})")
    for path, target in ((ROOT / "dist" / f"satseg_{__version__}_amd64.deb", 700 * MB),
                         (ROOT / "dist" / f"satseg-{__version__}-linux-x86_64.tar.gz", None)):
        if path.exists():
            size = path.stat().st_size
            extra = f" (target <= {target / MB:.0f} MB, ratio {size / target:.2f})" if target else ""
            print(f"{path.name}: {size / MB:.0f} MB{extra}")
    print("largest folders (files directly inside):")
    for folder, size in own.most_common(10):
        print(f"  {size / MB:8.1f} MB  {folder}")

    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=f"{home}/.config", XDG_DATA_HOME=f"{home}/.local/share",
                   XDG_CACHE_HOME=f"{home}/.cache", QT_QPA_PLATFORM="offscreen")
        launches = [launch_seconds(bundle / "satseg-app", env) for _ in range(args.runs)]
        print("launch to usable window (map page ready): " + ", ".join(f"{t:.2f}" for t in launches)
              + f" s; median {statistics.median(launches):.2f} s (target <= 5 s)")
        helps = []
        for _ in range(max(args.runs, 5)):
            t0 = time.perf_counter()
            subprocess.run([str(bundle / "satseg"), "--help"], check=True, stdout=subprocess.DEVNULL, env=env)
            helps.append(time.perf_counter() - t0)
        print("satseg --help: " + ", ".join(f"{t:.2f}" for t in helps)
              + f" s; median {statistics.median(helps):.2f} s (target <= 1 s)")


if __name__ == "__main__":
    main()
