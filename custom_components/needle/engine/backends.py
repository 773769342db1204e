"""Backends: the same encoder/decoder interface over onnxruntime or plain numpy.

A backend holds only weights (or sessions); everything a request accumulates lives in the
``EncoderState``/``DecoderState`` it is handed, so one backend serves several threads at once.
onnxruntime is imported lazily, inside its backend, because Home Assistant OS (musl) has no
wheel for it and must still run the numpy path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .bundle import Bundle
from .config import MAX_DECODER_TOKENS, MAX_ENCODER_TOKENS, ModelConfig
from .numpy_model import Encoded, NumpyModel

BACKENDS = ("onnxruntime", "numpy")


class BackendError(RuntimeError):
    """A backend cannot be used here (not installed, or the bundle lacks what it needs)."""


@dataclass
class EncoderState:
    """One request's encoder pass: its output and the cross-attention keys/values."""

    src_ids: np.ndarray  # (S,) int64
    enc: np.ndarray  # (S, d) float32
    key_mask: np.ndarray  # (S,) bool
    cross_k: Any  # backend-specific: per-layer list (numpy) or stacked array (onnxruntime)
    cross_v: Any


@dataclass
class DecoderState:
    """One request's decoder: the self-attention cache and the tokens fed so far."""

    encoder: EncoderState
    cache: Any  # backend-specific
    tokens: list[int] = field(default_factory=list)

    @property
    def length(self) -> int:
        return len(self.tokens)


class Backend(Protocol):
    name: str
    config: ModelConfig

    def encode(self, src_ids: np.ndarray) -> EncoderState: ...
    def start(self, enc: EncoderState) -> DecoderState: ...
    def step(self, state: DecoderState, token: int) -> np.ndarray: ...
    def teacher_forced(self, src_ids: np.ndarray, tgt_ids: np.ndarray) -> np.ndarray: ...
    def encoder_output(self, src_ids: np.ndarray) -> np.ndarray: ...
    def contrastive(self, src_ids: np.ndarray) -> np.ndarray: ...


def check_ids(ids: np.ndarray, config: ModelConfig, limit: int, what: str) -> np.ndarray:
    """Token ids as a 1-D int64 array within the vocabulary and the window, or a ValueError."""
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{what} must be a non-empty 1-D sequence of token ids")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{what} must be integer token ids, got {arr.dtype}")
    if arr.size > limit:
        raise ValueError(f"{what} has {arr.size} tokens; the model takes at most {limit}")
    if arr.min() < 0 or arr.max() >= config.vocab_size:
        raise ValueError(f"{what} holds ids outside the vocabulary (0..{config.vocab_size - 1})")
    return arr.astype(np.int64)


def _check_step(state: DecoderState, token: int, config: ModelConfig) -> int:
    if state.length >= MAX_DECODER_TOKENS:
        raise ValueError(f"the decoder is full: at most {MAX_DECODER_TOKENS} tokens per request")
    token = int(token)
    if not 0 <= token < config.vocab_size:
        raise ValueError(f"token {token} is outside the vocabulary")
    return token


class NumpyBackend:
    """The forward pass in numpy: runs anywhere numpy does (musl included)."""

    name = "numpy"

    def __init__(self, config: ModelConfig, params: dict[str, np.ndarray]) -> None:
        self.config = config
        self.model = NumpyModel(config, params)

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> NumpyBackend:
        return cls(bundle.config, bundle.params())

    def _encoded(self, enc: EncoderState) -> Encoded:
        return Encoded(enc.enc, enc.key_mask, enc.cross_k, enc.cross_v)

    def encode(self, src_ids: np.ndarray) -> EncoderState:
        ids = check_ids(src_ids, self.config, MAX_ENCODER_TOKENS, "src_ids")
        e = self.model.encode(ids)
        return EncoderState(ids, e.enc, e.key_mask, e.cross_k, e.cross_v)

    def start(self, enc: EncoderState) -> DecoderState:
        return DecoderState(encoder=enc, cache=self.model.new_cache())

    def step(self, state: DecoderState, token: int) -> np.ndarray:
        token = _check_step(state, token, self.config)
        logits = self.model.decode(self._encoded(state.encoder), state.cache, np.array([token]))
        state.tokens.append(token)
        return logits[0]

    def teacher_forced(self, src_ids: np.ndarray, tgt_ids: np.ndarray) -> np.ndarray:
        tgt = check_ids(tgt_ids, self.config, MAX_DECODER_TOKENS, "tgt_ids")
        enc = self._encoded(self.encode(src_ids))
        return self.model.decode(enc, self.model.new_cache(len(tgt)), tgt)

    def encoder_output(self, src_ids: np.ndarray) -> np.ndarray:
        return self.encode(src_ids).enc

    def contrastive(self, src_ids: np.ndarray) -> np.ndarray:
        return self.model.contrastive(self._encoded(self.encode(src_ids)))


def default_threads() -> int:
    """Intra-op threads: every core this process may use (a Home Assistant box has 2-4)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class OnnxRuntimeBackend:
    """The exported ONNX graphs in onnxruntime: encoder once per request, decoder per token."""

    name = "onnxruntime"

    def __init__(self, bundle: Bundle, *, threads: int | None = None) -> None:
        if not bundle.has_graphs:
            raise BackendError("this bundle has no ONNX graphs; use the numpy backend")
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise BackendError("onnxruntime is not installed here; use the numpy backend") from err
        self.config = bundle.config
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        self._encoder = ort.InferenceSession(str(bundle.encoder_onnx), options, providers=providers)
        self._decoder = ort.InferenceSession(str(bundle.decoder_onnx), options, providers=providers)
        c = self.config
        self._empty = np.zeros((c.num_decoder_layers, c.num_kv_heads, 0, c.head_dim), np.float32)

    def _encode(self, ids: np.ndarray) -> tuple[EncoderState, np.ndarray]:
        enc, cross_k, cross_v, con = self._encoder.run(None, {"src_ids": ids})
        state = EncoderState(ids, enc, ids != self.config.pad_token_id, cross_k, cross_v)
        return state, con

    def encode(self, src_ids: np.ndarray) -> EncoderState:
        return self._encode(check_ids(src_ids, self.config, MAX_ENCODER_TOKENS, "src_ids"))[0]

    def start(self, enc: EncoderState) -> DecoderState:
        return DecoderState(encoder=enc, cache=(self._empty, self._empty))

    def _decode(self, state: DecoderState, tokens: np.ndarray) -> np.ndarray:
        enc = state.encoder
        past_k, past_v = state.cache
        logits, present_k, present_v = self._decoder.run(
            None,
            {
                "tokens": tokens,
                "past_k": past_k,
                "past_v": past_v,
                "cross_k": enc.cross_k,
                "cross_v": enc.cross_v,
                "src_mask": enc.key_mask,
            },
        )
        state.cache = (present_k, present_v)
        state.tokens.extend(int(t) for t in tokens)
        return logits

    def step(self, state: DecoderState, token: int) -> np.ndarray:
        token = _check_step(state, token, self.config)
        return self._decode(state, np.array([token], dtype=np.int64))[0]

    def teacher_forced(self, src_ids: np.ndarray, tgt_ids: np.ndarray) -> np.ndarray:
        tgt = check_ids(tgt_ids, self.config, MAX_DECODER_TOKENS, "tgt_ids")
        return self._decode(self.start(self.encode(src_ids)), tgt)

    def encoder_output(self, src_ids: np.ndarray) -> np.ndarray:
        return self.encode(src_ids).enc

    def contrastive(self, src_ids: np.ndarray) -> np.ndarray:
        return self._encode(check_ids(src_ids, self.config, MAX_ENCODER_TOKENS, "src_ids"))[1]


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def load_backend(bundle: Bundle, name: str = "auto") -> Backend:
    """``auto``: onnxruntime when it is installed and the bundle has graphs, else numpy."""
    if name == "auto":
        name = "onnxruntime" if bundle.has_graphs and onnxruntime_available() else "numpy"
    if name == "numpy":
        return NumpyBackend.from_bundle(bundle)
    if name == "onnxruntime":
        return OnnxRuntimeBackend(bundle)
    raise BackendError(f"unknown backend {name!r}; choose one of auto, {', '.join(BACKENDS)}")
