"""The per-request debug log that the README promises (``custom_components.needle: debug``):
prompt tokens and candidates, the calls with their confidence, what ran, and the time of each
stage; and HA's built-in sentences saying so when they answered instead of the model."""

from __future__ import annotations

import logging
import re

import pytest
from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.needle.const import CONF_PREFER_LOCAL
from custom_components.needle.engine.schema import ToolCall

from .devices import async_setup_home
from .helpers import ScriptedEngine, agent_id, async_setup_needle

LOGGER = "custom_components.needle"
SENTENCE = "make the kitchen bright"


@pytest.fixture
async def home(hass: HomeAssistant) -> dict:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    return await async_setup_home(hass)


async def _ask(hass: HomeAssistant, entry, text: str) -> None:
    await conversation.async_converse(
        hass, text, None, Context(), language="en", agent_id=agent_id(hass, entry)
    )


def _needle_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith(LOGGER)]


async def test_each_request_is_logged_at_debug(
    hass: HomeAssistant, home: dict, caplog: pytest.LogCaptureFixture
) -> None:
    engine = ScriptedEngine(
        {SENTENCE: [ToolCall("HassTurnOn", {"name": "Kitchen Light"})]},
        confidence={SENTENCE: (0.875,)},
    )
    entry = await async_setup_needle(hass, engine)
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    await _ask(hass, entry, SENTENCE)
    assert hass.states.get("light.kitchen_light").state == "on"
    lines = _needle_lines(caplog)
    model = next(line for line in lines if line.startswith("Needle model:"))
    assert re.search(r"candidates \d+ of \d+ exposed", model), model
    assert "prompt_tokens" in model and "tools [" in model
    assert "'Kitchen Light'" in model.split("names ", 1)[1]  # the candidates by name
    assert "HassTurnOn(name='Kitchen Light') confidence 0.875" in model
    assert re.search(r"prompt_ms \d+(\.\d+)?, engine_ms \d+(\.\d+)?", model), model
    executed = next(line for line in lines if line.startswith("Needle executed:"))
    assert "HassTurnOn: ok" in executed and "refused 0" in executed
    assert re.search(r"execute_ms \d+(\.\d+)?", executed), executed


async def test_nothing_formatted_without_debug(
    hass: HomeAssistant, home: dict, caplog: pytest.LogCaptureFixture
) -> None:
    engine = ScriptedEngine({SENTENCE: [ToolCall("HassTurnOn", {"name": "Kitchen Light"})]})
    entry = await async_setup_needle(hass, engine)
    caplog.set_level(logging.INFO, logger=LOGGER)
    await _ask(hass, entry, SENTENCE)
    assert not [line for line in _needle_lines(caplog) if line.startswith("Needle model:")]


async def test_built_in_sentences_say_they_answered(
    hass: HomeAssistant, home: dict, caplog: pytest.LogCaptureFixture
) -> None:
    engine = ScriptedEngine()
    entry = await async_setup_needle(hass, engine, **{CONF_PREFER_LOCAL: True})
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    await _ask(hass, entry, "turn on the kitchen light")
    assert engine.seen == []
    assert any(
        line.startswith("Needle answered by HA's built-in sentences: reply ")
        for line in _needle_lines(caplog)
    )
