"""Score a checkpoint in PyTorch on generated examples (plain greedy, no constraints).

    .venv-train/bin/python -m training.score runs/r1/best.pkl training/heldout/heldout.jsonl \
        --spm training/data/tokenizer.model

Accepts the official pickle (read by the engine's loader) or the run's ``.npz`` weights (with
the run's ``config.json`` beside them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import sentencepiece as spm

from .train import (
    ModelConfig,
    Needle,
    evaluate,
    load_examples,
)


def load_model(path: Path) -> Needle:
    if path.suffix == ".npz":
        cfg = ModelConfig.from_dict(json.loads((path.parent / "config.json").read_text()))
        flat = np.load(path)
        return Needle.from_flat_params(cfg, {k.replace("|", "/"): flat[k] for k in flat.files})
    from engine.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path)
    return Needle.from_flat_params(ckpt.config, ckpt.params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--spm", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--fp16",
        action="store_true",
        help="round weights to float16 first, as the pickle stores them",
    )
    args = parser.parse_args()
    sp = spm.SentencePieceProcessor(model_file=str(args.spm))
    examples = load_examples(args.data, sp, args.limit)
    model = load_model(args.checkpoint)
    if args.fp16:
        flat = {k: v.astype(np.float16) for k, v in model.to_flat_params().items()}
        model.load_flat_params(flat)
    model = model.to(args.device)
    result = evaluate(model, sp, examples, args.device, n_greedy=len(examples))
    print(json.dumps({"examples": len(examples), **result}))


if __name__ == "__main__":
    main()
