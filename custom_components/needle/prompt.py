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
sentence (name or alias, area, floor, domain words), the previous turn (entities and areas it
named) and the satellite's area, sorted by score then name. When all tools with all candidates
(up to ``max_entities``) do not fit ``max_encoder_tokens``, only the tools the sentence points at
are kept (HassTurnOn/Off, tools of the domains of the best-matching entities (at least half the
top score), tools with a word of their name in the sentence) and the largest prefix of candidates that fits; if even that fails, HassTurnOn/Off
alone. Everything is a pure function of the arguments: same input, same prompt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine.schema import ToolCall, ToolParam, ToolSchema, calls_json, snake_case, tools_json

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

# Words that point at a domain without naming an entity ("the blinds", "play", "warmer").
DOMAIN_WORDS: Mapping[str, frozenset[str]] = {
    "light": frozenset({"light", "lamp", "brightness", "bright", "brighter", "dim", "dimmer"}),
    "cover": frozenset(
        {"blind", "shade", "curtain", "cover", "garage", "shutter", "awning", "gate", "window"}
    ),
    "climate": frozenset(
        {"thermostat", "heating", "heat", "temperature", "degree", "warmer", "cooler", "ac"}
    ),
    "lock": frozenset({"lock", "unlock", "door", "deadbolt"}),
    "media_player": frozenset(
        {"tv", "music", "volume", "play", "pause", "resume", "speaker", "song", "track", "skip"}
    ),
    "fan": frozenset({"fan", "speed"}),
    "switch": frozenset({"switch", "plug", "outlet", "socket"}),
    "vacuum": frozenset({"vacuum", "clean", "dock"}),
    "valve": frozenset({"valve", "water", "tap"}),
    "humidifier": frozenset({"humidifier", "humidity"}),
    "todo": frozenset({"list", "todo"}),
    "scene": frozenset({"scene"}),
    "script": frozenset({"script"}),
}

# Words that point at one tool of a domain with several ("skip" -> HassMediaNext), beyond the
# words of the tool's own name.
TOOL_WORDS: Mapping[str, frozenset[str]] = {
    "next": frozenset({"skip"}),
    "previous": frozenset({"rewind"}),
    "unpause": frozenset({"resume"}),
    "volume": frozenset({"louder", "quieter"}),
}

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


def _content_words(text: str) -> frozenset[str]:
    return words(text) - STOP_WORDS


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


def _score_entities(
    home: HomeContext, text: str, satellite_area: str | None, previous: Turn | None
) -> list[tuple[int, EntityInfo]]:
    sentence = _content_words(text)
    area_names = {a.name: a for a in home.areas}
    mentioned_areas = {a.name for a in home.areas if _mentioned(a.names, sentence)}
    mentioned_floors = {f.name for f in home.floors if _mentioned(f.names, sentence)}
    mentioned_domains = {d for d, ws in DOMAIN_WORDS.items() if ws & sentence}
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
        if e.domain in mentioned_domains or e.device_class in sentence:
            score += 4
        if satellite and e.area and e.area.casefold() == satellite:
            score += 2
        if any(n.casefold() in prev_names for n in e.names):
            score += 8
        if e.area and e.area.casefold() in prev_areas:
            score += 3
        if e.domain in prev_domains:
            score += 2
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

    sentence = _content_words(text)
    scored = _score_entities(home, text, satellite_area, previous)
    ranked = [e for _, e in scored]
    extra_areas = [a.name for a in home.areas if _mentioned(a.names, sentence)]
    if satellite_area:
        extra_areas.append(satellite_area)
    extra_areas.extend(
        a.name for a in home.areas if a.name.casefold() in _previous_values(previous, "area")
    )

    floors = _floor_values(home, sentence, previous)

    def attempt(n: int, tool_set: Sequence[ToolSchema]) -> tuple[tuple[ToolSchema, ...], int]:
        chosen = ranked[:n]
        areas = _area_values(home, chosen, extra_areas)
        built = tuple(
            t for t in (_specialise(t, chosen, areas, floors) for t in tool_set) if t is not None
        )
        return built, count(tools_json(built))

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
        # Too big: keep the tools the sentence points at, then as many candidates as fit.
        # "Pointed at": entities scoring at least half the best score (the sentence's subject,
        # not every entity that shares its room).
        top = scored[0][0] if scored else 0
        pointed = [e for s, e in scored if s > 0 and 2 * s >= top]
        result = largest_fit(_focused_tools(usable, pointed, sentence))
    if result is None:
        # Not even those fit: the core tools only, without entities if need be.
        result = largest_fit([t for t in usable if t.name in CORE_TOOLS]) or (0, ())
    n, built = result
    return Prompt(query=query, tools=built, entities=tuple(ranked[:n]))


def _focused_tools(
    tools: Sequence[ToolSchema], matched: Sequence[EntityInfo], sentence: frozenset[str]
) -> list[ToolSchema]:
    """The tools the sentence points at: core tools, tools of a matched entity's domain, tools
    with a word of their name in the sentence ("timer", "volume", "position")."""
    matched_domains = {e.domain for e in matched}
    words = sentence | {tool for tool, ws in TOOL_WORDS.items() if ws & sentence}
    out = []
    for t in tools:
        domains = _tool_domains(t)
        name_words = _content_words(snake_case(t.name).replace("_", " "))
        if t.name in CORE_TOOLS or name_words & words:
            out.append(t)
        elif domains is not None and domains & matched_domains:
            # A domain with several tools (a media player has five, ~470 tokens): only those
            # the sentence names, or none, so that the window keeps room for the entities.
            siblings = [u for u in tools if _tool_domains(u) == domains]
            if len(siblings) <= 2:
                out.append(t)
    return out


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
