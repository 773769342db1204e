"""Relative requests (issue 16 item 3): "make it a bit dimmer", "a bit warmer", "louder", "open
the blinds a bit more" change the device by a step from its current state, clamped to what it
allows, through HA's services, on exposed entities only; the reply says what changed, and a
step that changes nothing is never reported as done.

The scripted engine answers as the shipped model does (a HassTurnOn on the target, or no call):
the model chooses the target, the words choose the step."""

from __future__ import annotations

import pytest
from homeassistant.components import conversation
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import intent, llm
from homeassistant.setup import async_setup_component

from custom_components.needle.compat import make_llm_context
from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.prompt import AreaInfo, EntityInfo, HomeContext, Turn
from custom_components.needle.relative import (
    BRIGHTNESS,
    DOWN,
    POSITION,
    TEMPERATURE,
    UP,
    VOLUME,
    NoStep,
    Step,
    parse,
    plan,
    rewrite,
)
from custom_components.needle.step_tool import StepTool

from .devices import async_setup_home
from .helpers import ScriptedEngine, agent_id, async_setup_needle

ON = "turn on the kitchen light"
KITCHEN = [ToolCall("HassTurnOn", {"name": "Kitchen Light"})]


@pytest.fixture
async def needle(hass: HomeAssistant):
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    await async_setup_home(hass)
    engine = ScriptedEngine(
        {
            ON: KITCHEN,
            # the issue's case: the model turns the light on again for "dimmer"
            "make it a bit dimmer": KITCHEN,
            "a bit more": [],
            "dim it by 10 percent": KITCHEN,
            "make it a bit warmer": [ToolCall("HassTurnOn", {"name": "Thermostat"})],
            "make the thermostat two degrees warmer": [
                ToolCall("HassClimateSetTemperature", {"name": "Thermostat", "temperature": 2})
            ],
            "turn on the tv": [ToolCall("HassTurnOn", {"name": "TV"})],
            "louder": [],
            "turn it up a little": [],
            "open the blinds a bit more": [ToolCall("HassTurnOn", {"name": "Living Room Blinds"})],
            "lower them a bit": [ToolCall("HassTurnOff", {"name": "Living Room Blinds"})],
            "make the lock brighter": [ToolCall("HassTurnOn", {"name": "Front Door"})],
            "don't make it dimmer": KITCHEN,
        }
    )
    return await async_setup_needle(hass, engine)


async def _say(hass: HomeAssistant, entry, text: str, conversation_id: str = "c1") -> str:
    result = await conversation.async_converse(
        hass, text, conversation_id, Context(), language="en", agent_id=agent_id(hass, entry)
    )
    await hass.async_block_till_done()
    return result.response.speech["plain"]["speech"]


def _attr(hass: HomeAssistant, entity_id: str, key: str):
    return hass.states.get(entity_id).attributes.get(key)


async def test_turn_on_then_a_bit_dimmer(hass: HomeAssistant, needle) -> None:
    """The demo's flow: the step is a quarter of the range from the current brightness, the
    reply says the new value, and it never says "turned on"."""
    assert (await _say(hass, needle, ON)).startswith("Turned on")
    assert _attr(hass, "light.kitchen_light", "brightness") == 255
    reply = await _say(hass, needle, "make it a bit dimmer")
    assert reply == "Dimmed Kitchen Light to 75%."
    assert _attr(hass, "light.kitchen_light", "brightness") == 191
    # "a bit more" after a step goes on in the same direction, from the new value
    assert await _say(hass, needle, "a bit more") == "Dimmed Kitchen Light to 50%."
    assert _attr(hass, "light.kitchen_light", "brightness") == 128
    # an amount that was said is the step
    assert await _say(hass, needle, "dim it by 10 percent") == "Dimmed Kitchen Light to 40%."
    assert _attr(hass, "light.kitchen_light", "brightness") == 102


async def test_dimmer_clamps_and_nothing_changed_is_no_success(hass: HomeAssistant, needle) -> None:
    await _say(hass, needle, ON)
    replies = [await _say(hass, needle, "make it a bit dimmer") for _ in range(4)]
    assert replies[:3] == [f"Dimmed Kitchen Light to {v}%." for v in (75, 50, 25)]
    assert replies[3] == "Dimmed Kitchen Light to 1%."  # dimmer never turns it off
    assert hass.states.get("light.kitchen_light").state == "on"
    assert _attr(hass, "light.kitchen_light", "brightness") == 3
    stuck = await _say(hass, needle, "make it a bit dimmer")
    assert stuck == "I could not make Kitchen Light any dimmer: it is at its lowest brightness."
    assert _attr(hass, "light.kitchen_light", "brightness") == 3
    diag = needle.runtime_data.stats
    assert diag.calls_failed >= 1  # counted as not done, not as executed


async def test_a_bit_warmer_raises_the_setpoint_and_clamps(hass: HomeAssistant, needle) -> None:
    assert _attr(hass, "climate.thermostat", "temperature") == 19
    reply = await _say(hass, needle, "make it a bit warmer")
    assert reply == "Raised the temperature of Thermostat to 20 °C."
    assert _attr(hass, "climate.thermostat", "temperature") == 20
    # "two degrees" is the step, not a temperature to set (the policy sees the 2 was said)
    reply = await _say(hass, needle, "make the thermostat two degrees warmer", "c2")
    assert reply == "Raised the temperature of Thermostat to 22 °C."
    await hass.services.async_call(
        "climate", "set_temperature", {"entity_id": "climate.thermostat", "temperature": 34},
        blocking=True,
    )  # fmt: skip
    max_temp = _attr(hass, "climate.thermostat", "max_temp")
    reply = await _say(hass, needle, "make the thermostat two degrees warmer", "c3")
    assert reply == f"Raised the temperature of Thermostat to {max_temp:g} °C."
    reply = await _say(hass, needle, "make the thermostat two degrees warmer", "c4")
    assert reply.startswith("I could not make Thermostat any warmer: it is at its highest")
    assert _attr(hass, "climate.thermostat", "temperature") == max_temp


async def test_louder_raises_the_volume_and_clamps(hass: HomeAssistant, needle) -> None:
    """Through HA's own HassSetVolumeRelative where this HA has it (2026.x), else through
    media_player.volume_set."""
    services: list[str] = []
    hass.bus.async_listen(
        EVENT_CALL_SERVICE, lambda e: services.append(f"{e.data['domain']}.{e.data['service']}")
    )
    relative_intent = any(h.intent_type == "HassSetVolumeRelative" for h in intent.async_get(hass))
    await _say(hass, needle, "turn on the tv")
    await hass.services.async_call(
        "media_player", "media_play", {"entity_id": "media_player.tv"}, blocking=True
    )
    assert _attr(hass, "media_player.tv", "volume_level") == pytest.approx(0.2)
    assert await _say(hass, needle, "louder") == "Turned the volume of TV up to 45%."
    assert _attr(hass, "media_player.tv", "volume_level") == pytest.approx(0.45)
    assert ("media_player.volume_set" in services) is not relative_intent, services
    assert await _say(hass, needle, "turn it up a little") == "Turned the volume of TV up to 70%."
    for _ in range(2):
        await _say(hass, needle, "louder")
    assert _attr(hass, "media_player.tv", "volume_level") == pytest.approx(1.0)
    reply = await _say(hass, needle, "louder")
    assert reply == "I could not make TV any louder: it is at full volume."
    assert _attr(hass, "media_player.tv", "volume_level") == pytest.approx(1.0)


async def test_blinds_a_bit_more_and_lower_them_a_bit(hass: HomeAssistant, needle) -> None:
    blinds = "cover.living_room_blinds"
    assert _attr(hass, blinds, "current_position") == 0
    reply = await _say(hass, needle, "open the blinds a bit more")
    assert reply == "Opened Living Room Blinds further, to 25%."
    assert _attr(hass, blinds, "current_position") == 25
    assert (
        await _say(hass, needle, "lower them a bit") == "Closed Living Room Blinds further, to 0%."
    )
    assert _attr(hass, blinds, "current_position") == 0
    reply = await _say(hass, needle, "lower them a bit")
    assert reply == "I could not close Living Room Blinds any further: it is fully closed."


async def test_a_device_that_cannot_is_refused(hass: HomeAssistant, needle) -> None:
    before = hass.states.get("lock.front_door").state
    reply = await _say(hass, needle, "make the lock brighter")
    assert "cannot be made brighter" in reply, reply
    assert reply.startswith("Sorry")
    assert hass.states.get("lock.front_door").state == before


async def test_negated_step_does_nothing(hass: HomeAssistant, needle) -> None:
    await _say(hass, needle, ON)
    assert await _say(hass, needle, "don't make it dimmer") == "OK, I did nothing."
    assert _attr(hass, "light.kitchen_light", "brightness") == 255


async def test_step_tool_never_touches_an_unexposed_entity(hass: HomeAssistant, needle) -> None:
    """HA's matching with the assistant's exposure: the hidden light is not a target, even when
    a step names it (the model cannot: the prompt's enums hold exposed entities only)."""
    context = make_llm_context(
        platform="needle", context=Context(), language="en", assistant="conversation",
        device_id=None,
    )  # fmt: skip
    tool_input = llm.ToolInput(
        tool_name="NeedleStep",
        tool_args={"name": "Hidden Light", "quantity": BRIGHTNESS, "direction": UP},
    )
    before = hass.states.get("light.hidden_light")
    with pytest.raises(intent.MatchFailedError):
        await StepTool().async_call(hass, tool_input, context)
    after = hass.states.get("light.hidden_light")
    assert (after.state, after.attributes) == (before.state, before.attributes)
    bad = llm.ToolInput(tool_name="NeedleStep", tool_args={"name": "Kitchen Light"})
    with pytest.raises(intent.IntentHandleError):  # bad input: a clear error, nothing done
        await StepTool().async_call(hass, bad, context)


# --- the grammar and the arithmetic (no HA needed, run here on both ends) --------------------


@pytest.mark.parametrize(
    ("text", "quantity", "direction", "amount"),
    [
        ("make it a bit dimmer", BRIGHTNESS, DOWN, None),
        ("brighter please", BRIGHTNESS, UP, None),
        ("dim the kitchen lights by 10 percent", BRIGHTNESS, DOWN, 10),
        ("two degrees warmer", TEMPERATURE, UP, 2),
        ("turn down the heating a little", TEMPERATURE, DOWN, None),
        ("quieter", VOLUME, DOWN, None),
        ("turn the volume up by 5", VOLUME, UP, 5),
        ("turn it up a little", None, UP, None),
        ("turn the light up a bit", BRIGHTNESS, UP, None),
        ("open the blinds a bit more", POSITION, UP, None),
        ("close the curtains a little", POSITION, DOWN, None),
    ],
)
def test_relative_requests(text: str, quantity, direction: str, amount) -> None:
    rel = parse(text)
    assert rel is not None
    assert (rel.quantity, rel.direction, rel.amount) == (quantity, direction, amount)


@pytest.mark.parametrize(
    "text",
    [
        "turn on the kitchen light", "open the blinds", "lower the blinds", "close the blinds",
        "dim the lights to 30%", "set the volume to 30", "turn up the heat to 22",
        "is it warmer in the kitchen", "what's the volume", "shut down the tv",
        "set the bedroom lamp to 40 percent", "no more music in the kitchen",
        "I don't want any more light in here", "light up the living room",
        "please light this room up",
    ],
)  # fmt: skip
def test_not_relative(text: str) -> None:
    assert parse(text) is None


def test_plan_clamps_and_says_why() -> None:
    light = {"supported_color_modes": ["brightness"], "brightness": 255}
    up = plan(BRIGHTNESS, UP, None, None, "Lamp", "light", "on", light)
    assert isinstance(up, NoStep) and up.reason.endswith("it is at full brightness")
    off = plan(BRIGHTNESS, DOWN, None, None, "Lamp", "light", "off", {**light, "brightness": None})
    assert isinstance(off, NoStep) and off.reason.endswith("it is off")
    brighter = plan(
        BRIGHTNESS, UP, None, None, "Lamp", "light", "off", {**light, "brightness": None}
    )
    assert isinstance(brighter, Step) and brighter.data == {"brightness_step": 64}
    onoff = plan(
        BRIGHTNESS, UP, None, None, "Lamp", "light", "on", {"supported_color_modes": ["onoff"]}
    )
    assert isinstance(onoff, NoStep) and "cannot be dimmed" in onoff.reason
    climate = {"supported_features": 1, "temperature": 21, "min_temp": 7, "max_temp": 35}
    cooler = plan(TEMPERATURE, DOWN, 30, "percent", "Heat", "climate", "heat", climate)
    assert isinstance(cooler, NoStep) and "by degrees" in cooler.reason
    f = plan(TEMPERATURE, UP, None, None, "Heat", "climate", "heat",
             {**climate, "temperature": 70, "max_temp": 95}, "°F")  # fmt: skip
    assert isinstance(f, Step) and f.data == {"temperature": 72}
    white = {"supported_color_modes": ["color_temp"], "color_temp_kelvin": 4000,
             "min_color_temp_kelvin": 2000, "max_color_temp_kelvin": 6000}  # fmt: skip
    warmer = plan(TEMPERATURE, UP, None, None, "Lamp", "light", "on", white)
    assert isinstance(warmer, Step) and warmer.data == {"color_temp_kelvin": 3000}
    player = {"supported_features": 0, "volume_level": 0.5}
    assert isinstance(plan(VOLUME, UP, None, None, "TV", "media_player", "on", player), NoStep)


def test_rewrite_takes_the_target_from_the_previous_turn() -> None:
    home = HomeContext(
        entities=(
            EntityInfo("light.kitchen", "Kitchen Light", "light", area="Kitchen"),
            EntityInfo("light.desk", "Desk Lamp", "light", area="Office"),
            EntityInfo("lock.front", "Front Door", "lock"),
        )
    )
    previous = Turn(ON, (ToolCall("HassTurnOn", {"name": "Kitchen Light"}),))
    # the model's wrong pick (the issue saw the Desk Lamp once) loses to the previous turn
    out = rewrite("make it a bit dimmer", [ToolCall("HassTurnOn", {"name": "Desk Lamp"})],
                  [0.9], home, previous)  # fmt: skip
    assert out is not None and [c.arguments.get("name") for c in out.calls] == ["Kitchen Light"]
    # a sentence that names its target keeps the model's choice
    out = rewrite("make the desk lamp dimmer", [ToolCall("HassTurnOn", {"name": "Desk Lamp"})],
                  [0.9], home, previous)  # fmt: skip
    assert out is not None and out.calls[0].arguments["name"] == "Desk Lamp"
    assert out.confidence == [0.9]
    out = rewrite("make it brighter", [ToolCall("HassTurnOn", {"name": "Front Door"})], [1.0],
                  home, Turn("unlock the front door", (ToolCall("HassTurnOff", {"name": "Front Door"}),)))  # fmt: skip
    assert out is not None and not out.calls
    assert out.held[0].reason == "Front Door cannot be made brighter"
    assert rewrite("turn on the kitchen light", KITCHEN, [1.0], home, None) is None
    # "warmer" after a light: the heating (here none: the step waits for a thermostat), not
    # the light's white, unless the sentence names the light
    out = rewrite("a bit warmer", KITCHEN, [1.0], home, previous)
    assert out is not None and out.calls[0].arguments["domain"] == ["climate"]
    out = rewrite("make the kitchen light warmer", KITCHEN, [1.0], home, previous)
    assert out is not None and out.calls[0].arguments["name"] == "Kitchen Light"


def test_a_name_with_a_direction_in_it_asks_for_no_step() -> None:
    home = HomeContext(
        entities=(
            EntityInfo("fan.bath_down", "Fan", "fan", area="Bathroom Down"),
            EntityInfo("light.up", "Up Light", "light", area="Hall"),
        ),
        areas=(AreaInfo("Bathroom Down"), AreaInfo("Hall")),
    )
    fan = [ToolCall("HassTurnOn", {"area": "Bathroom Down", "domain": ["fan"]})]
    assert rewrite("fan on in bathroom down", fan, [0.9], home, None) is None
    assert rewrite("turn on the up light", [ToolCall("HassTurnOn", {"name": "Up Light"})], [0.9],
                   home, None) is None  # fmt: skip
    # the direction said besides the name still is one
    out = rewrite("fan down a bit in bathroom down", fan, [0.9], home, None)
    assert out is not None and out.calls and out.calls[0].arguments["direction"] == "down"
