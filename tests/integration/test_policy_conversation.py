"""The policy in a running HA: refusals, questions asked back, partial answers, counters."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component

from custom_components.needle.diagnostics import async_get_config_entry_diagnostics
from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.policy import NEGATED

from .devices import async_setup_home
from .helpers import ScriptedEngine, async_setup_needle
from .test_conversation import ask, home_states, speech


@pytest.fixture
async def home(hass: HomeAssistant) -> dict:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    return await async_setup_home(hass)


def on(name: str) -> ToolCall:
    return ToolCall("HassTurnOn", {"name": name})


async def test_a_negated_request_changes_nothing(hass: HomeAssistant, home: dict) -> None:
    engine = ScriptedEngine({"don't turn on the kitchen light": [on("Kitchen Light")]})
    entry = await async_setup_needle(hass, engine)
    before = home_states(hass)
    r = await ask(hass, entry, "don't turn on the kitchen light")
    assert home_states(hass) == before
    assert speech(r) == NEGATED
    assert engine.grounding == ["don't turn on the kitchen light"]  # the sentence grounds text
    assert entry.runtime_data.stats.policy["negated"] == 1
    diag = await async_get_config_entry_diagnostics(hass, entry)
    assert diag["requests"]["policy"] == {"negated": 1, "held_negated": 1}


async def test_an_open_target_is_asked_and_the_answer_completes_it(
    hass: HomeAssistant, home: dict
) -> None:
    engine = ScriptedEngine({"turn on the light": [on("Office Light")]})
    entry = await async_setup_needle(hass, engine)
    before = home_states(hass)
    r = await ask(hass, entry, "turn on the light")
    assert home_states(hass) == before
    assert r.continue_conversation is True
    assert speech(r).startswith("Which one do you mean")
    assert "Kitchen Light" in speech(r) and "Office Light" in speech(r)
    answer = await ask(hass, entry, "the kitchen one", r.conversation_id)
    assert hass.states.get("light.kitchen_light").state == "on"
    assert hass.states.get("light.office_light").state == "off"
    assert answer.response.response_type == intent.IntentResponseType.ACTION_DONE
    assert answer.continue_conversation is False
    assert len(engine.seen) == 1  # the answer did not need the model
    stats = entry.runtime_data.stats.policy
    assert (stats["ask"], stats["answer_resolved"]) == (1, 1)
    # the question is asked once: the same answer again is a new request for the model
    await ask(hass, entry, "the kitchen one", r.conversation_id)
    assert len(engine.seen) == 2


async def test_an_unsure_part_of_a_multi_call_answer_is_not_run(
    hass: HomeAssistant, home: dict
) -> None:
    sentence = "kitchen light and bedroom lamp on"
    engine = ScriptedEngine(
        {sentence: [on("Kitchen Light"), on("Bedroom Lamp")]},
        confidence={sentence: (0.99, 0.05)},
    )
    entry = await async_setup_needle(hass, engine)
    r = await ask(hass, entry, sentence)
    assert hass.states.get("light.kitchen_light").state == "on"
    assert hass.states.get("light.bedroom_lamp").state == "off"
    text = speech(r)
    assert (
        "Kitchen Light" in text and "I was not sure you wanted me to turn on Bedroom Lamp" in text
    )
    assert entry.runtime_data.stats.policy["held_low_confidence"] == 1


async def test_values_nobody_said_are_refused(hass: HomeAssistant, home: dict) -> None:
    engine = ScriptedEngine(
        {
            "kitchen light to 150 percent": [
                ToolCall("HassLightSet", {"name": "Kitchen Light", "brightness": 15})
            ],
            "start the vacuum": [on("TV")],
        }
    )
    entry = await async_setup_needle(hass, engine)
    before = home_states(hass)
    r = await ask(hass, entry, "kitchen light to 150 percent")
    assert "150 is out of range for brightness (0 to 100)" in speech(r)
    r = await ask(hass, entry, "start the vacuum")
    assert speech(r) == "Sorry, there is no vacuum I can control."
    assert r.response.response_type == intent.IntentResponseType.ERROR
    assert home_states(hass) == before
