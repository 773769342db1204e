"""calls.py on its own: validation, result reading, reply wording."""

from __future__ import annotations

from custom_components.needle.calls import (
    NOT_UNDERSTOOD,
    CallOutcome,
    Refusal,
    compose_reply,
    outcome_from_result,
    validate_call,
    validate_calls,
)
from custom_components.needle.engine.schema import ToolCall, ToolParam, ToolSchema

TOOLS = (
    ToolSchema(
        "HassTurnOn",
        "",
        (
            ToolParam("name", enum=("Kitchen Light", "Front Door")),
            ToolParam("area", enum=("Kitchen",)),
            ToolParam("domain", "array", enum=("light", "lock")),
        ),
    ),
    ToolSchema(
        "HassLightSet",
        "",
        (
            ToolParam("name", enum=("Kitchen Light",)),
            ToolParam("brightness", "integer", minimum=0, maximum=100),
        ),
    ),
    ToolSchema(
        "HassListAddItem",
        "",
        (ToolParam("item", required=True), ToolParam("name", required=True, enum=("Shopping",))),
    ),
    ToolSchema("HassTimerStatus", "", ()),
)


def test_values_normalised():
    call = ToolCall("HassTurnOn", {"name": "kitchen light", "domain": "light", "area": ""})
    assert validate_call(call, TOOLS) == ToolCall(
        "HassTurnOn", {"name": "Kitchen Light", "domain": ["light"]}
    )
    call = ToolCall("HassLightSet", {"name": "Kitchen Light", "brightness": "40%"})
    assert validate_call(call, TOOLS) == ToolCall(
        "HassLightSet", {"name": "Kitchen Light", "brightness": 40}
    )


def test_refusals():
    for call, reason in [
        (ToolCall("HassTurnOn", {"name": "Hidden"}), "I don't know 'Hidden'"),
        (ToolCall("HassTurnOn", {"domain": ["light", "vacuum"]}), "I don't know 'vacuum'"),
        (ToolCall("HassLightSet", {"brightness": 101}), "brightness 101 is out of range"),
        (ToolCall("HassLightSet", {"brightness": True}), "True is not a number"),
        (ToolCall("HassLightSet", {"brightness": float("nan")}), "nan is not a number"),
        (ToolCall("HassTurnOn", {"name": {"x": 1}}), "is not text"),
        (ToolCall("HassListAddItem", {"item": "milk"}), "HassListAddItem needs name"),
        (ToolCall("HassNope", {}), "there is no tool 'HassNope'"),
    ]:
        result = validate_call(call, TOOLS)
        assert isinstance(result, Refusal), call
        assert reason in result.reason


def test_duplicates_run_once():
    call = ToolCall("HassTurnOn", {"name": "Kitchen Light"})
    valid, refused = validate_calls([call, call], TOOLS)
    assert valid == [call] and refused == []


def _result(success=(), failed=(), speech="", response_type="action_done"):
    return {
        "speech": {"plain": {"speech": speech}} if speech else {},
        "response_type": response_type,
        "data": {"targets": [], "success": list(success), "failed": list(failed)},
    }


def test_outcome_wording():
    lock = ToolCall("HassTurnOff", {"name": "Front Door"})
    out = outcome_from_result(
        lock, _result([{"name": "Front Door", "type": "entity", "id": "lock.front_door"}])
    )
    assert out == CallOutcome(
        lock, ok=True, speech="Unlocked Front Door", targets=("lock.front_door",)
    )
    blinds = ToolCall("HassTurnOff", {"area": "Living Room", "domain": ["cover"]})
    area = {"name": "Living Room", "type": "area", "id": "living_room"}
    entity = {"name": "Living Room Blinds", "type": "entity", "id": "cover.living_room_blinds"}
    out = outcome_from_result(blinds, _result([area, entity]))
    assert out.speech == "Closed Living Room Blinds"  # the devices, not the area beside them
    assert outcome_from_result(blinds, _result([area])).speech.endswith("Living Room")
    add = ToolCall("HassListAddItem", {"item": "milk", "name": "Shopping"})
    out = outcome_from_result(
        add, _result([{"name": "Shopping", "type": "entity", "id": "todo.shopping"}])
    )
    assert out.speech == "Added milk to Shopping"
    # HA's own speech wins
    out = outcome_from_result(add, _result(speech="Added milk"))
    assert out.speech == "Added milk" and out.from_ha
    status = ToolCall("HassTimerStatus", {})
    res = _result(response_type="query_answer")
    res["speech_slots"] = {
        "timers": [{"name": "pasta", "rounded_minutes_left": 5, "is_active": True}]
    }
    assert outcome_from_result(status, res).speech == "pasta timer: 5 min left"
    on = ToolCall("HassTurnOn", {"area": "Kitchen", "domain": ["light"]})
    out = outcome_from_result(
        on,
        {
            "error": "MatchFailedError",
            "error_text": "MatchFailedError(... MatchFailedReason.AREA ...)",
        },
    )
    assert not out.ok and out.reason == "I could not find the lights in the Kitchen"
    out = outcome_from_result(on, _result(failed=[{"name": "Kitchen Light", "id": "light.k"}]))
    assert not out.ok and out.reason == "Kitchen Light did not respond"


def test_reply_never_hides_failures():
    ok = CallOutcome(
        ToolCall("HassTurnOn", {"name": "Kitchen Light"}), ok=True, speech="Turned on Kitchen Light"
    )
    bad = CallOutcome(
        ToolCall("HassLightSet", {"name": "Kitchen Light"}), ok=False, reason="it failed (x)"
    )
    refused = Refusal(ToolCall("HassTurnOn", {"name": "Hidden"}), "I don't know 'Hidden'")
    reply = compose_reply([ok, bad], [refused])
    assert reply.speech == (
        "Turned on Kitchen Light. I could not set Kitchen Light: it failed (x). "
        "I skipped part of the request: I don't know 'Hidden'."
    )
    assert reply.succeeded == (ok.call,)
    assert compose_reply([], []).speech == NOT_UNDERSTOOD
    assert (
        compose_reply([], [refused]).speech == "Sorry, I could not do that: I don't know 'Hidden'."
    )
