"""The one prompt builder: a sentence, a home and HA's tools -> the Needle encoder input.

Plain Python, no Home Assistant import: the integration calls ``build_prompt`` on every request
and training calls the very same function for every example, so what the model sees at training
time is byte for byte what it sees in a home. ``ha_context.py`` reads a running HA into the
dataclasses below.

Encoder input (docs/interfaces.md): ``encode(query) + [TOOLS] + encode(tools_json(tools))``, at
most 1024 tokens. This module decides both strings.

Query format (lines joined with ``\\n``; context lines only when there is context)::

    <the user's sentence, stripped>
    area: <area of the satellite that heard it>
    previous: <the previous sentence of this conversation>
    previous calls: <calls_json of the previous turn's calls>

Example::

    and the kitchen too
    area: Living Room
    previous: turn on the bedroom lights
    previous calls: [{"name":"hass_turn_on","arguments":{"area":"Bedroom","domain":["light"]}}]

Tools: HA's Assist tools, sorted by name (HA's registration order varies between installs), each
description cut to its first sentence, and the parameters that name things turned into enums of
what this home exposes:

- ``name``: entity names and aliases (only entities of the tool's domains, see ``TOOL_DOMAINS``;
  timer tools keep ``name`` as free text: it names a timer),
- ``area``: names and aliases of the candidates' areas and of areas the sentence, the satellite
  or the previous turn names; ``floor``: only floors the sentence or previous turn names,
- ``domain`` / ``device_class``: the domains / device classes of the candidate entities.

A tool whose domains have no candidate entity is dropped; so is a parameter whose enum would be
empty (unless HA requires it, then the tool is dropped). Enums are sorted case-insensitively.

Candidates (when a home exposes more than fits): entities are scored against the words of the
sentence (name or alias, area, floor; a misspelt word one edit from a home's word counts), the
domains and device classes a learned retrieval reads in the sentence ("plugged in" points at
binary sensors of class plug, in a home with a dozen classes), the previous turn (entities, areas and domains
it named) and the satellite's area, sorted by score then name. When all tools with all
candidates (up to ``max_entities``) do not fit ``max_encoder_tokens``, the tools are chosen by
that retrieval rather than by keyword lists: a softmax regression over the sentence's words and
word pairs and the previous turn's tools (``Retriever``; weights in ``prompt_index.json``, fitted
by ``training/fit_retrieval.py`` on generated requests only) ranks the tools; the best tool of
each clause of a sentence with several actions comes first, then the ranking until it covers
``TOOL_MASS`` (at least ``MIN_TOOLS``, at most ``MAX_TOOLS``), with the largest prefix of
candidates that fits; tools leave from the end of the ranking while fewer than
``MIN_CANDIDATES`` fit. If even one does not fit, HassTurnOn/Off alone. Everything is a pure
function of the arguments and the shipped index: same input, same prompt.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from .engine.schema import ToolCall, ToolParam, ToolSchema, calls_json, tools_json

MAX_ENCODER_TOKENS = 1024  # v1 encoder window (engine/config.py); repeated to stay HA-free here
MAX_QUERY_TOKENS = 1022  # the engine cuts the query here
DEFAULT_MAX_ENTITIES = 64  # enough for a sentence's candidates; more only dilutes the enums
MAX_CONTEXT_QUERY_TOKENS = (
    256  # beyond this the previous turn is dropped: the sentence matters more
)
MAX_DESCRIPTION_CHARS = 100  # first sentence of a tool description, capped

# Tools whose answer is data for a second LLM round; Needle answers in one pass and cannot use them.
DEFAULT_EXCLUDED_TOOLS = frozenset({"GetLiveContext", "calendar_get_events", "GetDateTime"})

# Tools that always stay: without them the model cannot do the commonest commands.
CORE_TOOLS = frozenset({"HassTurnOn", "HassTurnOff"})

# Which entity domains a tool acts on (HA's intent handler ``platforms``); absent = any domain.
TOOL_DOMAINS: Mapping[str, frozenset[str]] = {
    "HassLightSet": frozenset({"light"}),
    "HassSetPosition": frozenset({"cover", "valve"}),
    "HassClimateSetTemperature": frozenset({"climate"}),
    "HassClimateGetTemperature": frozenset({"climate"}),
    "HassSetVolume": frozenset({"media_player"}),
    "HassMediaPause": frozenset({"media_player"}),
    "HassMediaUnpause": frozenset({"media_player"}),
    "HassMediaNext": frozenset({"media_player"}),
    "HassMediaPrevious": frozenset({"media_player"}),
    "HassMediaSearchAndPlay": frozenset({"media_player"}),
    "HassVacuumStart": frozenset({"vacuum"}),
    "HassVacuumReturnToBase": frozenset({"vacuum"}),
    "HassFanSetSpeed": frozenset({"fan"}),
    "HassHumidifierSetpoint": frozenset({"humidifier"}),
    "HassHumidifierMode": frozenset({"humidifier"}),
    "HassListAddItem": frozenset({"todo"}),
    "HassListCompleteItem": frozenset({"todo"}),
    "HassShoppingListAddItem": frozenset({"shopping_list"}),
    "HassShoppingListCompleteItem": frozenset({"shopping_list"}),
    "HassGetWeather": frozenset({"weather"}),
    "HassOpenCover": frozenset({"cover"}),
    "HassCloseCover": frozenset({"cover"}),
}
# Domains that have no entities but whose tools are real (HA registers them with a platform).
_VIRTUAL_DOMAINS = frozenset({"shopping_list"})

# Tools whose ``name`` slot names a timer, not an entity.
FREE_NAME_TOOLS = frozenset(
    {
        "HassStartTimer",
        "HassCancelTimer",
        "HassCancelAllTimers",
        "HassIncreaseTimer",
        "HassDecreaseTimer",
        "HassPauseTimer",
        "HassUnpauseTimer",
        "HassTimerStatus",
    }
)

# The learned tool/domain retrieval (training/fit_retrieval.py): a softmax regression over the
# words of generated requests. Read once, lazily; without it every tool ranks alike.
INDEX_PATH = Path(__file__).with_name("prompt_index.json")
TOOL_MASS = 0.995  # tools are offered in ranked order until they cover this much probability
MAX_TOOLS = 6  # and at most this many
MIN_TOOLS = 2  # but at least this many (a second guess costs little, a missing tool all)
MIN_CANDIDATES = 6  # tools are dropped from the end of the ranking while fewer entities fit
MIN_CANDIDATES_MULTI = 3  # the same for a sentence with several actions
DOMAIN_BONUS = 8  # entity score for a domain the sentence points at with probability 1
CLASS_BONUS = 8  # the same for a device class ("plugged in": binary_sensor.plug)
NO_CLASS = "-"  # the class head's label for a sentence about no device class

# Words that carry no identity; kept out of matching so "turn on the light" does not match "On Air".
STOP_WORDS = frozenset(
    {
        "a", "an", "the", "on", "off", "in", "at", "to", "of", "my", "all", "and", "or",
        "please", "turn", "switch", "set", "it", "is", "too", "also", "for", "up", "down",
        "open", "close", "this", "that", "what", "with", "by", "percent", "hass",
    }
)  # fmt: skip

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class EntityInfo:
    """One exposed entity as the prompt sees it (names, not registry ids)."""

    entity_id: str
    name: str
    domain: str
    aliases: tuple[str, ...] = ()
    area: str | None = None  # area name
    floor: str | None = None  # floor name
    device_class: str | None = None
    state: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class AreaInfo:
    name: str
    aliases: tuple[str, ...] = ()
    floor: str | None = None  # floor name

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class FloorInfo:
    name: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class HomeContext:
    """What a home exposes to the conversation agent."""

    entities: tuple[EntityInfo, ...] = ()
    areas: tuple[AreaInfo, ...] = ()
    floors: tuple[FloorInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class Turn:
    """The previous exchange of a conversation: its sentence and the calls that were executed."""

    text: str
    calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Prompt:
    """The two strings' sources for the encoder, plus the candidates they were built from."""

    query: str
    tools: tuple[ToolSchema, ...]
    entities: tuple[EntityInfo, ...] = field(default=())

    def encoder_text(self) -> str:
        """Query and tools JSON as one readable string (for logs and token counting)."""
        return f"{self.query}\n<tools>{tools_json(self.tools)}"


def approx_token_count(text: str) -> int:
    """A tokenizer-free stand-in (~4 characters per token, the usual subword average). Used only
    when no tokenizer is passed: the integration and training pass the model's own counter."""
    return (len(text) + 3) // 4


def words(text: str) -> frozenset[str]:
    """Lowercase words, plural "s" dropped, so "Lights" matches "light"."""
    out = set()
    for w in _WORD.findall(text.lower()):
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return frozenset(out)


@lru_cache(maxsize=16384)
def _content_words(text: str) -> frozenset[str]:
    return words(text) - STOP_WORDS


_DIGITS = re.compile(r"^\d+(?:[.,]\d+)?$")


def _word_list(text: str) -> list[str]:
    """The sentence's words in order, lower case, plural "s" dropped, numbers as ``<n>``."""
    out = []
    for w in _WORD.findall(text.lower()):
        if _DIGITS.match(w):
            w = "<n>"
        elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def retrieval_features(text: str, previous: Turn | None = None) -> frozenset[str]:
    """What the tool/domain retrieval reads: words, word pairs, and the previous turn's tools
    (a follow-up such as "turn it off" is about what was just done)."""
    ws = _word_list(text)
    out = set(ws) | {f"{a}_{b}" for a, b in pairwise(ws)}
    if previous is not None:
        # The previous tool on its own and with each word: "too", "as well", "it" say that
        # the tool is repeated; a new verb says it is not.
        for name in {c.name for c in previous.calls}:
            out.add(f"prev={name}")
            out.update(f"prev={name}|{w}" for w in ws)
    return frozenset(out)


class Retriever:
    """Softmax regression over ``retrieval_features``: which tools, entity domains and device
    classes (``domain.class``) a sentence is about. Weights come from ``training/fit_retrieval.py`` (generated requests
    only); a feature the index does not know adds nothing."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.bias: dict[str, float] = dict(data.get("bias", {}))
        self.weights: dict[str, dict[str, float]] = dict(data.get("weights", {}))

    def _posterior(
        self, rows: Sequence[Mapping[str, float]], prefix: str, labels: Iterable[str]
    ) -> dict[str, float]:
        scores = {}
        for label in labels:
            key = prefix + label
            scores[label] = self.bias.get(key, -10.0) + sum(row.get(key, 0.0) for row in rows)
        if not scores:
            return {}
        top = max(scores.values())
        exp = {k: math.exp(v - top) for k, v in scores.items()}
        z = sum(exp.values())
        return {k: v / z for k, v in exp.items()}

    def _rows(self, text: str, previous: Turn | None) -> list[Mapping[str, float]]:
        feats = sorted(retrieval_features(text, previous))
        return [self.weights[f] for f in feats if f in self.weights]

    def rank(
        self, text: str, previous: Turn | None, tools: Iterable[str], domains: Iterable[str]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Probabilities of the given tools and domains for this sentence."""
        rows = self._rows(text, previous)
        return self._posterior(rows, "t:", tools), self._posterior(rows, "d:", domains)

    def rank_all(
        self,
        text: str,
        previous: Turn | None,
        tools: Iterable[str],
        domains: Iterable[str],
        classes: Iterable[str],
    ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        """``rank`` plus the probabilities of the given ``domain.class`` labels, from one read
        of the sentence: a state word ("plugged in", "wet", "running") points at a class that
        the sentence never names. ``NO_CLASS`` takes the mass of sentences about no class."""
        rows = self._rows(text, previous)
        class_prob = self._posterior(rows, "c:", {*classes, NO_CLASS})
        class_prob.pop(NO_CLASS, None)
        return (
            self._posterior(rows, "t:", tools),
            self._posterior(rows, "d:", domains),
            class_prob,
        )

    def classes(
        self, text: str, previous: Turn | None, classes: Iterable[str]
    ) -> dict[str, float]:
        """The class probabilities of ``rank_all`` alone."""
        return self.rank_all(text, previous, (), (), classes)[2]


@cache
def default_retriever() -> Retriever:
    """The shipped index (empty when the file is missing: every tool then ranks alike)."""
    try:
        return Retriever(json.loads(INDEX_PATH.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return Retriever({})


def _sort_key(text: str) -> tuple[str, str]:
    return (text.casefold(), text)


def _unique_sorted(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if v}, key=_sort_key))


def _mentioned(names: Iterable[str], sentence: frozenset[str]) -> bool:
    """A name is mentioned when all its content words are in the sentence."""
    for name in names:
        w = _content_words(name)
        if w and w <= sentence:
            return True
    return False


def _previous_values(previous: Turn | None, key: str) -> set[str]:
    out: set[str] = set()
    if previous is None:
        return out
    for call in previous.calls:
        value = call.arguments.get(key)
        if isinstance(value, str):
            out.add(value.casefold())
        elif isinstance(value, list):
            out.update(v.casefold() for v in value if isinstance(v, str))
    return out


def _near(a: str, b: str) -> bool:
    """One edit apart (a letter dropped, added, changed or two swapped): speech-to-text and
    typing slips ("drivweay", "mster bedroom") should still find the driveway."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )  # fmt: skip
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def _home_words(text: str, home: HomeContext) -> frozenset[str]:
    """The sentence's content words, plus the home's name words that a misspelt word of five
    letters or more is one edit away from."""
    sentence = _content_words(text)
    vocab = {
        w
        for names in [e.names for e in home.entities]
        + [a.names for a in home.areas]
        + [f.names for f in home.floors]
        for n in names
        for w in _content_words(n)
    }
    extra = {
        v
        for w in sentence - vocab
        if len(w) >= 5 and not w.isdigit()
        for v in vocab
        if len(v) >= 5 and _near(w, v)
    }
    return sentence | extra


def _score_entities(
    home: HomeContext,
    text: str,
    satellite_area: str | None,
    previous: Turn | None,
    domain_prob: Mapping[str, float],
    class_prob: Mapping[str, float],
    sentence: frozenset[str] | None = None,
) -> list[tuple[int, EntityInfo]]:
    if sentence is None:
        sentence = _home_words(text, home)
    area_names = {a.name: a for a in home.areas}
    mentioned_areas = {a.name for a in home.areas if _mentioned(a.names, sentence)}
    mentioned_floors = {f.name for f in home.floors if _mentioned(f.names, sentence)}
    prev_names = _previous_values(previous, "name")
    prev_areas = _previous_values(previous, "area")
    prev_domains = _previous_values(previous, "domain")
    satellite = satellite_area.casefold() if satellite_area else None

    scored = []
    for e in home.entities:
        score = 0
        best_name = 0
        for name in e.names:
            w = _content_words(name)
            if not w:
                continue
            hit = len(w & sentence)
            if hit == len(w):
                best_name = max(best_name, 10 + 2 * hit)  # the whole name is in the sentence
            elif hit:
                best_name = max(best_name, 2 * hit)
        score += best_name
        floor = e.floor or (area_names[e.area].floor if e.area in area_names else None)
        if e.area and e.area in mentioned_areas:
            score += 6
        if floor and floor in mentioned_floors:
            score += 4
        score += round(DOMAIN_BONUS * domain_prob.get(e.domain, 0.0))
        if e.device_class:
            score += 4 if e.device_class in sentence else 0
            score += round(CLASS_BONUS * class_prob.get(f"{e.domain}.{e.device_class}", 0.0))
        if satellite and e.area and e.area.casefold() == satellite:
            score += 2
        # What the previous turn acted on stays in reach of "turn it off", "and the kitchen".
        if any(n.casefold() in prev_names for n in e.names):
            score += 16
        if e.area and e.area.casefold() in prev_areas:
            score += 4
        if e.domain in prev_domains:
            score += 8
        scored.append((score, e))
    scored.sort(key=lambda se: (-se[0], _sort_key(se[1].name), se[1].entity_id))
    return scored


def _tool_domains(tool: ToolSchema) -> frozenset[str] | None:
    return TOOL_DOMAINS.get(tool.name)


def _short_description(text: str) -> str:
    """The first sentence: tool names carry most of the meaning, and every token counts."""
    text = " ".join(text.split())
    end = text.find(". ")
    if end != -1:
        text = text[: end + 1]
    if len(text) > MAX_DESCRIPTION_CHARS:
        text = text[: MAX_DESCRIPTION_CHARS - 3].rstrip() + "..."
    return text


def _specialise(
    tool: ToolSchema,
    entities: Sequence[EntityInfo],
    areas: tuple[str, ...],
    floors: tuple[str, ...],
) -> ToolSchema | None:
    """Fill the tool's naming parameters with this home's values; None when it has no use here."""
    domains = _tool_domains(tool)
    if domains is not None:
        ents = [e for e in entities if e.domain in domains]
        if not ents and not domains & _VIRTUAL_DOMAINS:
            return None
    else:
        ents = list(entities)
    entity_tool = tool.name.startswith("Hass") and tool.name not in FREE_NAME_TOOLS
    params: list[ToolParam] = []
    for p in tool.params:
        enum = p.enum
        if p.name == "name" and entity_tool and not (domains and domains & _VIRTUAL_DOMAINS):
            enum = _unique_sorted(n for e in ents for n in e.names)
        elif p.name == "area":
            enum = areas
        elif p.name == "floor":
            enum = floors
        elif p.name == "domain" and entity_tool:
            present = {e.domain for e in ents}
            enum = _unique_sorted(d for d in present if p.enum is None or d in p.enum)
        elif p.name == "device_class" and entity_tool:
            present = {e.device_class for e in ents if e.device_class}
            enum = _unique_sorted(d for d in present if p.enum is None or d in p.enum)
        if enum is not None and not enum:
            if p.required:
                return None
            continue
        params.append(
            ToolParam(
                name=p.name,
                type=p.type,
                description=p.description,
                required=p.required,
                enum=enum,
                minimum=p.minimum,
                maximum=p.maximum,
            )
        )
    return ToolSchema(
        name=tool.name, description=_short_description(tool.description), params=tuple(params)
    )


def _area_values(
    home: HomeContext, entities: Sequence[EntityInfo], extra: Iterable[str]
) -> tuple[str, ...]:
    """Area enum values: the candidates' areas plus the ones the sentence or context names."""
    wanted = {e.area for e in entities if e.area} | set(extra)
    known = {a.name for a in home.areas}
    values = [n for a in home.areas if a.name in wanted for n in a.names]
    values.extend(n for n in wanted if n not in known)
    return _unique_sorted(values)


def _floor_values(
    home: HomeContext, sentence: frozenset[str], previous: Turn | None
) -> tuple[str, ...]:
    """Floor enum values: only floors the sentence or the previous calls name. Floor commands
    name their floor ("upstairs"); listing every floor in every tool costs tokens for nothing."""
    prev = _previous_values(previous, "floor")
    values = [
        n
        for f in home.floors
        if _mentioned(f.names, sentence) or any(n.casefold() in prev for n in f.names)
        for n in f.names
    ]
    return _unique_sorted(values)


def render_query(
    text: str,
    *,
    satellite_area: str | None = None,
    previous: Turn | None = None,
    tools: Sequence[ToolSchema] = (),
) -> str:
    """The query string (format in the module docstring)."""
    lines = [" ".join(text.split())]
    if satellite_area:
        lines.append(f"area: {satellite_area}")
    if previous is not None:
        lines.append(f"previous: {' '.join(previous.text.split())}")
        if previous.calls:
            lines.append(f"previous calls: {calls_json(list(previous.calls), tuple(tools))}")
    return "\n".join(lines)


def build_prompt(
    text: str,
    home: HomeContext,
    tools: Sequence[ToolSchema],
    *,
    satellite_area: str | None = None,
    previous: Turn | None = None,
    max_entities: int = DEFAULT_MAX_ENTITIES,
    count_tokens: Callable[[str], int] | None = None,
    max_encoder_tokens: int = MAX_ENCODER_TOKENS,
    exclude_tools: frozenset[str] = DEFAULT_EXCLUDED_TOOLS,
) -> Prompt:
    """Build the encoder's query and tools for one sentence (see the module docstring).

    ``count_tokens`` should be the model tokenizer's counter (``NeedleEngine.count_tokens``);
    without it a character-based estimate decides what fits.
    """
    if not text or not text.strip():
        raise ValueError("empty sentence")
    if max_entities < 0:
        raise ValueError("max_entities must be >= 0")
    count = count_tokens or approx_token_count
    usable = sorted((t for t in tools if t.name not in exclude_tools), key=lambda t: t.name)

    query = render_query(text, satellite_area=satellite_area, previous=previous, tools=usable)
    if previous is not None and count(query) > MAX_CONTEXT_QUERY_TOKENS:
        query = render_query(text, satellite_area=satellite_area)
    query_tokens = min(count(query), MAX_QUERY_TOKENS)
    # The encoder sees query + <tools> + tools JSON; the JSON has to fit what is left.
    budget = max_encoder_tokens - query_tokens - 1

    sentence = _home_words(text, home)
    home_domains = {e.domain for e in home.entities}
    applicable = [
        t
        for t in usable
        if (d := _tool_domains(t)) is None or d & (home_domains | _VIRTUAL_DOMAINS)
    ]
    tool_prob, domain_prob, class_prob = default_retriever().rank_all(
        text,
        previous,
        (t.name for t in applicable),
        home_domains,
        {f"{e.domain}.{e.device_class}" for e in home.entities if e.device_class},
    )
    scored = _score_entities(
        home, text, satellite_area, previous, domain_prob, class_prob, sentence
    )
    ranked = [e for _, e in scored]
    extra_areas = [a.name for a in home.areas if _mentioned(a.names, sentence)]
    if satellite_area:
        extra_areas.append(satellite_area)
    extra_areas.extend(
        a.name for a in home.areas if a.name.casefold() in _previous_values(previous, "area")
    )

    floors = _floor_values(home, sentence, previous)

    counted: dict[str, int] = {}  # the fitting loops try the same tool sets more than once

    def attempt(n: int, tool_set: Sequence[ToolSchema]) -> tuple[tuple[ToolSchema, ...], int]:
        chosen = ranked[:n]
        areas = _area_values(home, chosen, extra_areas)
        built = tuple(
            t for t in (_specialise(t, chosen, areas, floors) for t in tool_set) if t is not None
        )
        text = tools_json(built)
        if text not in counted:
            counted[text] = count(text)
        return built, counted[text]

    def largest_fit(tool_set: Sequence[ToolSchema]) -> tuple[int, tuple[ToolSchema, ...]] | None:
        hi = min(max_entities, len(ranked))
        built, used = attempt(hi, tool_set)
        if used <= budget:
            return hi, built
        lo_built, lo_used = attempt(0, tool_set)
        if lo_used > budget:
            return None
        lo, best = 0, lo_built  # invariant: lo fits, hi does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            built, used = attempt(mid, tool_set)
            if used <= budget:
                lo, best = mid, built
            else:
                hi = mid
        return lo, best

    all_n = min(max_entities, len(ranked))
    built, used = attempt(all_n, usable)
    result: tuple[int, tuple[ToolSchema, ...]] | None = (all_n, built) if used <= budget else None
    if result is None:
        # Too big: the tools the retrieval ranks highest (until they cover TOOL_MASS), then as
        # many candidates as fit; while fewer than MIN_CANDIDATES fit, the last tool goes.
        order, n_first = _tool_order(text, applicable, tool_prob)
        k, mass = 0, 0.0
        while k < min(MAX_TOOLS, len(order)) and (
            k < max(MIN_TOOLS, n_first) or mass < TOOL_MASS
        ):
            mass += tool_prob.get(order[k].name, 0.0)
            k += 1
        # A sentence with several actions needs several tools more than many candidates: its
        # targets are named, and named entities rank first.
        want = min(MIN_CANDIDATES if n_first <= 1 else MIN_CANDIDATES_MULTI, all_n)
        while k > 0 and result is None:
            fit = largest_fit(sorted(order[:k], key=lambda t: t.name))
            if fit is not None and (fit[0] >= want or k == 1):
                result = fit
            k -= 1
    if result is None:
        # Not even one tool fits with its candidates: the core tools only, without entities
        # if need be.
        result = largest_fit([t for t in usable if t.name in CORE_TOOLS]) or (0, ())
    n, built = result
    return Prompt(query=query, tools=built, entities=tuple(ranked[:n]))


_CLAUSE = re.compile(r",|;|\b(?:and|then|also|but|plus)\b", re.IGNORECASE)


def _tool_order(
    text: str,
    tools: Sequence[ToolSchema],
    tool_prob: Mapping[str, float],
) -> tuple[list[ToolSchema], int]:
    """Tools in the order they are offered: the best tool of each clause of a sentence with
    several actions ("turn on the fan and close the blinds"), then the whole sentence's ranking
    (which reads the previous turn's tools too: "and the kitchen too" repeats them); and how
    many came first by clause."""
    names = [t.name for t in tools]
    first: list[str] = []
    clauses = [c for c in _CLAUSE.split(text) if len(_word_list(c)) >= 2]
    if len(clauses) > 1:
        retriever = default_retriever()
        for clause in clauses:
            probs, _ = retriever.rank(clause, None, names, ())
            if probs:
                first.append(max(sorted(probs), key=lambda n: probs[n]))
    rank = {name: i for i, name in enumerate(n for n in dict.fromkeys(first) if n in names)}
    order = sorted(
        tools,
        key=lambda t: (rank.get(t.name, len(rank)), -tool_prob.get(t.name, 0.0), t.name),
    )
    return order, len(rank)


def tool_catalogue_json(tools: Sequence[ToolSchema]) -> str:
    """A snapshot of HA's tools (HA names, full descriptions) for training to build prompts from."""
    data = [
        {
            "name": t.name,
            "description": t.description,
            "params": [
                {
                    "name": p.name,
                    "type": p.type,
                    "description": p.description,
                    "required": p.required,
                    "enum": list(p.enum) if p.enum is not None else None,
                    "minimum": p.minimum,
                    "maximum": p.maximum,
                }
                for p in t.params
            ],
        }
        for t in sorted(tools, key=lambda t: t.name)
    ]
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True)


def tools_from_catalogue_json(text: str) -> list[ToolSchema]:
    """Read ``tool_catalogue_json`` output back (raises ValueError on anything else)."""
    data: Any = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("tool catalogue is not a JSON list")
    tools = []
    for item in data:
        try:
            params = tuple(
                ToolParam(
                    name=str(p["name"]),
                    type=str(p.get("type", "string")),
                    description=str(p.get("description", "")),
                    required=bool(p.get("required", False)),
                    enum=tuple(str(v) for v in p["enum"]) if p.get("enum") is not None else None,
                    minimum=p.get("minimum"),
                    maximum=p.get("maximum"),
                )
                for p in item.get("params", [])
            )
            tools.append(
                ToolSchema(
                    name=str(item["name"]),
                    description=str(item.get("description", "")),
                    params=params,
                )
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"bad tool entry {item!r}: {err}") from err
    return tools
