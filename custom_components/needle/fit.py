"""Fitting a valid call to what the sentence says, between validation and the policy's decision.

The decoder guarantees a call that fits the tools; the sentence often says more than the model
wrote, in words HA itself uses. A read asks for the state the sentence says, in the device's own
terms ("is the cellar flood sensor wet": ``on``; ``states.py``), of the namesake or class that
state belongs to, with only the filters its device can pass; a device whose name several rooms
share goes to the room meant; a call on a room to the room said, and an on/off command on a
whole room to the one kind of device said, or to the one device every word describes; a
device said only by its room and kind is that kind in that room, as HA's sentences mean it;
a list item keeps all of its words. What the sentence decided no longer counts against the
model's confidence (``fitted_confidence``); a guess of ours in place of the model's choice
does not lift its doubt.

``fit_call`` is the entry point (the conversation entity calls it for every valid call); the
policy then decides on the fitted calls as on any. Plain Python, no Home Assistant import.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from .const import STEP_TOOL
from .engine.schema import ToolCall
from .policy import (
    _LIST_ADD,
    _LIST_ADD_WORDS,
    _OPPOSITE,
    READ_ONLY_TOOLS,
    _canonical_area,
    _content,
    _mentions,
    _own_words,
    _shared_name_areas,
    areas_named,
    one_described,
    sentence_domains,
)
from .prompt import FREE_NAME_TOOLS, EntityInfo, HomeContext
from .states import asked_states


def fit_call(
    call: ToolCall, home: HomeContext, text: str, area: str | None = None
) -> tuple[ToolCall, frozenset[str]]:
    """A valid call fitted to the sentence before the policy decides on it (``area``: the
    clause's place, from the satellite or another clause), and the arguments the sentence
    decided, whose doubts no longer count (``fitted_confidence``). Commands: the one kind said
    for a room (``fit_kind``), the one device described (``fit_the_one``), a room's kind for a
    device said only by room and kind (``fit_room_kind``), the room meant for a shared name
    (``fit_shared_name``), the room said (``fit_area``); reads: the device's filters and the
    state said (``fit_read_decided``); a list item all its words (``fit_item``). Where a fit
    replaces the model's choice by a guess of ours (the room's kind, a longer item), the
    model's doubt about it still counts."""
    decided: set[str] = set()
    kinded = fit_kind(call, text)
    one = fit_the_one(kinded, home, text)
    if one != kinded:
        decided |= {"area", "floor", "domain", "device_class"}  # the sentence named it
    step = fit_shared_name(fit_room_kind(one, home, text), home, text, area)
    placed = fit_area(_unsaid_read_area(step, home, text, area), home, text)
    if placed != step:
        decided.add("area")
    if _name_said(placed, home, text):
        decided.add("name")
    if placed.name in _LIST_ADD:
        return fit_item(placed, text), frozenset(decided)
    fitted, read_decided = fit_read_decided(placed, home, text)
    # a read's filters dropped or replaced to fit its device were the device's to decide
    changed = {k for k in placed.arguments if fitted.arguments.get(k) != placed.arguments[k]}
    return fitted, frozenset(decided | read_decided | changed)


def _name_said(call: ToolCall, home: HomeContext, text: str) -> bool:
    """Whether the sentence says the call's device by every word of its name, and no other
    device by more of its words ("can I get the lamp on in bedroom 5": the Bedroom 5 Lamp):
    then the sentence, not the model, chose it."""
    name = call.arguments.get("name")
    if not isinstance(name, str) or call.name in _LIST_ADD:
        return False
    sentence = _content(text)
    said = {
        e.entity_id: max(len(_content(n)) for n in e.names if _mentions(n, sentence))
        for e in home.entities
        if any(_mentions(n, sentence) for n in e.names)
    }
    if not said:
        return False
    best = max(said.values())
    folded = name.casefold()
    chosen = {
        e.entity_id for e in home.entities if folded in (n.casefold() for n in e.names)
    }
    top = {k for k, v in said.items() if v == best}
    return bool(chosen) and top <= chosen


def fitted_confidence(
    call: ToolCall,
    fitted: ToolCall,
    confidence: float,
    by_argument: dict[str, float],
    decided: frozenset[str] = frozenset(),
) -> float:
    """The confidence of a call after ``fit_call``: over the model's choices that still decide
    what runs. An argument the sentence decided (``decided``: a state it says, the device it
    names, a read's filter dropped to fit its device) no longer rests on the model ("is the
    road safe" read with the class the model doubted, then fitted to the Road's own class and
    the state "safe" says): its tokens do not count. ``""`` holds the call's other choices
    (the tool, whether to close the arguments), which always count, as does every argument
    a fit replaced by a guess of its own. Without per-argument numbers (an engine that
    reports none) nothing changes."""
    if not decided or not by_argument:
        return confidence
    kept = [p for key, p in by_argument.items() if key == "" or key not in decided]
    return max(confidence, min(kept, default=confidence))


def fit_the_one(call: ToolCall, home: HomeContext, text: str) -> ToolCall:
    """A command on a whole room or kind, where every word of the sentence describes one device
    there (``policy.one_described``): "yeelight on in the bedroom" decoded as every light of
    the bedroom switches the Yeelight alone."""
    args = call.arguments
    if call.name in READ_ONLY_TOOLS | FREE_NAME_TOOLS | _LIST_ADD or call.name == STEP_TOOL:
        return call
    if args.get("name") or not {"area", "floor", "domain", "device_class"} & args.keys():
        return call
    one = one_described(text, home)
    if one is None:
        return call
    domains, classes = args.get("domain"), args.get("device_class")
    if isinstance(domains, list) and one.domain not in domains:
        return call
    if isinstance(classes, list) and one.device_class not in classes:
        return call
    where = args.get("area")
    if isinstance(where, str) and (one.area or "").casefold() != _canonical_area(
        home, where
    ).casefold():
        return call
    floor = args.get("floor")
    if isinstance(floor, str) and (one.floor or "").casefold() != floor.casefold():
        return call
    rest = {k: v for k, v in args.items() if k not in ("area", "floor", "domain", "device_class")}
    return replace(call, arguments={**rest, "name": one.name})


def fit_room_kind(call: ToolCall, home: HomeContext, text: str) -> ToolCall:
    """A command naming one device that the sentence points at only by its room and its kind
    ("switch on the lounge light" decoded as the Lounge Lamp, beside the Corner Light)
    is a command on that kind in that room, as HA's own sentences mean it: every light there.
    Its full name said ("the living room lamp"), a word only one of them has ("main"), or the
    only one of its kind in the room: as it is."""
    args = call.arguments
    if call.name not in _ROOM_KIND_TOOLS or {"area", "floor"} & args.keys():
        return call
    if not isinstance(name := args.get("name"), str):
        return call
    folded = name.casefold()
    ents = [e for e in home.entities if folded in (n.casefold() for n in e.names)]
    if len(ents) != 1 or not (e := ents[0]).area:
        return call
    sentence = _content(text)
    if set(sentence_domains(text)) - {"timer"} != {e.domain} or e.area not in areas_named(
        text, home
    ):
        return call
    if any(_mentions(n, sentence) for n in e.names):
        return call
    kind_here = [o for o in home.entities if o.domain == e.domain and o.area == e.area]
    if len(kind_here) < 2 or any(_own_words(o, home) & sentence for o in kind_here):
        return call  # one of them said by a word of its own ("the guest suite main light")
    rest = {k: v for k, v in args.items() if k not in ("name", "domain", "device_class")}
    return replace(call, arguments={**rest, "area": e.area, "domain": [e.domain]})


_ROOM_KIND_TOOLS = frozenset({"HassTurnOn", "HassTurnOff", "HassLightSet"})


def fit_kind(call: ToolCall, text: str) -> ToolCall:
    """An on/off command on a whole room, where the sentence names one kind of device: "fan
    on in bathroom down" decoded as HassTurnOn(area) would switch everything there (the policy
    holds it); with the kind said it switches the fans. Kind words of two domains ("door")
    decide nothing."""
    args = call.arguments
    if call.name not in _OPPOSITE or args.get("name") or args.get("domain"):
        return call
    if args.get("device_class") or not (args.get("area") or args.get("floor")):
        return call
    named = set(sentence_domains(text)) - {"timer"}
    if len(named) != 1:
        return call
    return replace(call, arguments={**args, "domain": sorted(named)})


def fit_shared_name(
    call: ToolCall, home: HomeContext, text: str, area: str | None = None
) -> ToolCall:
    """A device whose name several rooms share, in the room the sentence names ("Priya's smart
    bulb off": the Smart Bulb in Priya's Room) or else the clause's place; unchanged when
    neither is one of its rooms (the policy asks)."""
    rooms = _shared_name_areas(call, home)
    if not rooms:
        return call
    said = [a for a in rooms if a in areas_named(text, home)]
    meant = said if said else [a for a in rooms if area and a.casefold() == area.casefold()]
    if len(meant) != 1:
        return call
    return replace(call, arguments={**call.arguments, "area": meant[0]})


def fit_area(call: ToolCall, home: HomeContext, text: str) -> ToolCall:
    """A call on a room, in the one room the sentence names where the model wrote another:
    "shutters in the sitting room to 30" decoded with Bedroom 1 would ask which room was
    meant, though the sentence said it."""
    args = call.arguments
    if args.get("name") or not isinstance(where := args.get("area"), str):
        return call
    said = areas_named(text, home)
    if len(said) != 1 or _canonical_area(home, where) in said:
        return call
    return replace(call, arguments={**args, "area": next(iter(said))})


def _unsaid_read_area(
    call: ToolCall, home: HomeContext, text: str, area: str | None
) -> ToolCall:
    """A read of a named device without a room nobody said ("what mode is the thermostat in"
    read in the Bedroom): the name says which device; an unsaid room can only hide it. Kept
    where the name needs it (several rooms share it) or the clause's place is that room."""
    args = call.arguments
    if call.name not in READ_ONLY_TOOLS or not isinstance(args.get("name"), str):
        return call
    if not isinstance(where := args.get("area"), str):
        return call
    room = _canonical_area(home, where)
    if room in areas_named(text, home) or (area and room.casefold() == area.casefold()):
        return call
    bare = replace(call, arguments={k: v for k, v in args.items() if k != "area"})
    return call if _shared_name_areas(bare, home) else bare


# Words that end an item when reading back from it: "milk and eggs", "can you add some".
_ITEM_BOUNDARY = frozenset({"and", "or", "also", "then", "plus", "please", "to", "on", "in",
                            "into", "onto", "for", "a", "an", "the", "some", "more", "another",
                            "my", "our", "can", "could", "would", "you", "me", "i",
                            "we"})  # fmt: skip


_ITEM_END = frozenset({"to", "on", "onto", "in", "into"})


def fit_item(call: ToolCall, text: str) -> ToolCall:
    """A list item with the words the model left off its front: "can you stick oat milk on
    groceries" decoded as "milk" adds oat milk. The item grows leftwards over the words between
    the asking verb and it, up to an article, a conjunction or a polite word, and only where
    the list's preposition follows it ("... oat milk on groceries"), as HA's own matcher reads
    the words between the verb and the list as the item."""
    item = call.arguments.get("item")
    if not isinstance(item, str) or not item.strip():
        return call
    toks = re.findall(r"[\w'-]+", text)
    low = [t.casefold() for t in toks]
    want = item.casefold().split()
    n = len(want)
    starts = [i for i in range(len(low) - n + 1) if low[i : i + n] == want]
    if len(starts) != 1:
        return call
    start = end = starts[0]
    if start + n >= len(low) or low[start + n] not in _ITEM_END:
        return call
    while start > 0 and low[start - 1] not in _ITEM_BOUNDARY | _LIST_ADD_WORDS:
        start -= 1
    if start == 0 or low[start - 1] not in _LIST_ADD_WORDS | _ITEM_BOUNDARY or start == end:
        return call  # no asking verb before it: nothing to read back to
    grown = " ".join(toks[start : end + n])
    return replace(call, arguments={**call.arguments, "item": grown})


# A state word in another domain's terms, as that domain says it. A binary sensor is on or off,
# and what people ask is what that means for its class (HA's frontend says "Open" for a door
# sensor that is on, "Unlocked" for a lock sensor that is on); a cover or a lock is never on or
# off, so the model's on/off for one is open/closed, unlocked/locked; a person is home or not.
_STATE_IN_DOMAIN: dict[str, dict[str, str]] = {
    "binary_sensor": {"open": "on", "opened": "on", "closed": "off", "unlocked": "on",
                      "locked": "off", "home": "on", "not_home": "off", "detected": "on",
                      "clear": "off"},
    "cover": {"on": "open", "off": "closed", "up": "open", "down": "closed"},
    "valve": {"on": "open", "off": "closed"},
    "lock": {"on": "unlocked", "off": "locked", "closed": "locked"},
    "person": {"on": "home", "off": "not_home", "away": "not_home"},
}  # fmt: skip


def fit_read(call: ToolCall, home: HomeContext, text: str = "") -> ToolCall:
    """A read with only the filters its device can pass, asking for the state the user said.

    HA answers "is the log file big" (``name`` Log file, ``device_class`` power) with "could
    not find Log file" when the Log file is a data-size sensor: the name says which entity is
    meant, and a domain or class it does not have only hides it. So a named read keeps the
    domain and device class of one of its namesakes where it gave them (the name shared by a
    phone's sensors is still told apart by them), drops those none of them has, drops an area
    that only repeats words of the name when no namesake is in it ("Living room irradiance"
    in no area), and asks a sensor for its value, not whether it is "on".

    The state is the one the sentence says, in the device's own terms (``states``): "is the
    cellar flood sensor wet" asks for ``on``, whatever state the model wrote or left out; where
    namesakes of several classes share the name, the one whose state was said is meant ("is
    the pet door open": the door sensor, not the pet door's lock sensor); "open or closed?"
    asks for no state (HA reads it out). Where the sentence says none, the model's state is
    put in the device's terms ("is the shed window shut": off for a binary sensor, closed for
    a cover; ``_STATE_IN_DOMAIN``). A read without a name keeps its filters and gets the state
    said for its one domain and class ("are any doors not locked") and the one area the sentence
    names, where the model left the place out.
    """
    return fit_read_decided(call, home, text)[0]


def fit_read_decided(
    call: ToolCall, home: HomeContext, text: str = ""
) -> tuple[ToolCall, frozenset[str]]:
    """``fit_read``, and the arguments whose values the sentence decided (a state it says, the
    class that state belongs to, the place or thermostat it names): the model's doubts about
    those no longer count (``fitted_confidence``)."""
    decided: set[str] = set()
    if call.name not in READ_ONLY_TOOLS:
        return call, frozenset()
    args = dict(call.arguments)
    if isinstance(args.get("name"), str):
        _fit_named_read(call.name, args, home, text, decided)
    elif call.name == "HassGetState":
        _fit_group_read(args, home, text, decided)
    elif call.name == "HassClimateGetTemperature":
        # "the office thermostat's temperature": the thermostat said, not its area
        sentence = _content(text)
        said = {
            e.name: max(len(_content(n)) for n in e.names if _mentions(n, sentence))
            for e in home.entities
            if e.domain == "climate" and any(_mentions(n, sentence) for n in e.names)
        }  # the most words: "the office thermostat" is the Office Thermostat, not Thermostat
        best = [n for n, k in said.items() if k == max(said.values())]
        if len(best) == 1:
            args.pop("area", None)
            args["name"] = best[0]
            decided |= {"name", "area"}
    fitted = call if args == call.arguments else replace(call, arguments=args)
    return fitted, frozenset(decided)


def _places(args: dict[str, Any]) -> list[str]:
    return [str(args[k]) for k in ("area", "floor") if isinstance(args.get(k), str)]


def _fit_group_read(
    args: dict[str, Any], home: HomeContext, text: str, decided: set[str]
) -> None:
    """A read of a kind of device: the one area said, the class its state word says
    ("are any devices home": presence, not connectivity), the state said."""
    places = areas_named(text, home)
    if len(places) == 1 and not {"area", "floor"} & args.keys():
        args["area"] = places.pop()  # "any living room blinds open?"
        decided.add("area")
    domains, classes = args.get("domain"), args.get("device_class")
    if not isinstance(domains, list) or len(domains) != 1:
        return
    if isinstance(classes, list) and len(classes) > 1:
        return
    domain, skip = domains[0], _places(args)
    if set(sentence_domains(text)) - {"timer"} == {domain}:
        decided.add("domain")  # "have all the fans been switched off": the kind said
    one_class = classes[0] if isinstance(classes, list) and classes else None
    if one_class and not asked_states(text, domain, one_class, skip, plain=False):
        others = {e.device_class for e in home.entities if e.domain == domain} - {one_class, None}
        said = [c for c in others if asked_states(text, domain, c, skip, plain=False)]
        if len(said) == 1:
            one_class = said[0]
            args["device_class"] = [one_class]
    if one_class and asked_states(text, domain, one_class, skip, plain=False):
        decided |= {"domain", "device_class"}  # a state word of this class was said
    if _say_state(args, asked_states(text, domain, one_class, skip)):
        decided.add("state")


def _fit_named_read(
    tool: str, args: dict[str, Any], home: HomeContext, text: str, decided: set[str]
) -> None:
    """A read of a named device: filters one of its namesakes can pass, the namesake the
    sentence means, and the state said in its terms."""
    name = str(args["name"])
    folded = name.casefold()
    namesakes = [e for e in home.entities if folded in (n.casefold() for n in e.names)]
    if not namesakes:
        return
    domains, classes = args.get("domain"), args.get("device_class")

    def fits(e: EntityInfo, with_class: bool) -> bool:
        return (not isinstance(domains, list) or e.domain in domains) and (
            not with_class or not isinstance(classes, list) or e.device_class in classes
        )

    if not any(fits(e, True) for e in namesakes):
        args.pop("device_class", None)
        if not any(fits(e, False) for e in namesakes):
            args.pop("domain", None)
    if isinstance(area := args.get("area"), str):
        canon = _canonical_area(home, area)
        inside = any(e.area and e.area.casefold() == canon.casefold() for e in namesakes)
        if not inside and _content(area) <= _content(name):
            args.pop("area")
    domains, classes = args.get("domain"), args.get("device_class")
    kept = [e for e in namesakes if fits(e, True)] or namesakes
    if tool != "HassGetState":
        return
    skip = (name, *_places(args))
    said = {
        kind: asked_states(text, *kind, skip)
        for kind in {(e.domain, e.device_class) for e in namesakes}
    }
    choice = _namesake_meant(kept, namesakes, said, text)
    if choice is not None:
        domain, device_class = choice
        kept = [e for e in namesakes if (e.domain, e.device_class) == choice]
        args["domain"] = [domain]
        args.pop("device_class", None)
        if device_class:
            args["device_class"] = [device_class]
        decided |= {"domain", "device_class"}
    states = args.get("state")
    kinds = {(e.domain, e.device_class) for e in kept}
    if all(e.domain == "sensor" for e in kept):
        # a sensor's state is a measurement: "what's the CO level of the heat pump sensor"
        # read with state "on" would answer "No, 48 ppm"
        args.pop("state", None)
    elif len(kinds) == 1 and (asked := said[next(iter(kinds))]):
        if _say_state(args, asked):
            decided.add("state")
    elif isinstance(states, list) and len({e.domain for e in kept}) == 1:
        words_of = _STATE_IN_DOMAIN.get(kept[0].domain, {})
        args["state"] = list(dict.fromkeys(words_of.get(str(v), v) for v in states))


def _namesake_meant(
    kept: list[EntityInfo],
    namesakes: list[EntityInfo],
    said: dict[tuple[str, str | None], set[str]],
    text: str,
) -> tuple[str, str | None] | None:
    """Which kind of device sharing the name is meant, where the model's filters leave that
    open or point at one the sentence does not: the one whose state was said ("is the phone
    vibrating", not the Phone's battery sensor), else the one whose class the sentence names
    ("the rainfall intensity of the rain sensor", "the battery of my phone"). None: as it is."""
    kinds_kept = {(e.domain, e.device_class) for e in kept}
    meant = [k for k, states in said.items() if states]
    if not any(said[k] for k in kinds_kept):
        choice = meant
    else:
        choice = [k for k in meant if k in kinds_kept]
    if not choice and len(kinds_kept) > 1:
        sentence = _content(text)
        scores = {
            k: len(set(k[1].split("_")) & sentence) for k in kinds_kept if k[1]
        }  # HA's class ids are its words: precipitation_intensity, battery
        best = max(scores.values(), default=0)
        choice = [k for k, v in scores.items() if best and v == best]
    if len(choice) == 1 and kinds_kept != set(choice):
        return choice[0]
    return None


def _say_state(args: dict[str, Any], asked: set[str]) -> bool:
    """The read asks for the one state said; several said ("open or closed?") ask for none.
    Whether the sentence said any."""
    if len(asked) == 1:
        args["state"] = list(asked)
    elif asked:
        args.pop("state", None)
    return bool(asked)
