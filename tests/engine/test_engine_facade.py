"""NeedleEngine: loading bundles, answering with valid calls, threads, errors."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from custom_components.needle.engine import (
    EngineError,
    EngineLoadError,
    Generation,
    GenerationError,
    NeedleEngine,
    encoder_input_ids,
)
from custom_components.needle.engine.backends import onnxruntime_available
from custom_components.needle.engine.bundle import BundleError, write_bundle
from custom_components.needle.engine.config import EOS, TOOL_CALL, TOOLS
from custom_components.needle.engine.schema import ToolParam, ToolSchema, tools_json
from custom_components.needle.engine.tokenizer import NeedleTokenizer, convert_sentencepiece

from .conftest import random_checkpoint
from .test_decode import check_calls, ha_tools
from .test_tokenizer import train_model

pytest.importorskip("sentencepiece")

QUERIES = ["turn on the kitchen light", "dim the bedroom lamp to 20", "add oat milk", "hello"]


@pytest.fixture(scope="module")
def tokenizer_json() -> str:
    return convert_sentencepiece(train_model())


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer_json: str) -> Path:
    vocab = NeedleTokenizer.from_str(tokenizer_json).vocab_size
    ckpt = random_checkpoint(seed=11, vocab_size=vocab)
    return write_bundle(
        ckpt,
        tmp_path_factory.mktemp("facade") / "bundle",
        tokenizer_json=tokenizer_json,
        provenance={"test": "random weights"},
    )


@pytest.fixture(scope="module")
def engine(bundle_dir: Path) -> NeedleEngine:
    return NeedleEngine.load(bundle_dir, backend="numpy")


def test_generate_returns_valid_calls(engine: NeedleEngine) -> None:
    tools = ha_tools()
    for query in QUERIES:
        gen = engine.generate(query, tools, max_calls=3)
        assert isinstance(gen, Generation)
        check_calls(gen.calls, tools, 3)
        assert gen.tokens[0] == TOOL_CALL and gen.tokens[-1] == EOS
        assert gen.encoder_tokens == len(engine.encode_input(query, tools))
        # one backend call per token fed, except that forced runs go in one ``extend`` call
        assert 0 < gen.model_steps <= len(gen.tokens) - 1
        assert gen.forced_tokens + gen.argmax_steps == len(gen.tokens) - 1
        assert gen.seconds > 0 and not gen.truncated
        json.loads(gen.text)


def test_decode_tools_narrow_what_is_written_not_what_is_read(engine: NeedleEngine) -> None:
    """``decode_tools`` (fewer enum values) bound the answer; the encoder still reads ``tools``."""
    from dataclasses import replace

    tools = ha_tools()
    narrowed = []
    for t in tools:
        names = t.param("name")
        keep = (names.enum[-1],) if names is not None and names.enum else None
        params = tuple(replace(p, enum=keep) if p is names else p for p in t.params)
        narrowed.append(replace(t, params=params))
    for query in QUERIES:
        gen = engine.generate(query, tools, max_calls=3, decode_tools=narrowed)
        check_calls(gen.calls, narrowed, 3)
        assert gen.encoder_tokens == len(engine.encode_input(query, tools))


def test_encoder_input_rule(engine: NeedleEngine) -> None:
    tok = engine.tokenizer
    tools = ha_tools()
    ids = engine.encode_input("turn on the light", tools)
    assert ids == [*tok.encode("turn on the light"), TOOLS, *tok.encode(tools_json(tools))][:1024]
    long_query = "turn on the kitchen light " * 400
    ids = encoder_input_ids(tok, long_query, tools_json(tools))
    assert len(ids) == 1024
    assert ids[:1022] == tok.encode(long_query)[:1022] and ids[1022] == TOOLS
    assert ids[1023] == tok.encode(tools_json(tools))[0]
    assert engine.count_tokens("turn on the light") == len(tok.encode("turn on the light"))


def test_threads_give_the_same_answers(engine: NeedleEngine) -> None:
    tools = ha_tools()
    sequential = [engine.generate(q, tools).text for q in QUERIES * 2]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda q: engine.generate(q, tools).text, QUERIES * 2))
    assert parallel == sequential


def test_unconstrained_generation(engine: NeedleEngine) -> None:
    """Random weights rarely write valid JSON: then a GenerationError, never half a call."""
    tools = ha_tools()
    try:
        gen = engine.generate("turn on the kitchen light", tools, constrained=False, max_tokens=20)
    except GenerationError as err:
        assert "not valid calls" in str(err)
    else:
        check_calls(gen.calls, tools, 99)


def test_info(engine: NeedleEngine, bundle_dir: Path) -> None:
    info = engine.info()
    assert info["backend"] == "numpy"
    assert info["precision"] == "fp32"
    assert info["model"]["vocab_size"] == engine.tokenizer.vocab_size
    assert info["provenance"]["test"] == "random weights"
    assert str(bundle_dir) not in json.dumps(info)


def test_closed_engine_refuses(bundle_dir: Path) -> None:
    engine = NeedleEngine.load(bundle_dir, backend="numpy")
    engine.close()
    with pytest.raises(GenerationError):
        engine.generate("turn on the light", ha_tools())


def test_load_errors(tmp_path: Path, bundle_dir: Path, tokenizer_json: str) -> None:
    no_tokenizer = tmp_path / "no-tokenizer"
    write_bundle(random_checkpoint(seed=1, vocab_size=1000), no_tokenizer)
    with pytest.raises(EngineLoadError, match="no tokenizer"):
        NeedleEngine.load(no_tokenizer)
    small_model = tmp_path / "small-model"
    write_bundle(
        random_checkpoint(seed=1, vocab_size=500), small_model, tokenizer_json=tokenizer_json
    )
    with pytest.raises(EngineLoadError, match="tokenizer has 1000 tokens") as info:
        NeedleEngine.load(small_model)
    assert isinstance(info.value, BundleError) and isinstance(info.value, EngineError)
    with pytest.raises(EngineLoadError, match="unknown backend"):
        NeedleEngine.load(bundle_dir, backend="tpu")
    with pytest.raises(BundleError):
        NeedleEngine.load(tmp_path / "missing")
    broken = tmp_path / "broken"
    shutil.copytree(bundle_dir, broken)
    (broken / "tokenizer.json").write_text("{", encoding="utf-8")
    with pytest.raises(BundleError):  # the checksum or the tokenizer parser refuses it
        NeedleEngine.load(broken)


def test_tiny_reference_bundle_with_byte_level_tokenizer(tiny_bundle: Path) -> None:
    engine = NeedleEngine.load(tiny_bundle)
    tools = (ToolSchema("HassTurnOn", "", (ToolParam("name", enum=("Desk Lamp",)),)),)
    gen = engine.generate("turn on the desk lamp", tools)
    check_calls(gen.calls, tools, 8)
    assert engine.info()["model"]["vocab_size"] == 512


@pytest.mark.skipif(not onnxruntime_available(), reason="onnxruntime is not installed")
def test_onnxruntime_and_numpy_answer_alike(bundle_dir: Path) -> None:
    ort_engine = NeedleEngine.load(bundle_dir, backend="onnxruntime")
    np_engine = NeedleEngine.load(bundle_dir, backend="numpy")
    assert ort_engine.info()["backend"] == "onnxruntime"
    tools = ha_tools()
    for query in QUERIES:
        assert ort_engine.generate(query, tools).text == np_engine.generate(query, tools).text
