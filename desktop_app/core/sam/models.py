"""Imported SAM-2 checkpoints in the user data folder: import, recognise, list, remove, load.

Layout (docs/sam.md)::

    <user data folder>/models/sam2/<name>/checkpoint.pt   the user's file, copied unchanged
    <user data folder>/models/sam2/<name>/model.json      {name, size, version, sha256, bytes, ...}

An installation built with ``make package SAM2_CHECKPOINT=FILE`` also carries
read-only models in ``<installation>/sam-models/<name>/`` (same layout; listed
after the user's own, never removed; docs/packaging.md).

``model.json`` is written last, so a folder without it is an interrupted
import and is ignored. Size and version are read from the tensor shapes,
never from the file name; the SHA-256 is checked again on every load.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from ..atomic import copy_file_atomic, write_text_atomic
from ..errors import Advice, SatSegError, advised
from ..jobs import Job, ensure_job
from .runtime import build_model

MODELS_DIRNAME = "sam2"
CHECKPOINT_NAME = "checkpoint.pt"
INFO_NAME = "model.json"
# (trunk embedding width, number of Hiera blocks) -> size; the configs of Meta's four sizes.
_SHAPES = {(96, 12): "tiny", (96, 16): "small", (112, 24): "base_plus", (144, 48): "large"}
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
HOW_TO_GET = advised("SAM-2 needs a checkpoint file: download e.g. sam2.1_hiera_tiny.pt from Meta's SAM-2 release "
                     "page on a connected machine", cli="then import it with `satseg sam import FILE`",
                     app="then import it with Import… in the SAM-2 panel")


@dataclass
class ModelInfo:
    name: str
    size: str
    version: str
    sha256: str
    bytes: int
    source: str
    imported_at: str
    path: str = ""          # folder; not stored

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def models_dir() -> Path:
    from .. import paths

    return paths.models_dir() / MODELS_DIRNAME


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The ``model`` state dict of a Meta-format checkpoint; SatSegError for anything else."""
    import pickle
    import zipfile

    import torch

    p = Path(path)
    if not p.is_file():
        raise SatSegError(f"{p} does not exist or is not a file")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise SatSegError(f"{p} is not a readable PyTorch checkpoint (corrupt, truncated or another "
                          "format)") from exc
    sd = ckpt.get("model") if isinstance(ckpt, dict) else None
    if not isinstance(sd, dict) or "image_encoder.trunk.patch_embed.proj.weight" not in sd:
        raise SatSegError(f"{p} is not a SAM-2 checkpoint (expected Meta's format: a dict with a 'model' "
                          "state dict of a SAM-2 image encoder and mask decoder)")
    return sd


def recognise(state_dict: dict) -> tuple[str, str]:
    """(size, version) from tensor shapes: trunk width and block count; SAM-2.1 adds ``no_obj_embed_spatial``."""
    width = int(state_dict["image_encoder.trunk.patch_embed.proj.weight"].shape[0])
    blocks = {int(m.group(1)) for k in state_dict
              if (m := re.match(r"image_encoder\.trunk\.blocks\.(\d+)\.", k))}
    size = _SHAPES.get((width, len(blocks)))
    if size is None:
        raise SatSegError(f"the checkpoint's image encoder (width {width}, {len(blocks)} blocks) is not one of "
                          "SAM-2's tiny, small, base+ or large models")
    version = "sam2.1" if "no_obj_embed_spatial" in state_dict else "sam2"
    return size, version


def _load_info(folder: Path) -> Optional[ModelInfo]:
    try:
        d = json.loads((folder / INFO_NAME).read_text(encoding="utf-8"))
        d.pop("path", None)
        return ModelInfo(**d, path=str(folder))
    except (OSError, ValueError, TypeError):
        return None


def list_models() -> list[ModelInfo]:
    """The user's imported models, then those that came with the installation (names unique)."""
    out: dict[str, ModelInfo] = {}
    for root in (models_dir(), bundled_models_dir()):
        if root.is_dir():
            for m in (_load_info(f) for f in sorted(root.iterdir()) if f.is_dir()):
                if m is not None and m.name not in out:
                    out[m.name] = m
    return list(out.values())


def get_model(name: Optional[str] = None) -> ModelInfo:
    """The model called ``name``; without a name the only (or first) installed one."""
    models = list_models()
    if not models:
        none = "no SAM-2 model is installed. "
        raise SatSegError(Advice(none + HOW_TO_GET, none + HOW_TO_GET.cli))
    if name is None:
        return models[0]
    for m in models:
        if m.name == name:
            return m
    raise SatSegError(f"no SAM-2 model named '{name}'; installed: {', '.join(m.name for m in models)}")


def bundled_models_dir() -> Path:
    """Models that came with the installation (read-only)."""
    from ..components import app_root

    return app_root() / "sam-models"


def import_checkpoint(path: str | os.PathLike, name: Optional[str] = None, job: Optional[Job] = None) -> ModelInfo:
    """Check, recognise and copy a checkpoint into the models folder; returns its entry."""
    from ..project import now_iso

    job = ensure_job(job)
    src = Path(path)
    job.step(0.0, "reading the checkpoint")
    sd = read_checkpoint(src)
    size, version = recognise(sd)
    job.step(0.3, f"checking SAM-2 {version} {size}")
    build_model(size, version, sd, device="cpu")   # every tensor must fit the real architecture
    del sd
    name = name or f"{version}-{size}"
    if not _NAME_OK.match(name):
        raise SatSegError(f"'{name}' is not a usable model name (letters, digits, . _ + -; up to 64)")
    job.step(0.6, "computing SHA-256")
    digest = sha256_file(src)
    folder = models_dir() / name
    existing = _load_info(folder) if folder.is_dir() else None
    if existing is not None:
        if existing.sha256 == digest:
            return existing
        raise SatSegError(advised(f"a different model is already installed as '{name}'",
                                  cli="choose another --name or remove it (satseg sam remove)",
                                  app="remove it first (choose it in the SAM-2 panel, then Remove)"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SatSegError(f"cannot create {folder}: {exc.strerror or exc}") from exc
    job.step(0.7, "copying")
    copy_file_atomic(src, folder / CHECKPOINT_NAME)
    info = ModelInfo(name, size, version, digest, src.stat().st_size, str(src.resolve()), now_iso(), str(folder))
    info_dict = info.to_dict()
    info_dict.pop("path")
    write_text_atomic(folder / INFO_NAME, json.dumps(info_dict, indent=1) + "\n")   # commit point
    job.step(1.0, "imported")
    return info


def remove_model(name: str) -> None:
    info = get_model(name)
    folder = Path(info.path)
    if folder.parent == bundled_models_dir():
        raise SatSegError(f"'{name}' came with the installation and cannot be removed")
    (folder / INFO_NAME).unlink()          # first: the entry disappears at once, even if the rest fails
    shutil.rmtree(folder, ignore_errors=True)


def load_model(info: ModelInfo, device: Optional[str] = None):
    """The SAM-2 model of an installed entry, its SHA-256 checked first."""
    ckpt = Path(info.path) / CHECKPOINT_NAME
    if not ckpt.is_file() or sha256_file(ckpt) != info.sha256:
        raise SatSegError(f"the installed model '{info.name}' is damaged (SHA-256 differs); remove it and "
                          "import the checkpoint again")
    return build_model(info.size, info.version, read_checkpoint(ckpt), device=device)
