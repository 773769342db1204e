"""Run a suite's cases through real Home Assistant conversation agents.

One Home Assistant per home fixture (core in-process, temporary config folder), its devices
from ``virtual_home``, each case: reset the home to the fixture (plus the case's ``setup``),
send the sentence through HA's conversation API with the agent under test, record the intents
it handled (HA's built-in agent and Needle both act through ``intent.async_handle``), the state
changes and the reply, and score it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.components import conversation
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from virtual_home.devices import VirtualHome, async_build_home

from .scoring import Call, CaseResult, Outcome, score
from .suite import Case, Home

BUILTIN = "builtin"
NEEDLE = "needle"
AGENTS = (BUILTIN, NEEDLE)
NEEDLE_DOMAIN = "needle"


@dataclass
class AgentSpec:
    """Which agent, and for Needle which model and options."""

    kind: str  # builtin | needle
    bundle: Path | None = None  # None: the integration's built-in default model
    prefer_local: bool = False  # Needle's option: HA's matcher first, the model for the rest
    backend: str | None = None
    agent_id: str | None = None  # any other agent already set up in hass (tests use this)
    name: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind == NEEDLE and self.prefer_local:
            return "needle+local"
        return self.kind


class CallRecorder:
    """Wraps ``intent.async_handle`` to see every intent an agent handles, with its slots."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.refused: list[Call] = []  # intents HA did not carry out
        self._orig = intent.async_handle

    async def _handle(self, hass: HomeAssistant, platform: str, intent_type: str,
                      slots: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> Any:  # fmt: skip
        values = {k: _plain((v or {}).get("value")) for k, v in (slots or {}).items()}
        # Only an intent that was carried out is a call: one HA refused (no such exposed
        # entity, say) raised or answered with an error and changed nothing.
        result = await self._orig(hass, platform, intent_type, slots, *args, **kwargs)
        if getattr(result, "response_type", None) != intent.IntentResponseType.ERROR:
            self.calls.append(Call(intent_type, values))
        else:
            self.refused.append(Call(intent_type, values))
        return result

    def __enter__(self) -> CallRecorder:
        self._patch = patch.object(intent, "async_handle", self._handle)
        self._patch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._patch.stop()


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return sorted((_plain(v) for v in value), key=str)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


@asynccontextmanager
async def home_assistant(config_dir: Path) -> AsyncIterator[HomeAssistant]:
    """A real, running Home Assistant core in this process with a temporary config folder,
    custom integrations (this repository's ``custom_components``) enabled."""
    from homeassistant import loader
    from pytest_homeassistant_custom_component.common import async_test_home_assistant

    async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # the test helper turns them off
        try:
            yield hass
        finally:  # a home that failed to build still stops its core (threads, timers)
            await hass.async_stop(force=True)


async def async_prepare(hass: HomeAssistant, home: Home) -> VirtualHome:
    for domain in ("homeassistant", "conversation", "intent"):
        if not await async_setup_component(hass, domain, {}):
            raise RuntimeError(f"cannot set up {domain}")
    vhome = await async_build_home(hass, home)
    await _async_shopping_list(hass)
    return vhome


async def _async_shopping_list(hass: HomeAssistant) -> None:
    """HA's default shopping list (its intents are part of what Assist understands), set up
    the way a user adds it; it lives in the temporary config folder."""
    if hass.config_entries.async_entries("shopping_list"):
        return
    result = await hass.config_entries.flow.async_init("shopping_list", context={"source": "user"})
    if result.get("type") == "form":
        await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()


async def async_setup_agent(hass: HomeAssistant, spec: AgentSpec) -> str:
    """Set the agent up the way a user would (config flow, options flow); return its id."""
    if spec.agent_id:
        return spec.agent_id
    if spec.kind == BUILTIN:
        return conversation.HOME_ASSISTANT_AGENT
    from custom_components.needle.const import (
        CONF_BUNDLE_PATH,
        CONF_MODEL_SOURCE,
        CONF_PREFER_LOCAL,
        SOURCE_BUILTIN,
        SOURCE_BUNDLE,
    )

    flows = hass.config_entries.flow
    result = await flows.async_init(NEEDLE_DOMAIN, context={"source": "user"})
    source = SOURCE_BUNDLE if spec.bundle else SOURCE_BUILTIN
    result = await flows.async_configure(result["flow_id"], {CONF_MODEL_SOURCE: source})
    if spec.bundle:
        result = await flows.async_configure(
            result["flow_id"], {CONF_BUNDLE_PATH: str(spec.bundle.resolve())}
        )
    if result.get("type") != "create_entry":
        raise RuntimeError(f"Needle could not be set up: {result.get('errors') or result}")
    entry = result["result"]
    await hass.async_block_till_done()
    options = await hass.config_entries.options.async_init(entry.entry_id)
    current = {**entry.options, CONF_PREFER_LOCAL: spec.prefer_local}
    await hass.config_entries.options.async_configure(options["flow_id"], current)
    await hass.async_block_till_done()
    if spec.backend:
        await _force_backend(hass, entry, spec.backend)
    entity_id = er.async_get(hass).async_get_entity_id(
        "conversation", NEEDLE_DOMAIN, entry.entry_id
    )
    if entity_id is None:
        raise RuntimeError("Needle's conversation entity was not created")
    return entity_id


async def _force_backend(hass: HomeAssistant, entry: Any, backend: str) -> None:
    """Reload the entry's engine on one backend (for measuring the numpy path on a machine
    that has onnxruntime)."""
    from custom_components.needle.engine import NeedleEngine

    path = entry.runtime_data.engine.bundle.path
    old = entry.runtime_data.engine
    entry.runtime_data.engine = await hass.async_add_executor_job(NeedleEngine.load, path, backend)
    old.close()


def satellite_devices(hass: HomeAssistant, vhome: VirtualHome) -> dict[str, str]:
    """One voice satellite per area (fixture area id -> device id), for ``context_area``."""
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    entry = MockConfigEntry(domain="virtual_home", title="Voice satellites")
    entry.add_to_hass(hass)
    devices = dr.async_get(hass)
    out = {}
    for area_id, ha_area in vhome.area_ids.items():
        device = devices.async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={("virtual_home", f"satellite_{area_id}")},
            name=f"Satellite {area_id}",
        )
        devices.async_update_device(device.id, area_id=ha_area)
        out[area_id] = device.id
    return out


async def async_turn(
    hass: HomeAssistant,
    vhome: VirtualHome,
    agent_id: str,
    case: Case,
    satellites: dict[str, str],
) -> Outcome:
    """One case: reset, say the sentence, observe."""
    await vhome.async_reset(case.get("setup"))
    before = vhome.snapshot()
    device_id = satellites.get(case.get("context_area")) if case.get("context_area") else None
    error = None
    reply = ""
    keep_open = False
    response_type = None
    with CallRecorder() as recorder:
        started = time.perf_counter()
        try:
            result = await conversation.async_converse(
                hass,
                case.text,
                conversation_id=f"eval-{uuid.uuid4().hex}",
                context=Context(),
                language=vhome.home.language,
                agent_id=agent_id,
                device_id=device_id,
            )
            await hass.async_block_till_done()
            reply = result.response.speech.get("plain", {}).get("speech", "") or ""
            keep_open = bool(getattr(result, "continue_conversation", False))
            kind = getattr(result.response, "response_type", None)
            response_type = getattr(kind, "value", None if kind is None else str(kind))
        except Exception as err:
            error = f"{type(err).__name__}: {err}"
        latency_ms = (time.perf_counter() - started) * 1000
    return Outcome(
        recorder.calls, before, vhome.snapshot(), reply, error, latency_ms, keep_open, response_type
    )


async def async_run_home(
    hass: HomeAssistant,
    home: Home,
    cases: list[Case],
    agents: list[AgentSpec],
    on_result: Callable[[str, CaseResult], None],
) -> dict[str, list[CaseResult]]:
    """Every case of one home through every agent (same hass, same devices)."""
    vhome = await async_prepare(hass, home)
    satellites = satellite_devices(hass, vhome)
    agent_ids = {spec.label: await async_setup_agent(hass, spec) for spec in agents}
    results: dict[str, list[CaseResult]] = {label: [] for label in agent_ids}
    for case in cases:
        for label, agent_id in agent_ids.items():
            outcome = await async_turn(hass, vhome, agent_id, case, satellites)
            result = score(case, home, outcome)
            results[label].append(result)
            on_result(label, result)
    return results
