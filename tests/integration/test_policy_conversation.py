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
    # nothing runs unasked: the reply says what would be skipped and asks about the rest
    assert hass.states.get("light.kitchen_light").state == "off"
    assert hass.states.get("light.bedroom_lamp").state == "off"
    assert speech(r) == (
        "I would skip part of it: I was not sure you wanted me to turn on Bedroom Lamp. "
        "Shall I still turn on Kitchen Light?"
    )
    assert r.continue_conversation
    assert entry.runtime_data.stats.policy["held_low_confidence"] == 1
    r = await ask(hass, entry, "yes", conversation_id=r.conversation_id)
    assert hass.states.get("light.kitchen_light").state == "on", speech(r)
    assert hass.states.get("light.bedroom_lamp").state == "off"


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


async def test_each_command_of_a_sentence_gets_its_own_decode(
    hass: HomeAssistant, home: dict, caplog: pytest.LogCaptureFixture
) -> None:
    """Two and three actions in one sentence: one prompt and decode per clause (the engine is
    scripted by the first line of the query, so only a per-clause prompt finds its calls)."""
    engine = ScriptedEngine(
        {
            "turn on the kitchen light": [on("Kitchen Light")],
            "lock the front door": [ToolCall("HassTurnOn", {"name": "Front Door"})],
            "close the living room blinds": [
                ToolCall("HassTurnOff", {"name": "Living Room Blinds"})
            ],
            "switch on the office light": [on("Office Light")],
        }
    )
    hass.states.async_set("lock.front_door", "unlocked")
    entry = await async_setup_needle(hass, engine)
    caplog.set_level("DEBUG", logger="custom_components.needle")
    r = await ask(hass, entry, "turn on the kitchen light and lock the front door")
    assert hass.states.get("light.kitchen_light").state == "on", speech(r)
    assert hass.states.get("lock.front_door").state == "locked", speech(r)
    assert [q.split("\n", 1)[0] for q, _ in engine.seen] == [
        "turn on the kitchen light",
        "lock the front door",
    ]
    assert engine.grounding == ["turn on the kitchen light", "lock the front door"]
    assert "Needle clauses: clauses [('turn on the kitchen light', None)" in caplog.text

    r = await ask(
        hass,
        entry,
        "close the living room blinds, switch on the office light and then turn off the "
        "kitchen light",
    )
    # three clauses, the third unknown to the script: nothing invented, the reply says which
    # command was not understood and asks before doing the other two
    assert hass.states.get("light.office_light").state == "off", speech(r)
    assert speech(r).startswith("I did not understand “turn off the kitchen light”. Shall I"), (
        speech(r)
    )
    assert len(engine.seen) == 5
    r = await ask(hass, entry, "yes", conversation_id=r.conversation_id)
    assert hass.states.get("light.office_light").state == "on", speech(r)
    assert hass.states.get("cover.living_room_blinds").state == "closed", speech(r)


async def test_a_negated_second_clause_runs_only_the_first(
    hass: HomeAssistant, home: dict
) -> None:
    engine = ScriptedEngine(
        {
            "turn on the kitchen light": [on("Kitchen Light")],
            "don't turn on the office light": [on("Office Light")],
        }
    )
    entry = await async_setup_needle(hass, engine)
    r = await ask(hass, entry, "turn on the kitchen light and don't turn on the office light")
    assert hass.states.get("light.kitchen_light").state == "on", speech(r)
    assert hass.states.get("light.office_light").state == "off"
    assert "you asked me not to" in speech(r)
    assert entry.runtime_data.stats.policy["held_negated"] == 1
    # a negation first governs the whole sentence: one prompt, nothing runs
    engine.seen.clear()
    r = await ask(hass, entry, "don't turn on the office light and turn on the kitchen light")
    assert speech(r) == NEGATED and len(engine.seen) == 1
    assert hass.states.get("light.office_light").state == "off"


async def test_a_sentence_of_one_command_is_prompted_as_before(
    hass: HomeAssistant, home: dict
) -> None:
    """No cut: the same single prompt as without clauses (the sentence as typed), including
    a list of things that are no devices of the home and a "but" that narrows the command."""
    rule = [on("Kitchen Light"), on("Office Light")]
    sentences = (
        "turn on the fairy lights and candles",
        "turn on the lights but leave the bedroom lamp off",
    )
    engine = ScriptedEngine(dict.fromkeys(sentences, rule))
    entry = await async_setup_needle(hass, engine)
    for text in sentences:
        await ask(hass, entry, text)
    assert [q.split("\n", 1)[0] for q, _ in engine.seen] == list(sentences)
    assert engine.grounding == list(sentences)


async def test_an_area_named_in_one_clause_is_the_other_clause_s_area(
    hass: HomeAssistant, home: dict
) -> None:
    engine = ScriptedEngine(
        {"turn off the tv": [ToolCall("HassTurnOff", {"name": "TV"})]},
    )
    entry = await async_setup_needle(hass, engine)
    await ask(hass, entry, "turn off the tv and close the blinds in the living room")
    queries = [q for q, _ in engine.seen]
    assert queries[0] == "turn off the tv\narea: Living Room"  # the prompt's place for an area
    assert queries[1] == "close the blinds in the living room"
    # an area that qualifies a device is its clause's own
    engine.seen.clear()
    await ask(hass, entry, "close the living room blinds and turn off the tv")
    assert [q for q, _ in engine.seen] == ["close the living room blinds", "turn off the tv"]
