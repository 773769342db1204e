"""Say what was done in Home Assistant's own words.

HA's built-in agent answers with the response templates of the ``home-assistant-intents``
package ("Turned on the lights", "Position set", "Temperature set to 21 degrees"), chosen by
the sentence template that matched. Needle has no matched template, so the response key is
picked from the call instead (an area call on lights -> ``lights_area``, a scene -> ``scene``,
...). Users hear the same, translated, wording whichever agent acted, and voice satellites
keep their familiar short answers. When the package or a template is missing, the caller keeps
its own sentence.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import TemplateError
from homeassistant.helpers import template

from .engine.schema import ToolCall

_LOGGER = logging.getLogger(__name__)

_FINAL_PUNCTUATION = (".", "!", "?", "…", ":")


# A turn on/off call on devices that were already in the state it asks for changed nothing, and
# the reply must not say it did ("make it a bit dimmer" answered by HassTurnOn on a light that
# was on said "Turned on the light."). Judged from the state *before* the call, so a device that
# reports its new state only after the service call returned is never taken for unchanged. Only
# domains whose on/off (open/closed, locked/unlocked) is a lasting state: a script or a scene
# "turned on" keeps none.
UNCHANGED_INTENTS = frozenset({"HassTurnOn", "HassTurnOff"})
_STEADY_DOMAINS = frozenset(
    {"light", "switch", "fan", "input_boolean", "lock", "cover", "valve", "humidifier", "siren"}
)
_ASKED_STATE = {  # (intent, domain) -> the state the call asks for; default "on" / "off"
    ("HassTurnOn", "cover"): "open",
    ("HassTurnOff", "cover"): "closed",
    ("HassTurnOn", "valve"): "open",
    ("HassTurnOff", "valve"): "closed",
    ("HassTurnOn", "lock"): "locked",
    ("HassTurnOff", "lock"): "unlocked",
}


def unchanged_speech(
    hass: HomeAssistant,
    intent_name: str,
    targets: tuple[str, ...],
    before: dict[str, str],
    language: str,
) -> str | None:
    """'Kitchen Light is already on' when every target already was where the call asks
    (``before``: entity id -> state just before the call); None otherwise. English only:
    other languages keep HA's own words."""
    if intent_name not in UNCHANGED_INTENTS or not targets:
        return None
    if not (language or "en").lower().startswith("en"):
        return None
    names = []
    asked = ""
    for entity_id in targets:
        domain = entity_id.split(".", 1)[0]
        state = hass.states.get(entity_id)
        if domain not in _STEADY_DOMAINS or state is None:
            return None
        wanted = _ASKED_STATE.get(
            (intent_name, domain), "on" if intent_name == "HassTurnOn" else "off"
        )
        if before.get(entity_id) != wanted or asked not in ("", wanted):
            return None
        asked = wanted
        names.append(state.name)
    subject = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{subject} {'is' if len(names) == 1 else 'are'} already {asked}"


def with_final_period(text: str) -> str:
    """Every reply ends as a sentence does. HA's response templates ("Turned on the light")
    have no final period and Needle's own replies do; one rule for both, so that the same
    command answered by HA's sentences or by the model reads the same."""
    stripped = text.rstrip()
    if not stripped or stripped.endswith(_FINAL_PUNCTUATION):
        return stripped
    return stripped + "."


@lru_cache(maxsize=8)
def _responses(language: str) -> dict[str, dict[str, str]]:
    """The intents package's response templates for a language (blocking file read, cached)."""
    try:
        from home_assistant_intents import get_intents
    except ImportError:  # HA always ships it with conversation; be quiet if a build does not
        return {}
    data = get_intents(language) or get_intents(language.split("-")[0]) or {}
    return data.get("responses", {}).get("intents", {})


def load_responses(language: str) -> None:
    """Read the templates now (in the executor), not later on the event loop."""
    _responses(language)


def _values(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if v is not None]


def response_key(call: ToolCall, domains: set[str], keys: set[str]) -> str | None:
    """Which of an intent's responses fits the call (mirrors the intents' sentence metadata)."""
    args = call.arguments
    wanted = set(_values(args.get("domain"))) or domains
    group = "area" in args or "floor" in args
    everything = [v.casefold() for v in _values(args.get("name"))] == ["all"]
    candidates: list[str] = []
    if call.name in ("HassTurnOn", "HassTurnOff"):
        if wanted == {"light"}:
            if everything:
                candidates.append("light_all")
            if "floor" in args:
                candidates.append("lights_floor")
            if group or everything:
                candidates.append("lights_area")
        elif wanted == {"fan"}:
            if everything:
                candidates.append("fan_all")
            if group or everything:
                candidates.append("fans_area")
        elif wanted == {"cover"} and group and "device_class" in args:
            candidates.append("cover_device_class")
        if len(domains) == 1:
            candidates.append(next(iter(domains)))  # cover, lock, valve, scene, script
    elif call.name == "HassLightSet":
        candidates.append("color" if "color" in args else "brightness")
    elif call.name == "HassSetPosition" and group and "device_class" in args:
        candidates.append("cover_device_class")
    elif call.name == "HassListAddItem":
        candidates.append("item_added")
    candidates.append("default")
    found = next((k for k in candidates if k in keys), None)
    if found is None and len(keys) == 1 and call.name not in ("HassTurnOn", "HassTurnOff"):
        found = next(iter(keys))
    return found


def _speech_slots(call: ToolCall) -> dict[str, Any]:
    """Slot values as HA's templates read them: one value per slot, device classes plural for
    a group ("the blinds")."""
    slots: dict[str, Any] = {}
    group = "area" in call.arguments or "floor" in call.arguments
    for key, value in call.arguments.items():
        values = _values(value)
        if not values:
            continue
        text = values[0]
        if key == "device_class":
            text = text.replace("_", " ")
            if group and not text.endswith("s"):
                text += "s"
        slots[key] = text if isinstance(value, list | str) else value
    return slots


def ha_speech(
    hass: HomeAssistant, call: ToolCall, entity_ids: list[str], language: str
) -> str | None:
    """HA's response for a call that succeeded on ``entity_ids``, or None (run in the loop:
    templates read states)."""
    responses = _responses(language).get(call.name) or {}
    states = [s for s in (hass.states.get(e) for e in entity_ids) if s is not None]
    key = response_key(call, {s.domain for s in states}, set(responses))
    if key is None:
        return None
    return render_response(hass, call.name, key, _speech_slots(call), states, [], language)


def render_response(
    hass: HomeAssistant,
    intent_name: str,
    key: str,
    slots: dict[str, Any],
    matched: list[State],
    unmatched: list[State],
    language: str,
) -> str | None:
    """One response template of an intent, rendered as HA's built-in agent renders it: ``state``
    is the first matched (else unmatched) state, ``query`` holds both lists. None when the
    template is missing, fails, or says "None" (a value these states do not have). Run in the
    loop (templates read states) after ``load_responses``."""
    source = (_responses(language).get(intent_name) or {}).get(key)
    if source is None:
        return None
    first = matched[0] if matched else unmatched[0] if unmatched else None
    try:
        text = template.Template(source, hass).async_render(
            {
                "slots": slots,
                "state": template.TemplateState(hass, first) if first is not None else None,
                "query": {
                    "matched": [template.TemplateState(hass, s) for s in matched],
                    "unmatched": [template.TemplateState(hass, s) for s in unmatched],
                },
            },
            parse_result=False,
        )
    except (TemplateError, TypeError, ValueError, KeyError, AttributeError) as err:
        _LOGGER.debug("No HA response for %s (%s): %s", intent_name, key, err)
        return None
    text = " ".join(str(text).split())
    if not text or "None" in text.replace(",", " ").split():
        return None
    return text
