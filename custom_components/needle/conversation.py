"""The Needle conversation agent: thin glue between HA's chat log and prompt, engine and calls."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.components import conversation
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .calls import (
    CONTROL_DISABLED,
    NOT_UNDERSTOOD,
    CallOutcome,
    Refusal,
    async_execute,
    compose_reply,
    validate_scored,
)
from .clauses import Clause, plan
from .compat import async_handle_intents_locally, async_provide_llm_data
from .const import (
    CONF_HANDOVER,
    CONF_HANDOVER_AGENT,
    CONF_LANGUAGE,
    CONF_LLM_HASS_API,
    CONF_MAX_ENTITIES,
    CONF_PREFER_LOCAL,
    DEFAULT_HANDOVER,
    DEFAULT_LANGUAGE,
    DEFAULT_MAX_ENTITIES,
    DEFAULT_PREFER_LOCAL,
    DOMAIN,
    GENERATE_TIMEOUT_S,
    HANDOVER_AGENT,
    HANDOVER_BUILTIN,
    LLM_API_ASSIST,
    LLM_API_NONE,
    STEP_TOOL,
    TURN_MEMORY_MAX_CONVERSATIONS,
    TURN_MEMORY_TTL_S,
)
from .engine.schema import ToolCall
from .fit import fit_call, fitted_confidence
from .ha_context import async_device_area, async_home_context, tools_from_assist_api
from .policy import (
    CANCELLED,
    CONFIRM,
    LOW_CONFIDENCE,
    NEGATED_KIND,
    NOT_ASKED,
    NOTHING,
    UNSURE,
    Decision,
    Part,
    PendingQuestions,
    decide_parts,
    decoder_tools,
    log_fields,
    missed_parts,
    resolve,
)
from .prompt import Prompt, Turn, build_prompt
from .queries import add_query_tools, async_query_tools
from .relative import STEP_SCHEMA, rewrite
from .speech import ha_speech, load_responses, unchanged_speech, with_final_period
from .step_tool import StepTool

if TYPE_CHECKING:
    from . import NeedleConfigEntry
    from .engine import NeedleEngine

_LOGGER = logging.getLogger(__name__)

ENGINE_FAILED = "Sorry, the Needle model failed to answer. The log has the details."
ENGINE_TIMEOUT = "Sorry, the Needle model took too long to answer."


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NeedleConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    async_add_entities([NeedleConversationEntity(entry)])


class TurnMemory:
    """The last turn of each conversation, for follow-ups; bounded in size and age."""

    def __init__(
        self, max_items: int = TURN_MEMORY_MAX_CONVERSATIONS, ttl: float = TURN_MEMORY_TTL_S
    ) -> None:
        self._items: OrderedDict[str, tuple[float, Turn]] = OrderedDict()
        self._max = max_items
        self._ttl = ttl

    def get(self, conversation_id: str, now: float | None = None) -> Turn | None:
        now = time.monotonic() if now is None else now
        item = self._items.get(conversation_id)
        if item is None:
            return None
        if now - item[0] > self._ttl:
            del self._items[conversation_id]
            return None
        return item[1]

    def put(self, conversation_id: str, turn: Turn, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._items[conversation_id] = (now, turn)
        self._items.move_to_end(conversation_id)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def forget(self, conversation_id: str) -> None:
        """Drop the conversation's turn: the last exchange was not Needle's (a hand-over)."""
        self._items.pop(conversation_id, None)

    def __len__(self) -> int:
        return len(self._items)


def handover_wanted(decision: Decision) -> bool:
    """Only "not sure" and "nothing understood" go to another agent: no call at all, or every
    held call held for low confidence alone (refused as unsure, or a confirmation to ask) or
    a state read for a sentence that asked nothing ("order a pizza": the model did not
    understand; a larger model may).
    A negated request, a wrong kind of device, a value not said or out of range, an open
    target (a question) or a partial answer is the policy's own refusal and stays Needle's."""
    if decision.act or (decision.pending is not None and decision.kind != CONFIRM):
        return False
    if decision.kind == NOTHING:
        return not decision.held
    return decision.kind in (UNSURE, CONFIRM) and all(
        h.kind in (LOW_CONFIDENCE, NOT_ASKED) for h in decision.held
    )


def _debug_request(stage: str, **fields: object) -> None:
    """One line of the per-request debug log (``logger: logs: custom_components.needle: debug``):
    the prompt (tokens, candidate entities), the model's calls with their confidence, what ran
    and how long each stage took. One helper, so every stage reads alike; nothing is
    formatted unless debug logging is on."""
    if _LOGGER.isEnabledFor(logging.DEBUG):
        _LOGGER.debug("Needle %s: %s", stage, ", ".join(f"{k} {v}" for k, v in fields.items()))


def _calls_text(calls: Sequence[ToolCall], confidence: Sequence[float] = ()) -> str:
    shown = [
        f"{c.name}({', '.join(f'{k}={v!r}' for k, v in c.arguments.items())})"
        + (f" confidence {confidence[i]:.3f}" if i < len(confidence) else "")
        for i, c in enumerate(calls)
    ]
    return "[" + "; ".join(shown) + "]"


@dataclass(frozen=True, slots=True)
class Thought:
    """One clause's prompt and what the model made of it."""

    clause: Clause
    prompt: Prompt
    generation: Any


def _think(
    engine: NeedleEngine,
    text: str,
    home: object,
    tools: list,
    satellite_area: str | None,
    previous: Turn | None,
    max_entities: int,
) -> list[Thought]:
    """Prompt and generation for each command of the sentence (blocking, in the executor: both
    run the tokenizer). A sentence of several commands ("turn on the porch light and lock the
    front door", ``clauses.py``) gets one prompt and decode per command: the model answers
    each alone far better than all together. One command: one prompt, as typed.

    A bundle that says how its model was trained to be prompted (window, candidates) caps the
    user's ``max_entities``: a small model reads a longer prompt than it was trained on badly.
    """
    trained = getattr(engine, "prompt_limits", None) or {}
    limits = {"max_entities": min(max_entities, trained.get("max_entities", max_entities))}
    if "max_encoder_tokens" in trained:
        limits["max_encoder_tokens"] = trained["max_encoder_tokens"]
    clauses = plan(text, home, satellite_area)  # type: ignore[arg-type]
    if len(clauses) > 1:
        _debug_request("clauses", clauses=[(c.text, c.area) for c in clauses])
    thoughts = []
    for clause in clauses:
        started = time.monotonic()
        prompt = build_prompt(
            clause.text,
            home,  # type: ignore[arg-type]
            tools,
            satellite_area=clause.area,
            previous=previous,
            count_tokens=engine.count_tokens,
            **limits,
        )
        # grounding: free-text arguments (list items, timer names) are copied from the clause;
        # a question is answered by reading, and names only what the clause points at
        decode_tools = decoder_tools(prompt.tools, clause.text, home, previous)  # type: ignore[arg-type]
        built = time.monotonic()
        generation = engine.generate(
            prompt.query, prompt.tools, grounding=clause.text, decode_tools=decode_tools
        )
        _debug_request(
            "model",
            prompt_tokens=getattr(generation, "encoder_tokens", "?"),
            candidates=f"{len(prompt.entities)} of {len(getattr(home, 'entities', ()))} exposed",
            names=[e.name for e in prompt.entities],
            tools=[t.name for t in prompt.tools],
            calls=_calls_text(generation.calls, tuple(getattr(generation, "confidence", ()))),
            per_argument=[
                {k or "call": round(p, 3) for k, p in a.items()}
                for a in getattr(generation, "argument_confidence", ())
            ],
            prompt_ms=round((built - started) * 1000, 1),
            engine_ms=round((time.monotonic() - built) * 1000, 1),
        )
        thoughts.append(Thought(clause, prompt, generation))
    return thoughts


class NeedleConversationEntity(conversation.ConversationEntity):
    """Answers a sentence with the calls the Needle model makes."""

    _attr_has_entity_name = True
    _attr_name = None

    def __init__(self, entry: NeedleConfigEntry) -> None:
        self.entry = entry
        self._attr_unique_id = entry.entry_id
        self._attr_device_info = {
            "identifiers": {(DOMAIN, entry.entry_id)},
            "name": entry.title,
            "manufacturer": "Needle",
            "model": "Needle v1",
            "entry_type": "service",  # type: ignore[typeddict-item]
        }
        self._memory = TurnMemory()
        self._questions = PendingQuestions()  # a question asked back, waiting for its answer
        if self._llm_api:
            self._attr_supported_features = conversation.ConversationEntityFeature.CONTROL

    @property
    def _llm_api(self) -> str | None:
        api = self.entry.options.get(CONF_LLM_HASS_API, LLM_API_ASSIST)
        return None if api in (None, LLM_API_NONE) else api

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        language = self.entry.options.get(CONF_LANGUAGE, DEFAULT_LANGUAGE)
        return MATCH_ALL if language == MATCH_ALL else [language]

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        conversation.async_set_agent(self.hass, self.entry, self)

    async def async_will_remove_from_hass(self) -> None:
        conversation.async_unset_agent(self.hass, self.entry)
        await super().async_will_remove_from_hass()

    async def _async_handle_message(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        data = self.entry.runtime_data
        stats = data.stats
        stats.requests += 1
        pending = self._questions.pop(chat_log.conversation_id)

        if self.entry.options.get(CONF_PREFER_LOCAL, DEFAULT_PREFER_LOCAL) and (
            response := await self._async_try_local(user_input, chat_log)
        ):
            stats.local_handled += 1
            speech = response.speech["plain"]["speech"]
            _debug_request("answered by HA's built-in sentences", reply=repr(speech))
            return self._result(chat_log, user_input, response.speech["plain"]["speech"], response)

        if (api := self._llm_api) is None:
            return self._error(chat_log, user_input, CONTROL_DISABLED)
        try:
            await async_provide_llm_data(chat_log, DOMAIN, user_input, api)
        except conversation.ConverseError as err:
            return err.as_conversation_result()
        if chat_log.llm_api is None or data.engine is None:
            return self._error(chat_log, user_input, ENGINE_FAILED)

        # HA's query intents (HassGetState, ...) are no Assist API tools: add them to this
        # request's API instance, so the model sees them and the chat log runs them.
        previous = self._memory.get(chat_log.conversation_id)
        add_query_tools(
            chat_log.llm_api,
            async_query_tools(
                self.hass, chat_log.llm_api, user_input.text, previous.text if previous else ""
            ),
        )
        tools = tools_from_assist_api(chat_log.llm_api)
        home = async_home_context(self.hass)
        satellite_area = async_device_area(self.hass, user_input.device_id)
        max_entities = int(self.entry.options.get(CONF_MAX_ENTITIES, DEFAULT_MAX_ENTITIES))

        if pending is not None:  # this sentence may answer the question asked back
            resolution = resolve(pending, user_input.text, home)
            _LOGGER.debug(
                "Needle question answered: %s",
                "cancelled" if resolution.cancelled else len(resolution.calls) or "not an answer",
            )
            if resolution.cancelled:
                self._count("answer_cancelled")
                return self._result(chat_log, user_input, CANCELLED)
            if resolution.calls:
                self._count("answer_resolved")
                return await self._async_act(chat_log, user_input, list(resolution.calls), [])

        started = time.monotonic()
        try:
            async with asyncio.timeout(GENERATE_TIMEOUT_S):
                thoughts = await self.hass.async_add_executor_job(
                    _think,
                    data.engine,
                    user_input.text,
                    home,
                    tools,
                    satellite_area,
                    previous,
                    max_entities,
                )
        except TimeoutError:
            stats.timeouts += 1
            _LOGGER.error("Needle did not answer within %.0f s", GENERATE_TIMEOUT_S)
            return self._error(chat_log, user_input, ENGINE_TIMEOUT)
        except Exception:
            stats.model_errors += 1
            _LOGGER.exception("Needle failed to answer")
            return self._error(chat_log, user_input, ENGINE_FAILED)
        stats.total_generate_s += time.monotonic() - started

        parts: list[Part] = []
        refused: list[Refusal] = []
        for thought in thoughts:
            clause = thought.clause
            gen = thought.generation
            confidence = tuple(getattr(gen, "confidence", ()))
            by_argument = tuple(getattr(gen, "argument_confidence", ()))
            scored = [
                (
                    confidence[i] if i < len(confidence) else 1.0,
                    by_argument[i] if i < len(by_argument) else {},
                )
                for i in range(len(gen.calls))
            ]
            checked, kept, invalid = validate_scored(gen.calls, scored, thought.prompt.tools)
            refused += invalid
            # a read keeps the filters its device can pass and asks for the state said, a list
            # item all its words; what the sentence decided no longer counts against the model
            valid, scores = [], []
            for call, (score, per_arg) in zip(checked, kept, strict=True):
                fitted, decided = fit_call(call, home, clause.text, clause.area)
                if fitted not in valid:  # two reads can fit to the same one
                    valid.append(fitted)
                    scores.append(fitted_confidence(call, fitted, score, per_arg, decided))
            if valid != checked:
                _debug_request("fitted to the sentence", calls=_calls_text(valid, scores))
            # "make it a bit dimmer": the model's calls (or the previous turn) give the target
            # of a step from the current state; the policy decides on the steps as on any call
            held_before = []
            if (step := rewrite(clause.text, valid, scores, home, previous)) is not None:
                _debug_request(
                    "relative request",
                    model=_calls_text(valid, scores),
                    steps=_calls_text(step.calls, step.confidence),
                    held=[h.reason for h in step.held],
                )
                valid, scores, held_before = step.calls, step.confidence, step.held
            parts.append(Part(clause.text, valid, scores, held_before, clause.area))
        all_tools = [t for thought in thoughts for t in thought.prompt.tools]
        decision = decide_parts(
            user_input.text, parts, [*all_tools, STEP_SCHEMA], home, previous=previous
        )
        scores = [s for p in parts for s in p.confidence]
        _LOGGER.debug("Needle policy: %s", log_fields(decision, scores))
        self._count(decision.kind)
        for held in decision.held:
            self._count(f"held_{held.kind}")
            _LOGGER.debug("Not run (%s, %.3f): %s", held.kind, held.confidence, held.reason)
        if handover_wanted(decision) and (
            result := await self._async_hand_over(user_input, chat_log)
        ):
            return result
        if decision.pending is not None:  # ask back; the answer completes the request
            self._questions.put(chat_log.conversation_id, decision.pending)
            return self._result(chat_log, user_input, decision.speech, keep_open=True)
        if decision.kind == NEGATED_KIND:
            return self._result(chat_log, user_input, decision.speech)
        if decision.speech and not decision.act:
            code = intent.IntentResponseErrorCode.NO_VALID_TARGETS
            return self._error(chat_log, user_input, decision.speech, code=code)
        refused += [Refusal(h.call, h.reason) for h in decision.held]
        missed = missed_parts(parts)
        return await self._async_act(chat_log, user_input, decision.act, refused, missed)

    async def _async_hand_over(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult | None:
        """The sentence to the agent the hand-over option names, through HA's conversation API
        with the same conversation id, context, device and language; its answer is the reply.

        The other agent runs inside this turn, so HA hands it the same chat log (the user's
        sentence is in it once) and it writes its own answer there; Needle adds nothing.
        Needle's follow-up memory of this conversation is dropped: the last exchange was not
        Needle's, and a follow-up must not be read against the turn before it. None (Needle
        says it is not sure, as without the option) when the option is off, the agent is gone
        or is Needle itself, or the agent failed."""
        mode = self.entry.options.get(CONF_HANDOVER, DEFAULT_HANDOVER)
        if mode == HANDOVER_BUILTIN:
            agent_id: str | None = conversation.HOME_ASSISTANT_AGENT
        elif mode == HANDOVER_AGENT:
            agent_id = self.entry.options.get(CONF_HANDOVER_AGENT) or None
        else:
            return None
        if (
            agent_id is None
            or agent_id in (self.entity_id, self.entry.entry_id, user_input.agent_id)
            or conversation.async_get_agent(self.hass, agent_id) is None
        ):
            _LOGGER.warning(
                "Needle hand-over agent %s is not available; not handing over", agent_id
            )
            self._count("handover_unavailable")
            return None
        extra: dict[str, Any] = {}
        if satellite_id := getattr(user_input, "satellite_id", None):  # not in HA 2025.4
            extra["satellite_id"] = satellite_id
        try:
            result = await conversation.async_converse(
                self.hass,
                user_input.text,
                chat_log.conversation_id,
                user_input.context,
                language=user_input.language,
                agent_id=agent_id,
                device_id=user_input.device_id,
                extra_system_prompt=user_input.extra_system_prompt,
                **extra,
            )
        except Exception:  # Needle's own answer whatever went wrong
            _LOGGER.warning("Needle hand-over to %s failed", agent_id, exc_info=True)
            self._count("handover_failed")
            return None
        self._count("handover")
        self._memory.forget(chat_log.conversation_id)
        _debug_request("handed over", agent=agent_id)
        return conversation.ConversationResult(
            response=result.response,
            conversation_id=chat_log.conversation_id,
            continue_conversation=result.continue_conversation,
        )

    def _count(self, kind: str) -> None:
        """A policy counter for diagnostics (kinds only, no names)."""
        counts = self.entry.runtime_data.stats.policy
        counts[kind] = counts.get(kind, 0) + 1

    async def _async_act(
        self,
        chat_log: conversation.ChatLog,
        user_input: conversation.ConversationInput,
        valid: list[ToolCall],
        refused: list[Refusal],
        missed: Sequence[str] = (),
    ) -> conversation.ConversationResult:
        """Run the calls the policy let through and say what was and was not done."""
        stats = self.entry.runtime_data.stats
        for refusal in refused:
            _LOGGER.debug("Refused %s: %s", refusal.call, refusal.reason)
        started = time.monotonic()
        before = {s.entity_id: s.state for s in self.hass.states.async_all()}
        api = chat_log.llm_api
        if (
            api is not None
            and any(c.name == STEP_TOOL for c in valid)
            and not any(t.name == STEP_TOOL for t in api.tools)
        ):  # the step tool runs only steps Needle made; a new list leaves HA's as it is
            api.tools = [*api.tools, StepTool()]
        outcomes = await async_execute(chat_log, user_input.agent_id, valid)
        if len(outcomes) == 1 and not refused:
            outcomes = await self._in_ha_words(outcomes, user_input.language)
        outcomes = [  # say "already on" where a turn on/off changed nothing
            replace(o, speech=said)
            if o.ok
            and (
                said := unchanged_speech(
                    self.hass, o.call.name, o.targets, before, user_input.language
                )
            )
            else o
            for o in outcomes
        ]
        reply = compose_reply(outcomes, refused, missed)
        _debug_request(
            "executed",
            ran=[f"{o.call.name}: {'ok' if o.ok else 'failed: ' + o.reason}" for o in outcomes],
            refused=len(refused),
            execute_ms=round((time.monotonic() - started) * 1000, 1),
            reply=repr(reply.speech),
        )
        stats.calls_refused += len(refused)
        stats.calls_executed += sum(o.ok for o in outcomes)
        stats.calls_failed += sum(not o.ok for o in outcomes)
        if not reply.understood and not refused:
            stats.no_call += 1
        if reply.succeeded:
            self._memory.put(chat_log.conversation_id, Turn(user_input.text, reply.succeeded))
        if not reply.understood:
            return self._error(
                chat_log,
                user_input,
                reply.speech,
                code=intent.IntentResponseErrorCode.NO_INTENT_MATCH,
            )
        return self._result(chat_log, user_input, reply.speech)

    async def _async_try_local(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> intent.IntentResponse | None:
        """HA's built-in sentence matcher first (exact wording only), like the pipeline's
        "prefer handling commands locally"; None when it has no confident answer."""
        agent = conversation.async_get_agent(self.hass, conversation.HOME_ASSISTANT_AGENT)
        try:
            response: intent.IntentResponse | None = await async_handle_intents_locally(
                agent, user_input, chat_log
            )
        except Exception:  # the model is the fallback whatever went wrong
            _LOGGER.debug("Built-in agent failed; asking Needle", exc_info=True)
            return None
        if response is None or not response.speech.get("plain", {}).get("speech"):
            return None
        return response

    def _result(
        self,
        chat_log: conversation.ChatLog,
        user_input: conversation.ConversationInput,
        speech: str,
        response: intent.IntentResponse | None = None,
        keep_open: bool = False,
    ) -> conversation.ConversationResult:
        speech = with_final_period(speech)
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=user_input.agent_id, content=speech)
        )
        if response is None:
            response = intent.IntentResponse(language=user_input.language)
            response.async_set_speech(speech)
        elif "plain" in response.speech:  # HA's own answer: the same final period as ours
            response.speech["plain"]["speech"] = speech
        return conversation.ConversationResult(
            response=response,
            conversation_id=chat_log.conversation_id,
            continue_conversation=keep_open or chat_log.continue_conversation,
        )

    async def _in_ha_words(self, outcomes: list[CallOutcome], language: str) -> list[CallOutcome]:
        """A single successful call gets HA's own response template ("Turned on the lights"),
        as HA's built-in agent would say it; a reply about several calls, or about a call
        that failed, keeps naming each target so that the user hears what was not done."""
        if not any(o.ok and not o.from_ha for o in outcomes):
            return outcomes
        language = language or self.hass.config.language
        await self.hass.async_add_executor_job(load_responses, language)  # file read, cached
        worded = []
        for o in outcomes:
            if o.ok and not o.from_ha:
                speech = ha_speech(self.hass, o.call, list(o.targets), language)
                if speech:
                    o = replace(o, speech=speech)
            worded.append(o)
        return worded

    def _error(
        self,
        chat_log: conversation.ChatLog,
        user_input: conversation.ConversationInput,
        speech: str,
        code: intent.IntentResponseErrorCode = intent.IntentResponseErrorCode.UNKNOWN,
    ) -> conversation.ConversationResult:
        speech = with_final_period(speech)
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(agent_id=user_input.agent_id, content=speech)
        )
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_error(code, speech)
        return conversation.ConversationResult(
            response=response, conversation_id=chat_log.conversation_id
        )


__all__ = ["NOT_UNDERSTOOD", "NeedleConversationEntity", "TurnMemory"]
