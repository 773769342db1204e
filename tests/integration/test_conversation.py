"""End to end: sentence -> Needle agent -> HA intents -> real entity states -> reply."""

from __future__ import annotations

import asyncio
import logging

import pytest
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.needle import conversation as needle_conversation
from custom_components.needle.calls import CONTROL_DISABLED, NOT_UNDERSTOOD
from custom_components.needle.const import CONF_LLM_HASS_API, CONF_PREFER_LOCAL, LLM_API_NONE
from custom_components.needle.engine.schema import ToolCall

from .devices import async_setup_home
from .helpers import ScriptedEngine, agent_id, async_setup_needle, ha_response


@pytest.fixture
async def home(hass: HomeAssistant) -> dict:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    return await async_setup_home(hass)


async def ask(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    text: str,
    conversation_id: str | None = None,
    device_id: str | None = None,
) -> conversation.ConversationResult:
    return await conversation.async_converse(
        hass,
        text,
        conversation_id,
        Context(),
        language="en",
        agent_id=agent_id(hass, entry),
        device_id=device_id,
    )


def home_states(hass: HomeAssistant) -> dict:
    return {
        s.entity_id: (s.state, dict(s.attributes))
        for s in hass.states.async_all()
        if s.domain != "conversation"
    }


def speech(result: conversation.ConversationResult) -> str:
    return result.response.speech["plain"]["speech"]


async def test_light_brightness(hass: HomeAssistant, home: dict) -> None:
    engine = ScriptedEngine(
        {
            "set the kitchen light to 40%": [
                ToolCall("HassLightSet", {"name": "Kitchen Light", "brightness": 40})
            ]
        }
    )
    entry = await async_setup_needle(hass, engine)
    result = await ask(hass, entry, "set the kitchen light to 40%")
    state = hass.states.get("light.kitchen_light")
    assert state.state == "on"
    assert state.attributes["brightness"] == 102  # 40 % of 255
    assert result.response.response_type == intent.IntentResponseType.ACTION_DONE
    assert speech(result)
    # the model saw the exposed lights as the allowed names, not the hidden one
    _query, tools = engine.seen[0]
    light_set = next(t for t in tools if t.name == "HassLightSet")
    assert "Kitchen Light" in light_set.param("name").enum
    assert "Hidden Light" not in light_set.param("name").enum
    assert (
        "Secret Switch" not in next(t for t in tools if t.name == "HassTurnOn").param("name").enum
    )


async def test_cover_position_climate_lock_media(hass: HomeAssistant, home: dict) -> None:
    engine = ScriptedEngine(
        {
            "blinds to 30": [
                ToolCall("HassSetPosition", {"name": "Living Room Blinds", "position": 30})
            ],
            "heat to 22": [
                ToolCall("HassClimateSetTemperature", {"name": "Thermostat", "temperature": 22})
            ],
            "lock the front door": [ToolCall("HassTurnOn", {"name": "Front Door"})],
            "pause the tv": [ToolCall("HassMediaPause", {"name": "TV"})],
            "tv volume 50": [ToolCall("HassSetVolume", {"name": "TV", "volume_level": "50"})],
        }
    )
    entry = await async_setup_needle(hass, engine)
    r = await ask(hass, entry, "blinds to 30")
    assert hass.states.get("cover.living_room_blinds").attributes["current_position"] == 30
    assert r.response.response_type == intent.IntentResponseType.ACTION_DONE
    assert speech(r) == "Position set."  # a single action is answered in HA's own words
    r = await ask(hass, entry, "heat to 22")
    assert hass.states.get("climate.thermostat").attributes["temperature"] == 22
    assert speech(r) == "Temperature set to 22 degrees."
    r = await ask(hass, entry, "lock the front door")
    assert hass.states.get("lock.front_door").state == "locked"
    assert speech(r) == ha_response("HassTurnOn", "lock") + "."
    await ask(hass, entry, "tv volume 50")  # a numeric string is accepted and normalised
    assert hass.states.get("media_player.tv").attributes["volume_level"] == 0.5
    await ask(hass, entry, "pause the tv")
    assert hass.states.get("media_player.tv").state == "paused"
    # HA 2025.4 refuses the volume of a paused player (2026.x sets it): the reply says what HA
    # did, the refusal's reason instead of "not found"
    engine.rules["tv volume 80"] = [ToolCall("HassSetVolume", {"name": "TV", "volume_level": 80})]
    r = await ask(hass, entry, "tv volume 80")
    if hass.states.get("media_player.tv").attributes["volume_level"] == 0.8:
        assert speech(r) == "Volume set."
        return
    assert speech(r) == "I could not set the volume of TV: TV is not in a state that allows this."
    engine.rules["living room volume 80"] = [
        ToolCall("HassSetVolume", {"area": "Living Room", "volume_level": 80})
    ]
    r = await ask(hass, entry, "living room volume 80")
    assert speech(r) == (
        "I could not set the volume of the devices in the Living Room: "
        "the devices in the Living Room are not in a state that allows this."
    )
    assert hass.states.get("media_player.tv").attributes["volume_level"] == 0.5


async def test_unexposed_entity_untouched(hass: HomeAssistant, home: dict) -> None:
    engine = ScriptedEngine(
        {
            "turn on the hidden light": [ToolCall("HassTurnOn", {"name": "Hidden Light"})],
            "turn on the secret switch": [ToolCall("HassTurnOn", {"name": "secret switch"})],
            "kitchen lights on": [ToolCall("HassTurnOn", {"area": "Kitchen", "domain": ["light"]})],
        }
    )
    entry = await async_setup_needle(hass, engine)
    r = await ask(hass, entry, "turn on the hidden light")
    assert r.response.response_type == intent.IntentResponseType.ERROR
    assert "Hidden Light" in speech(r)
    assert hass.states.get("light.hidden_light").state == "off"
    await ask(hass, entry, "turn on the secret switch")
    assert hass.states.get("switch.secret_switch").state == "off"
    # an area command acts on the exposed light of the area only
    r = await ask(hass, entry, "kitchen lights on")
    assert hass.states.get("light.kitchen_light").state == "on"
    assert hass.states.get("light.hidden_light").state == "off"


@pytest.mark.parametrize(
    ("calls", "expect"),
    [
        ([], NOT_UNDERSTOOD),
        ([ToolCall("HassSelfDestruct", {})], "there is no tool 'HassSelfDestruct'"),
        ([ToolCall("HassTurnOn", {"name": "Garage Door"})], "I don't know 'Garage Door'"),
        (
            [ToolCall("HassTurnOn", {"name": "Kitchen Light", "colour": "red"})],
            "no argument 'colour'",
        ),
        ([ToolCall("HassLightSet", {"name": "Kitchen Light", "brightness": 400})], "out of range"),
        ([ToolCall("HassSetPosition", {"name": "Living Room Blinds"})], "needs position"),
        (
            [ToolCall("HassLightSet", {"name": "Kitchen Light", "brightness": "very"})],
            "not a number",
        ),
    ],
)
async def test_invalid_model_output(
    hass: HomeAssistant, home: dict, calls: list[ToolCall], expect: str
) -> None:
    sentence = "set the position of the living room blinds"
    engine = ScriptedEngine({sentence: calls})
    entry = await async_setup_needle(hass, engine)
    before = home_states(hass)
    r = await ask(hass, entry, sentence)
    assert r.response.response_type == intent.IntentResponseType.ERROR
    assert expect in speech(r)
    assert home_states(hass) == before  # nothing was touched


async def test_partial_failure_is_reported(hass: HomeAssistant, home: dict) -> None:
    engine = ScriptedEngine(
        {
            "kitchen light and bedroom blinds": [
                ToolCall("HassTurnOn", {"name": "Kitchen Light"}),
                ToolCall("HassTurnOn", {"area": "Bedroom", "domain": ["cover"]}),
            ]
        }
    )
    entry = await async_setup_needle(hass, engine)
    r = await ask(hass, entry, "kitchen light and bedroom blinds")
    assert hass.states.get("light.kitchen_light").state == "on"
    text = speech(r)
    assert "Kitchen Light" in text
    assert "I could not find the covers in the Bedroom" in text


async def test_engine_exception_and_timeout(
    hass: HomeAssistant, home: dict, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    engine = ScriptedEngine(error=RuntimeError("boom"))
    entry = await async_setup_needle(hass, engine)
    with caplog.at_level(logging.ERROR):
        r = await ask(hass, entry, "turn on the kitchen light")
    assert r.response.response_type == intent.IntentResponseType.ERROR
    assert speech(r) == needle_conversation.ENGINE_FAILED
    assert "Needle failed to answer" in caplog.text
    assert hass.states.get("light.kitchen_light").state == "off"

    engine.error = None
    engine.delay = 0.5
    engine.rules["turn on the kitchen light"] = [ToolCall("HassTurnOn", {"name": "Kitchen Light"})]
    monkeypatch.setattr(needle_conversation, "GENERATE_TIMEOUT_S", 0.1)
    r = await ask(hass, entry, "turn on the kitchen light")
    assert speech(r) == needle_conversation.ENGINE_TIMEOUT
    assert "did not answer within" in caplog.text
    await asyncio.sleep(0.6)  # let the abandoned generation finish: its calls must not run
    await hass.async_block_till_done()
    assert hass.states.get("light.kitchen_light").state == "off"
    stats = entry.runtime_data.stats
    assert (stats.model_errors, stats.timeouts) == (1, 1)


async def test_follow_up_uses_previous_turn(hass: HomeAssistant, home: dict) -> None:
    def follow_up(query: str, tools: tuple) -> list[ToolCall]:
        # the previous turn is in the query: the "model" repeats its tool for the new target
        assert "previous: turn on the bedroom lamp" in query
        assert (
            'previous calls: [{"name":"hass_turn_on","arguments":{"name":"Bedroom Lamp"}}]' in query
        )
        return [ToolCall("HassTurnOn", {"name": "Office Light"})]

    engine = ScriptedEngine(
        {
            "turn on the bedroom lamp": [ToolCall("HassTurnOn", {"name": "Bedroom Lamp"})],
            "and the office light too": follow_up,
        }
    )
    entry = await async_setup_needle(hass, engine)
    first = await ask(hass, entry, "turn on the bedroom lamp")
    second = await ask(hass, entry, "and the office light too", first.conversation_id)
    assert second.response.response_type == intent.IntentResponseType.ACTION_DONE
    assert hass.states.get("light.office_light").state == "on"
    # another conversation has no previous turn
    engine.rules["and the office light too"] = lambda q, t: [] if "previous" not in q else [1 / 0]
    r = await ask(hass, entry, "and the office light too", "another-conversation")
    assert speech(r) == NOT_UNDERSTOOD


async def test_satellite_area_reaches_the_model(hass: HomeAssistant, home: dict) -> None:
    satellite_entry = MockConfigEntry(domain="test")
    satellite_entry.add_to_hass(hass)
    kitchen = ar.async_get(hass).async_get_area_by_name("Kitchen")
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=satellite_entry.entry_id, identifiers={("test", "sat1")}, name="Satellite"
    )
    dr.async_get(hass).async_update_device(device.id, area_id=kitchen.id)

    def lights_here(query: str, tools: tuple) -> list[ToolCall]:
        assert "\narea: Kitchen" in query
        return [ToolCall("HassTurnOn", {"area": "Kitchen", "domain": ["light"]})]

    engine = ScriptedEngine({"turn on the lights": lights_here})
    entry = await async_setup_needle(hass, engine)
    r = await ask(hass, entry, "turn on the lights", device_id=device.id)
    assert r.response.response_type == intent.IntentResponseType.ACTION_DONE
    assert hass.states.get("light.kitchen_light").state == "on"
    assert hass.states.get("light.office_light").state == "off"


async def test_concurrent_requests(hass: HomeAssistant, home: dict) -> None:
    engine = ScriptedEngine(
        {
            "kitchen": [ToolCall("HassTurnOn", {"name": "Kitchen Light"})],
            "bedroom": [ToolCall("HassTurnOn", {"name": "Bedroom Lamp"})],
            "office": [ToolCall("HassTurnOn", {"name": "Office Light"})],
            "blinds 70": [
                ToolCall("HassSetPosition", {"name": "Living Room Blinds", "position": 70})
            ],
        },
        delay=0.05,
    )
    entry = await async_setup_needle(hass, engine)
    results = await asyncio.gather(
        *(
            ask(hass, entry, s, f"c{i}")
            for i, s in enumerate(["kitchen", "bedroom", "office", "blinds 70"])
        )
    )
    assert all(r.response.response_type == intent.IntentResponseType.ACTION_DONE for r in results)
    for entity_id in ("light.kitchen_light", "light.bedroom_lamp", "light.office_light"):
        assert hass.states.get(entity_id).state == "on"
    assert hass.states.get("cover.living_room_blinds").attributes["current_position"] == 70


async def test_prefer_local_skips_the_model(hass: HomeAssistant, home: dict) -> None:
    engine = ScriptedEngine()
    entry = await async_setup_needle(hass, engine, **{CONF_PREFER_LOCAL: True})
    r = await ask(hass, entry, "turn on the kitchen light")
    assert hass.states.get("light.kitchen_light").state == "on"
    assert r.response.response_type == intent.IntentResponseType.ACTION_DONE
    assert engine.seen == []
    assert entry.runtime_data.stats.local_handled == 1
    # a sentence HA's templates do not know goes to the model
    engine.rules["make the bedroom cosy"] = [ToolCall("HassTurnOn", {"name": "Bedroom Lamp"})]
    await ask(hass, entry, "make the bedroom cosy")
    assert len(engine.seen) == 1
    assert hass.states.get("light.bedroom_lamp").state == "on"


async def test_control_disabled(hass: HomeAssistant, home: dict) -> None:
    engine = ScriptedEngine({"kitchen": [ToolCall("HassTurnOn", {"name": "Kitchen Light"})]})
    entry = await async_setup_needle(hass, engine, **{CONF_LLM_HASS_API: LLM_API_NONE})
    r = await ask(hass, entry, "kitchen")
    assert speech(r) == CONTROL_DISABLED
    assert engine.seen == []
    assert hass.states.get("light.kitchen_light").state == "off"
