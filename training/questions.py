"""Questions about the home as training examples: the query tools' calls, never a command's.

The integration offers HA's query intents as tools (``custom_components/needle/queries.py``:
HassGetState with name/area/floor/domain/device_class/state, HassClimateGetTemperature,
HassGetWeather, HassGetCurrentTime, HassGetCurrentDate); this module teaches the model to call
them. A question is labelled only with query calls, so the model learns that asking never acts
(the one exception is a follow-up that is itself a command: "is the fan on?" -> "turn it off").

Where the sentences come from:
- HA's own question templates (``sentences.TemplateSampler`` over HassGetState & co.: every
  sensor and binary-sensor device class, locks, covers, people, weather, time, date), in homes
  that get the sensors those templates ask about (``augment_home``);
- our own phrasings (``RULES``-style tuples below): yes/no about one device ("did i leave the
  porch light on"), readouts ("what does the hall humidity say"), group questions in the
  any/all/which/how-many forms over domains and device classes, in areas and on floors ("is
  anything still on in the kitchen", "how many windows are open upstairs"), temperature,
  weather, time and date;
- follow-ups with the previous turn: a question after a question ("and in the bedroom?",
  "what about the porch light"), a command after a question ("turn it off"), a question after a
  command ("is it on now?");
- negatives: questions about devices the home does not have (answer ``[]``).

None of these phrasings is taken from an evaluation suite (``eval/questions-en`` is written
apart from this file, with other wording; see its SOURCE.md).

Use: ``training.generate --questions`` (``Generator(..., questions=True)``), which adds the
query tools to every prompt and makes ``QUESTION_SHARE`` of the examples questions.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from custom_components.needle.engine.schema import ToolCall, ToolSchema
from custom_components.needle.prompt import (
    EntityInfo,
    HomeContext,
    Turn,
    tools_from_catalogue_json,
)

from .sentences import TemplateSampler, call_for

ROOT = Path(__file__).resolve().parents[1]
QUERY_TOOLS_PATH = ROOT / "training/data/query_tools.json"  # training/dump_assist_tools.py

QUESTION_SHARE = 0.25  # of all examples, when questions are on (intents-en: about a third)
# Which kind of question, when one is drawn.
KIND_WEIGHTS: dict[str, float] = {
    "template": 0.34,
    "named": 0.16,
    "readout": 0.08,
    "group": 0.2,
    "climate": 0.05,
    "clock": 0.07,
    "follow_up": 0.09,
    "negative": 0.03,
}
# HA's templates per query intent (how often each is asked for).
TEMPLATE_WEIGHTS: dict[str, float] = {
    "HassGetState": 8,
    "HassClimateGetTemperature": 1.2,
    "HassGetWeather": 0.8,
    "HassGetCurrentTime": 0.4,
    "HassGetCurrentDate": 0.4,
}

Question = tuple[str, list[ToolCall], Turn | None, str | None, str]


def load_query_tools(path: Path = QUERY_TOOLS_PATH) -> list[ToolSchema]:
    """The query tools' schemas as the integration converts them (HA 2025.4 snapshot)."""
    return tools_from_catalogue_json(path.read_text(encoding="utf-8"))


# --- homes: the sensors HA's question templates ask about --------------------------------------

SENSOR_NAMES: dict[str, tuple[str, ...]] = {
    "temperature": ("Temperature", "Thermometer"),
    "humidity": ("Humidity", "Hygrometer"),
    "battery": ("Battery", "Phone Battery"),
    "power": ("Power Usage", "Power Draw"),
    "energy": ("Energy Today", "Energy Meter"),
    "illuminance": ("Light Level", "Brightness Sensor"),
    "carbon_dioxide": ("CO2 Level", "Air Quality"),
    "pm25": ("PM2.5", "Fine Dust"),
    "pressure": ("Air Pressure", "Barometer"),
    "voltage": ("Mains Voltage", "Voltage"),
    "current": ("Current Draw", "Amps"),
    "gas": ("Gas Meter", "Gas Usage"),
    "water": ("Water Meter", "Water Usage"),
    "monetary": ("Electricity Price", "Energy Cost"),
    "wind_speed": ("Wind Speed", "Wind"),
    "precipitation": ("Rain Gauge", "Rainfall"),
    "signal_strength": ("Wifi Signal", "Signal"),
    "sound_pressure": ("Noise Level", "Sound Level"),
    "weight": ("Scale", "Bed Weight"),
    "distance": ("Distance", "Tank Level"),
    "moisture": ("Soil Moisture", "Plant Moisture"),
    "aqi": ("Air Quality Index", "AQI"),
    "volume": ("Water Used Today", "Tank Volume"),
    "speed": ("Speed", "Treadmill Speed"),
    "duration": ("Runtime", "Uptime"),
    "data_rate": ("Download Speed", "Bandwidth"),
    "data_size": ("Disk Used", "Storage Used"),
    "frequency": ("Grid Frequency", "Frequency"),
}
SENSOR_UNITS: dict[str, str] = {
    "temperature": "°C", "humidity": "%", "battery": "%", "power": "W", "energy": "kWh",
    "illuminance": "lx", "carbon_dioxide": "ppm", "pm25": "µg/m³", "pressure": "hPa",
    "voltage": "V", "current": "A", "gas": "m³", "water": "L", "monetary": "EUR",
    "wind_speed": "km/h", "precipitation": "mm", "signal_strength": "dBm", "sound_pressure": "dB",
    "weight": "kg", "distance": "cm", "moisture": "%", "volume": "L", "speed": "km/h",
    "duration": "h", "data_rate": "Mbit/s", "data_size": "GB", "frequency": "Hz",
}  # fmt: skip
BINARY_NAMES: dict[str, tuple[str, ...]] = {
    "door": ("Door", "Door Contact"),
    "window": ("Window", "Window Sensor"),
    "garage_door": ("Garage Door Sensor", "Garage Contact"),
    "opening": ("Hatch", "Mailbox"),
    "motion": ("Motion", "Motion Sensor"),
    "occupancy": ("Occupancy", "Presence"),
    "presence": ("Someone Home", "Presence Sensor"),
    "moisture": ("Leak Sensor", "Water Leak"),
    "smoke": ("Smoke Detector", "Smoke Alarm"),
    "gas": ("Gas Detector", "Gas Alarm"),
    "carbon_monoxide": ("CO Detector", "Carbon Monoxide Alarm"),
    "battery": ("Battery Low", "Remote Battery"),
    "battery_charging": ("Charging", "Phone Charging"),
    "connectivity": ("Internet", "Router Online"),
    "plug": ("Charger Plugged In", "Car Plug"),
    "power": ("Power Present", "Mains Power"),
    "running": ("Washing Machine", "Dryer Running"),
    "problem": ("Boiler", "Heat Pump Fault"),
    "safety": ("Safety", "Oven Safety"),
    "sound": ("Sound", "Baby Monitor"),
    "vibration": ("Vibration", "Washer Vibration"),
    "tamper": ("Tamper", "Camera Tamper"),
    "update": ("Firmware Update", "Update Available"),
    "heat": ("Overheat", "Heat Alarm"),
    "cold": ("Frost", "Freeze Alarm"),
    "light": ("Daylight", "Light Detected"),
    "lock": ("Lock Sensor", "Bolt Sensor"),
}
PEOPLE = ("Anna", "Ben", "Chris", "Dana", "Eli", "Fatima", "George", "Hana", "Mum", "Dad")


SENSOR_RICH_SHARE = 0.4  # homes that get many sensors of many classes (augment_home)
SHARED_NAME_SHARE = 0.5  # homes that get a device whose sensors all carry its name
SHARED_PICK = 0.6  # named questions in such a home that ask about one of those sensors
DEVICE_SENSOR_SHARE = 0.35  # sensors named "<device> <what it measures>", as integrations do
SENSOR_DEVICES = (
    "Fridge", "Washer", "Car", "Solar", "Heat Pump", "Boiler", "Office PC", "Pool", "Inverter",
    "Battery Pack", "Water Heater", "Dehumidifier", "Server Rack", "Attic", "Basement", "Freezer",
    "Dryer", "EV Charger", "Grid", "House", "Garden", "Workshop", "Nursery", "Shed", "Wallbox",
)  # fmt: skip
# Devices whose entities take the device's own name (HA's has_entity_name with no entity name,
# or a user who named them so): a phone with a battery, a charging and a presence sensor, all
# "Phone". A question about one must then say which: its domain and device class go in the call.
_PORTABLE = ("battery", "b:battery", "b:battery_charging", "b:presence", "signal_strength", "b:connectivity", "b:plug")
_AIR = ("temperature", "humidity", "pressure", "illuminance", "carbon_dioxide", "pm25", "aqi", "b:motion", "battery", "b:occupancy")
_APPLIANCE = ("power", "energy", "b:running", "b:problem", "b:power", "duration", "b:door", "b:update")
_PLANT = ("temperature", "humidity", "moisture", "illuminance", "battery", "b:moisture", "b:cold")
_HEATER = ("power", "energy", "temperature", "b:problem", "b:running", "voltage", "current", "frequency", "b:heat")
_NETWORK = ("b:connectivity", "b:problem", "b:update", "data_rate", "data_size", "signal_strength")
# Devices whose entities take the device's own name (HA's has_entity_name with no entity name,
# or a user who named them so): a phone with a battery, a charging and a presence sensor, all
# "Phone"; the classes each kind of device has ("b:" a binary sensor). A question about one
# must then say which: its domain and device class go in the call.
SHARED_DEVICES: dict[str, tuple[str, ...]] = {
    "Phone": _PORTABLE, "My Phone": _PORTABLE, "Tablet": _PORTABLE, "Watch": _PORTABLE,
    "Laptop": _PORTABLE, "Car": (*_PORTABLE, "distance", "b:lock", "temperature"),
    "E-bike": ("battery", "b:battery_charging", "b:plug", "distance", "speed"),
    "Multisensor": _AIR, "Weather Station": (*_AIR, "wind_speed", "precipitation"),
    "Air Monitor": _AIR, "Garden Sensor": _PLANT, "Greenhouse": _PLANT, "Aquarium": (*_PLANT, "b:problem"),
    "Fridge": ("temperature", "b:door", "b:problem", "power", "b:heat"),
    "Freezer": ("temperature", "b:door", "b:problem", "b:heat", "b:cold"),
    "Washer": (*_APPLIANCE, "b:vibration", "b:moisture"), "Dryer": _APPLIANCE, "Dishwasher": _APPLIANCE,
    "Printer": _NETWORK, "Router": _NETWORK, "NAS": (*_NETWORK, "temperature"),
    "Robot Mower": ("battery", "b:battery_charging", "b:running", "b:problem", "b:moisture"),
    "Solar Inverter": _HEATER, "Heat Pump": _HEATER, "Boiler": _HEATER,
}  # fmt: skip
# What people call a sensor of a class when they name its device ("the phone's battery").
SENSOR_NOUNS: dict[str, tuple[str, ...]] = {
    "temperature": ("temperature",), "humidity": ("humidity",), "battery": ("battery", "battery level"),
    "power": ("power", "power use"), "energy": ("energy", "energy use"), "illuminance": ("light level",),
    "carbon_dioxide": ("co2", "co2 level"), "pm25": ("pm2.5", "fine dust"), "pressure": ("pressure",),
    "voltage": ("voltage",), "current": ("current",), "gas": ("gas use",), "water": ("water use",),
    "monetary": ("cost",), "wind_speed": ("wind speed",), "precipitation": ("rainfall",),
    "signal_strength": ("signal", "signal strength"), "sound_pressure": ("noise level",),
    "weight": ("weight",), "distance": ("distance",), "moisture": ("moisture",), "aqi": ("air quality",),
    "volume": ("volume",), "speed": ("speed",), "duration": ("runtime",), "data_rate": ("speed", "bandwidth"),
    "data_size": ("storage",), "frequency": ("frequency",),
}  # fmt: skip
BINARY_NOUNS: dict[str, tuple[str, ...]] = {
    "door": ("door",), "window": ("window",), "garage_door": ("garage door",), "opening": ("lid",),
    "motion": ("motion sensor",), "occupancy": ("occupancy sensor",), "presence": ("presence sensor",),
    "moisture": ("leak sensor", "water sensor"), "smoke": ("smoke alarm",), "gas": ("gas alarm",),
    "carbon_monoxide": ("co alarm",), "battery": ("battery",), "battery_charging": ("charger",),
    "connectivity": ("connection",), "plug": ("plug",), "power": ("power",), "running": ("motor",),
    "problem": ("fault light",), "safety": ("safety sensor",), "sound": ("microphone",),
    "vibration": ("vibration sensor",), "tamper": ("tamper switch",), "update": ("firmware",),
    "heat": ("heat alarm",), "cold": ("frost alarm",), "light": ("light sensor",), "lock": ("bolt",),
}  # fmt: skip


def augment_home(rng: random.Random, home: HomeContext) -> HomeContext:
    """The home plus a few sensors, binary sensors and people of random classes, so that every
    device class HA's templates ask about occurs somewhere in the data."""
    if not home.areas:
        return home
    used = {n.casefold() for e in home.entities for n in e.names}
    ids = {e.entity_id for e in home.entities}
    extra: list[EntityInfo] = []

    def add(domain: str, dc: str | None, base: str, area: str | None, state: str) -> None:
        name = f"{area} {base}" if area and rng.random() < 0.6 else base
        entity_id = f"{domain}.q_{'_'.join(name.lower().split())}"
        if name.casefold() in used or entity_id in ids:
            return
        used.add(name.casefold())
        ids.add(entity_id)
        extra.append(EntityInfo(entity_id, name, domain, (), area, None, dc, state))

    # Real installations carry many sensors (a motion, door and battery sensor per room, a
    # phone with six of them): in such a home "are any devices plugged in" must be told from
    # a dozen classes by its words, which a home with two binary sensors never teaches.
    rich = rng.random() < SENSOR_RICH_SHARE
    for _ in range(rng.randint(4, 12) if rich else rng.randint(1, 4)):
        dc = rng.choice(sorted(SENSOR_NAMES))
        area = rng.choice(home.areas).name if rng.random() < 0.8 else None
        base = rng.choice(SENSOR_NAMES[dc])
        if rng.random() < DEVICE_SENSOR_SHARE:  # "Car tyre pressure", "Solar Power Use"
            base = f"{rng.choice(SENSOR_DEVICES)} {rng.choice(SENSOR_NOUNS[dc])}"
            base = base.title() if rng.random() < 0.5 else base[0].upper() + base[1:].lower()
            area = None if rng.random() < 0.5 else area
        add("sensor", dc, base, area, str(rng.randint(0, 400)))
    for _ in range(rng.randint(6, 18) if rich else rng.randint(1, 4)):
        dc = rng.choice(sorted(BINARY_NAMES))
        area = rng.choice(home.areas).name if rng.random() < 0.8 else None
        add("binary_sensor", dc, rng.choice(BINARY_NAMES[dc]), area, rng.choice(("on", "off")))
    if rng.random() < 0.4:
        for person in rng.sample(PEOPLE, rng.randint(1, 3)):
            add("person", None, person, None, rng.choice(("home", "not_home")))
    if rng.random() < SHARED_NAME_SHARE:
        extra.extend(_shared_device(rng, home, used, ids))
    if rng.random() < WEATHER_SHARE:
        for place in rng.sample(WEATHER_PLACES, rng.randint(1, 3)):
            add("weather", None, place, None, rng.choice(("sunny", "cloudy", "rainy")))
    if not extra:
        return home
    floors = {a.name: a.floor for a in home.areas}
    extra = [replace(e, floor=floors.get(e.area or "")) for e in extra]
    return replace(
        home, entities=tuple(sorted((*home.entities, *extra), key=lambda e: e.entity_id))
    )


def _shared_device(
    rng: random.Random, home: HomeContext, used: set[str], ids: set[str]
) -> list[EntityInfo]:
    """Two to six sensors and binary sensors of distinct classes, all named after one device."""
    free = [n for n in SHARED_DEVICES if n.casefold() not in used]
    if not free:
        return []
    name = rng.choice(free)
    used.add(name.casefold())
    area = rng.choice(home.areas).name if rng.random() < 0.6 else None
    kinds = SHARED_DEVICES[name]
    classes = [("binary_sensor", k[2:]) if k.startswith("b:") else ("sensor", k) for k in kinds]
    out = []
    for domain, dc in rng.sample(classes, rng.randint(2, min(6, len(classes)))):
        entity_id = f"{domain}.q_{'_'.join(name.lower().replace('-', ' ').split())}_{dc}"
        if entity_id in ids:
            continue
        ids.add(entity_id)
        state = str(rng.randint(0, 400)) if domain == "sensor" else rng.choice(("on", "off"))
        out.append(EntityInfo(entity_id, name, domain, (), area, None, dc, state))
    return out


def _shared_names(home: HomeContext) -> set[str]:
    """Names (casefolded) that more than one entity of the home answers to."""
    counts = Counter(n.casefold() for e in home.entities for n in {*e.names})
    return {n for n, k in counts.items() if k > 1}


def _shares_name(home: HomeContext, e: EntityInfo) -> bool:
    """Another entity of the home answers to e's name: a question must say which (its class)."""
    return e.name.casefold() in _shared_names(home)


def _pick(rng: random.Random, home: HomeContext, ents: Sequence[EntityInfo]) -> EntityInfo:
    """One of ``ents``; half the time one whose name is shared, where the home has such."""
    shared = _shared_names(home)
    sharing = [e for e in ents if e.device_class and e.name.casefold() in shared]
    return rng.choice(sharing if sharing and rng.random() < SHARED_PICK else ents)


def _which(home: HomeContext, e: EntityInfo) -> dict[str, Any]:
    """The call's arguments that pick e: its name, and where the name is shared its domain and
    device class (HA's HassGetState filters by both)."""
    args: dict[str, Any] = {"name": e.name}
    if _shares_name(home, e):
        args["domain"] = [e.domain]
        if e.device_class:
            args["device_class"] = [e.device_class]
    return args


def _class_noun(rng: random.Random, e: EntityInfo) -> str | None:
    nouns = (SENSOR_NOUNS if e.domain == "sensor" else BINARY_NOUNS).get(e.device_class or "")
    return rng.choice(nouns) if nouns else None


# --- words for states -------------------------------------------------------------------------

# (domain, device class or None) -> [(HA state, words people use for it)]
STATE_WORDS: dict[tuple[str, str | None], list[tuple[str, tuple[str, ...]]]] = {
    ("light", None): [("on", ("on", "switched on", "lit")), ("off", ("off", "switched off", "dark"))],
    ("switch", None): [("on", ("on", "switched on", "powered")), ("off", ("off", "switched off"))],
    ("fan", None): [("on", ("on", "running", "spinning")), ("off", ("off", "stopped"))],
    ("input_boolean", None): [("on", ("on", "enabled", "active")), ("off", ("off", "disabled"))],
    ("cover", None): [("open", ("open", "up", "opened")), ("closed", ("closed", "shut", "down"))],
    ("valve", None): [("open", ("open", "running")), ("closed", ("closed", "shut", "off"))],
    ("lock", None): [("locked", ("locked", "secured", "bolted")), ("unlocked", ("unlocked", "unsecured"))],
    ("media_player", None): [("playing", ("playing", "playing something")), ("paused", ("paused",)), ("off", ("off",))],
    ("vacuum", None): [("cleaning", ("cleaning", "running", "vacuuming")), ("docked", ("docked", "charging", "back on its dock"))],
    ("climate", None): [("heat", ("heating", "on heat")), ("cool", ("cooling", "on cool")), ("off", ("off",))],
    ("humidifier", None): [("on", ("on", "running")), ("off", ("off",))],
    ("person", None): [("home", ("home", "at home", "in")), ("not_home", ("away", "out", "not home"))],
    ("binary_sensor", "door"): [("on", ("open",)), ("off", ("closed", "shut"))],
    ("binary_sensor", "window"): [("on", ("open",)), ("off", ("closed", "shut"))],
    ("binary_sensor", "garage_door"): [("on", ("open", "up")), ("off", ("closed", "down"))],
    ("binary_sensor", "opening"): [("on", ("open",)), ("off", ("closed",))],
    ("binary_sensor", "motion"): [("on", ("detecting motion", "seeing movement", "triggered")), ("off", ("clear", "quiet"))],
    ("binary_sensor", "occupancy"): [("on", ("occupied", "detecting someone")), ("off", ("clear", "empty"))],
    ("binary_sensor", "presence"): [("on", ("detecting someone", "seeing anyone")), ("off", ("clear",))],
    ("binary_sensor", "moisture"): [("on", ("wet", "leaking", "detecting water")), ("off", ("dry",))],
    ("binary_sensor", "smoke"): [("on", ("detecting smoke", "going off", "triggered")), ("off", ("clear", "quiet"))],
    ("binary_sensor", "gas"): [("on", ("detecting gas", "going off")), ("off", ("clear",))],
    ("binary_sensor", "carbon_monoxide"): [("on", ("detecting carbon monoxide", "going off")), ("off", ("clear",))],
    ("binary_sensor", "battery"): [("on", ("low", "running low", "nearly empty")), ("off", ("fine", "ok", "charged"))],
    ("binary_sensor", "battery_charging"): [("on", ("charging",)), ("off", ("not charging",))],
    ("binary_sensor", "connectivity"): [("on", ("online", "connected", "up")), ("off", ("offline", "disconnected", "down"))],
    ("binary_sensor", "plug"): [("on", ("plugged in",)), ("off", ("unplugged",))],
    ("binary_sensor", "power"): [("on", ("powered", "getting power")), ("off", ("without power",))],
    ("binary_sensor", "running"): [("on", ("running", "going")), ("off", ("finished", "stopped"))],
    ("binary_sensor", "sound"): [("on", ("hearing something", "picking up noise")), ("off", ("quiet", "silent"))],
    ("binary_sensor", "vibration"): [("on", ("vibrating", "shaking")), ("off", ("still",))],
    ("binary_sensor", "heat"): [("on", ("too hot", "overheating")), ("off", ("normal",))],
    ("binary_sensor", "cold"): [("on", ("too cold", "freezing")), ("off", ("normal",))],
    ("binary_sensor", "tamper"): [("on", ("tampered with",)), ("off", ("untouched",))],
    ("binary_sensor", "update"): [("on", ("out of date", "due an update")), ("off", ("up to date",))],
}  # fmt: skip
# Words that may follow "did I leave the X ..." (things one leaves on/open).
LEFT_STATES = frozenset({"on", "open", "unlocked", "playing"})

# Plural nouns for a group (domain, device class) and the device class to put in the call.
GROUP_NOUNS: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("light", None): ("lights", "lamps"),
    ("switch", None): ("switches", "plugs", "sockets"),
    ("fan", None): ("fans",),
    ("lock", None): ("locks", "doors"),
    ("media_player", None): ("media players", "speakers and tvs"),
    ("vacuum", None): ("vacuums", "robot vacuums"),
    ("valve", None): ("valves",),
    ("climate", None): ("thermostats",),
    ("person", None): ("people", "family members"),
    ("cover", "blind"): ("blinds",),
    ("cover", "curtain"): ("curtains",),
    ("cover", "shutter"): ("shutters",),
    ("cover", "shade"): ("shades",),
    ("cover", "garage"): ("garage doors",),
    ("cover", "window"): ("windows", "skylights"),
    ("cover", "gate"): ("gates",),
    ("cover", "awning"): ("awnings",),
    ("binary_sensor", "door"): ("doors", "door sensors"),
    ("binary_sensor", "window"): ("windows", "window sensors"),
    ("binary_sensor", "motion"): ("motion sensors",),
    ("binary_sensor", "occupancy"): ("occupancy sensors", "presence sensors"),
    ("binary_sensor", "moisture"): ("leak sensors", "water sensors"),
    ("binary_sensor", "smoke"): ("smoke detectors", "smoke alarms"),
    ("binary_sensor", "battery"): ("batteries",),
    ("binary_sensor", "connectivity"): ("devices",),
    ("binary_sensor", "gas"): ("gas detectors",),
    ("binary_sensor", "carbon_monoxide"): ("co detectors", "carbon monoxide alarms"),
}
SINGULAR = {
    "lights": "light", "lamps": "lamp", "switches": "switch", "plugs": "plug", "sockets": "socket",
    "fans": "fan", "locks": "lock", "doors": "door", "blinds": "blind", "curtains": "curtain",
    "shutters": "shutter", "shades": "shade", "garage doors": "garage door", "windows": "window",
    "skylights": "skylight", "gates": "gate", "awnings": "awning", "valves": "valve",
    "motion sensors": "motion sensor", "leak sensors": "leak sensor", "smoke detectors": "smoke detector",
    "smoke alarms": "smoke alarm", "batteries": "battery", "devices": "device", "vacuums": "vacuum",
    "people": "person", "thermostats": "thermostat", "door sensors": "door sensor",
    "window sensors": "window sensor", "water sensors": "water sensor",
}  # fmt: skip


def _words(e: EntityInfo) -> list[tuple[str, tuple[str, ...]]]:
    return STATE_WORDS.get((e.domain, e.device_class)) or STATE_WORDS.get((e.domain, None)) or []


# --- phrasings (ours; none from an evaluation suite) ----------------------------------------

NAMED_YES_NO = (
    "is the {n} {w}",
    "is {n} {w}",
    "is the {n} {w} right now",
    "is the {n} still {w}",
    "{n} {w}?",
    "is my {n} {w}",
    "can you tell me if the {n} is {w}",
    "check whether the {n} is {w}",
    "please check if the {n} is {w}",
    "i wonder if the {n} is {w}",
    "is the {n} currently {w}",
    "tell me whether {n} is {w}",
    "do you know if the {n} is {w}",
    "are you sure the {n} is {w}",
)
NAMED_LEFT = (
    "did i leave the {n} {w}",
    "did someone leave the {n} {w}",
    "has the {n} been left {w}",
    "did we leave the {n} {w}",
    "is the {n} left {w}",
)
READOUT = (
    "what's the {n}",
    "what is the {n} reading",
    "what does the {n} say",
    "what's the {n} showing",
    "give me the {n} reading",
    "read out the {n}",
    "what's the value of the {n}",
    "what's the status of the {n}",
    "status of the {n}",
    "what state is the {n} in",
    "how's the {n}",
    "{n} reading please",
    "tell me the {n}",
    "what's the {n} at",
    "check the {n} for me",
)
SHARED_READOUT = (  # a device with several sensors: the class says which ("the phone's battery")
    "what's the {nc}",  # {nc}: the device's name and the class, "phone battery"
    "what is the {n}'s {c}",
    "what's the {c} of the {n}",
    "how's the {nc}",
    "{nc}?",
    "tell me the {nc}",
    "what {c} does the {n} report",
    "read me the {c} on the {n}",
    "check the {nc}",
)
SHARED_STATUS = (  # the same for a binary sensor of such a device
    "what's the status of the {nc}",
    "how's the {nc}",
    "{nc}?",
    "check the {nc}",
    "what does the {n}'s {c} say",
    "what state is the {nc} in",
)
AREA_READOUT: dict[str, tuple[str, ...]] = {
    "humidity": ("how humid is it in the {a}", "what's the humidity in the {a}", "how damp is the {a}", "humidity in the {a}?"),
    "illuminance": ("what's the light level in the {a}", "how much light is there in the {a}"),
    "carbon_dioxide": ("what's the co2 in the {a}", "how's the air in the {a}", "co2 level in the {a}?"),
    "power": ("how much power is the {a} using", "what's the power draw in the {a}"),
    "noise": (),
}  # fmt: skip
CLIMATE = (
    "how warm is it in the {a}",
    "how cold is it in the {a}",
    "what's the temperature in the {a}",
    "how hot is the {a}",
    "temperature in the {a}?",
    "what temperature is it in the {a}",
    "is it warm in the {a}",
    "what's the {a} temperature",
    "{a} temperature?",
    "how warm is the {a} right now",
)
CLIMATE_HERE = ("how warm is it in here", "how cold is it", "what's the temperature in here", "is it warm in here", "what's the temperature")  # fmt: skip
CLIMATE_NAMED = ("what's the {n} reading", "what temperature does the {n} show", "how warm does the {n} say it is", "what's the {n} at", "what's the temperature on the {n}", "what does the {n} read", "the {n} temperature?")  # fmt: skip

GROUP_ANY = (
    "are any {g} {w}{where}",
    "is any {g1} {w}{where}",
    "is there a {g1} {w}{where}",
    "are there any {g} {w}{where}",
    "any {g} {w}{where}",
    "did i leave any {g} {w}{where}",
    "did someone leave a {g1} {w}{where}",
    "is one of the {g} {w}{where}",
)
GROUP_ALL = (
    "are all the {g} {w}{where}",
    "are all {g} {w}{where}",
    "is every {g1} {w}{where}",
    "are the {g} all {w}{where}",
    "are the {g}{where} {w}",
    "are all of the {g}{where} {w}",
)
GROUP_WHICH = (
    "which {g} are {w}{where}",
    "what {g} are {w}{where}",
    "which {g1} is {w}{where}",
    "tell me which {g} are {w}{where}",
    "list the {g} that are {w}{where}",
    "which of the {g} are {w}{where}",
    "what {g} did i leave {w}{where}",
)
GROUP_HOW_MANY = (
    "how many {g} are {w}{where}",
    "how many {g} did i leave {w}{where}",
    "how many of the {g} are {w}{where}",
    "count the {g} that are {w}{where}",
    "how many {g} are still {w}{where}",
)
ANYTHING_ANY = (
    "is anything {w}{where}",
    "is anything still {w}{where}",
    "did i leave anything {w}{where}",
    "is there anything {w}{where}",
    "anything {w}{where}?",
)
ANYTHING_WHICH = ("what's {w}{where}", "what is still {w}{where}", "what did i leave {w}{where}", "tell me what's {w}{where}")  # fmt: skip
ANYTHING_ALL = ("is everything {w}{where}", "is it all {w}{where}")
ANYTHING_HOW_MANY = ("how many things are {w}{where}", "how many devices are {w}{where}")

WEATHER = (
    "how's the weather",
    "what's the weather doing",
    "what's it like outside",
    "weather report please",
    "is it nice outside",
    "what's the weather like today",
    "give me the weather",
    "how is it outside",
    "is it raining",
    "is it sunny out",
    "what's the forecast",
    "weather?",
)
WEATHER_NAMED = (
    "what's the weather in {n}",
    "how's the weather at {n}",
    "weather for {n}?",
    "what's the weather like in {n}",
    "is it raining in {n}",
    "what's the forecast for {n}",
    "{n} weather?",
    "how's the weather in {n} today",
    "what's it like in {n}",
    "tell me the weather for {n}",
    "is it sunny in {n}",
)
# Weather entities: the home's own forecast, and places people keep an eye on.
WEATHER_PLACES = (
    "Home", "Forecast Home", "Paris", "Berlin", "New York", "Tokyo", "Sydney", "Madrid",
    "Amsterdam", "Toronto", "Chicago", "Dublin", "Oslo", "Vienna", "Lisbon", "Seattle", "Munich",
    "Rome", "Prague", "The Cabin", "Beach House", "Grandma's", "Ski Chalet", "Boston",
)  # fmt: skip
WEATHER_SHARE = 0.35  # augmented homes that get one to three weather entities
TIME = (
    "what time is it",
    "time please",
    "what's the time",
    "tell me the time",
    "have you got the time",
    "what time is it now",
    "what's the time right now",
    "current time?",
    "do you know what time it is",
)
DATE = (
    "what's the date",
    "what day is it",
    "what's today's date",
    "what is the date today",
    "tell me the date",
    "which day is it today",
    "what's the date today",
    "do you know what day it is",
)

FOLLOW_AREA_Q = ("and in the {a}?", "what about the {a}", "how about the {a}", "and the {a}?", "same question for the {a}", "{a}?", "and in the {a}")  # fmt: skip
FOLLOW_FLOOR_Q = ("and {f}?", "what about {f}", "how about {f}")
FOLLOW_NAME_Q = ("and the {n}?", "what about the {n}", "how about the {n}", "and {n}?", "same for the {n}")  # fmt: skip
THEN_OFF = ("turn it off", "then switch it off", "ok turn it off", "switch that off please")
THEN_ON = ("turn it on", "then switch it on", "ok turn it on please", "switch it on then")
THEN_CLOSE = ("close it", "then close it", "shut it please")
THEN_LOCK = ("lock it", "then lock it please", "ok lock it")
THEM_OFF = ("turn them off", "switch them all off", "ok turn those off")
CHECK_AFTER = ("is it on now?", "did it turn on?", "is it on?", "is it really on")
CHECK_AFTER_OFF = ("is it off now?", "did it go off?", "is it off?")

UNKNOWN_THINGS = ("sauna", "hot tub", "pool pump", "aquarium", "wine fridge", "doorbell", "alarm system", "sprinkler", "dishwasher", "oven", "fireplace", "car charger")  # fmt: skip
UNKNOWN_Q = ("is the {t} on", "is the {t} running", "did i leave the {t} on", "what's the {t} doing", "how's the {t}")  # fmt: skip


def _name_text(rng: random.Random, e: EntityInfo) -> str:
    name = rng.choice(e.names)
    return name.lower() if rng.random() < 0.6 else name


def _where(
    rng: random.Random, home: HomeContext, entities: Sequence[EntityInfo]
) -> tuple[str, dict[str, Any]]:
    """A place for a group question: nowhere, an area of the group, or its floor."""
    r = rng.random()
    areas = sorted({e.area for e in entities if e.area})
    if r < 0.35 or not areas:
        return "", {}
    floors = {a.name: a.floor for a in home.areas}
    if r < 0.85:
        area = rng.choice(areas)
        info = next((a for a in home.areas if a.name == area), None)
        said = rng.choice(info.names) if info else area
        form = rng.choice((" in the {a}", " in the {a}", " in {a}", " in the {a} right now"))
        return form.format(a=said.lower() if rng.random() < 0.6 else said), {"area": said}
    floor_names = sorted({f for a in areas if (f := floors.get(a))})
    if not floor_names:
        return "", {}
    wanted = rng.choice(floor_names)
    floor = next((f for f in home.floors if f.name == wanted), None)
    if floor is None:
        return "", {}
    said = rng.choice(floor.names)
    if said.casefold() in ("upstairs", "downstairs"):
        return f" {said.lower()}", {"floor": said}
    return f" on the {said.lower() if rng.random() < 0.6 else said}", {"floor": said}


def _state_choice(rng: random.Random, e: EntityInfo) -> tuple[str, str] | None:
    words = _words(e)
    if not words:
        return None
    state, said = rng.choice(words)
    return state, rng.choice(said)


def _ordered(args: dict[str, Any]) -> dict[str, Any]:
    order = ("name", "area", "floor", "domain", "device_class", "state")
    return {k: args[k] for k in order if k in args} | {
        k: v for k, v in args.items() if k not in order
    }


class QuestionGenerator:
    """Draws one question (sentence, calls, previous turn, satellite area, source) for a home."""

    def __init__(self, sampler: TemplateSampler, tool_params: dict[str, set[str]]) -> None:
        self.sampler = sampler
        self.tool_params = tool_params
        self.template_intents = [
            i for i in TEMPLATE_WEIGHTS if any(n == i for n, _, _ in sampler.templates)
        ]

    def question(
        self, rng: random.Random, home: HomeContext, area: str | None
    ) -> tuple[Question, HomeContext] | None:
        """A question and the home it was asked in (``augment_home`` adds sensors)."""
        if rng.random() < 0.6:
            home = augment_home(rng, home)
        kind = rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]
        got = getattr(self, f"_{kind}")(rng, home, area)
        if got is None:
            return None
        text, calls, previous, sat = got
        return (text, calls, previous, sat, f"question_{kind}"), home

    # Each returns (text, calls, previous, satellite area) or None.

    def _template(self, rng: random.Random, home: HomeContext, area: str | None) -> Any:
        weights = [TEMPLATE_WEIGHTS[i] for i in self.template_intents]
        intent = rng.choices(self.template_intents, weights)[0]
        sample = self.sampler.sample(rng, home, area, intent)
        if sample is None:
            return None
        call = call_for(sample, self.tool_params)
        if call is None:
            return None
        return sample.text, [call], None, area

    def _named(self, rng: random.Random, home: HomeContext, area: str | None) -> Any:
        ents = [e for e in home.entities if _words(e)]
        if not ents:
            return None
        e = _pick(rng, home, ents)
        choice = _state_choice(rng, e)
        if choice is None:
            return None
        state, said = choice
        forms = NAMED_YES_NO + (NAMED_LEFT if state in LEFT_STATES else ())
        said_name = _name_text(rng, e)
        args = _which(home, e)
        # a shared name must say its class; any sensor may ("the power of the pool pump")
        said_class = len(args) > 1 or (e.domain == "sensor" and rng.random() < 0.4)
        noun = _class_noun(rng, e) if said_class else None
        if noun:  # "is the phone battery low": the class says which of the phone's sensors
            said_name = f"{said_name} {noun}" if rng.random() < 0.7 else f"{said_name}'s {noun}"
        text = rng.choice(forms).format(n=said_name, w=said)
        return text, [ToolCall("HassGetState", {**args, "state": [state]})], None, area

    def _readout(self, rng: random.Random, home: HomeContext, area: str | None) -> Any:
        if rng.random() < 0.4:
            dcs = [dc for dc in AREA_READOUT if AREA_READOUT[dc]]
            rng.shuffle(dcs)
            for dc in dcs:
                areas = sorted({e.area for e in home.entities if e.domain == "sensor" and e.device_class == dc and e.area})  # fmt: skip
                if areas:
                    a = rng.choice(areas)
                    text = rng.choice(AREA_READOUT[dc]).format(
                        a=a.lower() if rng.random() < 0.6 else a
                    )
                    args = {"area": a, "domain": ["sensor"], "device_class": [dc]}
                    return text, [ToolCall("HassGetState", args)], None, area
        ents = [e for e in home.entities if e.domain in ("sensor", "binary_sensor", "vacuum", "media_player", "cover", "climate", "person", "lock")]  # fmt: skip
        if not ents:
            return None
        e = _pick(rng, home, ents)
        if e.domain == "person":
            text = rng.choice(("where is {n}", "where's {n}", "is {n} around", "where is {n} right now")).format(n=e.name)  # fmt: skip
            if text.startswith("is "):
                return (
                    text,
                    [ToolCall("HassGetState", {"name": e.name, "state": ["home"]})],
                    None,
                    area,
                )
            return text, [ToolCall("HassGetState", {"name": e.name})], None, area
        args = _which(home, e)
        # a shared name must say its class; any sensor may ("the power of the pool pump")
        said_class = len(args) > 1 or (e.domain == "sensor" and rng.random() < 0.4)
        noun = _class_noun(rng, e) if said_class else None
        if noun:
            forms = SHARED_READOUT if e.domain == "sensor" else SHARED_STATUS
            said = _name_text(rng, e)
            text = rng.choice(forms).format(n=said, c=noun, nc=f"{said} {noun}")
        else:
            text = rng.choice(READOUT).format(n=_name_text(rng, e))
        return text, [ToolCall("HassGetState", args)], None, area

    def _group(self, rng: random.Random, home: HomeContext, area: str | None) -> Any:
        if rng.random() < 0.25:  # "is anything on in the kitchen": no domain
            ents = [e for e in home.entities if e.domain in ("light", "switch", "fan", "media_player")]  # fmt: skip
            if not ents:
                return None
            where, place = _where(rng, home, ents)
            if not place and rng.random() < 0.5:
                return None
            state, said = rng.choice((("on", "on"), ("on", "switched on"), ("on", "running")))
            forms = rng.choice(
                (ANYTHING_ANY, ANYTHING_ANY, ANYTHING_WHICH, ANYTHING_ALL, ANYTHING_HOW_MANY)
            )
            if forms is ANYTHING_ALL:
                state, said = "off", rng.choice(("off", "switched off"))
            text = rng.choice(forms).format(w=said, where=where)
            return (
                text,
                [ToolCall("HassGetState", _ordered({**place, "state": [state]}))],
                None,
                area,
            )
        groups = sorted({(e.domain, e.device_class if e.domain in ("cover", "binary_sensor") else None) for e in home.entities} & set(GROUP_NOUNS))  # fmt: skip
        if not groups:
            return None
        domain, dc = rng.choice(groups)
        covers_too = any(
            e.domain == "cover" and e.device_class in ("window", "garage", "door")
            for e in home.entities
        )
        if domain == "binary_sensor" and dc in ("door", "window") and covers_too:
            return None  # "are the windows open" would have two right answers
        if domain == "lock" and any(e.domain == "binary_sensor" and e.device_class == "door" for e in home.entities):  # fmt: skip
            return None
        members = [e for e in home.entities if e.domain == domain and (dc is None or e.device_class == dc)]  # fmt: skip
        words = STATE_WORDS.get((domain, dc)) or STATE_WORDS.get((domain, None))
        if not words:
            return None
        state, saids = rng.choice(words)
        said = rng.choice(saids)
        noun = rng.choice(GROUP_NOUNS[(domain, dc)])
        if domain == "lock" and noun == "doors" and state not in ("locked", "unlocked"):
            return None
        where, place = _where(rng, home, members)
        forms = rng.choice((GROUP_ANY, GROUP_ALL, GROUP_WHICH, GROUP_HOW_MANY))
        text = rng.choice(forms).format(g=noun, g1=SINGULAR.get(noun, noun), w=said, where=where)
        args: dict[str, Any] = {**place, "domain": [domain]}
        if dc is not None:
            args["device_class"] = [dc]
        args["state"] = [state]
        return text, [ToolCall("HassGetState", _ordered(args))], None, area

    def _climate(self, rng: random.Random, home: HomeContext, area: str | None) -> Any:
        climates = [e for e in home.entities if e.domain == "climate"]
        r = rng.random()
        if climates and r < 0.25:
            e = rng.choice(climates)
            text = rng.choice(CLIMATE_NAMED).format(n=_name_text(rng, e))
            return text, [ToolCall("HassClimateGetTemperature", {"name": e.name})], None, area
        if climates and r < 0.45 and area:
            return rng.choice(CLIMATE_HERE), [ToolCall("HassClimateGetTemperature", {"area": area})], None, area  # fmt: skip
        if climates:
            areas = sorted({e.area for e in climates if e.area})
            if not areas:
                return None
            a = rng.choice(areas)
            text = rng.choice(CLIMATE).format(a=a.lower() if rng.random() < 0.6 else a)
            return text, [ToolCall("HassClimateGetTemperature", {"area": a})], None, area
        temps = sorted({e.area for e in home.entities if e.domain == "sensor" and e.device_class == "temperature" and e.area})  # fmt: skip
        if not temps:
            return None
        a = rng.choice(temps)
        text = rng.choice(CLIMATE).format(a=a.lower() if rng.random() < 0.6 else a)
        args = {"area": a, "domain": ["sensor"], "device_class": ["temperature"]}
        return text, [ToolCall("HassGetState", args)], None, area

    def _clock(self, rng: random.Random, home: HomeContext, area: str | None) -> Any:
        r = rng.random()
        if r < 0.25:
            return rng.choice(TIME), [ToolCall("HassGetCurrentTime", {})], None, area
        if r < 0.45:
            return rng.choice(DATE), [ToolCall("HassGetCurrentDate", {})], None, area
        weathers = [e for e in home.entities if e.domain == "weather"]
        if not weathers:
            return None
        if len(weathers) > 1 and r < 0.7:
            e = rng.choice(weathers)
            text = rng.choice(WEATHER_NAMED).format(n=e.name)
            return text, [ToolCall("HassGetWeather", {"name": e.name})], None, area
        return rng.choice(WEATHER), [ToolCall("HassGetWeather", {})], None, area

    def _follow_up(self, rng: random.Random, home: HomeContext, area: str | None) -> Any:
        r = rng.random()
        if r < 0.15:
            return self._check_after_command(rng, home, area)
        first = self._named(rng, home, area) if r < 0.45 else self._group(rng, home, area)
        if first is None:
            return None
        text0, calls0, _, _ = first
        previous = Turn(text0, tuple(calls0))
        args = dict(calls0[0].arguments)
        if "name" in args:
            named = next((e for e in home.entities if e.name == args["name"]), None)
            if named is None:
                return None
            if rng.random() < 0.45:  # a command about what was just asked
                state = (args.get("state") or [""])[0]
                if named.domain in ("light", "switch", "fan", "input_boolean", "media_player"):
                    off = state in ("on", "playing") or rng.random() < 0.5
                    forms, tool = (THEN_OFF, "HassTurnOff") if off else (THEN_ON, "HassTurnOn")
                elif named.domain == "cover":
                    forms, tool = THEN_CLOSE, "HassTurnOff"
                elif named.domain == "lock":
                    forms, tool = THEN_LOCK, "HassTurnOn"
                else:
                    return None
                return rng.choice(forms), [ToolCall(tool, {"name": named.name})], previous, area
            others = [e for e in home.entities if e.domain == named.domain and e.device_class == named.device_class and e is not named]  # fmt: skip
            if not others:
                return None
            other = rng.choice(others)
            text = rng.choice(FOLLOW_NAME_Q).format(n=_name_text(rng, other))
            return text, [ToolCall("HassGetState", {**args, "name": other.name})], previous, area
        domains = args.get("domain") or []
        if rng.random() < 0.3 and domains and domains[0] in ("light", "switch", "fan") and args.get("state") == ["on"]:  # fmt: skip
            target = {k: v for k, v in args.items() if k in ("area", "floor", "domain")}
            return rng.choice(THEM_OFF), [ToolCall("HassTurnOff", target)], previous, area
        members = [e for e in home.entities if not domains or e.domain in domains]
        if "floor" in args or (home.floors and rng.random() < 0.2):
            floors = [f for f in home.floors if f.name not in (args.get("floor"),)]
            floors = [f for f in floors if any(e.floor == f.name for e in members)]
            if not floors:
                return None
            f = rng.choice(floors)
            said = rng.choice(f.names)
            text = rng.choice(FOLLOW_FLOOR_Q).format(f=said.lower() if said.casefold() in ("upstairs", "downstairs") else f"the {said.lower()}")  # fmt: skip
            new = {k: v for k, v in args.items() if k not in ("area", "floor")}
            return (
                text,
                [ToolCall("HassGetState", _ordered({**new, "floor": said}))],
                previous,
                area,
            )
        areas = sorted({e.area for e in members if e.area and e.area != args.get("area")})
        if not areas:
            return None
        a = rng.choice(areas)
        text = rng.choice(FOLLOW_AREA_Q).format(a=a.lower() if rng.random() < 0.6 else a)
        new = {k: v for k, v in args.items() if k not in ("area", "floor")}
        return text, [ToolCall("HassGetState", _ordered({**new, "area": a}))], previous, area

    def _check_after_command(self, rng: random.Random, home: HomeContext, area: str | None) -> Any:
        ents = [e for e in home.entities if e.domain in ("light", "switch", "fan")]
        if not ents:
            return None
        e = rng.choice(ents)
        on = rng.random() < 0.6
        said = rng.choice(e.names).lower()
        first = Turn(f"turn {'on' if on else 'off'} the {said}", (ToolCall("HassTurnOn" if on else "HassTurnOff", {"name": e.name}),))  # fmt: skip
        text = rng.choice(CHECK_AFTER if on else CHECK_AFTER_OFF)
        call = ToolCall("HassGetState", {"name": e.name, "state": ["on" if on else "off"]})
        return text, [call], first, area

    def _negative(self, rng: random.Random, home: HomeContext, area: str | None) -> Any:
        thing = rng.choice(UNKNOWN_THINGS)
        known = " ".join(n.casefold() for e in home.entities for n in e.names)
        if any(w in known for w in thing.split()):
            return None
        return rng.choice(UNKNOWN_Q).format(t=thing), [], None, area
