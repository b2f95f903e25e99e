"""Refuse a packaging venv that could put CUDA or triton files into the bundle."""
import importlib.metadata as md
import sys

import torch

problems = []
if torch.version.cuda is not None or "+cpu" not in torch.__version__:
    problems.append(f"torch {torch.__version__} is not the CPU-only build")
for dist in md.distributions():
    name = (dist.metadata["Name"] or "").lower()
    if name.startswith(("nvidia-", "triton", "cuda-")):
        problems.append(f"{name} is installed")
if problems:
    sys.exit("packaging venv: " + "; ".join(problems))
print(f"packaging venv: torch {torch.__version__} (CPU only), no NVIDIA/triton packages")
