"""The engine facade the integration uses: load a bundle, answer a query with tool calls.

Importing this package stays light (numpy, no tokenizers or onnxruntime) so that training, on
another Python, can import ``encoder_input_ids``: the one rule for the encoder input, shared by
training and inference.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .bundle import BundleError
from .config import MAX_DECODER_TOKENS, MAX_ENCODER_TOKENS, MAX_QUERY_TOKENS, TOOLS
from .schema import ToolCall, ToolSchema, parse_calls, tools_json

if TYPE_CHECKING:
    from .backends import Backend
    from .bundle import Bundle
    from .tokenizer import NeedleTokenizer

__all__ = [
    "EngineError",
    "EngineLoadError",
    "Generation",
    "GenerationError",
    "NeedleEngine",
    "encoder_input_ids",
]

DEFAULT_MAX_CALLS = 8


class _Encoder(Protocol):
    def encode(self, text: str) -> list[int]: ...


def encoder_input_ids(tokenizer: _Encoder, query: str, tools_json_text: str) -> list[int]:
    """``encode(query)[:1022] + [<tools>] + encode(tools_json)``, cut to 1024 tokens (v1 rule)."""
    ids = [*tokenizer.encode(query)[:MAX_QUERY_TOKENS], TOOLS, *tokenizer.encode(tools_json_text)]
    return ids[:MAX_ENCODER_TOKENS]


class EngineError(Exception):
    """Base of everything the engine raises on purpose."""


class EngineLoadError(EngineError, BundleError):
    """The bundle's tokenizer or the backend cannot be used (raised by ``load``). A BundleError
    too, so callers that treat a bad bundle as one error (setup, the config flow) catch it."""


class GenerationError(EngineError):
    """A request could not be answered (bad input, a backend failure, or an invalid answer)."""


@dataclass(frozen=True, slots=True)
class Generation:
    """One answer: validated calls (HA tool names) and what producing them cost."""

    calls: list[ToolCall]
    text: str  # the calls JSON the decoder wrote
    tokens: list[int]  # decoder output: <tool_call>, answer tokens, EOS
    encoder_tokens: int
    model_steps: int  # decoder calls (one per token fed, or per batch with extend)
    forced_tokens: int  # tokens fed without an argmax (jump-forward and single options)
    seconds: float
    truncated: bool  # the token cap cut the answer; only the calls closed before it are kept
    argmax_steps: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # One number per call in ``calls`` (same order): the lowest probability of a token the model
    # chose freely for that call (decode.Decoded.call_confidence). Empty when unconstrained.
    confidence: tuple[float, ...] = ()
    stop_confidence: float = 1.0  # of the choice to stop after the last call (or to make none)
    # Per call: the lowest free-token probability per argument key, "" for the rest of the call
    # (decode.Decoded.argument_confidence); the minimum over a call's entries is its confidence.
    argument_confidence: tuple[dict[str, float], ...] = ()


class NeedleEngine:
    """A loaded bundle: tokenizer, backend, and the decoding loop. Thread-safe: every request
    keeps its state in its own objects; the backend and tokenizer only read."""

    def __init__(self, bundle: Bundle, tokenizer: NeedleTokenizer, backend: Backend) -> None:
        self.bundle = bundle
        self.tokenizer = tokenizer
        self.backend = backend
        self._closed = threading.Event()

    @classmethod
    def load(cls, bundle_dir: str | Path, backend: str = "auto") -> NeedleEngine:
        """Read, verify and load a bundle (blocking: run it in an executor).

        Raises BundleError (a damaged or foreign folder), EngineLoadError (tokenizer or
        backend unusable), MemoryError.
        """
        from .backends import BackendError, load_backend
        from .bundle import read_bundle
        from .tokenizer import NeedleTokenizer, TokenizerError

        bundle = read_bundle(bundle_dir)
        if bundle.tokenizer_path is None:
            raise EngineLoadError(f"{bundle_dir} has no tokenizer.json")
        try:
            tokenizer = NeedleTokenizer.from_file(bundle.tokenizer_path)
        except TokenizerError as err:
            raise EngineLoadError(str(err)) from err
        if tokenizer.vocab_size > bundle.config.vocab_size:
            raise EngineLoadError(
                f"the tokenizer has {tokenizer.vocab_size} tokens, the model "
                f"{bundle.config.vocab_size}"
            )
        try:
            loaded = load_backend(bundle, backend)
        except BackendError as err:
            raise EngineLoadError(str(err)) from err
        engine = cls(bundle, tokenizer, loaded)
        engine.warm_up()
        return engine

    def warm_up(self) -> None:
        """Build the per-tokenizer tables now rather than in the first request."""
        from .decode import ToolCallConstraint
        from .tokenizer import TokenizerError

        try:
            ToolCallConstraint((), self.tokenizer)
        except TokenizerError as err:
            raise EngineLoadError(str(err)) from err

    def close(self) -> None:
        self._closed.set()

    @property
    def prompt_limits(self) -> dict[str, int]:
        """``max_encoder_tokens`` / ``max_entities`` the model was trained with, where the
        bundle says (``needle.json`` "prompt"); the prompt builder should stay within them."""
        return self.bundle.prompt

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count_tokens(text)

    def encode_input(self, query: str, tools: Sequence[ToolSchema]) -> list[int]:
        return encoder_input_ids(self.tokenizer, query, tools_json(tuple(tools)))

    def generate(
        self,
        query: str,
        tools: Sequence[ToolSchema],
        *,
        max_calls: int = DEFAULT_MAX_CALLS,
        constrained: bool = True,
        max_tokens: int = MAX_DECODER_TOKENS - 3,
        grounding: str | None = None,
        decode_tools: Sequence[ToolSchema] | None = None,
    ) -> Generation:
        """Answer ``query`` with calls of ``tools`` (blocking). Constrained decoding always
        yields valid calls (``[]`` when the model makes none); unconstrained output that does
        not parse raises GenerationError. ``grounding`` (the user's own sentence) limits
        free-text arguments to runs of its words (``decode.sentence_spans``).
        ``decode_tools``: what the decoder may write, when that is less than the prompt shows
        (the same tools with fewer enum values or parameters); the model still reads
        ``tools``, so its prompt is the one it was trained on."""
        import numpy as np

        from .decode import ToolCallConstraint, constrained_generate, unconstrained_generate

        if self._closed.is_set():
            raise GenerationError("the engine was closed")
        if not isinstance(query, str):
            raise GenerationError("the query must be text")
        tools = tuple(tools)
        started = time.perf_counter()
        src = self.encode_input(query, tools)
        try:
            enc = self.backend.encode(np.asarray(src, dtype=np.int64))
            if constrained:
                constraint = ToolCallConstraint(
                    tools if decode_tools is None else tuple(decode_tools),
                    self.tokenizer,
                    max_calls=max_calls,
                    grounding=grounding,
                )
                out = constrained_generate(self.backend, enc, constraint, max_tokens=max_tokens)
            else:
                out = unconstrained_generate(self.backend, enc, self.tokenizer, max_tokens)
        except (ValueError, RuntimeError) as err:
            raise GenerationError(f"decoding failed: {err}") from err
        try:
            calls = parse_calls(out.text, tools)
        except ValueError as err:
            raise GenerationError(f"the model's answer is not valid calls: {err}") from err
        return Generation(
            calls=calls,
            text=out.text,
            tokens=out.tokens,
            encoder_tokens=len(src),
            model_steps=out.model_steps,
            forced_tokens=out.forced_tokens,
            seconds=time.perf_counter() - started,
            truncated=out.truncated,
            argmax_steps=out.argmax_steps,
            confidence=tuple(out.call_confidence[: len(calls)]),
            stop_confidence=out.stop_confidence,
            argument_confidence=tuple(out.argument_confidence[: len(calls)]),
        )

    def info(self) -> dict[str, Any]:
        """Backend, precision, config and provenance, for diagnostics (no paths, no text)."""
        return {
            **self.bundle.info(),
            "backend": self.backend.name,
            "tokenizer_vocab_size": self.tokenizer.vocab_size,
        }
