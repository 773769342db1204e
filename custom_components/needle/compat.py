"""What differs between the Home Assistant releases we support (2025.4 through 2026.11).

Everything version-specific lives here, so the rest of the integration reads as if there were one
Home Assistant. Features are detected (an import, an attribute, a parameter), never inferred from
version strings: a backport or a patch release then just works.

The differences met here:
- Tool schemas are converted to OpenAPI by ``voluptuous_openapi`` up to 2026.8 and by
  ``probatio`` from 2026.9 (HA stopped shipping the former).
- From 2026.9 the Assist API's tools come from per-integration ``llm.py`` platforms and carry
  their integration's prefix (``intent__HassTurnOn``, ``light__HassLightSet``). The model was
  trained on HA's plain intent names, so it sees those, and calls go back under HA's names.
- ``ChatLog.async_update_llm_data`` became ``async_provide_llm_data`` (with an ``LLMContext``),
  ``LLMContext`` lost ``user_prompt`` and gained ``agent_id``, and a tool result moved from
  ``ToolResultContent.tool_result`` (a dict) to ``.result`` (an ``llm.ToolResult``).
- The built-in agent's ``async_handle_intents`` takes the chat log from 2026.x.
- HA 2026.x has ``HassSetVolumeRelative``; ``step_tool.py`` uses it where it is registered and
  ``media_player.volume_set`` before (detected by the intent's presence, in ``step_tool.py``).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from homeassistant.helpers import llm

if TYPE_CHECKING:
    from homeassistant.components.conversation import ChatLog, ConversationInput
    from homeassistant.core import Context

TOOL_NAMESPACE_SEPARATOR = "__"  # llm.NamespacedTool and the llm.py platforms' prefix


def _openapi_converter() -> Callable[..., dict[str, Any]]:
    """HA's own schema converter: probatio from 2026.9, voluptuous_openapi before."""
    try:
        import probatio
    except ImportError:
        from voluptuous_openapi import convert

        return convert
    return probatio.to_openapi


def to_openapi(schema: Any, custom_serializer: Callable[[Any], Any] | None = None) -> dict:
    """A tool's parameters as the OpenAPI object HA would send a cloud model."""
    return _openapi_converter()(schema, custom_serializer=custom_serializer)


def model_tool_name(ha_name: str) -> str:
    """The name the model was trained on: HA's tool name without an integration prefix
    (``intent__HassTurnOn`` -> ``HassTurnOn``; ``HassTurnOn`` stays as it is)."""
    return ha_name.rpartition(TOOL_NAMESPACE_SEPARATOR)[2]


def make_llm_context(
    *,
    platform: str,
    context: Context | None,
    language: str | None,
    assistant: str | None,
    device_id: str | None,
    agent_id: str | None = None,
) -> llm.LLMContext:
    """An ``LLMContext`` with the fields this release has (``user_prompt`` up to 2026.x,
    ``agent_id`` after)."""
    values: dict[str, Any] = {
        "platform": platform,
        "context": context,
        "language": language,
        "assistant": assistant,
        "device_id": device_id,
        "user_prompt": None,
        "agent_id": agent_id,
    }
    fields = {f.name for f in dataclasses.fields(llm.LLMContext)}
    return llm.LLMContext(**{k: v for k, v in values.items() if k in fields})


async def async_provide_llm_data(
    chat_log: ChatLog, domain: str, user_input: ConversationInput, api: str
) -> None:
    """Give the chat log the LLM API of this turn (its tools), the way this release wants."""
    if hasattr(chat_log, "async_provide_llm_data"):
        await chat_log.async_provide_llm_data(
            user_input.as_llm_context(domain), api, None, user_input.extra_system_prompt
        )
    else:
        await chat_log.async_update_llm_data(domain, user_input, api, None)


def tool_result_data(content: Any) -> dict[str, Any]:
    """The JSON of a ``ToolResultContent``: ``.result.data`` from 2026.x, ``.tool_result`` before."""
    result = getattr(content, "result", None)
    if result is not None and hasattr(result, "data"):
        return dict(result.data)
    return dict(content.tool_result)


def make_tool_result(data: dict[str, Any]) -> Any:
    """What a tool of Needle's returns: an ``llm.ToolResult`` from 2026.x (a plain JSON object
    is deprecated there), the JSON object itself before."""
    tool_result = getattr(llm, "ToolResult", None)
    return tool_result(data=data) if tool_result is not None else data


@cache
def _handle_intents_takes_chat_log(handle: Callable[..., Any]) -> bool:
    return "chat_log" in inspect.signature(handle).parameters


async def async_handle_intents_locally(
    agent: Any, user_input: ConversationInput, chat_log: ChatLog
) -> Any:
    """The built-in agent's exact-sentence matcher, with the arguments this release takes;
    None if the agent has no such method."""
    handle = getattr(agent, "async_handle_intents", None)
    if handle is None:
        return None
    if _handle_intents_takes_chat_log(type(agent).async_handle_intents):
        return await handle(user_input, chat_log)
    return await handle(user_input)


def string_aliases(aliases: Any) -> tuple[str, ...]:
    """An entity registry entry's aliases as text. From 2026.x the list may hold
    ``er.COMPUTED_NAME``, a marker for "the entity's own name", which is not an alias."""
    return tuple(sorted(a.strip() for a in aliases if isinstance(a, str) and a.strip()))


def registry_aliases(aliases: Any) -> Any:
    """Aliases to store on an entity registry entry so that the entity keeps answering to its
    own name too: a set up to 2026.x; from then a list led by ``er.COMPUTED_NAME`` (an entry
    whose list lacks it no longer matches its name in HA's intents)."""
    from homeassistant.helpers import entity_registry as er

    computed = getattr(er, "COMPUTED_NAME", None)
    if computed is None:
        return set(aliases)
    return [computed, *sorted(aliases)]
