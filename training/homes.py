"""Synthetic homes: floors, areas, and exposed entities with the names people give them.

Every example needs a home, because the prompt builder turns a home into the tool enums the
model picks from. Homes vary in size (5 to 300 exposed entities), naming style ("Kitchen Light"
vs. "Ceiling Light" in the Kitchen), aliases, and which domains they have, so the model learns
to read the enums rather than memorise names. Pure function of the ``random.Random`` passed in.
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
]

OUTDOOR = {"Garden", "Patio", "Porch", "Driveway", "Balcony", "Terrace"}


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
    Kind("switch", None, ("Plug", "Outlet", "Smart Plug", "Power Strip"), 3, (0, 1)),
    Kind(
        "switch",
        None,
        ("Coffee Maker", "Kettle", "Heater", "Dehumidifier", "Christmas Tree", "Fountain"),
        2,
        (0, 1),
    ),
    Kind("fan", None, ("Fan", "Ceiling Fan", "Tower Fan", "Extractor Fan"), 2, (0, 1)),
    Kind("cover", "blind", ("Blinds", "Blind", "Roller Blind"), 2, (0, 2)),
    Kind("cover", "curtain", ("Curtains", "Curtain", "Drapes"), 1.5, (0, 1)),
    Kind("cover", "shutter", ("Shutters", "Shutter"), 1, (0, 1)),
    Kind("cover", "shade", ("Shades", "Sun Shade"), 1, (0, 1)),
    Kind("cover", "awning", ("Awning",), 0.3, (0, 1)),
    Kind("cover", "garage", ("Garage Door",), 0.6, (0, 1)),
    Kind("cover", "gate", ("Gate", "Driveway Gate"), 0.3, (0, 1)),
    Kind("cover", "window", ("Skylight", "Window"), 0.4, (0, 1)),
    Kind("lock", None, ("Front Door Lock", "Back Door Lock", "Door Lock", "Deadbolt"), 1, (0, 1)),
    Kind("climate", None, ("Thermostat", "Heating", "Air Conditioner", "Heat Pump"), 1.5, (0, 1)),
    Kind("media_player", "tv", ("TV", "Television", "Smart TV"), 1.5, (0, 1)),
    Kind("media_player", "speaker", ("Speaker", "Sonos", "Echo", "HomePod"), 1.5, (0, 1)),
    Kind("media_player", "receiver", ("Receiver", "Soundbar"), 0.5, (0, 1)),
    Kind("vacuum", None, ("Vacuum", "Robot Vacuum", "Roomba", "Robot"), 0.5, (0, 1)),
    Kind("sensor", "temperature", ("Temperature", "Temperature Sensor"), 2, (0, 1)),
    Kind("sensor", "humidity", ("Humidity", "Humidity Sensor"), 1.5, (0, 1)),
    Kind("sensor", "battery", ("Sensor Battery", "Remote Battery"), 1, (0, 1)),
    Kind("sensor", "power", ("Power", "Energy Meter"), 0.5, (0, 1)),
    Kind("binary_sensor", "motion", ("Motion", "Motion Sensor"), 1.5, (0, 1)),
    Kind("binary_sensor", "door", ("Door", "Door Sensor"), 1, (0, 1)),
    Kind("binary_sensor", "window", ("Window Sensor", "Window Contact"), 1, (0, 1)),
    Kind("binary_sensor", "moisture", ("Leak Sensor", "Water Leak"), 0.5, (0, 1)),
    Kind("binary_sensor", "smoke", ("Smoke Detector",), 0.4, (0, 1)),
    Kind("valve", "water", ("Water Valve", "Sprinkler Valve", "Irrigation"), 0.4, (0, 1)),
    Kind("valve", "gas", ("Gas Valve",), 0.1, (0, 1)),
    Kind("humidifier", None, ("Humidifier",), 0.2, (0, 1)),
]

# Whole-home things with no area.
GLOBAL: list[tuple[str, str | None, tuple[str, ...]]] = [
    ("todo", None, ("Shopping List", "Groceries", "To Do", "Chores", "Hardware Store")),
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
}


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
    """A plausible home with about ``n_entities`` exposed entities (5 to 300 when None)."""
    if n_entities is None:
        # Most homes expose a few dozen entities; some expose hundreds.
        n_entities = min(300, max(5, int(rng.lognormvariate(3.3, 0.8))))
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
    prefix_style = rng.random()  # how often names carry the area ("Kitchen Light")

    def add(domain: str, dc: str | None, base: str, area: AreaInfo | None) -> None:
        name = base
        if area and (rng.random() < prefix_style or name.casefold() in used):
            name = f"{area.name} {base}"
        if name.casefold() in used:
            return
        used.add(name.casefold())
        aliases = ()
        if base in ALIASES and rng.random() < 0.3:
            aliases = (rng.choice(ALIASES[base]),)
            if area and any(a.casefold() in used for a in aliases):
                aliases = ()
        obj = f"{domain}.{'_'.join(name.lower().replace("'", '').split())}"
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
