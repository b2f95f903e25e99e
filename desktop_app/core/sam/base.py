"""The SAM-2 model a run uses: an installed checkpoint or the random-init architecture.

The model (and torch/sam2 with it) is built on first use of ``model`` or
``device``, so a refine whose windows all come from the cache never builds it
(docs/sam.md).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..errors import SatSegError
from .runtime import DEFAULT_SIZE, DEFAULT_VERSION, build_model, env_overrides, pick_device

RANDOM_INIT_NOTE = "random-init: SAM-2 architecture with random weights, for tests and demonstrations only"


@dataclass
class SamBase:
    loader: Callable[[str], Any]    # device -> the model in eval mode on it
    requested_device: Optional[str]  # None: CUDA when present, else CPU (decided when the model is built)
    name: str
    size: str
    version: str
    sha256: Optional[str]          # of the checkpoint file; None for random-init
    random_init: bool
    overrides: tuple = field(default_factory=tuple)
    _model: Any = field(default=None, repr=False)
    _device: Optional[str] = field(default=None, repr=False)

    @property
    def device(self) -> str:
        if self._device is None:
            self._device = self.requested_device or pick_device()
        return self._device

    @property
    def model(self):
        if self._model is None:
            self._model = self.loader(self.device)
        return self._model

    @property
    def built(self) -> bool:
        return self._model is not None

    @property
    def image_size(self) -> int:
        """SAM's input side, known without building: 1024 in every SAM-2 config, unless an override shrinks it."""
        for o in self.overrides:
            if o.lstrip("+").startswith("model.image_size="):
                return int(o.split("=", 1)[1])
        return 1024

    @property
    def low_res(self) -> int:
        """Side of SAM's low-resolution mask frame (mask_input and decoder logits): image_size / 4."""
        return self.image_size // 4

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
    if random_init:
        if name:
            raise SatSegError("give either a model name or --random-init, not both")
        overrides = env_overrides()
        return SamBase(lambda dev: build_model(size, version, None, device=dev, overrides=overrides), device,
                       "random-init", size, version, None, True, overrides)
    from .models import get_model, load_model

    info = get_model(name)
    return SamBase(lambda dev: load_model(info, dev), device, info.name, info.size, info.version, info.sha256, False)


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
            return SamBase(lambda dev, info=info: load_model(info, dev), device, info.name, info.size,
                           info.version, info.sha256, False)
    raise SatSegError(f"this model was fine-tuned on SAM-2 {identity.get('version')} {identity.get('size')} "
                      f"(SHA-256 {str(identity.get('sha256'))[:12]}…), which is not installed; import that "
                      "checkpoint first")
