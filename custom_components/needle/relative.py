"""Relative requests as people mean them: "a bit dimmer", "two degrees warmer", "louder".

HA's intents (2025.4 through 2026.11) set absolute values only, except ``HassSetVolumeRelative``
from 2026.x; a model that knows no relative tool answers "make it a bit dimmer" with a call
that turns the light on. This module is the one place that understands such a request:

- ``parse``: a small grammar of English comparatives ("dimmer", "warmer", "louder"), verbs with
  a direction ("turn it up", "lower the volume", "open the blinds a bit more") and amounts
  ("by 10 percent", "two degrees warmer"); "to 40 %" is an absolute value and not relative.
- ``rewrite``: the model still chooses the target; its calls (whatever tool it picked) give
  their targets to a ``NeedleStep`` call, or, when the sentence names nothing ("make it a bit
  dimmer"), the previous turn's targets do. A device that cannot do the step ("make the lock
  brighter") is held with a reason the user hears; the policy then decides on the steps as on
  any call (negation, confidence, the open-target question).
- ``plan``: one entity's step from its current state, clamped to what it allows, as one of HA's
  own service calls (``light.turn_on`` with ``brightness_step``, ``climate.set_temperature``,
  ``media_player.volume_set``, ``cover.set_cover_position``, ...), with the words for what
  changed, or why nothing did (already at the limit, off, cannot).

The default step is a quarter of the range (``DEFAULT_STEP_PERCENT``), a degree for a
thermostat. Plain Python, no Home Assistant import (like ``policy.py``); ``step_tool.py`` runs the
steps in HA.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .const import (
    DEFAULT_STEP_DEGREES_C,
    DEFAULT_STEP_DEGREES_F,
    DEFAULT_STEP_PERCENT,
    STEP_TOOL,
)
from .engine.schema import ToolCall, ToolParam, ToolSchema
from .policy import (
    WRONG_DEVICE,
    Held,
    asks,
    check_kind,
    names_a_target,
    sentence_domains,
    spoken_number,
    tokens,
)
from .prompt import FREE_NAME_TOOLS, HomeContext, Turn

BRIGHTNESS, TEMPERATURE, VOLUME, POSITION, SPEED = (
    "brightness", "temperature", "volume", "position", "speed",
)  # fmt: skip
QUANTITIES = (BRIGHTNESS, TEMPERATURE, VOLUME, POSITION, SPEED)
UP, DOWN = "up", "down"
PERCENT, DEGREES = "percent", "degrees"

# Which domains can take a step of each quantity (a light's "temperature" is its white colour).
QUANTITY_DOMAINS: Mapping[str, tuple[str, ...]] = {
    BRIGHTNESS: ("light",),
    TEMPERATURE: ("climate", "light"),
    VOLUME: ("media_player",),
    POSITION: ("cover", "valve"),
    SPEED: ("fan",),
}
# What "turn it up" changes on a device of each domain.
DOMAIN_QUANTITY: Mapping[str, str] = {
    "light": BRIGHTNESS,
    "climate": TEMPERATURE,
    "media_player": VOLUME,
    "cover": POSITION,
    "valve": POSITION,
    "fan": SPEED,
}

# --- the grammar --------------------------------------------------------------------------
# Comparatives and verbs that say both the quantity and the direction.
_COMPARATIVES: Mapping[str, tuple[str, str]] = {
    "brighter": (BRIGHTNESS, UP), "brighten": (BRIGHTNESS, UP), "dimmer": (BRIGHTNESS, DOWN),
    "dim": (BRIGHTNESS, DOWN), "darker": (BRIGHTNESS, DOWN), "darken": (BRIGHTNESS, DOWN),
    "warmer": (TEMPERATURE, UP), "hotter": (TEMPERATURE, UP), "cooler": (TEMPERATURE, DOWN),
    "colder": (TEMPERATURE, DOWN), "chillier": (TEMPERATURE, DOWN),
    "louder": (VOLUME, UP), "quieter": (VOLUME, DOWN), "softer": (VOLUME, DOWN),
    "faster": (SPEED, UP), "slower": (SPEED, DOWN),
}  # fmt: skip
# Nouns that say the quantity ("turn up the heat", "lower the volume", "the blinds a bit more").
_NOUNS: Mapping[str, str] = {
    "brightness": BRIGHTNESS, "light": BRIGHTNESS, "lights": BRIGHTNESS, "lamp": BRIGHTNESS,
    "lamps": BRIGHTNESS, "lighting": BRIGHTNESS,
    "temperature": TEMPERATURE, "temp": TEMPERATURE, "heat": TEMPERATURE,
    "heating": TEMPERATURE, "thermostat": TEMPERATURE,
    "volume": VOLUME, "sound": VOLUME, "music": VOLUME, "tv": VOLUME, "radio": VOLUME,
    "speaker": VOLUME, "speakers": VOLUME,
    "blind": POSITION, "blinds": POSITION, "shade": POSITION, "shades": POSITION,
    "curtain": POSITION, "curtains": POSITION, "shutter": POSITION, "shutters": POSITION,
    "awning": POSITION, "cover": POSITION, "covers": POSITION,
    "fan": SPEED, "fans": SPEED, "speed": SPEED,
}  # fmt: skip
# Words that say only a direction; the target's kind says what goes up ("turn it up").
_DIRECTIONS: Mapping[str, str] = {
    "up": UP, "increase": UP, "raise": UP, "boost": UP, "higher": UP,
    "down": DOWN, "decrease": DOWN, "reduce": DOWN, "lower": DOWN, "drop": DOWN,
    "lessen": DOWN,
}  # fmt: skip
# Verbs of a position: relative only with an amount or "more" ("open the blinds" is absolute).
_POSITION_VERBS: Mapping[str, str] = {"open": UP, "close": DOWN, "shut": DOWN}
_MORE_LESS: Mapping[str, str] = {"more": UP, "less": DOWN}
_NO_MORE = frozenset({"no", "any"})  # "no more ...", "(not) any more ...": none, not more
# An amount or a "more" that makes "open the blinds" / "lower them" a step.
_MARKERS = frozenset(
    {"bit", "little", "slightly", "tad", "touch", "notch", "more", "further", "farther",
     "less", "somewhat", "lot", "much"}
)  # fmt: skip
_MUCH = frozenset({"lot", "lots", "much"})  # "a lot brighter": twice the step
# "up"/"down" that belong to another verb ("shut down the tv" turns it off).
_PHRASAL = frozenset({"shut", "power", "wind", "calm", "set", "pick", "look", "wake", "close"})
_LEAD_INS = frozenset({"please", "can", "could", "would", "will", "you", "now", "just", "ok", "okay"})  # fmt: skip
_FILLER = frozenset(
    {"make", "it", "them", "they", "this", "that", "these", "those", "a", "an", "the", "bit",
     "little", "please", "can", "could", "would", "you", "turn", "get", "put", "bring", "crank",
     "pump", "bump", "push", "dial", "knock", "notch", "slightly", "tad", "touch", "more",
     "less", "further", "farther", "somewhat", "lot", "much", "by", "some", "just", "and",
     "abit", "percent", "per", "cent", "degree", "degrees", "points", "too", "i",
     "want", "need", "like", "feel", "in", "here", "room", "for", "me", "now", "again"}
)  # fmt: skip
_UNITS: Mapping[str, str] = {
    "%": PERCENT, "percent": PERCENT, "pct": PERCENT, "points": PERCENT, "point": PERCENT,
    "degree": DEGREES, "degrees": DEGREES, "°": DEGREES, "deg": DEGREES,
}  # fmt: skip
_ABSOLUTE_WORDS = frozenset({"max", "maximum", "minimum", "min", "full", "half", "zero"})
# Words of the grammar that name nothing: left out when the policy looks for a target or a
# kind of device in the sentence ("dimmer" names no Dimmer Switch, "warmer" no thermostat).
GRAMMAR_WORDS = frozenset(
    {*_COMPARATIVES, *_DIRECTIONS, *_POSITION_VERBS, *_MORE_LESS, *_MARKERS, *_FILLER}
)


@dataclass(frozen=True, slots=True)
class Relative:
    """What a relative request asks: ``quantity`` (None: the target's kind decides, "turn it
    up"), ``direction``, the ``amount`` said (None: the default step) in ``unit`` (None: the
    quantity's own), ``factor`` for "a lot", and whether an amount or "more" was said
    (``marked``: a position step needs one)."""

    quantity: str | None
    direction: str
    amount: float | None = None
    unit: str | None = None
    factor: float = 1.0
    marked: bool = False
    more: bool = False  # only "more"/"less" said the direction: after a step, "a bit more" goes on


def _amount(toks: Sequence[str]) -> tuple[float | None, str | None]:
    """The amount of the step: "by 10 (percent)", "10 percent", "two degrees", "up 5"."""
    for i in range(len(toks)):
        after_by = i > 0 and toks[i - 1] in ("by", "up", "down")
        found = spoken_number(toks, i)
        if found is None:
            continue
        value, j = found
        unit = _UNITS.get(toks[j]) if j < len(toks) else None
        if unit is not None or after_by:
            return value, unit
    return None, None


def _absolute(toks: Sequence[str]) -> bool:
    """A value to set, not a step: "to 40 percent", "at 20", "to max", "set ... 50 %"."""
    for i, t in enumerate(toks[:-1]):
        if t in ("to", "at", "on") and (
            spoken_number(toks, i + 1) is not None or toks[i + 1] in _ABSOLUTE_WORDS
        ):
            return True
    has_number = any(spoken_number(toks, i) is not None for i in range(len(toks)))
    return "set" in toks and has_number and "by" not in toks


def parse(text: str) -> Relative | None:
    """The relative request the sentence makes, or None (not relative, a question, a value)."""
    toks = tokens(text)
    if not toks or asks(text) or _absolute(toks):
        return None
    quantities: set[str] = set()
    directions: set[str] = set()
    position_verb: str | None = None
    # "light up the hall", "light this room up": the verb "light up" switches lights on; "turn
    # the light up" (the noun) is a step
    lit = next((t for t in toks if t not in _LEAD_INS), "") == "light"
    for i, t in enumerate(toks):
        if lit and t == UP:
            continue
        if t in _COMPARATIVES:
            q, d = _COMPARATIVES[t]
            quantities.add(q)
            directions.add(d)
        elif t in _DIRECTIONS and not (t in (UP, DOWN) and i > 0 and toks[i - 1] in _PHRASAL):
            if t in (UP, DOWN) and i + 1 < len(toks) and toks[i + 1] == "to":
                return None  # "up to 22": a value (and _absolute would have said so)
            directions.add(_DIRECTIONS[t])
        elif t in _POSITION_VERBS:
            position_verb = _POSITION_VERBS[t]
    nouns = {_NOUNS[t] for t in toks if t in _NOUNS}
    amount, unit = _amount(toks)
    marked = amount is not None or bool(_MARKERS & set(toks))
    if not directions and position_verb is not None:
        if not marked:
            return None  # "open the blinds": absolute
        directions.add(position_verb)
        quantities.add(POSITION)
    by_more = False
    if not directions:
        # "no more music", "not any more light": a negation, not a step
        more = {
            _MORE_LESS[t]
            for i, t in enumerate(toks)
            if t in _MORE_LESS and not (i > 0 and toks[i - 1] in _NO_MORE)
        }
        if len(more) != 1 or not (nouns or amount is not None or {"bit", "little"} & set(toks)):
            return None  # "more" alone is no request; "more light", "a bit more" are
        directions |= more
        by_more = True
    if len(directions) != 1:
        return None  # "up and down": not one step
    if not quantities and len(nouns) == 1:
        quantities = set(nouns)
    if len(quantities) > 1:
        return None
    quantity = next(iter(quantities), None)
    if quantity == POSITION and not marked:
        return None  # "lower the blinds" closes them (HA's own sentences)
    factor = 2.0 if _MUCH & set(toks) and amount is None else 1.0
    return Relative(quantity, directions.pop(), amount, unit, factor, marked, by_more)


# --- the calls ------------------------------------------------------------------------------

STEP_SCHEMA = ToolSchema(
    name=STEP_TOOL,
    description="Changes a device's brightness, temperature, volume, position or speed by a "
    "step from its current value.",
    params=(
        ToolParam("name", "string", "Name of the device"),
        ToolParam("area", "string", "Name of the area"),
        ToolParam("floor", "string", "Name of the floor"),
        ToolParam("domain", "array", "Kinds of device"),
        ToolParam("quantity", "string", "What changes", required=True, enum=QUANTITIES),
        ToolParam("direction", "string", "Which way", required=True, enum=(UP, DOWN)),
        ToolParam("amount", "number", "The step, as said", minimum=0),
        ToolParam("unit", "string", "The amount's unit", enum=(PERCENT, DEGREES)),
    ),
)
_TARGET_KEYS = ("name", "area", "floor", "domain")


@dataclass(slots=True)
class Rewrite:
    """The request's step calls (with the confidence of the choice of their target) and the
    steps held because their device cannot do them."""

    calls: list[ToolCall] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)


def _target(call: ToolCall) -> dict[str, Any]:
    """The call's target arguments; empty when it names none (a timer, the time)."""
    if call.name in FREE_NAME_TOOLS:
        return {}
    target = {k: call.arguments[k] for k in _TARGET_KEYS if call.arguments.get(k)}
    if isinstance(target.get("domain"), str):
        target["domain"] = [target["domain"]]
    return target


def _domains(target: Mapping[str, Any], home: HomeContext) -> set[str]:
    if name := target.get("name"):
        folded = str(name).casefold()
        return {e.domain for e in home.entities if folded in (n.casefold() for n in e.names)}
    return {str(d) for d in target.get("domain") or ()}


def _can(quantity: str | None, domains: set[str]) -> bool:
    if quantity is None:
        return bool(domains & set(DOMAIN_QUANTITY))
    return bool(domains & set(QUANTITY_DOMAINS[quantity]))


def adjective(quantity: str | None, direction: str) -> str:
    """ "brighter", "cooler", "louder", "more open", "turned up"."""
    words = {
        BRIGHTNESS: ("brighter", "dimmer"), TEMPERATURE: ("warmer", "cooler"),
        VOLUME: ("louder", "quieter"), POSITION: ("more open", "more closed"),
        SPEED: ("faster", "slower"),
    }.get(quantity or "", ("turned up", "turned down"))  # fmt: skip
    return words[0] if direction == UP else words[1]


def _cannot(quantity: str | None, direction: str, what: str) -> str:
    verb = "be turned" if quantity is None else "be made"
    return f"{what} cannot {verb} {adjective(quantity, direction).removeprefix('turned ')}"


def _names_left_out(text: str, home: HomeContext) -> str:
    """The sentence without the home's names that hold a word of this grammar: in "fan on in
    bathroom down" (the area Bathroom Down) or "turn on the up light", "down" and "up" name a
    place or a device, they ask for no step."""
    grammar = {*_COMPARATIVES, *_DIRECTIONS, *_POSITION_VERBS, *_MORE_LESS}
    names = [
        n
        for thing in (*home.areas, *home.floors, *home.entities)
        for n in thing.names
        if grammar & set(tokens(n))
    ]
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", text, flags=re.IGNORECASE)
    return text


def rewrite(
    text: str,
    calls: Sequence[ToolCall],
    confidence: Sequence[float],
    home: HomeContext,
    previous: Turn | None = None,
) -> Rewrite | None:
    """The step calls a relative request makes, or None when the sentence is not one (then the
    model's calls stand as they are).

    The target: the previous turn's when the sentence names no device, area or floor of the
    home ("make it a bit dimmer") and that target can take the step; else the targets of the
    model's calls, with their confidence; else, with none, the kind of device the step is for
    (the policy asks which room where several fit). A target from the previous turn has no
    model confidence: the grammar recognised the request and the target ran a turn ago (the
    policy let it through then), so it counts as sure; the policy still applies everything else.
    """
    rel = parse(_names_left_out(text, home))
    if rel is None:
        return None
    steps_before = [c for c in (previous.calls if previous else ()) if c.name == STEP_TOOL]
    if rel.more and rel.quantity is None and steps_before:  # "dimmer" then "a bit more"
        last = steps_before[0].arguments
        flip = {UP: DOWN, DOWN: UP}
        direction = last["direction"] if rel.direction == UP else flip[last["direction"]]
        rel = replace(rel, quantity=last["quantity"], direction=direction)
    toks = tokens(text)
    kinds = {
        d: w
        for d, w in sentence_domains(" ".join(t for t in toks if t not in GRAMMAR_WORDS)).items()
        if d != "timer"
    }
    said = names_a_target(text, home, ignore=GRAMMAR_WORDS)
    from_model = [(t, float(c)) for t, c in _pairs(calls, confidence) if t]
    from_previous = [(_target(c), 1.0) for c in (previous.calls if previous else ()) if _target(c)]
    # "warmer" after "turn on the kitchen light" means the heating: a light's white is warmer
    # only when the sentence or the model's call points at the light itself
    carried = {TEMPERATURE: {"climate"}}.get(rel.quantity or "")
    from_previous = [
        (t, c)
        for t, c in from_previous
        if _can(rel.quantity, _domains(t, home))
        and (not kinds or _domains(t, home) & set(kinds))
        and (carried is None or _domains(t, home) & carried)
    ]
    if carried is not None and not said:  # the model's echo of the light before: not it
        from_model = [(t, c) for t, c in from_model if _domains(t, home) & carried]
    if from_previous and (not said or not from_model):
        targets = from_previous
    elif from_model:
        targets = from_model
    elif from_previous:
        targets = from_previous
    elif rel.quantity is not None:
        wanted = [d for d in QUANTITY_DOMAINS[rel.quantity] if d in kinds]
        targets = [({"domain": wanted[:1] or list(QUANTITY_DOMAINS[rel.quantity][:1])}, 1.0)]
    else:
        return Rewrite()  # "turn it up" with nothing to turn up: not understood

    out = Rewrite()
    seen: list[dict[str, Any]] = []
    for target, conf in targets:
        if target in seen:
            continue
        seen.append(target)
        domains = _domains(target, home) or (
            set(QUANTITY_DOMAINS[rel.quantity]) if rel.quantity else set()
        )
        quantity = rel.quantity or next(
            (DOMAIN_QUANTITY[d] for d in sorted(domains) if d in DOMAIN_QUANTITY), None
        )
        if quantity == POSITION and not rel.marked:
            return None  # "lower them" after "open the blinds": HA's close, not a step
        args: dict[str, Any] = {k: v for k, v in target.items() if k != "domain"}
        if "name" not in args:
            capable = sorted(domains & set(QUANTITY_DOMAINS.get(quantity or "", ())))
            args["domain"] = capable or sorted(domains)
        args["quantity"] = quantity or BRIGHTNESS
        args["direction"] = rel.direction
        if rel.amount is not None:
            args["amount"] = rel.amount
        elif rel.factor != 1.0:
            args["amount"] = rel.factor * (
                DEFAULT_STEP_DEGREES_C if quantity == TEMPERATURE else DEFAULT_STEP_PERCENT
            )
        if rel.unit is not None:
            args["unit"] = rel.unit
        call = ToolCall(STEP_TOOL, args)
        what = str(target.get("name") or "")
        problem: Held | None = None
        if kinds and rel.quantity and not _can(rel.quantity, set(kinds)):
            word = sorted(set().union(*kinds.values()))[0]
            problem = Held(call, _cannot(rel.quantity, rel.direction, f"a {word}"), WRONG_DEVICE)
        elif quantity is None or not _can(quantity, domains):
            thing = what or " and ".join(sorted(domains)).replace("_", " ") or "that"
            problem = Held(call, _cannot(rel.quantity, rel.direction, thing), WRONG_DEVICE)
        else:
            problem = check_kind(call, home, kinds, frozenset(QUANTITY_DOMAINS[quantity]))
        if problem is not None:
            out.held.append(replace(problem, confidence=conf))
            continue
        out.calls.append(call)
        out.confidence.append(conf)
    return out


def _pairs(
    calls: Sequence[ToolCall], confidence: Sequence[float]
) -> list[tuple[dict[str, Any], float]]:
    return [
        (_target(c), confidence[i] if i < len(confidence) else 1.0) for i, c in enumerate(calls)
    ]


# --- one entity's step ----------------------------------------------------------------------

# HA's entity feature flags (IntFlag values, stable across releases).
_CLIMATE_TARGET, _CLIMATE_RANGE = 1, 2  # ClimateEntityFeature.TARGET_TEMPERATURE(_RANGE)
_MEDIA_VOLUME_SET = 4  # MediaPlayerEntityFeature.VOLUME_SET
_COVER_SET_POSITION = 4  # CoverEntityFeature.SET_POSITION
_VALVE_SET_POSITION = 4  # ValveEntityFeature.SET_POSITION
_FAN_SET_SPEED = 1  # FanEntityFeature.SET_SPEED
REQUIRED_FEATURES: Mapping[tuple[str, str], int] = {
    (VOLUME, "media_player"): _MEDIA_VOLUME_SET,
    (POSITION, "cover"): _COVER_SET_POSITION,
    (POSITION, "valve"): _VALVE_SET_POSITION,
    (SPEED, "fan"): _FAN_SET_SPEED,
}
_NO_BRIGHTNESS_MODES = frozenset({"onoff", "unknown"})
_LOWEST_BRIGHTNESS_PCT = 1  # "dimmer" never turns a light off
_BRIGHTNESS_MAX = 255


@dataclass(frozen=True, slots=True)
class Step:
    """One of HA's service calls for one entity, and what it changes, in words."""

    domain: str
    service: str
    data: dict[str, Any]
    done: str  # "Dimmed Kitchen Light to 50%"


@dataclass(frozen=True, slots=True)
class NoStep:
    """Why nothing changes: "I could not make Kitchen Light any dimmer: it is off"."""

    reason: str


def _pct(value: float) -> str:
    return f"{round(value):d}%"


def _deg(value: float, unit: str) -> str:
    return f"{value:g} {unit}"


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _percent_step(amount: float | None, unit: str | None, factor: float = 1.0) -> float | None:
    if unit == DEGREES:
        return None
    return (DEFAULT_STEP_PERCENT * factor) if amount is None else float(amount)


def plan(
    quantity: str,
    direction: str,
    amount: float | None,
    unit: str | None,
    name: str,
    domain: str,
    state: str,
    attributes: Mapping[str, Any],
    temperature_unit: str = "°C",
) -> Step | NoStep:
    """One entity's step: its current value (``state`` and ``attributes`` as HA reports them)
    moved by the amount (or the default step) the way ``direction`` says, clamped to the
    entity's limits, as a service call; or why nothing changes. A value that does not move
    (already at the limit, a light that is off made dimmer) is a ``NoStep``, never a call."""
    sign = 1 if direction == UP else -1
    adj = adjective(quantity, direction)
    no_more = f"I could not make {name} any {adj}"
    if quantity == POSITION:
        no_more = f"I could not {'open' if sign > 0 else 'close'} {name} any further"
    features = int(attributes.get("supported_features") or 0)
    required = REQUIRED_FEATURES.get((quantity, domain))
    if required is not None and not features & required:
        return NoStep(f"I could not make {name} {adj}: it cannot change its {quantity}")
    if domain not in QUANTITY_DOMAINS.get(quantity, ()):
        return NoStep(f"I could not make {name} {adj}: it has no {quantity}")
    if quantity == TEMPERATURE and domain == "climate":
        return _climate(sign, amount, unit, name, attributes, temperature_unit, adj, no_more)
    if quantity == TEMPERATURE:
        return _white(sign, amount, unit, name, state, attributes, adj, no_more)
    step = _percent_step(amount, unit)
    if step is None:
        return NoStep(f"I could not make {name} {adj}: its {quantity} is a percentage, not degrees")
    if quantity == BRIGHTNESS:
        modes = set(attributes.get("supported_color_modes") or ())
        if not modes - _NO_BRIGHTNESS_MODES:
            return NoStep(f"I could not make {name} {adj}: it cannot be dimmed")
        raw = float(attributes.get("brightness") or 0) if state == "on" else 0.0
        if state != "on" and sign < 0:
            return NoStep(f"{no_more}: it is off")
        before = raw * 100 / _BRIGHTNESS_MAX
        after = _clamp(round(before + sign * step), _LOWEST_BRIGHTNESS_PCT, 100)
        new_raw = round(after * _BRIGHTNESS_MAX / 100)
        if new_raw == round(raw):
            limit = "full brightness" if sign > 0 else "its lowest brightness"
            return NoStep(f"{no_more}: it is at {limit}")
        verb = "Brightened" if sign > 0 else "Dimmed"
        return Step(
            "light",
            "turn_on",
            {"brightness_step": new_raw - round(raw)},
            f"{verb} {name} to {_pct(after)}",
        )
    if quantity == VOLUME:
        level = attributes.get("volume_level")
        if not isinstance(level, int | float):
            return NoStep(f"{no_more}: it is {state}" if state in ("off", "standby") else
                          f"{no_more}: it reports no volume")  # fmt: skip
        before = float(level) * 100
        after = _clamp(round(before + sign * step), 0, 100)
        if after == round(before):
            return NoStep(
                f"{no_more}: {'it is at full volume' if sign > 0 else 'its volume is at zero'}"
            )
        return Step(
            "media_player",
            "volume_set",
            {"volume_level": after / 100},
            f"Turned the volume of {name} {direction} to {_pct(after)}",
        )
    if quantity == POSITION:
        position = attributes.get("current_position")
        if not isinstance(position, int | float):
            return NoStep(f"{no_more}: it reports no position")
        after = _clamp(round(position + sign * step), 0, 100)
        if after == round(position):
            return NoStep(f"{no_more}: it is fully {'open' if sign > 0 else 'closed'}")
        service = "set_cover_position" if domain == "cover" else "set_valve_position"
        verb = "Opened" if sign > 0 else "Closed"
        return Step(
            domain, service, {"position": after}, f"{verb} {name} further, to {_pct(after)}"
        )
    if quantity == SPEED:
        current = attributes.get("percentage")
        current = float(current) if isinstance(current, int | float) and state == "on" else 0.0
        if current == 0 and sign < 0:
            return NoStep(f"{no_more}: it is off")
        grain = float(attributes.get("percentage_step") or 1) or 1.0
        after = _clamp(round((current + sign * step) / grain) * grain, grain, 100)
        if round(after) == round(current):
            return NoStep(f"{no_more}: it is at {'full' if sign > 0 else 'its lowest'} speed")
        verb = "Sped up" if sign > 0 else "Slowed down"
        return Step(
            "fan", "set_percentage", {"percentage": round(after)}, f"{verb} {name} to {_pct(after)}"
        )
    return NoStep(f"I could not make {name} {adj}")


def _climate(
    sign: int,
    amount: float | None,
    unit: str | None,
    name: str,
    attributes: Mapping[str, Any],
    temperature_unit: str,
    adj: str,
    no_more: str,
) -> Step | NoStep:
    if unit == PERCENT:
        return NoStep(
            f"I could not make {name} {adj}: a temperature changes by degrees, not percent"
        )
    fahrenheit = "F" in temperature_unit
    step = (
        float(amount)
        if amount is not None
        else (DEFAULT_STEP_DEGREES_F if fahrenheit else DEFAULT_STEP_DEGREES_C)
    )
    grain = float(attributes.get("target_temp_step") or (1.0 if fahrenheit else 0.5))
    low = float(attributes.get("min_temp", -math.inf))
    high = float(attributes.get("max_temp", math.inf))

    def moved(value: float) -> float:
        return _clamp(round((value + sign * step) / grain) * grain, low, high)

    features = int(attributes.get("supported_features") or 0)
    target = attributes.get("temperature")
    if isinstance(target, int | float) and features & _CLIMATE_TARGET:
        after = moved(float(target))
        if math.isclose(after, float(target)):
            limit = f"its {'highest' if sign > 0 else 'lowest'} setting ({_deg(after, temperature_unit)})"
            return NoStep(f"{no_more}: it is at {limit}")
        verb = "Raised" if sign > 0 else "Lowered"
        return Step(
            "climate",
            "set_temperature",
            {"temperature": after},
            f"{verb} the temperature of {name} to {_deg(after, temperature_unit)}",
        )
    t_low, t_high = attributes.get("target_temp_low"), attributes.get("target_temp_high")
    if (
        isinstance(t_low, int | float)
        and isinstance(t_high, int | float)
        and features & _CLIMATE_RANGE
    ):
        new_low, new_high = moved(float(t_low)), moved(float(t_high))
        if math.isclose(new_low, float(t_low)) and math.isclose(new_high, float(t_high)):
            return NoStep(f"{no_more}: it is at its {'highest' if sign > 0 else 'lowest'} setting")
        verb = "Raised" if sign > 0 else "Lowered"
        return Step(
            "climate",
            "set_temperature",
            {"target_temp_low": new_low, "target_temp_high": new_high},
            f"{verb} the temperature range of {name} to {new_low:g}-{_deg(new_high, temperature_unit)}",
        )
    return NoStep(f"I could not make {name} {adj}: it has no temperature to set")


def _white(
    sign: int,
    amount: float | None,
    unit: str | None,
    name: str,
    state: str,
    attributes: Mapping[str, Any],
    adj: str,
    no_more: str,
) -> Step | NoStep:
    """A light's white made warmer (fewer kelvin) or cooler (more)."""
    if "color_temp" not in set(attributes.get("supported_color_modes") or ()):
        return NoStep(f"I could not make {name} {adj}: it has no white colour temperature")
    if state != "on":
        return NoStep(f"{no_more}: it is off")
    kelvin = attributes.get("color_temp_kelvin")
    low, high = attributes.get("min_color_temp_kelvin"), attributes.get("max_color_temp_kelvin")
    if not all(isinstance(v, int | float) for v in (kelvin, low, high)):
        return NoStep(f"I could not make {name} {adj}: it is not showing a white light")
    step = _percent_step(amount, unit)
    if step is None:
        return NoStep(f"I could not make {name} {adj}: its white changes by percent, not degrees")
    after = round(_clamp(kelvin - sign * step / 100 * (high - low), low, high))
    if after == round(kelvin):
        return NoStep(f"{no_more}: it is at its {'warmest' if sign > 0 else 'coolest'} white")
    return Step("light", "turn_on", {"color_temp_kelvin": after}, f"Made {name} {adj} ({after} K)")
