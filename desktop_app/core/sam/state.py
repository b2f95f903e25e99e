"""What a project remembers of the SAM-2 stage (saved in the project manifest's ``extra.sam``).

Paths are absolute in memory; the project stores them as given (results
live in the project's ``results/sam/`` folder when there is a project).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from .recipe import DEFAULT_RECIPE
from .refine import AGREEMENT_MIN, IOU_MIN
from .scene import DEFAULT_WINDOW


@dataclass
class SamState:
    model: Optional[str] = None          # installed model name; None = the first one
    random_init: bool = False            # demonstration mode (random weights)
    recipe: str = DEFAULT_RECIPE
    window: int = DEFAULT_WINDOW
    steps: int = 200
    iou_min: float = IOU_MIN             # refine's acceptance thresholds (docs/sam.md, "Acceptance")
    agreement_min: float = AGREEMENT_MIN
    refined: Optional[str] = None        # refined class raster
    finetuned: Optional[str] = None      # fine-tuned model folder
    segmented: Optional[str] = None      # class raster segmented with a fine-tuned model
    shown: str = "classifier"            # which result the map shows: classifier | refined | segmented
    scores: Optional[dict] = None        # core.sam.scores.compare() of the last comparison
    losses: dict = field(default_factory=dict)   # variant -> loss per step of the last fine-tuning

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "SamState":
        if not isinstance(d, dict):
            return cls()
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)
