"""Evaluation suites as ``shared/eval/FORMAT.md`` defines them: ``cases.jsonl`` + home fixtures.

Everything here is plain data and validation, no Home Assistant: a broken fixture must be
reported as a clear message per case (and the run go on), never as a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from virtual_home.home import FixtureError, Home, load_home

CASE_KEYS = frozenset(
    {
        "id", "home", "text", "expect_states", "expect_reply", "setup", "context_area",
        "ignore_changes", "expect_calls", "expect_calls_alternatives", "expect_no_calls", "tags",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    id: str
    home: str
    text: str
    raw: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    @property
    def tags(self) -> list[str]:
        return list(self.raw.get("tags") or [])

    @property
    def expects_change(self) -> bool:
        return bool(self.raw.get("expect_states"))


@dataclass
class Suite:
    path: Path
    name: str
    cases: list[Case]
    homes: dict[str, Home]  # by the case's ``home`` key
    errors: dict[str, str]  # case id (or "line N") -> why it cannot run


def check_case(case: Case, home: Home) -> None:
    """Raise FixtureError when the case refers to something its home lacks."""
    known = {e.entity_id for e in home.entities}
    for key in ("expect_states", "setup", "ignore_changes"):
        value = case.get(key) or {}
        if not isinstance(value, dict):
            raise FixtureError(f"{key} must be a mapping of entity ids")
        for entity_id in value:
            if entity_id not in known:
                raise FixtureError(f"{key} names unknown entity {entity_id!r}")
    if case.get("context_area") and case.get("context_area") not in {a.id for a in home.areas}:
        raise FixtureError(f"context_area {case.get('context_area')!r} is not an area of the home")
    for key in ("expect_calls",):
        calls = case.get(key)
        if calls is not None and not _is_call_list(calls):
            raise FixtureError(f"{key} must be a list of {{name, arguments}} objects")
    for alt in case.get("expect_calls_alternatives") or []:
        if not _is_call_list(alt):
            raise FixtureError("expect_calls_alternatives must be a list of call lists")


def _is_call_list(calls: Any) -> bool:
    return isinstance(calls, list) and all(
        isinstance(c, dict) and isinstance(c.get("name"), str)
        and isinstance(c.get("arguments", {}), dict)
        for c in calls
    )  # fmt: skip


def load_suite(path: Path) -> Suite:
    """Read a suite folder. A missing or unreadable ``cases.jsonl`` is fatal (FixtureError);
    a bad line, a bad home or a case that does not fit its home is recorded in ``errors`` and
    the rest of the suite still runs."""
    cases_file = path / "cases.jsonl"
    try:
        lines = cases_file.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise FixtureError(f"{cases_file} cannot be read: {err}") from err
    suite = Suite(path, path.name, [], {}, {})
    bad_homes: dict[str, str] = {}
    ids: set[str] = set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise FixtureError("a case must be a JSON object")
            missing = [k for k in ("id", "home", "text") if not isinstance(raw.get(k), str)]
            if missing:
                raise FixtureError(f"missing or non-string {', '.join(missing)}")
        except (ValueError, FixtureError) as err:
            suite.errors[f"line {n}"] = f"cases.jsonl line {n}: {err}"
            continue
        case = Case(raw["id"], raw["home"], raw["text"], raw)
        if case.id in ids:
            suite.errors[f"line {n}"] = f"cases.jsonl line {n}: duplicate id {case.id!r}"
            continue
        ids.add(case.id)
        suite.cases.append(case)
        unknown = sorted(set(raw) - CASE_KEYS)
        if case.home not in suite.homes and case.home not in bad_homes:
            try:
                suite.homes[case.home] = load_home(path / case.home)
            except FixtureError as err:
                bad_homes[case.home] = str(err)
        if case.home in bad_homes:
            suite.errors[case.id] = bad_homes[case.home]
            continue
        try:
            check_case(case, suite.homes[case.home])
        except FixtureError as err:
            suite.errors[case.id] = f"case {case.id}: {err}"
            continue
        if unknown:  # not fatal: a newer format version may add keys
            print(f"note: case {case.id} has keys this evaluator ignores: {unknown}")
    return suite
