"""Our own suites eval/trust-en (issue 12) and eval/homes-en (issue 13) load in the harness
without a fixture error, every entity, area and list a case names exists in its home, and
each home is big and varied enough for what the suite claims. The suites are written by
eval/own_suites.py: the files committed must be what it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from evalkit.scoring import Names
from evalkit.suite import load_suite

ROOT = Path(__file__).resolve().parents[2]
SUITES = {"trust-en": (80, 120), "homes-en": (100, 150)}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_suite_loads_and_names_exist(name: str) -> None:
    suite = load_suite(ROOT / "eval" / name)
    assert not suite.errors, suite.errors
    low, high = SUITES[name]
    assert low <= len(suite.cases) <= high
    assert len(suite.homes) >= 3
    for case in suite.cases:
        home = suite.homes[case.home]
        names = Names(home)
        ids = {e.entity_id for e in home.entities}
        assert case.get("expect_states") or case.get("expect_no_calls"), case.id
        for entity_id in case.get("expect_states") or {}:
            assert entity_id in ids, (case.id, entity_id)
        for call in case.get("expect_calls") or []:
            args = call.get("arguments") or {}
            if "name" in args:  # the list (or device) the call names is in the home
                assert args["name"].casefold() in names.name, (case.id, args["name"])
        if case.get("expect_no_calls"):
            assert not case.get("expect_states"), case.id  # a refusal's "sorry" is right


def test_trust_suite_has_every_kind_of_case() -> None:
    tags: dict[str, int] = {}
    for case in load_suite(ROOT / "eval" / "trust-en").cases:
        for tag in case.tags:
            tags[tag] = tags.get(tag, 0) + 1
    for tag in ("negation", "missing_target", "lacks", "invalid_value", "multi", "todo", "context"):
        assert tags.get(tag, 0) >= 5, (tag, tags)
    lists = [e for h in load_suite(ROOT / "eval" / "trust-en").homes.values()
             for e in h.entities if e.domain == "todo"]  # fmt: skip
    assert len(lists) >= 6 and not any(e.name == "Shopping List" for e in lists)


def test_homes_suite_has_a_large_home() -> None:
    suite = load_suite(ROOT / "eval" / "homes-en")
    assert max(len(h.entities) for h in suite.homes.values()) >= 100
    questions = [c for c in suite.cases if "question" in c.tags]
    assert 10 <= len(questions) < len(suite.cases) // 3


def test_committed_suites_are_what_the_script_writes(tmp_path: Path) -> None:
    script = (ROOT / "eval" / "own_suites.py").read_text()
    copy = tmp_path / "own_suites.py"
    copy.write_text(script)
    subprocess.run([sys.executable, str(copy)], check=True, capture_output=True)
    for name in SUITES:
        got = (tmp_path / name / "cases.jsonl").read_text().splitlines()
        want = (ROOT / "eval" / name / "cases.jsonl").read_text().splitlines()
        assert [json.loads(x) for x in got] == [json.loads(x) for x in want], name
        for home in (ROOT / "eval" / name / "homes").iterdir():
            assert (tmp_path / name / "homes" / home.name).read_text() == home.read_text()
