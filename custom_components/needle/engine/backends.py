"""Backends: the same encoder/decoder interface over onnxruntime or plain numpy.

A backend holds only weights (or sessions); everything a request accumulates lives in the
``EncoderState``/``DecoderState`` it is handed, so one backend serves several threads at once.
onnxruntime is imported lazily, inside its backend, because Home Assistant OS (musl) has no
wheel for it and must still run the numpy path.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .bundle import INT4_BLOCK, LOGITS_ONNX, SCALE_SUFFIX, Bundle, int4_codes
from .checkpoint import expected_shapes
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
    cross_k: list[np.ndarray]  # per decoder layer, (KV, hd, S): pre-transposed for q @ k
    cross_v: list[np.ndarray]  # per decoder layer, (KV, S, hd)


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
    """What decoding needs of a backend.

    Both backends also offer ``extend(state, tokens) -> (T, V) logits`` (several tokens in one
    pass); decoding uses it when present, so it is not part of this protocol. Both also set
    ``gathers_rows = True``: ``step`` and ``extend`` then take ``rows`` (vocabulary ids) and
    return only those logits, ``(len(rows),)`` or ``(T, len(rows))``, the same numbers as the
    full projection's columns (an empty ``rows`` skips the projection: nothing will be read).
    """

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


def check_rows(rows: np.ndarray | None, config: ModelConfig) -> np.ndarray | None:
    """Vocabulary ids as a 1-D int64 array (may be empty), or a ValueError; None stays None."""
    if rows is None:
        return None
    arr = np.asarray(rows)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError("rows must be a 1-D sequence of token ids")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= config.vocab_size):
        raise ValueError(f"rows holds ids outside the vocabulary (0..{config.vocab_size - 1})")
    return arr


def _check_extend(state: DecoderState, tokens: np.ndarray, config: ModelConfig) -> np.ndarray:
    """The tokens as int64, or a ValueError (the state is left as it was)."""
    ids = check_ids(tokens, config, MAX_DECODER_TOKENS, "tokens")
    if state.length + ids.size > MAX_DECODER_TOKENS:
        raise ValueError(f"the decoder is full: at most {MAX_DECODER_TOKENS} tokens per request")
    return ids


class _Steps:
    """``step`` and ``extend`` for a backend with ``_decode(state, ids, rows)``: the checks of a
    decoder input live here once, and each backend only runs its forward pass."""

    config: ModelConfig

    def _decode(
        self, state: DecoderState, ids: np.ndarray, rows: np.ndarray | None
    ) -> np.ndarray:  # pragma: no cover - each backend has its own
        raise NotImplementedError

    def step(self, state: DecoderState, token: int, rows: np.ndarray | None = None) -> np.ndarray:
        """Feed one token: its logits (V,), or for ``rows`` only those (see ``Backend``)."""
        token = _check_step(state, token, self.config)
        rows = check_rows(rows, self.config)
        return self._decode(state, np.array([token], dtype=np.int64), rows)[0]

    def extend(
        self, state: DecoderState, tokens: np.ndarray, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Feed several tokens in one pass (a forced stretch): logits (T, V) after each."""
        ids = _check_extend(state, tokens, self.config)
        return self._decode(state, ids, check_rows(rows, self.config))


class OtherLoad:
    """How many cores other processes kept busy lately, from Linux's ``/proc/stat``.

    Busy CPU time of the whole system minus this process's own (``time.process_time``: every
    thread of ours, BLAS workers and Home Assistant included), over the time since the window
    last moved; a window moves once it spans ``WINDOW_S``, so a burst of decoding steps reads
    the clock and ``/proc/stat`` once per window, not once per step. ``None`` where there is no
    ``/proc/stat`` (not Linux): the caller then assumes the machine is busy.
    """

    WINDOW_S = 0.2  # /proc/stat counts 10 ms ticks: +-0.1 core over a window, enough to round

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        own_cpu_s: Callable[[], float] = time.process_time,
    ) -> None:
        self._clock, self._own_cpu_s = clock, own_cpu_s
        self._ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._start: tuple[float, float, float] | None = None
        self._value: float | None = None

    def _system_busy_s(self) -> float:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        guest = sum(fields[8:10])  # guest time is counted in user time too
        return (sum(fields) - idle - guest) / self._ticks

    def cores(self) -> float | None:
        now = self._clock()
        if self._start is not None and now - self._start[0] < self.WINDOW_S:
            return self._value
        try:
            sample = (now, self._system_busy_s(), self._own_cpu_s())
        except (OSError, ValueError, IndexError):
            return None
        if self._start is not None:
            elapsed = sample[0] - self._start[0]
            others = (sample[1] - self._start[1]) - (sample[2] - self._start[2])
            self._value = max(0.0, others / elapsed)
        self._start = sample
        return self._value


class _BlasThreads:
    """BLAS threads while a numpy forward pass runs: every free core, or one when others are busy.

    OpenBLAS threads wait on each other at every product; when the other cores are busy (as
    on a Home Assistant box doing anything else) that wait dominates: on a loaded 2-core
    machine prefill ran ~7x and decoding ~2.5x slower with BLAS threads than without. On an
    idle one two threads are faster (v1 size, 2-core Zen 5: prefill ~1.3x, decoding ~1.2x).
    So the pass gets the cores that other processes left free (``OtherLoad``), at least one
    and at most what BLAS was set to; two passes at once (two requests) share: one thread.
    Unknown load (not Linux, or before the first window) counts as busy.

    The limit is process-wide, so it is reference counted: set when the first pass starts,
    restored when the last one ends. The manifest installs threadpoolctl; without it (a
    bundle used outside Home Assistant) BLAS keeps its own settings.

    threadpoolctl >= 3.8 lets only one Python thread (the first to set a limit, while it
    lives) change OpenBLAS's pool and silently ignores the others; requests here run on
    whichever executor thread is free, so control is taken before and handed back after.
    """

    def __init__(self, load: OtherLoad | None = None) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None
        self._threads = 1
        self._controller: Any = None
        self._release: Any = None
        self._available: bool | None = None
        self.load = load or OtherLoad()

    def _load(self) -> bool:
        if self._available is None:
            try:
                import threadpoolctl

                self._controller = threadpoolctl.ThreadpoolController()
            except (ImportError, OSError, RuntimeError):  # optional: run as configured
                self._available = False
                return False
            openblas = getattr(threadpoolctl, "OpenBLASController", None)
            self._release = getattr(openblas, "clear_controlling_thread", None)
            self._available = True
        return self._available

    def _free_control(self) -> None:
        """Clear whichever thread holds threadpoolctl's control; the next setter takes it."""
        if self._release is not None:
            self._release(force=True)

    def threads_for_one_pass(self) -> int:
        """The cores other processes leave free (rounded), within 1 .. BLAS's own setting."""
        others = self.load.cores()
        if others is None:
            return 1
        configured = min(
            (lib.num_threads for lib in self._controller.select(user_api="blas").lib_controllers),
            default=1,
        )
        free = int(default_threads() - others + 0.5)
        return max(1, min(configured, free))

    def _limit(self, threads: int) -> None:
        self._free_control()
        limiter = self._controller.limit(limits=threads, user_api="blas")
        if self._limiter is None:  # the first one remembers the settings to restore
            self._limiter = limiter
        self._threads = threads

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._load():
                if self._users == 0:
                    self._limit(self.threads_for_one_pass())
                elif self._threads > 1:  # a second pass at once: both on one thread
                    self._limit(1)
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._limiter is not None:
                    self._free_control()
                    self._limiter.restore_original_limits()
                    self._limiter = None
                    self._free_control()  # and let go: the next request may run on another thread


blas_threads = _BlasThreads()


class _BundleParams(Mapping[str, np.ndarray]):
    """A bundle's parameters, read (and for int8 dequantized) one at a time, when asked for.

    ``Bundle.params()`` would dequantize every int8 tensor up front; the model keeps only the
    arrays it reshapes, so reading them one by one lowers the load-time peak.
    """

    def __init__(self, bundle: Bundle) -> None:
        self._bundle = bundle
        self._names = expected_shapes(bundle.config)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        return self._bundle.param(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class NumpyBackend(_Steps):
    """The forward pass in numpy: runs anywhere numpy does (musl included).

    ``manage_threads`` (default) gives BLAS the cores other processes leave free during each
    call, one when they are busy; see ``_BlasThreads``. Pass False to leave BLAS threading alone.
    """

    name = "numpy"
    gathers_rows = True

    def __init__(
        self, config: ModelConfig, params: Mapping[str, np.ndarray], *, manage_threads: bool = True
    ) -> None:
        self.config = config
        self.model = NumpyModel(config, params)
        self._blas = blas_threads if manage_threads else nullcontext
        if manage_threads:
            blas_threads.load.cores()  # open the first window: a request comes later

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> NumpyBackend:
        return cls(bundle.config, _BundleParams(bundle))

    def _encoded(self, enc: EncoderState) -> Encoded:
        return Encoded(enc.enc, enc.key_mask, enc.cross_k, enc.cross_v)

    def _encode(self, ids: np.ndarray) -> EncoderState:
        with self._blas():
            e = self.model.encode(ids)
        return EncoderState(ids, e.enc, e.key_mask, e.cross_k, e.cross_v)

    def encode(self, src_ids: np.ndarray) -> EncoderState:
        return self._encode(check_ids(src_ids, self.config, MAX_ENCODER_TOKENS, "src_ids"))

    def start(self, enc: EncoderState) -> DecoderState:
        return DecoderState(encoder=enc, cache=self.model.new_cache())

    def _decode(
        self, state: DecoderState, tokens: np.ndarray, rows: np.ndarray | None = None
    ) -> np.ndarray:
        with self._blas():
            logits = self.model.decode(self._encoded(state.encoder), state.cache, tokens, rows)
        state.tokens.extend(tokens.tolist())
        return logits

    def teacher_forced(self, src_ids: np.ndarray, tgt_ids: np.ndarray) -> np.ndarray:
        tgt = check_ids(tgt_ids, self.config, MAX_DECODER_TOKENS, "tgt_ids")
        enc = self._encoded(self.encode(src_ids))
        with self._blas():
            return self.model.decode(enc, self.model.new_cache(len(tgt)), tgt)

    def encoder_output(self, src_ids: np.ndarray) -> np.ndarray:
        return self.encode(src_ids).enc

    def contrastive(self, src_ids: np.ndarray) -> np.ndarray:
        return self.model.contrastive(self._encoded(self.encode(src_ids)))


# Up to this many rows, computing them in numpy beats running the logits graph (v1 size, one
# thread, measured: 24 rows 26-40 us, 200 rows 55-105 us, the whole 8192-row graph 84-90 us),
# when the projection is large: numpy's ~25 us of call overhead is more than the whole graph
# of the built-in model (4096 x 256) takes, so below ORT_GATHER_MACS the graph always runs.
ORT_GATHER_ROWS = 128
ORT_GATHER_MACS = 1 << 21

# Bundle tensors that more than one graph reads (the embedding: encoder, decoder, logits).
SHARED_TENSORS = ("embedding/embedding", "embedding/embedding" + SCALE_SUFFIX)


class RowLogits:
    """Logits of a few vocabulary rows from the decoder's ``hidden``, in numpy, with the
    arithmetic of the logits graph's kernel, so they equal its columns (to ~1e-6).

    fp32: ``hidden @ E[rows].T`` (the graph's Gemm). int8: ``DynamicQuantizeMatMul`` quantizes
    all of ``hidden`` to uint8 with one scale and zero point, multiplies exactly in integers and
    scales by ``a_scale * w_scale``; done here the same way (the integer products are exact in
    float64). int4: ``MatMulNBits`` at accuracy level 4 quantizes each row's blocks of 32 to int8
    (scale = max |x| / 127, round half to even), multiplies each block exactly in integers and
    adds ``dot * a_scale * w_scale`` over the blocks; done here the same way.
    """

    def __init__(self, bundle: Bundle) -> None:
        key = "embedding/embedding"
        self.precision = bundle.precision
        self.table = bundle.raw(key)
        self.scale = bundle.raw(key + SCALE_SUFFIX) if bundle.precision != "fp32" else None
        self.vocab = bundle.config.vocab_size

    def __call__(self, hidden: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if self.precision == "fp32":
            return hidden @ np.asarray(self.table[rows]).T
        if self.precision == "int8":
            return self._int8(hidden, rows)
        return self._int4(hidden, rows)

    def _int8(self, hidden: np.ndarray, rows: np.ndarray) -> np.ndarray:
        x = np.asarray(hidden, dtype=np.float32)
        low = min(np.float32(0), x.min())
        high = max(np.float32(0), x.max())
        scale = np.float32(1) if high == low else np.float32((high - low) / np.float32(255))
        zero = np.rint(np.clip(np.float32(0) - low / scale, 0, 255))
        q = np.clip(np.rint(x / scale) + zero, 0, 255) - zero
        acc = q.astype(np.float64) @ self.table[rows].astype(np.float64).T
        assert self.scale is not None
        return acc.astype(np.float32) * (scale * np.asarray(self.scale[rows]))

    def _int4(self, hidden: np.ndarray, rows: np.ndarray) -> np.ndarray:
        assert self.scale is not None
        w_scale = np.asarray(self.scale[rows])  # (R, blocks)
        blocks = w_scale.shape[-1]
        x = np.zeros((hidden.shape[0], blocks * INT4_BLOCK), dtype=np.float32)
        x[:, : hidden.shape[1]] = hidden
        x = x.reshape(-1, blocks, INT4_BLOCK)
        a_scale = np.abs(x).max(-1) / np.float32(127)
        inverse = np.divide(np.float32(1), a_scale, out=np.zeros_like(a_scale), where=a_scale != 0)
        qa = np.rint(x * inverse[..., None])  # (T, blocks, 32), exact small integers
        qw = int4_codes(self.table[rows]).reshape(len(rows), blocks, INT4_BLOCK)
        dots = np.einsum("tbk,rbk->trb", qa, qw.astype(np.float32))  # exact: |dot| <= 32512
        return (dots * (a_scale[:, None, :] * w_scale[None])).sum(-1, dtype=np.float32)


def graph_name(key: str) -> str:
    """A bundle tensor's initializer name in the exported graphs (``onnx_graph.Graph.weight``)."""
    return key.replace("/", ".")


DECODER_THREADS = 1  # onnxruntime's intra-op threads for decoding steps (see OnnxRuntimeBackend)


def default_threads() -> int:
    """Intra-op threads: every core this process may use (a Home Assistant box has 2-4)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class OnnxRuntimeBackend(_Steps):
    """The exported ONNX graphs in onnxruntime: encoder once per request, decoder per token."""

    name = "onnxruntime"
    gathers_rows = True

    def __init__(
        self, bundle: Bundle, *, threads: int | None = None, decoder_threads: int | None = None
    ) -> None:
        if not bundle.has_graphs:
            raise BackendError("this bundle has no ONNX graphs; use the numpy backend")
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise BackendError("onnxruntime is not installed here; use the numpy backend") from err
        self.config = bundle.config
        # Both graphs read the embedding table from weights.bin; each session would map it on
        # its own, and both mappings count as resident. Handed to both from one memory map it
        # is resident once (-13 MB peak at fp32). The arrays must outlive the sessions.
        self._shared: list[tuple[str, np.ndarray, Any]] = []
        for key in SHARED_TENSORS:
            if key in bundle.tensors:
                array = bundle.raw(key)
                self._shared.append((key, array, ort.OrtValue.ortvalue_from_numpy(array)))

        def session_options(intra_op_threads: int) -> Any:
            options = ort.SessionOptions()
            options.intra_op_num_threads = intra_op_threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # no busy-waiting threads: Home Assistant shares its few cores with everything else
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            # Memory patterns pay off for repeated input shapes; ours change every request and
            # every decoded token. Off, peak RSS of the fp32 model drops by ~20 MB, speed the same.
            options.enable_mem_pattern = False
            for key, _, value in self._shared:
                options.add_initializer(graph_name(key), value)
            return options

        # The encoder's products are large (every source token at once): every core. A decoding
        # step's are one row each, where waking a second thread costs more than it brings (v1
        # size, int4, idle 2-core Zen 5: decode 2,017 tok/s on one thread, 1,767 on two; with
        # the other core busy the gap was larger): one thread unless told otherwise.
        options = session_options(threads or default_threads())
        step_options = session_options(decoder_threads or DECODER_THREADS)
        providers = ["CPUExecutionProvider"]
        self._encoder = ort.InferenceSession(str(bundle.encoder_onnx), options, providers=providers)
        self._decoder = ort.InferenceSession(
            str(bundle.decoder_onnx), step_options, providers=providers
        )
        c = self.config
        layers = range(c.num_decoder_layers)
        if "past_k_0" not in {i.name for i in self._decoder.get_inputs()}:
            raise BackendError(
                "this bundle's ONNX graphs come from an older export (stacked caches); "
                "re-export it with tools/export_onnx.py, or use the numpy backend"
            )
        # Exports since the logits graph end the decoder in "hidden"; older ones in "logits"
        # (their gathered rows are columns of the full logits: right, but no faster).
        self._head: Any = None
        self._rows: RowLogits | None = None
        if "hidden" in {o.name for o in self._decoder.get_outputs()}:
            if bundle.logits_onnx is None:
                raise BackendError(f"this bundle's decoder needs {LOGITS_ONNX}, which is missing")
            self._head = ort.InferenceSession(
                str(bundle.logits_onnx), step_options, providers=providers
            )
            self._rows = RowLogits(bundle)
        self.gather_in_numpy = self.config.vocab_size * self.config.d_model >= ORT_GATHER_MACS
        self._first_output = "hidden" if self._head is not None else "logits"
        self._cross_names = [f"cross_{kv}_{i}" for i in layers for kv in "kv"]
        self._past_names = [f"past_{kv}_{i}" for i in layers for kv in "kv"]
        self._present_names = [f"present_{kv}_{i}" for i in layers for kv in "kv"]
        self._encoder_outputs = ["enc", *self._cross_names, "contrastive"]
        past_rank = {len(i.shape) for i in self._decoder.get_inputs() if i.name == "past_k_0"}
        if past_rank == {4}:  # GroupQueryAttention's caches: (1, KV, P, hd) each
            empty = np.zeros((1, c.num_kv_heads, 0, c.head_dim), np.float32)
            self._empty = [empty, empty] * c.num_decoder_layers
        else:  # exports before it: keys (KV, hd, P), pre-transposed, values (KV, P, hd)
            empty_k = np.zeros((c.num_kv_heads, c.head_dim, 0), np.float32)
            empty_v = np.zeros((c.num_kv_heads, 0, c.head_dim), np.float32)
            self._empty = [empty_k, empty_v] * c.num_decoder_layers

    def _encode(self, ids: np.ndarray) -> tuple[EncoderState, np.ndarray]:
        enc, *cross, con = self._encoder.run(self._encoder_outputs, {"src_ids": ids})
        key_mask = ids != self.config.pad_token_id
        return EncoderState(ids, enc, key_mask, cross[0::2], cross[1::2]), con

    def encode(self, src_ids: np.ndarray) -> EncoderState:
        return self._encode(check_ids(src_ids, self.config, MAX_ENCODER_TOKENS, "src_ids"))[0]

    def start(self, enc: EncoderState) -> DecoderState:
        return DecoderState(encoder=enc, cache=self._empty)

    def _decode(
        self, state: DecoderState, tokens: np.ndarray, rows: np.ndarray | None = None
    ) -> np.ndarray:
        enc = state.encoder
        cross = [a for kv in zip(enc.cross_k, enc.cross_v, strict=True) for a in kv]
        feeds = {"tokens": tokens, "src_mask": enc.key_mask}
        feeds.update(zip(self._cross_names, cross, strict=True))
        feeds.update(zip(self._past_names, state.cache, strict=True))
        out, *present = self._decoder.run([self._first_output, *self._present_names], feeds)
        state.cache = present
        state.tokens.extend(int(t) for t in tokens)
        if self._head is None:  # an older export: out is the logits
            return out if rows is None else out[:, rows]
        if rows is not None and len(rows) <= ORT_GATHER_ROWS and self.gather_in_numpy:
            if not len(rows):
                return np.zeros((len(tokens), 0), dtype=np.float32)
            assert self._rows is not None
            return self._rows(out, rows)
        logits = self._head.run(["logits"], {"hidden": out})[0]
        return logits if rows is None else logits[:, rows]

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
