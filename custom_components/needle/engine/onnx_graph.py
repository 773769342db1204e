"""Build the encoder and KV-cache decoder ONNX graphs from a bundle's weights (needs ``onnx``).

Only export imports this module. The graphs reference the bundle's ``weights.bin`` as ONNX
external data (per-layer slices of the stacked tensors), so no weight is stored twice; only the
tiny per-layer constants (norm scales as ``1 + s``, gates as ``sigmoid(g)``) are inlined.

Encoder: ``src_ids (S,)`` -> ``enc (S, d)``, per decoder layer i ``cross_k_i (KV, hd, S)``
(pre-transposed for the score matmul) and ``cross_v_i (KV, S, hd)``, ``contrastive (C,)``.
Decoder: ``tokens (T,)``, per layer ``past_k_i`` and ``past_v_i`` (1, KV, P, hd) (rotated keys,
as ``com.microsoft.GroupQueryAttention`` keeps them), ``cross_k_i``, ``cross_v_i``, and
``src_mask (S,) bool`` -> ``hidden (T, d)`` (the final-normed state), ``present_k_i`` and
``present_v_i`` (1, KV, P+T, hd). (Exports before GroupQueryAttention kept ``past_k_i`` as
(KV, hd, P), pre-transposed, and ``past_v_i`` as (KV, P, hd); backends read both.)
Positions continue from P, so the same graph serves one step (T = 1) and a teacher-forced pass.
Logits: ``hidden (T, d)`` -> ``logits (T, V)``, the tied output projection in a graph of its own,
because onnxruntime runs every node of a graph whichever outputs are asked for: a step whose
grammar allows a few tokens computes those rows from ``hidden`` instead (see backends) and never
runs this graph. (Exports before this one end the decoder in ``logits``; backends read both.)

Caches are per layer, not stacked: a stacked input is sliced (copied) per layer on every step,
which at S = 150 cost a decoding step ~0.6 ms of copying, more than its attention.
int8 bundles use ``com.microsoft.DynamicQuantizeMatMul`` (per-column scales) for every
projection and the tied logits; int4 bundles ``com.microsoft.MatMulNBits`` (bits 4, block 32,
``accuracy_level`` 4: activations quantized to int8 per block, integer dot products), whose
weight layout is the bundle's, for their 4-bit tensors (the decoder's own projections and the
tied embedding, whose rows they unpack with a few integer ops where they look them up), and
``DynamicQuantizeMatMul`` for the encoder's, which int4 bundles keep in int8 (see bundle.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .bundle import DECODER_ONNX, ENCODER_ONNX, INT4_BLOCK, LOGITS_ONNX, SCALE_SUFFIX, WEIGHTS
from .config import MAX_DECODER_TOKENS, ModelConfig
from .numpy_model import DEC, ENC, MASKED, NORM_EPS, sigmoid

OPSET = 17
MS_DOMAIN = "com.microsoft"
EXTERNAL_MIN_BYTES = 4096  # smaller slices are inlined: not worth an external reference
INT4_ACCURACY_LEVEL = 4  # MatMulNBits: int8 compute, the fast CPU kernels
ENCODER_MHA = True  # encoder attention as MultiHeadAttention (see Graph.encoder_attention)


class Graph:
    """A small ONNX graph builder: named values, fresh names, weights by checkpoint key."""

    def __init__(
        self,
        config: ModelConfig,
        index: list[dict[str, Any]],
        arrays: dict[str, np.ndarray],
        precision: str,
    ) -> None:
        self.c = config
        self.index = {e["name"]: e for e in index}
        self.arrays = arrays
        self.precision = precision
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._names: set[str] = set()
        self._weights: dict[tuple[str, int | None], str] = {}
        self._rotate: str | None = None  # the RoPE half-swap matrix, once made
        self._rope_cache: tuple[str, str] | None = None  # GroupQueryAttention's cos/sin

    def fresh(self, hint: str) -> str:
        name, n = hint, 0
        while name in self._names:
            n += 1
            name = f"{hint}_{n}"
        self._names.add(name)
        return name

    def op(
        self, op_type: str, *inputs: str, outputs: int = 1, domain: str = "", **attrs: Any
    ) -> Any:
        outs = [self.fresh(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(
            helper.make_node(op_type, list(inputs), outs, domain=domain or None, **attrs)
        )
        return outs[0] if outputs == 1 else outs

    def const(self, value: Any, dtype: Any = np.float32, hint: str = "c") -> str:
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def ints(self, *values: int) -> str:
        return self.const(list(values), np.int64, "shape")

    def weight(self, key: str, layer: int | None = None) -> str:
        """A stored tensor (or one layer of a stacked one), referenced in weights.bin."""
        if (key, layer) in self._weights:
            return self._weights[(key, layer)]
        entry = self.index[key]
        value = self.arrays[key] if layer is None else self.arrays[key][layer]
        name = self.fresh(key.replace("/", ".") + ("" if layer is None else f".{layer}"))
        offset = entry["offset"] + (0 if layer is None else layer * value.nbytes)
        if value.nbytes >= EXTERNAL_MIN_BYTES:
            tensor = onnx.TensorProto()
            tensor.name = name
            tensor.data_type = helper.np_dtype_to_tensor_dtype(value.dtype)
            tensor.dims.extend(value.shape)
            tensor.data_location = TensorProto.EXTERNAL
            for k, v in (("location", WEIGHTS), ("offset", offset), ("length", value.nbytes)):
                entry_proto = tensor.external_data.add()
                entry_proto.key, entry_proto.value = k, str(v)
            self.inits.append(tensor)
        else:
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        self._weights[(key, layer)] = name
        return name

    # -- the model's pieces --------------------------------------------------------------

    def norm(self, x: str, key: str, layer: int | None = None) -> str:
        """Zero-centred RMSNorm; (1 + s) is folded into a constant at export."""
        s = self.arrays[key] if layer is None else self.arrays[key][layer]
        return self.rms(x, 1.0 + s.astype(np.float32))

    def rms(self, x: str, scale: np.ndarray) -> str:
        """x / sqrt(mean(x^2) + eps) * scale: the pattern ORT fuses to SimplifiedLayerNorm."""
        ms = self.op("ReduceMean", self.op("Pow", x, self.const(2.0)), axes=[-1], keepdims=1)
        inv = self.op("Sqrt", self.op("Add", ms, self.const(NORM_EPS)))
        return self.op("Mul", self.op("Div", x, inv), self.const(scale))

    def matmul(self, x: str, keys: list[str], layer: int, gate: np.ndarray | None = None) -> str:
        """x @ [W_1 | W_2 | ...] for one layer: fused into one matmul (folded at load).

        ``gate`` (one key, quantized weights): output channels scaled by it, through the scales.
        """
        ws = [self.weight(k, layer) for k in keys]
        int4 = "block_size" in self.index[keys[0]]  # stored (N, blocks, 16): output rows first
        w = ws[0] if len(ws) == 1 else self.op("Concat", *ws, axis=0 if int4 else 1)
        if self.precision == "fp32":
            return self.op("MatMul", x, w)
        if gate is not None:
            stored = self.arrays[keys[0] + SCALE_SUFFIX][layer].astype(np.float32)
            per_channel = np.broadcast_to(np.asarray(gate, np.float32), stored.shape[:1])
            folded = stored * (per_channel[:, None] if int4 else per_channel)
            s = self.const(folded.astype(np.float32), hint="gated_scale")
        else:
            scales = [self.weight(k + SCALE_SUFFIX, layer) for k in keys]
            s = scales[0] if len(scales) == 1 else self.op("Concat", *scales, axis=0)
        if int4:
            n = sum(int(self.arrays[k].shape[1]) for k in keys)
            return self.matmul_nbits(x, w, s, n)
        return self.op("DynamicQuantizeMatMul", x, w, s, domain=MS_DOMAIN)

    def matmul_nbits(self, x: str, w: str, scales: str, n: int) -> str:
        """x (.., d) @ a 4-bit weight of n output channels (the bundle's int4 layout)."""
        return self.op(
            "MatMulNBits",
            x,
            w,
            scales,
            domain=MS_DOMAIN,
            K=self.c.d_model,
            N=n,
            bits=4,
            block_size=INT4_BLOCK,
            accuracy_level=INT4_ACCURACY_LEVEL,
        )

    def unpack_int4(self, rows: str, scales: str) -> str:
        """Gathered packed rows (T, blocks, 16) uint8 and their scales (T, blocks) -> (T, d).

        Integer ops only (opset 17 has no 4-bit types): each byte holds the even input index
        in its low nibble, the odd one in its high nibble; a code c stands for (c - 8) * scale.
        """
        x = self.op("Cast", rows, to=TensorProto.INT32)
        sixteen = self.const(16, np.int32)
        lo = self.op("Unsqueeze", self.op("Mod", x, sixteen), self.ints(-1))
        hi = self.op("Unsqueeze", self.op("Div", x, sixteen), self.ints(-1))
        codes = self.op("Reshape", self.op("Concat", lo, hi, axis=-1), self.ints(0, 0, INT4_BLOCK))
        values = self.op("Sub", self.op("Cast", codes, to=TensorProto.FLOAT), self.const(8.0))
        values = self.op("Mul", values, self.op("Unsqueeze", scales, self.ints(-1)))
        flat = self.op("Reshape", values, self.ints(0, -1))
        if -(-self.c.d_model // INT4_BLOCK) * INT4_BLOCK == self.c.d_model:
            return flat
        zero, d = self.ints(0), self.ints(self.c.d_model)
        return self.op("Slice", flat, zero, d, self.ints(1))

    def embed(self, ids: str) -> str:
        key = "embedding/embedding"
        table = self.weight(key)
        rows = self.op("Gather", table, ids, axis=0)
        if self.precision == "int4":
            scale = self.op("Gather", self.weight(key + SCALE_SUFFIX), ids, axis=0)
            rows = self.unpack_int4(rows, scale)
        elif self.precision == "int8":
            scale = self.op("Gather", self.weight(key + SCALE_SUFFIX), ids, axis=0)
            rows = self.op(
                "Mul",
                self.op("Cast", rows, to=TensorProto.FLOAT),
                self.op("Unsqueeze", scale, self.ints(1)),
            )
        return self.op("Mul", rows, self.const(np.sqrt(self.c.d_model)))

    def logits(self, h: str) -> str:
        key = "embedding/embedding"
        if self.precision == "fp32":
            return self.op("Gemm", h, self.weight(key), transB=1)
        if self.precision == "int4":
            scales = self.weight(key + SCALE_SUFFIX)
            return self.matmul_nbits(h, self.weight(key), scales, self.c.vocab_size)
        table_t = self.op("Transpose", self.weight(key), perm=[1, 0])  # folded at load
        return self.op(
            "DynamicQuantizeMatMul", h, table_t, self.weight(key + SCALE_SUFFIX), domain=MS_DOMAIN
        )

    def rope_tables(self, start: str, count: str) -> tuple[str, str]:
        """cos and sin, each (T, 1, hd) as [t, t] halves, for positions start .. start+count-1.

        Shaped to broadcast over (T, heads, hd) rows: see ``self_attention``.
        """
        c = self.c
        hd = c.head_dim
        pos = self.op("Range", start, self.op("Add", start, count), self.const(1, np.int64))
        pos = self.op("Unsqueeze", self.op("Cast", pos, to=TensorProto.FLOAT), self.ints(1))
        freqs = c.rope_theta ** (-np.arange(0, hd // 2, dtype=np.float32) * 2.0 / hd)
        freqs2 = np.concatenate([freqs, freqs]).astype(np.float32)
        angles = self.op("Unsqueeze", self.op("Mul", pos, self.const(freqs2)), self.ints(1))
        return self.op("Cos", angles), self.op("Sin", angles)

    def rope(self, x: str, cos: str, sin: str) -> str:
        """[x1*cos - x2*sin, x2*cos + x1*sin] as x*cos + (x @ R)*sin: 4 nodes, not 8.

        R swaps the halves and negates the new first half; its products are by 0 and +-1, so
        ``x @ R`` is exact and the arithmetic is that of the split formulation.
        """
        if self._rotate is None:  # one constant for every layer
            hd = self.c.head_dim
            half = hd // 2
            r = np.zeros((hd, hd), dtype=np.float32)
            r[np.arange(half) + half, np.arange(half)] = -1.0  # out[i] = -x2[i]
            r[np.arange(half), np.arange(half) + half] = 1.0  # out[half + i] = x1[i]
            self._rotate = self.const(r, hint="rope_rotate")
        rotated = self.op("MatMul", x, self._rotate)
        return self.op("Add", self.op("Mul", x, cos), self.op("Mul", rotated, sin))

    def heads(self, x: str, n: int, norm_key: str, layer: int) -> str:
        """(T, n*hd) -> QK-normed (n, T, hd)."""
        x = self.op("Reshape", x, self.ints(0, n, self.c.head_dim))
        return self.op("Transpose", self.norm(x, norm_key, layer), perm=[1, 0, 2])

    def bias(self, mask: str) -> str:
        """A boolean mask as an additive score bias (0 or MASKED), made once per graph.

        ``scores + bias`` equals ``Where(mask, scores, MASKED)`` (float32's min absorbs any
        score), but a broadcast Add is vectorised where ORT's broadcast Where is not: at 512
        tokens the encoder's 12 Wheres took ~45 ms of a ~245 ms prefill.
        """
        return self.op("Where", mask, self.const(0.0), self.const(MASKED))

    def attend(self, q: str, k_t: str, v: str, bias: str) -> str:
        """q (H, T, hd), k_t (KV, hd, S), v (KV, S, hd), bias broadcast to (KV, G*T, S)."""
        c = self.c
        qg = self.op("Reshape", q, self.ints(c.num_kv_heads, -1, c.head_dim))
        scores = self.op("Mul", self.op("MatMul", qg, k_t), self.const(1.0 / np.sqrt(c.head_dim)))
        scores = self.op("Add", scores, bias)
        out = self.op("MatMul", self.op("Softmax", scores, axis=-1), v)
        out = self.op("Reshape", out, self.ints(c.num_heads, -1, c.head_dim))
        out = self.op("Transpose", out, perm=[1, 0, 2])
        return self.op("Reshape", out, self.ints(-1, c.d_model))

    def _qk_normed_v(self, prefix: str, layer: int, x: str) -> tuple[str, str]:
        """A layer's q and k as (T, H + KV, hd) rows, projected with v in one matmul and
        QK-normed together (each row's scale is its head's ``1 + q_norm`` or ``1 + k_norm``):
        one chain of nodes instead of two, since at batch 1 ORT's cost is mostly per node, not
        per flop; and v as (T, KV*hd). Not yet rotated."""
        c = self.c
        H, KV, hd = c.num_heads, c.num_kv_heads, c.head_dim
        keys = [f"{prefix}/{n}_proj/kernel" for n in "qkv"]
        qk, v = self.op(
            "Split",
            self.matmul(x, keys, layer),
            self.ints(c.d_model + c.kv_dim, c.kv_dim),
            axis=-1,
            outputs=2,
        )
        qk = self.op("Reshape", qk, self.ints(0, H + KV, hd))
        q_scale = 1.0 + self.arrays[f"{prefix}/q_norm/scale"][layer].astype(np.float32)
        k_scale = 1.0 + self.arrays[f"{prefix}/k_norm/scale"][layer].astype(np.float32)
        scale = np.concatenate(
            [np.broadcast_to(q_scale, (H, hd)), np.broadcast_to(k_scale, (KV, hd))]
        )
        unit = self.rms(qk, np.ones(hd, dtype=np.float32))  # fused by ORT; then per-row scale
        return self.op("Mul", unit, self.const(scale)), v

    def self_attention(
        self, prefix: str, layer: int, x: str, rope: tuple[str, str]
    ) -> tuple[str, str, str]:
        """q (H, T, hd), k (KV, T, hd), v (KV, T, hd) of a self-attention layer: q and k
        rotated together after ``_qk_normed_v``."""
        c = self.c
        H, KV, hd = c.num_heads, c.num_kv_heads, c.head_dim
        qk, v = self._qk_normed_v(prefix, layer, x)
        qk = self.rope(qk, *rope)
        q, k = self.op(
            "Split", self.op("Transpose", qk, perm=[1, 0, 2]), self.ints(H, KV), axis=0, outputs=2
        )
        v = self.op("Reshape", v, self.ints(0, KV, hd))
        return q, k, self.op("Transpose", v, perm=[1, 0, 2])

    def encoder_attention(
        self, prefix: str, layer: int, x: str, rope: tuple[str, str], keep: str
    ) -> str:
        """Bidirectional self-attention as one ``com.microsoft.MultiHeadAttention`` -> (S, d).

        q/k/v, QK-norm and RoPE as in ``self_attention``; the op takes q as (1, S, H*hd) and k,
        v as (1, H, S, hd), so each KV head is repeated for its H/KV query heads (a small copy
        once per layer). ``keep`` is the key padding mask, (1, S) int32.
        """
        c = self.c
        H, KV, hd = c.num_heads, c.num_kv_heads, c.head_dim
        qk, v = self._qk_normed_v(prefix, layer, x)
        qk = self.rope(qk, *rope)
        q, k = self.op("Split", qk, self.ints(H, KV), axis=1, outputs=2)
        q = self.op("Reshape", q, self.ints(1, -1, c.d_model))
        v = self.op("Reshape", v, self.ints(0, KV, hd))
        repeat = self.ints(1, H // KV, 1, 1)

        def heads(t: str) -> str:  # (S, KV, hd) -> (1, H, S, hd), query head h reads h // G
            t = self.op("Unsqueeze", self.op("Transpose", t, perm=[1, 0, 2]), self.ints(1))
            return self.op("Reshape", self.op("Expand", t, repeat), self.ints(1, H, -1, hd))

        out = self.op(
            "MultiHeadAttention",
            q,
            heads(k),
            heads(v),
            "",
            keep,
            domain=MS_DOMAIN,
            num_heads=H,
            scale=float(1.0 / np.sqrt(hd)),
        )
        return self.op("Reshape", out, self.ints(-1, c.d_model))

    def cached_self_attention(
        self, prefix: str, layer: int, x: str, seqlens: str, total: str
    ) -> tuple[str, str, str]:
        """The decoder's causal self-attention over its cache as one ``GroupQueryAttention``.

        Project q/k/v (one matmul), QK-norm q and k together (as in ``self_attention``), then
        the contrib op rotates q and k (RoPE from position P on, half-split tables), appends k
        and v to ``past_k_i``/``past_v_i`` (1, KV, P, hd) and attends causally with grouped
        heads: ~9 nodes a layer instead of ~30 (RoPE, transposes, two cache Concats, the
        masked softmax). Returns the attention output (T, d) and the grown caches.
        """
        c = self.c
        H, KV, hd = c.num_heads, c.num_kv_heads, c.head_dim
        qk, v = self._qk_normed_v(prefix, layer, x)
        qk = self.op("Reshape", qk, self.ints(1, -1, (H + KV) * hd))
        q, k = self.op("Split", qk, self.ints(c.d_model, c.kv_dim), axis=-1, outputs=2)
        v = self.op("Unsqueeze", v, self.ints(0))
        if self._rope_cache is None:  # one pair of tables for every layer
            positions = max(MAX_DECODER_TOKENS, 1)
            freqs = c.rope_theta ** (-np.arange(0, hd // 2, dtype=np.float32) * 2.0 / hd)
            angles = np.arange(positions, dtype=np.float32)[:, None] * freqs[None, :]
            self._rope_cache = (
                self.const(np.cos(angles), hint="rope_cos"),
                self.const(np.sin(angles), hint="rope_sin"),
            )
        out, k_all, v_all = self.op(
            "GroupQueryAttention",
            q,
            k,
            v,
            f"past_k_{layer}",
            f"past_v_{layer}",
            seqlens,
            total,
            *self._rope_cache,
            outputs=3,
            domain=MS_DOMAIN,
            num_heads=H,
            kv_num_heads=KV,
            do_rotary=1,
            rotary_interleaved=0,
            scale=float(1.0 / np.sqrt(hd)),
        )
        return self.op("Reshape", out, self.ints(-1, c.d_model)), k_all, v_all

    def gated(self, x: str, gate_key: str, layer: int, out: str, proj_key: str) -> str:
        """x + sigmoid(gate) * (out @ W_proj), the gated residual of every block.

        Quantized weights fold the gate (a scalar per layer in v1; per channel would work the
        same) into their per-output-channel scales, exact up to float rounding, which saves a
        Mul node a block; fp32 would need a second copy of the weight, so it keeps the Mul.
        """
        gate = sigmoid(self.arrays[gate_key][layer].astype(np.float32))
        if self.precision == "fp32":
            update = self.matmul(out, [proj_key], layer)
            return self.op("Add", x, self.op("Mul", update, self.const(gate)))
        return self.op("Add", x, self.matmul(out, [proj_key], layer, gate=gate))

    def name_outputs(self, outputs: list[tuple[str, str]]) -> None:
        """Give the values the graph returns their output names by renaming them in place.

        An ``Identity`` per output would copy it on every run: for the decoder that is every
        layer's whole KV cache, each step (~170 us of a v1 step, measured). A value that is
        not a node's output (a graph input) or is returned twice still gets an Identity.
        """
        produced = {o for node in self.nodes for o in node.output}
        renames: dict[str, str] = {}
        for src, name in outputs:
            if src in produced and src not in renames:
                renames[src] = name
            else:
                self.nodes.append(helper.make_node("Identity", [renames.get(src, src)], [name]))
        for node in self.nodes:
            node.input[:] = [renames.get(i, i) for i in node.input]
            node.output[:] = [renames.get(o, o) for o in node.output]

    def model(
        self, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto], name: str
    ) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(MS_DOMAIN, 1)]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="needle-export")
        model.ir_version = 8
        return model


def _tensor(name: str, dtype: int, shape: list[Any]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def build_encoder(g: Graph) -> onnx.ModelProto:
    c = g.c
    L, KV, hd = c.num_decoder_layers, c.num_kv_heads, c.head_dim
    g._names.add("src_ids")
    ids = "src_ids"
    key_mask = g.op("Not", g.op("Equal", ids, g.const(c.pad_token_id, np.int64)))
    mask = g.bias(g.op("Unsqueeze", key_mask, g.ints(0)))  # (1, S)
    length = g.op("Shape", ids)
    rope = g.rope_tables(g.const(0, np.int64), g.op("Squeeze", length, g.ints(0)))
    x = g.embed(ids)
    keep = None
    if ENCODER_MHA:  # (1, S) int32, 1 where the key may be read
        keep = g.op("Unsqueeze", g.op("Cast", key_mask, to=TensorProto.INT32), g.ints(0))
    for i in range(c.num_encoder_layers):
        h = g.norm(x, f"{ENC}/ZCRMSNorm_0/scale", i)
        if keep is not None:
            out = g.encoder_attention(f"{ENC}/self_attn", i, h, rope, keep)
        else:
            q, k, v = g.self_attention(f"{ENC}/self_attn", i, h, rope)
            out = g.attend(q, g.op("Transpose", k, perm=[0, 2, 1]), v, mask)
        x = g.gated(x, f"{ENC}/attn_gate", i, out, f"{ENC}/self_attn/out_proj/kernel")
    enc = g.norm(x, "encoder/final_norm/scale")
    cross: list[tuple[str, str]] = []
    for i in range(L):
        keys = [f"{DEC}/cross_attn/{n}_proj/kernel" for n in "kv"]
        k, v = g.op("Split", g.matmul(enc, keys, i), g.ints(c.kv_dim, c.kv_dim), axis=-1, outputs=2)
        k = g.op("Reshape", k, g.ints(0, KV, hd))
        k = g.op("Transpose", g.norm(k, f"{DEC}/cross_attn/k_norm/scale", i), perm=[1, 2, 0])
        v = g.op("Transpose", g.op("Reshape", v, g.ints(0, KV, hd)), perm=[1, 0, 2])
        cross.append((k, v))
    # contrastive head: mean over non-padding rows, relu MLP, L2 normalised
    m = g.op("Unsqueeze", g.op("Cast", key_mask, to=TensorProto.FLOAT), g.ints(1))
    total = g.op("ReduceSum", g.op("Mul", enc, m), g.ints(0), keepdims=1)
    count = g.op("Max", g.op("ReduceSum", m, g.ints(0), keepdims=1), g.const(1.0))
    pooled = g.op("Div", total, count)  # (1, d)
    hidden = g.op(
        "Add",
        g.op("MatMul", pooled, g.weight("contrastive_hidden/kernel")),
        g.weight("contrastive_hidden/bias"),
    )
    z = g.op("MatMul", g.op("Relu", hidden), g.weight("contrastive_proj/kernel"))
    size = g.op(
        "Sqrt",
        g.op("Add", g.op("ReduceSum", g.op("Mul", z, z), g.ints(1), keepdims=1), g.const(1e-12)),
    )
    con = g.op("Reshape", g.op("Div", z, size), g.ints(-1))
    F = TensorProto.FLOAT
    outputs = [(enc, _tensor("enc", F, ["S", c.d_model]))]
    for i, (k, v) in enumerate(cross):
        outputs.append((k, _tensor(f"cross_k_{i}", F, [KV, hd, "S"])))
        outputs.append((v, _tensor(f"cross_v_{i}", F, [KV, "S", hd])))
    outputs.append((con, _tensor("contrastive", F, [c.contrastive_dim])))
    g.name_outputs([(src, info.name) for src, info in outputs])
    return g.model(
        [_tensor("src_ids", TensorProto.INT64, ["S"])], [o for _, o in outputs], "needle_encoder"
    )


def build_decoder(g: Graph) -> onnx.ModelProto:
    c = g.c
    L, KV, hd = c.num_decoder_layers, c.num_kv_heads, c.head_dim
    names = ["tokens", "src_mask"]
    for i in range(L):
        names += [f"past_k_{i}", f"past_v_{i}", f"cross_k_{i}", f"cross_v_{i}"]
    g._names.update(names)
    past_len = g.op("Gather", g.op("Shape", "past_v_0"), g.const(2, np.int64), axis=0)
    count = g.op("Gather", g.op("Shape", "tokens"), g.const(0, np.int64), axis=0)
    total = g.op("Cast", g.op("Add", past_len, count), to=TensorProto.INT32)  # scalar
    seqlens = g.op("Reshape", g.op("Sub", total, g.const(1, np.int32)), g.ints(1))  # (1,)
    src_mask = g.bias(g.op("Unsqueeze", "src_mask", g.ints(0)))
    y = g.embed("tokens")
    present: list[tuple[str, str]] = []
    for i in range(L):
        h = g.norm(y, f"{DEC}/ZCRMSNorm_0/scale", i)
        out, k, v = g.cached_self_attention(f"{DEC}/self_attn", i, h, seqlens, total)
        present.append((k, v))
        y = g.gated(y, f"{DEC}/self_attn_gate", i, out, f"{DEC}/self_attn/out_proj/kernel")
        h = g.norm(y, f"{DEC}/ZCRMSNorm_1/scale", i)
        q = g.matmul(h, [f"{DEC}/cross_attn/q_proj/kernel"], i)
        q = g.heads(q, c.num_heads, f"{DEC}/cross_attn/q_norm/scale", i)
        out = g.attend(q, f"cross_k_{i}", f"cross_v_{i}", src_mask)
        y = g.gated(y, f"{DEC}/cross_attn_gate", i, out, f"{DEC}/cross_attn/out_proj/kernel")
    hidden = g.norm(y, "decoder/ZCRMSNorm_0/scale")
    F = TensorProto.FLOAT
    outputs = [(hidden, _tensor("hidden", F, ["T", c.d_model]))]
    for i, (k, v) in enumerate(present):
        outputs.append((k, _tensor(f"present_k_{i}", F, [1, KV, "P+T", hd])))
        outputs.append((v, _tensor(f"present_v_{i}", F, [1, KV, "P+T", hd])))
    g.name_outputs([(src, info.name) for src, info in outputs])
    inputs = [_tensor("tokens", TensorProto.INT64, ["T"])]
    for i in range(L):
        inputs += [
            _tensor(f"past_k_{i}", F, [1, KV, "P", hd]),
            _tensor(f"past_v_{i}", F, [1, KV, "P", hd]),
            _tensor(f"cross_k_{i}", F, [KV, hd, "S"]),
            _tensor(f"cross_v_{i}", F, [KV, "S", hd]),
        ]
    inputs.append(_tensor("src_mask", TensorProto.BOOL, ["S"]))
    return g.model(inputs, [o for _, o in outputs], "needle_decoder")


def build_logits(g: Graph) -> onnx.ModelProto:
    """hidden (T, d) -> logits (T, V): the tied output projection alone."""
    g._names.add("hidden")
    logits = g.logits("hidden")
    g.name_outputs([(logits, "logits")])
    F = TensorProto.FLOAT
    return g.model(
        [_tensor("hidden", F, ["T", g.c.d_model])],
        [_tensor("logits", F, ["T", g.c.vocab_size])],
        "needle_logits",
    )


def write_graphs(
    out_dir: Path,
    config: ModelConfig,
    index: list[dict[str, Any]],
    arrays: dict[str, np.ndarray],
    *,
    precision: str,
) -> None:
    """Write the encoder, decoder and logits graphs next to weights.bin (which they reference)."""
    builds = (
        (build_encoder, ENCODER_ONNX),
        (build_decoder, DECODER_ONNX),
        (build_logits, LOGITS_ONNX),
    )
    for build, file in builds:
        model = build(Graph(config, index, arrays, precision))
        path = Path(out_dir) / file
        path.write_bytes(model.SerializeToString())
        onnx.checker.check_model(str(path))  # by path: it resolves weights.bin next to it
