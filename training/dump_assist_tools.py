"""Snapshot HA's real Assist API tools (names, descriptions, argument schemas) for training.

Training builds every example with the integration's prompt builder, which needs the tools the
Assist API hands an LLM agent. Those come from HA's intent handlers, so rather than copying them
by hand we start Home Assistant in-process (venv313), set up every domain the model should know,
expose one entity of each, register a timer-capable satellite, and convert the API's tools with
the integration's own ``tools_from_assist_api``. The JSON is committed: training runs without HA.

    .venv/bin/python training/dump_assist_tools.py [--out training/data/assist_tools.json]

It also writes the query tools the integration adds to the Assist API's (``queries.py``:
HassGetState and friends, which HA leaves out of its LLM tools) to
``training/data/query_tools.json``, for generating questions (``training/questions.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# One state per domain, so that every domain-bound intent handler offers its tool.
_STATES: dict[str, tuple[str, dict[str, object]]] = {
    "light.kitchen": ("on", {"supported_color_modes": ["hs"], "brightness": 128}),
    "switch.coffee": ("off", {}),
    "fan.ceiling": ("off", {"percentage": 0, "supported_features": 1}),
    "cover.blind": ("open", {"device_class": "blind", "current_position": 50}),
    "lock.front": ("locked", {}),
    "climate.thermostat": ("heat", {"temperature": 20, "current_temperature": 19}),
    "media_player.tv": ("playing", {"volume_level": 0.3, "supported_features": 0xFFFFF}),
    "vacuum.robot": ("docked", {}),
    "sensor.temperature": ("21", {"device_class": "temperature", "unit_of_measurement": "°C"}),
    "binary_sensor.window": ("off", {"device_class": "window"}),
    "todo.shopping": ("0", {}),
    "scene.movie": ("unknown", {}),
    "valve.water": ("closed", {"current_position": 0}),
    "input_boolean.guest": ("off", {}),
    "weather.home": ("sunny", {"temperature": 20}),
    "humidifier.bedroom": ("on", {"humidity": 40, "available_modes": ["normal", "eco"]}),
}
_DOMAINS = (
    "homeassistant",
    "intent",
    "conversation",
    "light",
    "switch",
    "fan",
    "cover",
    "lock",
    "climate",
    "media_player",
    "vacuum",
    "sensor",
    "binary_sensor",
    "todo",
    "scene",
    "valve",
    "input_boolean",
    "weather",
    "humidifier",
    "shopping_list",
    "timer",
)


async def dump(out: Path, queries_out: Path | None = None) -> int:
    # HA's test harness gives an in-process HA with registries and no network.
    from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
    from homeassistant.components.intent import async_register_timer_handler
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.helpers import device_registry as dr
    from homeassistant.helpers import llm
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import (
        MockConfigEntry,
        async_test_home_assistant,
    )

    from custom_components.needle.ha_context import tools_from_assist_api
    from custom_components.needle.prompt import tool_catalogue_json
    from custom_components.needle.queries import async_query_tools

    with tempfile.TemporaryDirectory() as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            for domain in _DOMAINS:
                assert await async_setup_component(hass, domain, {}), domain
            await hass.async_block_till_done()
            for entity_id, (state, attrs) in _STATES.items():
                hass.states.async_set(entity_id, state, attrs)
                async_expose_entity(hass, "conversation", entity_id, True)

            entry: ConfigEntry = MockConfigEntry(domain="needle")
            entry.add_to_hass(hass)
            satellite = dr.async_get(hass).async_get_or_create(
                config_entry_id=entry.entry_id, identifiers={("needle", "satellite")}
            )
            async_register_timer_handler(hass, satellite.id, lambda *_: None)

            context = llm.LLMContext(
                platform="needle",
                context=None,
                user_prompt="",
                language="en",
                assistant="conversation",
                device_id=satellite.id,
            )
            api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, context)
            tools = tools_from_assist_api(api)
            api.tools = list(async_query_tools(hass, api, ""))
            query_tools = tools_from_assist_api(api)
            await hass.async_stop(force=True)
    out.write_text(tool_catalogue_json(tools) + "\n", encoding="utf-8")
    if queries_out is not None:
        queries_out.write_text(tool_catalogue_json(query_tools) + "\n", encoding="utf-8")
        print(f"{len(query_tools)} query tools -> {queries_out}")
    print(f"{len(tools)} tools -> {out}: {', '.join(sorted(t.name for t in tools))}")
    return len(tools)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "training/data/assist_tools.json")
    parser.add_argument("--queries-out", type=Path, default=ROOT / "training/data/query_tools.json")
    args = parser.parse_args()
    asyncio.run(dump(args.out, args.queries_out))


if __name__ == "__main__":
    main()
