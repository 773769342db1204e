"""A scripted stand-in engine, and the Needle entry set up on a test hass with an engine."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.needle.config_flow import DEFAULT_OPTIONS
from custom_components.needle.const import (
    CONF_BUNDLE_PATH,
    CONF_MODEL_SOURCE,
    CONF_PREFER_LOCAL,
    DOMAIN,
    SOURCE_BUNDLE,
)
from custom_components.needle.engine.schema import ToolCall, ToolSchema, calls_json


async def async_setup_needle(
    hass: HomeAssistant, engine: Any, bundle_path: str = "/models/scripted", **options: Any
) -> MockConfigEntry:
    """An entry whose model is ``engine`` (the loader is patched to hand it out)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Needle (test)",
        data={CONF_MODEL_SOURCE: SOURCE_BUNDLE, CONF_BUNDLE_PATH: bundle_path},
        options={**DEFAULT_OPTIONS, CONF_PREFER_LOCAL: False, **options},
    )
    entry.add_to_hass(hass)
    with patch("custom_components.needle.model.load_engine", return_value=engine):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    return entry


def agent_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    from homeassistant.helpers import entity_registry as er

    entity_id = er.async_get(hass).async_get_entity_id("conversation", DOMAIN, entry.entry_id)
    assert entity_id is not None
    return entity_id


@dataclass
class ScriptedGeneration:
    calls: list[ToolCall]
    text: str
    confidence: tuple[float, ...] = ()


Rule = Sequence[ToolCall] | Callable[[str, tuple[ToolSchema, ...]], Sequence[ToolCall]]


@dataclass
class ScriptedEngine:
    """Stands in for NeedleEngine where a test needs the model's decision to be fixed.

    ``rules`` maps the sentence (the first line of the query) to calls, or to a function of
    (query, tools) that returns them; unknown sentences give no call. The engine itself is
    tested in tests/engine; here the question is what the integration does with its answer.
    """

    rules: dict[str, Rule] = field(default_factory=dict)
    delay: float = 0.0
    error: Exception | None = None
    seen: list[tuple[str, tuple[ToolSchema, ...]]] = field(default_factory=list)
    closed: bool = False
    confidence: dict[str, tuple[float, ...]] = field(default_factory=dict)  # per sentence
    grounding: list[str | None] = field(default_factory=list)
    decode_tools: list[tuple[ToolSchema, ...] | None] = field(default_factory=list)

    def generate(
        self,
        query: str,
        tools: Sequence[ToolSchema],
        grounding: str | None = None,
        decode_tools: Sequence[ToolSchema] | None = None,
    ) -> ScriptedGeneration:
        if self.delay:
            time.sleep(self.delay)
        self.seen.append((query, tuple(tools)))
        if self.error is not None:
            raise self.error
        rule = self.rules.get(query.split("\n", 1)[0], [])
        calls = list(rule(query, tuple(tools)) if callable(rule) else rule)
        self.grounding.append(grounding)
        self.decode_tools.append(None if decode_tools is None else tuple(decode_tools))
        conf = self.confidence.get(query.split("\n", 1)[0], ())
        return ScriptedGeneration(calls, calls_json(calls, tuple(tools)), conf)

    def count_tokens(self, text: str) -> int:
        return (len(text) + 3) // 4

    def info(self) -> dict[str, Any]:
        return {"name": "scripted", "backend": "scripted", "path": "/home/someone/model"}

    def close(self) -> None:
        self.closed = True


def ha_response(intent_name: str, key: str, language: str = "en") -> str:
    """A response template of the installed home-assistant-intents package, as text. HA's words
    differ between the ends we test ("Locked" on 2025.4, "Locking" on 2026.11): a test of a
    reply without slots compares with this instead of hard-coding one release's wording."""
    from home_assistant_intents import get_intents

    intents = get_intents(language)
    assert intents is not None
    return intents["responses"]["intents"][intent_name][key]
