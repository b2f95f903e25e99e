"""SAM-2 stage speed: whole `satseg sam ...` processes on the 1000 x 1000 demo scene.

Real SAM-2.1 tiny architecture with random weights (``--random-init``; no
weights are downloaded), 1024 px windows, CPU. Prints, per command, wall
seconds, CPU seconds of the process (user + system; on a shared machine
wall time includes waiting for a core) and its peak resident memory, then
the ratios the issue's targets are stated in:

    .venv/bin/python benchmarks/sam_speed.py [--steps 6] [--work DIR] [--refine-only]

Targets (issue 11): refine first run <= 30 s; second run (cache) <= 30 % of
the first; one fine-tuning step <= 3 s; segment <= 10 s per window; peak
memory <= 3 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def satseg(args: list[str], env: dict) -> tuple[dict, float, float, float]:
    """(JSON result, wall s, CPU s, peak RSS GB) of one `satseg` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "desktop_app.cli", *args, "--json"], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"satseg {' '.join(args)} failed:\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of children is the largest child so far (KiB on Linux)
    return json.loads(proc.stdout), wall, cpu, after.ru_maxrss / 2 ** 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6, help="fine-tuning steps per variant in the longer run")
    ap.add_argument("--work", help="working folder (default: a temporary one)")
    ap.add_argument("--refine-only", action="store_true", help="only the two refine runs")
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="sam-speed-"))
    env = dict(os.environ, SATSEG_HOME=str(work / "home"), PYTHONPATH=str(ROOT))
    env.pop("SATSEG_SAM_OVERRIDES", None)          # the real tiny architecture
    scene = work / "demo"
    subprocess.run([sys.executable, "-m", "desktop_app.cli", "demo-scene", str(scene)], check=True, env=env,
                   cwd=ROOT, capture_output=True)
    subprocess.run([sys.executable, "-m", "desktop_app.cli", "classify", str(scene / "scene.tif"),
                    str(scene / "samples.geojson"), "--out", str(scene / "classes.tif")], check=True, env=env,
                   cwd=ROOT, capture_output=True)
    img, cls = str(scene / "scene.tif"), str(scene / "classes.tif")
    rows = []

    def run(name, args):
        r, wall, cpu, rss = satseg(args, env)
        rows.append((name, wall, cpu, rss))
        print(f"{name:<34} wall {wall:7.1f} s   cpu {cpu:7.1f} s   peak RSS {rss:5.2f} GB", flush=True)
        return r, wall, cpu

    print(f"SAM-2.1 tiny (random weights), 1000 x 1000 demo scene, 1024 px windows, {os.cpu_count()} CPUs")
    r1, w1, c1 = run("refine (first run)", ["sam", "refine", img, cls, "--out", str(work / "r1.tif"), "--random-init"])
    r2, w2, c2 = run("refine (second run, cache)", ["sam", "refine", img, cls, "--out", str(work / "r2.tif"),
                                                    "--random-init"])
    if a.refine_only:
        print(f"\nrefine first run:            {w1:.1f} s wall ({c1:.1f} s CPU), {r1['prompts']} prompts; target <= 30 s")
        print(f"refine second run / first:   {w2 / w1:.0%} wall ({c2 / c1:.0%} CPU), cache hits "
              f"{r2['cache_hits']}/{r2['windows']}, decoded masks from the cache {r2['decode_hits']}, "
              f"model built: {r2['model_built']}; target <= 30 %")
        print(f"load average at the end:     {os.getloadavg()[0]:.1f} (shared machine)")
        return
    short = 1
    f1, fw1, fc1 = run(f"finetune --steps {short}", ["sam", "finetune", img, cls, "--out", str(work / "m1"),
                                                     "--random-init", "--steps", str(short)])
    f2, fw2, fc2 = run(f"finetune --steps {a.steps}", ["sam", "finetune", img, cls, "--out", str(work / "m2"),
                                                       "--random-init", "--steps", str(a.steps)])
    s1, sw, sc = run("segment (fine-tuned model)", ["sam", "segment", img, str(work / "m2"), "--out",
                                                    str(work / "s.tif")])
    extra_steps = 2 * (a.steps - short)             # two variants (full, tokens)
    print()
    print(f"refine first run:            {w1:.1f} s wall ({c1:.1f} s CPU), {r1['prompts']} prompts, "
          f"{r1['windows']} window(s); target <= 30 s")
    print(f"refine second run / first:   {w2 / w1:.0%} wall ({c2 / c1:.0%} CPU), cache hits "
          f"{r2['cache_hits']}/{r2['windows']}, model built: {r2['model_built']}; target <= 30 %")
    print(f"one fine-tuning step:        {(fw2 - fw1) / extra_steps:.2f} s wall ({(fc2 - fc1) / extra_steps:.2f} s CPU) "
          f"(difference of two runs / {extra_steps} steps); target <= 3 s")
    print(f"segment per window:          {sw / s1['windows']:.1f} s wall ({sc / s1['windows']:.1f} s CPU), "
          f"whole process incl. model build and encoding; target <= 10 s")
    print(f"peak memory (largest run):   {max(r[3] for r in rows):.2f} GB; target <= 3 GB")
    print(f"load average at the end:     {os.getloadavg()[0]:.1f} (shared machine)")


if __name__ == "__main__":
    main()
