"""Agents with known behaviour, to test the harness against: one that does exactly what each
case expects, one that does nothing."""

from __future__ import annotations

from typing import Any, Literal

from homeassistant.components import conversation
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from pytest_homeassistant_custom_component.common import MockConfigEntry


class ScriptedAgent(conversation.AbstractConversationAgent):
    """Answers each sentence with the calls of ``answers[sentence]`` through HA's intents."""

    def __init__(self, hass: HomeAssistant, answers: dict[str, list[dict[str, Any]]]) -> None:
        self.hass = hass
        self.answers = answers

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        return MATCH_ALL

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        speech = "OK"
        for call in self.answers.get(user_input.text, []):
            slots = {}
            for key, value in call.get("arguments", {}).items():
                if key.endswith("_any_of"):
                    key, value = key.removesuffix("_any_of"), value[0]
                slots[key] = {"value": value}
            result = await intent.async_handle(
                self.hass,
                "harness_test",
                call["name"],
                slots,
                user_input.text,
                user_input.context,
                language=user_input.language,
                device_id=user_input.device_id,
            )
            speech = result.speech.get("plain", {}).get("speech") or "Done"
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_speech(speech)
        return conversation.ConversationResult(
            response=response, conversation_id=user_input.conversation_id
        )


def register(hass: HomeAssistant, agent: conversation.AbstractConversationAgent) -> str:
    """Register ``agent`` with HA's conversation integration; returns its agent id."""
    entry = MockConfigEntry(domain="harness_test", title="Scripted agent")
    entry.add_to_hass(hass)
    conversation.async_set_agent(hass, entry, agent)
    return entry.entry_id
