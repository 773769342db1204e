"""Questions about the home as tools: HA's own query intents, run by HA, answered in HA's words.

People ask their home as often as they command it ("is the garage door open?", "how warm is it
in the bedroom?"). HA answers such questions with its query intents (HassGetState,
HassClimateGetTemperature, HassGetWeather, HassGetCurrentTime, HassGetCurrentDate), but its
Assist API leaves them out of the LLM tools (HA 2025.4: ``AssistAPI.IGNORE_INTENTS``; later
versions: allow-lists per integration) and offers ``GetLiveContext`` instead, a YAML dump of the
home that a model of Needle's size cannot read. So Needle builds the tools itself:

- **from HA's registered intent handlers** (``intent.async_get``), as ``llm.IntentTool``: the
  argument names and schema are HA's, converted like every other tool (``tool_schema``);
  a tool whose handler is bound to domains (climate, weather) is offered only when an entity of
  those domains is exposed, HassGetState only when anything is, and none that the API already
  offers (a later HA may offer one itself);
- **added to the request's API instance**, so the chat log runs them like any Assist tool
  (``APIInstance.async_call_tool``: traces, history, errors as data); each runs HA's own
  ``intent.async_handle`` under the conversation assistant, so HA's matching applies and only
  exposed entities can match: nothing unexposed is ever read out;
- **answered with the intents package's response templates** (``speech.render_response``), with
  the matched and unmatched states, as HA's built-in agent says them ("Yes", "No, Back Door is
  not locked", "Kitchen Light and Porch Light", "21 °C", "20 °C and sunny"). HA picks a template
  by the sentence template that matched; Needle has no template, so the form of the question
  in the user's words (yes/no, which, how many, all, any) picks it (``state_response_key``).

Timer status needs nothing here: the Assist API offers HassTimerStatus where the satellite has
timers.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import async_should_expose
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import floor_registry as fr
from homeassistant.helpers import intent, llm

from .compat import make_tool_result
from .const import DOMAIN
from .speech import load_responses, render_response

_LOGGER = logging.getLogger(__name__)

INTENT_GET_STATE = "HassGetState"
INTENT_GET_TEMPERATURE = "HassClimateGetTemperature"
INTENT_GET_WEATHER = "HassGetWeather"
INTENT_GET_TIME = "HassGetCurrentTime"
INTENT_GET_DATE = "HassGetCurrentDate"
# The query intents Needle offers as tools, by HA's intent names (the names the model is
# trained on; a later HA that prefixes its own tool names does not change these).
QUERY_INTENTS: tuple[str, ...] = (
    INTENT_GET_STATE,
    INTENT_GET_TEMPERATURE,
    INTENT_GET_WEATHER,
    INTENT_GET_TIME,
    INTENT_GET_DATE,
)
# Intents that read no entity: offered whatever is exposed (HA's built-in agent answers them too).
_NO_ENTITY_INTENTS = frozenset({INTENT_GET_TIME, INTENT_GET_DATE})

_WORD = re.compile(r"[\w']+", re.UNICODE)
_ALL_WORDS = frozenset({"all", "every", "everything", "everyone", "everybody", "each", "both"})
_ANY_WORDS = frozenset(
    {"any", "anything", "anyone", "anybody", "some", "something", "someone", "somebody"}
)
_WHICH_WORDS = frozenset({"which", "what", "what's", "whats", "who", "who's", "list", "name"})
_WHERE_WORDS = frozenset({"where", "where's", "wheres"})
_TELL_ME = (["tell", "me"], ["show", "me"], ["give", "me"])


def state_response_key(
    args: Mapping[str, Any], text: str, keys: Sequence[str] = (), previous_text: str = ""
) -> str:
    """Which HassGetState response template answers this question (HA's response names).

    HA's built-in agent knows it from the sentence template that matched ("is {name} {state}"
    -> ``one_yesno``, "which {domain} are {state}" -> ``which``). The call alone cannot say
    whether "lights, kitchen, on" asks "which ...", "how many ..." or "are any ...", but the
    user's words can: a named entity with a state is a yes/no question (``one_yesno``), without
    one a state readout (``one``, or ``where`` for a person); a group with a state is ``how_many``
    ("how many ...", "count ..."), ``which`` ("which/what/who ...", "tell me ..."), ``all`` ("are all/every ...", or "are
    the ... locked?"), else ``any`` ("is anything on", "did I leave a window open"); a group
    without a state reads the first state (``default``: "what's the temperature in the kitchen").
    A follow-up without a question word of its own ("and in the bedroom?") asks in the form of
    the previous question.
    """
    has_state = bool(args.get("state"))
    if args.get("name"):
        present = {w.casefold() for w in _WORD.findall(text)}
        if has_state:
            key = "one_yesno"
        elif present & _WHERE_WORDS or "person" in _as_list(args.get("domain")):
            key = "where"
        else:
            key = "one"
    elif not has_state:
        key = "default"
    else:
        key = _group_form(text) or _group_form(previous_text) or "any"
    if keys and key not in keys:
        return "default" if "default" in keys else key
    return key


def _group_form(text: str) -> str | None:
    """The form of a question about a group, when its words say it."""
    words = [w.casefold() for w in _WORD.findall(text)]
    present = set(words)
    counting = "count" in present or "number of" in " ".join(words)
    if ("how" in present and "many" in present) or counting:
        return "how_many"  # "count the lights that are on", "the number of open windows"
    if (words and words[0] in _WHICH_WORDS) or "which" in present or words[:2] in _TELL_ME:
        return "which"  # "tell me every light that's on" lists them, it does not ask "all?"
    if present & _ALL_WORDS:
        return "all"
    if present & _ANY_WORDS:
        return "any"
    if words and words[0] in ("are", "were"):
        return "all"  # "are the doors locked?": every one of them
    if words and words[0] in ("is", "was", "did", "do", "does", "has", "have"):
        return "any"
    return None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _speech_slots(args: Mapping[str, Any]) -> dict[str, Any]:
    """Call arguments as HA's templates read slots: one value each ("on", not ["on"])."""
    slots: dict[str, Any] = {}
    for key, value in args.items():
        values = _as_list(value)
        if values:
            slots[key] = values[0].replace("_", " ") if key == "device_class" else values[0]
    return slots


def _target_words(args: Mapping[str, Any]) -> str:
    """The asked-about target in words, for the answer when HA matched nothing."""
    if name := args.get("name"):
        return str(name)
    what = " and ".join(
        d.replace("_", " ")
        for d in _as_list(args.get("device_class")) or _as_list(args.get("domain"))
    )
    where = args.get("area") or args.get("floor")
    if what and where:
        return f"any {what} in the {where}"
    if where:
        return f"anything in the {where}"
    return f"any {what}" if what else "anything"


def _fallback_speech(intent_type: str, args: Mapping[str, Any], matched: list[State]) -> str:
    """Plain words when a template is missing or cannot be rendered for these states."""
    if not matched:
        return f"I could not find {_target_words(args)}"
    state = matched[0]
    if intent_type == INTENT_GET_TEMPERATURE:
        value = state.attributes.get("current_temperature", state.state)
        unit = state.attributes.get("unit_of_measurement", "degrees")
        return f"{value} {unit}".strip()
    unit = state.attributes.get("unit_of_measurement")
    return f"{state.name} is {state.state}{' ' + unit if unit else ''}"


def answer_speech(
    hass: HomeAssistant,
    intent_type: str,
    args: Mapping[str, Any],
    texts: tuple[str, str],
    response: intent.IntentResponse,
    language: str,
) -> str:
    """HA's words for a query's answer (run in the loop, after ``load_responses``); ``texts``
    are the sentence and the previous turn's sentence."""
    matched = list(response.matched_states or [])
    unmatched = list(response.unmatched_states or [])
    key = "default"
    if intent_type == INTENT_GET_STATE:
        key = state_response_key(args, texts[0], previous_text=texts[1])
    slots = {**_speech_slots(args), **(response.speech_slots or {})}
    if (
        intent_type == INTENT_GET_STATE
        and not matched
        and not unmatched
        and key in ("one", "one_yesno", "where", "default")
    ):
        return _fallback_speech(intent_type, args, [])  # nothing matched: say so, not "No, None"
    spoken = render_response(hass, intent_type, key, slots, matched, unmatched, language)
    if spoken:
        return spoken
    if intent_type in _NO_ENTITY_INTENTS:
        return ""
    return _fallback_speech(intent_type, args, matched or unmatched)


def _json_safe(value: Any) -> Any:
    """Speech slots hold dates and times; tool results are JSON data (traces, history)."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _asks_temperature(slots: dict[str, Any]) -> bool:
    """Slots of a HassGetState that reads a place's temperature sensors and nothing else."""
    value = {k: v.get("value") for k, v in slots.items()}
    return (
        value.get("domain") == ["sensor"]
        and value.get("device_class") == ["temperature"]
        and set(value) <= {"area", "floor", "domain", "device_class"}
    )


def _temperature_sensors(hass: HomeAssistant, slots: dict[str, Any], assistant: str | None) -> bool:
    """Whether the place of these slots has temperature sensors exposed to ``assistant``."""
    constraints = intent.MatchTargetsConstraints(
        area_name=slots.get("area", {}).get("value"),
        floor_name=slots.get("floor", {}).get("value"),
        domains=["sensor"],
        device_classes=["temperature"],
        assistant=assistant,
    )
    return intent.async_match_targets(hass, constraints).is_match


class QueryTool(llm.IntentTool):
    """One of HA's query intents as an LLM tool that answers in HA's words.

    Built with ``llm.IntentTool`` (HA's own slot schema, ``preferred_area_id`` and friends kept
    out of the arguments), named by the intent type. ``async_call`` runs the intent like
    ``IntentTool`` does (``intent.async_handle`` under the request's assistant, so exposure
    applies) but keeps the response object, whose matched and unmatched states the answer needs
    and that ``IntentResponse.as_dict`` leaves out.
    """

    def __init__(
        self, handler: intent.IntentHandler, question: str = "", previous_question: str = ""
    ) -> None:
        super().__init__(handler.intent_type, handler)
        self.intent_type = handler.intent_type
        self.question = question  # the user's words pick the answer's form
        self.previous_question = previous_question  # ... or, in a follow-up, the last turn's
        if hasattr(self, "integration"):  # HA versions that record a tool's integration
            self.integration = DOMAIN
        annotations = getattr(llm, "ToolAnnotations", None)
        if annotations is not None and hasattr(self, "annotations"):
            with contextlib.suppress(TypeError):  # fields differ between releases
                self.annotations = annotations(read_only=True, destructive=False, open_world=False)

    async def async_call(
        self, hass: HomeAssistant, tool_input: llm.ToolInput, llm_context: llm.LLMContext
    ) -> Any:
        slots = {
            key: {"value": value}
            for key, value in tool_input.tool_args.items()
            if value not in (None, "", [])
        }
        if self.extra_slots:
            for key, value in preferred_slots(hass, llm_context.device_id).items():
                if key in self.extra_slots:
                    slots[key] = {"value": value}
        language = llm_context.language or hass.config.language
        handle = {
            "hass": hass,
            "platform": llm_context.platform,
            "text_input": getattr(llm_context, "user_prompt", None) or self.question or None,
            "context": llm_context.context,
            "language": language,
            "assistant": llm_context.assistant,
            "device_id": llm_context.device_id,
        }
        # "How warm is the kitchen?" asks for a place's temperature, which a thermostat or a
        # temperature sensor there gives, and HA has one intent for each. Where the one the
        # model chose finds nothing in that place, the other answers: the kitchen's exposed
        # temperature sensors for HassClimateGetTemperature (whose handler only reads a sensor
        # the area registry names), the living room's thermostat for HassGetState over
        # temperature sensors (checked with HA's matcher first: that handler answers "none"
        # instead of failing, and a read that found nothing is still a read).
        place = {k: v for k, v in slots.items() if k in ("area", "floor")}
        intent_type, fallback = self.intent_type, None
        if place and "name" not in slots:
            if intent_type == INTENT_GET_TEMPERATURE:
                sensors = {"domain": {"value": ["sensor"]}, "device_class": {"value": ["temperature"]}}  # fmt: skip
                fallback = (INTENT_GET_STATE, {**place, **sensors})
            elif (
                intent_type == INTENT_GET_STATE
                and _asks_temperature(slots)
                and not _temperature_sensors(hass, slots, llm_context.assistant)
            ):
                intent_type, fallback = INTENT_GET_TEMPERATURE, (INTENT_GET_STATE, slots)
                slots = place
        try:
            response = await intent.async_handle(intent_type=intent_type, slots=slots, **handle)
            answered_as = intent_type
        except intent.MatchFailedError:
            if fallback is None:
                raise
            answered_as, slots = fallback
            response = await intent.async_handle(intent_type=answered_as, slots=slots, **handle)
            if answered_as != self.intent_type and not response.matched_states:
                raise  # neither intent found anything: HA's no-match, as the model asked it
        if not response.speech and response.response_type != intent.IntentResponseType.ERROR:
            await hass.async_add_executor_job(load_responses, language)  # cached file read
            spoken = answer_speech(
                hass,
                answered_as,
                tool_input.tool_args,
                (self.question, self.previous_question),
                response,
                language,
            )
            if spoken:
                response.async_set_speech(spoken)
        result = response.as_dict()
        result.pop("language", None)
        result.pop("card", None)
        if "speech_slots" in result:
            result["speech_slots"] = _json_safe(result["speech_slots"])
        data = result.setdefault("data", {})
        data["matched_states"] = [s.entity_id for s in response.matched_states or []]
        data["unmatched_states"] = [s.entity_id for s in response.unmatched_states or []]
        return make_tool_result(result)


def preferred_slots(hass: HomeAssistant, device_id: str | None) -> dict[str, str]:
    """The satellite's area and floor, as HA's IntentTool passes them (ties go to them)."""
    if not device_id or (device := dr.async_get(hass).async_get(device_id)) is None:
        return {}
    if not device.area_id or (area := ar.async_get(hass).async_get_area(device.area_id)) is None:
        return {}
    out = {"preferred_area_id": area.id}
    if area.floor_id and (floor := fr.async_get(hass).async_get_floor(area.floor_id)):
        out["preferred_floor_id"] = floor.floor_id
    return out


def _offered_intents(tools: Sequence[llm.Tool]) -> set[str]:
    """Intent types the API already offers, by the tool's intent type or its (prefixed) name."""
    offered = set()
    for tool in tools:
        kind = getattr(tool, "intent_type", None) or getattr(
            getattr(tool, "tool", None), "intent_type", None
        )
        offered.add(str(kind) if kind else tool.name.rsplit("__", 1)[-1])
    return offered


def async_query_tools(
    hass: HomeAssistant,
    api_instance: llm.APIInstance,
    question: str,
    previous_question: str = "",
) -> list[QueryTool]:
    """The query tools for this request (run in the loop: state and registry reads only)."""
    assistant = api_instance.llm_context.assistant or "conversation"
    exposed_domains = {
        s.domain
        for s in hass.states.async_all()
        if async_should_expose(hass, assistant, s.entity_id)
    }
    offered = _offered_intents(api_instance.tools)
    tools: list[QueryTool] = []
    for handler in intent.async_get(hass):
        kind = handler.intent_type
        if kind not in QUERY_INTENTS or kind in offered:
            continue
        if kind not in _NO_ENTITY_INTENTS:
            if not exposed_domains:
                continue
            platforms = getattr(handler, "platforms", None)
            if platforms is not None and not set(platforms) & exposed_domains:
                continue
        tools.append(QueryTool(handler, question, previous_question))
    tools.sort(key=lambda t: QUERY_INTENTS.index(t.intent_type))
    return tools


def add_query_tools(api_instance: llm.APIInstance, tools: Sequence[QueryTool]) -> None:
    """Put the query tools into this request's API instance, so that the chat log runs them
    like every Assist tool. The instance is made per request; a new list leaves HA's alone."""
    if tools:
        api_instance.tools = [*api_instance.tools, *tools]
