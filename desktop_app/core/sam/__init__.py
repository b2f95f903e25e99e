"""SAM-2 stage: import checkpoints, refine a classifier's mask, fine-tune on it, segment without samples.

Qt-free like the rest of ``core``; ``torch`` and ``sam2`` are imported inside
functions so that importing this package costs nothing. Rules and formats:
``docs/sam.md``.
"""
