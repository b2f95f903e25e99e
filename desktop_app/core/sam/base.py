"""The SAM-2 model a run uses: an installed checkpoint or the random-init architecture."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional

from ..errors import SatSegError
from .runtime import DEFAULT_SIZE, DEFAULT_VERSION, build_model, env_overrides, pick_device

RANDOM_INIT_NOTE = "random-init: SAM-2 architecture with random weights, for tests and demonstrations only"


@dataclass
class SamBase:
    model: Any
    device: str
    name: str
    size: str
    version: str
    sha256: Optional[str]          # of the checkpoint file; None for random-init
    random_init: bool
    overrides: tuple = field(default_factory=tuple)

    @property
    def key(self) -> str:
        """Identifies the encoder's weights (feature-cache key)."""
        if self.sha256:
            return self.sha256
        tag = f"random-init:{self.size}:{self.version}:{' '.join(self.overrides)}"
        return hashlib.sha256(tag.encode()).hexdigest()

    def identity(self) -> dict:
        d = {"name": self.name, "size": self.size, "version": self.version, "sha256": self.sha256,
             "random_init": self.random_init}
        if self.overrides:
            d["overrides"] = list(self.overrides)
        if self.random_init:
            d["note"] = RANDOM_INIT_NOTE
        return d


def open_base(name: Optional[str] = None, random_init: bool = False, device: Optional[str] = None,
              size: str = DEFAULT_SIZE, version: str = DEFAULT_VERSION) -> SamBase:
    """An installed model (by name; the first one without a name) or, with ``random_init``, random weights."""
    device = device or pick_device()
    if random_init:
        if name:
            raise SatSegError("give either a model name or --random-init, not both")
        overrides = env_overrides()
        model = build_model(size, version, None, device=device, overrides=overrides)
        return SamBase(model, device, "random-init", size, version, None, True, overrides)
    from .models import get_model, load_model

    info = get_model(name)
    return SamBase(load_model(info, device), device, info.name, info.size, info.version, info.sha256, False)


def open_base_like(identity: dict, device: Optional[str] = None) -> SamBase:
    """The base model a fine-tuned model was trained on, found again by its SHA-256."""
    if identity.get("random_init"):
        base = open_base(random_init=True, device=device, size=identity["size"], version=identity["version"])
        if list(base.overrides) != list(identity.get("overrides", [])):
            raise SatSegError("this model was trained on a random-init architecture with other settings "
                              f"({' '.join(identity.get('overrides', [])) or 'none'}); set the same "
                              "SATSEG_SAM_OVERRIDES to use it")
        return base
    from .models import list_models, load_model

    for info in list_models():
        if info.sha256 == identity.get("sha256"):
            return SamBase(load_model(info, device), device or pick_device(), info.name, info.size, info.version,
                           info.sha256, False)
    raise SatSegError(f"this model was fine-tuned on SAM-2 {identity.get('version')} {identity.get('size')} "
                      f"(SHA-256 {str(identity.get('sha256'))[:12]}…), which is not installed; import that "
                      "checkpoint first")
