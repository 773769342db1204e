"""Write the held-out paraphrases as an evaluation suite (``shared/eval/FORMAT.md``).

The phrasings are the hand-written ones of ``heldout.py`` (no template or rule of training
produces them); the homes are drawn with the held-out seed, which no training run uses. Unlike
``heldout.jsonl`` (model inputs and target calls, scored offline), this suite runs in real Home
Assistant through ``tools/evaluate.py``, so HA's built-in agent and Needle are scored side by
side on what they did to the home: every case says which states must change (each case's
``setup`` puts the devices in the opposite state first) and nothing else may change; negatives
must change nothing.

    python -m training.heldout_suite --out eval/paraphrases-en
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import yaml

from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.prompt import EntityInfo, HomeContext

from .heldout import HELDOUT_SEED, case
from .homes import random_home

SERVICE_DOMAINS = {"light", "switch", "fan", "cover", "climate", "media_player", "lock"}


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.casefold()).strip("_")


def home_fixture(name: str, home: HomeContext) -> dict[str, Any]:
    """A home of the generator as a fixture, with each domain's HA attributes."""
    floors = [{"id": _slug(f.name), "name": f.name} for f in home.floors]
    areas = []
    for a in home.areas:
        area: dict[str, Any] = {"id": _slug(a.name), "name": a.name}
        if a.floor:
            area["floor"] = _slug(a.floor)
        if a.aliases:
            area["aliases"] = list(a.aliases)
        areas.append(area)
    entities = []
    for e in home.entities:
        entity: dict[str, Any] = {"entity_id": e.entity_id, "name": e.name}
        if e.area:
            entity["area"] = _slug(e.area)
        if e.aliases:
            entity["aliases"] = list(e.aliases)
        entity.update(_initial(e))
        entities.append(entity)
    return {"name": name, "language": "en", "floors": floors, "areas": areas, "entities": entities}


def _initial(e: EntityInfo) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if e.device_class:
        attrs["device_class"] = e.device_class
    state = "off"
    if e.domain == "light":
        attrs["supported_color_modes"] = ["brightness"]
    elif e.domain in ("cover", "valve"):
        state, attrs["current_position"] = "closed", 0
    elif e.domain == "climate":
        state = "heat"
        attrs.update(hvac_modes=["off", "heat"], temperature=20, current_temperature=19)
    elif e.domain == "media_player":
        state, attrs["volume_level"] = "paused", 0.4
    elif e.domain == "lock":
        state = "locked"
    elif e.domain in ("sensor", "weather"):
        state = "20" if e.domain == "sensor" else "sunny"
    elif e.domain == "todo":
        state = "0"
    elif e.domain == "vacuum":
        state = "docked"
    elif e.domain == "scene":
        state = "unknown"
    return {"state": state, **({"attributes": attrs} if attrs else {})}


def effects(
    calls: list[ToolCall], home: HomeContext, area: str | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(setup, expect_states) for the calls, or None when the effect is not well defined
    (e.g. "the thermostat" in a home with two)."""
    setup: dict[str, Any] = {}
    expect: dict[str, Any] = {}
    by_name = {e.name: e for e in home.entities}
    for call in calls:
        args = call.arguments
        if call.name in ("HassTurnOn", "HassTurnOff"):
            on = call.name == "HassTurnOn"
            if "name" in args:
                targets = [by_name[args["name"]]]
            else:
                targets = [
                    e for e in home.entities if e.domain == "light" and e.area == args["area"]
                ]
            for e in targets:
                if e.domain not in ("light", "switch", "fan"):
                    return None
                setup[e.entity_id] = {"state": "off" if on else "on"}
                expect[e.entity_id] = {"state": "on" if on else "off"}
        elif call.name == "HassLightSet":
            e = by_name[args["name"]]
            setup[e.entity_id] = {"state": "off"}
            expect[e.entity_id] = {
                "state": "on", "attributes": {"brightness": round(args["brightness"] * 255 / 100)}
            }  # fmt: skip
        elif call.name == "HassSetPosition":
            e = by_name[args["name"]]
            v = int(args["position"])
            start = 100 if v < 50 else 0
            setup[e.entity_id] = {"state": "open" if start else "closed",
                                  "attributes": {"current_position": start}}  # fmt: skip
            expect[e.entity_id] = {"state": "open" if v else "closed",
                                   "attributes": {"current_position": v}}  # fmt: skip
        elif call.name == "HassClimateSetTemperature":
            thermostats = [e for e in home.entities if e.domain == "climate"]
            if len(thermostats) != 1:
                return None
            e = thermostats[0]
            if area and e.area != area:
                return None
            setup[e.entity_id] = {"state": "heat", "attributes": {"temperature": 16}}
            expect[e.entity_id] = {"attributes": {"temperature": args["temperature"]}}
        elif call.name.startswith("HassMedia"):
            players = [
                e for e in home.entities if e.domain == "media_player" and e.area == args["area"]
            ]
            if len(players) != 1:
                return None
            e = players[0]
            if call.name == "HassMediaPause":
                setup[e.entity_id], expect[e.entity_id] = {"state": "playing"}, {"state": "paused"}
            elif call.name == "HassMediaUnpause":
                setup[e.entity_id], expect[e.entity_id] = {"state": "paused"}, {"state": "playing"}
            else:
                step = 1 if call.name == "HassMediaNext" else -1
                setup[e.entity_id] = {"state": "playing", "attributes": {"media_track": 5}}
                expect[e.entity_id] = {"attributes": {"media_track": 5 + step}}
        else:
            return None
    return setup, expect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("eval/paraphrases-en"))
    parser.add_argument("--homes", type=int, default=6)
    parser.add_argument("--per-home", type=int, default=50)
    args = parser.parse_args()
    rng = random.Random(HELDOUT_SEED + 1)  # not the offline set's stream, same phrasings
    (args.out / "homes").mkdir(parents=True, exist_ok=True)
    lines = []
    for h in range(args.homes):
        home = random_home(rng, n_entities=rng.randint(15, 60))
        key = f"homes/home{h + 1}.yaml"
        fixture = home_fixture(f"Held-out home {h + 1}", home)
        (args.out / key).write_text(yaml.safe_dump(fixture, sort_keys=False), encoding="utf-8")
        seen: set[str] = set()
        tries = 0
        while len(seen) < args.per_home and tries < args.per_home * 40:
            tries += 1
            got = case(rng, home)
            if got is None or got[0] in seen:
                continue
            text, calls, area = got
            row: dict[str, Any] = {"id": f"paraphrases-en/h{h + 1}-{len(seen):03d}", "home": key,
                                   "text": text}  # fmt: skip
            if area:
                row["context_area"] = _slug(area)
            if not calls:
                row.update(expect_no_calls=True, tags=["negative"])
            else:
                got_effects = effects(calls, home, area)
                if got_effects is None:
                    continue
                setup, expect = got_effects
                row.update(setup=setup, expect_states=expect, tags=[calls[0].name])
                if "area" in calls[0].arguments:
                    row["tags"].append("area")
            seen.add(text)
            lines.append(row)
    with (args.out / "cases.jsonl").open("w", encoding="utf-8") as f:
        for row in lines:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(lines)} cases in {args.homes} homes -> {args.out}")


if __name__ == "__main__":
    main()
