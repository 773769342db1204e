"""Average the weights of several checkpoints of one run (checkpoint averaging).

Checkpoints a few hundred steps apart on the same run sit in one basin; their mean is usually
at least as good as the best of them on data unlike the generator's, and less at the mercy of
where one evaluation happened to stop (stage 7: training/README.md).

    python -m training.average OUT.pkl A.pkl B.pkl [C.pkl ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from custom_components.needle.engine.checkpoint import load_checkpoint, save_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("checkpoints", type=Path, nargs="+")
    args = parser.parse_args()
    loaded = [load_checkpoint(p) for p in args.checkpoints]
    first = loaded[0]
    if any(c.raw_config != first.raw_config for c in loaded[1:]):
        raise SystemExit("the checkpoints have different configs: not one model to average")
    mean = {
        k: np.mean([np.asarray(c.params[k], dtype=np.float32) for c in loaded], axis=0)
        for k in first.params
    }
    save_checkpoint(args.out, mean, first.raw_config)
    print(f"{args.out}: mean of {len(loaded)} checkpoints")


if __name__ == "__main__":
    main()
