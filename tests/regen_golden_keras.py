"""Rewrite ``tests/golden/keras/*.py``: the ``specc keras`` output of every example model.

Run ``python tests/regen_golden_keras.py`` after an intended change to the Keras
emitter or its templates, and review the diff; ``tests/test_keras_emit.py``
fails while a golden file differs from what ``specc keras`` writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "keras"


def main() -> int:
    """Write one golden file per example model; print what changed."""
    sys.path.insert(0, str(ROOT))
    import specc
    from specc.emit.keras import emit_keras

    GOLDEN.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for path in sorted((ROOT / "examples").glob("*.cnn")):
        result = specc.load(path)
        if result.errors:
            print(f"{path.name}: has errors, skipped", file=sys.stderr)
            continue
        several = len(result.models) > 1
        for model in result.models:
            name = f"{path.stem}__{model.name}.py" if several else f"{path.stem}.py"
            target = GOLDEN / name
            wanted.add(target)
            source = emit_keras(model, str(path)).encode("utf-8")
            if not target.exists() or target.read_bytes() != source:
                target.write_bytes(source)
                print(f"wrote {target.relative_to(ROOT)}")
    for stale in sorted(set(GOLDEN.glob("*.py")) - wanted):
        stale.unlink()
        print(f"removed {stale.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
