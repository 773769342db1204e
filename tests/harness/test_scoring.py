"""FORMAT.md's scoring rules, one at a time (no Home Assistant needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from evalkit.scoring import Call, Names, Outcome, calls_match, score
from evalkit.suite import Case, load_suite

from .conftest import MINI_SUITE


@pytest.fixture(scope="module")
def home():
    return load_suite(MINI_SUITE).homes["homes/flat.yaml"]


def state(value: str, **attrs) -> dict:
    return {"state": value, "attributes": attrs}


BEFORE = {
    "light.living_room_lamp": state("off"),
    "light.kitchen_ceiling": state("on", brightness=255),
    "media_player.tv": state("playing", volume_level=0.3),
}


def outcome(calls=(), after=None, reply="Done", error=None) -> Outcome:
    return Outcome(list(calls), BEFORE, {**BEFORE, **(after or {})}, reply, error)


def case(**raw) -> Case:
    raw = {"id": "t", "home": "homes/flat.yaml", "text": "x", **raw}
    return Case(raw["id"], raw["home"], raw["text"], raw)


def test_calls_any_order_case_insensitive_lists_as_sets(home) -> None:
    names = Names(home)
    expected = [
        {"name": "HassTurnOn", "arguments": {"name": "Living Room Lamp"}},
        {"name": "HassTurnOff", "arguments": {"area": "Kitchen", "domain": ["light", "switch"]}},
    ]
    actual = [
        Call("HassTurnOff", {"area": "kitchen", "domain": ["switch", "light"]}),
        Call("HassTurnOn", {"name": "living room lamp"}),
    ]
    assert calls_match(expected, actual, names)
    assert not calls_match(expected, actual[:1], names)
    assert not calls_match(expected, [*actual, Call("HassTurnOn", {"name": "TV"})], names)


def test_area_ids_aliases_and_entity_aliases_compare_by_name(home) -> None:
    names = Names(home)
    exp = [{"name": "HassTurnOn", "arguments": {"area": "Living Room", "name": "Living Room Lamp"}}]
    assert calls_match(
        exp, [Call("HassTurnOn", {"area": "living_room", "name": "Reading Lamp"})], names
    )
    assert calls_match(
        exp, [Call("HassTurnOn", {"area": "Lounge", "name": "light.living_room_lamp"})], names
    )
    assert not calls_match(
        exp, [Call("HassTurnOn", {"area": "Kitchen", "name": "Living Room Lamp"})], names
    )


def test_numbers_single_values_any_of_and_hints(home) -> None:
    names = Names(home)
    exp = [
        {
            "name": "HassLightSet",
            "arguments": {"name": "Kitchen Ceiling", "domain": ["light"], "brightness": 50},
        }
    ]
    assert calls_match(
        exp, [Call("HassLightSet", {"name": "Kitchen Ceiling", "brightness": 50.004})], names
    )
    assert calls_match(
        exp,
        [Call("HassLightSet", {"name": "Kitchen Ceiling", "brightness": "50", "domain": "light"})],
        names,
    )
    assert not calls_match(
        exp, [Call("HassLightSet", {"name": "Kitchen Ceiling", "brightness": 51})], names
    )
    # without a name the domain is required, and extra slots are wrong
    area = [{"name": "HassTurnOff", "arguments": {"area": "Kitchen", "domain": ["light"]}}]
    assert not calls_match(area, [Call("HassTurnOff", {"area": "Kitchen"})], names)
    assert not calls_match(
        area,
        [Call("HassTurnOff", {"area": "Kitchen", "domain": "light", "floor": "Ground Floor"})],
        names,
    )
    # HA's own bookkeeping slots are ignored
    assert calls_match(
        area,
        [Call("HassTurnOff", {"area": "Kitchen", "domain": "light", "preferred_area_id": "x"})],
        names,
    )
    anyof = [{"name": "HassTurnOn", "arguments": {"name_any_of": ["TV", "Kitchen Fan"]}}]
    assert calls_match(anyof, [Call("HassTurnOn", {"name": "kitchen fan"})], names)
    assert not calls_match(anyof, [Call("HassTurnOn", {"name": "Bedroom Lamp"})], names)


def test_expected_states_with_tolerance_and_unexpected_changes(home) -> None:
    c = case(
        expect_states={"light.living_room_lamp": {"state": "on", "attributes": {"brightness": 128}}}
    )
    ok = outcome(after={"light.living_room_lamp": state("on", brightness=129)})
    assert score(c, home, ok).passed
    off_by_more = outcome(after={"light.living_room_lamp": state("on", brightness=131)})
    assert not score(c, home, off_by_more).passed
    collateral = outcome(after={
        "light.living_room_lamp": state("on", brightness=128),
        "light.kitchen_ceiling": state("off"),
    })  # fmt: skip
    result = score(c, home, collateral)
    assert not result.passed and "unexpected change of light.kitchen_ceiling" in result.reasons[0]
    ignored = case(
        expect_states={"light.living_room_lamp": {"state": "on"}},
        ignore_changes={"media_player.tv": ["volume_level"]},
    )
    assert score(ignored, home, outcome(after={
        "light.living_room_lamp": state("on"), "media_player.tv": state("playing", volume_level=0.9),
    })).passed  # fmt: skip


def test_no_calls_alternatives_reply_and_exceptions(home) -> None:
    negative = case(expect_no_calls=True)
    assert score(negative, home, outcome()).passed
    assert not score(negative, home, outcome([Call("HassTurnOn", {"name": "TV"})])).passed
    # "forget it" answered with HA's do-nothing intent is no call
    assert score(negative, home, outcome([Call("HassNevermind", {})])).passed
    alt = case(
        expect_calls=[{"name": "HassTurnOn", "arguments": {"name": "TV"}}],
        expect_calls_alternatives=[[{"name": "HassMediaUnpause", "arguments": {"name": "TV"}}]],
    )
    assert score(alt, home, outcome([Call("HassMediaUnpause", {"name": "TV"})])).passed
    replies = case(expect_reply={"contains_any": ["turned on", "done"], "not_contains": ["error"]})
    assert score(replies, home, outcome(reply="Done!")).passed
    assert not score(replies, home, outcome(reply="Done, with an error")).passed
    sorry = case(expect_states={"light.living_room_lamp": {"state": "on"}})
    after = {"light.living_room_lamp": state("on")}
    assert not score(sorry, home, outcome(after=after, reply="Sorry, something broke")).passed
    assert not score(negative, home, outcome(error="RuntimeError: boom")).passed


def test_broken_fixtures_are_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "homes").mkdir()
    (tmp_path / "homes" / "good.yaml").write_text((MINI_SUITE / "homes" / "flat.yaml").read_text())
    (tmp_path / "homes" / "bad.yaml").write_text("areas: [unclosed\n")
    (tmp_path / "homes" / "domain.yaml").write_text(
        "entities:\n  - entity_id: toaster.kitchen\n    name: Toaster\n"
    )
    lines = [
        '{"id": "ok", "home": "homes/good.yaml", "text": "turn on the tv", "expect_calls": []}',
        '{"id": "yaml", "home": "homes/bad.yaml", "text": "x"}',
        '{"id": "domain", "home": "homes/domain.yaml", "text": "x"}',
        '{"id": "missing", "home": "homes/nowhere.yaml", "text": "x"}',
        '{"id": "entity", "home": "homes/good.yaml", "text": "x", "expect_states": {"light.nope": {"state": "on"}}}',
        '{"id": "area", "home": "homes/good.yaml", "text": "x", "context_area": "attic"}',
        "{not json",
        '{"id": "ok", "home": "homes/good.yaml", "text": "duplicate"}',
    ]
    (tmp_path / "cases.jsonl").write_text("\n".join(lines) + "\n")
    suite = load_suite(tmp_path)
    assert [c.id for c in suite.cases if c.id not in suite.errors] == ["ok"]
    errors = suite.errors
    assert "not readable YAML" in errors["yaml"]
    assert "unknown domain 'toaster'" in errors["domain"]
    assert "does not exist" in errors["missing"]
    assert "unknown entity 'light.nope'" in errors["entity"]
    assert "attic" in errors["area"]
    assert any("line 7" in k for k in errors) and any("duplicate id" in v for v in errors.values())


def test_name_all_is_the_same_call_as_no_name(home) -> None:
    """HA's intent handler drops name "all"; both spellings do the same and compare equal."""
    names = Names(home)
    exp = [
        {"name": "HassTurnOff", "arguments": {"area": "Kitchen", "domain": ["fan"], "name": "all"}}
    ]
    assert calls_match(exp, [Call("HassTurnOff", {"area": "Kitchen", "domain": ["fan"]})], names)
    assert calls_match(
        exp, [Call("HassTurnOff", {"area": "Kitchen", "domain": "fan", "name": "All"})], names
    )
    assert not calls_match(
        exp, [Call("HassTurnOff", {"area": "Kitchen", "domain": ["light"]})], names
    )
    plain = [{"name": "HassTurnOff", "arguments": {"area": "Kitchen", "domain": ["fan"]}}]
    assert calls_match(
        plain, [Call("HassTurnOff", {"area": "Kitchen", "domain": ["fan"], "name": "all"})], names
    )


def test_the_domain_an_intent_implies_may_be_given(home) -> None:
    """HA 2026.x's matcher writes HassLightSet's only domain into the call; 2025.4's does not."""
    names = Names(home)
    exp = [{"name": "HassLightSet", "arguments": {"area": "Bedroom", "brightness": 50}}]
    given = Call("HassLightSet", {"area": "Bedroom", "brightness": 50.0, "domain": "light"})
    assert calls_match(exp, [given], names)
    assert calls_match(exp, [Call("HassLightSet", {**given.arguments, "domain": ["light"]})], names)
    # another domain, or a domain on an intent that acts on several, is a different call
    assert not calls_match(exp, [Call("HassLightSet", {**given.arguments, "domain": "fan"})], names)
    on = [{"name": "HassTurnOn", "arguments": {"area": "Bedroom"}}]
    assert not calls_match(on, [Call("HassTurnOn", {"area": "Bedroom", "domain": "light"})], names)


def test_a_question_that_changes_the_home_fails(home) -> None:
    """intents-en's questions expect a query call and no states: a change still fails them."""
    ask = case(expect_calls=[{"name": "HassGetState", "arguments": {"name": "TV"}}])
    query = [Call("HassGetState", {"name": "TV"})]
    assert score(ask, home, outcome(query)).passed
    changed = score(ask, home, outcome(query, after={"media_player.tv": state("paused")}))
    assert not changed.passed
    assert any("unexpected change of media_player.tv" in r for r in changed.reasons)
