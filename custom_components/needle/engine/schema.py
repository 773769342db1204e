"""Plain data that crosses the line between Home Assistant and the model.

The engine never imports Home Assistant and the HA side never touches arrays: they meet
only in these dataclasses and in strings (the encoder text and the decoded JSON).
Tool names are HA's own (``HassTurnOn``); the model sees them in snake_case
(``hass_turn_on``), as Needle v1 was trained, and ``snake_case`` / the tool list map them back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

JSON_SEPARATORS = (",", ":")

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """Needle v1 sees tool names in snake_case: ``HassTurnOn`` -> ``hass_turn_on``."""
    return _CAMEL_BOUNDARY.sub("_", name).replace("-", "_").replace(" ", "_").lower()


@dataclass(frozen=True, slots=True)
class ToolParam:
    """One argument of a tool.

    ``type`` is a JSON-schema type name: "string", "integer", "number", "boolean" or "array"
    (an array of strings; ``enum`` then constrains its items). ``enum`` lists the allowed
    values (entity names, areas, ...); None means free text or any number.
    """

    name: str
    type: str = "string"
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"type": self.type, "description": self.description}
        if self.enum is not None:
            obj["enum"] = list(self.enum)
        if self.minimum is not None:
            obj["minimum"] = self.minimum
        if self.maximum is not None:
            obj["maximum"] = self.maximum
        if self.required:
            obj["required"] = True
        return obj


@dataclass(frozen=True, slots=True)
class ToolSchema:
    """A tool as the model sees it (the Needle v1 tools-JSON element)."""

    name: str  # HA's name, e.g. "HassTurnOn"
    description: str = ""
    params: tuple[ToolParam, ...] = ()

    @property
    def model_name(self) -> str:
        return snake_case(self.name)

    def param(self, name: str) -> ToolParam | None:
        return next((p for p in self.params if p.name == name), None)

    def to_json_obj(self) -> dict[str, Any]:
        return {
            "name": self.model_name,
            "description": self.description,
            "parameters": {p.name: p.to_json_obj() for p in self.params},
        }


def tools_json(tools: list[ToolSchema] | tuple[ToolSchema, ...]) -> str:
    """The compact tools JSON that follows the ``<tools>`` token in the encoder input."""
    return json.dumps(
        [t.to_json_obj() for t in tools], separators=JSON_SEPARATORS, ensure_ascii=False
    )


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model made, with HA's tool name."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


def calls_json(calls: list[ToolCall], tools: list[ToolSchema] | tuple[ToolSchema, ...]) -> str:
    """The decoder's answer text for ``calls`` (what training targets and decoding produces)."""
    by_name = {t.name: t.model_name for t in tools}
    return json.dumps(
        [
            {"name": by_name.get(c.name, snake_case(c.name)), "arguments": c.arguments}
            for c in calls
        ],
        separators=JSON_SEPARATORS,
        ensure_ascii=False,
    )


def parse_calls(text: str, tools: list[ToolSchema] | tuple[ToolSchema, ...]) -> list[ToolCall]:
    """Parse the decoder's JSON answer back into calls with HA's tool names.

    Raises ValueError on anything that is not a JSON list of {"name", "arguments"} objects
    naming known tools: invalid model output must never turn into an action.
    """
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("model output is not a JSON list")
    by_model_name = {t.model_name: t.name for t in tools}
    calls: list[ToolCall] = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError(f"not a tool call: {item!r}")
        args = item.get("arguments", {})
        if not isinstance(args, dict):
            raise ValueError(f"arguments of {item['name']} are not an object")
        if item["name"] not in by_model_name:
            raise ValueError(f"unknown tool {item['name']!r}")
        calls.append(ToolCall(by_model_name[item["name"]], args))
    return calls
