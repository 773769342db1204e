"""The HA adapter: exposed entities, names, aliases, areas, floors; Assist tools as schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import llm
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.needle.compat import make_llm_context, model_tool_name
from custom_components.needle.ha_context import (
    async_device_area,
    async_home_context,
    ha_tool_names,
    tools_from_assist_api,
)
from custom_components.needle.prompt import (
    build_prompt,
    tool_catalogue_json,
    tools_from_catalogue_json,
)

from .devices import HOME, async_setup_home

PACKAGE = Path(__file__).parents[2] / "custom_components" / "needle"


async def test_home_context_reads_exposed_entities(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    await async_setup_home(hass)
    home = async_home_context(hass)
    ids = {e.entity_id for e in home.entities}
    assert ids == {eid for eid, spec in HOME.items() if spec[3]}  # exposed ones only
    lamp = next(e for e in home.entities if e.entity_id == "light.bedroom_lamp")
    assert (lamp.name, lamp.aliases, lamp.area, lamp.floor) == (
        "Bedroom Lamp",
        ("reading lamp",),
        "Bedroom",
        "First Floor",
    )
    blinds = next(e for e in home.entities if e.entity_id == "cover.living_room_blinds")
    assert blinds.device_class == "blind" and blinds.state == "closed"
    assert next(e for e in home.entities if e.entity_id == "lock.front_door").area is None
    assert {a.name: a.floor for a in home.areas}["Office"] == "First Floor"
    assert {f.name for f in home.floors} == {"Ground Floor", "First Floor"}

    # an entity without its own area takes its device's area
    entry = MockConfigEntry(domain="test")
    entry.add_to_hass(hass)
    office = ar.async_get(hass).async_get_area_by_name("Office")
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("test", "d1")}, name="Desk"
    )
    dr.async_get(hass).async_update_device(device.id, area_id=office.id)
    er.async_get(hass).async_update_entity("lock.front_door", device_id=device.id)
    home = async_home_context(hass)
    assert next(e for e in home.entities if e.entity_id == "lock.front_door").area == "Office"
    assert async_device_area(hass, device.id) == "Office"
    assert async_device_area(hass, None) is None
    assert async_device_area(hass, "no-such-device") is None


async def test_assist_tools_convert_and_build(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    await async_setup_home(hass)
    context = make_llm_context(
        platform="needle", context=None, language="en", assistant="conversation", device_id=None
    )
    api = await llm.async_get_api(hass, "assist", context)
    tools = tools_from_assist_api(api)
    # the model sees HA's intent names without 2026.x's integration prefix (intent__HassTurnOn),
    # and each call goes back under the name HA gave the tool
    assert [t.name for t in tools] == list(dict.fromkeys(model_tool_name(t.name) for t in api.tools))
    assert all("__" not in t.name for t in tools)
    names = ha_tool_names(api)
    assert {names[t.name] for t in tools} <= {t.name for t in api.tools}
    by_name = {t.name: t for t in tools}
    position = by_name["HassSetPosition"].param("position")
    assert (position.type, position.required, position.minimum, position.maximum) == (
        "integer",
        True,
        0,
        100,
    )
    assert by_name["HassTurnOn"].param("domain").type == "array"
    assert "blind" in by_name["HassTurnOn"].param("device_class").enum
    # the catalogue round-trips, and the real tools build a prompt with this home's names
    assert tools_from_catalogue_json(tool_catalogue_json(tools)) == sorted(
        tools, key=lambda t: t.name
    )
    prompt = build_prompt("set the living room blinds to 30", async_home_context(hass), tools)
    set_position = next(t for t in prompt.tools if t.name == "HassSetPosition")
    assert set_position.param("name").enum == ("Living Room Blinds",)
    assert "GetLiveContext" not in {t.name for t in prompt.tools}


def test_strings_cover_every_error_and_translation_matches() -> None:
    strings = json.loads((PACKAGE / "strings.json").read_text())
    assert json.loads((PACKAGE / "translations" / "en.json").read_text()) == strings
    flow_source = (PACKAGE / "config_flow.py").read_text()
    keys = set(
        re.findall(
            r'"(no_builtin_model|file_missing|bad_bundle|refused_checkpoint|bad_tokenizer|out_of_memory|unknown)"',
            flow_source,
        )
    )
    assert keys and keys <= set(strings["config"]["error"])
    assert "invalid_language" in strings["options"]["error"]
    model_source = (PACKAGE / "model.py").read_text()
    for key in re.findall(r'translation_key="(\w+)"', model_source):
        assert key in strings["exceptions"]
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    assert manifest["domain"] == "needle" and manifest["config_flow"] is True
    assert all("==" in r or ">=" in r for r in manifest["requirements"])
