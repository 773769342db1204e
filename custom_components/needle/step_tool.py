"""Run a relative request's step in Home Assistant: HA's matching, HA's services, honest words.

``relative.py`` makes a ``NeedleStep`` call (target, quantity, direction, amount); this tool runs
it the way HA's own intent handlers run theirs (``ServiceIntentHandler``): the target is matched
by ``intent.async_match_targets`` among the entities exposed to the assistant (the satellite's
area and floor break ties), so an unexposed entity can never be touched; each matched entity's
step is planned from its current state (``relative.plan``: clamped to its limits) and run as
one of HA's services (``light.turn_on`` with ``brightness_step``, ``climate.set_temperature``,
``media_player.volume_set``, ``cover.set_cover_position``, ...) under the conversation's
context, so HA's service validation applies and the logbook shows who did it. Where HA has
its own relative intent (``HassSetVolumeRelative``, 2026.x), the volume goes through it.

The answer says what changed, per entity, with the new value ("Dimmed Kitchen Light to 50%");
an entity whose value would not move (at its limit, a light that is off made dimmer) is not
called and is reported as not done, with why. The tool is added to a request's API instance
only when a step runs (``conversation.py``); the model is never shown it.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import voluptuous as vol
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent, llm

from .compat import make_tool_result
from .const import DEFAULT_STEP_PERCENT, DOMAIN, STEP_TOOL
from .queries import preferred_slots
from .relative import (
    DEGREES,
    DOWN,
    PERCENT,
    QUANTITIES,
    QUANTITY_DOMAINS,
    REQUIRED_FEATURES,
    UP,
    VOLUME,
    NoStep,
    Step,
    adjective,
    plan,
)

_LOGGER = logging.getLogger(__name__)

INTENT_SET_VOLUME_RELATIVE = "HassSetVolumeRelative"  # HA 2026.x
ASSISTANT = "conversation"  # the exposure list Assist agents use, when the context names none


class StepTool(llm.Tool):
    """``NeedleStep``: one relative request's step on the exposed entities it names."""

    name = STEP_TOOL
    description = "Changes a device's brightness, temperature, volume, position or speed by a step"

    def __init__(self) -> None:
        if hasattr(self, "integration"):  # HA versions that record a tool's integration
            self.integration = DOMAIN
        annotations = getattr(llm, "ToolAnnotations", None)
        if annotations is not None and hasattr(self, "annotations"):
            with contextlib.suppress(TypeError):  # fields differ between releases
                self.annotations = annotations(read_only=False, destructive=False, open_world=False)

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> Any:
        args = dict(tool_input.tool_args)
        quantity, direction = args.get("quantity"), args.get("direction")
        amount, unit = args.get("amount"), args.get("unit")
        if (
            quantity not in QUANTITIES
            or direction not in (UP, DOWN)
            or unit not in (None, PERCENT, DEGREES)
            or (amount is not None and (not isinstance(amount, int | float) or amount < 0))
        ):
            raise intent.IntentHandleError(f"not a step: {args}")
        domains = set(args.get("domain") or ()) or set(QUANTITY_DOMAINS[quantity])
        features = {REQUIRED_FEATURES.get((quantity, d), 0) for d in domains}
        preferred = preferred_slots(hass, llm_context.device_id)
        constraints = intent.MatchTargetsConstraints(
            name=args.get("name"),
            area_name=args.get("area"),
            floor_name=args.get("floor"),
            domains=domains & set(QUANTITY_DOMAINS[quantity]) or domains,
            features=features.pop() if len(features) == 1 else None,
            assistant=llm_context.assistant or ASSISTANT,
        )
        preferences = intent.MatchTargetsPreferences(
            area_id=preferred.get("preferred_area_id"),
            floor_id=preferred.get("preferred_floor_id"),
        )
        match = intent.async_match_targets(hass, constraints, preferences)
        if not match.is_match:
            raise intent.MatchFailedError(
                result=match, constraints=constraints, preferences=preferences
            )
        unit_name = hass.config.units.temperature_unit
        plans = [
            (s, plan(quantity, direction, amount, unit, s.name, s.domain, s.state, s.attributes,
                     unit_name))
            for s in match.states
        ]  # fmt: skip
        changed: list[tuple[State, Step]] = []
        not_done: list[tuple[State, str]] = [(s, p.reason) for s, p in plans if isinstance(p, NoStep)]
        steps = [(s, p) for s, p in plans if isinstance(p, Step)]
        if steps and quantity == VOLUME and _has_intent(hass, INTENT_SET_VOLUME_RELATIVE):
            ran = await self._async_volume_relative(hass, args, llm_context, preferred)
            changed = [(s, p) for s, p in steps if s.entity_id in ran]
            not_done += [(s, f"I could not change {s.name}: it is not playing") for s, p in steps
                         if s.entity_id not in ran]  # fmt: skip
        else:
            for state, step in steps:
                try:
                    await hass.services.async_call(
                        step.domain,
                        step.service,
                        {ATTR_ENTITY_ID: state.entity_id, **step.data},
                        blocking=True,
                        context=llm_context.context,
                    )
                except (HomeAssistantError, vol.Invalid) as err:
                    _LOGGER.debug("Step on %s failed: %s", state.entity_id, err)
                    adj = adjective(quantity, direction)
                    not_done.append((state, f"I could not make {state.name} {adj}: {err}"))
                    continue
                changed.append((state, step))
        return make_tool_result(_result(changed, not_done))

    async def _async_volume_relative(
        self,
        hass: HomeAssistant,
        args: dict[str, Any],
        llm_context: llm.LLMContext,
        preferred: dict[str, str],
    ) -> set[str]:
        """HA's own relative volume intent on the same target; the entities it changed."""
        step = round(float(args.get("amount", DEFAULT_STEP_PERCENT)))
        slots: dict[str, Any] = {
            key: {"value": args[key]} for key in ("name", "area", "floor") if args.get(key)
        }
        slots["volume_step"] = {"value": step if args["direction"] == UP else -step}
        slots.update({key: {"value": value} for key, value in preferred.items()})
        response = await intent.async_handle(
            hass,
            llm_context.platform,
            INTENT_SET_VOLUME_RELATIVE,
            slots,
            None,
            llm_context.context,
            llm_context.language or hass.config.language,
            assistant=llm_context.assistant or ASSISTANT,
            device_id=llm_context.device_id,
        )
        return {s.entity_id for s in response.matched_states or []}


def _has_intent(hass: HomeAssistant, intent_type: str) -> bool:
    return any(h.intent_type == intent_type for h in intent.async_get(hass))


def _result(changed: list[tuple[State, Step]], not_done: list[tuple[State, str]]) -> dict:
    """The tool's answer in the shape of ``IntentResponse.as_dict()`` (what calls.py reads):
    entities that changed are successes, the others failures; the speech says both."""
    done = [step.done for _, step in changed]
    parts = []
    if done:
        parts.append(" and ".join([done[0], *(d[:1].lower() + d[1:] for d in done[1:])]))
    parts += [reason for _, reason in not_done]
    speech = ". ".join(parts)

    def entry(state: State) -> dict[str, str]:
        return {"name": state.name, "type": "entity", "id": state.entity_id}

    return {
        "response_type": "action_done",
        "speech": {"plain": {"speech": speech, "extra_data": None}},
        "data": {
            "targets": [],
            "success": [entry(s) for s, _ in changed],
            "failed": [entry(s) for s, _ in not_done],
        },
    }
