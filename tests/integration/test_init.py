"""Setup, unload, reload, a broken model, diagnostics."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.needle.const import (
    CONF_BUNDLE_PATH,
    CONF_MODEL_SOURCE,
    DOMAIN,
    SOURCE_BUNDLE,
)
from custom_components.needle.diagnostics import async_get_config_entry_diagnostics
from custom_components.needle.engine.schema import ToolCall

from .devices import async_setup_home
from .helpers import ScriptedEngine, agent_id, async_setup_needle


async def _components(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


async def test_setup_unload_reload(hass: HomeAssistant) -> None:
    await _components(hass)
    engine = ScriptedEngine()
    entry = await async_setup_needle(hass, engine)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.engine is engine
    assert hass.states.get(agent_id(hass, entry)) is not None

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert engine.closed  # the model was let go
    assert hass.states.get(agent_id(hass, entry)).state == "unavailable"

    engine2 = ScriptedEngine()
    from unittest.mock import patch

    with patch("custom_components.needle.model.load_engine", return_value=engine2):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.engine is engine2
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert engine2.closed


async def test_missing_model_is_a_setup_error(hass: HomeAssistant, tmp_path: Path) -> None:
    await _components(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={CONF_MODEL_SOURCE: SOURCE_BUNDLE, CONF_BUNDLE_PATH: str(tmp_path / "gone")},
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "gone" in (entry.reason or "")


async def test_diagnostics_have_no_personal_data(hass: HomeAssistant) -> None:
    await _components(hass)
    await async_setup_home(hass)
    engine = ScriptedEngine(
        {"switch on my kitchen light please": [ToolCall("HassTurnOn", {"name": "Kitchen Light"})]}
    )
    entry = await async_setup_needle(hass, engine, bundle_path="/home/alice/models/needle")
    await conversation.async_converse(
        hass, "switch on my kitchen light please", None, Context(), agent_id=agent_id(hass, entry)
    )
    diag = await async_get_config_entry_diagnostics(hass, entry)
    text = json.dumps(diag, default=str)
    for secret in ("Kitchen", "kitchen", "alice", "switch on", "/home/someone"):
        assert secret not in text
    assert diag["engine"]["backend"] == "scripted"
    assert diag["requests"]["requests"] == 1
    assert diag["requests"]["calls_executed"] == 1
    assert diag["options"]["llm_hass_api"] == "assist"
