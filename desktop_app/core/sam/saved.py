"""A fine-tuned model on disk: only the trained parts plus the metadata to use it again.

Folder layout (docs/sam.md)::

    MODEL_DIR/trained.pt             torch.save of {"class_tokens", "decoder"?, "head"?} tensors
    MODEL_DIR/satseg-sam-model.json  metadata; written last (the commit point)

The metadata names the base checkpoint by SHA-256 (with its size, version,
config), the input mapping (recipe and stretch), the head's bands with their
standardisation, the classes with ids and colours, and the training scores.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Optional

from ..atomic import write_bytes_atomic, write_text_atomic
from ..errors import SatSegError

FORMAT = "satseg-sam-finetuned"
VERSION = 1
META_NAME = "satseg-sam-model.json"
WEIGHTS_NAME = "trained.pt"


def check_model_dir(path: str | os.PathLike) -> Path:
    """The output folder, checked before training: new, empty, or a saved model (replaced)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise SatSegError(f"{p} exists and is not a folder")
    if p.is_dir() and any(p.iterdir()) and not (p / META_NAME).is_file():
        raise SatSegError(f"{p} is a folder with other files in it; give a new or empty folder for the model")
    parent = p.resolve().parent
    if not parent.is_dir():
        raise SatSegError(f"cannot write {p}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (p.is_dir() and not os.access(p, os.W_OK)):
        raise SatSegError(f"cannot write {p}: permission denied")
    return p


def save_model(path: str | os.PathLike, state: dict, meta: dict) -> Path:
    import torch

    p = check_model_dir(path)
    buf = io.BytesIO()
    torch.save(state, buf)
    body = dict(meta, format=FORMAT, version=VERSION)
    text = json.dumps(body, indent=1, allow_nan=False) + "\n"     # serialised before any write
    p.mkdir(exist_ok=True)
    write_bytes_atomic(p / WEIGHTS_NAME, buf.getvalue())
    write_text_atomic(p / META_NAME, text)
    return p


def read_meta(path: str | os.PathLike) -> dict:
    p = Path(path)
    try:
        meta = json.loads((p / META_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SatSegError(f"{p} is not a fine-tuned SAM-2 model folder (no {META_NAME})") from None
    except (OSError, ValueError) as exc:
        raise SatSegError(f"cannot read the model in {p}: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise SatSegError(f"{p / META_NAME} is not a SatSeg fine-tuned model")
    if int(meta.get("version", 0)) > VERSION:
        raise SatSegError(f"{p} was saved by a newer SatSeg (model format {meta.get('version')})")
    return meta


def load_model(path: str | os.PathLike, device: Optional[str] = None):
    """(net, meta, base) ready to segment."""
    import torch

    from .base import open_base_like
    from .net import ClassNet

    p = Path(path)
    meta = read_meta(p)
    try:
        state = torch.load(p / WEIGHTS_NAME, map_location="cpu", weights_only=True)
    except Exception as exc:   # torch raises many kinds for a damaged file
        raise SatSegError(f"cannot read {p / WEIGHTS_NAME} (damaged?): {str(exc).splitlines()[0][:120]}") from exc
    base = open_base_like(meta["base_model"], device)
    net = ClassNet(base.model, len(meta["classes"]), len(meta["head_bands"]), meta["variant"])
    net.load_trained_state(state)
    return net.to(base.device).eval(), meta, base
