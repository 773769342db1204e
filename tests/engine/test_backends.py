"""numpy and onnxruntime give the same numbers, keep state per request, and refuse bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from custom_components.needle.engine.backends import load_backend
from custom_components.needle.engine.bundle import read_bundle
from custom_components.needle.engine.config import EOS, MAX_DECODER_TOKENS, MAX_ENCODER_TOKENS


def _src(rng: np.random.Generator, length: int, pad: int = 0) -> np.ndarray:
    ids = rng.integers(6, 300, size=length)
    ids[min(3, length - 1)] = 5
    return np.concatenate([ids, np.zeros(pad, dtype=ids.dtype)])


def _greedy(backend, src: np.ndarray, steps: int) -> tuple[list[int], np.ndarray]:
    state, token, tokens, logits = backend.start(backend.encode(src)), EOS, [], []
    for _ in range(steps):
        out = backend.step(state, token)
        logits.append(out)
        token = int(np.argmax(out))
        tokens.append(token)
    return tokens, np.stack(logits)


@pytest.mark.parametrize("precision", ["fp32", "int8", "int4"])
def test_numpy_and_onnxruntime_agree(random_bundles, precision: str) -> None:
    bundle = read_bundle(random_bundles[precision])
    numpy_backend = load_backend(bundle, "numpy")
    ort_backend = load_backend(bundle, "onnxruntime")
    assert load_backend(bundle).name == "onnxruntime"  # auto prefers onnxruntime
    rng = np.random.default_rng(1)
    agree = total = 0
    for length, pad in ((5, 0), (40, 7), (200, 0)):
        src = _src(rng, length, pad)
        tgt = np.concatenate([[1, 4], rng.integers(6, 300, size=30)])
        a, b = numpy_backend, ort_backend
        tol = 1e-3 if precision == "fp32" else 0.1  # int8/4: activations quantized only in ORT
        np.testing.assert_allclose(a.encoder_output(src), b.encoder_output(src), atol=tol)
        np.testing.assert_allclose(a.contrastive(src), b.contrastive(src), atol=tol)
        np.testing.assert_allclose(a.teacher_forced(src, tgt), b.teacher_forced(src, tgt), atol=tol)
        tokens_a, logits_a = _greedy(a, src, 40)
        tokens_b, logits_b = _greedy(b, src, 40)
        if precision == "fp32":
            assert tokens_a == tokens_b
            np.testing.assert_allclose(logits_a, logits_b, atol=1e-3)
        agree += sum(x == y for x, y in zip(tokens_a, tokens_b, strict=True))
        total += len(tokens_a)
    assert agree / total >= 0.75, (agree, total)


def test_step_matches_teacher_forced(random_bundles) -> None:
    bundle = read_bundle(random_bundles["fp32"])
    rng = np.random.default_rng(2)
    src, tgt = _src(rng, 30, 3), np.concatenate([[1, 4], rng.integers(6, 300, size=20)])
    for name in ("numpy", "onnxruntime"):
        backend = load_backend(bundle, name)
        forced = backend.teacher_forced(src, tgt)
        state = backend.start(backend.encode(src))
        stepped = np.stack([backend.step(state, int(t)) for t in tgt])
        np.testing.assert_allclose(forced, stepped, atol=1e-4)
        assert state.length == len(tgt)


@pytest.mark.parametrize("precision", ["fp32", "int4"])
@pytest.mark.parametrize("name", ["numpy", "onnxruntime"])
def test_requests_in_threads_do_not_mix(random_bundles, name: str, precision: str) -> None:
    backend = load_backend(read_bundle(random_bundles[precision]), name)
    rng = np.random.default_rng(3)
    sources = [_src(rng, n) for n in (8, 50, 120, 17, 64, 33)]
    alone = [_greedy(backend, s, 25)[0] for s in sources]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda s: _greedy(backend, s, 25)[0], sources))
    assert together == alone


@pytest.mark.parametrize("name", ["numpy", "onnxruntime"])
def test_decoder_is_capped(random_bundles, name: str) -> None:
    backend = load_backend(read_bundle(random_bundles["fp32"]), name)
    state = backend.start(backend.encode(np.array([7, 8, 9])))
    for _ in range(MAX_DECODER_TOKENS):
        backend.step(state, 7)
    with pytest.raises(ValueError, match="decoder is full"):
        backend.step(state, 7)
    with pytest.raises(ValueError, match="at most 512"):
        backend.teacher_forced(np.array([7]), np.ones(MAX_DECODER_TOKENS + 1, dtype=np.int64))


@pytest.mark.parametrize("name", ["numpy", "onnxruntime"])
@pytest.mark.parametrize(
    ("src", "message"),
    [
        (np.zeros((2, 3), dtype=np.int64), "1-D"),
        (np.array([], dtype=np.int64), "non-empty"),
        (np.array([1.5, 2.0]), "integer"),
        (np.array([1, 300]), "outside the vocabulary"),
        (np.array([-1, 2]), "outside the vocabulary"),
        (np.ones(MAX_ENCODER_TOKENS + 1, dtype=np.int64), "at most 1024"),
    ],
)
def test_bad_input_refused(random_bundles, name: str, src: np.ndarray, message: str) -> None:
    backend = load_backend(read_bundle(random_bundles["fp32"]), name)
    with pytest.raises(ValueError, match=message):
        backend.encode(src)
    state = backend.start(backend.encode(np.array([7, 8])))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        backend.step(state, 300)
    assert state.length == 0


def test_full_encoder_window(random_bundles) -> None:
    bundle = read_bundle(random_bundles["fp32"])
    src = _src(np.random.default_rng(4), MAX_ENCODER_TOKENS)
    a, b = load_backend(bundle, "numpy"), load_backend(bundle, "onnxruntime")
    np.testing.assert_allclose(a.encoder_output(src), b.encoder_output(src), atol=1e-3)
