"""A few training steps end to end: data -> model -> official checkpoint the engine reloads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from engine.checkpoint import load_checkpoint

from training import train
from training.model import Needle

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "training" / "heldout" / "heldout.jsonl"
SPM = ROOT / "training" / "data" / "tokenizer.model"


def test_few_steps_write_a_checkpoint_the_engine_loads(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(HELDOUT.read_text().splitlines(keepends=True)[:8]))
    out = tmp_path / "run"

    def args(steps: int) -> list[str]:
        return [
        "--train", str(data), "--val", str(data), "--spm", str(SPM), "--out", str(out),
        "--vocab", "4096", "--d-model", "32", "--heads", "4", "--kv-heads", "2",
        "--enc-layers", "1", "--dec-layers", "1", "--steps", str(steps), "--eval-every", "2",
        "--n-greedy", "2", "--warmup", "1", "--batch-tokens", "4096",
        ]  # fmt: skip

    summary = train.main(args(4))
    assert summary["step"] == 4
    assert (out / "curves.png").stat().st_size > 0
    state = json.loads((out / "state.json").read_text())
    losses = [h["val_loss"] for h in state["history"] if "val_loss" in h]
    assert len(losses) == 2 and all(np.isfinite(losses))

    ckpt = load_checkpoint(out / "best.pkl")
    assert all(v.dtype == np.float16 for v in ckpt.params.values())
    model = Needle.from_flat_params(ckpt.config, ckpt.params)
    src = torch.tensor([[10, 11, 5, 12]])
    assert model(src, torch.tensor([[1, 4]])).shape == (1, 2, 4096)

    # Resuming continues from the saved step with the saved optimizer state.
    summary = train.main([*args(6), "--resume"])
    assert summary["step"] == 6
