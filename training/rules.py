"""What HA's templates miss: indirect requests, follow-ups, negatives, speech-recogniser noise.

Each rule returns (sentence, calls, previous turn or None, satellite area) for a home, or None
when the home has nothing it could apply to. Kept apart from ``heldout.py``, whose phrasings
must never appear here (the held-out set measures generalisation to unseen wording).
"""

from __future__ import annotations

import random
from typing import Any

from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.prompt import EntityInfo, HomeContext, Turn

from .sentences import words_for_numbers

Rule = tuple[str, list[ToolCall], Turn | None, str | None]


def _in_area(home: HomeContext, area: str, domain: str) -> list[EntityInfo]:
    return [e for e in home.entities if e.area == area and e.domain == domain]


def _area_with(home: HomeContext, rng: random.Random, domain: str) -> str | None:
    areas = sorted({e.area for e in home.entities if e.domain == domain and e.area})
    return rng.choice(areas) if areas else None


DARK = (
    "it's too dark in here",
    "i can't see anything",
    "it is so dark here",
    "could use some light in here",
    "lights please",
    "more light please",
)
STUFFY = ("it's so stuffy in here", "i need some air in here", "it's really hot in here")
CLEAN = ("the floors are dirty", "time to clean the house", "the house needs cleaning")
CHAT = (
    "hello",
    "how are you",
    "tell me a joke",
    "thank you",
    "thanks",
    "what's your name",
    "who made you",
    "good morning",
    "i love you",
    "sing a song",
    "what can you do",
    "never mind that",
    "ok",
    "cool",
    "that's great",
    "you're funny",
    "bye",
    "what is the meaning of life",
    "how old are you",
    "can you hear me",
)
UNKNOWN = (
    "sauna",
    "hot tub",
    "pool pump",
    "aquarium light",
    "garage heater",
    "jacuzzi",
    "sprinkler",
    "dishwasher",
    "oven",
    "fireplace",
    "car charger",
    "treadmill",
    "bathroom mirror",
    "wine fridge",
    "tesla",
    "doorbell camera",
    "alarm",
)
FOLLOW_AREA = (
    "and the {a} too",
    "the {a} as well",
    "also the {a}",
    "same in the {a}",
    "and in the {a}",
    "{a} too",
)
FOLLOW_NAME = ("and the {n} too", "the {n} as well", "also the {n}", "and {n}")
FOLLOW_OFF = (
    "turn it off",
    "switch it off again",
    "turn that off",
    "off again please",
    "actually turn it off",
)
FOLLOW_ON = ("turn it on", "turn it back on", "switch it on again", "on again please")
FOLLOW_BRIGHT = (
    "set it to {b} percent",
    "make it {b}%",
    "brightness {b} please",
    "now {b} percent",
)
DIRECT_ON = (
    "{n} on",
    "activate the {n}",
    "enable {n}",
    "let's have the {n} on",
    "put the {n} on",
    "start the {n}",
    "can you switch {n} on",
    "the {n} on please",
)
DIRECT_OFF = (
    "{n} off",
    "deactivate the {n}",
    "disable {n}",
    "stop the {n}",
    "put the {n} off",
    "can you switch {n} off",
    "the {n} off please",
    "cut the {n}",
)
DIRECT_LEVEL = (
    "{n} {v} percent",
    "{n} brightness {v}",
    "dim the {n} to {v}%",
    "set {n} at {v} percent",
    "change the {n} to {v} percent",
)
FILLERS = ("uh ", "um ", "please ", "hey ", "okay ", "so ", "can you ", "could you ")
# fmt: on


def indirect(rng: random.Random, home: HomeContext) -> Rule | None:
    kind = rng.random()
    if kind < 0.6:
        area = _area_with(home, rng, "light")
        if area is None:
            return None
        call = ToolCall("HassTurnOn", {"area": area, "domain": ["light"]})
        return rng.choice(DARK), [call], None, area
    if kind < 0.8:
        area = _area_with(home, rng, "fan")
        if area is None:
            return None
        call = ToolCall("HassTurnOn", {"area": area, "domain": ["fan"]})
        return rng.choice(STUFFY), [call], None, area
    vacuums = [e for e in home.entities if e.domain == "vacuum"]
    if len(vacuums) != 1:
        return None
    return rng.choice(CLEAN), [ToolCall("HassVacuumStart", {"name": vacuums[0].name})], None, None


def negative(rng: random.Random, home: HomeContext) -> Rule | None:
    """Right answer: no call (chit-chat, devices the home does not have, "it" with no context)."""
    kind = rng.random()
    area = rng.choice(home.areas).name if home.areas and rng.random() < 0.5 else None
    if kind < 0.35:
        return rng.choice(CHAT), [], None, area
    if kind < 0.8:
        thing = rng.choice(UNKNOWN)
        known = " ".join(n.casefold() for e in home.entities for n in e.names)
        if any(w in known for w in thing.split()):
            return None
        verb = rng.choice(
            (
                "turn on the",
                "switch off the",
                "open the",
                "start the",
                "turn off my",
                "set the {t} to 50 percent",
                "lock the",
            )
        )
        text = verb.replace("{t}", thing) if "{t}" in verb else f"{verb} {thing}"
        return text, [], None, area
    return (
        rng.choice(
            ("turn it on", "switch it off", "open it", "make it brighter", "set it to 40 percent")
        ),
        [],
        None,
        area,
    )


def follow_up(
    rng: random.Random, home: HomeContext, first: str, calls: list[ToolCall], first_area: str | None
) -> Rule | None:
    """A second turn after ``first`` (which made ``calls``): "and the kitchen too", "turn it off"."""
    if len(calls) != 1 or calls[0].name not in ("HassTurnOn", "HassTurnOff", "HassLightSet"):
        return None
    prev = Turn(first, tuple(calls))
    call = calls[0]
    args: dict[str, Any] = dict(call.arguments)
    kind = rng.random()
    if "area" in args and "name" not in args and kind < 0.5:
        domain = (args.get("domain") or [None])[0]
        others = sorted(
            {
                e.area
                for e in home.entities
                if e.area and e.area != args["area"] and (not domain or e.domain == domain)
            }
        )
        if not others:
            return None
        other = rng.choice(others)
        args["area"] = other
        return (
            rng.choice(FOLLOW_AREA).format(a=other),
            [ToolCall(call.name, args)],
            prev,
            first_area,
        )
    if "name" in args and kind < 0.5:
        named = next((e for e in home.entities if args["name"] in e.names), None)
        if named is None:
            return None
        others = [e for e in home.entities if e.domain == named.domain and e is not named]
        if not others:
            return None
        other = rng.choice(others)
        args["name"] = other.name
        text = rng.choice(FOLLOW_NAME).format(
            n=other.name.lower() if rng.random() < 0.5 else other.name
        )
        return text, [ToolCall(call.name, args)], prev, first_area
    target = {
        k: v for k, v in args.items() if k in ("name", "area", "floor", "domain", "device_class")
    }
    if call.name == "HassLightSet" and "name" not in target:
        target["domain"] = ["light"]  # "turn it off" after dimming an area means its lights
    if call.name in ("HassTurnOn", "HassLightSet") and kind < 0.8:
        return rng.choice(FOLLOW_OFF), [ToolCall("HassTurnOff", target)], prev, first_area
    if call.name == "HassTurnOff" and kind < 0.8:
        return rng.choice(FOLLOW_ON), [ToolCall("HassTurnOn", target)], prev, first_area
    domain = args.get("domain")
    named = next((e for e in home.entities if e.names and args.get("name") in e.names), None)
    is_light = (domain == ["light"]) or (named is not None and named.domain == "light")
    if not is_light:
        return None
    b = rng.choice((10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100))
    light_target = {k: v for k, v in target.items() if k != "device_class"}
    light_target.pop("domain", None) if "name" in light_target else None
    return (
        rng.choice(FOLLOW_BRIGHT).format(b=b),
        [ToolCall("HassLightSet", {**light_target, "brightness": b})],
        prev,
        first_area,
    )


def direct(rng: random.Random, home: HomeContext) -> Rule | None:
    """Plain commands naming one entity, in wording the templates lack."""
    ents = [e for e in home.entities if e.domain in ("light", "switch", "fan", "input_boolean")]
    if not ents:
        return None
    e = rng.choice(ents)
    name = rng.choice(e.names)
    spoken = name.lower() if rng.random() < 0.7 else name
    r = rng.random()
    if r < 0.4:
        return (
            rng.choice(DIRECT_ON).format(n=spoken),
            [ToolCall("HassTurnOn", {"name": name})],
            None,
            None,
        )
    if r < 0.8 or e.domain != "light":
        call = ToolCall("HassTurnOff", {"name": name})
        return rng.choice(DIRECT_OFF).format(n=spoken), [call], None, None
    v = rng.choice((5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 80, 85, 90, 95, 100))
    call = ToolCall("HassLightSet", {"name": name, "brightness": v})
    return rng.choice(DIRECT_LEVEL).format(n=spoken, v=v), [call], None, None


_NEIGHBOURS = "qwertyuiopasdfghjklzxcvbnm"


def asr_noise(text: str, rng: random.Random) -> str:
    """Speech-recogniser style: lower case, no punctuation, numbers in words, fillers, typos."""
    if rng.random() < 0.5:
        text = text.lower()
    if rng.random() < 0.6:
        text = "".join(c for c in text if c.isalnum() or c in " '%°.")
        text = text.rstrip(".")
    if rng.random() < 0.4:
        text = words_for_numbers(text, rng)
    if rng.random() < 0.3:
        text = rng.choice(FILLERS) + text
    if rng.random() < 0.15:
        text += rng.choice((" please", " thanks", " now"))
    if rng.random() < 0.15 and len(text) > 8:
        i = rng.randrange(1, len(text) - 1)
        if text[i].isalpha():
            op = rng.random()
            if op < 0.4:
                text = text[:i] + text[i + 1 :]  # dropped letter
            elif op < 0.7:
                text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # swapped letters
            else:
                text = text[:i] + rng.choice(_NEIGHBOURS) + text[i + 1 :]
    return " ".join(text.split())


# Frames people put around any command; generic (they say nothing about the command itself).
WRAPPERS = (
    "could you {c}",
    "can you please {c}",
    "please {c}",
    "{c} for me",
    "i want you to {c}",
    "i need you to {c}",
    "hey, {c}",
    "{c}, thanks",
    "go ahead and {c}",
    "would you {c} please",
    "quickly {c}",
    "ok {c}",
    "can we {c}",
    "let's {c}",
)


def wrap(text: str, rng: random.Random) -> str:
    """A command inside a polite or casual frame ("could you turn on the fan")."""
    inner = text.rstrip(".!?")
    if inner[:1].isupper() and not inner[1:2].isupper():
        inner = inner[:1].lower() + inner[1:]
    return rng.choice(WRAPPERS).format(c=inner)


def style(text: str, rng: random.Random) -> str:
    """How a typed or dictated sentence looks: often all lower case (as speech-to-text writes
    names), sometimes capitalised and punctuated."""
    r = rng.random()
    if r < 0.5:
        return text.lower()
    if r < 0.8:
        text = text[:1].upper() + text[1:]
        if rng.random() < 0.5:
            text += rng.choice(
                (".", "!", "?" if text.lower().startswith(("is", "what", "how")) else ".")
            )
    return text
