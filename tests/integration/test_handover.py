"""Hand-over: what Needle is not sure of goes to HA's built-in agent or another agent.

The other agent here is a fake one registered the way a config-entry agent registers itself
(``conversation.async_set_agent``); like a real agent it opens the chat log of the conversation
and writes its answer there. What Needle refused for a reason of its own (a negation, a device
of the wrong kind) must never reach it.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal
from unittest.mock import patch

import pytest
from homeassistant import config_entries
from homeassistant.components import conversation
from homeassistant.components.conversation.chat_log import DATA_CHAT_LOGS
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import chat_session, intent
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.needle.const import (
    CONF_HANDOVER,
    CONF_HANDOVER_AGENT,
    CONF_LANGUAGE,
    CONF_LLM_HASS_API,
    CONF_MAX_ENTITIES,
    CONF_PREFER_LOCAL,
)
from custom_components.needle.conversation import handover_wanted
from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.policy import (
    ASK,
    CONFIRM,
    LOW_CONFIDENCE,
    NEGATED,
    NOT_ASKED,
    NOT_SURE,
    NOTHING,
    UNSURE,
    WRONG_DEVICE,
    Decision,
    Held,
    Pending,
)

from .devices import async_setup_home
from .helpers import ScriptedEngine, agent_id, async_setup_needle
from .test_conversation import ask, home_states, speech

UNSURE_SENTENCE = "make the kitchen nice"
KNOWN = "turn on the office light"


def _session(hass: HomeAssistant, user_input: conversation.ConversationInput) -> Any:
    """The conversation's chat session as an agent opens it: HA 2026.x wants the caller's
    context (its user owns the conversation), HA 2025.4 has no such parameter."""
    if "context" in inspect.signature(chat_session.async_get_chat_session).parameters:
        return chat_session.async_get_chat_session(
            hass, user_input.conversation_id, context=user_input.context
        )
    return chat_session.async_get_chat_session(hass, user_input.conversation_id)


class FakeAgent(conversation.AbstractConversationAgent):
    """Answers every sentence with ``reply``, through the chat log like a real agent."""

    def __init__(self, hass: HomeAssistant, reply: str, keep_open: bool = False) -> None:
        self.hass = hass
        self.reply = reply
        self.keep_open = keep_open
        self.inputs: list[conversation.ConversationInput] = []

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        return MATCH_ALL

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        self.inputs.append(user_input)
        with (
            _session(self.hass, user_input) as session,
            conversation.async_get_chat_log(self.hass, session, user_input) as chat_log,
        ):
            chat_log.async_add_assistant_content_without_tools(
                conversation.AssistantContent(agent_id=user_input.agent_id, content=self.reply)
            )
            response = intent.IntentResponse(language=user_input.language)
            response.async_set_speech(self.reply)
            return conversation.ConversationResult(
                response=response,
                conversation_id=chat_log.conversation_id,
                continue_conversation=self.keep_open,
            )


@pytest.fixture
async def home(hass: HomeAssistant) -> dict:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    return await async_setup_home(hass)


@pytest.fixture
def fake(hass: HomeAssistant) -> tuple[FakeAgent, str]:
    """The fake agent and its agent id (its config entry's id)."""
    entry = MockConfigEntry(domain="fake_llm", title="Fake LLM")
    entry.add_to_hass(hass)
    agent = FakeAgent(hass, "The big model did it")
    conversation.async_set_agent(hass, entry, agent)
    return agent, entry.entry_id


def scripted() -> ScriptedEngine:
    """An engine unsure of UNSURE_SENTENCE, sure of KNOWN; other sentences give no call."""
    return ScriptedEngine(
        {
            UNSURE_SENTENCE: [ToolCall("HassTurnOn", {"name": "Kitchen Light"})],
            KNOWN: [ToolCall("HassTurnOn", {"name": "Office Light"})],
            "don't turn on the kitchen light": [ToolCall("HassTurnOn", {"name": "Kitchen Light"})],
            "turn on the kitchen fan": [ToolCall("HassTurnOn", {"name": "Kitchen Light"})],
        },
        confidence={
            UNSURE_SENTENCE: (0.1,),
            KNOWN: (0.99,),
            "don't turn on the kitchen light": (0.1,),
            "turn on the kitchen fan": (0.1,),
        },
    )


def chat_log_content(hass: HomeAssistant, conversation_id: str) -> list[tuple[str, str]]:
    """The stored chat log, read without opening a session (a session would be a new turn)."""
    chat_log = hass.data[DATA_CHAT_LOGS][conversation_id]
    return [(c.role, c.content or "") for c in chat_log.content if c.role != "system"]


async def test_default_is_to_say_not_sure(
    hass: HomeAssistant, home: dict, fake: tuple[FakeAgent, str]
) -> None:
    agent, _ = fake
    entry = await async_setup_needle(hass, scripted())
    before = home_states(hass)
    r = await ask(hass, entry, UNSURE_SENTENCE)
    assert speech(r) == NOT_SURE
    assert agent.inputs == []
    assert home_states(hass) == before


async def test_unsure_sentence_goes_to_another_agent(
    hass: HomeAssistant, home: dict, fake: tuple[FakeAgent, str]
) -> None:
    agent, fake_id = fake
    engine = scripted()
    entry = await async_setup_needle(
        hass, engine, **{CONF_HANDOVER: "agent", CONF_HANDOVER_AGENT: fake_id}
    )
    agent.keep_open = True
    before = home_states(hass)
    r = await ask(hass, entry, UNSURE_SENTENCE, "my-conversation", device_id="satellite-1")
    assert speech(r) == "The big model did it"
    assert r.continue_conversation is True  # the other agent's, passed through
    assert r.conversation_id == "my-conversation"
    assert home_states(hass) == before  # Needle's unsure call did not run
    (seen,) = agent.inputs
    assert (seen.text, seen.conversation_id, seen.device_id, seen.language) == (
        UNSURE_SENTENCE,
        "my-conversation",
        "satellite-1",
        "en",
    )
    assert seen.agent_id == fake_id
    # one user turn, one answer: the other agent's, not also Needle's "not sure"
    assert chat_log_content(hass, "my-conversation") == [
        ("user", UNSURE_SENTENCE),
        ("assistant", "The big model did it"),
    ]
    stats = entry.runtime_data.stats.policy
    assert stats["handover"] == 1 and stats["unsure"] == 1


async def test_follow_up_memory_is_dropped_after_a_hand_over(
    hass: HomeAssistant, home: dict, fake: tuple[FakeAgent, str]
) -> None:
    _, fake_id = fake
    engine = scripted()
    entry = await async_setup_needle(
        hass, engine, **{CONF_HANDOVER: "agent", CONF_HANDOVER_AGENT: fake_id}
    )
    await ask(hass, entry, KNOWN, "c1")
    assert hass.states.get("light.office_light").state == "on"
    await ask(hass, entry, "and the bedroom too", "c1")
    assert f"previous: {KNOWN}" in engine.seen[-1][0]  # Needle's own turn is remembered
    await ask(hass, entry, UNSURE_SENTENCE, "c1")  # handed over
    await ask(hass, entry, "and the bedroom too", "c1")
    assert "previous:" not in engine.seen[-1][0]  # not read against the turn before


async def test_unsure_sentence_goes_to_the_built_in_agent(hass: HomeAssistant, home: dict) -> None:
    entry = await async_setup_needle(hass, scripted(), **{CONF_HANDOVER: "builtin"})
    sentence = "turn on the kitchen light"
    engine = entry.runtime_data.engine
    engine.rules[sentence] = [ToolCall("HassTurnOn", {"name": "Office Light"})]
    engine.confidence[sentence] = (0.1,)  # Needle unsure (and wrong): HA's agent answers
    r = await ask(hass, entry, sentence)
    assert hass.states.get("light.kitchen_light").state == "on"
    assert hass.states.get("light.office_light").state == "off"
    assert r.response.response_type == intent.IntentResponseType.ACTION_DONE
    assert entry.runtime_data.stats.policy["handover"] == 1


async def test_refusals_are_never_handed_over(
    hass: HomeAssistant, home: dict, fake: tuple[FakeAgent, str]
) -> None:
    agent, fake_id = fake
    entry = await async_setup_needle(
        hass, scripted(), **{CONF_HANDOVER: "agent", CONF_HANDOVER_AGENT: fake_id}
    )
    before = home_states(hass)
    r = await ask(hass, entry, "don't turn on the kitchen light")
    assert speech(r) == NEGATED
    r = await ask(hass, entry, "turn on the kitchen fan")  # wrong kind of device, not "unsure"
    assert speech(r) != "The big model did it"
    assert agent.inputs == []
    assert home_states(hass) == before


async def test_missing_agent_falls_back_to_not_sure(hass: HomeAssistant, home: dict) -> None:
    entry = await async_setup_needle(
        hass, scripted(), **{CONF_HANDOVER: "agent", CONF_HANDOVER_AGENT: "conversation.gone"}
    )
    r = await ask(hass, entry, UNSURE_SENTENCE)
    assert speech(r) == NOT_SURE
    assert entry.runtime_data.stats.policy["handover_unavailable"] == 1


async def test_no_hand_over_to_itself(hass: HomeAssistant, home: dict) -> None:
    engine = scripted()
    entry = await async_setup_needle(hass, engine)
    own = {CONF_HANDOVER: "agent", CONF_HANDOVER_AGENT: agent_id(hass, entry)}
    with patch("custom_components.needle.model.load_engine", return_value=engine):
        hass.config_entries.async_update_entry(entry, options={**entry.options, **own})
        await hass.async_block_till_done()  # the update listener reloads the entry
    r = await ask(hass, entry, UNSURE_SENTENCE)
    assert speech(r) == NOT_SURE


def test_which_decisions_are_handed_over() -> None:
    call = ToolCall("HassTurnOn", {"name": "Kitchen Light"})
    low = Held(call, "not sure", LOW_CONFIDENCE, 0.1)
    assert handover_wanted(Decision(NOTHING))
    assert handover_wanted(Decision(UNSURE, held=[low], speech=NOT_SURE))
    pending = Pending("x", (call,), 0, "")
    assert handover_wanted(Decision(CONFIRM, held=[low], pending=pending))
    read = Held(ToolCall("HassGetState", {"name": "Kitchen Light"}), "no question", NOT_ASKED)
    assert handover_wanted(Decision(UNSURE, held=[read], speech=NOT_SURE))  # "order a pizza"
    wrong = Held(call, "wrong device", WRONG_DEVICE)
    assert not handover_wanted(Decision(UNSURE, held=[low, wrong]))
    assert not handover_wanted(Decision(ASK, held=[low], pending=pending))
    assert not handover_wanted(Decision("act", act=[call], held=[low]))


async def test_options_flow_hand_over(hass: HomeAssistant, home: dict, fake: Any) -> None:
    engine = ScriptedEngine()
    entry = await async_setup_needle(hass, engine)
    base = {
        CONF_LLM_HASS_API: "assist",
        CONF_PREFER_LOCAL: False,
        CONF_MAX_ENTITIES: 64,
        CONF_LANGUAGE: "en",
    }
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    with pytest.raises(InvalidData):  # the selector leaves Needle itself out
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {**base, CONF_HANDOVER: "agent", CONF_HANDOVER_AGENT: agent_id(hass, entry)},
        )
    for agent, error in (
        (None, "handover_agent_missing"),
        ("conversation.gone", "handover_agent_invalid"),
    ):
        data = {**base, CONF_HANDOVER: "agent"}
        if agent:
            data[CONF_HANDOVER_AGENT] = agent
        result = await hass.config_entries.options.async_configure(result["flow_id"], data)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_HANDOVER_AGENT: error}
    with patch("custom_components.needle.model.load_engine", return_value=engine):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {**base, CONF_HANDOVER: "agent", CONF_HANDOVER_AGENT: "conversation.home_assistant"},
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_HANDOVER] == "agent"
    assert entry.options[CONF_HANDOVER_AGENT] == "conversation.home_assistant"
    assert entry.state is config_entries.ConfigEntryState.LOADED


def test_hand_over_strings_are_worded() -> None:
    import json
    from pathlib import Path

    root = Path(__file__).parents[2] / "custom_components" / "needle"
    for name in ("strings.json", "translations/en.json"):
        strings = json.loads((root / name).read_text())
        options = strings["options"]
        assert {CONF_HANDOVER, CONF_HANDOVER_AGENT} <= set(options["step"]["init"]["data"])
        assert {"handover_agent_missing", "handover_agent_invalid"} <= set(options["error"])
        assert set(strings["selector"][CONF_HANDOVER]["options"]) == {"ask", "builtin", "agent"}
