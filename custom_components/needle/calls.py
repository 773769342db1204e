"""Model side -> HA side: check the model's calls, run them through HA's LLM API, say what happened.

The one place that decides whether a call may run. A call runs only if it names a tool the model
was shown for this request, every argument is one of that tool's parameters, and every value the
prompt enumerated (entity names, areas, floors, domains, device classes) is one of those values:
the enums hold exposed entities only, so an unexposed entity can never be named. Then HA's own
intent handling (exposure, matching, service calls) decides the rest, via the chat log, so HA's
traces and the conversation history show every call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .const import STEP_TOOL
from .engine.schema import ToolCall, ToolSchema

if TYPE_CHECKING:
    from homeassistant.components.conversation import ChatLog

NOT_UNDERSTOOD = "Sorry, I did not understand that."
CONTROL_DISABLED = "Sorry, home control is turned off in the Needle options."

# What a successful call did, by tool and (for on/off) by domain; "{names}" is the targets.
_DONE_ON = {"lock": "Locked {names}", "cover": "Opened {names}", "valve": "Opened {names}",
            "scene": "Activated {names}", "script": "Ran {names}", "button": "Pressed {names}"}  # fmt: skip
_DONE_OFF = {"lock": "Unlocked {names}", "cover": "Closed {names}", "valve": "Closed {names}"}
_DONE: dict[str, str] = {
    "HassTurnOn": "Turned on {names}",
    "HassTurnOff": "Turned off {names}",
    "HassToggle": "Toggled {names}",
    "HassLightSet": "Set {names}",
    "HassSetPosition": "Set the position of {names}",
    "HassClimateSetTemperature": "Set the temperature of {names}",
    "HassSetVolume": "Set the volume of {names}",
    "HassMediaPause": "Paused {names}",
    "HassMediaUnpause": "Resumed {names}",
    "HassMediaNext": "Skipped to the next item on {names}",
    "HassMediaPrevious": "Went back on {names}",
    "HassVacuumStart": "Started {names}",
    "HassVacuumReturnToBase": "Sent {names} back to its dock",
    "HassFanSetSpeed": "Set the speed of {names}",
    "HassHumidifierSetpoint": "Set the humidity of {names} to {humidity}%",
    "HassHumidifierMode": "Set {names} to {mode}",
    "HassListAddItem": "Added {item} to {names}",
    "HassListCompleteItem": "Checked off {item} on {names}",
    "HassShoppingListAddItem": "Added {item} to the shopping list",
    "HassShoppingListCompleteItem": "Checked off {item} on the shopping list",
    "HassStartTimer": "Started the timer",
    "HassCancelTimer": "Cancelled the timer",
    "HassCancelAllTimers": "Cancelled the timers",
    "HassIncreaseTimer": "Added time to the timer",
    "HassDecreaseTimer": "Took time off the timer",
    "HassPauseTimer": "Paused the timer",
    "HassUnpauseTimer": "Resumed the timer",
    "HassBroadcast": "Sent the broadcast",
}
# What to call a failed call in "I could not ...".
_VERB: dict[str, str] = {
    "HassTurnOn": "turn on",
    "HassTurnOff": "turn off",
    "HassLightSet": "set",
    "HassSetPosition": "set the position of",
    "HassClimateSetTemperature": "set the temperature of",
    "HassSetVolume": "set the volume of",
    "HassMediaPause": "pause",
    "HassMediaUnpause": "resume",
    "HassMediaNext": "skip on",
    "HassMediaPrevious": "go back on",
    STEP_TOOL: "change",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A call that was not run, and why (in words for the user)."""

    call: ToolCall
    reason: str


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """One executed call and what HA answered."""

    call: ToolCall
    ok: bool
    speech: str = ""  # HA's own speech, or ours for a success
    reason: str = ""  # why it failed, in words
    targets: tuple[str, ...] = ()  # entity ids HA acted on
    from_ha: bool = False  # the speech is HA's own (the intent answered in words)


@dataclass(slots=True)
class Reply:
    """The answer to a request."""

    speech: str
    outcomes: list[CallOutcome] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def succeeded(self) -> tuple[ToolCall, ...]:
        return tuple(o.call for o in self.outcomes if o.ok)

    @property
    def understood(self) -> bool:
        return bool(self.outcomes)


def _target(args: dict[str, Any]) -> str:
    """The call's target as a user would say it: "Kitchen Light", "the lights in the Kitchen"."""
    if name := args.get("name"):
        return str(name)
    domains = args.get("domain") or []
    if isinstance(domains, str):
        domains = [domains]
    what = " and ".join(str(d).replace("_", " ") + "s" for d in domains) or "devices"
    where = args.get("area") or args.get("floor")
    return f"the {what} in the {where}" if where else f"the {what}"


def _check_value(param_type: str, value: Any, enum: tuple[str, ...] | None) -> tuple[Any, str]:
    """(normalised value, "" ) or (None, problem)."""
    if param_type == "array":
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            norm, problem = _check_value("string", item, enum)
            if problem:
                return None, problem
            out.append(norm)
        return out, ""
    if param_type in ("integer", "number"):
        if isinstance(value, bool):
            return None, f"{value!r} is not a number"
        if isinstance(value, str):
            try:
                value = float(value.strip().rstrip("%"))
            except ValueError:
                return None, f"{value!r} is not a number"
        if not isinstance(value, int | float) or not math.isfinite(value):
            return None, f"{value!r} is not a number"
        return (round(value) if param_type == "integer" else value), ""
    if param_type == "boolean":
        if isinstance(value, bool):
            return value, ""
        return None, f"{value!r} is not true or false"
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None, f"{value!r} is not text"
    value = str(value).strip()
    if enum is not None:
        folded = {e.casefold(): e for e in enum}
        if value.casefold() not in folded:
            return None, f"I don't know {value!r}"
        value = folded[value.casefold()]
    return value, ""


def validate_call(call: ToolCall, tools: Sequence[ToolSchema]) -> ToolCall | Refusal:
    """The call with normalised arguments, or why it must not run."""
    tool = next((t for t in tools if t.name == call.name), None)
    if tool is None:
        return Refusal(call, f"there is no tool {call.name!r}")
    args: dict[str, Any] = {}
    for key, value in call.arguments.items():
        if value is None or value == "" or value == []:
            continue  # small models write empty optional arguments; HA would reject them
        param = tool.param(key)
        if param is None:
            return Refusal(call, f"{call.name} has no argument {key!r}")
        norm, problem = _check_value(param.type, value, param.enum)
        if problem:
            return Refusal(call, problem)
        if param.type in ("integer", "number") and (
            (param.minimum is not None and norm < param.minimum)
            or (param.maximum is not None and norm > param.maximum)
        ):
            return Refusal(call, f"{key} {norm} is out of range")
        args[key] = norm
    missing = [p.name for p in tool.params if p.required and p.name not in args]
    if missing:
        return Refusal(call, f"{call.name} needs {', '.join(missing)}")
    return ToolCall(call.name, args)


def validate_calls(
    calls: Sequence[ToolCall], tools: Sequence[ToolSchema]
) -> tuple[list[ToolCall], list[Refusal]]:
    valid: list[ToolCall] = []
    refused: list[Refusal] = []
    for call in calls:
        checked = validate_call(call, tools)
        if isinstance(checked, Refusal):
            refused.append(checked)
        elif checked not in valid:  # the same call twice would act twice
            valid.append(checked)
    return valid, refused


def validate_scored[S](
    calls: Sequence[ToolCall], scores: Sequence[S], tools: Sequence[ToolSchema]
) -> tuple[list[ToolCall], list[S | float], list[Refusal]]:
    """``validate_calls`` that keeps each valid call's score next to it (a confidence, or
    whatever the caller pairs with it); a call without one, from an engine that reports none,
    gets 1.0."""
    valid: list[ToolCall] = []
    kept: list[S | float] = []
    refused: list[Refusal] = []
    for i, call in enumerate(calls):
        checked = validate_call(call, tools)
        if isinstance(checked, Refusal):
            refused.append(checked)
        elif checked not in valid:
            valid.append(checked)
            kept.append(scores[i] if i < len(scores) else 1.0)
    return valid, kept, refused


def _done_text(call: ToolCall, success: list[dict[str, Any]]) -> str:
    # HA lists the area it matched beside the devices: "Closed Living Room Blinds", not
    # "Closed Living Room and Living Room Blinds"; the area alone when it names no device
    entities = [s for s in success if s.get("type") == "entity"]
    named = entities or success
    names = [str(s.get("name") or s.get("id")) for s in named if s.get("name") or s.get("id")]
    joined = _join(names) if names else _target(call.arguments)
    domains = {str(s.get("id", "")).split(".")[0] for s in success if s.get("type") == "entity"}
    template = _DONE.get(call.name, "Done: {names}")
    if len(domains) == 1:
        (domain,) = domains
        if call.name == "HassTurnOn":
            template = _DONE_ON.get(domain, template)
        elif call.name == "HassTurnOff":
            template = _DONE_OFF.get(domain, template)
    return template.format_map(_Fill(call.arguments, names=joined))


class _Fill(dict):
    """Template values from the call's arguments; a missing one reads as "it"."""

    def __init__(self, args: dict[str, Any], **extra: str) -> None:
        super().__init__({k: v for k, v in args.items() if not isinstance(v, list)}, **extra)

    def __missing__(self, key: str) -> str:
        return "it"


def _timer_status(slots: dict[str, Any]) -> str:
    """HassTimerStatus answers with speech slots, not speech."""
    timers = [t for t in slots.get("timers") or [] if isinstance(t, dict)]
    if not timers:
        return "No timers are running"
    parts = []
    for t in timers:
        left = [
            f"{t[k]} {unit}"
            for k, unit in (
                ("rounded_hours_left", "h"),
                ("rounded_minutes_left", "min"),
                ("rounded_seconds_left", "s"),
            )
            if t.get(k)
        ]
        name = f"{t['name']} timer" if t.get("name") else "Timer"
        state = "" if t.get("is_active", True) else " (paused)"
        parts.append(f"{name}: {' '.join(left) or 'almost done'} left{state}")
    return "; ".join(parts)


def _join(items: Sequence[str]) -> str:
    items = list(dict.fromkeys(items))
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _error_reason(call: ToolCall, result: dict[str, Any]) -> str:
    """HA's error for a call in words: MatchFailedError and friends come back as data."""
    kind = str(result.get("error", ""))
    if kind in ("MatchFailedError", "NoStatesMatchedError"):
        text = str(result.get("error_text", ""))
        target = _target(call.arguments)
        one = bool(call.arguments.get("name"))  # else a group: "the lights in the Kitchen"
        if "MatchFailedReason.STATE" in text:
            return f"{target} {'is' if one else 'are'} not in a state that allows this"
        if "MatchFailedReason.FEATURE" in text:
            return f"{target} {'does' if one else 'do'} not support this"
        return f"I could not find {target}"
    if kind in ("Invalid", "MultipleInvalid", "InvalidSlotInfo"):
        return "the values were not valid"
    text = str(result.get("error_text", "")).strip()
    if text and len(text) <= 120:
        return text
    return f"it failed ({kind or 'unknown error'})"


def outcome_from_result(call: ToolCall, result: dict[str, Any]) -> CallOutcome:
    """Read an IntentTool result (``IntentResponse.as_dict()``) or a chat-log error dict."""
    if "error" in result:
        return CallOutcome(call, ok=False, reason=_error_reason(call, result))
    speech = str(((result.get("speech") or {}).get("plain") or {}).get("speech") or "").strip()
    data = result.get("data") or {}
    if result.get("response_type") == "error":
        return CallOutcome(call, ok=False, reason=speech or f"it failed ({data.get('code')})")
    success = [s for s in data.get("success") or [] if isinstance(s, dict)]
    failed = [f for f in data.get("failed") or [] if isinstance(f, dict)]
    if failed and not success:
        names = _join([str(f.get("name") or f.get("id")) for f in failed])
        return CallOutcome(call, ok=False, reason=speech or f"{names} did not respond")
    targets = tuple(
        str(s["id"]) for s in success if s.get("type") == "entity" and isinstance(s.get("id"), str)
    )
    from_ha = bool(speech)
    if not speech and call.name == "HassTimerStatus":
        speech = _timer_status(result.get("speech_slots") or {})
    if not speech:
        speech = _done_text(call, success)
        if failed:
            speech += " but not " + _join([str(f.get("name") or f.get("id")) for f in failed])
    return CallOutcome(call, ok=True, speech=speech, targets=targets, from_ha=from_ha)


async def async_execute(
    chat_log: ChatLog, agent_id: str, calls: Sequence[ToolCall]
) -> list[CallOutcome]:
    """Run checked calls through the chat log's LLM API (HA's checks and traces apply)."""
    from homeassistant.components.conversation import (
        AssistantContent,
        ToolResultContent,
    )
    from homeassistant.helpers import llm

    from .compat import tool_result_data
    from .ha_context import ha_tool_names

    if not calls:
        return []
    ha_names = ha_tool_names(chat_log.llm_api) if chat_log.llm_api is not None else {}
    inputs = [
        llm.ToolInput(tool_name=ha_names.get(c.name, c.name), tool_args=dict(c.arguments))
        for c in calls
    ]
    by_id = {i.id: c for i, c in zip(inputs, calls, strict=True)}
    outcomes: dict[str, CallOutcome] = {}
    content = AssistantContent(agent_id=agent_id, content=None, tool_calls=inputs)
    async for result in chat_log.async_add_assistant_content(content):
        if isinstance(result, ToolResultContent):
            outcomes[result.tool_call_id] = outcome_from_result(
                by_id[result.tool_call_id], tool_result_data(result)
            )
    return [outcomes[i.id] for i in inputs if i.id in outcomes]


def compose_reply(
    outcomes: Sequence[CallOutcome], refusals: Sequence[Refusal], missed: Sequence[str] = ()
) -> Reply:
    """One sentence for the user: what was done, and plainly what was not. ``missed``: the
    commands of a several-command sentence that the model made nothing of (``clauses.py``)."""
    done = [o.speech.rstrip(".") for o in outcomes if o.ok]
    failed = [o for o in outcomes if not o.ok]
    if not outcomes and not refusals:
        return Reply(NOT_UNDERSTOOD)
    parts: list[str] = []
    if done:
        parts.append(_join(done) + ".")
    for o in failed:
        if o.reason.startswith("I could not"):
            parts.append(f"{o.reason}.")
        else:
            verb = _VERB.get(o.call.name, "do that for")
            parts.append(f"I could not {verb} {_target(o.call.arguments)}: {o.reason}.")
    if refusals:
        reasons = _join(list(dict.fromkeys(r.reason for r in refusals)))
        if outcomes:
            parts.append(f"I skipped part of the request: {reasons}.")
        else:
            parts.append(f"Sorry, I could not do that: {reasons}.")
    if missed:
        parts.append(f"I did not understand {_join([f'“{m}”' for m in missed])}.")
    return Reply(" ".join(parts), list(outcomes), list(refusals))
