"""Decoding: greedy over the KV cache, and greedy under the tool-call grammar.

The decoder starts from EOS, writes ``<tool_call>``, the compact JSON list of calls exactly as
``schema.calls_json`` writes it, then EOS. ``ToolCallConstraint`` makes any other output
impossible: a byte-level automaton knows which text may follow (tool names of this request,
argument keys of that tool, each once, required ones before the object closes, enum values
verbatim, bounded numbers, booleans, bounded escaped strings), and each step only the token ids
whose whole text keeps the output a valid prefix may win the argmax. Token texts come from
``NeedleTokenizer.token_bytes``; the allowed set is found by walking a trie of the vocabulary
alongside the automaton, so a step in the structure touches a few dozen nodes.

Jump-forward: where the grammar allows exactly one continuation (``","arguments":{``, the rest of
a unique tool name or enum value, the closing ``}}]``), no argmax is needed. The forced text is
fed as the tokens the model was trained on: the canonical encoding of everything written so far
plus the forced text, continued from where it cuts at the end of what is written (when it cuts
there: else the masked argmax goes on token by token). The last canonical
token is held back unless the output ends there, because BPE may merge it with what the model
writes next; the masked argmax then picks the token that spans the boundary. Each fed token is
still one ``Backend.step`` (the cache must hold it); a backend that offers
``extend(state, tokens) -> (k, V) logits`` gets the whole run in one call.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import EOS, MAX_DECODER_TOKENS, TOOL_CALL
from .schema import ToolParam, ToolSchema

if TYPE_CHECKING:
    from .backends import Backend, DecoderState, EncoderState
    from .tokenizer import NeedleTokenizer

DEFAULT_MAX_CALLS = 8
MAX_STRING_BYTES = 96  # a free string argument (a timer name, a list item, a message)
MAX_ARRAY_ITEMS = 8
MAX_INT_DIGITS = 10
MAX_FRAC_DIGITS = 6

_SHORT_ESCAPES = frozenset(b'"\\bfnrt')
_HEX = frozenset(b"0123456789abcdef")


def _json(value: str) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def greedy(
    backend: Backend,
    src_ids: Sequence[int] | np.ndarray,
    max_new_tokens: int = MAX_DECODER_TOKENS - 1,
    stop_at_eos: bool = True,
) -> list[int]:
    """Plain argmax decoding from EOS (the reference's unconstrained greedy)."""
    state = backend.start(backend.encode(np.asarray(src_ids, dtype=np.int64)))
    token, out = EOS, []
    for _ in range(min(max_new_tokens, MAX_DECODER_TOKENS - 1)):
        token = int(np.argmax(backend.step(state, token)))
        if stop_at_eos and token == EOS:
            break
        out.append(token)
    return out


# --- the grammar ----------------------------------------------------------------------------


class _Trie:
    """Prefix-free byte strings -> action: each candidate ends in a delimiter, so a terminal node
    has no children and the automaton leaves the trie as soon as one is complete."""

    __slots__ = ("actions", "children")

    def __init__(self, items: Sequence[tuple[bytes, Any]]) -> None:
        self.children: list[dict[int, int]] = [{}]
        self.actions: dict[int, Any] = {}
        for text, action in items:
            node = 0
            for b in text:
                nxt = self.children[node].get(b)
                if nxt is None:
                    nxt = len(self.children)
                    self.children.append({})
                    self.children[node][b] = nxt
                node = nxt
            self.actions.setdefault(node, action)


@dataclass(frozen=True, slots=True)
class _Param:
    key: bytes  # JSON-escaped name, quotes included
    kind: str  # "enum" | "string" | "integer" | "number" | "boolean" | "array"
    enum: tuple[bytes, ...] | None  # JSON-escaped values, quotes included
    lo: float
    hi: float
    required: bool


@dataclass(frozen=True, slots=True)
class _Tool:
    name: bytes
    params: tuple[_Param, ...]
    required: int  # bitmask over params


_EDGE_PUNCTUATION = ".,!?;:\"'()[]{}"
MAX_SPAN_WORDS = 16  # a list item or timer name is a few words; a whole sentence is not one


def sentence_spans(sentence: str) -> tuple[str, ...]:
    """Every run of consecutive words of ``sentence``, as written (inner punctuation kept,
    punctuation at the run's edges dropped, spaces collapsed): the only values a free-text
    argument may take when decoding is grounded. "add oat milk, please" -> "add", "add oat",
    "oat milk", "milk", "oat milk, please", ..."""
    found = []
    for m in re.finditer(r"\S+", " ".join(sentence.split())):
        word = m.group().strip(_EDGE_PUNCTUATION)
        if word:
            lead = len(m.group()) - len(m.group().lstrip(_EDGE_PUNCTUATION))
            found.append((m.start() + lead, m.start() + lead + len(word)))
    text = " ".join(sentence.split())
    spans: dict[str, None] = {}
    for i, (start, _) in enumerate(found):
        for _, end in found[i : i + MAX_SPAN_WORDS]:
            span = text[start:end].strip(_EDGE_PUNCTUATION)
            if span and len(_json(span)) - 2 <= MAX_STRING_BYTES:
                spans[span] = None
    return tuple(spans)


def _compile_param(p: ToolParam, spans: tuple[str, ...] | None = None) -> _Param | None:
    """None when no value could ever be written (an empty enum, an empty range). With
    ``spans``, a free-text parameter may only copy one of them (grounded decoding)."""
    lo = -math.inf if p.minimum is None else float(p.minimum)
    hi = math.inf if p.maximum is None else float(p.maximum)
    values = p.enum
    if values is None and spans is not None and p.type not in _NOT_TEXT:
        values = spans
    enum = tuple(dict.fromkeys(_json(str(v)) for v in values)) if values is not None else None
    kind = p.type
    if kind in ("integer", "number"):
        compiled = _Param(_json(p.name), kind, None, lo, hi, p.required)
        low, high = _grid_range(compiled)
        return compiled if low <= high else None
    elif kind == "boolean":
        enum = (b"true", b"false")
    elif kind == "array":
        pass
    else:  # "string" and anything this grammar does not know: text
        kind = "enum" if enum is not None else "string"
        if enum == ():
            return None
    return _Param(_json(p.name), kind, enum, lo, hi, p.required)


_NOT_TEXT = frozenset({"integer", "number", "boolean", "array"})


def _compile_tool(tool: ToolSchema, spans: tuple[str, ...] | None = None) -> _Tool | None:
    params: list[_Param] = []
    for p in tool.params:
        compiled = _compile_param(p, spans)
        if compiled is None:
            if p.required:
                return None  # a call could never be completed
            continue
        if all(q.key != compiled.key for q in params):
            params.append(compiled)
    required = sum(1 << i for i, p in enumerate(params) if p.required)
    return _Tool(_json(tool.model_name)[1:-1], tuple(params), required)


# Automaton states are tuples (hashable, cheap to memoise):
#   ("T", trie_key, node)                       inside a set of literal alternatives
#   ("S", ctx, length, need, lo, hi, esc)       inside a free string; ctx says where it returns
#   ("N", ctx, text)                            inside a number
#   ("END",)                                    the closing "]" is written; only EOS may follow
# ctx = (calls, tool, used, param, items): finished calls, tool index, bitmask of keys written,
# the parameter whose value is open, array items written (-1 outside arrays).

_END: tuple[Any, ...] = ("END",)
_NUMBER = re.compile(rb"-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)?")
_COMPLETE_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


class ToolCallConstraint:
    """The tool-call grammar of one request as a byte automaton, plus token masks over it.

    Build one per request (its tools); the vocabulary tables it walks are cached per tokenizer.
    """

    def __init__(
        self,
        tools: Sequence[ToolSchema],
        tokenizer: NeedleTokenizer,
        *,
        max_calls: int = DEFAULT_MAX_CALLS,
        max_string_bytes: int = MAX_STRING_BYTES,
        grounding: str | None = None,
    ) -> None:
        """``grounding``: the user's sentence; when given, every free-text argument (a list
        item, a timer name, a search) must be a run of its words (``sentence_spans``), so the
        model can copy what was said but never write what was not."""
        if max_calls < 0:
            raise ValueError("max_calls must be >= 0")
        spans = sentence_spans(grounding) if grounding is not None else None
        self.tokenizer = tokenizer
        self.max_calls = max_calls
        self.max_string_bytes = max_string_bytes
        self.tools: list[_Tool] = []
        seen: set[bytes] = set()
        for tool in tools:
            compiled = _compile_tool(tool, spans)
            if compiled is not None and compiled.name not in seen:
                seen.add(compiled.name)
                self.tools.append(compiled)
        self.vocab = _vocabulary(tokenizer)
        self._tries: dict[Any, _Trie] = {}
        self._steps: dict[tuple[tuple[Any, ...], int], tuple[Any, ...] | None] = {}
        self._masks: dict[tuple[Any, ...], np.ndarray] = {}
        self.start: tuple[Any, ...] = ("T", ("open",), 0)

    # -- tries of literal alternatives, built when first reached ---------------------------

    def _trie(self, key: tuple[Any, ...]) -> _Trie:
        trie = self._tries.get(key)
        if trie is None:
            trie = self._tries[key] = _Trie(self._alternatives(key))
        return trie

    def _alternatives(self, key: tuple[Any, ...]) -> list[tuple[bytes, Any]]:
        kind = key[0]
        if kind == "open":
            return [(self.tokenizer.prefix + b"[", ("list", 0))]
        if kind == "list":  # after "[" (calls == 0) or after a call (calls > 0)
            calls = key[1]
            items: list[tuple[bytes, Any]] = [(b"]", ("end",))]
            if calls < self.max_calls and self.tools:
                head = b'{"name":"' if calls == 0 else b',{"name":"'
                items += [
                    (head + t.name + b'","arguments":{', ("args", calls, i, 0))
                    for i, t in enumerate(self.tools)
                ]
            return items
        if kind == "args":  # after "{" of the arguments or after a value
            _, calls, ti, used = key
            tool = self.tools[ti]
            comma = b"," if used else b""
            items = [
                (comma + p.key + b":", ("value", calls, ti, used | 1 << pi, pi))
                for pi, p in enumerate(tool.params)
                if not used & 1 << pi
            ]
            if tool.required & used == tool.required:
                items.append((b"}}", ("list", calls + 1)))
            return items
        if kind == "enum":  # a value from a list (string enums, booleans, array items)
            _, ctx = key
            param = self.tools[ctx[1]].params[ctx[3]]
            assert param.enum is not None
            return [(v, ("done", ctx)) for v in param.enum]
        if kind == "array":  # after "[" (items == 0) or after an item
            _, ctx = key
            param = self.tools[ctx[1]].params[ctx[3]]
            items = [(b"]", ("vdone", ctx))]
            if ctx[4] < MAX_ARRAY_ITEMS:
                comma = b"," if ctx[4] else b""
                if param.enum is not None:
                    items += [(comma + v, ("done", ctx)) for v in param.enum]
                else:
                    items.append((comma + b'"', ("string", ctx)))
            return items
        raise AssertionError(key)

    def _enter(self, action: tuple[Any, ...]) -> tuple[Any, ...]:
        """The state an action of a completed literal leads to."""
        kind = action[0]
        if kind == "end":
            return _END
        if kind == "list":
            return ("T", ("list", action[1]), 0)
        if kind == "args":
            return ("T", action, 0)
        if kind == "value":
            _, calls, ti, used, pi = action
            ctx = (calls, ti, used, pi, -1)
            param = self.tools[ti].params[pi]
            if param.kind in ("enum", "boolean"):
                return ("T", ("enum", ctx), 0)
            if param.kind == "string":
                return ("T", ("quote", ctx), 0)
            if param.kind == "array":
                return ("T", ("array_open", ctx), 0)
            return ("N", ctx, b"")
        if kind == "string":
            return ("S", action[1], 0, 0, 0x80, 0xBF, 0)
        if kind in ("done", "vdone"):
            ctx = action[1]
            if ctx[4] >= 0 and kind == "done":  # an array item: more items or "]"
                return ("T", ("array", (*ctx[:4], ctx[4] + 1)), 0)
            return ("T", ("args", ctx[0], ctx[1], ctx[2]), 0)
        raise AssertionError(action)

    def _literal_trie(self, key: tuple[Any, ...]) -> _Trie:
        if key[0] == "quote":
            return self._tries.setdefault(key, _Trie([(b'"', ("string", key[1]))]))
        if key[0] == "array_open":
            ctx = key[1]
            return self._tries.setdefault(key, _Trie([(b"[", ("array0", (*ctx[:4], 0)))]))
        return self._trie(key)

    # -- the automaton ---------------------------------------------------------------------

    def step(self, state: tuple[Any, ...], byte: int) -> tuple[Any, ...] | None:
        """The state after ``byte``, or None when the byte cannot come next."""
        memo = (state, byte)
        if memo in self._steps:
            return self._steps[memo]
        result = self._step(state, byte)
        self._steps[memo] = result
        return result

    def _step(self, state: tuple[Any, ...], byte: int) -> tuple[Any, ...] | None:
        kind = state[0]
        if kind == "T":
            trie = self._literal_trie(state[1])
            node = trie.children[state[2]].get(byte)
            if node is None:
                return None
            action = trie.actions.get(node)
            if action is None:
                return ("T", state[1], node)
            if action[0] == "array0":
                return ("T", ("array", action[1]), 0)
            return self._enter(action)
        if kind == "S":
            return self._string_step(state, byte)
        if kind == "N":
            return self._number_step(state, byte)
        return None  # END

    def _string_step(self, state: tuple[Any, ...], b: int) -> tuple[Any, ...] | None:
        _, ctx, length, need, lo, hi, esc = state
        room = self.max_string_bytes - length
        if need:  # inside a multi-byte UTF-8 character
            if not lo <= b <= hi:
                return None
            return ("S", ctx, length + 1, need - 1, 0x80, 0xBF, 0)
        if esc == 1:  # after a backslash
            if b in _SHORT_ESCAPES:
                return ("S", ctx, length + 1, 0, 0x80, 0xBF, 0)
            return ("S", ctx, length + 1, 0, 0x80, 0xBF, 2) if b == ord("u") else None
        if esc:  # \u00XY: json.dumps escapes only control characters this way
            digit = esc - 2  # 0..3 digits of the four written
            ok = b == ord("0") if digit < 2 else b in b"01" if digit == 2 else b in _HEX
            if not ok:
                return None
            return ("S", ctx, length + 1, 0, 0x80, 0xBF, 0 if digit == 3 else esc + 1)
        if b == ord('"'):
            return self._enter(("done", ctx))
        if b < 0x20:
            return None  # control characters are escaped
        if b == ord("\\"):
            return ("S", ctx, length + 1, 0, 0x80, 0xBF, 1) if room >= 6 else None
        if b < 0x80:
            return ("S", ctx, length + 1, 0, 0x80, 0xBF, 0) if room >= 1 else None
        size, lo2, hi2 = _utf8_lead(b)
        if size == 0 or room < size:
            return None
        return ("S", ctx, length + 1, size - 1, lo2, hi2, 0)

    def _number_step(self, state: tuple[Any, ...], b: int) -> tuple[Any, ...] | None:
        _, ctx, text = state
        param = self.tools[ctx[1]].params[ctx[3]]
        grown = text + bytes([b])
        if _number_viable(grown, param):
            return ("N", ctx, grown)
        if _number_complete(text, param):  # the number ended: the byte belongs to what follows
            return self.step(("T", ("args", ctx[0], ctx[1], ctx[2]), 0), b)
        return None

    def is_final(self, state: tuple[Any, ...]) -> bool:
        return state == _END

    def advance(self, state: tuple[Any, ...], data: bytes) -> tuple[Any, ...] | None:
        for b in data:
            state = self.step(state, b)  # type: ignore[assignment]
            if state is None:
                return None
        return state

    def forced_text(self, state: tuple[Any, ...]) -> bytes:
        """The text that must follow ``state`` whatever the model prefers (may be empty)."""
        out = bytearray()
        while state[0] == "T":
            children = self._literal_trie(state[1]).children[state[2]]
            if len(children) != 1:
                break
            (b,) = children
            out.append(b)
            state = self.step(state, b)  # type: ignore[assignment]
        return bytes(out)

    # -- token masks -----------------------------------------------------------------------

    def allowed(self, state: tuple[Any, ...]) -> np.ndarray:
        """Sorted token ids whose whole text may follow ``state`` (EOS only at the end)."""
        cached = self._masks.get(state)
        if cached is not None:
            return cached
        if state == _END:
            ids = np.array([EOS], dtype=np.int64)
        elif state[0] == "S" and not state[3] and not state[6]:
            # inside a string, at a character boundary: plain-text tokens by length, and
            # a walk over the few tokens that hold quotes, escapes or partial characters
            room = self.max_string_bytes - state[2]
            vocab = self.vocab
            plain = vocab.plain_ids[vocab.plain_len <= room]
            ids = np.union1d(plain, self._walk(state, vocab.special_trie))
        else:
            ids = self._walk(state, self.vocab.trie)
        if len(self._masks) < 4096:
            self._masks[state] = ids
        return ids

    def _walk(self, state: tuple[Any, ...], trie: _TokenTrie) -> np.ndarray:
        found: list[int] = []
        stack = [(0, state)]
        children, ends, step = trie.children, trie.ends, self.step
        while stack:
            node, st = stack.pop()
            for b, child in children[node].items():
                nxt = step(st, b)
                if nxt is None:
                    continue
                found.extend(ends[child])
                if children[child]:
                    stack.append((child, nxt))
        return np.array(sorted(found), dtype=np.int64)


def _utf8_lead(b: int) -> tuple[int, int, int]:
    """(bytes in the character, range of the first continuation byte); size 0: not a lead."""
    if 0xC2 <= b <= 0xDF:
        return 2, 0x80, 0xBF
    if b == 0xE0:
        return 3, 0xA0, 0xBF
    if b == 0xED:
        return 3, 0x80, 0x9F
    if 0xE1 <= b <= 0xEF:
        return 3, 0x80, 0xBF
    if b == 0xF0:
        return 4, 0x90, 0xBF
    if 0xF1 <= b <= 0xF3:
        return 4, 0x80, 0xBF
    if b == 0xF4:
        return 4, 0x80, 0x8F
    return 0, 0, 0


def _number_syntax(text: bytes, param: _Param) -> bool:
    if not _NUMBER.fullmatch(text):
        return False
    body = text.lstrip(b"-")
    whole, _, frac = body.partition(b".")
    if len(whole) > MAX_INT_DIGITS or len(frac) > MAX_FRAC_DIGITS:
        return False
    if param.kind == "integer" and b"." in body:
        return False
    return not (text.startswith(b"-0") and param.kind == "integer")


def _number_viable(text: bytes, param: _Param) -> bool:
    """Whether ``text`` can still grow into a number of the parameter's range.

    Exact decimals: the values reachable from a prefix form an interval of the grid (1 for
    integers, 10**-MAX_FRAC_DIGITS for numbers), and the range was rounded onto that grid, so an
    overlap always holds a value the grammar can write.
    """
    if not _number_syntax(text, param):
        return False
    step = _ONE if param.kind == "integer" else _EPS
    negative = text.startswith(b"-")
    body = text[1:] if negative else text
    whole, dot, frac = body.partition(b".")
    spans: list[tuple[Decimal, Decimal]] = []  # reachable magnitudes
    if not whole:
        spans.append((Decimal(0), Decimal(10) ** MAX_INT_DIGITS - step))
    elif dot:
        base = Decimal((whole + b"." + frac).decode()) if frac else Decimal(whole.decode())
        spans.append((base, base + Decimal(10) ** -len(frac) - _EPS))
    elif whole == b"0":
        spans.append((Decimal(0), _ONE - step))
    else:
        value = int(whole)
        for extra in range(MAX_INT_DIGITS - len(whole) + 1):
            scale = 10**extra
            spans.append((Decimal(value * scale), Decimal((value + 1) * scale) - step))
    lo, hi = _grid_range(param)
    for a, b in spans:
        if negative:  # "-0" is never written: a negative number is at least one step away
            a = max(a, step)
            if a > b:
                continue
        low, high = (-b, -a) if negative else (a, b)
        if high >= lo and low <= hi:
            return True
    return False


_ONE = Decimal(1)
_EPS = Decimal(10) ** -MAX_FRAC_DIGITS


def _grid_range(param: _Param) -> tuple[Decimal, Decimal]:
    """The parameter's range rounded inwards onto the values the grammar can write."""
    step = _ONE if param.kind == "integer" else _EPS
    big = Decimal(10) ** (MAX_INT_DIGITS + 1)
    lo = -big if math.isinf(param.lo) else Decimal(repr(param.lo))
    hi = big if math.isinf(param.hi) else Decimal(repr(param.hi))
    return (lo / step).to_integral_value(ROUND_CEILING) * step, (hi / step).to_integral_value(
        ROUND_FLOOR
    ) * step


def _number_complete(text: bytes, param: _Param) -> bool:
    if not text or not _COMPLETE_NUMBER.fullmatch(text) or not _number_syntax(text, param):
        return False
    value = Decimal(text.decode())
    if text.startswith(b"-") and value == 0:
        return False  # json.dumps never writes -0
    lo, hi = _grid_range(param)
    return lo <= value <= hi


# --- the vocabulary as tries, cached per tokenizer ------------------------------------------


class _TokenTrie:
    __slots__ = ("children", "ends")

    def __init__(self, tokens: Sequence[tuple[int, bytes]]) -> None:
        self.children: list[dict[int, int]] = [{}]
        self.ends: list[list[int]] = [[]]
        for token_id, data in tokens:
            node = 0
            for b in data:
                nxt = self.children[node].get(b)
                if nxt is None:
                    nxt = len(self.children)
                    self.children.append({})
                    self.ends.append([])
                    self.children[node][b] = nxt
                node = nxt
            self.ends[node].append(token_id)


def _plain(data: bytes) -> bool:
    """Text a JSON string holds unescaped, in whole UTF-8 characters."""
    if b'"' in data or b"\\" in data or any(b < 0x20 for b in data):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class _Vocabulary:
    trie: _TokenTrie
    special_trie: _TokenTrie  # the tokens that are not plain string text
    plain_ids: np.ndarray
    plain_len: np.ndarray
    size: int


_VOCABS: dict[int, tuple[Any, _Vocabulary]] = {}


def _vocabulary(tokenizer: NeedleTokenizer) -> _Vocabulary:
    key = id(tokenizer)
    hit = _VOCABS.get(key)
    if hit is not None and hit[0] is tokenizer:
        return hit[1]
    tokens = [(i, b) for i, b in enumerate(tokenizer.token_bytes) if b]
    plain = [(i, b) for i, b in tokens if _plain(b)]
    vocab = _Vocabulary(
        trie=_TokenTrie(tokens),
        special_trie=_TokenTrie([(i, b) for i, b in tokens if not _plain(b)]),
        plain_ids=np.array([i for i, _ in plain], dtype=np.int64),
        plain_len=np.array([len(b) for _, b in plain], dtype=np.int64),
        size=tokenizer.vocab_size,
    )
    if len(_VOCABS) > 8:
        _VOCABS.clear()
    _VOCABS[key] = (tokenizer, vocab)
    return vocab


# --- constrained generation -----------------------------------------------------------------


@dataclass
class Decoded:
    """One constrained generation: the answer text (calls JSON) and what it cost."""

    text: str
    tokens: list[int]  # <tool_call>, the answer tokens, EOS (what the decoder wrote)
    model_steps: int = 0  # backend calls (step or extend)
    argmax_steps: int = 0  # tokens the model chose among several allowed
    forced_tokens: int = 0  # tokens fed without a choice (jump-forward, single options)
    truncated: bool = False
    calls_closed: list[int] = field(default_factory=list)
    # Confidence: for each call of ``text`` (in order), the lowest probability the model gave a
    # token it chose freely inside that call (tool name, keys, values, the call's opening);
    # forced tokens do not count. 1.0 when a call had no free choice at all.
    call_confidence: list[float] = field(default_factory=list)
    # Every free choice: (first byte, end byte) of the token in the answer text, probability.
    free_steps: list[tuple[int, int, float]] = field(default_factory=list)
    # Probability of the choice to stop ("]") after the last call, or of "[]" itself.
    stop_confidence: float = 1.0
    # For each call of ``call_confidence``: the lowest free-token probability per argument key
    # (the tokens of ``"key":value``), and under "" the call's other free tokens (its opening,
    # the tool name, the choice to close the arguments). The minimum over all of them is the
    # call's confidence; the policy drops an argument's share where the sentence, not the
    # model, decides its value (``policy.fitted_confidence``).
    argument_confidence: list[dict[str, float]] = field(default_factory=list)


def argument_spans(text: bytes | bytearray, start: int, end: int) -> dict[str, tuple[int, int]]:
    """The byte range of each argument (``"key":value``) of the call written in
    ``text[start:end]`` (``{"name":"T","arguments":{...}}``, as ``schema.calls_json`` writes
    it): the keys are the strings that open a member at depth 2, the arguments object being the
    call object's only container. A member's range starts at the comma before it: writing
    ``,"`` is the choice to give that argument."""
    spans: dict[str, tuple[int, int]] = {}
    depth, in_string, escaped = 0, False, False
    key_start, key, member_start = -1, None, -1
    expect_key = False
    i = start
    while i < end:
        b = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif b == 0x5C:  # backslash
                escaped = True
            elif b == 0x22:  # closing quote
                in_string = False
                if key is None and key_start >= 0:
                    key = json.loads(bytes(text[key_start : i + 1]))
        elif b == 0x22:
            in_string = True
            if depth == 2 and expect_key:
                key_start, key, expect_key = i, None, False
                member_start = i if member_start < 0 else member_start
        elif b in b"{[":
            depth += 1
            expect_key = depth == 2 and b == 0x7B
        elif b in b"}]" or (b == 0x2C and depth == 2):
            if depth == 2 and key is not None:
                spans[key] = (member_start, i)
                key, key_start, member_start = None, -1, -1
            if b == 0x2C:
                expect_key, member_start = True, i
            else:
                depth -= 1
        i += 1
    return spans


def choose(scores: np.ndarray) -> tuple[int, float]:
    """Index of the best of the allowed tokens' logits and its probability, the softmax
    renormalised over the allowed set only: the mask is part of the model's decision, and the
    number stays the same whether a backend returns every logit or only the allowed ones."""
    scores = np.asarray(scores, dtype=np.float64)
    best = int(np.argmax(scores))
    total = float(np.exp(scores - scores[best]).sum())
    return best, (1.0 / total if total > 0 and math.isfinite(total) else 0.0)


class _Run:
    """One request's decoding loop (holds the backend state; not shared between threads)."""

    def __init__(
        self,
        backend: Backend,
        enc: EncoderState,
        constraint: ToolCallConstraint,
        max_tokens: int,
        jump_forward: bool,
    ) -> None:
        self.backend = backend
        self.c = constraint
        self.tok = constraint.tokenizer
        self.state: DecoderState = backend.start(enc)
        self.auto = constraint.start
        self.text = bytearray()
        self.answer: list[int] = []  # tokens after <tool_call>
        self.max_tokens = max_tokens
        self.jump_forward = jump_forward
        self.result = Decoded(text="", tokens=[])
        self.extend: Callable[..., np.ndarray] | None = getattr(backend, "extend", None)
        self.gathers_rows = bool(getattr(backend, "gathers_rows", False))
        self.safe_len = 0  # text length (after the prefix) at the last closed call / "["
        self.call_spans: list[list[int]] = []  # [first byte, end byte) of each call in text

    def feed(self, tokens: list[int]) -> np.ndarray:
        """Feed tokens to the decoder; logits after the last one.

        A backend that ``gathers_rows`` computes only the logits of the tokens the grammar
        allows next, the only ones read (the tied projection is ~28 % of a v1 step); the
        others are -inf here.
        """
        self.result.model_steps += 1 if self.extend is not None else len(tokens)
        rows = None
        if self.gathers_rows and not self.c.is_final(self.auto):
            rows = self.c.allowed(self.auto)
        kw = {} if rows is None else {"rows": rows}
        if self.extend is not None:
            out = self.extend(self.state, np.asarray(tokens, dtype=np.int64), **kw)[-1]
        else:
            for t in tokens:
                out = self.backend.step(self.state, t, **kw)
        if rows is None:
            return out
        logits = np.full(self.backend.config.vocab_size, -np.inf, dtype=np.float32)
        logits[rows] = out
        return logits

    def accept(self, token: int) -> None:
        data = self.tok.token_bytes[token]
        assert data is not None
        state = self.auto
        for b in data:
            between = state[0] == "T" and state[1][0] == "list" and state[2] == 0
            if between and b != ord("]"):
                self.call_spans.append([len(self.text), -1])  # "{" or ",{": a call begins
            state = self.c.step(state, b)  # type: ignore[assignment]
            assert state is not None, "a token outside the grammar was fed"
            self.text.append(b)
            if state[0] == "T" and state[1][0] == "list" and state[2] == 0:
                self.safe_len = len(self.text)  # "[" or a call's "}}": a place to cut
                if self.call_spans and self.call_spans[-1][1] < 0:
                    self.call_spans[-1][1] = len(self.text)
        self.auto = state
        self.answer.append(token)

    def room(self) -> int:
        return self.max_tokens - len(self.answer)

    def jump(self) -> list[int]:
        """Canonical tokens for the forced continuation (see the module docstring)."""
        forced = self.c.forced_text(self.auto)
        if not forced:
            return []
        prefix = self.tok.prefix
        try:
            full = (bytes(self.text) + forced)[len(prefix) :].decode("utf-8")
        except UnicodeDecodeError:
            return []
        canonical = self.tok.encode(full)
        table = self.tok.token_bytes
        if b"".join(table[t] or b"" for t in canonical) != bytes(self.text) + forced:
            return []  # the tokenizer rewrites this text (e.g. collapses spaces): no shortcut
        # Continue the canonical tokens from the place where they cut exactly at the end of what
        # is written (usually after the tokens written so far, which are canonical themselves).
        done, k = 0, 0
        while k < len(canonical) and done < len(self.text):
            done += len(table[canonical[k]] or b"")
            k += 1
        if done != len(self.text):
            return []
        ends = self.c.is_final(self.c.advance(self.auto, forced) or ())
        return canonical[k:] if ends else canonical[k:-1]

    def score(self) -> None:
        """Per-call confidence from the free steps: a token counts for every closed call whose
        bytes it touches (``}},{"`` both closes one call and opens the next); a free token
        after the last call (the "]" that stops) goes to ``stop_confidence``."""
        closed = [(a, b) for a, b in self.call_spans if b >= 0]
        conf = [1.0] * len(closed)
        spans = [argument_spans(self.text, a, b) for a, b in closed]
        by_arg: list[dict[str, float]] = [{"": 1.0, **dict.fromkeys(s, 1.0)} for s in spans]
        stop = 1.0
        for start, end, prob in self.result.free_steps:
            touched = False
            for i, (a, b) in enumerate(closed):
                if start < b and end > a:
                    conf[i] = min(conf[i], prob)
                    touched = True
                    keys = [k for k, (x, y) in spans[i].items() if start < y and end > x]
                    inside = keys and all(spans[i][k][0] <= start and end <= spans[i][k][1]
                                          for k in keys)  # fmt: skip
                    for k in keys if inside else [*keys, ""]:
                        by_arg[i][k] = min(by_arg[i][k], prob)
            if not touched and (not closed or start >= closed[-1][1]):
                stop = min(stop, prob)
        self.result.call_confidence = conf
        self.result.argument_confidence = by_arg
        self.result.stop_confidence = stop

    def run(self) -> Decoded:
        logits = self.feed([EOS, TOOL_CALL])
        self.result.forced_tokens += 1  # <tool_call>
        while not self.c.is_final(self.auto):
            if self.jump_forward and (tokens := self.jump()):
                if len(tokens) > self.room():
                    break
                for t in tokens:
                    self.accept(t)
                self.result.forced_tokens += len(tokens)
                if self.c.is_final(self.auto):
                    tokens = tokens[:-1]  # nothing reads the logits after the last token
                if tokens:
                    logits = self.feed(tokens)
                continue
            if self.room() <= 0:
                break
            allowed = self.c.allowed(self.auto)
            if not len(allowed):
                break  # no token spells any continuation (a tokenizer without byte pieces)
            if len(allowed) == 1:
                token = int(allowed[0])
                self.result.forced_tokens += 1
            else:
                best, prob = choose(logits[allowed])
                token = int(allowed[best])
                self.result.argmax_steps += 1
                start = len(self.text)
                self.accept(token)
                self.result.free_steps.append((start, len(self.text), prob))
                if not self.c.is_final(self.auto):
                    logits = self.feed([token])
                continue
            self.accept(token)
            if not self.c.is_final(self.auto):
                logits = self.feed([token])
        self.score()
        prefix_len = len(self.tok.prefix)
        if not self.c.is_final(self.auto):
            # out of room: keep the calls that were closed, drop the one being written
            self.result.truncated = True
            body = bytes(self.text[prefix_len : self.safe_len]) if self.safe_len else b"["
            text = (body + b"]").decode("utf-8")
            self.result.text = text
            self.result.tokens = [TOOL_CALL, *self.tok.encode(text), EOS]
            return self.result
        self.result.text = bytes(self.text[prefix_len:]).decode("utf-8")
        self.result.tokens = [TOOL_CALL, *self.answer, EOS]
        return self.result


def constrained_generate(
    backend: Backend,
    enc: EncoderState,
    constraint: ToolCallConstraint,
    *,
    max_tokens: int = MAX_DECODER_TOKENS - 3,
    jump_forward: bool = True,
) -> Decoded:
    """Greedy decoding under ``constraint``: always a valid calls JSON, ``[]`` at worst.

    ``max_tokens`` bounds the answer tokens (the decoder also holds EOS, ``<tool_call>`` and the
    final EOS, hence 512 - 3 at most).
    """
    max_tokens = min(max_tokens, MAX_DECODER_TOKENS - 3)
    return _Run(backend, enc, constraint, max_tokens, jump_forward).run()


def unconstrained_generate(
    backend: Backend, enc: EncoderState, tokenizer: NeedleTokenizer, max_tokens: int
) -> Decoded:
    """Plain greedy after EOS; the answer is whatever the model wrote (may not parse)."""
    state = backend.start(enc)
    token, out, steps = EOS, [], 0
    for _ in range(min(max_tokens, MAX_DECODER_TOKENS - 1)):
        token = int(np.argmax(backend.step(state, token)))
        steps += 1
        out.append(token)
        if token == EOS:
            break
    text = tokenizer.decode(out)
    return Decoded(text=text, tokens=out, model_steps=steps, argmax_steps=steps)


def generate(
    backend: Backend,
    src_ids: Sequence[int] | np.ndarray,
    constraint: ToolCallConstraint,
    *,
    max_tokens: int = MAX_DECODER_TOKENS - 3,
    jump_forward: bool = True,
) -> Decoded:
    """Encode ``src_ids`` and decode under ``constraint`` (``NeedleEngine.generate`` without
    the tokenizer and parsing around it)."""
    enc = backend.encode(np.asarray(src_ids, dtype=np.int64))
    return constrained_generate(
        backend, enc, constraint, max_tokens=max_tokens, jump_forward=jump_forward
    )
