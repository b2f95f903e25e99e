"""`make package SAM2_CHECKPOINT=FILE`: put a SAM-2 checkpoint into dist/satseg/sam-models/.

The app's own importer checks it (a Meta-format SAM-2 checkpoint that fits the real
architecture), names it (e.g. sam2.1-tiny) and writes model.json with its SHA-256;
the installed app lists it read-only beside the user's imports (core/sam/models.py).
Without FILE any earlier bundled model is removed. docs/packaging.md.
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(checkpoint: str, bundle: Path = ROOT / "dist" / "satseg") -> None:
    target = bundle / "sam-models"
    shutil.rmtree(target, ignore_errors=True)
    if not checkpoint:
        return
    with tempfile.TemporaryDirectory() as home:
        os.environ["SATSEG_HOME"] = home   # import into a scratch user folder, then move it
        sys.path.insert(0, str(ROOT))
        from desktop_app.core.errors import SatSegError
        from desktop_app.core.sam import models

        try:
            info = models.import_checkpoint(checkpoint)
        except SatSegError as exc:
            sys.exit(f"SAM2_CHECKPOINT={checkpoint}: {exc}")
        target.mkdir(parents=True)
        shutil.move(info.path, target / info.name)
        print(f"bundled SAM-2 {info.version} {info.size} as sam-models/{info.name} ({info.bytes / 1e6:.0f} MB)")


if __name__ == "__main__":
    # installer/bundle_checkpoint.py [CHECKPOINT [BUNDLE_DIR]]
    main(sys.argv[1] if len(sys.argv) > 1 else "", *[Path(a) for a in sys.argv[2:3]])
