"""Write a run's ``.npz`` weights (with its ``config.json``) as the official v1 pickle.

    .venv-train/bin/python -m training.npz_to_pkl runs/r2/best.npz runs/r2/best.pkl

The run keeps float32 ``.npz`` weights for resuming; export wants the official format, written
by the engine's one writer (float16 leaves, stacked layers).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "custom_components/needle"))

from engine.checkpoint import save_checkpoint  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("npz", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    config = json.loads((args.npz.parent / "config.json").read_text())
    flat = np.load(args.npz)
    save_checkpoint(args.out, {k.replace("|", "/"): flat[k] for k in flat.files}, config)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
