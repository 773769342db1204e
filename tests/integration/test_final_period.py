"""Every reply ends as a sentence: HA's own answers (prefer local) and the model's alike."""

from __future__ import annotations

import pytest
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.needle.const import CONF_PREFER_LOCAL
from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.speech import with_final_period

from .devices import async_setup_home
from .helpers import ScriptedEngine, agent_id, async_setup_needle


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Turned on the light", "Turned on the light."),
        ("Position set.", "Position set."),
        ("Which light do you mean?", "Which light do you mean?"),
        ("Turned on the light  ", "Turned on the light."),
        ("", ""),
    ],
)
def test_with_final_period(text: str, expected: str) -> None:
    assert with_final_period(text) == expected


async def test_built_in_and_model_replies_end_alike(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    await async_setup_home(hass)
    engine = ScriptedEngine(
        {"brighten the kitchen": [ToolCall("HassTurnOn", {"name": "Kitchen Light"})]}
    )
    entry = await async_setup_needle(hass, engine, **{CONF_PREFER_LOCAL: True})

    async def ask(text: str) -> str:
        result = await conversation.async_converse(
            hass, text, None, Context(), language="en", agent_id=agent_id(hass, entry)
        )
        return result.response.speech["plain"]["speech"]

    local = await ask("turn on the kitchen light")  # HA's sentences answer
    assert engine.seen == []
    assert local.startswith("Turned on") and local.endswith(".") and not local.endswith("..")
    await ask("turn off the kitchen light")
    model = await ask("brighten the kitchen")  # the model answers
    assert len(engine.seen) == 1
    assert model.endswith(".") and not model.endswith("..")
