"""Scoring one turn against a case, exactly as ``shared/eval/FORMAT.md`` says. No Home Assistant.

The inputs are what the runner observed: the calls the agent made (intent name and arguments),
the states before and after the turn, the reply, and an exception if there was one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from .suite import Case, Home

# Slots Home Assistant's own agent adds for its matcher's bookkeeping, not the user's request.
INTERNAL_SLOTS = frozenset({"preferred_area_id", "preferred_floor_id"})
# A call that names an entity may leave these out (FORMAT.md), and may give them too.
ENTITY_HINTS = frozenset({"domain", "device_class"})
# The one domain an intent acts on. HA 2026.x's matcher writes it into the call
# (HassLightSet{area, domain: light}), 2025.4's leaves it out: the two calls do the same.
INTENT_DOMAIN = {
    "HassLightSet": "light", "HassClimateSetTemperature": "climate", "HassFanSetSpeed": "fan",
    "HassSetVolume": "media_player", "HassMediaPause": "media_player",
    "HassMediaUnpause": "media_player", "HassMediaNext": "media_player",
    "HassMediaPrevious": "media_player", "HassVacuumStart": "vacuum",
    "HassVacuumReturnToBase": "vacuum",
}  # fmt: skip
# Intents that answer without changing anything: a "sorry" there is not a failed action.
QUERY_INTENTS = frozenset(
    {
        "HassGetState", "HassClimateGetTemperature", "HassGetWeather", "HassGetCurrentDate",
        "HassGetCurrentTime", "HassRespond", "HassNevermind", "HassGetTodoItems",
    }
)  # fmt: skip
# Intents that do nothing at all ("forget it" -> HassNevermind): not a call where a case
# expects none.
NO_OP_INTENTS = frozenset({"HassNevermind", "HassRespond"})
FAILURE_WORDS = ("sorry",)

State = dict[str, Any]  # {"state": str, "attributes": {...}}


@dataclass
class Call:
    name: str
    arguments: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass
class Outcome:
    """What happened in one turn."""

    calls: list[Call]
    before: dict[str, State]
    after: dict[str, State]
    reply: str
    error: str | None = None
    latency_ms: float = 0.0
    # The agent's ConversationResult: a question back keeps the conversation open; the
    # response type ("action_done", "query_answer", "error") tells an answer from a refusal.
    continue_conversation: bool = False
    response_type: str | None = None


@dataclass
class CaseResult:
    id: str
    passed: bool
    reasons: list[str]
    tags: list[str]
    text: str
    reply: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = 0.0
    error: str | None = None
    asked: bool = False  # the agent kept the conversation open (a question back)
    response_type: str | None = None

    @property
    def did_something(self) -> bool:
        return bool(self.calls or self.changes)

    @property
    def wrong_action(self) -> bool:
        """The issue's definition: something ran or changed and the case still failed."""
        return not self.passed and self.did_something

    @property
    def question(self) -> bool:
        """Asked back (``continue_conversation``) without acting."""
        return self.asked and not self.did_something and self.error is None

    @property
    def refusal(self) -> bool:
        """Answered without acting and without asking: "not sure", "I did nothing", "no such
        device" (an error response, or a negated request's plain answer). Counted whether or
        not the case wanted it; a case that expected nothing passes with it."""
        return not self.asked and not self.did_something and self.error is None

    @property
    def kind(self) -> str:
        """One word per case for tables: passed, wrong, question, refusal or failed."""
        if self.passed:
            return "passed"
        if self.wrong_action:
            return "wrong"
        if self.question:
            return "question"
        return "refusal" if self.refusal else "failed"

    def as_dict(self) -> dict[str, Any]:
        """The JSONL row: the fields plus the derived counts."""
        return {**self.__dict__, "wrong_action": self.wrong_action, "question": self.question,
                "refusal": self.refusal}  # fmt: skip


class Names:
    """Canonical names of a home's areas, floors and entities: ids and aliases map to names,
    so that ``area: kitchen_id`` or an entity's alias compares equal to the name a case gives."""

    def __init__(self, home: Home) -> None:
        self.area: dict[str, str] = {}
        self.floor: dict[str, str] = {}
        self.name: dict[str, str] = {}
        for f in home.floors:
            self.floor[f.id.casefold()] = self.floor[f.name.casefold()] = f.name
        for a in home.areas:
            for key in (a.id, a.name, *a.aliases):
                self.area[key.casefold()] = a.name
        for e in home.entities:
            for key in (e.entity_id, e.name, *e.aliases):
                self.name.setdefault(key.casefold(), e.name)

    def canonical(self, slot: str, value: Any) -> Any:
        table = {"area": self.area, "floor": self.floor, "name": self.name}.get(slot)
        if table is not None and isinstance(value, str):
            return table.get(value.strip().casefold(), value)
        return value


def _atoms(value: Any) -> list[Any]:
    """A single value is a list of one; strings compare case-insensitively."""
    values = value if isinstance(value, list | tuple | set) else [value]
    out = []
    for v in values:
        if isinstance(v, str):
            out.append(v.strip().casefold())
        elif isinstance(v, bool) or v is None:
            out.append(v)
        elif isinstance(v, int | float):
            out.append(float(v))
        else:
            out.append(str(v).casefold())
    return out


def _same_atom(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 0.01
    if isinstance(a, float) != isinstance(b, float):  # "50" and 50 are the same number
        try:
            return abs(float(a) - float(b)) <= 0.01
        except (TypeError, ValueError):
            return False
    return a == b


def values_equal(expected: Any, actual: Any) -> bool:
    """Lists compare as sets; a single value as a list of one."""
    exp, act = _atoms(expected), _atoms(actual)
    return all(any(_same_atom(e, a) for a in act) for e in exp) and all(
        any(_same_atom(a, e) for e in exp) for a in act
    )


def call_matches(expected: dict[str, Any], actual: Call, names: Names) -> bool:
    if expected["name"].casefold() != actual.name.casefold():
        return False
    exp_args: dict[str, Any] = expected.get("arguments") or {}
    act_args = {k: v for k, v in actual.arguments.items() if k not in INTERNAL_SLOTS}
    act_args = {k: names.canonical(k, v) for k, v in act_args.items()}
    # HA's intent handlers read name "all" as no name at all ("turn off all the fans in the
    # living room" == area + domain): the two calls do the same, so they compare equal.
    if values_equal("all", act_args.get("name", "all")):
        act_args.pop("name", None)
    exp_args = {k: v for k, v in exp_args.items() if not (k == "name" and values_equal("all", v))}
    names_entity = any(
        k in ("name", "name_any_of") and not values_equal("all", v) for k, v in exp_args.items()
    )
    wanted: set[str] = set()
    for key, value in exp_args.items():
        slot, any_of = (key[: -len("_any_of")], True) if key.endswith("_any_of") else (key, False)
        wanted.add(slot)
        if slot not in act_args:
            if names_entity and slot in ENTITY_HINTS:
                continue
            return False
        got = act_args[slot]
        if any_of:
            options = value if isinstance(value, list) else [value]
            if not any(values_equal(names.canonical(slot, o), got) for o in options):
                return False
        elif not values_equal(
            [names.canonical(slot, v) for v in value] if isinstance(value, list)
            else names.canonical(slot, value),
            got,
        ):  # fmt: skip
            return False
    extra = set(act_args) - wanted
    if names_entity:
        extra -= ENTITY_HINTS
    if "domain" in extra and (implied := INTENT_DOMAIN.get(actual.name)):
        given = act_args["domain"] if isinstance(act_args["domain"], list) else [act_args["domain"]]
        if all(values_equal(implied, d) for d in given):
            extra.discard("domain")
    return not extra


def calls_match(expected: list[dict[str, Any]], actual: list[Call], names: Names) -> bool:
    """Same calls in any order (each expected call matched by exactly one actual call)."""
    if len(expected) != len(actual):
        return False
    if len(actual) > 7:  # factorial guard: fall back to greedy matching
        left = list(actual)
        for exp in expected:
            hit = next((c for c in left if call_matches(exp, c, names)), None)
            if hit is None:
                return False
            left.remove(hit)
        return True
    return any(
        all(call_matches(e, a, names) for e, a in zip(expected, perm, strict=True))
        for perm in itertools.permutations(actual)
    )


def number_close(expected: float, actual: float) -> bool:
    return abs(expected - actual) <= max(abs(expected) * 0.01, 1.0)


def attribute_equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return number_close(float(expected), float(actual))
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(
            attribute_equal(e, a) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.casefold() == actual.casefold()
    return bool(expected == actual)


def expected_parts(spec: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """``{"state": "on", "attributes": {...}}``; other keys are read as attributes too."""
    attrs = dict(spec.get("attributes") or {})
    attrs.update({k: v for k, v in spec.items() if k not in ("state", "attributes")})
    state = spec.get("state")
    return (None if state is None else str(state)), attrs


def diff_states(
    before: dict[str, State], after: dict[str, State], ignore: dict[str, list[str]]
) -> dict[str, Any]:
    """entity id -> what changed ({"state": [old, new], "attr": [old, new], ...})."""
    changes: dict[str, Any] = {}
    for entity_id in sorted(set(before) | set(after)):
        old, new = before.get(entity_id), after.get(entity_id)
        if old is None or new is None:
            changes[entity_id] = {"exists": [old is not None, new is not None]}
            continue
        skip = set(ignore.get(entity_id, []))
        delta: dict[str, Any] = {}
        if old["state"] != new["state"] and "state" not in skip:
            delta["state"] = [old["state"], new["state"]]
        for key in sorted(set(old["attributes"]) | set(new["attributes"])):
            if key in skip:
                continue
            a, b = old["attributes"].get(key), new["attributes"].get(key)
            if a != b:
                delta[key] = [a, b]
        if delta:
            changes[entity_id] = delta
    return changes


def expects_change(case: Case) -> bool:
    if case.get("expect_states"):
        return True
    calls = case.get("expect_calls") or []
    return any(c.get("name") not in QUERY_INTENTS for c in calls)


def score(case: Case, home: Home, outcome: Outcome) -> CaseResult:
    """Check every expectation of FORMAT.md's scoring list; collect every reason it fails."""
    reasons: list[str] = []
    names = Names(home)
    ignore = {k: list(v) for k, v in (case.get("ignore_changes") or {}).items()}
    changes = diff_states(outcome.before, outcome.after, ignore)
    if outcome.error:
        reasons.append(f"exception: {outcome.error}")

    expect_states: dict[str, Any] = case.get("expect_states") or {}
    for entity_id, spec in expect_states.items():
        now = outcome.after.get(entity_id)
        if now is None:
            reasons.append(f"{entity_id} does not exist")
            continue
        want_state, want_attrs = expected_parts(spec)
        if want_state is not None and now["state"].casefold() != want_state.casefold():
            reasons.append(f"{entity_id}: state {now['state']!r}, expected {want_state!r}")
        for key, value in want_attrs.items():
            if key in ignore.get(entity_id, []):
                continue
            got = now["attributes"].get(key)
            if got is None or not attribute_equal(value, got):
                reasons.append(f"{entity_id}: {key} {got!r}, expected {value!r}")
    # A question (every expected call only reads) must leave the home as it was, whatever the
    # case's expect_states says (intents-en's questions give none).
    question = bool(case.get("expect_calls")) and not expects_change(case)
    if expect_states or case.get("expect_no_calls") or question:
        unexpected = sorted(set(changes) - set(expect_states))
        for entity_id in unexpected:
            reasons.append(f"unexpected change of {entity_id}: {changes[entity_id]}")

    if case.get("expect_no_calls"):
        if acting := [c for c in outcome.calls if c.name not in NO_OP_INTENTS]:
            reasons.append("expected no call, got " + _show(acting))
    elif case.get("expect_calls") is not None:
        options = [case.get("expect_calls"), *(case.get("expect_calls_alternatives") or [])]
        if not any(calls_match(opt, outcome.calls, names) for opt in options):
            reasons.append(
                f"calls {_show(outcome.calls)}, expected {_show_expected(options[0])}"
                + (f" (or {len(options) - 1} alternatives)" if len(options) > 1 else "")
            )

    reply = outcome.reply or ""
    expect_reply = case.get("expect_reply") or {}
    folded = reply.casefold()
    if expect_reply.get("contains_any") and not any(
        s.casefold() in folded for s in expect_reply["contains_any"]
    ):
        reasons.append(f"reply {reply!r} contains none of {expect_reply['contains_any']}")
    for s in expect_reply.get("not_contains") or []:
        if s.casefold() in folded:
            reasons.append(f"reply {reply!r} contains {s!r}")
    if expects_change(case) and any(w in folded for w in FAILURE_WORDS):
        reasons.append(f"reply reads as a failure: {reply!r}")

    return CaseResult(
        id=case.id,
        passed=not reasons,
        reasons=reasons,
        tags=case.tags,
        text=case.text,
        reply=reply,
        calls=[c.as_dict() for c in outcome.calls],
        changes=changes,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
        asked=outcome.continue_conversation,
        response_type=outcome.response_type,
    )


def _show(calls: list[Call]) -> str:
    return "[" + ", ".join(f"{c.name}{c.arguments}" for c in calls) + "]"


def _show_expected(calls: list[dict[str, Any]]) -> str:
    return "[" + ", ".join(f"{c['name']}{c.get('arguments') or {}}" for c in calls) + "]"
