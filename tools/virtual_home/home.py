"""A home fixture (``shared/eval/FORMAT.md``): floors, areas, entities with HA's own states and
attributes. Plain data, no Home Assistant import: the evaluator reads suites with it and the
demo's custom integration builds its home from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The domains FORMAT.md lets fixtures use, plus person (the intents fixture has people).
DOMAINS = frozenset(
    {
        "light", "switch", "fan", "cover", "lock", "climate", "media_player", "vacuum", "sensor",
        "binary_sensor", "todo", "scene", "script", "input_boolean", "valve", "weather", "person",
    }
)  # fmt: skip


class FixtureError(ValueError):
    """A suite, home or case that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    floor: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Floor:
    id: str
    name: str


@dataclass(frozen=True)
class EntitySpec:
    entity_id: str
    name: str
    area: str | None = None
    aliases: tuple[str, ...] = ()
    exposed: bool = True
    state: str = "unknown"
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.entity_id.split(".", 1)[0]


@dataclass(frozen=True)
class Home:
    path: Path
    name: str
    language: str
    floors: tuple[Floor, ...]
    areas: tuple[Area, ...]
    entities: tuple[EntitySpec, ...]

    def entity(self, entity_id: str) -> EntitySpec | None:
        return next((e for e in self.entities if e.entity_id == entity_id), None)


def _str_list(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FixtureError(f"{what} must be a list of strings")
    return tuple(value)


def load_home(path: Path) -> Home:
    """Read and check one home fixture; raises FixtureError with the file's name."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise FixtureError(f"home file {path} does not exist") from err
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise FixtureError(f"home file {path.name} is not readable YAML: {err}") from err
    if not isinstance(raw, dict):
        raise FixtureError(f"home file {path.name}: the top level must be a mapping")
    where = f"home file {path.name}"
    try:
        floors = tuple(Floor(str(f["id"]), str(f["name"])) for f in raw.get("floors") or [])
        floor_ids = {f.id for f in floors}
        areas = []
        for a in raw.get("areas") or []:
            area = Area(
                str(a["id"]),
                str(a["name"]),
                a.get("floor"),
                _str_list(a.get("aliases"), f"area {a['id']} aliases"),
            )
            if area.floor is not None and area.floor not in floor_ids:
                raise FixtureError(f"area {area.id} names unknown floor {area.floor!r}")
            areas.append(area)
        area_ids = {a.id for a in areas}
        entities = []
        seen: set[str] = set()
        for e in raw.get("entities") or []:
            entity_id = str(e["entity_id"])
            domain, _, object_id = entity_id.partition(".")
            if not object_id:
                raise FixtureError(f"{entity_id!r} is not an entity id")
            if domain not in DOMAINS:
                raise FixtureError(f"{entity_id}: unknown domain {domain!r}")
            if entity_id in seen:
                raise FixtureError(f"{entity_id} appears twice")
            seen.add(entity_id)
            if e.get("area") is not None and e["area"] not in area_ids:
                raise FixtureError(f"{entity_id} names unknown area {e['area']!r}")
            attributes = e.get("attributes") or {}
            if not isinstance(attributes, dict):
                raise FixtureError(f"{entity_id}: attributes must be a mapping")
            entities.append(
                EntitySpec(
                    entity_id,
                    str(e.get("name") or object_id.replace("_", " ").title()),
                    e.get("area"),
                    _str_list(e.get("aliases"), f"{entity_id} aliases"),
                    bool(e.get("exposed", True)),
                    "unknown" if e.get("state") is None else str(e["state"]),
                    dict(attributes),
                )
            )
    except FixtureError as err:
        raise FixtureError(f"{where}: {err}") from err
    except (KeyError, TypeError, AttributeError) as err:
        raise FixtureError(f"{where}: malformed entry ({type(err).__name__}: {err})") from err
    return Home(
        path, str(raw.get("name") or path.stem), str(raw.get("language") or "en"), floors,
        tuple(areas), tuple(entities),
    )  # fmt: skip
