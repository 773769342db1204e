"""``Backend.extend`` (several tokens in one pass) gives what one ``step`` per token gives."""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.needle.engine.backends import load_backend
from custom_components.needle.engine.bundle import Bundle, read_bundle, write_bundle
from custom_components.needle.engine.checkpoint import Checkpoint
from custom_components.needle.engine.config import EOS, MAX_DECODER_TOKENS, TOOL_CALL


@pytest.fixture(scope="module")
def tiny_bundle(tiny_checkpoint: Checkpoint, tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return read_bundle(write_bundle(tiny_checkpoint, tmp_path_factory.mktemp("tiny") / "fp32"))


def _tokens(vocab: int, n: int, seed: int) -> list[int]:
    return [EOS, TOOL_CALL, *np.random.default_rng(seed).integers(6, vocab, size=n - 2).tolist()]


@pytest.mark.parametrize("name", ["numpy", "onnxruntime"])
@pytest.mark.parametrize("padded", [False, True])
def test_extend_matches_steps(tiny_bundle: Bundle, name: str, padded: bool) -> None:
    backend = load_backend(tiny_bundle, name)
    vocab = tiny_bundle.config.vocab_size
    src = np.random.default_rng(5).integers(6, vocab, size=23)
    if padded:
        src[-4:] = tiny_bundle.config.pad_token_id
    enc = backend.encode(src)
    tokens = _tokens(vocab, 40, seed=6)
    stepped_state = backend.start(enc)
    stepped = np.stack([backend.step(stepped_state, t) for t in tokens])
    # runs of several lengths, starting at 0 and mid-sequence, with single steps in between
    state, logits, i = backend.start(enc), [], 0
    for size in (2, 1, 7, 1, 1, 12, 3, 13):
        chunk = tokens[i : i + size]
        if size == 1:
            logits.append(backend.step(state, chunk[0])[None])
        else:
            out = backend.extend(state, np.asarray(chunk))
            assert out.shape == (size, vocab)
            logits.append(out)
        i += size
    assert i == len(tokens)
    np.testing.assert_allclose(np.concatenate(logits), stepped, atol=1e-4)
    assert state.tokens == stepped_state.tokens == tokens
    # and the cache it leaves behind is the same: the next step agrees too
    np.testing.assert_allclose(backend.step(state, 7), backend.step(stepped_state, 7), atol=1e-4)


@pytest.mark.parametrize("name", ["numpy", "onnxruntime"])
def test_extend_refuses_without_touching_the_state(tiny_bundle: Bundle, name: str) -> None:
    backend = load_backend(tiny_bundle, name)
    state = backend.start(backend.encode(np.array([7, 8, 9])))
    backend.extend(state, np.array([EOS, TOOL_CALL]))
    vocab = tiny_bundle.config.vocab_size
    for bad, message in (
        (np.array([7, vocab]), "outside the vocabulary"),
        (np.array([], dtype=np.int64), "non-empty"),
        (np.full(MAX_DECODER_TOKENS - 1, 7), "decoder is full"),
    ):
        with pytest.raises(ValueError, match=message):
            backend.extend(state, bad)
        assert state.length == 2
    backend.extend(state, np.full(MAX_DECODER_TOKENS - 2, 7))
    with pytest.raises(ValueError, match="decoder is full"):
        backend.step(state, 7)


def test_both_backends_offer_extend(tiny_bundle: Bundle) -> None:
    """decode.py picks ``extend`` up by name: both backends must offer it."""
    for name in ("numpy", "onnxruntime"):
        assert callable(getattr(load_backend(tiny_bundle, name), "extend", None))
