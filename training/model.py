"""Needle v1 in PyTorch: an encoder-decoder of gated attention blocks, no feed-forward layers.

The math follows tests/data/needle-v1-reference/README.md line by line (names from the paper and
the official parameter tree), so a checkpoint moves between this module and the official v1
pickle by renaming alone: ``from_flat_params`` / ``to_flat_params`` use the engine's flat keys
(``"encoder/layers/EncoderBlock_0/self_attn/q_proj/kernel"``, layers stacked on axis 0).
Sizes come from ``engine.config.ModelConfig``; nothing here is specific to one size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from engine.config import ModelConfig
from torch import Tensor, nn

NORM_EPS = 1e-6


def zc_rms_norm(x: Tensor, scale: Tensor) -> Tensor:
    """Zero-centred RMSNorm: the scale is stored as an offset from 1."""
    return (1.0 + scale) * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS)


def rope(x: Tensor, theta: float) -> Tensor:
    """Half-split rotary embedding over (..., T, hd); positions restart at 0 per sequence."""
    t, hd = x.shape[-2], x.shape[-1]
    freq = theta ** (-torch.arange(0, hd // 2, device=x.device, dtype=torch.float32) * 2 / hd)
    angle = torch.arange(t, device=x.device, dtype=torch.float32)[:, None] * freq[None, :]
    cos, sin = angle.cos(), angle.sin()
    x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Attention(nn.Module):
    """Grouped-query attention with QK-norm; RoPE only where the block says so."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        d, kv = cfg.d_model, cfg.kv_dim
        self.h, self.kvh, self.hd, self.theta = (
            cfg.num_heads,
            cfg.num_kv_heads,
            cfg.head_dim,
            cfg.rope_theta,
        )
        self.q_proj = nn.Parameter(torch.empty(d, d))
        self.k_proj = nn.Parameter(torch.empty(d, kv))
        self.v_proj = nn.Parameter(torch.empty(d, kv))
        self.out_proj = nn.Parameter(torch.empty(d, d))
        self.q_norm = nn.Parameter(torch.zeros(self.hd))
        self.k_norm = nn.Parameter(torch.zeros(self.hd))
        for w in (self.q_proj, self.k_proj, self.v_proj, self.out_proj):
            nn.init.normal_(w, std=1.0 / math.sqrt(d))

    def forward(self, q_in: Tensor, kv_in: Tensor, mask: Tensor, use_rope: bool) -> Tensor:
        """mask: bool, broadcastable to (B, H, Tq, Tk), True where attention is allowed."""
        b, tq, _ = q_in.shape
        tk = kv_in.shape[1]
        q = (q_in @ self.q_proj).view(b, tq, self.h, self.hd).transpose(1, 2)
        k = (kv_in @ self.k_proj).view(b, tk, self.kvh, self.hd).transpose(1, 2)
        v = (kv_in @ self.v_proj).view(b, tk, self.kvh, self.hd).transpose(1, 2)
        q, k = zc_rms_norm(q, self.q_norm), zc_rms_norm(k, self.k_norm)
        if use_rope:
            q, k = rope(q, self.theta), rope(k, self.theta)
        groups = self.h // self.kvh
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        out = scores.softmax(-1) @ v
        return out.transpose(1, 2).reshape(b, tq, self.h * self.hd) @ self.out_proj


class EncoderBlock(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.norm = nn.Parameter(torch.zeros(cfg.d_model))
        self.self_attn = Attention(cfg)
        self.attn_gate = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = self.self_attn(zc_rms_norm(x, self.norm), zc_rms_norm(x, self.norm), mask, True)
        return x + torch.sigmoid(self.attn_gate) * h


class DecoderBlock(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.norm_self = nn.Parameter(torch.zeros(cfg.d_model))
        self.norm_cross = nn.Parameter(torch.zeros(cfg.d_model))
        self.self_attn = Attention(cfg)
        self.cross_attn = Attention(cfg)
        self.self_attn_gate = nn.Parameter(torch.zeros(()))
        self.cross_attn_gate = nn.Parameter(torch.zeros(()))

    def forward(self, y: Tensor, enc: Tensor, causal: Tensor, enc_mask: Tensor) -> Tensor:
        n = zc_rms_norm(y, self.norm_self)
        y = y + torch.sigmoid(self.self_attn_gate) * self.self_attn(n, n, causal, True)
        n = zc_rms_norm(y, self.norm_cross)
        return y + torch.sigmoid(self.cross_attn_gate) * self.cross_attn(n, enc, enc_mask, False)


class Needle(nn.Module):
    """The whole v1 model: tied embedding, encoder, decoder, contrastive head."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embedding = nn.Parameter(torch.randn(cfg.vocab_size, d) / math.sqrt(d))
        self.encoder = nn.ModuleList(EncoderBlock(cfg) for _ in range(cfg.num_encoder_layers))
        self.encoder_norm = nn.Parameter(torch.zeros(d))
        self.decoder = nn.ModuleList(DecoderBlock(cfg) for _ in range(cfg.num_decoder_layers))
        self.decoder_norm = nn.Parameter(torch.zeros(d))
        self.contrastive_hidden = nn.Linear(d, d // 4)
        self.contrastive_proj = nn.Parameter(torch.empty(d // 4, cfg.contrastive_dim))
        nn.init.normal_(self.contrastive_proj, std=1.0 / math.sqrt(d // 4))
        self.log_temp = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def embed(self, ids: Tensor) -> Tensor:
        return self.embedding[ids] * math.sqrt(self.cfg.d_model)

    def encode(self, src: Tensor) -> Tensor:
        """(B, S) ids -> (B, S, d) after the final norm; padding keys (id 0) are masked."""
        mask = (src != self.cfg.pad_token_id)[:, None, None, :]
        x = self.embed(src)
        for block in self.encoder:
            x = block(x, mask)
        return zc_rms_norm(x, self.encoder_norm)

    def decode(self, tgt: Tensor, enc: Tensor, src: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V); the causal mask also keeps padding rows harmless."""
        t = tgt.shape[1]
        causal = torch.ones(t, t, dtype=torch.bool, device=tgt.device).tril()[None, None]
        enc_mask = (src != self.cfg.pad_token_id)[:, None, None, :]
        y = self.embed(tgt)
        for block in self.decoder:
            y = block(y, enc, causal, enc_mask)
        return zc_rms_norm(y, self.decoder_norm) @ self.embedding.T

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        return self.decode(tgt, self.encode(src), src)

    def contrastive(self, src: Tensor) -> Tensor:
        """L2-normalised mean of the encoder output over non-padding positions."""
        enc = self.encode(src)
        keep = (src != self.cfg.pad_token_id).float()[..., None]
        mean = (enc * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        z = F.relu(self.contrastive_hidden(mean)) @ self.contrastive_proj
        return z / torch.sqrt((z * z).sum(-1, keepdim=True) + 1e-12)

    # --- the official parameter tree -------------------------------------------------------

    def _pairs(self) -> list[tuple[str, list[Tensor]]]:
        """(flat key, the per-layer tensors stacked under it) for every official leaf."""
        enc, dec = "encoder/layers/EncoderBlock_0/", "decoder/layers/DecoderBlock_0/"
        pairs: list[tuple[str, list[Tensor]]] = [
            ("embedding/embedding", [self.embedding]),
            (enc + "attn_gate", [b.attn_gate for b in self.encoder]),
            (enc + "ZCRMSNorm_0/scale", [b.norm for b in self.encoder]),
            ("encoder/final_norm/scale", [self.encoder_norm]),
            (dec + "self_attn_gate", [b.self_attn_gate for b in self.decoder]),
            (dec + "cross_attn_gate", [b.cross_attn_gate for b in self.decoder]),
            (dec + "ZCRMSNorm_0/scale", [b.norm_self for b in self.decoder]),
            (dec + "ZCRMSNorm_1/scale", [b.norm_cross for b in self.decoder]),
            ("decoder/ZCRMSNorm_0/scale", [self.decoder_norm]),
            ("contrastive_hidden/kernel", [self.contrastive_hidden.weight.T]),
            ("contrastive_hidden/bias", [self.contrastive_hidden.bias]),
            ("contrastive_proj/kernel", [self.contrastive_proj]),
            ("log_temp", [self.log_temp]),
        ]
        attns = [(enc + "self_attn/", [b.self_attn for b in self.encoder])]
        attns += [(dec + "self_attn/", [b.self_attn for b in self.decoder])]
        attns += [(dec + "cross_attn/", [b.cross_attn for b in self.decoder])]
        for prefix, mods in attns:
            for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
                pairs.append((f"{prefix}{name}/kernel", [getattr(m, name) for m in mods]))
            for name in ("q_norm", "k_norm"):
                pairs.append((f"{prefix}{name}/scale", [getattr(m, name) for m in mods]))
        return pairs

    _UNSTACKED = frozenset(
        {
            "embedding/embedding",
            "encoder/final_norm/scale",
            "decoder/ZCRMSNorm_0/scale",
            "contrastive_hidden/kernel",
            "contrastive_hidden/bias",
            "contrastive_proj/kernel",
            "log_temp",
        }
    )

    def to_flat_params(self) -> dict[str, np.ndarray]:
        """float32 numpy arrays under the official flat keys (the writer casts to float16)."""
        out = {}
        for key, tensors in self._pairs():
            arrs = [t.detach().float().cpu().numpy() for t in tensors]
            out[key] = arrs[0].copy() if key in self._UNSTACKED else np.stack(arrs)
        return out

    @torch.no_grad()
    def load_flat_params(self, params: Mapping[str, np.ndarray]) -> None:
        """Copy official flat params in; shapes must match this model's config exactly."""
        expected = {k for k, _ in self._pairs()}
        missing, extra = expected - set(params), set(params) - expected
        if missing or extra:
            raise ValueError(
                f"parameter tree mismatch: missing {sorted(missing)}, extra {sorted(extra)}"
            )
        for key, tensors in self._pairs():
            value = torch.from_numpy(np.asarray(params[key], dtype=np.float32))
            values = [value] if key in self._UNSTACKED else list(value)
            if len(values) != len(tensors):
                raise ValueError(f"{key}: {len(values)} layers, model has {len(tensors)}")
            for t, v in zip(tensors, values, strict=True):
                if tuple(t.shape) != tuple(v.shape):
                    raise ValueError(f"{key}: shape {tuple(v.shape)}, model has {tuple(t.shape)}")
                t.copy_(v)

    @classmethod
    def from_flat_params(cls, cfg: ModelConfig, params: Mapping[str, np.ndarray]) -> Needle:
        model = cls(cfg)
        model.load_flat_params(params)
        return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
