"""Wrong actions, refusals and questions asked: how a case is classified, the counts in the
summary and the table, the failure list in report.md, and that the runner records a question
back (``continue_conversation``) and the response type from a real hass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from evalkit.report import failure_lines, side_by_side, summary, write_report
from evalkit.runner import AgentSpec, async_run_home
from evalkit.scoring import Call, CaseResult, Outcome, score
from evalkit.suite import Case, load_suite
from homeassistant.components import conversation
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent

from .agents import ScriptedAgent, register
from .conftest import MINI_SUITE

LAMP_ON = {"light.living_room_lamp": {"state": "on", "attributes": {}}}
LAMP_OFF = {"light.living_room_lamp": {"state": "off", "attributes": {}}}


def result(passed: bool = False, calls=(), changes=None, asked=False, error=None) -> CaseResult:
    return CaseResult(
        "t", passed, [] if passed else ["r"], [], "x",
        calls=[{"name": n, "arguments": {}} for n in calls], changes=changes or {},
        asked=asked, error=error,
    )  # fmt: skip


def test_kinds() -> None:
    assert result(passed=True).kind == "passed"
    assert result(calls=["HassTurnOn"]).wrong_action
    assert result(changes={"light.x": {"state": ["off", "on"]}}).kind == "wrong"
    # A question that also acted is a wrong action, not a question.
    acted_and_asked = result(calls=["HassTurnOn"], asked=True)
    assert acted_and_asked.kind == "wrong" and not acted_and_asked.question
    assert result(asked=True).kind == "question" and not result(asked=True).refusal
    assert result().kind == "refusal"
    assert result(error="boom").kind == "failed"  # an exception is neither
    # A passed case counts as a refusal when nothing was done (a negative case), never wrong.
    ok_nothing = result(passed=True)
    assert ok_nothing.refusal and not ok_nothing.wrong_action
    assert not result(passed=True, calls=["HassTurnOn"]).wrong_action


def test_score_carries_question_and_response_type() -> None:
    home = load_suite(MINI_SUITE).homes["homes/flat.yaml"]
    raw = {"id": "t", "home": "homes/flat.yaml", "text": "x",
           "expect_states": {"light.living_room_lamp": {"state": "on"}}}  # fmt: skip
    case = Case("t", "homes/flat.yaml", "x", raw)
    asked = score(case, home, Outcome([], LAMP_OFF, LAMP_OFF, "Which one?", None, 1.0, True,
                                      "action_done"))  # fmt: skip
    assert asked.asked and asked.question and asked.response_type == "action_done"
    acted = score(case, home, Outcome([Call("HassTurnOn", {"name": "Bedroom Lamp"})], LAMP_OFF,
                                      LAMP_OFF, "Done"))  # fmt: skip
    assert acted.wrong_action and not acted.asked


def test_summary_table_and_report(tmp_path: Path) -> None:
    rs = [
        result(passed=True, calls=["HassTurnOn"]),
        result(calls=["HassTurnOff"], changes={"light.x": {"state": ["on", "off"]}}),
        result(asked=True),
        result(),
        result(),
    ]
    s = summary("suite", "needle", rs)
    assert (s["passed"], s["wrong_actions"], s["refusals"], s["questions"]) == (1, 1, 2, 1)
    assert s["wrong_action_rate"] == 0.2 and s["refusal_rate"] == 0.4
    table = side_by_side({"needle": s}, {"needle": rs})
    head, row = table.splitlines()[:2]
    assert "wrong" in head and "refused" in head and "asked" in head
    assert "1  20.0%" in row and "2  40.0%" in row
    write_report(tmp_path, "suite", {"needle": s}, {"needle": rs}, {}, {})
    saved = json.loads((tmp_path / "summary.json").read_text())["summaries"]["needle"]
    assert saved["wrong_actions"] == 1 and saved["questions"] == 1
    row = json.loads((tmp_path / "results-needle.jsonl").read_text().splitlines()[1])
    assert row["wrong_action"] is True and row["refusal"] is False
    md = (tmp_path / "report.md").read_text()
    assert "light.x: state 'on' -> 'off'" in md and "HassTurnOff()" in md


def test_failure_lines_show_calls_changes_and_reply() -> None:
    r = CaseResult(
        "c1", False, ["light.a: state 'off', expected 'on'"], [], "turn on a",
        reply="Turned on the fan", calls=[{"name": "HassTurnOn", "arguments": {"name": "Fan"}}],
        changes={"fan.f": {"state": ["off", "on"]}}, response_type="action_done",
    )  # fmt: skip
    text = "\n".join(failure_lines(r))
    assert "[wrong]" in text and "HassTurnOn(name='Fan')" in text
    assert "fan.f: state 'off' -> 'on'" in text and "Turned on the fan" in text
    nothing = "\n".join(failure_lines(result(asked=True)))
    assert "calls: none" in nothing and "changes: none" in nothing and "asks back" in nothing


class AskingAgent(conversation.AbstractConversationAgent):
    """Asks back on every sentence: changes nothing, keeps the conversation open."""

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        return MATCH_ALL

    async def async_process(
        self, user_input: conversation.ConversationInput
    ) -> conversation.ConversationResult:
        response = intent.IntentResponse(language=user_input.language)
        response.async_set_speech("Which one do you mean?")
        return conversation.ConversationResult(
            response=response,
            conversation_id=user_input.conversation_id,
            continue_conversation=True,
        )


async def test_runner_records_questions_and_refusals(hass: HomeAssistant) -> None:
    suite = load_suite(MINI_SUITE)
    home = suite.homes["homes/flat.yaml"]
    asking = register(hass, AskingAgent())
    idle = register(hass, ScriptedAgent(hass, {}))
    results = await async_run_home(
        hass, home, suite.cases,
        [AgentSpec("custom", agent_id=asking, name="asking"),
         AgentSpec("custom", agent_id=idle, name="idle")],
        lambda *_: None,
    )  # fmt: skip
    asked = results["asking"]
    assert all(r.asked and r.question and not r.wrong_action for r in asked)
    assert all(r.response_type == "action_done" for r in asked)
    assert summary("mini", "asking", asked)["questions"] == 14
    idle_s = summary("mini", "idle", results["idle"])
    assert (idle_s["refusals"], idle_s["questions"], idle_s["wrong_actions"]) == (14, 0, 0)
