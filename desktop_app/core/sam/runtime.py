"""Building the real SAM-2 architecture on the right device.

Meta's ``sam2`` package builds a model from a Hydra config; weights come
from an imported checkpoint (``core.sam.models``) or, with ``random_init``,
stay random (tests and demonstrations; every output says so). The
environment variable ``SATSEG_SAM_OVERRIDES`` (Hydra overrides separated by
spaces) shrinks a random-init model for fast tests: see docs/sam.md.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

from ..errors import SatSegError

# (size key) -> config stem; "sam2.1" configs live under configs/sam2.1/, "sam2" under configs/sam2/.
SIZES = {"tiny": "t", "small": "s", "base_plus": "b+", "large": "l"}
VERSIONS = ("sam2", "sam2.1")
DEFAULT_SIZE = "tiny"
DEFAULT_VERSION = "sam2.1"
OVERRIDES_ENV = "SATSEG_SAM_OVERRIDES"
# The shrunk architecture the tests use (real code, real output shapes, under a second per window).
BUILDS = {"count": 0}          # models built in this process (tests: a fully cached refine builds none)
SHRINK_OVERRIDES = (
    "++model.image_encoder.trunk.embed_dim=8",
    "++model.image_encoder.trunk.num_heads=1",
    "++model.image_encoder.neck.backbone_channel_list=[64,32,16,8]",
    "++model.image_size=256",     # 16x16 embeddings: the mask decoder runs 16x faster
)


def config_name(size: str, version: str = DEFAULT_VERSION) -> str:
    if size not in SIZES:
        raise SatSegError(f"unknown SAM-2 size '{size}'; sizes: {', '.join(SIZES)}")
    if version not in VERSIONS:
        raise SatSegError(f"unknown SAM-2 version '{version}'; versions: {', '.join(VERSIONS)}")
    return f"configs/{version}/{version}_hiera_{SIZES[size]}.yaml"


def pick_device() -> str:
    """'cuda' when a CUDA GPU is usable, else 'cpu'."""
    if not cuda_driver_present():
        return "cpu"     # without the driver torch says no too: not imported just to ask (0.5 GB, seconds)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cuda_driver_present() -> bool:
    """Whether an NVIDIA driver is installed (its kernel module or its CUDA library), which
    ``torch.cuda.is_available()`` needs before anything else."""
    import ctypes

    if os.path.exists("/proc/driver/nvidia/version"):
        return True
    for name in ("libcuda.so.1", "nvcuda.dll"):      # Linux, Windows (a failed load costs microseconds)
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            pass
    return False


def env_overrides() -> tuple[str, ...]:
    return tuple(os.environ.get(OVERRIDES_ENV, "").split())


def build_model(size: str = DEFAULT_SIZE, version: str = DEFAULT_VERSION, state_dict: Optional[dict] = None,
                device: Optional[str] = None, overrides: Sequence[str] = ()):
    """The SAM-2 model in eval mode on ``device``; weights from ``state_dict`` or random."""
    import torch
    from sam2.build_sam import build_sam2

    device = device or pick_device()
    BUILDS["count"] += 1
    torch.manual_seed(0)  # random-init models are the same in every run (reproducible demos and tests)
    model = build_sam2(config_name(size, version), None, device="cpu", hydra_overrides_extra=list(overrides))
    if state_dict is not None:
        missing, unexpected = model.load_state_dict(state_dict, strict=False)
        if missing or unexpected:
            raise SatSegError(f"the checkpoint does not fit SAM-2 {version} {size}: "
                              f"{len(missing)} missing and {len(unexpected)} unexpected tensors")
    return model.to(device).eval()
