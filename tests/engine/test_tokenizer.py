"""The converted tokenizer encodes and decodes exactly like SentencePiece.

Two real models: one trained here the way training trains ours (BPE, byte fallback, identity
normalisation, v1 special ids), and the independently trained cactus-needle 2.0.0 tokenizer
(tests/data/cactus-needle). Strings come from a seeded generator that mixes what Home Assistant
sends (commands, entity names, tools JSON) with what breaks tokenizers (unicode of every width,
emoji sequences, whitespace runs, tabs and newlines, the user-defined symbols themselves).
"""

from __future__ import annotations

import io
import json
import random
import zlib
from pathlib import Path

import pytest

from custom_components.needle.engine.config import BOS, EOS, PAD, TOOL_CALL, TOOLS, UNK
from custom_components.needle.engine.schema import ToolParam, ToolSchema, tools_json
from custom_components.needle.engine.tokenizer import (
    NeedleTokenizer,
    SentencePieceModel,
    TokenizerError,
    convert_sentencepiece,
)

spm = pytest.importorskip("sentencepiece")

CACTUS = Path(__file__).parents[1] / "data" / "cactus-needle" / "tokenizer.model"

WORDS = tuple(
    [
        "turn",
        "on",
        "off",
        "the",
        "kitchen",
        "living",
        "room",
        "bedroom",
        "light",
        "lamp",
        "lights",
        "set",
        "brightness",
        "to",
        "percent",
        "open",
        "close",
        "blinds",
        "garage",
        "door",
        "lock",
        "unlock",
        "thermostat",
        "temperature",
        "degrees",
        "timer",
        "minutes",
        "what",
        "is",
        "weather",
        "play",
        "pause",
        "music",
        "volume",
        "add",
        "milk",
        "shopping",
        "list",
        "start",
        "cancel",
        "all",
        "in",
        "on",
        "Küche",
        "Wohnzimmer",
        "Schlafzimmer",
        "allume",
        "éteins",
        "la",
        "lumière",
        "du",
        "salon",
    ]
)
UNICODE = (
    "éüßñçøåÆœ",
    "中文日本語한국어",
    "😀🎉👍🏽👨‍👩‍👧‍👦🇩🇪",
    "€£¥—…«»“”",
    "Привет мир",
    "مرحبا",
    "שלום",
    "ह्",
    "e\u0301a\u0308",
    "\u00a0\u3000\u2009\u200b",
    "\ufeff\U0001f9ea\U00010348",
)
ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789{}[]\":,._-'/\\!?%#@&*()<>=+"


def _tools_text(rng: random.Random) -> str:
    tools = [
        ToolSchema(
            rng.choice(["HassTurnOn", "HassLightSet", "HassListAddItem", "HassStartTimer"]),
            "Turns on a device",
            tuple(
                ToolParam(
                    rng.choice(["name", "area", "brightness", "domain", "item"]),
                    rng.choice(["string", "integer", "array"]),
                    enum=tuple(rng.sample(WORDS, 3)) if rng.random() < 0.5 else None,
                    required=rng.random() < 0.5,
                )
                for _ in range(rng.randint(0, 3))
            ),
        )
        for _ in range(rng.randint(1, 2))
    ]
    return tools_json(tools)


def _piece(rng: random.Random, symbols: list[str]) -> str:
    kind = rng.random()
    if kind < 0.35:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
    if kind < 0.45:
        return str(
            rng.choice([rng.randint(0, 100), rng.randint(-(10**6), 10**9), rng.random() * 50])
        )
    if kind < 0.55:
        return _tools_text(rng)
    if kind < 0.7:
        text = rng.choice(UNICODE)
        return "".join(rng.sample(text, rng.randint(1, len(text))))
    if kind < 0.8:
        return rng.choice([" ", "  ", "   ", "\t", "\n", "\r\n", " \t ", "\n\n", "\u00a0"])
    if kind < 0.85 and symbols:
        return rng.choice(symbols)
    if kind < 0.9:
        return chr(
            rng.choice(
                [
                    rng.randint(0x20, 0x7E),
                    rng.randint(0xA0, 0xD7FF),
                    rng.randint(0xE000, 0xFFFD),
                    rng.randint(0x10000, 0x10FFFF),
                ]
            )
        )
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))


def varied_strings(n: int, seed: int, symbols: list[str]) -> list[str]:
    rng = random.Random(seed)
    out = ["", " ", "  ", "\n", "a", " a", "a ", "  a  b  ", *symbols, *(f" {s} " for s in symbols)]
    while len(out) < n:
        text = "".join(_piece(rng, symbols) for _ in range(rng.randint(1, 6)))
        if rng.random() < 0.2:
            text = rng.choice([" ", "  ", "\t"]) + text
        if rng.random() < 0.2:
            text += rng.choice([" ", "  ", "\n"])
        out.append(text)
    return out[:n]


def train_corpus(seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(1500):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))))
        lines.append(_tools_text(rng))
        lines.append(
            f'[{{"name":"hass_turn_on","arguments":{{"brightness":{rng.randint(0, 100)}}}}}]'
        )
    lines += list(UNICODE) * 3
    return lines


def train_model(**options: object) -> bytes:
    """A SentencePiece BPE model trained like training/train_tokenizer.py trains ours."""
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(train_corpus()),
        model_writer=out,
        **{
            "model_type": "bpe",
            "vocab_size": 1000,
            "byte_fallback": True,
            "normalization_rule_name": "identity",
            "pad_id": PAD,
            "eos_id": EOS,
            "bos_id": BOS,
            "unk_id": UNK,
            "user_defined_symbols": ["<tool_call>", "<tools>"],
            "character_coverage": 1.0,
            "split_digits": True,
            "num_threads": 1,
            "minloglevel": 2,
            **options,
        },
    )
    return out.getvalue()


@pytest.fixture(scope="module")
def trained_model() -> bytes:
    return train_model()


@pytest.fixture(scope="module", params=["trained", "cactus"])
def models(request: pytest.FixtureRequest, trained_model: bytes) -> tuple[bytes, str]:
    data = trained_model if request.param == "trained" else CACTUS.read_bytes()
    return data, request.param


def processor(data: bytes) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_proto=data)


def user_symbols(sp: spm.SentencePieceProcessor) -> list[str]:
    return ["<s>", "</s>", "<pad>", "<unk>"] + [
        sp.id_to_piece(i)
        for i in range(sp.get_piece_size())
        if sp.is_unused(i) is False
        and sp.id_to_piece(i).startswith("<")
        and sp.id_to_piece(i).endswith(">")
        and not sp.is_control(i)
        and not sp.is_unknown(i)
        and not sp.is_byte(i)
    ]


def test_parity_encode_decode(models: tuple[bytes, str]) -> None:
    data, name = models
    sp = processor(data)
    tok = NeedleTokenizer.from_str(convert_sentencepiece(data))
    assert tok.vocab_size == sp.get_piece_size()
    # a fixed seed per model (hash() of a str changes with every process)
    strings = varied_strings(10_000, seed=zlib.crc32(name.encode()) % 1000, symbols=user_symbols(sp))
    expected = sp.encode(strings)
    got = [tok.encode(s) for s in strings]
    enc_bad = [(s, a, b) for s, a, b in zip(strings, expected, got, strict=True) if a != b]
    assert not enc_bad, f"{len(enc_bad)} encode mismatches, first: {enc_bad[:3]}"
    dec_bad = [
        (ids, sp.decode(ids), tok.decode(ids, skip_special=False))
        for ids in expected
        if sp.decode(ids) != tok.decode(ids, skip_special=False)
    ]
    assert not dec_bad, f"{len(dec_bad)} decode mismatches, first: {dec_bad[:3]}"


def test_parity_decode_random_ids(models: tuple[bytes, str]) -> None:
    """Any id sequence, bytes in any order (invalid UTF-8), control and unknown ids included."""
    data, _ = models
    sp = processor(data)
    tok = NeedleTokenizer.from_str(convert_sentencepiece(data))
    rng = random.Random(3)
    size = sp.get_piece_size()
    bytes_ids = [i for i in range(size) if sp.is_byte(i)]
    for _ in range(3000):
        ids = [
            rng.choice(bytes_ids) if rng.random() < 0.3 else rng.randrange(size)
            for _ in range(rng.randint(0, 12))
        ]
        assert tok.decode(ids, skip_special=False) == sp.decode(ids), ids


def test_decode_skips_special_ids(trained_model: bytes) -> None:
    sp = processor(trained_model)
    tok = NeedleTokenizer.from_str(convert_sentencepiece(trained_model))
    ids = sp.encode("turn on the light")
    assert tok.decode([EOS, TOOL_CALL, *ids, TOOLS, UNK, EOS, PAD]) == "turn on the light"


def test_token_bytes_rebuild_the_escaped_text(models: tuple[bytes, str]) -> None:
    """What constrained decoding relies on: the per-token bytes of an encoding are the dummy
    prefix plus the text (whitespace as SentencePiece normalises it)."""
    data, _ = models
    sp = processor(data)
    tok = NeedleTokenizer.from_str(convert_sentencepiece(data))
    assert tok.prefix == b" "
    for text in ('[{"name":"hass_turn_on","arguments":{"name":"Küche Licht 😀"}}]', "a b\tc\n"):
        ids = tok.encode(text)
        assert tok.text_bytes(ids) == b" " + text.encode()
        assert tok.decode(ids) == sp.decode(ids) == text
    assert all(tok.token_bytes[i] is None for i in (PAD, EOS, BOS, UNK, TOOL_CALL, TOOLS))
    assert tok.token_bytes[sp.piece_to_id("<0x41>")] == b"A"


def test_byte_level_tokenizer_has_no_prefix() -> None:
    from tests.conftest import tiny_tokenizer_json

    tok = NeedleTokenizer.from_str(tiny_tokenizer_json(300))
    assert tok.prefix == b""
    text = '[{"name":"hass_turn_on","arguments":{"name":"Küche"}}]'
    assert tok.text_bytes(tok.encode(text)) == text.encode()
    assert tok.decode(tok.encode(text)) == text


def test_whitespace_flags_are_read(trained_model: bytes) -> None:
    ours = SentencePieceModel.parse(trained_model)
    assert (ours.model_type, ours.byte_fallback, ours.normalizer_name) == ("bpe", True, "identity")
    assert ours.add_dummy_prefix and ours.remove_extra_whitespaces
    assert (ours.pad_id, ours.eos_id, ours.bos_id, ours.unk_id) == (PAD, EOS, BOS, UNK)
    cactus = SentencePieceModel.parse(CACTUS.read_bytes())
    assert cactus.add_dummy_prefix and not cactus.remove_extra_whitespaces
    assert len(cactus.pieces) == 8192


def test_nfkc_model_uses_its_charsmap() -> None:
    """A model with a precompiled normaliser (SentencePiece's default nmt_nfkc) keeps it."""
    data = train_model(normalization_rule_name="nmt_nfkc", vocab_size=600)
    sp = processor(data)
    tok = NeedleTokenizer.from_str(convert_sentencepiece(data))
    assert "Precompiled" in json.dumps(json.loads(tok.to_str())["normalizer"])
    strings = varied_strings(1500, seed=9, symbols=["<tool_call>", "<tools>"])
    bad = [s for s in strings if sp.encode(s) != tok.encode(s)]
    assert len(bad) <= len(strings) // 100, bad[:5]  # tokenizers' charsmap port: rare offsets


def test_refuses_non_bpe_and_garbage() -> None:
    unigram = train_model(model_type="unigram", vocab_size=400)
    with pytest.raises(TokenizerError, match="only SentencePiece BPE"):
        convert_sentencepiece(unigram)
    with pytest.raises(TokenizerError):
        convert_sentencepiece(b"")
    with pytest.raises(TokenizerError):
        convert_sentencepiece(b"\x0a\xff\xff\xff")
    with pytest.raises(TokenizerError):
        convert_sentencepiece(CACTUS.read_bytes()[:5000])
    with pytest.raises(TokenizerError):
        NeedleTokenizer.from_str("{not json")


def test_bundled_json_round_trips(tmp_path: Path, trained_model: bytes) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text(convert_sentencepiece(trained_model), encoding="utf-8")
    tok = NeedleTokenizer.from_file(path)
    assert tok.count_tokens("turn on the kitchen light") == len(
        tok.encode("turn on the kitchen light")
    )
    with pytest.raises(TokenizerError):
        NeedleTokenizer.from_file(tmp_path / "missing.json")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [101, 202])
def test_parity_big_sweep(models: tuple[bytes, str], seed: int) -> None:
    """100,000 more strings per model (run with -m slow)."""
    data, _ = models
    sp = processor(data)
    tok = NeedleTokenizer.from_str(convert_sentencepiece(data))
    strings = varied_strings(100_000, seed=seed, symbols=user_symbols(sp))
    for text, expected in zip(strings, sp.encode(strings), strict=True):
        assert tok.encode(text) == expected, text
        assert tok.decode(expected, skip_special=False) == sp.decode(expected), text


@pytest.mark.parametrize("text", ["lamp▁", "lamp ▁▁", "▁", " ▁ ", "▁lamp", "lamp▁▁x", "▁ a ▁"])
def test_a_literal_space_symbol_at_the_ends(trained_model: bytes, text: str) -> None:
    """SentencePiece strips a literal "▁" at the end of a text (after escaping spaces), not at
    the start: the converted tokenizer does the same."""
    sp = processor(trained_model)
    tok = NeedleTokenizer.from_str(convert_sentencepiece(trained_model))
    assert tok.encode(text) == sp.encode(text)
