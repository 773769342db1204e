"""Writes eval/trust-en and eval/homes-en from the hand-written rows below.

Every home, name and sentence here was written by hand for these suites (issue 12 item 6 and
issue 13 item 5); nothing is drawn from training/ or from another suite. The helpers only
expand a compact row into FORMAT.md's JSON (setup, expect_states, expect_no_calls). Run:
``python eval/own_suites.py`` from the repository root.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent


# ---------------------------------------------------------------- entity helpers
def light(eid, name, area, state="off", bri=None, aliases=None, onoff=False):
    attrs = {"supported_color_modes": ["onoff"]} if onoff else {
        "supported_color_modes": ["brightness"], "brightness": bri if bri is not None else (200 if state == "on" else 0)}
    return _e(eid, name, area, state, attrs, aliases)


def sw(eid, name, area, state="off", dc="outlet", aliases=None):
    return _e(eid, name, area, state, {"device_class": dc}, aliases)


def cover(eid, name, area, dc, pos=None, aliases=None):
    attrs = {"device_class": dc}
    if pos is not None:
        attrs["current_position"] = pos
        state = "closed" if pos == 0 else "open"
    else:
        state = "closed"
    return _e(eid, name, area, state, attrs, aliases)


def lock(eid, name, area, state="locked", aliases=None):
    return _e(eid, name, area, state, {}, aliases)


def climate(eid, name, area, mode="heat", target=20, cur=19, modes=("off", "heat"), lo=7, hi=30, aliases=None):
    return _e(eid, name, area, mode, {"hvac_modes": list(modes), "temperature": target,
              "current_temperature": cur, "min_temp": lo, "max_temp": hi}, aliases)


def media(eid, name, area, dc="speaker", state="idle", vol=0.4, aliases=None):
    return _e(eid, name, area, state, {"device_class": dc, "volume_level": vol}, aliases)


def fan(eid, name, area, state="off", pct=None, aliases=None):
    return _e(eid, name, area, state, {"percentage": pct if pct is not None else (60 if state == "on" else 0)}, aliases)


def vac(eid, name, area, state="docked", aliases=None):
    return _e(eid, name, area, state, {}, aliases)


def todo(eid, name, items, aliases=None):
    return _e(eid, name, None, str(len(items)), {"items": list(items)}, aliases)


def sensor(eid, name, area, state, unit=None, dc=None):
    attrs = {}
    if unit:
        attrs["unit_of_measurement"] = unit
    if dc:
        attrs["device_class"] = dc
    return _e(eid, name, area, str(state), attrs)


def bs(eid, name, area, state, dc):
    return _e(eid, name, area, state, {"device_class": dc})


def valve(eid, name, area, state="closed", aliases=None):
    return _e(eid, name, area, state, {"device_class": "water"}, aliases)


def script(eid, name):
    return _e(eid, name, None, "off", {})


def boolean(eid, name, state="off"):
    return _e(eid, name, None, state, {})


def _e(eid, name, area, state, attrs, aliases=None):
    out = {"entity_id": eid, "name": name}
    if area:
        out["area"] = area
    if aliases:
        out["aliases"] = list(aliases)
    out["state"] = state
    if attrs:
        out["attributes"] = attrs
    return out


def area(aid, name, floor=None, aliases=None):
    out = {"id": aid, "name": name}
    if floor:
        out["floor"] = floor
    if aliases:
        out["aliases"] = list(aliases)
    return out


# ---------------------------------------------------------------- case helpers
class Suite:
    def __init__(self, name: str) -> None:
        self.name = name
        self.cases: list[dict] = []
        self.homes: dict[str, dict] = {}

    def home(self, key: str, name: str, areas, entities, floors=None) -> str:
        doc = {"name": name, "language": "en"}
        if floors:
            doc["floors"] = [{"id": f, "name": n} for f, n in floors]
        doc["areas"] = areas
        doc["entities"] = entities
        self.homes[key] = doc
        return key

    def _id(self, home: str) -> str:
        n = sum(c["home"] == f"homes/{home}.yaml" for c in self.cases)
        return f"{self.name}/{home}-{n:03d}"

    def act(self, home, text, changes, tags, setup=None, context=None, calls=None, alts=None):
        """changes: entity -> expected {state/attrs}; setup: entity -> state before."""
        case = {"id": self._id(home), "home": f"homes/{home}.yaml", "text": text}
        if setup:
            case["setup"] = setup
        if context:
            case["context_area"] = context
        case["expect_states"] = changes
        if calls:
            case["expect_calls"] = calls
        if alts:
            case["expect_calls_alternatives"] = alts
        case["tags"] = tags
        self.cases.append(case)

    def nothing(self, home, text, tags, setup=None, context=None, not_said=None):
        """Acts on nothing: no call, no change; the reply must not claim an action."""
        case = {"id": self._id(home), "home": f"homes/{home}.yaml", "text": text}
        if setup:
            case["setup"] = setup
        if context:
            case["context_area"] = context
        case["expect_no_calls"] = True
        if not_said:
            case["expect_reply"] = {"not_contains": not_said}
        case["tags"] = tags
        self.cases.append(case)

    def ask(self, home, text, entity, state, reply_any, tags, reply_not=(), context=None, attrs=None):
        """A question: the home stays as it is, the answer contains one of ``reply_any``."""
        spec = {"state": state}
        if attrs:
            spec.update(attrs)
        case = {"id": self._id(home), "home": f"homes/{home}.yaml", "text": text}
        if context:
            case["context_area"] = context
        case["expect_states"] = {entity: spec}
        case["expect_reply"] = {"contains_any": list(reply_any),
                                "not_contains": ["sorry", "could not", "not aware", *reply_not]}
        case["tags"] = tags
        self.cases.append(case)

    def write(self) -> None:
        out = ROOT / self.name
        (out / "homes").mkdir(parents=True, exist_ok=True)
        for key, doc in self.homes.items():
            (out / "homes" / f"{key}.yaml").write_text(
                yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100))
        with (out / "cases.jsonl").open("w") as f:
            for c in self.cases:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")


ON, OFF = {"state": "on"}, {"state": "off"}
CLAIMS = ["turned on", "turned off", "opened", "closed", "locked", "unlocked", "started",
          "added", "set to", "paused", "activated"]


def add_item(list_name, item):
    return [{"name": "HassListAddItem", "arguments": {"item": item, "name": list_name}}]


# ================================================================ trust-en
def trust() -> Suite:
    s = Suite("trust-en")
    t = s.home("terrace", "Terraced house, three bedrooms", [
        area("lounge", "Lounge", aliases=["Living Room"]), area("kitchen", "Kitchen"),
        area("dining", "Dining Room"), area("primary", "Primary Bedroom"),
        area("bed2", "Bedroom 2", aliases=["Ollie's Room"]), area("office", "Office"),
        area("bathroom", "Bathroom"), area("hall", "Hallway"), area("garden", "Garden")], [
        light("light.lounge_ceiling", "Ceiling Light", "lounge"),
        light("light.kitchen_ceiling", "Ceiling Light", "kitchen"),
        light("light.primary_ceiling", "Ceiling Light", "primary"),
        light("light.arc_floor_lamp", "Arc Floor Lamp", "lounge"),
        light("light.under_cabinet", "Under Cabinet LEDs", "kitchen", onoff=True),
        light("light.dining_pendant", "Dining Pendant", "dining"),
        light("light.bedside_left", "Bedside Left", "primary"),
        light("light.bedside_right", "Bedside Right", "primary"),
        light("light.dinosaur_lamp", "Dinosaur Lamp", "bed2"),
        light("light.wiz_desk", "WiZ Desk Bulb", "office"),
        light("light.mirror_cabinet", "Mirror Cabinet Light", "bathroom", onoff=True),
        light("light.hall_downlights", "Hall Downlights", "hall"),
        light("light.festoon", "Festoon Lights", "garden", onoff=True),
        cover("cover.lounge_blind", "Lounge Blind", "lounge", "blind", 100),
        cover("cover.kitchen_blind", "Kitchen Blind", "kitchen", "blind", 100),
        cover("cover.bed2_blind", "Bedroom 2 Blind", "bed2", "blind", 0),
        cover("cover.office_blind", "Office Blind", "office", "blind", 50),
        lock("lock.front_door", "Front Door", "hall"),
        lock("lock.patio_door", "Patio Door", "dining"),
        climate("climate.tado_hallway", "Tado Hallway", "hall", target=19, cur=18, lo=5, hi=25),
        fan("fan.office_fan", "Office Fan", "office"),
        fan("fan.bedroom_fan", "Bedroom Fan", "primary"),
        media("media_player.lounge_tv", "Lounge TV", "lounge", "tv", "playing", 0.3),
        media("media_player.kitchen_sonos", "Kitchen Sonos", "kitchen", "speaker", "playing", 0.25),
        media("media_player.lounge_sonos", "Lounge Sonos", "lounge", "speaker", "paused", 0.3),
        sw("switch.kettle", "Kettle", "kitchen", dc="switch"),
        sw("switch.dehumidifier_plug", "Dehumidifier Plug", "bed2"),
        todo("todo.groceries", "Groceries", ["bread", "eggs"]),
        todo("todo.hardware_shop", "Hardware Shop", ["sandpaper"]),
        todo("todo.ollies_chores", "Ollie's Chores", ["feed the cat"]),
        sensor("sensor.hallway_temperature", "Hallway Temperature", "hall", 18.4, "°C", "temperature"),
        bs("binary_sensor.front_door_contact", "Front Door Contact", "hall", "off", "door"),
    ])
    blinds_open = {"cover.bed2_blind": {"state": "open", "attributes": {"current_position": 100}}}
    # negations
    s.nothing(t, "don't turn on the kitchen light", ["negation"], not_said=CLAIMS)
    s.nothing(t, "no wait, don't open the lounge blind", ["negation"],
              setup={"cover.lounge_blind": {"state": "closed", "attributes": {"current_position": 0}}})
    s.nothing(t, "never mind the hallway lights", ["negation"])
    s.nothing(t, "actually leave the festoon lights on", ["negation"], setup={"light.festoon": ON})
    s.nothing(t, "please don't pause the kitchen sonos", ["negation"])
    s.nothing(t, "do not unlock the front door", ["negation"], not_said=["unlocked"])
    s.nothing(t, "forget it, don't bother with the kettle", ["negation"])
    s.act(t, "turn off the lounge lights but leave the arc floor lamp on",
          {"light.lounge_ceiling": OFF, "light.arc_floor_lamp": ON}, ["negation", "leave_on"],
          setup={"light.lounge_ceiling": ON, "light.arc_floor_lamp": ON})
    s.act(t, "switch everything off in the primary bedroom apart from bedside left",
          {"light.primary_ceiling": OFF, "light.bedside_right": OFF, "fan.bedroom_fan": OFF,
           "light.bedside_left": ON}, ["negation", "leave_on"],
          setup={"light.primary_ceiling": ON, "light.bedside_right": ON, "light.bedside_left": ON,
                 "fan.bedroom_fan": {"state": "on", "attributes": {"percentage": 60}}})
    s.act(t, "not the office fan, the bedroom fan, turn that one on", {"fan.bedroom_fan": ON},
          ["negation"])
    # missing targets
    s.nothing(t, "open the blind", ["missing_target", "cover"])
    s.nothing(t, "turn on the ceiling light", ["missing_target", "light"])
    s.nothing(t, "lock the door", ["missing_target", "lock"],
              setup={"lock.front_door": {"state": "unlocked"}, "lock.patio_door": {"state": "unlocked"}})
    s.nothing(t, "turn the fan on", ["missing_target", "fan"])
    s.nothing(t, "pause the sonos", ["missing_target", "media"],
              setup={"media_player.lounge_sonos": {"state": "playing"}})
    s.nothing(t, "put the blind half way", ["missing_target", "cover"])
    # the same with the satellite's area: now they are clear
    s.act(t, "turn on the ceiling light", {"light.kitchen_ceiling": ON}, ["context", "light"],
          context="kitchen")
    s.act(t, "open the blind", blinds_open, ["context", "cover"], context="bed2")
    s.act(t, "turn the fan on", {"fan.office_fan": ON}, ["context", "fan"], context="office")
    s.act(t, "pause the sonos", {"media_player.lounge_sonos": {"state": "paused"}},
          ["context", "media"], setup={"media_player.lounge_sonos": {"state": "playing"}},
          context="lounge")
    # devices the home lacks
    for text in ("start the vacuum", "open the garage door", "turn the air conditioning on",
                 "switch on the sprinklers in the garden", "turn on the hot tub",
                 "turn on the dining room fan"):
        s.nothing(t, text, ["lacks"], not_said=CLAIMS)
    # invalid values
    s.nothing(t, "set the dining pendant to 150 percent", ["invalid_value", "light"],
              setup={"light.dining_pendant": {"state": "on", "attributes": {"brightness": 100}}})
    s.nothing(t, "heat the hallway to 45 degrees", ["invalid_value", "climate"])
    s.nothing(t, "put the office blind at 140 percent", ["invalid_value", "cover"])
    s.nothing(t, "set the tado to minus 5", ["invalid_value", "climate"])
    s.nothing(t, "kitchen sonos volume 250", ["invalid_value", "media"])
    s.nothing(t, "set the office fan speed to 300 percent", ["invalid_value", "fan"],
              setup={"fan.office_fan": {"state": "on", "attributes": {"percentage": 40}}})
    # several actions
    s.act(t, "turn off the lounge tv and open the lounge blind",
          {"media_player.lounge_tv": OFF,
           "cover.lounge_blind": {"state": "open", "attributes": {"current_position": 100}}},
          ["multi"], setup={"cover.lounge_blind": {"state": "closed", "attributes": {"current_position": 0}}})
    s.act(t, "switch on the kettle, the under cabinet LEDs and the dining pendant",
          {"switch.kettle": ON, "light.under_cabinet": ON, "light.dining_pendant": ON}, ["multi", "three"])
    s.act(t, "lock the front door and the patio door and kill the hall downlights",
          {"lock.front_door": {"state": "locked"}, "lock.patio_door": {"state": "locked"},
           "light.hall_downlights": OFF}, ["multi", "three"],
          setup={"lock.front_door": {"state": "unlocked"}, "lock.patio_door": {"state": "unlocked"},
                 "light.hall_downlights": ON})
    s.act(t, "set the tado to 21 and turn on the bedroom fan",
          {"climate.tado_hallway": {"temperature": 21}, "fan.bedroom_fan": ON}, ["multi"])
    s.act(t, "close the kitchen blind then dim the dining pendant to 20%",
          {"cover.kitchen_blind": {"state": "closed", "attributes": {"current_position": 0}},
           "light.dining_pendant": {"state": "on", "attributes": {"brightness": 51}}}, ["multi"])
    # to-do lists with their own names
    s.act(t, "add milk to the groceries list", {"todo.groceries": {"state": "3"}}, ["todo"],
          calls=add_item("Groceries", "milk"))
    s.act(t, "put wood glue on the hardware shop list", {"todo.hardware_shop": {"state": "2"}},
          ["todo"], calls=add_item("Hardware Shop", "wood glue"))
    s.act(t, "add empty the dishwasher to Ollie's chores", {"todo.ollies_chores": {"state": "2"}},
          ["todo"], calls=add_item("Ollie's Chores", "empty the dishwasher"))
    s.act(t, "can you stick oat milk on groceries", {"todo.groceries": {"state": "3"}}, ["todo"],
          calls=add_item("Groceries", "oat milk"))
    s.nothing(t, "add batteries to the list", ["todo", "missing_target"])
    s.nothing(t, "add screws to the garden centre list", ["todo", "lacks"], not_said=["added"])

    f = s.home("studio", "Studio flat", [
        area("living", "Living Area"), area("nook", "Kitchen Nook"), area("sleeping", "Sleeping Area"),
        area("shower", "Shower Room"), area("balcony", "Balcony")], [
        light("light.sofa_lamp", "Sofa Lamp", "living"),
        light("light.bias_lighting", "Bias Lighting", "living"),
        light("light.worktop_strip", "Worktop Strip", "nook"),
        light("light.bed_lamp", "Bed Lamp", "sleeping"),
        light("light.shower_room", "Shower Room Light", "shower", onoff=True),
        light("light.lantern", "Lantern", "balcony", onoff=True),
        climate("climate.mitsubishi", "Mitsubishi Heat Pump", "living", target=21, cur=20,
                modes=("off", "heat", "cool"), lo=16, hi=31),
        cover("cover.awning", "Awning", "balcony", "awning", 0),
        fan("fan.ceiling_fan", "Ceiling Fan", "sleeping"),
        media("media_player.echo_show", "Echo Show", "nook", "speaker", "idle", 0.5),
        media("media_player.projector", "Projector", "living", "tv", "off", 0.4),
        sw("switch.towel_warmer", "Towel Warmer", "shower", dc="switch"),
        todo("todo.shopping", "Shopping", ["coffee"]),
        todo("todo.work", "Work", []),
        todo("todo.holiday_packing", "Holiday Packing", ["passport", "sunscreen"]),
    ])
    s.nothing(f, "leave the sofa lamp alone", ["negation"], setup={"light.sofa_lamp": ON})
    s.nothing(f, "don't turn the heating up", ["negation"])
    s.nothing(f, "no need to put the awning out", ["negation"])
    s.nothing(f, "lock the front door", ["lacks"], not_said=CLAIMS)
    s.nothing(f, "close the blinds", ["lacks"], not_said=CLAIMS)
    s.nothing(f, "start the robot hoover", ["lacks"], not_said=CLAIMS)
    s.nothing(f, "set the heat pump to 12 degrees", ["invalid_value", "climate"])
    s.nothing(f, "awning out to 120 percent", ["invalid_value", "cover"])
    s.nothing(f, "set the bias lighting to 400 percent", ["invalid_value", "light"])
    s.nothing(f, "echo show volume to minus ten", ["invalid_value", "media"])
    s.act(f, "turn off the projector and the bias lighting",
          {"media_player.projector": OFF, "light.bias_lighting": OFF}, ["multi"],
          setup={"media_player.projector": {"state": "on"}, "light.bias_lighting": ON})
    s.act(f, "switch on the lantern and roll the awning out halfway",
          {"light.lantern": ON, "cover.awning": {"state": "open", "attributes": {"current_position": 50}}},
          ["multi"])
    s.act(f, "kill the sofa lamp, the worktop strip and the bed lamp",
          {"light.sofa_lamp": OFF, "light.worktop_strip": OFF, "light.bed_lamp": OFF}, ["multi", "three"],
          setup={"light.sofa_lamp": ON, "light.worktop_strip": ON, "light.bed_lamp": ON})
    s.act(f, "add luggage scales to holiday packing", {"todo.holiday_packing": {"state": "3"}},
          ["todo"], calls=add_item("Holiday Packing", "luggage scales"))
    s.act(f, "add the quarterly report to my work list", {"todo.work": {"state": "1"}}, ["todo"],
          calls=[{"name": "HassListAddItem", "arguments": {
              "item_any_of": ["quarterly report", "the quarterly report"], "name": "Work"}}])
    s.act(f, "put coffee filters on shopping", {"todo.shopping": {"state": "2"}}, ["todo"],
          calls=add_item("Shopping", "coffee filters"))
    s.nothing(f, "add eggs", ["todo", "missing_target"])
    s.nothing(f, "turn on the light", ["missing_target", "light"])
    s.act(f, "turn on the light", {"light.shower_room": ON}, ["context", "light"], context="shower")
    s.act(f, "set the temperature to 22", {"climate.mitsubishi": {"temperature": 22}},
          ["climate", "single_candidate"])

    h = s.home("detached", "Detached house, two floors", [
        area("kitchen", "Kitchen", "ground"), area("family", "Family Room", "ground"),
        area("snug", "Snug", "ground"), area("utility", "Utility", "ground"),
        area("garage", "Garage", "ground"), area("landing", "Landing", "upstairs"),
        area("bed1", "Bedroom 1", "upstairs"), area("bed3", "Bedroom 3", "upstairs"),
        area("bed4", "Bedroom 4", "upstairs", aliases=["Nursery"]),
        area("ensuite", "En-suite", "upstairs"), area("rear", "Rear Garden")], [
        light("light.island_pendants", "Island Pendants", "kitchen"),
        light("light.kitchen_spots", "Kitchen Spots", "kitchen"),
        light("light.family_lamp", "Family Room Lamp", "family"),
        light("light.snug_lamp", "Snug Lamp", "snug"),
        light("light.utility", "Utility Light", "utility", onoff=True),
        light("light.landing", "Landing Light", "landing"),
        light("light.bedroom_1", "Bedroom 1 Light", "bed1"),
        light("light.bedroom_3", "Bedroom 3 Light", "bed3"),
        light("light.night_light_4", "Bedroom 4 Night Light", "bed4"),
        light("light.ensuite_spots", "En-suite Spots", "ensuite"),
        light("light.patio_wall", "Patio Wall Lights", "rear", onoff=True),
        light("light.garage_strip", "Garage Strip Light", "garage", onoff=True),
        climate("climate.downstairs_nest", "Downstairs Nest", "family", target=20, cur=19),
        climate("climate.upstairs_nest", "Upstairs Nest", "landing", target=18, cur=18),
        climate("climate.snug_radiator", "Snug Radiator", "snug", target=17, cur=17, lo=5, hi=28),
        media("media_player.kitchen_echo", "Kitchen Echo", "kitchen", "speaker", "playing", 0.3),
        media("media_player.family_sonos", "Family Room Sonos", "family", "speaker", "idle", 0.3),
        media("media_player.bedroom_1_speaker", "Bedroom 1 Speaker", "bed1", "speaker", "idle", 0.2),
        media("media_player.family_tv", "Family Room TV", "family", "tv", "off", 0.3),
        media("media_player.snug_tv", "Snug TV", "snug", "tv", "off", 0.3),
        lock("lock.front_door", "Front Door", "kitchen"),
        lock("lock.garage_side_door", "Garage Side Door", "garage"),
        lock("lock.back_door", "Back Door", "utility"),
        cover("cover.garage_door", "Garage Door", "garage", "garage"),
        vac("vacuum.roomba_j7", "Roomba j7", "family"),
        valve("valve.garden_tap", "Garden Tap", "rear"),
        fan("fan.ensuite_extractor", "En-suite Extractor", "ensuite"),
        fan("fan.bedroom_1_ceiling_fan", "Bedroom 1 Ceiling Fan", "bed1"),
        sw("switch.washing_machine", "Washing Machine", "utility", "on", "switch"),
        sw("switch.zappi", "Zappi Charger", "garage"),
        sw("switch.hot_water", "Hot Water", "utility", dc="switch"),
        todo("todo.tesco", "Tesco", ["teabags"]),
        todo("todo.home_jobs", "Home Jobs", ["bleed the radiators", "paint the fence"]),
        todo("todo.christmas_presents", "Christmas Presents", []),
        sensor("sensor.garage_temperature", "Garage Temperature", "garage", 9.5, "°C", "temperature"),
    ], floors=[("ground", "Ground Floor"), ("upstairs", "Upstairs")])
    s.nothing(h, "set the thermostat to 20", ["missing_target", "climate"],
              setup={"climate.downstairs_nest": {"attributes": {"temperature": 18}},
                     "climate.upstairs_nest": {"attributes": {"temperature": 18}}})
    s.act(h, "set the thermostat to 20", {"climate.snug_radiator": {"temperature": 20}},
          ["context", "climate"], context="snug")
    s.nothing(h, "unlock the door", ["missing_target", "lock"])
    s.nothing(h, "turn off the tv", ["missing_target", "media"],
              setup={"media_player.family_tv": {"state": "on"}, "media_player.snug_tv": {"state": "on"}})
    s.act(h, "turn off the tv", {"media_player.snug_tv": OFF}, ["context", "media"], context="snug",
          setup={"media_player.family_tv": {"state": "on"}, "media_player.snug_tv": {"state": "on"}})
    s.nothing(h, "pause the speaker", ["missing_target", "media"],
              setup={"media_player.family_sonos": {"state": "playing"},
                     "media_player.bedroom_1_speaker": {"state": "playing"}})
    for text in ("close the curtains in bedroom 3", "turn on the pool pump", "open the gate",
                 "start the dishwasher", "turn on the air purifier"):
        s.nothing(h, text, ["lacks"], not_said=CLAIMS)
    s.nothing(h, "don't lock the back door yet", ["negation"], setup={"lock.back_door": {"state": "unlocked"}})
    s.nothing(h, "I said don't turn on the garage light", ["negation"])
    s.nothing(h, "no, leave the washing machine on", ["negation"])
    s.nothing(h, "please don't start the roomba", ["negation"], not_said=["started"])
    s.nothing(h, "never mind the hot water", ["negation"])
    s.nothing(h, "stop, don't open the garage door", ["negation"])
    s.nothing(h, "set the downstairs nest to 99", ["invalid_value", "climate"])
    s.nothing(h, "landing light brightness 101 percent", ["invalid_value", "light"],
              setup={"light.landing": {"state": "on", "attributes": {"brightness": 128}}})
    s.nothing(h, "bedroom 1 ceiling fan to 110 percent", ["invalid_value", "fan"])
    s.nothing(h, "family room sonos to 200 percent volume", ["invalid_value", "media"])
    s.nothing(h, "set the upstairs nest to 2 degrees", ["invalid_value", "climate"])
    s.act(h, "lock the front door, lock the back door and shut the garage",
          {"lock.front_door": {"state": "locked"}, "lock.back_door": {"state": "locked"},
           "cover.garage_door": {"state": "closed"}}, ["multi", "three"],
          setup={"lock.front_door": {"state": "unlocked"}, "lock.back_door": {"state": "unlocked"},
                 "cover.garage_door": {"state": "open"}})
    s.act(h, "turn on the patio wall lights and open the garden tap",
          {"light.patio_wall": ON, "valve.garden_tap": {"state": "open"}}, ["multi"])
    s.act(h, "send the roomba home and turn off the kitchen echo",
          {"vacuum.roomba_j7": {"state": "returning"}, "media_player.kitchen_echo": OFF}, ["multi"],
          setup={"vacuum.roomba_j7": {"state": "cleaning"}})
    s.act(h, "set the downstairs nest to 21 and the upstairs one to 19",
          {"climate.downstairs_nest": {"temperature": 21}, "climate.upstairs_nest": {"temperature": 19}},
          ["multi"])
    s.act(h, "add mince pies to the tesco list", {"todo.tesco": {"state": "2"}}, ["todo"],
          calls=add_item("Tesco", "mince pies"))
    s.act(h, "put fix the gutter on home jobs", {"todo.home_jobs": {"state": "3"}}, ["todo"],
          calls=add_item("Home Jobs", "fix the gutter"))
    s.act(h, "add a scarf for mum to the christmas presents list",
          {"todo.christmas_presents": {"state": "1"}}, ["todo"],
          calls=[{"name": "HassListAddItem", "arguments": {
              "item_any_of": ["a scarf for mum", "scarf for mum"], "name": "Christmas Presents"}}])
    s.nothing(h, "add bin bags", ["todo", "missing_target"])
    s.nothing(h, "add bin bags to the sainsbury's list", ["todo", "lacks"], not_said=["added"])
    return s


# ================================================================ homes-en
def homes() -> Suite:
    s = Suite("homes-en")
    # A large family house (120+ entities): numbered bedrooms, the same short names in many
    # rooms ("Main", "PIR", "Temp"), brand names on the devices people bought.
    floors = [("ground", "Ground Floor"), ("first", "First Floor"), ("loft", "Loft Level")]
    areas_ = [
        area("kitchen_diner", "Kitchen Diner", "ground"), area("sitting", "Sitting Room", "ground", ["Front Room"]),
        area("games", "Games Room", "ground"), area("conservatory", "Conservatory", "ground"),
        area("boot", "Boot Room", "ground"), area("cloakroom", "Cloakroom", "ground"),
        area("bed_1", "Bedroom 1", "first", ["Our Room"]), area("bed_4", "Bedroom 4", "first", ["Lily's Room"]),
        area("bed_5", "Bedroom 5", "first", ["Sam's Room"]), area("guest", "Guest Suite", "first"),
        area("jack_jill", "Jack and Jill Bathroom", "first"), area("loft_office", "Loft Office", "loft"),
        area("cellar", "Cellar"), area("drive", "Front Drive"), area("summer_house", "Summer House"),
        area("veg", "Veg Patch")]
    ents = []
    for aid, prefix in (("bed_1", "Bedroom 1"), ("bed_4", "Bedroom 4"), ("bed_5", "Bedroom 5"),
                        ("guest", "Guest Suite")):
        ents += [light(f"light.{aid}_main", f"{prefix} Main", aid),
                 light(f"light.{aid}_lamp", f"{prefix} Lamp", aid),
                 cover(f"cover.{aid}_fyrtur", f"{prefix} Fyrtur", aid, "blind", 0),
                 sensor(f"sensor.{aid}_temp", f"{prefix} Temp", aid, 19.5 if aid != "bed_4" else 21.0, "°C", "temperature"),
                 sensor(f"sensor.{aid}_humidity", f"{prefix} Humidity", aid, 48, "%", "humidity"),
                 bs(f"binary_sensor.{aid}_pir", f"{prefix} PIR", aid, "off", "motion"),
                 bs(f"binary_sensor.{aid}_window", f"{prefix} Window", aid, "off", "window"),
                 climate(f"climate.{aid}_trv", f"{prefix} TRV", aid, target=18,
                         cur=19 if aid != "bed_4" else 21, lo=5, hi=30)]
    ents += [
        light("light.kd_island", "Island Pendants", "kitchen_diner"),
        light("light.kd_spots", "Kitchen Diner Spots", "kitchen_diner"),
        light("light.kd_plinth", "Plinth Lights", "kitchen_diner", onoff=True),
        light("light.kd_table", "Dining Table Pendant", "kitchen_diner"),
        sw("switch.kd_coffee", "Sage Barista", "kitchen_diner", dc="switch", aliases=["Coffee Machine"]),
        sw("switch.kd_dishwasher", "Bosch Dishwasher", "kitchen_diner", dc="switch"),
        media("media_player.kd_sonos", "Kitchen Diner Sonos", "kitchen_diner", "speaker", "playing", 0.3),
        sensor("sensor.kd_temp", "Kitchen Diner Temp", "kitchen_diner", 20.5, "°C", "temperature"),
        bs("binary_sensor.kd_pir", "Kitchen Diner PIR", "kitchen_diner", "on", "motion"),
        bs("binary_sensor.kd_leak", "Under Sink Leak", "kitchen_diner", "off", "moisture"),
        cover("cover.kd_bifolds_blind", "Bifold Blind", "kitchen_diner", "blind", 100),
        light("light.sitting_lamp_1", "Sitting Room Lamp 1", "sitting"),
        light("light.sitting_lamp_2", "Sitting Room Lamp 2", "sitting"),
        light("light.sitting_hue_play_l", "Hue Play Left", "sitting"),
        light("light.sitting_hue_play_r", "Hue Play Right", "sitting"),
        media("media_player.sitting_tv", "Sitting Room TV", "sitting", "tv", "off", 0.2),
        media("media_player.sitting_soundbar", "Arc Soundbar", "sitting", "receiver", "off", 0.35),
        climate("climate.sitting_trv", "Sitting Room TRV", "sitting", target=20, cur=19, lo=5, hi=30),
        cover("cover.sitting_shutters", "Sitting Room Shutters", "sitting", "shutter", 100),
        bs("binary_sensor.sitting_pir", "Sitting Room PIR", "sitting", "off", "motion"),
        sensor("sensor.sitting_temp", "Sitting Room Temp", "sitting", 19.0, "°C", "temperature"),
        light("light.games_main", "Games Room Main", "games"),
        light("light.games_neon", "Neon Sign", "games", onoff=True),
        media("media_player.games_tv", "Games Room TV", "games", "tv", "playing", 0.5),
        sw("switch.games_ps5", "PS5 Plug", "games"),
        fan("fan.games_fan", "Games Room Fan", "games"),
        light("light.cons_main", "Conservatory Main", "conservatory"),
        climate("climate.cons_heater", "Conservatory Heater", "conservatory", mode="off",
                target=18, cur=14, lo=10, hi=28),
        cover("cover.cons_roof_blind", "Roof Blind", "conservatory", "blind", 0),
        fan("fan.cons_fan", "Conservatory Fan", "conservatory"),
        light("light.boot_room", "Boot Room Light", "boot", onoff=True),
        sw("switch.boot_dryer", "Boot Dryer", "boot", dc="switch"),
        lock("lock.boot_door", "Side Door", "boot"),
        light("light.cloakroom", "Cloakroom Light", "cloakroom", onoff=True),
        fan("fan.cloakroom_extractor", "Cloakroom Extractor", "cloakroom"),
        light("light.jj_mirror", "Jack and Jill Mirror", "jack_jill", onoff=True),
        light("light.jj_spots", "Jack and Jill Spots", "jack_jill"),
        fan("fan.jj_extractor", "Jack and Jill Extractor", "jack_jill"),
        sw("switch.jj_towel_rail", "Towel Radiator", "jack_jill", dc="switch"),
        light("light.loft_desk", "Desk Lightbar", "loft_office"),
        light("light.loft_velux_light", "Loft Spots", "loft_office"),
        cover("cover.loft_velux", "Velux", "loft_office", "window", 0),
        switch_ := sw("switch.loft_monitor", "Monitor Plug", "loft_office"),
        media("media_player.loft_homepod", "Loft HomePod", "loft_office", "speaker", "idle", 0.25),
        climate("climate.loft_ac", "Loft Aircon", "loft_office", mode="off", target=22, cur=25,
                modes=("off", "cool", "heat", "dry"), lo=16, hi=30),
        light("light.cellar", "Cellar Bulb", "cellar", onoff=True),
        sw("switch.cellar_freezer", "Chest Freezer", "cellar", "on"),
        bs("binary_sensor.cellar_leak", "Cellar Flood Sensor", "cellar", "off", "moisture"),
        sensor("sensor.cellar_humidity", "Cellar Humidity", "cellar", 71, "%", "humidity"),
        light("light.drive_flood", "Drive Floodlight", "drive", onoff=True),
        light("light.drive_lanterns", "Gate Lanterns", "drive", onoff=True),
        cover("cover.drive_gates", "Driveway Gates", "drive", "gate"),
        lock("lock.front", "Front Door", "drive"),
        sw("switch.drive_ev", "Ohme Charger", "drive"),
        light("light.sh_lights", "Summer House Lights", "summer_house"),
        sw("switch.sh_heater", "Summer House Heater", "summer_house", dc="switch"),
        media("media_player.sh_speaker", "Summer House Speaker", "summer_house", "speaker", "off", 0.4),
        lock("lock.sh_door", "Summer House Door", "summer_house"),
        valve("valve.veg_irrigation", "Veg Patch Drip", "veg"),
        sensor("sensor.veg_soil", "Raised Bed Moisture", "veg", 32, "%", "moisture"),
        vac("vacuum.downstairs", "Roborock Q7", "kitchen_diner"),
        vac("vacuum.upstairs", "Deebot", "bed_1"),
        climate("climate.hive", "Hive Heating", None, target=19, cur=19.5, lo=5, hi=32),
        sw("switch.hive_hot_water", "Hive Hot Water", None, dc="switch"),
        todo("todo.ocado", "Ocado", ["bananas", "yoghurts"]),
        todo("todo.diy", "DIY Bits", ["rawlplugs"]),
        todo("todo.lily_homework", "Lily Homework", []),
        script("script.school_run", "School Run"),
        boolean("input_boolean.guests_staying", "Guests Staying"),
        sensor("sensor.outside", "Weather Station Temp", None, 7.5, "°C", "temperature"),
    ]
    del switch_
    b = s.home("manor", "Large family house", areas_, ents, floors)
    up = {"state": "open", "attributes": {"current_position": 100}}
    down = {"state": "closed", "attributes": {"current_position": 0}}
    c = s.act
    c(b, "bedroom 4 main on please", {"light.bed_4_main": ON}, ["numbered", "light"])
    c(b, "can I get the lamp on in bedroom 5", {"light.bed_5_lamp": ON}, ["numbered", "light", "casual"])
    c(b, "it's pitch black in the boot room", {"light.boot_room": ON}, ["indirect", "light"])
    c(b, "I'm heading up, kill the sitting room lamps",
      {"light.sitting_lamp_1": OFF, "light.sitting_lamp_2": OFF}, ["casual", "light", "similar"],
      setup={"light.sitting_lamp_1": ON, "light.sitting_lamp_2": ON})
    c(b, "just lamp 2 in the front room off", {"light.sitting_lamp_2": OFF}, ["similar", "alias", "light"],
      setup={"light.sitting_lamp_1": ON, "light.sitting_lamp_2": ON})
    c(b, "hue play left and right on", {"light.sitting_hue_play_l": ON, "light.sitting_hue_play_r": ON},
      ["brand", "light", "multi"])
    c(b, "bring the island pendants down to about a third",
      {"light.kd_island": {"state": "on", "attributes": {"brightness": 85}}}, ["casual", "light", "brightness"],
      setup={"light.kd_island": {"state": "on", "attributes": {"brightness": 255}}})
    c(b, "plinth lights off", {"light.kd_plinth": OFF}, ["light", "terse"], setup={"light.kd_plinth": ON})
    c(b, "Lily's room lamp on", {"light.bed_4_lamp": ON}, ["alias", "light"])
    c(b, "pop the guest suite main light on at 40 percent",
      {"light.guest_main": {"state": "on", "attributes": {"brightness": 102}}}, ["numbered", "light", "brightness"])
    c(b, "neon sign on", {"light.games_neon": ON}, ["light", "terse"])
    c(b, "lights on in the cellar", {"light.cellar": ON}, ["light"])
    c(b, "floodlight on the drive please", {"light.drive_flood": ON}, ["light"])
    c(b, "the desk lightbar is way too bright, fifty percent",
      {"light.loft_desk": {"state": "on", "attributes": {"brightness": 128}}}, ["indirect", "light", "brightness"],
      setup={"light.loft_desk": {"state": "on", "attributes": {"brightness": 255}}})
    c(b, "open the bedroom 1 fyrtur", {"cover.bed_1_fyrtur": up}, ["brand", "numbered", "cover"])
    c(b, "Sam's blind down", {"cover.bed_5_fyrtur": down}, ["alias", "cover"],
      setup={"cover.bed_5_fyrtur": up})
    c(b, "let some light into the conservatory, roof blind open",
      {"cover.cons_roof_blind": up}, ["indirect", "cover"])
    c(b, "shutters in the sitting room to 30", {"cover.sitting_shutters": {"state": "open", "attributes": {"current_position": 30}}},
      ["cover", "position"])
    c(b, "crack the velux open a bit, say 20 percent",
      {"cover.loft_velux": {"state": "open", "attributes": {"current_position": 20}}}, ["casual", "brand", "cover"])
    c(b, "open the gates, the delivery van is here", {"cover.drive_gates": {"state": "open"}}, ["indirect", "cover"])
    c(b, "lower the bifold blind", {"cover.kd_bifolds_blind": down}, ["cover"])
    c(b, "bedroom 4 TRV to 19", {"climate.bed_4_trv": {"temperature": 19}}, ["numbered", "climate", "similar"])
    c(b, "bump the hive up to 21", {"climate.hive": {"temperature": 21}}, ["brand", "climate", "casual"])
    c(b, "it's freezing in the conservatory, put the heater on at 22",
      {"climate.cons_heater": {"state": "heat", "attributes": {"temperature": 22}}}, ["indirect", "climate"])
    c(b, "loft aircon on cool", {"climate.loft_ac": {"state": "cool"}}, ["climate", "mode"])
    c(b, "turn the hive heating off", {"climate.hive": {"state": "off"}}, ["brand", "climate"])
    c(b, "guest suite radiator down to 16", {"climate.guest_trv": {"temperature": 16}}, ["climate", "similar"])
    c(b, "lock the side door", {"lock.boot_door": {"state": "locked"}}, ["lock"],
      setup={"lock.boot_door": {"state": "unlocked"}})
    c(b, "let me in the summer house", {"lock.sh_door": {"state": "unlocked"}}, ["indirect", "lock"])
    c(b, "make sure the front door's locked", {"lock.front": {"state": "locked"}}, ["indirect", "lock"],
      setup={"lock.front": {"state": "unlocked"}})
    c(b, "telly off in the games room", {"media_player.games_tv": OFF}, ["media", "casual"])
    c(b, "hold the music in the kitchen diner", {"media_player.kd_sonos": {"state": "paused"}}, ["media", "casual"])
    c(b, "kitchen diner sonos down to 15 percent", {"media_player.kd_sonos": {"volume_level": 0.15}}, ["media", "volume"])
    c(b, "mute the games room tv", {"media_player.games_tv": {"is_volume_muted": True}}, ["media"])
    c(b, "skip this song in the kitchen diner", {"media_player.kd_sonos": {"media_track": 1}}, ["media", "casual"],
      setup={"media_player.kd_sonos": {"attributes": {"media_track": 0}}})
    c(b, "switch on the sitting room tv", {"media_player.sitting_tv": {"state": "on"}}, ["media"])
    c(b, "get the roborock going", {"vacuum.downstairs": {"state": "cleaning"}}, ["brand", "vacuum", "casual"])
    c(b, "deebot back on its dock", {"vacuum.upstairs": {"state": "returning"}}, ["brand", "vacuum"],
      setup={"vacuum.upstairs": {"state": "cleaning"}})
    c(b, "pause the roborock q7", {"vacuum.downstairs": {"state": "paused"}}, ["brand", "vacuum"],
      setup={"vacuum.downstairs": {"state": "cleaning"}})
    c(b, "fire up the sage barista", {"switch.kd_coffee": ON}, ["brand", "switch", "casual"])
    c(b, "I need a coffee, turn on the coffee machine", {"switch.kd_coffee": ON}, ["alias", "switch"])
    c(b, "start the bosch", {"switch.kd_dishwasher": ON}, ["brand", "switch"])
    c(b, "ohme charger on, the car needs juice", {"switch.drive_ev": ON}, ["brand", "switch", "indirect"])
    c(b, "ps5 plug off", {"switch.games_ps5": OFF}, ["switch", "terse"], setup={"switch.games_ps5": ON})
    c(b, "boost the hot water", {"switch.hive_hot_water": ON}, ["switch", "indirect"])
    c(b, "summer house heater on", {"switch.sh_heater": ON}, ["switch"])
    c(b, "extractor on in the jack and jill", {"fan.jj_extractor": ON}, ["fan", "similar"])
    c(b, "games room fan at 30 percent", {"fan.games_fan": {"state": "on", "attributes": {"percentage": 30}}}, ["fan"])
    c(b, "the cloakroom stinks, run the extractor", {"fan.cloakroom_extractor": ON}, ["indirect", "fan", "similar"])
    c(b, "water the veg patch", {"valve.veg_irrigation": {"state": "open"}}, ["indirect", "valve"])
    c(b, "towel radiator on", {"switch.jj_towel_rail": ON}, ["switch"])
    c(b, "turn the guests staying mode on", {"input_boolean.guests_staying": ON}, ["input_boolean"])
    c(b, "lights out in bedroom 5",
      {"light.bed_5_main": OFF, "light.bed_5_lamp": OFF}, ["numbered", "area"],
      setup={"light.bed_5_main": ON, "light.bed_5_lamp": ON})
    c(b, "all the lights on the loft level off",
      {"light.loft_desk": OFF, "light.loft_velux_light": OFF}, ["floor", "light"],
      setup={"light.loft_desk": ON, "light.loft_velux_light": ON})
    c(b, "chuck bananas on the ocado order", {"todo.ocado": {"state": "3"}}, ["todo", "casual"],
      calls=add_item("Ocado", "bananas"))
    c(b, "add picture hooks to diy bits", {"todo.diy": {"state": "2"}}, ["todo"],
      calls=add_item("DIY Bits", "picture hooks"))
    c(b, "put spelling test on lily homework", {"todo.lily_homework": {"state": "1"}}, ["todo"],
      calls=add_item("Lily Homework", "spelling test"))
    q = s.ask
    q(b, "how warm is it in bedroom 4", "sensor.bed_4_temp", "21.0", ["21"], ["question", "numbered"])
    q(b, "is the cellar flooding", "binary_sensor.cellar_leak", "off", ["no", "dry"], ["question"], ["yes"])
    q(b, "is the front door locked", "lock.front", "locked", ["yes", "locked"], ["question"], ["unlocked"])
    q(b, "what's it like outside temperature wise", "sensor.outside", "7.5", ["7.5", "7,5"], ["question", "indirect"])
    q(b, "is the chest freezer still on", "switch.cellar_freezer", "on", ["yes", "on"], ["question"])
    q(b, "how damp is the cellar", "sensor.cellar_humidity", "71", ["71"], ["question"])
    q(b, "is the roborock docked", "vacuum.downstairs", "docked", ["yes", "docked"], ["question", "brand"])

    # A flat where every device keeps its brand or model name (what the app called it).
    br = s.home("brands", "Flat named by the apps", [
        area("living", "Living Room"), area("kitchen", "Kitchen"), area("bedroom", "Bedroom"),
        area("office", "Office"), area("bathroom", "Bathroom"), area("hallway", "Hallway")], [
        light("light.wiz_rgbw_tunable_3f2a", "WiZ RGBW Tunable 3F2A", "living"),
        light("light.sengled_e11_g13", "Sengled E11-G13", "living"),
        light("light.hue_iris", "Hue Iris", "bedroom"),
        light("light.yeelight_ceiling", "Yeelight Ceiling Light", "bedroom"),
        light("light.govee_h6159", "Govee H6159", "office"),
        light("light.lutron_caseta_dimmer", "Caseta Dimmer", "kitchen"),
        light("light.shelly_dimmer_2", "Shelly Dimmer 2", "hallway"),
        light("light.tapo_l530", "Tapo L530", "bathroom"),
        sw("switch.tapo_p100", "Tapo P100", "office"),
        sw("switch.tp_link_hs110", "HS110", "kitchen"),
        sw("switch.sonoff_basic", "Sonoff Basic R2", "bedroom", dc="switch"),
        cover("cover.switchbot_curtain", "SwitchBot Curtain 3", "living", "curtain", 0),
        cover("cover.ikea_praktlysing", "PRAKTLYSING", "bedroom", "blind", 100),
        lock("lock.nuki_smart_lock_3", "Nuki Smart Lock 3.0 Pro", "hallway"),
        climate("climate.ecobee_premium", "ecobee Premium", "hallway", target=20, cur=20,
                modes=("off", "heat", "cool", "heat_cool"), lo=7, hi=32),
        climate("climate.daikin_bedroom", "Daikin FTXM", "bedroom", mode="off", target=24, cur=26,
                modes=("off", "cool", "heat", "fan_only"), lo=18, hi=30),
        media("media_player.sonos_era_100", "Sonos Era 100", "kitchen", "speaker", "playing", 0.3),
        media("media_player.lg_c3", "LG C3", "living", "tv", "off", 0.2),
        media("media_player.nest_audio", "Nest Audio", "bedroom", "speaker", "idle", 0.4),
        vac("vacuum.eufy_x8", "RoboVac X8 Hybrid", "living"),
        fan("fan.dyson_tp07", "Dyson TP07", "office"),
        fan("fan.xiaomi_fan", "Mi Smart Standing Fan 2", "bedroom"),
        todo("todo.bring", "Bring!", ["milk"]),
        todo("todo.todoist_inbox", "Inbox", []),
    ])
    c(br, "turn on the wiz", {"light.wiz_rgbw_tunable_3f2a": ON}, ["brand", "light"])
    c(br, "sengled off", {"light.sengled_e11_g13": OFF}, ["brand", "light", "terse"],
      setup={"light.sengled_e11_g13": ON})
    c(br, "hue iris to 25 percent", {"light.hue_iris": {"state": "on", "attributes": {"brightness": 64}}},
      ["brand", "light", "brightness"])
    c(br, "yeelight on in the bedroom", {"light.yeelight_ceiling": ON}, ["brand", "light"])
    c(br, "govee strip on", {"light.govee_h6159": ON}, ["brand", "light"])
    c(br, "dim the caseta to 10", {"light.lutron_caseta_dimmer": {"state": "on", "attributes": {"brightness": 26}}},
      ["brand", "light", "brightness"], setup={"light.lutron_caseta_dimmer": ON})
    c(br, "hallway shelly off", {"light.shelly_dimmer_2": OFF}, ["brand", "light"],
      setup={"light.shelly_dimmer_2": ON})
    c(br, "bathroom tapo on", {"light.tapo_l530": ON}, ["brand", "light", "similar"])
    c(br, "office tapo plug on", {"switch.tapo_p100": ON}, ["brand", "switch", "similar"])
    c(br, "switch off the hs110", {"switch.tp_link_hs110": OFF}, ["brand", "switch"],
      setup={"switch.tp_link_hs110": ON})
    c(br, "sonoff in the bedroom on", {"switch.sonoff_basic": ON}, ["brand", "switch"])
    c(br, "open the switchbot curtain", {"cover.switchbot_curtain": up}, ["brand", "cover"])
    c(br, "close the praktlysing", {"cover.ikea_praktlysing": down}, ["brand", "cover"])
    c(br, "lock the nuki", {"lock.nuki_smart_lock_3": {"state": "locked"}}, ["brand", "lock"],
      setup={"lock.nuki_smart_lock_3": {"state": "unlocked"}})
    c(br, "ecobee to 22", {"climate.ecobee_premium": {"temperature": 22}}, ["brand", "climate", "terse"])
    c(br, "it's boiling in the bedroom, get the daikin cooling",
      {"climate.daikin_bedroom": {"state": "cool"}}, ["brand", "climate", "indirect"])
    c(br, "pause the era 100", {"media_player.sonos_era_100": {"state": "paused"}}, ["brand", "media"])
    c(br, "turn on the lg", {"media_player.lg_c3": {"state": "on"}}, ["brand", "media"])
    c(br, "nest audio volume 60 percent", {"media_player.nest_audio": {"volume_level": 0.6}},
      ["brand", "media", "volume"])
    c(br, "send the robovac out", {"vacuum.eufy_x8": {"state": "cleaning"}}, ["brand", "vacuum", "casual"])
    c(br, "dyson on", {"fan.dyson_tp07": ON}, ["brand", "fan", "terse"])
    c(br, "turn the xiaomi fan on to half", {"fan.xiaomi_fan": {"state": "on", "attributes": {"percentage": 50}}},
      ["brand", "fan"])
    c(br, "add eggs to bring", {"todo.bring": {"state": "2"}}, ["todo", "brand"],
      calls=add_item("Bring!", "eggs"))
    c(br, "add renew passport to my inbox", {"todo.todoist_inbox": {"state": "1"}}, ["todo"],
      calls=add_item("Inbox", "renew passport"))
    q(br, "is the nuki locked", "lock.nuki_smart_lock_3", "locked", ["yes", "locked"], ["question", "brand"], ["unlocked"])
    q(br, "is the sonos playing", "media_player.sonos_era_100", "playing", ["yes", "playing"], ["question", "brand"])

    # Two flats' worth of identical product names told apart only by the area.
    sim = s.home("shared_house", "Shared house, rooms let separately", [
        area("room_a", "Room A", aliases=["Tom's Room"]), area("room_b", "Room B", aliases=["Priya's Room"]),
        area("room_c", "Room C"), area("communal_kitchen", "Communal Kitchen"),
        area("lounge", "Shared Lounge"), area("bathroom_up", "Bathroom Up"),
        area("bathroom_down", "Bathroom Down")], [
        *[e for r in ("a", "b", "c") for e in (
            light(f"light.room_{r}_light", "Light", f"room_{r}"),
            light(f"light.room_{r}_smart_bulb", "Smart Bulb", f"room_{r}"),
            sw(f"switch.room_{r}_heater", "Heater", f"room_{r}", dc="switch"),
            sw(f"switch.room_{r}_plug", "Plug", f"room_{r}"),
            lock(f"lock.room_{r}_door", "Door", f"room_{r}"),
            sensor(f"sensor.room_{r}_temperature", "Temperature", f"room_{r}",
                   {"a": 18.0, "b": 22.5, "c": 20.0}[r], "°C", "temperature"))],
        light("light.kitchen_light", "Light", "communal_kitchen"),
        light("light.kitchen_strip", "Strip", "communal_kitchen"),
        sw("switch.kitchen_plug", "Plug", "communal_kitchen"),
        light("light.lounge_light", "Light", "lounge"),
        media("media_player.lounge_tv", "TV", "lounge", "tv", "off", 0.3),
        light("light.bathroom_up_light", "Light", "bathroom_up", onoff=True),
        fan("fan.bathroom_up_fan", "Fan", "bathroom_up"),
        light("light.bathroom_down_light", "Light", "bathroom_down", onoff=True),
        fan("fan.bathroom_down_fan", "Fan", "bathroom_down"),
        todo("todo.house_shopping", "House Shopping", ["washing up liquid"]),
        todo("todo.bins", "Bin Rota", []),
    ])
    c(sim, "turn on the light in room a", {"light.room_a_light": ON}, ["similar", "area"])
    c(sim, "room b heater on", {"switch.room_b_heater": ON}, ["similar", "terse"])
    c(sim, "Priya's smart bulb off", {"light.room_b_smart_bulb": OFF}, ["similar", "alias"],
      setup={"light.room_b_smart_bulb": ON})
    c(sim, "lock Tom's door", {"lock.room_a_door": {"state": "locked"}}, ["similar", "alias", "lock"],
      setup={"lock.room_a_door": {"state": "unlocked"}})
    c(sim, "unlock room c", {"lock.room_c_door": {"state": "unlocked"}}, ["similar", "lock"])
    c(sim, "plug on in the communal kitchen", {"switch.kitchen_plug": ON}, ["similar"])
    c(sim, "fan on in bathroom down", {"fan.bathroom_down_fan": ON}, ["similar", "fan"])
    c(sim, "upstairs bathroom light off please", {"light.bathroom_up_light": OFF}, ["similar", "casual"],
      setup={"light.bathroom_up_light": ON})
    c(sim, "tv on in the shared lounge", {"media_player.lounge_tv": {"state": "on"}}, ["similar", "media"])
    c(sim, "switch my heater on", {"switch.room_c_heater": ON}, ["similar", "context"], context="room_c")
    c(sim, "lights off in here", {"light.room_b_light": OFF, "light.room_b_smart_bulb": OFF},
      ["similar", "context"], context="room_b",
      setup={"light.room_b_light": ON, "light.room_b_smart_bulb": ON, "light.room_a_light": ON})
    c(sim, "kitchen strip on", {"light.kitchen_strip": ON}, ["similar"])
    c(sim, "put bin bags on the house shopping", {"todo.house_shopping": {"state": "2"}}, ["todo"],
      calls=add_item("House Shopping", "bin bags"))
    c(sim, "add recycling out tuesday to the bin rota", {"todo.bins": {"state": "1"}}, ["todo"],
      calls=add_item("Bin Rota", "recycling out tuesday"))
    q(sim, "what's the temperature in room b", "sensor.room_b_temperature", "22.5", ["22.5", "22,5"],
      ["question", "similar"])
    q(sim, "is Tom's door locked", "lock.room_a_door", "locked", ["yes", "locked"], ["question", "alias"],
      ["unlocked"])
    return s


if __name__ == "__main__":
    import sys

    for build in (trust, homes):
        suite = build()
        suite.write()
        print(suite.name, len(suite.cases), "cases", len(suite.homes), "homes", file=sys.stderr)
