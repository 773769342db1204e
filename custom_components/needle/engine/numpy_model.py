"""The Needle v1 forward pass in numpy, float32 (reference README, "Architecture").

Every block is attention with a gated residual; there are no feed-forward layers. The encoder
runs once per request; its output is projected to cross-attention keys and values for every
decoder layer once; the decoder then runs one or more tokens at a time over a self-attention
KV cache. The same functions compute a teacher-forced pass (all target tokens at once).

Decoding one token costs a few hundred small numpy calls, so at batch 1 the Python overhead per
call matters as much as the matmuls: weights are prepared once at load (q/k/v fused, norm
scales as ``1 + s``, RoPE tables precomputed) and masks that would keep everything are skipped.
The arithmetic is that of the plain formulation in ``norm``/``rope``/``attend``, rearranged
where the result is the same up to float rounding:

- a pre-norm's scale ``1 + s`` is folded into the rows of the weight that reads it, so a norm
  is just ``x / rms(x)``; a residual gate into the columns of its output projection;
- the attention's ``1/sqrt(hd)`` is folded into the query's QK-norm scale;
- the softmax skips subtracting each row's maximum when a layer's scores cannot overflow
  ``exp`` (QK-norm bounds them; see ``score_bound``), and divides the (T, hd) output by the
  row sums instead of the (T, S) probabilities.

At v1 size one decoding step still streams ~56 MB of float32 weights from memory (more than a
hub's caches hold): those matmuls are ~70 % of a step, and what this module can still save is
in the other ~30 %.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .config import MAX_DECODER_TOKENS, MAX_ENCODER_TOKENS, ModelConfig

NORM_EPS = 1e-6
MASKED = np.finfo(np.float32).min  # what masked scores become before the softmax
ENC = "encoder/layers/EncoderBlock_0"
DEC = "decoder/layers/DecoderBlock_0"
_EPS = np.float32(NORM_EPS)
# Gathering rows pays while they are under this fraction of the vocabulary (1 / 4); past it a
# copy of the rows costs more than the full product it replaces.
GATHER_FRACTION = 4
# A softmax row needs no max subtracted while exp(score) cannot overflow: exp(64) * 2**15 keys
# is ~2e32, far below float32's 3.4e38.
EXP_SAFE_SCORE = 64.0


def norm(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Zero-centred RMSNorm over the last axis: the scale is stored as an offset from 1."""
    return x * ((1.0 + scale) / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + NORM_EPS))


def scaled_norm(x: np.ndarray, scale1: np.ndarray) -> np.ndarray:
    """``norm`` with the scale already stored as ``1 + s``.

    ``add.reduce / n`` is what ``np.mean`` computes for float32, minus its Python wrapper, which
    costs more than the arithmetic on one decoded token's rows.
    """
    mean_sq = np.add.reduce(x * x, axis=-1, keepdims=True) / x.shape[-1]
    return x * (scale1 / np.sqrt(mean_sq + _EPS))


def unit_rms(x: np.ndarray) -> np.ndarray:
    """``norm`` without its scale (x / rms(x)): the scale lives in the next weight's rows.

    One row (a decoded token) takes its sum of squares as one BLAS dot and the root in Python:
    three numpy calls instead of six, on a path that runs 16 times a decoding step.
    """
    if x.shape[0] == 1 and x.ndim == 2:
        row = x[0]
        return x * np.float32(1.0 / math.sqrt(float(np.dot(row, row)) / row.size + NORM_EPS))
    mean_sq = np.add.reduce(x * x, axis=-1, keepdims=True) / x.shape[-1]
    return x / np.sqrt(mean_sq + _EPS)


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


def score_bound(q_scale: np.ndarray, k_scale: np.ndarray, head_dim: int) -> float:
    """The largest |q . k| a QK-normed layer can produce, ``q_scale`` including 1/sqrt(hd).

    After the norm each head's row has rms <= 1, so norm sqrt(hd); the scales stretch each
    coordinate by at most their largest magnitude, and RoPE (a rotation) keeps norms. By
    Cauchy-Schwarz |q . k| <= sqrt(hd) max|q_scale| * sqrt(hd) max|k_scale|.
    """
    return float(head_dim * np.abs(q_scale).max() * np.abs(k_scale).max())


def split_heads(x: np.ndarray, heads: int) -> np.ndarray:
    """(T, heads*hd) -> (heads, T, hd)."""
    T = x.shape[0]
    return x.reshape(T, heads, -1).transpose(1, 0, 2)


@dataclass(frozen=True)
class SelfAttention:
    """One self-attention layer's weights, prepared for the forward pass.

    q, k and v are one (d, d + 2kv) matmul whose rows carry the pre-norm's ``1 + s``; q and k
    are normed together: their rows of ``qk_scale`` hold ``(1 + q_norm) / sqrt(hd)`` for the H
    query heads, then ``1 + k_norm`` for the KV heads. ``w_out`` carries the residual gate.
    """

    w_qkv: np.ndarray  # (d, d + 2kv)
    w_out: np.ndarray  # (d, d)
    qk_scale: np.ndarray  # (H + KV, hd)
    exp_safe: bool  # scores bounded below EXP_SAFE_SCORE: the softmax subtracts no max


@dataclass(frozen=True)
class CrossAttention:
    """One cross-attention layer's weights: q from the decoder, k and v (fused) from the encoder.

    ``w_q``'s rows carry the pre-norm's ``1 + s``, ``q_scale`` the 1/sqrt(hd), ``w_out`` the gate.
    """

    w_q: np.ndarray  # (d, d)
    w_kv: np.ndarray  # (d, 2kv)
    w_out: np.ndarray  # (d, d)
    q_scale: np.ndarray  # (hd,) (1 + q_norm) / sqrt(hd)
    k_scale: np.ndarray  # (hd,) 1 + k_norm
    exp_safe: bool


@dataclass
class Encoded:
    """What one request's encoder pass leaves for the decoder."""

    enc: np.ndarray  # (S, d)
    key_mask: np.ndarray  # (S,) bool, True where the source token is not padding
    cross_k: list[np.ndarray]  # per decoder layer, (KV, hd, S), k-normed, pre-transposed
    cross_v: list[np.ndarray]  # per decoder layer, (KV, S, hd)


class KVCache:
    """Self-attention keys and values of the tokens decoded so far, grown by doubling."""

    def __init__(self, layers: int, kv_heads: int, head_dim: int, capacity: int = 64) -> None:
        shape = (layers, kv_heads, max(capacity, 1), head_dim)
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


def _stacker(params: Mapping[str, np.ndarray], prefix: str) -> Callable[[str], np.ndarray]:
    """One layer stack's tensors as float32, each key read once (int8 bundles dequantize here)."""

    def stack(name: str) -> np.ndarray:
        return np.asarray(params[f"{prefix}/{name}"], dtype=np.float32)

    return stack


def _qk_scales(
    stack: Callable[[str], np.ndarray], head_dim: int
) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """Per layer: the query's QK-norm scale with 1/sqrt(hd) folded in, the key's, and whether
    that layer's scores stay below EXP_SAFE_SCORE (its softmax needs no max subtracted)."""
    inv_sqrt_hd = np.float32(1.0 / np.sqrt(head_dim))
    out = []
    for q_norm, k_norm in zip(stack("q_norm/scale"), stack("k_norm/scale"), strict=True):
        q_scale = ((1.0 + q_norm) * inv_sqrt_hd).astype(np.float32)
        k_scale = (1.0 + k_norm).astype(np.float32)
        out.append((q_scale, k_scale, score_bound(q_scale, k_scale, head_dim) < EXP_SAFE_SCORE))
    return out


class NumpyModel:
    """Weights as float32 arrays plus the forward functions; holds no per-request state."""

    def __init__(self, config: ModelConfig, params: Mapping[str, np.ndarray]) -> None:
        self.config = config

        def f32(key: str) -> np.ndarray:
            return np.ascontiguousarray(params[key], dtype=np.float32)

        def plus1(key: str) -> np.ndarray:
            return (1.0 + f32(key)).astype(np.float32)

        self.embedding = f32("embedding/embedding")
        self.embed_scale = np.float32(np.sqrt(config.d_model))
        self.enc_attn = self._self_attention(
            _stacker(params, f"{ENC}/self_attn"),
            plus1(f"{ENC}/ZCRMSNorm_0/scale"),
            sigmoid(f32(f"{ENC}/attn_gate")),
        )
        self.enc_final = plus1("encoder/final_norm/scale")
        self.self_attn = self._self_attention(
            _stacker(params, f"{DEC}/self_attn"),
            plus1(f"{DEC}/ZCRMSNorm_0/scale"),
            sigmoid(f32(f"{DEC}/self_attn_gate")),
        )
        self.cross_attn = self._cross_attention(
            _stacker(params, f"{DEC}/cross_attn"),
            plus1(f"{DEC}/ZCRMSNorm_1/scale"),
            sigmoid(f32(f"{DEC}/cross_attn_gate")),
        )
        self.dec_final = plus1("decoder/ZCRMSNorm_0/scale")
        self.con_hidden = f32("contrastive_hidden/kernel")
        self.con_bias = f32("contrastive_hidden/bias")
        self.con_proj = f32("contrastive_proj/kernel")
        # RoPE as x * cos2 + swap_halves(x) * sin2, for every position either window can reach.
        cos, sin = rope_tables(
            np.arange(max(MAX_ENCODER_TOKENS, MAX_DECODER_TOKENS)),
            config.head_dim,
            config.rope_theta,
        )
        self._cos2 = np.concatenate([cos, cos], axis=-1)
        self._sin2 = np.concatenate([-sin, sin], axis=-1)

    def _self_attention(
        self, stack: Callable[[str], np.ndarray], pre_norm: np.ndarray, gate: np.ndarray
    ) -> list[SelfAttention]:
        """Each layer's weights, the pre-norm's (L, d) scale and the (L,) gate folded in."""
        layers = len(pre_norm)
        c = self.config
        # one (L, d, d + 2kv) array: each layer's slice is contiguous, nothing is copied twice
        w_qkv = np.concatenate(
            [stack("q_proj/kernel"), stack("k_proj/kernel"), stack("v_proj/kernel")], axis=2
        )
        w_qkv *= pre_norm.reshape(layers, -1, 1)  # norm(x) @ W == unit_rms(x) @ (diag(1+s) W)
        w_out = stack("out_proj/kernel") * gate.reshape(layers, 1, -1)  # x + g*(o @ W)
        out = []
        for i, (q_scale, k_scale, exp_safe) in enumerate(_qk_scales(stack, c.head_dim)):
            qk_scale = np.concatenate(
                [
                    np.broadcast_to(q_scale, (c.num_heads, c.head_dim)),
                    np.broadcast_to(k_scale, (c.num_kv_heads, c.head_dim)),
                ]
            )
            out.append(
                SelfAttention(w_qkv[i], np.ascontiguousarray(w_out[i]), qk_scale, exp_safe)
            )
        return out

    def _cross_attention(
        self, stack: Callable[[str], np.ndarray], pre_norm: np.ndarray, gate: np.ndarray
    ) -> list[CrossAttention]:
        """Each layer's weights, the pre-norm's (L, d) scale and the (L,) gate folded in."""
        layers = len(pre_norm)
        w_kv = np.concatenate([stack("k_proj/kernel"), stack("v_proj/kernel")], axis=2)
        w_q = stack("q_proj/kernel") * pre_norm.reshape(layers, -1, 1)
        w_out = stack("out_proj/kernel") * gate.reshape(layers, 1, -1)
        return [
            CrossAttention(
                w_q=np.ascontiguousarray(w_q[i]),
                w_kv=w_kv[i],
                w_out=np.ascontiguousarray(w_out[i]),
                q_scale=q_scale,
                k_scale=k_scale,
                exp_safe=exp_safe,
            )
            for i, (q_scale, k_scale, exp_safe) in enumerate(
                _qk_scales(stack, self.config.head_dim)
            )
        ]

    def embed(self, ids: np.ndarray) -> np.ndarray:
        return self.embedding[ids] * self.embed_scale

    def _rope(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(T, 1, hd) cos and signed sin for positions start .. start+count-1."""
        if start + count <= len(self._cos2):
            cos2, sin2 = self._cos2[start : start + count], self._sin2[start : start + count]
        else:  # beyond both windows: only a direct NumpyModel caller gets here
            cos, sin = rope_tables(
                np.arange(start, start + count), self.config.head_dim, self.config.rope_theta
            )
            cos2, sin2 = np.concatenate([cos, cos], -1), np.concatenate([-sin, sin], -1)
        return cos2[:, None, :], sin2[:, None, :]

    def _self_qkv(
        self, a: SelfAttention, x: np.ndarray, rope2: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Norm, project, QK-norm and rotate: q (KV, G*T, hd) grouped; k and v (KV, T, hd),
        views into one array (``encode`` copies k: BLAS reads a contiguous k ~2x faster)."""
        c = self.config
        H, KV, hd = c.num_heads, c.num_kv_heads, c.head_dim
        T = x.shape[0]
        qkv = (unit_rms(x) @ a.w_qkv).reshape(T, H + 2 * KV, hd)
        qk = scaled_norm(qkv[:, : H + KV], a.qk_scale)
        half = hd // 2
        swapped = np.concatenate([qk[..., half:], qk[..., :half]], axis=-1)
        # [x1*cos - x2*sin, x2*cos + x1*sin]; order="C": numpy would otherwise lay the result
        # out after the broadcast table (heads innermost), and matmuls over such strides are
        # not handed to BLAS (~30x slower at 512 tokens)
        qk = np.multiply(qk, rope2[0], order="C")
        qk += swapped * rope2[1]
        # (T, H, hd) -> (KV, G*T, hd): row g*T + t of group kv is head kv*G + g at step t
        if T == 1:  # the same order, without the transposes
            q = qk[0, :H].reshape(KV, H // KV, hd)
        else:
            q = qk[:, :H].reshape(T, KV, H // KV, hd).transpose(1, 2, 0, 3).reshape(KV, -1, hd)
        return q, qk[:, H:].transpose(1, 0, 2), qkv[:, H + KV :].transpose(1, 0, 2)

    @staticmethod
    def _attend(
        q: np.ndarray,
        k_t: np.ndarray,
        v: np.ndarray,
        mask: np.ndarray | None,
        T: int,
        exp_safe: bool,
    ) -> np.ndarray:
        """Grouped attention: q (KV, G*T, hd) pre-scaled, k_t (KV, hd, S), v (KV, S, hd) ->
        (T, d).

        ``mask`` (T, S) or (1, S), or None where every key may be read (one decoded token, an
        unpadded source): then the ``where`` would change nothing and is skipped.
        """
        KV = k_t.shape[0]
        scores = q @ k_t
        if mask is not None:
            shaped = scores.reshape(KV, -1, T, scores.shape[-1])
            np.copyto(shaped, MASKED, where=~mask)
        if not exp_safe:
            scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        out = scores @ v  # (KV, G*T, hd), then normalised: T*hd divisions instead of T*S
        out /= np.add.reduce(scores, axis=-1, keepdims=True)
        if T == 1:
            return out.reshape(1, -1)
        return out.reshape(KV, -1, T, out.shape[-1]).transpose(2, 0, 1, 3).reshape(T, -1)

    def encode(self, src_ids: np.ndarray) -> Encoded:
        """Encoder over the whole source, then cross K/V for every decoder layer."""
        c = self.config
        KV, hd = c.num_kv_heads, c.head_dim
        ids = np.asarray(src_ids, dtype=np.int64)
        key_mask = ids != c.pad_token_id
        mask = None if key_mask.all() else key_mask[None, :]
        readable = bool(key_mask.any())  # all padding: every row masked, the max path's uniform
        S = len(ids)
        rope2 = self._rope(0, S)
        x = self.embed(ids)
        for a in self.enc_attn:
            q, k, v = self._self_qkv(a, x, rope2)
            k_t = np.ascontiguousarray(k).transpose(0, 2, 1)
            out = self._attend(q, k_t, v, mask, S, a.exp_safe and readable)
            x = x + out @ a.w_out
        enc = scaled_norm(x, self.enc_final)
        cross_k, cross_v = [], []
        for a in self.cross_attn:
            kv = (enc @ a.w_kv).reshape(S, 2 * KV, hd)
            k = scaled_norm(kv[:, :KV], a.k_scale)
            cross_k.append(np.ascontiguousarray(k.transpose(1, 2, 0)))  # (KV, hd, S)
            cross_v.append(np.ascontiguousarray(kv[:, KV:].transpose(1, 0, 2)))  # (KV, S, hd)
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

    def decode(
        self,
        encoded: Encoded,
        cache: KVCache,
        tokens: np.ndarray,
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """Feed T new tokens after the cached ones (causal); append them; logits (T, V).

        ``rows`` (vocabulary ids): only those logits, (T, len(rows)), the same numbers as the
        full projection's columns. A step whose grammar allows a few tokens reads a few rows
        of the embedding instead of all of it (16 MB at v1 size, fp32).
        """
        c = self.config
        H, KV, hd = c.num_heads, c.num_kv_heads, c.head_dim
        ids = np.asarray(tokens, dtype=np.int64).reshape(-1)
        P, T = cache.length, len(ids)
        cache.reserve(P + T)
        rope2 = self._rope(P, T)
        # one new token may read every cached one: no causal mask to apply
        causal = None if T == 1 else np.arange(P + T)[None, :] <= np.arange(P, P + T)[:, None]
        key_mask = encoded.key_mask
        cross_mask = None if key_mask.all() else key_mask[None, :]
        readable = bool(key_mask.any())
        y = self.embed(ids)
        for i, (sa, ca) in enumerate(zip(self.self_attn, self.cross_attn, strict=True)):
            q, k, v = self._self_qkv(sa, y, rope2)
            cache.k[i, :, P : P + T] = k
            cache.v[i, :, P : P + T] = v
            keys_t = cache.k[i, :, : P + T].transpose(0, 2, 1)
            out = self._attend(q, keys_t, cache.v[i, :, : P + T], causal, T, sa.exp_safe)
            y = y + out @ sa.w_out
            q = scaled_norm((unit_rms(y) @ ca.w_q).reshape(T, H, hd), ca.q_scale)
            if T == 1:
                q = q.reshape(KV, H // KV, hd)
            else:
                q = q.reshape(T, KV, H // KV, hd).transpose(1, 2, 0, 3).reshape(KV, -1, hd)
            out = self._attend(
                q, encoded.cross_k[i], encoded.cross_v[i], cross_mask, T, ca.exp_safe and readable
            )
            y = y + out @ ca.w_out
        cache.length = P + T
        hidden = scaled_norm(y, self.dec_final)
        if rows is None or len(rows) * GATHER_FRACTION > c.vocab_size:
            logits = hidden @ self.embedding.T
            return logits if rows is None else logits[:, rows]
        return hidden @ self.embedding[rows].T

    def teacher_forced(self, src_ids: np.ndarray, tgt_ids: np.ndarray) -> np.ndarray:
        """Logits (T, V) for every target position in one pass."""
        encoded = self.encode(src_ids)
        return self.decode(encoded, self.new_cache(len(tgt_ids)), tgt_ids)
