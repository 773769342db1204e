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
SPM = ROOT / "training" / "data" / "tokenizer.model"
TOOLS = json.dumps(
    [{"name": "hass_turn_on", "description": "Turns on a device",
      "parameters": {"name": {"type": "string", "description": "", "enum": ["Desk Lamp", "Fan"]}},
      "required": []}],
    separators=(",", ":"),
)  # fmt: skip


def tiny_data(path: Path) -> Path:
    """Eight made-up examples in the generator's format (never evaluation sentences)."""
    rows = []
    for i, name in enumerate(["Desk Lamp", "Fan"] * 4):
        target = json.dumps([{"name": "hass_turn_on", "arguments": {"name": name}}],
                            separators=(",", ":"))  # fmt: skip
        rows.append({"query": f"switch on the {name.lower()} number {i}", "tools": TOOLS,
                     "target": target})  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_few_steps_write_a_checkpoint_the_engine_loads(tmp_path: Path) -> None:
    data = tiny_data(tmp_path / "data.jsonl")
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

    # --init starts a new run from those weights (fine-tuning); another shape is refused.
    init_out = tmp_path / "finetune"
    again = [a if a != str(out) else str(init_out) for a in args(2)]
    summary = train.main([*again, "--init", str(out / "best.pkl")])
    assert summary["step"] == 2
    wider = [a if a != "32" else "64" for a in again]
    try:
        train.main([*wider, "--out", str(tmp_path / "other"), "--init", str(out / "best.pkl")])
    except SystemExit as err:
        assert "another shape" in str(err)
    else:
        raise AssertionError("an --init checkpoint of another shape was accepted")
