"""The harness on a real hass: a perfect agent scores 100 %, one that does nothing scores 0 % on
action cases, the devices change state the way HA's own integrations do, and the real Needle
agent runs through it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalkit.report import summary, write_report
from evalkit.runner import BUILTIN, NEEDLE, AgentSpec, async_run_home
from evalkit.scoring import CaseResult
from evalkit.suite import load_suite
from homeassistant.core import HomeAssistant

from .agents import ScriptedAgent, register
from .conftest import MINI_SUITE


async def run(hass: HomeAssistant, agents: list[AgentSpec]) -> dict[str, list[CaseResult]]:
    suite = load_suite(MINI_SUITE)
    assert not suite.errors
    home = suite.homes["homes/flat.yaml"]
    return await async_run_home(hass, home, suite.cases, agents, lambda *_: None)


def oracle_answers() -> dict[str, list[dict]]:
    return {c.text: c.get("expect_calls") or [] for c in load_suite(MINI_SUITE).cases}


async def test_perfect_agent_scores_100_and_idle_agent_0_on_actions(hass: HomeAssistant) -> None:
    perfect = register(hass, ScriptedAgent(hass, oracle_answers()))
    idle = register(hass, ScriptedAgent(hass, {}))
    results = await run(
        hass,
        [AgentSpec("custom", agent_id=perfect, name="perfect"),
         AgentSpec("custom", agent_id=idle, name="idle")],
    )  # fmt: skip
    failed = {r.id: r.reasons for r in results["perfect"] if not r.passed}
    assert not failed, failed
    idle_results = results["idle"]
    actions = [r for r in idle_results if "negative" not in r.tags]
    assert actions and not any(r.passed for r in actions)
    assert all(r.passed for r in idle_results if "negative" in r.tags)
    s = summary("mini", "perfect", results["perfect"])
    assert s == {**s, "cases": 14, "passed": 14, "score": 1.0}


async def test_wrong_device_fails_and_state_resets_between_cases(hass: HomeAssistant) -> None:
    """Acting on the wrong entity fails both on state and on calls; the next case starts from
    the fixture again."""
    answers = oracle_answers()
    answers["turn on the living room lamp"] = [
        {"name": "HassTurnOn", "arguments": {"name": "Bedroom Lamp"}}
    ]
    agent = register(hass, ScriptedAgent(hass, answers))
    results = {r.id: r for r in (await run(hass, [AgentSpec("custom", agent_id=agent)]))["custom"]}
    wrong = results["mini/light-on"]
    assert not wrong.passed
    assert any("light.living_room_lamp: state 'off'" in r for r in wrong.reasons)
    assert any("unexpected change of light.bedroom_lamp" in r for r in wrong.reasons)
    assert results["mini/light-dim"].passed  # the lamp was reset to off before it


async def test_builtin_and_needle_side_by_side(hass: HomeAssistant, tmp_path: Path) -> None:
    """HA's own agent and Needle (the built-in default model, real engine) on the same cases;
    neither may raise, the unexposed heater is never touched, and the report is written."""
    results = await run(hass, [AgentSpec(BUILTIN), AgentSpec(NEEDLE)])
    assert set(results) == {"builtin", "needle"}
    for agent, rs in results.items():
        assert len(rs) == 14
        assert all(r.error is None for r in rs), [(r.id, r.error) for r in rs if r.error]
        assert not any("switch.secret_heater" in r.changes for r in rs), agent
    builtin = {r.id: r for r in results["builtin"]}
    assert builtin["mini/light-on"].passed and builtin["mini/lock"].passed
    summaries = {a: summary("mini", a, rs) for a, rs in results.items()}
    report = write_report(tmp_path, "mini", summaries, results, {}, {"test": True})
    text = report.read_text()
    assert "## Per tag" in text and "needle" in text
    line = json.loads((tmp_path / "results-needle.jsonl").read_text().splitlines()[0])
    assert {"id", "passed", "reasons", "calls", "latency_ms"} <= set(line)


@pytest.mark.parametrize("agent", ["builtin"])
def test_cli_survives_broken_fixtures(
    tmp_path: Path, capsys: pytest.CaptureFixture, agent: str
) -> None:
    """tools/evaluate.py end to end: broken cases are listed and counted, the rest is scored,
    the last line is FORMAT.md's JSON summary."""
    import evaluate  # tools/evaluate.py

    (tmp_path / "homes").mkdir()
    (tmp_path / "homes" / "flat.yaml").write_text((MINI_SUITE / "homes" / "flat.yaml").read_text())
    lines = (MINI_SUITE / "cases.jsonl").read_text().splitlines()[:3]
    lines.append('{"id": "broken", "home": "homes/missing.yaml", "text": "hello"}')
    (tmp_path / "cases.jsonl").write_text("\n".join(lines) + "\n")
    assert evaluate.main([str(tmp_path), "--agent", agent, "--report", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    final = json.loads(out[-1])
    assert final["agent"] == agent and final["cases"] == 4 and final["passed"] <= 3
    assert any(line.startswith("FIXTURE broken") for line in out)
    assert (tmp_path / "r" / "report.md").exists()


RICH_HOME = """name: Rich devices
language: en
areas:
  - id: hall
    name: Hall
entities:
  - entity_id: climate.hall
    name: Hall Thermostat
    area: hall
    state: heat_cool
    attributes:
      hvac_modes: ["off", heat, cool, heat_cool]
      target_temp_high: 24
      target_temp_low: 19
      current_temperature: 21
      fan_modes: [auto, low, high]
      fan_mode: auto
      preset_modes: [home, away, eco]
      preset_mode: home
  - entity_id: vacuum.downstairs_robot
    name: Downstairs Robot
    area: hall
    state: docked
    attributes:
      fan_speed_list: [quiet, standard, turbo]
      fan_speed: standard
      battery_level: 80
"""


def test_cli_rich_devices_and_a_broken_home(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Thermostats with a target range, fan and preset modes and vacuums with fan speeds are
    built with every attribute they declare; a home that cannot be built fails its own cases
    with the reason, and the other homes are still scored."""
    import evaluate  # tools/evaluate.py

    (tmp_path / "homes").mkdir()
    (tmp_path / "homes" / "rich.yaml").write_text(RICH_HOME)
    bad = RICH_HOME.replace('hvac_modes: ["off", heat, cool, heat_cool]', "hvac_modes: [warp]")
    (tmp_path / "homes" / "bad.yaml").write_text(bad)
    cases = [
        {"id": "rich/start", "home": "homes/rich.yaml", "text": "start the downstairs robot",
         "expect_states": {"vacuum.downstairs_robot": {"state": "cleaning"}}},
        {"id": "rich/range", "home": "homes/rich.yaml", "text": "turn off the hall thermostat",
         "expect_states": {"climate.hall": {"state": "off"}}},
        {"id": "bad/start", "home": "homes/bad.yaml", "text": "start the downstairs robot",
         "expect_states": {"vacuum.downstairs_robot": {"state": "cleaning"}}},
    ]  # fmt: skip
    (tmp_path / "cases.jsonl").write_text("\n".join(json.dumps(c) for c in cases) + "\n")
    assert (
        evaluate.main([str(tmp_path), "--agent", "builtin", "--report", str(tmp_path / "r")]) == 0
    )
    out = capsys.readouterr().out.strip().splitlines()
    final = json.loads(out[-1])
    assert final["cases"] == 3
    assert any(line.startswith("FIXTURE home 'homes/bad.yaml' could not be run") for line in out)
    lines = (tmp_path / "r" / "results-builtin.jsonl").read_text().splitlines()
    by_id = {r["id"]: r for r in map(json.loads, lines)}
    assert by_id["bad/start"]["passed"] is False
    assert by_id["rich/start"]["passed"] is True, by_id["rich/start"]
    assert by_id["rich/range"]["passed"] is True, by_id["rich/range"]
