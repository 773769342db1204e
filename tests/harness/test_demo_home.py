"""The demo's house through the ``virtual_home`` integration, in a test hass: what
``tools/demo.py`` starts in a real Home Assistant, minus the server. Checks that demo/home.yaml
builds (entities, areas, floors, exposure) and that Needle, on a scripted engine, can be chosen as
the agent that controls it. Marked slow (a dozen integrations and ~30 entities); the full demo,
with a real server and the built-in model, is ``python tools/demo.py --selftest``."""

from __future__ import annotations

from pathlib import Path

import pytest
import virtual_home
from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import floor_registry as fr
from homeassistant.setup import async_setup_component
from integration.helpers import ScriptedEngine, agent_id, async_setup_needle
from virtual_home.home import load_home

from custom_components.needle.engine.schema import ToolCall

DEMO_HOME = Path(__file__).resolve().parents[2] / "demo" / "home.yaml"
SENTENCE = "the kitchen could do with some light"  # not HA's wording: the (scripted) model decides

pytestmark = pytest.mark.slow


async def test_demo_home_builds_and_needle_controls_it(hass: HomeAssistant) -> None:
    for domain in ("homeassistant", "conversation", "intent"):
        assert await async_setup_component(hass, domain, {})
    config = {virtual_home.DOMAIN: {virtual_home.CONF_HOME: str(DEMO_HOME)}}
    assert await virtual_home.async_setup(hass, config)
    await hass.async_block_till_done()  # hass is running: the home is built at once

    fixture = load_home(DEMO_HOME)
    assert hass.data[virtual_home.DATA_HOME].home.name == fixture.name
    for spec in fixture.entities:
        assert hass.states.get(spec.entity_id) is not None, spec.entity_id
        assert async_should_expose(hass, "conversation", spec.entity_id) is spec.exposed
    assert {a.name for a in fixture.areas} <= {
        a.name for a in ar.async_get(hass).async_list_areas()
    }
    assert len(fr.async_get(hass).async_list_floors()) == len(fixture.floors) == 2
    assert not [e for e in fixture.entities if e.exposed is False and e.domain == "light"]

    engine = ScriptedEngine({SENTENCE: [ToolCall("HassTurnOn", {"name": "Kitchen Light"})]})
    entry = await async_setup_needle(hass, engine)
    agent = agent_id(hass, entry)
    assert conversation.async_get_agent_info(hass, agent) is not None
    result = await conversation.async_converse(
        hass, SENTENCE, None, Context(), language="en", agent_id=agent
    )
    await hass.async_block_till_done()
    assert result.response.error_code is None, result.response.speech
    assert hass.states.get("light.kitchen_light").state == "on"
    _query, tools = engine.seen[-1]
    offered = repr(tools)  # the names the model may choose from are in the tools' parameters
    assert "Kitchen Light" in offered
    assert "Garage Door" not in offered and "Server Rack" not in offered  # not exposed


async def test_bad_config_fails_setup_visibly(hass: HomeAssistant, tmp_path: Path) -> None:
    assert not await virtual_home.async_setup(hass, {virtual_home.DOMAIN: {}})
    missing = {virtual_home.DOMAIN: {virtual_home.CONF_HOME: str(tmp_path / "none.yaml")}}
    assert not await virtual_home.async_setup(hass, missing)
