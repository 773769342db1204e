"""Questions: HA's query intents as Needle tools, run by HA, answered in HA's words, acting on
nothing. The model's decision is scripted (ScriptedEngine); HA, its intents and its entities
are real."""

from __future__ import annotations

import re

import pytest
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.queries import QUERY_INTENTS, state_response_key

from .devices import async_setup_home
from .helpers import ScriptedEngine, agent_id, async_setup_needle


@pytest.fixture
async def home(hass: HomeAssistant) -> dict:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    objects = await async_setup_home(hass)
    assert await async_setup_component(hass, "weather", {})  # registers HassGetWeather
    # Plain states with registry entries, as sensors and weather services would write them.
    registry = er.async_get(hass)
    areas = {a.name: a.id for a in ar.async_get(hass).async_list_areas()}
    plain = {
        "binary_sensor.back_door": ("Back Door", "Kitchen", "on", {"device_class": "door"}),
        "binary_sensor.hall_motion": ("Hall Motion", None, "off", {"device_class": "motion"}),
        "sensor.bedroom_humidity": (
            "Bedroom Humidity",
            "Bedroom",
            "48",
            {"device_class": "humidity", "unit_of_measurement": "%"},
        ),
        "sensor.kitchen_temperature": (
            "Kitchen Temperature",
            "Kitchen",
            "22.4",
            {"device_class": "temperature", "unit_of_measurement": "°C"},
        ),
        "weather.home": (
            "Home",
            None,
            "sunny",
            {"temperature": 20, "temperature_unit": "°C"},
        ),
        "sensor.hidden_power": ("Hidden Power", "Kitchen", "300", {"unit_of_measurement": "W"}),
    }
    for entity_id, (name, area, state, attrs) in plain.items():
        domain, object_id = entity_id.split(".")
        # original_name: HA 2026.x matches a registered entity by its registry name, not by
        # the state's friendly_name
        registry.async_get_or_create(
            domain, "test", object_id, suggested_object_id=object_id, original_name=name
        )
        registry.async_update_entity(entity_id, area_id=areas[area] if area else None)
        hass.states.async_set(entity_id, state, {"friendly_name": name, **attrs})
        async_expose_entity(hass, "conversation", entity_id, entity_id != "sensor.hidden_power")
    await hass.async_block_till_done()
    return objects


async def ask(
    hass: HomeAssistant, entry: MockConfigEntry, text: str, conversation_id: str | None = None
) -> conversation.ConversationResult:
    return await conversation.async_converse(
        hass, text, conversation_id, Context(), language="en", agent_id=agent_id(hass, entry)
    )


def speech(result: conversation.ConversationResult) -> str:
    return result.response.speech["plain"]["speech"]


def snapshot(hass: HomeAssistant) -> dict:
    return {
        s.entity_id: (s.state, dict(s.attributes))
        for s in hass.states.async_all()
        if s.domain != "conversation"
    }


def scripted(rules: dict | None = None) -> ScriptedEngine:
    """A scripted model with a window wide enough for every tool: which tools a small window
    keeps is the prompt builder's business (tests/integration/test_prompt.py)."""
    engine = ScriptedEngine(rules=rules or {})
    engine.prompt_limits = {"max_encoder_tokens": 8000}  # type: ignore[attr-defined]
    return engine


def tool(tools: tuple, name: str):
    return next((t for t in tools if t.name == name), None)


async def test_query_tools_are_offered_over_exposed_entities(
    hass: HomeAssistant, home: dict
) -> None:
    engine = scripted()
    entry = await async_setup_needle(hass, engine)
    await ask(hass, entry, "is the kitchen light on")
    _query, tools = engine.seen[-1]
    get_state = tool(tools, "HassGetState")
    assert get_state is not None, [t.name for t in tools]
    params = {p.name: p for p in get_state.params}
    assert {"name", "area", "domain", "state"} <= set(params)
    assert "Kitchen Light" in params["name"].enum
    assert "Hidden Light" not in params["name"].enum  # unexposed: never offered
    assert "Hidden Power" not in params["name"].enum
    assert "preferred_area_id" not in params
    for name in ("HassClimateGetTemperature", "HassGetWeather", "HassGetCurrentTime"):
        assert tool(tools, name) is not None, name
    assert set(QUERY_INTENTS) >= {"HassGetState", "HassGetCurrentDate"}
    # the decoder may write less than the prompt shows: a question reads, and names only what
    # it points at (policy.decoder_tools)
    decode = engine.decode_tools[-1]
    assert decode is not None and {t.name for t in decode} <= set(QUERY_INTENTS)
    assert tool(decode, "HassGetState").param("name").enum == ("Kitchen Light",)
    assert tool(decode, "HassGetWeather").param("name") is None  # HA picks the home's weather


async def test_yes_no_question_answers_in_ha_words_and_changes_nothing(
    hass: HomeAssistant, home: dict
) -> None:
    calls = [ToolCall("HassGetState", {"name": "Kitchen Light", "state": ["on"]})]
    engine = scripted({"is the kitchen light on": calls})
    entry = await async_setup_needle(hass, engine)
    before = snapshot(hass)
    result = await ask(hass, entry, "is the kitchen light on")
    assert speech(result) == "No, off."  # HA's one_yesno template
    assert snapshot(hass) == before
    await hass.services.async_call("light", "turn_on", {"entity_id": "light.kitchen_light"}, True)
    result = await ask(hass, entry, "is the kitchen light on")
    assert speech(result) == "Yes."


async def test_group_questions_read_out_exposed_entities_only(
    hass: HomeAssistant, home: dict
) -> None:
    for entity_id in ("light.kitchen_light", "light.hidden_light", "light.office_light"):
        await hass.services.async_call("light", "turn_on", {"entity_id": entity_id}, True)
    lights_on = {"domain": ["light"], "state": ["on"]}
    engine = scripted(
        {
            "which lights are on in the kitchen": [
                ToolCall("HassGetState", {"area": "Kitchen", **lights_on})
            ],
            "what lights are still on in the house": [ToolCall("HassGetState", lights_on)],
            "how many lights are on in the house": [ToolCall("HassGetState", lights_on)],
            "are all the lights off": [
                ToolCall("HassGetState", {"domain": ["light"], "state": ["off"]})
            ],
            "is anything open in the kitchen": [
                ToolCall("HassGetState", {"area": "Kitchen", "state": ["on", "open"]})
            ],
        }
    )
    entry = await async_setup_needle(hass, engine)
    before = snapshot(hass)
    assert speech(await ask(hass, entry, "which lights are on in the kitchen")) == "Kitchen Light."
    assert speech(await ask(hass, entry, "what lights are still on in the house")) == (
        "Kitchen Light and Office Light."
    )
    assert speech(await ask(hass, entry, "how many lights are on in the house")) == "2."
    assert speech(await ask(hass, entry, "are all the lights off")) == (
        "No, Kitchen Light and Office Light are not off."
    )
    assert speech(await ask(hass, entry, "is anything open in the kitchen")) == (
        "Yes, Back Door and Kitchen Light."
    )
    assert snapshot(hass) == before
    for text in (
        "which lights are on in the kitchen",
        "how many lights are on in the house",
        "are all the lights off",
    ):
        assert "Hidden" not in speech(await ask(hass, entry, text))


async def test_sensor_temperature_weather_time_and_date(hass: HomeAssistant, home: dict) -> None:
    engine = scripted(
        {
            "how damp is the bedroom": [ToolCall("HassGetState", {"name": "Bedroom Humidity"})],
            "how warm is it in the living room": [
                ToolCall("HassClimateGetTemperature", {"area": "Living Room"})
            ],
            "how warm is the kitchen": [ToolCall("HassClimateGetTemperature", {"area": "Kitchen"})],
            "what is the temperature in the living room": [
                ToolCall(
                    "HassGetState",
                    {"area": "Living Room", "domain": ["sensor"], "device_class": ["temperature"]},
                )
            ],
            "how warm is the bathroom": [
                ToolCall("HassClimateGetTemperature", {"area": "Bedroom"})
            ],
            "do i need an umbrella": [ToolCall("HassGetWeather", {})],
            "got the time": [ToolCall("HassGetCurrentTime", {})],
            "what day is it": [ToolCall("HassGetCurrentDate", {})],
        }
    )
    entry = await async_setup_needle(hass, engine)
    before = snapshot(hass)
    assert speech(await ask(hass, entry, "how damp is the bedroom")) == "Bedroom humidity is 48 %."
    assert speech(await ask(hass, entry, "how warm is it in the living room")) == "18.0 degrees."
    # no thermostat in the kitchen: its temperature sensor answers
    assert speech(await ask(hass, entry, "how warm is the kitchen")) == "22.4 °C."
    # and the other way: no temperature sensor in the living room, its thermostat answers
    assert (
        speech(await ask(hass, entry, "what is the temperature in the living room"))
        == "18.0 degrees."
    )
    # neither: HA's no-match, nothing invented
    reply = speech(await ask(hass, entry, "how warm is the bathroom"))
    assert reply.startswith(("I could not", "Sorry")) and "degrees" not in reply, reply
    assert speech(await ask(hass, entry, "do i need an umbrella")) == "20 °C and sunny."
    assert re.fullmatch(r"\d{1,2}:\d\d [AP]M\.", speech(await ask(hass, entry, "got the time")))
    assert re.fullmatch(
        r"[A-Z][a-z]+ \d{1,2}(st|nd|rd|th), \d{4}\.",
        speech(await ask(hass, entry, "what day is it")),
    )
    assert snapshot(hass) == before


async def test_question_runs_through_ha_intents(
    hass: HomeAssistant, home: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The call goes through intent.async_handle under the conversation assistant (so HA's
    exposure checks apply), with HA's slot names."""
    seen: list[tuple[str, dict, str | None]] = []
    original = intent.async_handle

    async def spy(*args, **kwargs):
        seen.append((kwargs["intent_type"], dict(kwargs["slots"]), kwargs.get("assistant")))
        return await original(*args, **kwargs)

    monkeypatch.setattr(intent, "async_handle", spy)
    engine = scripted(
        {
            "front door unlocked?": [
                ToolCall("HassGetState", {"name": "Front Door", "state": ["unlocked"]})
            ]
        }
    )
    entry = await async_setup_needle(hass, engine)
    assert speech(await ask(hass, entry, "front door unlocked?")) == "Yes."
    assert seen == [
        (
            "HassGetState",
            {"name": {"value": "Front Door"}, "state": {"value": ["unlocked"]}},
            "conversation",
        )
    ]


async def test_unexposed_name_is_refused_and_nothing_is_read(
    hass: HomeAssistant, home: dict
) -> None:
    engine = scripted(
        {"is the hidden light on": [ToolCall("HassGetState", {"name": "Hidden Light"})]}
    )
    entry = await async_setup_needle(hass, engine)
    reply = speech(await ask(hass, entry, "is the hidden light on"))
    assert "off" not in reply.split() and "on" not in reply.split()
    assert reply.startswith("Sorry")


async def test_no_match_says_so(hass: HomeAssistant, home: dict) -> None:
    engine = scripted(
        {
            "any blinds open in the bedroom": [
                ToolCall(
                    "HassGetState", {"area": "Bedroom", "domain": ["cover"], "state": ["open"]}
                )
            ],
            "is the bedroom humidity on in the kitchen": [
                ToolCall("HassGetState", {"name": "Bedroom Humidity", "area": "Kitchen"})
            ],
        }
    )
    entry = await async_setup_needle(hass, engine)
    assert speech(await ask(hass, entry, "any blinds open in the bedroom")) == "No."
    reply = speech(await ask(hass, entry, "is the bedroom humidity on in the kitchen"))
    assert "Bedroom Humidity" in reply and "48" not in reply


async def test_follow_up_question_sees_the_previous_question(
    hass: HomeAssistant, home: dict
) -> None:
    def follow_up(query: str, tools: tuple) -> list[ToolCall]:
        assert "previous: are the lights on in the kitchen" in query
        assert "hass_get_state" in query
        return [ToolCall("HassGetState", {"area": "Bedroom", "domain": ["light"], "state": ["on"]})]

    engine = scripted(
        {
            "are the lights on in the kitchen": [
                ToolCall("HassGetState", {"area": "Kitchen", "domain": ["light"], "state": ["on"]})
            ],
            "and in the bedroom": follow_up,
        }
    )
    entry = await async_setup_needle(hass, engine)
    first = await ask(hass, entry, "are the lights on in the kitchen")
    assert speech(first) == "No, Kitchen Light is not on."
    second = await ask(hass, entry, "and in the bedroom", first.conversation_id)
    assert speech(second) == "No, Bedroom Lamp is not on."


@pytest.mark.parametrize(
    ("args", "text", "key"),
    [
        (
            {"name": "Garage Door", "state": ["open"]},
            "did i leave the garage door open",
            "one_yesno",
        ),
        ({"name": "Bedroom Humidity"}, "how humid is the bedroom", "one"),
        ({"name": "Anna", "domain": ["person"]}, "where's anna", "where"),
        ({"domain": ["light"], "state": ["on"]}, "How many lights are on?", "how_many"),
        ({"domain": ["light"], "state": ["on"]}, "which lights are on", "which"),
        ({"domain": ["light"], "state": ["on"]}, "count the lights burning upstairs", "how_many"),
        ({"domain": ["light"], "state": ["off"]}, "what's the number of lamps off", "how_many"),
        ({"domain": ["light"], "state": ["on"]}, "tell me every light that's on", "which"),
        ({"domain": ["light"], "state": ["on"]}, "what lights are on upstairs", "which"),
        ({"domain": ["lock"], "state": ["locked"]}, "are all the doors locked", "all"),
        ({"domain": ["lock"], "state": ["locked"]}, "are the doors locked", "all"),
        ({"area": "Kitchen", "state": ["on"]}, "is anything still on in the kitchen", "any"),
        ({"domain": ["cover"], "state": ["open"]}, "did somebody leave a window open", "any"),
        (
            {"area": "Kitchen", "device_class": ["temperature"]},
            "temperature in the kitchen",
            "default",
        ),
    ],
)
def test_state_response_key(args: dict, text: str, key: str) -> None:
    assert state_response_key(args, text) == key


def test_follow_up_asks_in_the_form_of_the_previous_question() -> None:
    args = {"area": "Bedroom", "domain": ["light"], "state": ["on"]}
    assert (
        state_response_key(
            args, "and in the bedroom?", previous_text="how many lights are on in the house"
        )
        == "how_many"
    )
    assert (
        state_response_key(
            args, "which in the bedroom?", previous_text="how many lights are on in the house"
        )
        == "which"
    )
    assert state_response_key(args, "and the bedroom") == "any"
