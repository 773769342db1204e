"""The Needle v1 forward pass in numpy, float32 (reference README, "Architecture").

Every block is attention with a gated residual; there are no feed-forward layers. The encoder
runs once per request; its output is projected to cross-attention keys and values for every
decoder layer once; the decoder then runs one or more tokens at a time over a self-attention
KV cache. The same functions compute a teacher-forced pass (all target tokens at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .config import ModelConfig

NORM_EPS = 1e-6
MASKED = np.finfo(np.float32).min  # what masked scores become before the softmax
ENC = "encoder/layers/EncoderBlock_0"
DEC = "decoder/layers/DecoderBlock_0"


def norm(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Zero-centred RMSNorm over the last axis: the scale is stored as an offset from 1."""
    return x * ((1.0 + scale) / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + NORM_EPS))


def rope_tables(positions: np.ndarray, head_dim: int, theta: float) -> tuple[np.ndarray, ...]:
    """cos and sin, (T, hd/2), of angle t * theta^(-2j/hd)."""
    freqs = theta ** (-np.arange(0, head_dim // 2, dtype=np.float32) * 2.0 / head_dim)
    angles = positions.astype(np.float32)[:, None] * freqs[None, :].astype(np.float32)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Half-split rotary embedding of (..., T, hd): [x1*cos - x2*sin, x2*cos + x1*sin]."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def attend(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Grouped-query attention. q (H, T, hd); k, v (KV, S, hd); mask broadcast to (T, S).

    Query head i reads KV head i // (H/KV); returns the concatenated heads, (T, H*hd).
    """
    H, T, hd = q.shape
    KV = k.shape[0]
    qg = q.reshape(KV, (H // KV) * T, hd)  # heads kv*G .. kv*G+G-1 share KV head kv
    scores = qg @ k.transpose(0, 2, 1) * np.float32(1.0 / np.sqrt(hd))
    scores = scores.reshape(H, T, -1)
    scores = np.where(mask, scores, MASKED)
    scores -= scores.max(axis=-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=-1, keepdims=True)
    out = probs.reshape(KV, (H // KV) * T, -1) @ v  # (KV, G*T, hd)
    return out.reshape(H, T, hd).transpose(1, 0, 2).reshape(T, H * hd)


def split_heads(x: np.ndarray, heads: int) -> np.ndarray:
    """(T, heads*hd) -> (heads, T, hd)."""
    T = x.shape[0]
    return x.reshape(T, heads, -1).transpose(1, 0, 2)


@dataclass(frozen=True)
class Attention:
    """One attention layer's weights.

    q, k and v stay separate matmuls: fused (d, d + 2kv) they cross OpenBLAS's threading
    threshold for a one-row product, and a threaded gemv on a busy 2-core box is ~100x slower.
    """

    w_q: np.ndarray  # (d, d)
    w_k: np.ndarray  # (d, kv)
    w_v: np.ndarray  # (d, kv)
    w_out: np.ndarray  # (d, d)
    q_norm: np.ndarray
    k_norm: np.ndarray


@dataclass
class Encoded:
    """What one request's encoder pass leaves for the decoder."""

    enc: np.ndarray  # (S, d)
    key_mask: np.ndarray  # (S,) bool, True where the source token is not padding
    cross_k: list[np.ndarray]  # per decoder layer, (KV, S, hd), k-normed
    cross_v: list[np.ndarray]


class KVCache:
    """Self-attention keys and values of the tokens decoded so far, grown by doubling."""

    def __init__(self, layers: int, kv_heads: int, head_dim: int, capacity: int = 64) -> None:
        shape = (layers, kv_heads, capacity, head_dim)
        self.k = np.zeros(shape, dtype=np.float32)
        self.v = np.zeros(shape, dtype=np.float32)
        self.length = 0

    def reserve(self, length: int) -> None:
        capacity = self.k.shape[2]
        if length <= capacity:
            return
        while capacity < length:
            capacity *= 2
        for name in ("k", "v"):
            old = getattr(self, name)
            new = np.zeros((*old.shape[:2], capacity, old.shape[3]), dtype=np.float32)
            new[:, :, : self.length] = old[:, :, : self.length]
            setattr(self, name, new)


class NumpyModel:
    """Weights as float32 arrays plus the forward functions; holds no per-request state."""

    def __init__(self, config: ModelConfig, params: Mapping[str, np.ndarray]) -> None:
        self.config = config

        def f32(key: str) -> np.ndarray:
            return np.ascontiguousarray(params[key], dtype=np.float32)

        self.embedding = f32("embedding/embedding")
        self.embed_scale = np.float32(np.sqrt(config.d_model))
        self.enc_gate = sigmoid(f32(f"{ENC}/attn_gate"))
        self.enc_norm = f32(f"{ENC}/ZCRMSNorm_0/scale")
        self.enc_attn = self._attention(params, f"{ENC}/self_attn", config.num_encoder_layers)
        self.enc_final = f32("encoder/final_norm/scale")
        self.self_gate = sigmoid(f32(f"{DEC}/self_attn_gate"))
        self.cross_gate = sigmoid(f32(f"{DEC}/cross_attn_gate"))
        self.dec_norm0 = f32(f"{DEC}/ZCRMSNorm_0/scale")
        self.dec_norm1 = f32(f"{DEC}/ZCRMSNorm_1/scale")
        self.self_attn = self._attention(params, f"{DEC}/self_attn", config.num_decoder_layers)
        self.cross_attn = self._attention(params, f"{DEC}/cross_attn", config.num_decoder_layers)
        self.dec_final = f32("decoder/ZCRMSNorm_0/scale")
        self.con_hidden = f32("contrastive_hidden/kernel")
        self.con_bias = f32("contrastive_hidden/bias")
        self.con_proj = f32("contrastive_proj/kernel")

    @staticmethod
    def _attention(params: Mapping[str, np.ndarray], prefix: str, layers: int) -> list[Attention]:
        def w(name: str, i: int) -> np.ndarray:
            return np.ascontiguousarray(params[f"{prefix}/{name}"][i], dtype=np.float32)

        return [
            Attention(
                w_q=w("q_proj/kernel", i),
                w_k=w("k_proj/kernel", i),
                w_v=w("v_proj/kernel", i),
                w_out=w("out_proj/kernel", i),
                q_norm=w("q_norm/scale", i),
                k_norm=w("k_norm/scale", i),
            )
            for i in range(layers)
        ]

    def embed(self, ids: np.ndarray) -> np.ndarray:
        return self.embedding[ids] * self.embed_scale

    def _self_qkv(
        self, a: Attention, x: np.ndarray, positions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Project, QK-norm and rotate: q (H, T, hd), k and v (KV, T, hd)."""
        c = self.config
        q = norm(split_heads(x @ a.w_q, c.num_heads), a.q_norm)
        k = norm(split_heads(x @ a.w_k, c.num_kv_heads), a.k_norm)
        v = split_heads(x @ a.w_v, c.num_kv_heads)
        cos, sin = rope_tables(positions, c.head_dim, c.rope_theta)
        return rope(q, cos, sin), rope(k, cos, sin), v

    def encode(self, src_ids: np.ndarray) -> Encoded:
        """Encoder over the whole source, then cross K/V for every decoder layer."""
        c = self.config
        ids = np.asarray(src_ids, dtype=np.int64)
        key_mask = ids != c.pad_token_id
        positions = np.arange(len(ids))
        x = self.embed(ids)
        for i, a in enumerate(self.enc_attn):
            q, k, v = self._self_qkv(a, norm(x, self.enc_norm[i]), positions)
            x = x + self.enc_gate[i] * (attend(q, k, v, key_mask[None, :]) @ a.w_out)
        enc = norm(x, self.enc_final)
        cross_k, cross_v = [], []
        for a in self.cross_attn:
            cross_k.append(norm(split_heads(enc @ a.w_k, c.num_kv_heads), a.k_norm))
            cross_v.append(np.ascontiguousarray(split_heads(enc @ a.w_v, c.num_kv_heads)))
        return Encoded(enc=enc, key_mask=key_mask, cross_k=cross_k, cross_v=cross_v)

    def contrastive(self, encoded: Encoded) -> np.ndarray:
        """Tool-retrieval embedding: mean over non-padding rows, MLP, L2-normalised."""
        mask = encoded.key_mask
        pooled = (encoded.enc * mask[:, None]).sum(axis=0) / max(int(mask.sum()), 1)
        z = np.maximum(pooled @ self.con_hidden + self.con_bias, 0.0) @ self.con_proj
        return (z / np.sqrt(np.sum(z * z) + 1e-12)).astype(np.float32)

    def new_cache(self, capacity: int = 64) -> KVCache:
        c = self.config
        return KVCache(c.num_decoder_layers, c.num_kv_heads, c.head_dim, capacity)

    def decode(self, encoded: Encoded, cache: KVCache, tokens: np.ndarray) -> np.ndarray:
        """Feed T new tokens after the cached ones (causal); append them; logits (T, V)."""
        c = self.config
        ids = np.asarray(tokens, dtype=np.int64).reshape(-1)
        P, T = cache.length, len(ids)
        cache.reserve(P + T)
        positions = np.arange(P, P + T)
        causal = np.arange(P + T)[None, :] <= positions[:, None]  # (T, P+T)
        y = self.embed(ids)
        for i, (sa, ca) in enumerate(zip(self.self_attn, self.cross_attn, strict=True)):
            q, k, v = self._self_qkv(sa, norm(y, self.dec_norm0[i]), positions)
            cache.k[i, :, P : P + T] = k
            cache.v[i, :, P : P + T] = v
            keys, values = cache.k[i, :, : P + T], cache.v[i, :, : P + T]
            y = y + self.self_gate[i] * (attend(q, keys, values, causal) @ sa.w_out)
            q = norm(split_heads(norm(y, self.dec_norm1[i]) @ ca.w_q, c.num_heads), ca.q_norm)
            mask = encoded.key_mask[None, :]
            out = attend(q, encoded.cross_k[i], encoded.cross_v[i], mask)
            y = y + self.cross_gate[i] * (out @ ca.w_out)
        cache.length = P + T
        return norm(y, self.dec_final) @ self.embedding.T

    def teacher_forced(self, src_ids: np.ndarray, tgt_ids: np.ndarray) -> np.ndarray:
        """Logits (T, V) for every target position in one pass."""
        encoded = self.encode(src_ids)
        return self.decode(encoded, self.new_cache(len(tgt_ids)), tgt_ids)
