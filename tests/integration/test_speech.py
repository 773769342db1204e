"""Replies in Home Assistant's own words: which response template fits a call, and its text."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.speech import ha_speech, load_responses, response_key

KEYS_ON = {"default", "lights_area", "lights_floor", "light_all", "fans_area", "cover",
           "cover_device_class", "scene", "script", "lock", "valve"}  # fmt: skip


def test_response_key_follows_the_call() -> None:
    area = ToolCall("HassTurnOn", {"area": "Kitchen", "domain": ["light"]})
    assert response_key(area, {"light"}, KEYS_ON) == "lights_area"
    floor = ToolCall("HassTurnOn", {"floor": "Upstairs", "domain": ["light"]})
    assert response_key(floor, {"light"}, KEYS_ON) == "lights_floor"
    every = ToolCall("HassTurnOn", {"name": "all", "domain": ["light"]})
    assert response_key(every, {"light"}, KEYS_ON) == "light_all"
    scene = ToolCall("HassTurnOn", {"name": "Movie Night"})
    assert response_key(scene, {"scene"}, KEYS_ON) == "scene"
    lamp = ToolCall("HassTurnOn", {"name": "Desk Lamp"})
    assert response_key(lamp, {"light"}, KEYS_ON) == "default"
    blinds = ToolCall(
        "HassTurnOff", {"area": "Bedroom", "domain": ["cover"], "device_class": ["blind"]}
    )
    assert response_key(blinds, {"cover"}, KEYS_ON) == "cover_device_class"
    color = ToolCall("HassLightSet", {"name": "Desk Lamp", "color": "red"})
    assert response_key(color, {"light"}, {"brightness", "color"}) == "color"
    assert response_key(ToolCall("HassMediaPause", {}), set(), {"default"}) == "default"
    assert response_key(ToolCall("HassTurnOn", {}), set(), {"lights_area"}) is None


async def test_ha_speech_renders_the_intents_templates(hass: HomeAssistant) -> None:
    await hass.async_add_executor_job(load_responses, "en")
    hass.states.async_set("light.desk", "on", {"friendly_name": "Desk"})
    hass.states.async_set("cover.blind", "closed", {"friendly_name": "Blind"})
    on = ToolCall("HassTurnOn", {"name": "Desk"})
    assert ha_speech(hass, on, ["light.desk"], "en") == "Turned on the light"
    area = ToolCall(
        "HassTurnOff", {"area": "Bedroom", "domain": ["cover"], "device_class": ["blind"]}
    )
    # home-assistant-intents changed this template (2025.3: past tense; 2026.10: progressive,
    # since covers take a while): each HA end answers with its own package's words
    from home_assistant_intents import get_intents

    template = get_intents("en")["responses"]["intents"]["HassTurnOff"]["cover_device_class"]
    expected = "Closing the blinds" if template.startswith("Closing") else "Closed the blinds"
    assert ha_speech(hass, area, ["cover.blind"], "en") == expected
    temp = ToolCall("HassClimateSetTemperature", {"temperature": 1})
    assert ha_speech(hass, temp, [], "en") == "Temperature set to 1 degree"
    add = ToolCall("HassListAddItem", {"item": "milk", "name": "Shopping"})
    assert ha_speech(hass, add, [], "en") == "Added milk"
    assert ha_speech(hass, on, ["light.desk"], "xx-unknown") is None
