"""NumpyModel's rearranged arithmetic (folded scales and gates, the softmax without its max)
gives the plain formulation's numbers, whichever softmax path a layer takes."""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.needle.engine.checkpoint import Checkpoint
from custom_components.needle.engine.config import ModelConfig
from custom_components.needle.engine.numpy_model import (
    DEC,
    ENC,
    EXP_SAFE_SCORE,
    NumpyModel,
    attend,
    norm,
    rope,
    rope_tables,
    score_bound,
    sigmoid,
    split_heads,
)

from .conftest import random_checkpoint


def plain_forward(
    config: ModelConfig, params: dict, src: np.ndarray, tgt: np.ndarray
) -> np.ndarray:
    """Teacher-forced logits, written as the reference README describes the model."""
    c = config
    H, KV, hd = c.num_heads, c.num_kv_heads, c.head_dim
    p = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    emb = p["embedding/embedding"]

    def self_attn(prefix: str, i: int, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        q = norm(
            split_heads(x @ p[f"{prefix}/q_proj/kernel"][i], H), p[f"{prefix}/q_norm/scale"][i]
        )
        k = norm(
            split_heads(x @ p[f"{prefix}/k_proj/kernel"][i], KV), p[f"{prefix}/k_norm/scale"][i]
        )
        v = split_heads(x @ p[f"{prefix}/v_proj/kernel"][i], KV)
        cos, sin = rope_tables(np.arange(len(x)), hd, c.rope_theta)
        return (
            attend(rope(q, cos, sin), rope(k, cos, sin), v, mask)
            @ p[f"{prefix}/out_proj/kernel"][i]
        )

    key_mask = (src != c.pad_token_id)[None, :]
    x = emb[src] * np.sqrt(c.d_model)
    for i in range(c.num_encoder_layers):
        h = norm(x, p[f"{ENC}/ZCRMSNorm_0/scale"][i])
        x = x + sigmoid(p[f"{ENC}/attn_gate"][i]) * self_attn(f"{ENC}/self_attn", i, h, key_mask)
    enc = norm(x, p["encoder/final_norm/scale"])

    T = len(tgt)
    causal = np.tril(np.ones((T, T), dtype=bool))
    y = emb[tgt] * np.sqrt(c.d_model)
    ca = f"{DEC}/cross_attn"
    for i in range(c.num_decoder_layers):
        h = norm(y, p[f"{DEC}/ZCRMSNorm_0/scale"][i])
        y = y + sigmoid(p[f"{DEC}/self_attn_gate"][i]) * self_attn(f"{DEC}/self_attn", i, h, causal)
        h = norm(y, p[f"{DEC}/ZCRMSNorm_1/scale"][i])
        q = norm(split_heads(h @ p[f"{ca}/q_proj/kernel"][i], H), p[f"{ca}/q_norm/scale"][i])
        k = norm(split_heads(enc @ p[f"{ca}/k_proj/kernel"][i], KV), p[f"{ca}/k_norm/scale"][i])
        v = split_heads(enc @ p[f"{ca}/v_proj/kernel"][i], KV)
        out = attend(q, k, v, key_mask) @ p[f"{ca}/out_proj/kernel"][i]
        y = y + sigmoid(p[f"{DEC}/cross_attn_gate"][i]) * out
    return norm(y, p["decoder/ZCRMSNorm_0/scale"]) @ emb.T


def _with_large_qk_scales(ckpt: Checkpoint) -> Checkpoint:
    """QK-norm scales of ~10: the score bound passes EXP_SAFE_SCORE, so the max is subtracted."""
    params = dict(ckpt.params)
    rng = np.random.default_rng(3)
    for key in list(params):
        if key.endswith(("q_norm/scale", "k_norm/scale")):
            params[key] = (9.0 + rng.normal(size=params[key].shape)).astype(np.float32)
    return Checkpoint(config=ckpt.config, params=params)


@pytest.mark.parametrize("large_scales", [False, True])
def test_numpy_model_matches_the_plain_formulation(large_scales: bool) -> None:
    ckpt = random_checkpoint(seed=11)
    if large_scales:
        ckpt = _with_large_qk_scales(ckpt)
    model = NumpyModel(ckpt.config, ckpt.params)
    layers = [*model.enc_attn, *model.self_attn, *model.cross_attn]
    assert all(not a.exp_safe for a in layers) if large_scales else all(a.exp_safe for a in layers)
    rng = np.random.default_rng(5)
    src = np.concatenate([rng.integers(6, 300, size=17), np.zeros(4, dtype=np.int64)])
    tgt = rng.integers(6, 300, size=9)
    want = plain_forward(ckpt.config, ckpt.params, src, tgt)
    got = model.teacher_forced(src, tgt)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    # one token at a time over the cache takes the same paths with T = 1
    encoded, cache = model.encode(src), model.new_cache()
    stepped = np.concatenate(
        [model.decode(encoded, cache, tgt[t : t + 1]) for t in range(len(tgt))]
    )
    np.testing.assert_allclose(stepped, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_a_source_of_padding_only_stays_finite() -> None:
    """Every key masked: the fast softmax would divide 0 by 0; such a row takes the max path,
    whose uniform weights the plain formulation gives too."""
    ckpt = random_checkpoint(seed=11)
    model = NumpyModel(ckpt.config, ckpt.params)
    src, tgt = np.zeros(5, dtype=np.int64), np.array([1, 7, 9])
    got = model.teacher_forced(src, tgt)
    assert np.isfinite(got).all()
    want = plain_forward(ckpt.config, ckpt.params, src, tgt)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_score_bound_holds() -> None:
    """No q . k of unit-rms rows scaled as the bound assumes exceeds it."""
    rng = np.random.default_rng(0)
    hd = 64
    q_scale, k_scale = rng.normal(size=hd) / 8, 1 + rng.normal(size=hd)
    bound = score_bound(q_scale, k_scale, hd)
    q = rng.normal(size=(1000, hd))
    k = rng.normal(size=(1000, hd))
    q = q / np.sqrt((q * q).mean(-1, keepdims=True)) * q_scale
    k = k / np.sqrt((k * k).mean(-1, keepdims=True)) * k_scale
    assert np.abs(q @ k.T).max() <= bound
    assert score_bound(np.full(hd, 1 / 8), np.ones(hd), hd) == pytest.approx(8.0)
    assert EXP_SAFE_SCORE > 8.0  # a freshly initialised layer (scales 1) takes the fast path
