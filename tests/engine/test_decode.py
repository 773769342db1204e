"""Greedy decoding and the tool-call constraint.

The constraint is checked three ways: an oracle backend that wants one exact answer (the output
must be that answer, token for token, with the forced parts costing no argmax); a backend with
seeded random logits (a random walk through the grammar); and the real numpy backend with random
weights. Every output must parse with ``parse_calls`` and satisfy the tools' schemas.
"""

from __future__ import annotations

import json
import math
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from custom_components.needle.engine import encoder_input_ids
from custom_components.needle.engine.backends import NumpyBackend
from custom_components.needle.engine.config import EOS, MAX_DECODER_TOKENS, TOOL_CALL
from custom_components.needle.engine.decode import (
    MAX_STRING_BYTES,
    ToolCallConstraint,
    constrained_generate,
    generate,
    greedy,
)
from custom_components.needle.engine.schema import (
    ToolCall,
    ToolParam,
    ToolSchema,
    calls_json,
    parse_calls,
    tools_json,
)
from custom_components.needle.engine.tokenizer import NeedleTokenizer, convert_sentencepiece

from .conftest import random_checkpoint, reference
from .test_tokenizer import train_model

pytest.importorskip("sentencepiece")


@pytest.fixture(scope="module")
def tok() -> NeedleTokenizer:
    return NeedleTokenizer.from_str(convert_sentencepiece(train_model()))


# --- fake backends that follow the Backend interface ----------------------------------------


@dataclass
class _State:
    tokens: list[int] = field(default_factory=list)


class OracleBackend:
    """Wants exactly ``target`` (the decoder sequence after the start EOS); counts calls."""

    name = "oracle"

    def __init__(self, target: Sequence[int], vocab: int) -> None:
        self.target, self.vocab, self.steps = list(target), vocab, 0

    def encode(self, src_ids: np.ndarray) -> object:
        return object()

    def start(self, enc: object) -> _State:
        return _State()

    def step(self, state: _State, token: int) -> np.ndarray:
        self.steps += 1
        state.tokens.append(int(token))
        logits = np.zeros(self.vocab, dtype=np.float32)
        pos = len(state.tokens) - 1
        if pos < len(self.target):
            logits[self.target[pos]] = 10.0
        return logits


class RandomBackend(OracleBackend):
    """Seeded random logits: a random walk through whatever the constraint allows."""

    def __init__(self, vocab: int, seed: int) -> None:
        super().__init__([], vocab)
        self.rng = np.random.default_rng(seed)

    def step(self, state: _State, token: int) -> np.ndarray:
        self.steps += 1
        state.tokens.append(int(token))
        return self.rng.standard_normal(self.vocab).astype(np.float32)


# --- schema checks --------------------------------------------------------------------------


def check_calls(calls: list[ToolCall], tools: Sequence[ToolSchema], max_calls: int) -> None:
    assert len(calls) <= max_calls
    by_name = {t.name: t for t in tools}
    for call in calls:
        tool = by_name[call.name]
        names = [p.name for p in tool.params]
        assert set(call.arguments) <= set(names), call
        for p in tool.params:
            if p.required:
                assert p.name in call.arguments, (call, p.name)
            if p.name not in call.arguments:
                continue
            value = call.arguments[p.name]
            if p.type == "boolean":
                assert isinstance(value, bool)
            elif p.type in ("integer", "number"):
                assert isinstance(value, int if p.type == "integer" else int | float)
                assert not isinstance(value, bool)
                assert (p.minimum is None or value >= p.minimum) and (
                    p.maximum is None or value <= p.maximum
                ), (value, p)
            elif p.type == "array":
                assert isinstance(value, list) and all(isinstance(v, str) for v in value)
                if p.enum is not None:
                    assert set(value) <= set(p.enum)
            else:
                assert isinstance(value, str)
                if p.enum is not None:
                    assert value in p.enum, (value, p.enum)
                else:
                    assert len(value.encode()) <= MAX_STRING_BYTES


ODD = ['Kü"che', "a\\b", "tab\there", "日本語", "😀 lamp", "Ζ", "x\ny", "  two  spaces ", ""]


def random_tools(rng: random.Random) -> tuple[ToolSchema, ...]:
    def word() -> str:
        return "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 8)))

    def value() -> str:
        return rng.choice([word(), f"{word()} {word()}", rng.choice(ODD)])

    tools = []
    for _ in range(rng.randint(0, 4)):
        params = []
        for pname in dict.fromkeys(word().lower() for _ in range(rng.randint(0, 4))):
            kind = rng.choice(["string", "string", "integer", "number", "boolean", "array", "x"])
            enum = None
            if kind in ("string", "array") and rng.random() < 0.7:
                enum = tuple(dict.fromkeys(value() for _ in range(rng.randint(0, 4))))
            lo = hi = None
            if kind in ("integer", "number") and rng.random() < 0.6:
                lo = rng.choice([0, -5, 10, 0.5])
                hi = lo + rng.choice([0, 1, 7, 100, 1000])
            params.append(ToolParam(pname, kind, "", rng.random() < 0.4, enum, lo, hi))
        tools.append(ToolSchema(f"Hass{word().capitalize()}{word()}", "desc", tuple(params)))
    return tuple(tools)


def satisfiable(tool: ToolSchema) -> bool:
    return not any(p.required and p.enum == () and p.type != "array" for p in tool.params)


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [0, 1, 2])
def test_greedy_matches_reference(tiny_checkpoint: Any, case: int) -> None:
    expected = reference("tiny")
    backend = NumpyBackend(tiny_checkpoint.config, tiny_checkpoint.params)
    out = greedy(backend, expected[f"case{case}_src"], 12, stop_at_eos=False)
    assert out == expected[f"case{case}_greedy"].tolist()


TYPICAL = [
    ([ToolCall("HassTurnOn", {"name": "Kitchen Light"})], "turn on the kitchen light"),
    ([ToolCall("HassTurnOff", {"area": "Bedroom", "domain": ["light"]})], "bedroom lights off"),
    ([ToolCall("HassLightSet", {"name": "Kitchen Light", "brightness": 40})], "kitchen to 40"),
    (
        [
            ToolCall("HassTurnOn", {"name": "Bedroom Lamp"}),
            ToolCall("HassTurnOff", {"name": "Kitchen Light"}),
        ],
        "lamp on, kitchen off",
    ),
    ([ToolCall("HassListAddItem", {"item": "oat milk", "name": "Shopping List"})], "add oat milk"),
    ([], "what is the meaning of life"),
]


def ha_tools() -> tuple[ToolSchema, ...]:
    names = ("Kitchen Light", "Bedroom Lamp", "Shopping List")
    areas = ("Kitchen", "Bedroom", "Living Room")
    target = (
        ToolParam("name", enum=names),
        ToolParam("area", enum=areas),
        ToolParam("domain", "array", enum=("light", "switch", "cover")),
    )
    return (
        ToolSchema("HassTurnOn", "Turns on", target),
        ToolSchema("HassTurnOff", "Turns off", target),
        ToolSchema(
            "HassLightSet",
            "Sets brightness",
            (*target[:2], ToolParam("brightness", "integer", minimum=0, maximum=100)),
        ),
        ToolSchema(
            "HassListAddItem",
            "Adds an item",
            (
                ToolParam("item", required=True),
                ToolParam("name", enum=("Shopping List",), required=True),
            ),
        ),
    )


@pytest.mark.parametrize("jump_forward", [True, False])
@pytest.mark.parametrize(("calls", "query"), TYPICAL)
def test_oracle_answer_comes_out_token_for_token(
    tok: NeedleTokenizer, calls: list[ToolCall], query: str, jump_forward: bool
) -> None:
    tools = ha_tools()
    text = calls_json(calls, tools)
    answer = tok.encode(text)
    backend = OracleBackend([TOOL_CALL, *answer, EOS], tok.vocab_size)
    constraint = ToolCallConstraint(tools, tok)
    out = constrained_generate(
        backend, backend.encode(np.zeros(1)), constraint, jump_forward=jump_forward
    )
    assert out.text == text
    assert out.tokens == [TOOL_CALL, *answer, EOS]
    assert parse_calls(out.text, tools) == calls
    # one decoder step per token fed: the start EOS and every token but the last answer token
    assert backend.steps == out.model_steps == len(out.tokens) - 1
    assert out.argmax_steps + out.forced_tokens == len(answer) + 1  # + <tool_call>
    if jump_forward and calls:
        assert out.forced_tokens >= 2 * len(calls)  # the tool name's tail and the structure


def test_forced_continuation_costs_no_argmax(tok: NeedleTokenizer) -> None:
    """One tool, one required argument with one allowed value, one call: after the model opens
    the list, everything up to EOS is forced."""
    tools = (
        ToolSchema("HassTurnOn", "", (ToolParam("name", enum=("Kitchen Light",), required=True),)),
    )
    text = calls_json([ToolCall("HassTurnOn", {"name": "Kitchen Light"})], tools)
    answer = tok.encode(text)
    backend = OracleBackend([TOOL_CALL, *answer, EOS], tok.vocab_size)
    out = constrained_generate(
        backend, backend.encode(np.zeros(1)), ToolCallConstraint(tools, tok, max_calls=1)
    )
    assert out.text == text and out.tokens == [TOOL_CALL, *answer, EOS]
    choices = out.argmax_steps
    assert choices <= 2, out  # opening the list ("[" then "{" or "[{" at once)
    assert out.forced_tokens == len(answer) + 1 - choices
    assert backend.steps == len(out.tokens) - 1


def test_random_walks_through_the_grammar_are_valid(tok: NeedleTokenizer) -> None:
    rng = random.Random(0)
    for seed in range(150):
        tools = random_tools(rng)
        max_calls = rng.choice([0, 1, 3, 8])
        backend = RandomBackend(tok.vocab_size, seed)
        constraint = ToolCallConstraint(tools, tok, max_calls=max_calls)
        out = constrained_generate(
            backend, backend.encode(np.zeros(1)), constraint, max_tokens=rng.choice([40, 509])
        )
        calls = parse_calls(out.text, tools)
        check_calls(calls, tools, max_calls)
        if not any(p.type == "number" for t in tools for p in t.params):  # 0.50 is allowed
            canonical = json.dumps(json.loads(out.text), separators=(",", ":"), ensure_ascii=False)
            assert canonical == out.text
        if not out.truncated:
            assert tok.text_bytes(out.tokens) == tok.prefix + out.text.encode()
        assert len(out.tokens) <= MAX_DECODER_TOKENS - 1
        names = {t.name for t in tools if satisfiable(t)}
        assert {c.name for c in calls} <= names


def test_numpy_backend_random_weights_give_valid_calls(tok: NeedleTokenizer) -> None:
    rng = random.Random(1)
    for seed in range(12):
        tools = random_tools(rng) or ha_tools()
        ckpt = random_checkpoint(seed=seed, vocab_size=tok.vocab_size)
        backend = NumpyBackend(ckpt.config, ckpt.params)
        src = encoder_input_ids(tok, "turn on the kitchen light", tools_json(tools))
        constraint = ToolCallConstraint(tools, tok, max_calls=3)
        out = generate(backend, src, constraint, max_tokens=160)
        check_calls(parse_calls(out.text, tools), tools, 3)


def test_numbers_stay_in_range(tok: NeedleTokenizer) -> None:
    tools = (
        ToolSchema(
            "HassSet",
            "",
            (
                ToolParam("level", "integer", required=True, minimum=-20, maximum=35),
                ToolParam("ratio", "number", required=True, minimum=0.25, maximum=0.75),
            ),
        ),
    )
    seen = set()
    for seed in range(60):
        backend = RandomBackend(tok.vocab_size, seed)
        out = constrained_generate(
            backend, backend.encode(np.zeros(1)), ToolCallConstraint(tools, tok, max_calls=2)
        )
        calls = parse_calls(out.text, tools)
        check_calls(calls, tools, 2)
        seen.update(c.arguments["level"] for c in calls)
    assert len(seen) > 3  # the walk explores the range, it is not stuck on one value


def test_no_tools_or_no_room_means_no_call(tok: NeedleTokenizer) -> None:
    impossible = (ToolSchema("HassX", "", (ToolParam("name", enum=(), required=True),)),)
    for tools, max_calls in (((), 8), (ha_tools(), 0), (impossible, 8)):
        backend = RandomBackend(tok.vocab_size, 0)
        out = constrained_generate(
            backend,
            backend.encode(np.zeros(1)),
            ToolCallConstraint(tools, tok, max_calls=max_calls),
        )
        assert out.text == "[]"


def test_token_cap_keeps_only_closed_calls(tok: NeedleTokenizer) -> None:
    tools = ha_tools()
    calls = [ToolCall("HassTurnOn", {"name": "Kitchen Light"})] * 3
    answer = tok.encode(calls_json(calls, tools))
    backend = OracleBackend([TOOL_CALL, *answer, EOS], tok.vocab_size)
    one_call = len(tok.encode(calls_json(calls[:1], tools)))
    out = constrained_generate(
        backend,
        backend.encode(np.zeros(1)),
        ToolCallConstraint(tools, tok),
        max_tokens=one_call + 3,
    )
    assert out.truncated
    assert parse_calls(out.text, tools) == calls[:1]


def test_byte_level_tokenizer_without_prefix() -> None:
    from tests.conftest import tiny_tokenizer_json

    tok = NeedleTokenizer.from_str(tiny_tokenizer_json(300))
    tools = ha_tools()
    for seed in range(20):
        backend = RandomBackend(tok.vocab_size, seed)
        out = constrained_generate(
            backend, backend.encode(np.zeros(1)), ToolCallConstraint(tools, tok, max_calls=2)
        )
        check_calls(parse_calls(out.text, tools), tools, 2)
    text = calls_json([ToolCall("HassTurnOn", {"name": "Kitchen Light"})], tools)
    answer = tok.encode(text)
    backend = OracleBackend([TOOL_CALL, *answer, EOS], tok.vocab_size)
    out = constrained_generate(backend, backend.encode(np.zeros(1)), ToolCallConstraint(tools, tok))
    assert out.tokens == [TOOL_CALL, *answer, EOS]


def test_masks_agree_with_the_automaton(tok: NeedleTokenizer) -> None:
    """The fast paths (string tokens by length, memoised masks) give exactly the tokens whose
    bytes the automaton accepts."""
    tools = ha_tools()
    constraint = ToolCallConstraint(tools, tok)
    prefix = tok.prefix
    texts = [
        b"",
        b"[",
        b'[{"name":"hass_',
        b'[{"name":"hass_list_add_item","arguments":{"item":"oat',
        b'[{"name":"hass_light_set","arguments":{"brightness":4',
        b'[{"name":"hass_turn_on","arguments":{"domain":["light"',
    ]
    for text in texts:
        state = constraint.advance(constraint.start, prefix + text if text else b"")
        assert state is not None, text
        allowed = set(constraint.allowed(state).tolist())
        brute = {
            i
            for i, data in enumerate(tok.token_bytes)
            if data and constraint.advance(state, data) is not None
        }
        assert allowed == brute, text


# --- confidence -----------------------------------------------------------------------------


class MarginOracle(OracleBackend):
    """Wants ``target`` like OracleBackend, with the winning logit's lead over every other token
    given per decoder position (``margins``; ``default`` elsewhere)."""

    def __init__(
        self, target: Sequence[int], vocab: int, margins: dict[int, float], default: float = 10.0
    ) -> None:
        super().__init__(target, vocab)
        self.margins, self.default = margins, default

    def step(self, state: _State, token: int) -> np.ndarray:
        logits = super().step(state, token)
        pos = len(state.tokens) - 1
        if pos < len(self.target):
            logits[self.target[pos]] = self.margins.get(pos, self.default)
        return logits


def test_choose_is_the_softmax_over_the_allowed_tokens_only() -> None:
    from custom_components.needle.engine.decode import choose

    best, prob = choose(np.array([0.0, math.log(3.0)]))
    assert best == 1 and prob == pytest.approx(0.75)
    full = np.array([5.0, 0.0, 9.0, math.log(3.0)])
    allowed = np.array([1, 3])
    assert choose(full[allowed]) == choose(np.array([0.0, math.log(3.0)]))  # gathered = masked


def test_a_call_is_as_confident_as_its_least_sure_free_choice(tok: NeedleTokenizer) -> None:
    tools = ha_tools()
    calls = [
        ToolCall("HassTurnOn", {"name": "Kitchen Light"}),
        ToolCall("HassTurnOff", {"name": "Bedroom Lamp"}),
    ]
    text = calls_json(calls, tools)
    answer = tok.encode(text)
    target = [TOOL_CALL, *answer, EOS]
    sure = MarginOracle(target, tok.vocab_size, {})
    out = constrained_generate(sure, sure.encode(np.zeros(1)), ToolCallConstraint(tools, tok))
    assert parse_calls(out.text, tools) == calls
    assert len(out.call_confidence) == 2 and min(out.call_confidence) > 0.9
    # the second call's value: make the model hesitate at the token that starts "Bedroom"
    second = text.index("Bedroom")
    pieces = [tok.token_bytes[t] or b"" for t in answer]
    at, pos = len(tok.prefix), 0
    while at + len(pieces[pos]) <= len(tok.prefix) + second:
        at += len(pieces[pos])
        pos += 1
    weak = MarginOracle(target, tok.vocab_size, {pos + 1: 0.5})  # +1: <tool_call> comes first
    out2 = constrained_generate(weak, weak.encode(np.zeros(1)), ToolCallConstraint(tools, tok))
    assert out2.text == text
    assert out2.call_confidence[0] == pytest.approx(out.call_confidence[0])
    assert out2.call_confidence[1] < 0.5 < out.call_confidence[1]
    opens = len(tok.prefix) + text.index(',{"name"')  # the second call's first byte
    end = len(tok.prefix) + len(text) - 1  # the closing "]" is the stop, not the call
    touching = [p for a, b, p in out2.free_steps if b > opens and a < end]
    assert out2.call_confidence[1] == pytest.approx(min(touching))
    # per argument: the doubt is the name's; the rest of the call was sure
    by_arg = out2.argument_confidence
    assert set(by_arg[1]) == {"", "name"} and by_arg[1]["name"] < 0.5 < by_arg[1][""]
    assert [min(a.values()) for a in by_arg] == pytest.approx(out2.call_confidence)


def test_argument_spans_find_each_argument_of_a_call() -> None:
    from custom_components.needle.engine.decode import argument_spans

    text = (
        b'[{"name":"HassGetState","arguments":{"name":"Say \\"hi\\", ok","domain":["a","b"],'
        b'"state":["on"]}},{"name":"HassNevermind","arguments":{}}]'
    )
    first = text.index(b"}},") + 2
    spans = argument_spans(text, 1, first)
    got = {k: text[a:b] for k, (a, b) in spans.items()}
    # a member starts at the comma before it: writing ,"key" chose to give it
    assert got == {
        "name": b'"name":"Say \\"hi\\", ok"',
        "domain": b',"domain":["a","b"]',
        "state": b',"state":["on"]',
    }
    assert argument_spans(text, first, len(text) - 1) == {}


def test_forced_tokens_do_not_count_towards_confidence(tok: NeedleTokenizer) -> None:
    """Everything after the list opens is forced: a model that is unsure there (it would not be
    asked) leaves the confidence where its free choices put it."""
    tools = (
        ToolSchema("HassTurnOn", "", (ToolParam("name", enum=("Kitchen Light",), required=True),)),
    )
    text = calls_json([ToolCall("HassTurnOn", {"name": "Kitchen Light"})], tools)
    target = [TOOL_CALL, *tok.encode(text), EOS]
    backend = MarginOracle(target, tok.vocab_size, {1: 10.0, 2: 10.0}, default=0.01)
    out = constrained_generate(
        backend, backend.encode(np.zeros(1)), ToolCallConstraint(tools, tok, max_calls=1)
    )
    assert out.text == text
    assert out.forced_tokens > out.argmax_steps
    assert len(out.free_steps) == out.argmax_steps
    assert out.call_confidence[0] > 0.9


def test_no_call_has_a_stop_confidence(tok: NeedleTokenizer) -> None:
    tools = ha_tools()
    target = [TOOL_CALL, *tok.encode("[]"), EOS]
    backend = MarginOracle(target, tok.vocab_size, {}, default=1.0)
    out = constrained_generate(backend, backend.encode(np.zeros(1)), ToolCallConstraint(tools, tok))
    assert out.text == "[]" and out.call_confidence == []
    assert 0.0 < out.stop_confidence < 0.9


# --- grounded free text ---------------------------------------------------------------------


def test_sentence_spans_are_runs_of_the_words_as_written() -> None:
    from custom_components.needle.engine.decode import sentence_spans

    spans = sentence_spans("Add oat  milk, please!")
    assert "oat milk" in spans and "Add oat milk, please" in spans and "milk" in spans
    assert "please!" not in spans and "milk," not in spans and "oat milk please" not in spans
    assert "rice" not in spans
    assert sentence_spans("  ") == ()


def test_grounded_free_text_is_copied_from_the_sentence(tok: NeedleTokenizer) -> None:
    """A model that wants to write an item nobody said cannot: the free-text argument may only
    be a run of the sentence's words, while enums (entity names) are untouched."""
    from custom_components.needle.engine.decode import sentence_spans

    tools = ha_tools()
    sentence = "complete apples on my shopping list"
    wanted = [ToolCall("HassListAddItem", {"item": "rice", "name": "Shopping List"})]
    target = [TOOL_CALL, *tok.encode(calls_json(wanted, tools)), EOS]
    backend = OracleBackend(target, tok.vocab_size)
    ungrounded = constrained_generate(
        backend, backend.encode(np.zeros(1)), ToolCallConstraint(tools, tok)
    )
    assert parse_calls(ungrounded.text, tools) == wanted  # today's failure, reproduced
    backend = OracleBackend(target, tok.vocab_size)
    grounded = constrained_generate(
        backend, backend.encode(np.zeros(1)), ToolCallConstraint(tools, tok, grounding=sentence)
    )
    for call in parse_calls(grounded.text, tools):
        if "item" in call.arguments:
            assert call.arguments["item"] in sentence_spans(sentence)
    spans = set(sentence_spans(sentence))
    for seed in range(40):
        backend = RandomBackend(tok.vocab_size, seed)
        out = constrained_generate(
            backend,
            backend.encode(np.zeros(1)),
            ToolCallConstraint(tools, tok, max_calls=3, grounding=sentence),
        )
        calls = parse_calls(out.text, tools)
        check_calls(calls, tools, 3)
        for call in calls:
            if "item" in call.arguments:
                assert call.arguments["item"] in spans, call


def test_grounded_oracle_copies_the_said_item(tok: NeedleTokenizer) -> None:
    tools = ha_tools()
    calls = [ToolCall("HassListAddItem", {"item": "oat milk", "name": "Shopping List"})]
    text = calls_json(calls, tools)
    backend = OracleBackend([TOOL_CALL, *tok.encode(text), EOS], tok.vocab_size)
    out = constrained_generate(
        backend,
        backend.encode(np.zeros(1)),
        ToolCallConstraint(tools, tok, grounding="add oat milk to the shopping list"),
    )
    assert out.text == text and parse_calls(out.text, tools) == calls
