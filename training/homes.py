"""Synthetic homes: floors, areas, and exposed entities with the names people give them.

Every example needs a home, because the prompt builder turns a home into the tool enums the
model picks from. Homes vary in size (5 to 500 exposed entities), naming style ("Kitchen Light"
vs. "Ceiling Light" in the Kitchen), aliases, and which domains they have, so the model learns
to read the enums rather than memorise names. They copy the habits of real installations:
numbered and possessive rooms ("Bedroom 2", "Mia's Room"), brand and model names ("Hue Go",
"Roborock S7"), generic product names ("Smart Lock", "Smart Plug"), names that carry another
domain's word ("Fan Light" is a light, "TV Plug" a switch), the same name in several areas
("Ceiling Light" in three rooms), several to-do lists with their own names, every device class
HA has for a domain. Pure function of the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from custom_components.needle.prompt import AreaInfo, EntityInfo, FloorInfo, HomeContext

FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("Ground Floor", ("Downstairs",)),
    ("First Floor", ("Upstairs",)),
    ("Second Floor", ()),
    ("Basement", ("Cellar",)),
    ("Attic", ("Loft",)),
    ("Main Floor", ()),
    ("Upper Floor", ()),
]

AREAS: list[tuple[str, tuple[str, ...]]] = [
    ("Living Room", ("Lounge",)),
    ("Kitchen", ()),
    ("Bedroom", ()),
    ("Master Bedroom", ("Main Bedroom",)),
    ("Guest Room", ("Spare Room",)),
    ("Kids Room", ()),
    ("Nursery", ("Baby Room",)),
    ("Office", ("Study",)),
    ("Bathroom", ()),
    ("Ensuite", ()),
    ("Toilet", ("WC",)),
    ("Hallway", ("Hall",)),
    ("Entrance", ("Entryway",)),
    ("Dining Room", ()),
    ("Garage", ()),
    ("Garden", ("Backyard",)),
    ("Patio", ()),
    ("Porch", ()),
    ("Driveway", ()),
    ("Laundry Room", ("Utility Room",)),
    ("Basement", ()),
    ("Attic", ()),
    ("Den", ()),
    ("Playroom", ()),
    ("Gym", ()),
    ("Balcony", ()),
    ("Family Room", ()),
    ("Library", ()),
    ("Workshop", ()),
    ("Pantry", ()),
    ("Sunroom", ()),
    ("Staircase", ("Stairs",)),
    ("Emma's Room", ()),
    ("Noah's Room", ()),
    ("Studio", ()),
    ("Terrace", ()),
    ("Bedroom 2", ("Second Bedroom",)),
    ("Bedroom 3", ()),
    ("Bathroom 2", ()),
    ("Mia's Room", ()),
    ("Dad's Office", ()),
    ("Grandma's Room", ()),
    ("Upstairs Bathroom", ()),
    ("Downstairs Toilet", ()),
    ("Back Garden", ()),
    ("Front Yard", ()),
    ("Shed", ()),
    ("Cinema Room", ("Media Room",)),
    ("Mudroom", ()),
    ("Closet", ("Wardrobe",)),
    ("Loft", ()),
    ("Kitchenette", ()),
    ("Guest Bathroom", ()),
    ("Annex", ()),
]

OUTDOOR = {
    "Garden", "Patio", "Porch", "Driveway", "Balcony", "Terrace", "Back Garden", "Front Yard",
    "Shed",
}  # fmt: skip


@dataclass(frozen=True)
class Kind:
    """A kind of device: domain, device class, base names, and how likely a home has it."""

    domain: str
    device_class: str | None
    names: tuple[str, ...]
    weight: float
    per_area: tuple[int, int] = (0, 1)


KINDS: list[Kind] = [
    Kind("light", None, ("Light", "Ceiling Light", "Lamp", "Lights", "Spotlights"), 6, (1, 3)),
    Kind("light", None, ("Floor Lamp", "Desk Lamp", "Reading Lamp", "LED Strip"), 3, (0, 2)),
    Kind("light", None, ("Pendant", "Chandelier", "Night Light", "Wall Light"), 2, (0, 1)),
    Kind("light", None, ("Downlights", "Bedside Lamp", "Light Strip", "Cabinet Lights"), 1.5),
    # brand/model and generic product names, and light names carrying another domain's word
    Kind("light", None, ("Hue Go", "Hue Bulb", "Nanoleaf", "LIFX", "Tradfri", "Govee Strip"), 1.5),
    Kind("light", None, ("Smart Bulb", "Dimmer", "Bulb", "Light 1", "Light 2"), 1),
    Kind("light", None, ("Fan Light", "TV Lamp", "TV Backlight", "Door Light", "Mirror Light"), 1),
    Kind("switch", "outlet", ("Plug", "Outlet", "Smart Plug", "Power Strip"), 3, (0, 1)),
    Kind("switch", "outlet", ("TV Plug", "Lamp Plug", "Fan Plug", "Heater Plug"), 1),
    Kind("switch", "outlet", ("Shelly Plug", "Kasa Plug", "Meross Plug", "Sonoff"), 1),
    Kind(
        "switch",
        "switch",
        ("Coffee Maker", "Kettle", "Heater", "Dehumidifier", "Christmas Tree", "Fountain"),
        2,
        (0, 1),
    ),
    Kind("switch", "switch", ("Light Switch", "Relay", "Shelly 1PM", "Towel Rail", "Pump"), 1),
    Kind("fan", None, ("Fan", "Ceiling Fan", "Tower Fan", "Extractor Fan"), 2, (0, 1)),
    Kind("fan", None, ("Dyson", "Air Purifier", "Desk Fan", "Window Fan"), 0.8),
    Kind("cover", "blind", ("Blinds", "Blind", "Roller Blind", "Somfy Blind"), 2, (0, 2)),
    Kind("cover", "curtain", ("Curtains", "Curtain", "Drapes", "Aqara Curtain"), 1.5, (0, 1)),
    Kind("cover", "shutter", ("Shutters", "Shutter", "Roller Shutter"), 1, (0, 1)),
    Kind("cover", "shade", ("Shades", "Sun Shade", "Roman Shade"), 1, (0, 1)),
    Kind("cover", "awning", ("Awning", "Sun Awning"), 0.3, (0, 1)),
    Kind("cover", "garage", ("Garage Door",), 0.6, (0, 1)),
    Kind("cover", "gate", ("Gate", "Driveway Gate"), 0.3, (0, 1)),
    Kind("cover", "window", ("Skylight", "Window", "Velux"), 0.4, (0, 1)),
    Kind("cover", "door", ("Patio Door", "Sliding Door"), 0.2, (0, 1)),
    Kind("cover", "damper", ("Damper", "Vent"), 0.1, (0, 1)),
    Kind(
        "lock",
        None,
        (
            "Front Door Lock",
            "Back Door Lock",
            "Door Lock",
            "Deadbolt",
            "Smart Lock",
            "Yale Lock",
            "Nuki",
            "August Lock",
        ),
        1,
        (0, 1),
    ),
    Kind(
        "climate",
        None,
        (
            "Thermostat",
            "Heating",
            "Air Conditioner",
            "Heat Pump",
            "Nest",
            "Ecobee",
            "Tado",
            "AC",
            "Radiator",
        ),
        1.5,
        (0, 1),
    ),
    Kind(
        "media_player",
        "tv",
        ("TV", "Television", "Smart TV", "Samsung TV", "LG OLED", "Apple TV", "Bravia"),
        1.5,
        (0, 1),
    ),
    Kind(
        "media_player",
        "speaker",
        (
            "Speaker",
            "Sonos",
            "Echo",
            "HomePod",
            "Sonos One",
            "Echo Dot",
            "Nest Mini",
            "Smart Speaker",
        ),
        1.5,
        (0, 1),
    ),
    Kind("media_player", "receiver", ("Receiver", "Soundbar", "Sonos Beam", "Denon"), 0.5),
    Kind(
        "vacuum",
        None,
        ("Vacuum", "Robot Vacuum", "Roomba", "Robot", "Roborock S7", "Eufy", "Robovac"),
        0.5,
        (0, 1),
    ),
    Kind("sensor", "temperature", ("Temperature", "Temperature Sensor"), 2, (0, 1)),
    Kind("sensor", "humidity", ("Humidity", "Humidity Sensor"), 1.5, (0, 1)),
    Kind("sensor", "battery", ("Sensor Battery", "Remote Battery"), 1, (0, 1)),
    Kind("sensor", "power", ("Power", "Energy Meter"), 0.5, (0, 1)),
    Kind("sensor", "illuminance", ("Light Level", "Lux"), 0.3, (0, 1)),
    Kind("sensor", "carbon_dioxide", ("CO2",), 0.2, (0, 1)),
    Kind("binary_sensor", "motion", ("Motion", "Motion Sensor"), 1.5, (0, 1)),
    Kind("binary_sensor", "door", ("Door", "Door Sensor"), 1, (0, 1)),
    Kind("binary_sensor", "window", ("Window Sensor", "Window Contact"), 1, (0, 1)),
    Kind("binary_sensor", "moisture", ("Leak Sensor", "Water Leak"), 0.5, (0, 1)),
    Kind("binary_sensor", "smoke", ("Smoke Detector",), 0.4, (0, 1)),
    Kind("binary_sensor", "occupancy", ("Presence", "Occupancy"), 0.3, (0, 1)),
    Kind("valve", "water", ("Water Valve", "Sprinkler Valve", "Irrigation"), 0.4, (0, 1)),
    Kind("valve", "gas", ("Gas Valve",), 0.1, (0, 1)),
    Kind("humidifier", "humidifier", ("Humidifier",), 0.2, (0, 1)),
    Kind("humidifier", "dehumidifier", ("Dehumidifier Unit",), 0.1, (0, 1)),
]

# Whole-home things with no area.
GLOBAL: list[tuple[str, str | None, tuple[str, ...]]] = [
    ("todo", None, ("Shopping List", "Groceries", "To Do", "Chores", "Hardware Store")),
    ("todo", None, ("Costco", "Work Tasks", "Packing List", "Weekend Projects", "Pharmacy")),
    ("scene", None, ("Movie Night", "Good Night", "Relax", "Dinner", "Romantic", "Morning")),
    ("script", None, ("Bedtime Routine", "Wake Up", "Leave Home", "Party Mode", "Arrive Home")),
    ("input_boolean", None, ("Guest Mode", "Vacation Mode", "Away Mode", "Night Mode")),
    ("weather", None, ("Home", "Forecast", "Weather")),
    ("sensor", "temperature", ("Outside Temperature", "Outdoor Temperature")),
]

ALIASES = {
    "TV": ("Telly", "Television"),
    "Television": ("TV",),
    "Ceiling Light": ("Overhead Light", "Big Light", "Main Light"),
    "Lamp": ("Table Lamp",),
    "Fan": ("Ventilator",),
    "Garage Door": ("Garage",),
    "Thermostat": ("Heating",),
    "Robot Vacuum": ("Robot", "Hoover"),
    "Vacuum": ("Hoover",),
    "Coffee Maker": ("Coffee Machine", "Espresso Machine"),
    "Christmas Tree": ("Xmas Tree", "Tree Lights"),
    "LED Strip": ("Light Strip", "Ambient Light"),
    "Speaker": ("Music",),
    "Front Door Lock": ("Front Door",),
    "Back Door Lock": ("Back Door",),
    "Roborock S7": ("Robot", "Vacuum"),
    "Eufy": ("Vacuum",),
    "Hue Go": ("Lamp",),
    "Samsung TV": ("TV",),
    "LG OLED": ("TV",),
    "Nest": ("Thermostat",),
    "Ecobee": ("Thermostat",),
    "Tado": ("Heating",),
    "Sonos One": ("Speaker",),
    "Echo Dot": ("Alexa",),
    "AC": ("Air Con",),
    "Dyson": ("Fan",),
    "Nuki": ("Door Lock",),
    "Yale Lock": ("Front Door",),
}

# Names several areas share in homes where the area is the only difference (HA allows it).
SHARED_NAMES = ("Ceiling Light", "Lamp", "Light", "Blinds", "Speaker", "Thermostat", "TV", "Fan")


def _state(domain: str, device_class: str | None, rng: random.Random) -> str:
    return {
        "light": rng.choice(["on", "off"]),
        "switch": rng.choice(["on", "off"]),
        "fan": rng.choice(["on", "off"]),
        "input_boolean": rng.choice(["on", "off"]),
        "cover": rng.choice(["open", "closed"]),
        "valve": rng.choice(["open", "closed"]),
        "lock": rng.choice(["locked", "unlocked"]),
        "climate": rng.choice(["heat", "cool", "off", "auto"]),
        "media_player": rng.choice(["playing", "paused", "idle", "off"]),
        "vacuum": rng.choice(["docked", "cleaning"]),
        "sensor": str(rng.randint(0, 100)),
        "binary_sensor": rng.choice(["on", "off"]),
        "todo": str(rng.randint(0, 9)),
        "weather": rng.choice(["sunny", "cloudy", "rainy"]),
    }.get(domain, "unknown")


def random_home(rng: random.Random, n_entities: int | None = None) -> HomeContext:
    """A plausible home with about ``n_entities`` exposed entities (5 to 500 when None)."""
    if n_entities is None:
        # Most homes expose a few dozen entities; some expose hundreds.
        n_entities = min(500, max(5, int(rng.lognormvariate(3.4, 0.9))))
    n_areas = max(1, min(len(AREAS), int(n_entities / rng.uniform(2.5, 6)) + 1))
    chosen_areas = rng.sample(AREAS, n_areas)
    floors: list[FloorInfo] = []
    if n_areas >= 4 and rng.random() < 0.6:
        floors = [FloorInfo(n, a) for n, a in rng.sample(FLOORS, rng.randint(2, 3))]
    areas = [
        AreaInfo(
            name=name,
            aliases=aliases if rng.random() < 0.5 else (),
            floor=rng.choice(floors).name if floors else None,
        )
        for name, aliases in chosen_areas
    ]

    entities: list[EntityInfo] = []
    used: set[str] = set()
    shared: dict[str, set[str]] = {}  # a name several areas use -> those areas
    ids: set[str] = set()
    prefix_style = rng.random()  # how often names carry the area ("Kitchen Light")
    share_names = rng.random() < 0.35  # homes where "Ceiling Light" is in three rooms

    def add(domain: str, dc: str | None, base: str, area: AreaInfo | None) -> None:
        name = base
        key = name.casefold()
        if (
            share_names
            and area
            and base in SHARED_NAMES
            and key not in used
            and area.name not in shared.get(key, set())
        ):
            shared.setdefault(key, set()).add(area.name)
        else:
            if area and (rng.random() < prefix_style or key in used or key in shared):
                name = f"{area.name} {base}"
            if name.casefold() in used or name.casefold() in shared:
                return
            used.add(name.casefold())
        aliases = ()
        if base in ALIASES and rng.random() < 0.3:
            aliases = (rng.choice(ALIASES[base]),)
            if any(a.casefold() in used or a.casefold() in shared for a in aliases):
                aliases = ()
            else:
                used.update(a.casefold() for a in aliases)
        obj = f"{domain}.{'_'.join(name.lower().replace("'", '').split())}"
        while obj in ids:
            obj += "_2"
        ids.add(obj)
        entities.append(
            EntityInfo(
                entity_id=obj,
                name=name,
                domain=domain,
                aliases=aliases,
                area=area.name if area else None,
                floor=area.floor if area else None,
                device_class=dc,
                state=_state(domain, dc, rng),
            )
        )

    home_kinds = [k for k in KINDS if rng.random() < min(1.0, k.weight / 2.5 + 0.15)]
    if not any(k.domain == "light" for k in home_kinds):
        home_kinds.insert(0, KINDS[0])
    if rng.random() < 0.6:  # to-do lists with their own names, often more than one
        lists = [n for d, _, names in GLOBAL if d == "todo" for n in names]
        for name in rng.sample(lists, rng.choice((1, 1, 2, 2, 3))):
            add("todo", None, name, None)
    guard = 0
    while len(entities) < n_entities and guard < 50 * n_entities:
        guard += 1
        kind = rng.choices(home_kinds, weights=[k.weight for k in home_kinds])[0]
        area = rng.choice(areas)
        if kind.device_class in ("garage", "gate") and area.name not in OUTDOOR | {"Garage"}:
            continue
        add(kind.domain, kind.device_class, rng.choice(kind.names), area)
        if rng.random() < 0.08:
            domain, dc, names = rng.choice(GLOBAL)
            add(domain, dc, rng.choice(names), None)
    rng.shuffle(entities)
    return HomeContext(entities=tuple(entities), areas=tuple(areas), floors=tuple(floors))
