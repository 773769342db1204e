"""HA's own English intent templates, sampled with hassil, turned into Assist API calls.

hassil's ``sample_expression`` enumerates every expansion (millions for one template), so this
module walks a template once at random instead, choosing one alternative per branch and
recording each ``{list}`` value it fills. Slot lists that name things ({name}, {area},
{floor}) come from the synthetic home; the rest (brightness, colours, positions, timers) from
the intents package. The recovered slots plus the template's fixed ``slots`` and its
``requires_context`` area become the arguments of the Assist API tool of the same name, with
HA's argument names: exactly the call an LLM agent should make for that sentence.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hassil.expression import (
    Expression,
    ListReference,
    RuleReference,
    SequenceType,
    TextChunk,
)
from hassil.expression import Sequence as HSequence
from hassil.intents import (
    IntentData,
    Intents,
    RangeSlotList,
    SlotList,
    TextSlotList,
    TextSlotValue,
    WildcardSlotList,
)
from home_assistant_intents import get_intents
from unicode_rbnf import RbnfEngine

from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.prompt import EntityInfo, HomeContext

# Intents whose answer is data, not an action: HA's Assist API leaves them out of its tools
# (GetLiveContext instead, which Needle's prompt excludes). The integration offers the query
# intents as its own tools (queries.py); with those in the catalogue (``generate --questions``)
# they are labelled with their call, without them with no call. HassNevermind never has a tool.
QUESTION_INTENTS = frozenset(
    {
        "HassGetState",
        "HassGetWeather",
        "HassClimateGetTemperature",
        "HassGetCurrentDate",
        "HassGetCurrentTime",
        "HassNevermind",
    }
)
# No Assist API tool in a default install (needs other integrations): not sampled.
SKIPPED_INTENTS = frozenset({"HassBroadcast", "HassRespond", "HassShoppingListAddItem"})

ARRAY_ARGS = frozenset({"domain", "device_class", "state"})  # lists in HA's slot schemas

WILDCARD_VALUES: dict[str, tuple[str, ...]] = {
    "todo_list_item": (
        "milk", "eggs", "bread", "apples", "coffee beans", "toilet paper", "batteries",
        "dog food", "call the plumber", "pay the bills", "laundry detergent", "tomatoes",
        "olive oil", "light bulbs", "birthday card", "paint", "screws", "bananas", "cheese",
    ),
    "shopping_list_item": ("milk", "butter", "rice", "pasta", "orange juice", "yoghurt"),
    "timer_name": ("pizza", "pasta", "eggs", "laundry", "tea", "oven", "nap", "workout"),
    "timer_command": ("switch the porch lamp off", "stop the music", "open the blinds"),
    "message": ("dinner is ready", "time to go", "come downstairs"),
    "search_query": ("jazz", "the beatles", "relaxing music", "my playlist"),
}  # fmt: skip

_NUMBERS = RbnfEngine.for_language("en")


def number_words(n: float) -> str:
    """English words for a number ("twenty one"), as a speech recogniser might write it."""
    text = _NUMBERS.format_number(n).text
    return text.replace("-", " ")


@dataclass
class Sample:
    intent: str
    text: str
    slots: dict[str, Any]
    data: IntentData


class _Walk:
    """One random expansion of a template, remembering slot values."""

    def __init__(self, rng: random.Random, lists: dict[str, SlotList], rules: dict) -> None:
        self.rng, self.lists, self.rules = rng, lists, rules
        self.slots: dict[str, Any] = {}

    def text(self, expr: Expression) -> str:
        rng = self.rng
        if isinstance(expr, TextChunk):
            return expr.original_text if expr.original_text is not None else expr.text
        if isinstance(expr, HSequence):
            if expr.type == SequenceType.ALTERNATIVE:
                return self.text(rng.choice(expr.items))
            items = list(expr.items)
            if expr.type == SequenceType.PERMUTATION:
                rng.shuffle(items)
                return " ".join(self.text(i) for i in items)
            return "".join(self.text(i) for i in items)
        if isinstance(expr, RuleReference):
            return self.text(self.rules[expr.rule_name])
        if isinstance(expr, ListReference):
            return self._list(expr)
        raise ValueError(f"unexpected expression {expr!r}")

    def _list(self, ref: ListReference) -> str:
        slot_list = self.lists.get(ref.list_name)
        if slot_list is None:
            raise KeyError(ref.list_name)
        if isinstance(slot_list, TextSlotList):
            if not slot_list.values:
                raise KeyError(ref.list_name)
            value: TextSlotValue = self.rng.choice(slot_list.values)
            text = self.text(value.text_in)
            self.slots[ref.slot_name] = value.value_out if value.value_out is not None else text
            return text
        if isinstance(slot_list, RangeSlotList):
            n: float = self.rng.randrange(slot_list.start, slot_list.stop + 1, slot_list.step)
            if ref.slot_name == "temperature":
                n = self.rng.choice([n, n, self.rng.randint(16, 26), self.rng.randint(60, 78)])
                if slot_list.fraction_type is not None and self.rng.random() < 0.1:
                    n = n + 0.5
            elif ref.slot_name in ("brightness", "position", "volume_level", "volume"):
                n = self.rng.choice([n, 5 * self.rng.randint(0, 20), 10 * self.rng.randint(1, 10)])
            self.slots[ref.slot_name] = n
            return str(n)
        if isinstance(slot_list, WildcardSlotList):
            text = self.rng.choice(WILDCARD_VALUES.get(ref.list_name, ("something",)))
            self.slots[ref.slot_name] = text
            return text
        raise ValueError(f"unexpected slot list {slot_list!r}")


def _text_list(values: Sequence[str]) -> TextSlotList:
    return TextSlotList.from_tuples([(v, v) for v in values])


def _matches(e: EntityInfo, constraint: dict[str, Any], exclude: dict[str, Any]) -> bool:
    def has(key: str, value: Any) -> bool:
        attr = getattr(e, key, None)
        return attr in value if isinstance(value, list) else attr == value

    for key in ("domain", "device_class"):
        if key in constraint and not has(key, constraint[key]):
            return False
        if key in exclude and has(key, exclude[key]):
            return False
    return True


SPECIFIC_QUESTION_SHARE = 0.5  # questions drawn from templates for one domain or class


def _specific(data: IntentData) -> bool:
    """A template for one kind of device (a domain or device class it requires)."""
    return any(k in (data.requires_context or {}) for k in ("domain", "device_class"))


class TemplateSampler:
    """Samples (sentence, call) pairs from HA's templates for one home at a time."""

    def __init__(self) -> None:
        self.intents = Intents.from_dict(get_intents("en"))
        self.templates: list[tuple[str, IntentData, Any]] = [
            (name, data, sentence)
            for name, intent in self.intents.intents.items()
            if name not in SKIPPED_INTENTS
            for data in intent.data
            for sentence in data.sentences
        ]

    def sample(
        self, rng: random.Random, home: HomeContext, satellite_area: str | None, intent: str
    ) -> Sample | None:
        """One sentence of ``intent`` that makes sense in ``home``; None after a few misses."""
        options = [(d, s) for n, d, s in self.templates if n == intent]
        # Only templates this home can answer: a template for one device class (HA has one per
        # sensor class: "what is the amount of energy from {name}") drawn blindly almost never
        # finds its sensor, so the data would hardly have them.
        options = [
            (d, s)
            for d, s in options
            if any(_matches(e, d.requires_context, d.excludes_context) for e in home.entities)
        ] or options
        specific = [(d, s) for d, s in options if _specific(d)]
        if intent in QUESTION_INTENTS and specific and rng.random() < SPECIFIC_QUESTION_SHARE:
            options = specific  # the home's own kinds of sensor, as often as the generic forms
        for _ in range(8):
            data, sentence = rng.choice(options)
            needs_area = isinstance(data.requires_context.get("area"), dict)
            if needs_area and not satellite_area:
                continue
            ents = [
                e
                for e in home.entities
                if _matches(e, data.requires_context, data.excludes_context)
            ]
            focus = rng.choice(ents) if ents else None
            lists: dict[str, SlotList] = {**self.intents.slot_lists, **data.slot_lists}
            if focus is not None:
                lists["name"] = _text_list(focus.names)
            else:
                lists["name"] = TextSlotList.from_tuples([])
            areas = home.areas
            if focus is not None and focus.area and rng.random() < 0.8:
                # Say an area that has the device: HA's templates pair any area with any
                # device word, and most of what people ask for exists.
                areas = tuple(a for a in home.areas if a.name == focus.area) or areas
            lists["area"] = _text_list([n for a in areas for n in a.names])
            lists["floor"] = _text_list([n for f in home.floors for n in f.names])
            rules = {**self.intents.expansion_rules, **data.expansion_rules}
            walk = _Walk(rng, lists, rules)
            try:
                text = " ".join(walk.text(sentence).split())
            except KeyError:
                continue
            slots = dict(walk.slots)
            if "name" in slots and focus is not None and "area" in slots:
                area = next((a for a in home.areas if slots["area"] in a.names), None)
                if area is None or area.name != focus.area:
                    continue
            for key, value in data.slots.items():
                slots.setdefault(key, value)
            if needs_area:
                slots["area"] = satellite_area
            return Sample(intent, text, slots, data)
        return None


def call_for(sample: Sample, tool_params: dict[str, set[str]]) -> ToolCall | None:
    """The Assist API call for a sampled sentence (None when no tool takes it)."""
    if sample.intent not in tool_params:
        return None
    allowed = tool_params[sample.intent]
    args: dict[str, Any] = {}
    for key, value in sample.slots.items():
        if key == "volume":
            key = "volume_level"
        if key not in allowed or value in (None, "all"):
            continue
        if key in ARRAY_ARGS:
            value = value if isinstance(value, list) else [value]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        args[key] = value
    if "name" in args and "area" in args and sample.data.requires_context.get("domain"):
        pass  # name + area both stay: HA resolves the name inside the area
    if "name" in args:
        # A named entity needs no domain/device_class hints (the eval format says so too).
        args.pop("domain", None)
        args.pop("device_class", None)
    return ToolCall(sample.intent, _ordered(args))


_ORDER = ("name", "area", "floor", "domain", "device_class")


def _ordered(args: dict[str, Any]) -> dict[str, Any]:
    """A fixed key order: the model should not have to guess it."""
    keys = [k for k in _ORDER if k in args] + sorted(k for k in args if k not in _ORDER)
    return {k: args[k] for k in keys}


def words_for_numbers(text: str, rng: random.Random) -> str:
    """ASR style: "set it to 50%" -> "set it to fifty percent"."""
    text = text.replace("%", " percent").replace("°", " degrees")
    return re.sub(
        r"\d+(\.5)?",
        lambda m: number_words(float(m.group())) if rng.random() < 0.8 else m.group(),
        text,
    )
