"""Read a running Home Assistant into the plain dataclasses of ``prompt.py``.

Kept apart from ``prompt.py`` so that the prompt builder stays importable without Home Assistant
(training runs in a venv that has none). Everything here runs in the event loop: registry and
state reads are in-memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.const import ATTR_DEVICE_CLASS
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
)
from homeassistant.helpers import (
    device_registry as dr,
)
from homeassistant.helpers import (
    entity_registry as er,
)
from homeassistant.helpers import (
    floor_registry as fr,
)
from homeassistant.helpers import llm

from .compat import model_tool_name, string_aliases, to_openapi
from .engine.schema import ToolParam, ToolSchema
from .prompt import AreaInfo, EntityInfo, FloorInfo, HomeContext

ASSISTANT = "conversation"  # the exposure list Assist agents use

_JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "array"})


@callback
def async_home_context(hass: HomeAssistant, assistant: str = ASSISTANT) -> HomeContext:
    """Exposed entities with their names, aliases, areas and floors; areas and floors too."""
    area_reg = ar.async_get(hass)
    floor_reg = fr.async_get(hass)
    entity_reg = er.async_get(hass)
    device_reg = dr.async_get(hass)

    floor_names = {f.floor_id: f.name for f in floor_reg.async_list_floors()}
    floors = tuple(
        FloorInfo(name=f.name, aliases=tuple(sorted(f.aliases)))
        for f in floor_reg.async_list_floors()
    )
    areas = tuple(
        AreaInfo(
            name=a.name,
            aliases=tuple(sorted(a.aliases)),
            floor=floor_names.get(a.floor_id) if a.floor_id else None,
        )
        for a in area_reg.async_list_areas()
    )

    entities: list[EntityInfo] = []
    for state in hass.states.async_all():
        if not async_should_expose(hass, assistant, state.entity_id):
            continue
        aliases: tuple[str, ...] = ()
        area_id: str | None = None
        if (entry := entity_reg.async_get(state.entity_id)) is not None:
            aliases = string_aliases(entry.aliases)
            area_id = entry.area_id
            if area_id is None and entry.device_id:
                device = device_reg.async_get(entry.device_id)
                area_id = device.area_id if device else None
        area = area_reg.async_get_area(area_id) if area_id else None
        device_class = state.attributes.get(ATTR_DEVICE_CLASS)
        entities.append(
            EntityInfo(
                entity_id=state.entity_id,
                name=state.name,
                domain=state.domain,
                aliases=aliases,
                area=area.name if area else None,
                floor=floor_names.get(area.floor_id) if area and area.floor_id else None,
                device_class=str(device_class) if device_class else None,
                state=state.state,
            )
        )
    entities.sort(key=lambda e: e.entity_id)
    return HomeContext(entities=tuple(entities), areas=areas, floors=floors)


@callback
def async_device_area(hass: HomeAssistant, device_id: str | None) -> str | None:
    """The area name of the device (satellite) that heard the sentence."""
    if not device_id or (device := dr.async_get(hass).async_get(device_id)) is None:
        return None
    if not device.area_id or (area := ar.async_get(hass).async_get_area(device.area_id)) is None:
        return None
    return area.name


def tools_from_assist_api(api_instance: llm.APIInstance) -> list[ToolSchema]:
    """Each LLM tool of the API instance as a ``ToolSchema``, under the name the model was
    trained on (``intent__HassTurnOn`` -> ``HassTurnOn``) with HA's argument names.

    If two tools come to the same name, the first is kept: ``ha_tool_names`` maps calls back to
    that one.
    """
    tools: dict[str, ToolSchema] = {}
    for tool in api_instance.tools:
        name = model_tool_name(tool.name)
        if name not in tools:
            tools[name] = tool_schema(tool, api_instance.custom_serializer)
    return list(tools.values())


def ha_tool_names(api_instance: llm.APIInstance) -> dict[str, str]:
    """Model tool name -> the name HA calls the tool by in this release."""
    names: dict[str, str] = {}
    for tool in api_instance.tools:
        names.setdefault(model_tool_name(tool.name), tool.name)
    return names


def tool_schema(tool: llm.Tool, custom_serializer: Any = None) -> ToolSchema:
    """Convert one tool's parameters with HA's own OpenAPI converter."""
    schema = to_openapi(tool.parameters, custom_serializer=custom_serializer)
    required = set(schema.get("required", ()))
    params = tuple(
        _param(name, prop, name in required)
        for name, prop in (schema.get("properties") or {}).items()
    )
    return ToolSchema(
        name=model_tool_name(tool.name), description=tool.description or "", params=params
    )


def _merge_all_of(prop: dict[str, Any]) -> dict[str, Any]:
    """One property from an ``allOf`` (probatio writes ``All(Coerce(int), Percentage())`` as
    ``allOf: [{type: integer}, {type: number, minimum: 0, maximum: 100}]``): every part must hold,
    so the bounds add up and the narrowest type wins (integer over number)."""
    parts = prop.get("allOf")
    if not isinstance(parts, list):
        return prop
    merged: dict[str, Any] = {k: v for k, v in prop.items() if k != "allOf"}
    for part in (_merge_all_of(p) for p in parts if isinstance(p, dict)):
        for key, value in part.items():
            if key == "type" and merged.get("type") == "integer" and value == "number":
                continue
            if key == "minimum" and "minimum" in merged:
                value = max(merged["minimum"], value)
            if key == "maximum" and "maximum" in merged:
                value = min(merged["maximum"], value)
            merged[key] = value
    return merged


def _param(name: str, prop: dict[str, Any], required: bool) -> ToolParam:
    prop = _merge_all_of(prop)
    kind = prop.get("type")
    if kind not in _JSON_TYPES:
        kind = "string"  # anyOf/objects: the model writes text, HA's validation decides
    enum_src = prop.get("enum")
    if kind == "array":
        items = prop.get("items") or {}
        enum_src = items.get("enum")
    return ToolParam(
        name=name,
        type=kind,
        description=str(prop.get("description", "")),
        required=required,
        enum=_enum(enum_src),
        minimum=_number(prop.get("minimum")),
        maximum=_number(prop.get("maximum")),
    )


def _enum(values: Iterable[Any] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(str(v) for v in values)


def _number(value: Any) -> float | None:
    """Bounds as HA wrote them (0, not 0.0: every character is a token for the model)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else float(value)
