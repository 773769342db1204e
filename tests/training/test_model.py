"""The PyTorch model reproduces the reference implementation's numbers (README: within 1e-3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from engine.checkpoint import load_checkpoint
from engine.config import ModelConfig

from training.model import Needle

REF = Path(__file__).resolve().parents[1] / "data" / "needle-v1-reference"


def _model(name: str) -> Needle:
    ckpt = load_checkpoint(REF / f"{name}.pkl")
    config = (
        ckpt.config if isinstance(ckpt.config, ModelConfig) else ModelConfig.from_dict(ckpt.config)
    )
    return Needle.from_flat_params(config, ckpt.params).eval()


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_matches_reference(name: str) -> None:
    model = _model(name)
    expected = np.load(REF / f"{name}_expected.npz")
    for i in range(3):
        src = torch.tensor(expected[f"case{i}_src"])[None]
        tgt = torch.tensor(expected[f"case{i}_tgt"])[None]
        keep = expected[f"case{i}_src"] != 0
        with torch.no_grad():
            logits = model(src, tgt)[0].numpy()
            enc = model.encode(src)[0].numpy()
            contrastive = model.contrastive(src)[0].numpy()
        np.testing.assert_allclose(logits, expected[f"case{i}_logits"], atol=1e-3, rtol=0)
        np.testing.assert_allclose(enc[keep], expected[f"case{i}_encoder_out"][keep], atol=1e-3)
        np.testing.assert_allclose(contrastive, expected[f"case{i}_contrastive"], atol=1e-4)


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_greedy_matches_reference(name: str) -> None:
    """Plain greedy from [eos], 12 tokens, no stop: the reference's own path."""
    model = _model(name)
    expected = np.load(REF / f"{name}_expected.npz")
    for i in range(3):
        src = torch.tensor(expected[f"case{i}_src"])[None]
        ys = torch.tensor([[1]])
        with torch.no_grad():
            enc = model.encode(src)
            for _ in range(12):
                nxt = model.decode(ys, enc, src)[0, -1].argmax()
                ys = torch.cat([ys, nxt.view(1, 1)], 1)
        assert ys[0, 1:].tolist() == expected[f"case{i}_greedy"].tolist()


def test_flat_params_round_trip() -> None:
    """to_flat_params / load_flat_params are inverses, with the official shapes."""
    ckpt = load_checkpoint(REF / "tiny.pkl")
    model = _model("tiny")
    flat = model.to_flat_params()
    assert set(flat) == set(ckpt.params)
    for key, value in ckpt.params.items():
        assert flat[key].shape == value.shape, key
        np.testing.assert_array_equal(flat[key].astype(np.float16), value)


def test_rejects_wrong_shapes() -> None:
    ckpt = load_checkpoint(REF / "tiny.pkl")
    bigger = ModelConfig(vocab_size=512, d_model=128, num_heads=4, num_kv_heads=2)
    with pytest.raises(ValueError, match="shape"):
        Needle.from_flat_params(bigger, ckpt.params)
