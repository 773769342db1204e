"""The held-out set: paraphrases written by hand, disjoint from HA's templates and our rules.

Training sentences come from HA's intent templates (``sentences.py``) and from ``rules.py``.
This file holds a third, separate set of phrasings, written by hand for this purpose and used
for nothing else, so that its score says how well the model handles wording it never saw
("could you kill the {name}", "I'd like the {area} lights off"). Homes are drawn with a seed
no training run uses. The prompt is built exactly as in training (same builder, same window).

    .venv/bin/python -m training.heldout --spm training/data/tokenizer.model \
        --out training/heldout/heldout.jsonl --n 400
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.prompt import EntityInfo, HomeContext

from .generate import MAX_ENCODER_TOKENS, load_tools, make_example, pick_max_entities, spm_counter
from .homes import random_home

HELDOUT_SEED = 20_240_601

# (phrasing, tool, extra args); {n} = entity name, {a} = area, {v} = a number.
NAMED_ON = (
    "could you get the {n} going",
    "i'd like the {n} on",
    "power up the {n} for me",
    "fire up the {n}",
    "{n}, on please",
    "would you mind switching the {n} on",
)
NAMED_OFF = (
    "kill the {n}",
    "i don't need the {n} anymore, turn it off",
    "power down the {n}",
    "{n} off now",
    "shut the {n} off for me",
    "would you mind switching off the {n}",
)
AREA_LIGHTS_ON = (
    "i'd like some light in the {a}",
    "brighten up the {a} please",
    "get the lights going in the {a}",
    "can we have the {a} lights on",
)
AREA_LIGHTS_OFF = (
    "i'd like the {a} lights off",
    "kill all the lights in the {a}",
    "no more lights in the {a}",
    "darken the {a}",
)
LIGHT_LEVEL = (
    "put the {n} at {v} percent",
    "i want the {n} at {v}%",
    "{n} to {v} percent brightness please",
)
COVER_POS = ("move the {n} to {v} percent", "i want the {n} {v}% open")
CLIMATE = (
    "i'd like it to be {v} degrees in here",
    "heat the house to {v} degrees",
    "make the thermostat {v}",
)
MEDIA = (
    ("hold the music", "HassMediaPause"),
    ("carry on playing", "HassMediaUnpause"),
    ("play the next one", "HassMediaNext"),
    ("go back one song", "HassMediaPrevious"),
)
NEGATIVE = (
    "what's the capital of france",
    "remind me how tall mount everest is",
    "you are a good assistant",
    "order a pizza for me",
    "call my mother",
    "switch on the {x}",
    "please open the {x}",
)
UNKNOWN = ("espresso grinder", "ice maker", "heated floor", "laser printer", "snow blower")
# fmt: on


def _pick(home: HomeContext, rng: random.Random, domain: str) -> EntityInfo | None:
    ents = [e for e in home.entities if e.domain == domain]
    return rng.choice(ents) if ents else None


def case(rng: random.Random, home: HomeContext) -> tuple[str, list[ToolCall], str | None] | None:
    r = rng.random()
    area = None
    if r < 0.22:
        e = rng.choice(
            [e for e in home.entities if e.domain in ("light", "switch", "fan")] or [None]
        )
        if e is None:
            return None
        pat, tool = (
            (rng.choice(NAMED_ON), "HassTurnOn")
            if rng.random() < 0.5
            else (rng.choice(NAMED_OFF), "HassTurnOff")
        )
        return pat.format(n=e.name.lower()), [ToolCall(tool, {"name": e.name})], area
    if r < 0.40:
        lights = sorted({e.area for e in home.entities if e.domain == "light" and e.area})
        if not lights:
            return None
        a = rng.choice(lights)
        pat, tool = (
            (rng.choice(AREA_LIGHTS_ON), "HassTurnOn")
            if rng.random() < 0.5
            else (rng.choice(AREA_LIGHTS_OFF), "HassTurnOff")
        )
        return pat.format(a=a.lower()), [ToolCall(tool, {"area": a, "domain": ["light"]})], area
    if r < 0.55:
        e = _pick(home, rng, "light")
        if e is None:
            return None
        v = rng.choice((10, 20, 30, 40, 50, 60, 75, 80, 100))
        call = ToolCall("HassLightSet", {"name": e.name, "brightness": v})
        return rng.choice(LIGHT_LEVEL).format(n=e.name.lower(), v=v), [call], area
    if r < 0.63:
        e = _pick(home, rng, "cover")
        if e is None:
            return None
        v = rng.choice((0, 25, 50, 70, 100))
        call = ToolCall("HassSetPosition", {"name": e.name, "position": v})
        return rng.choice(COVER_POS).format(n=e.name.lower(), v=v), [call], area
    if r < 0.70:
        if _pick(home, rng, "climate") is None:
            return None
        v = rng.choice((18, 19, 20, 21, 22, 23))
        pat = rng.choice(CLIMATE)
        args: dict[str, Any] = {"temperature": v}
        if "in here" in pat:
            area = rng.choice(home.areas).name
            args = {"area": area, "temperature": v}
        return pat.format(v=v), [ToolCall("HassClimateSetTemperature", args)], area
    if r < 0.80:
        players = [e for e in home.entities if e.domain == "media_player" and e.area]
        if not players:
            return None
        area = rng.choice(players).area
        text, tool = rng.choice(MEDIA)
        return text, [ToolCall(tool, {"area": area})], area
    text = rng.choice(NEGATIVE).replace("{x}", rng.choice(UNKNOWN))
    return text, [], area


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--out", type=Path, default=Path("training/heldout/heldout.jsonl"))
    parser.add_argument("--spm", type=Path, required=True)
    parser.add_argument(
        "--integration-defaults",
        action="store_true",
        help="build prompts as the integration does by default (1024 tokens, 64 entities)",
    )
    args = parser.parse_args()
    rng = random.Random(HELDOUT_SEED)
    tools = load_tools()
    count = spm_counter(args.spm)
    written = 0
    with args.out.open("w", encoding="utf-8") as f:
        while written < args.n:
            home = random_home(rng)
            got = case(rng, home)
            if got is None:
                continue
            text, calls, area = got
            ex = make_example(
                text,
                calls,
                home,
                tools,
                satellite_area=area,
                previous=None,
                max_entities=(pick_max_entities(rng), 64)[args.integration_defaults],
                count_tokens=count,
                source="heldout",
                max_encoder_tokens=1024 if args.integration_defaults else MAX_ENCODER_TOKENS,
            )
            if ex is None:
                continue
            ex["text"] = text
            f.write(json.dumps(ex, ensure_ascii=False) + "\n")
            written += 1
    print(f"{written} held-out examples -> {args.out}")


if __name__ == "__main__":
    main()
