"""Training labels: one sentence in one home gets one answer (runs with Home Assistant's hassil)."""

from __future__ import annotations

from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.prompt import AreaInfo, EntityInfo, HomeContext
from training.generate import Generator
from training.sentences import prefer_exact_name


def _home(*lights: str) -> HomeContext:
    entities = tuple(
        EntityInfo(f"light.{n.lower().replace(' ', '_')}", n, "light", area="Kitchen")
        for n in lights
    )
    return HomeContext(entities=entities, areas=(AreaInfo("Kitchen"),), floors=())


AREA_CALL = ToolCall("HassTurnOff", {"area": "Kitchen", "domain": ["light"]})


def test_area_call_stays_without_an_exact_name() -> None:
    home = _home("Kitchen Ceiling", "Kitchen Countertop")
    assert prefer_exact_name("turn off the kitchen lights", AREA_CALL, home) == AREA_CALL


def test_exact_name_wins_and_keeps_other_arguments() -> None:
    home = _home("Kitchen Lights", "Kitchen Countertop")
    call = prefer_exact_name("Turn off the kitchen lights, please", AREA_CALL, home)
    assert call == ToolCall("HassTurnOff", {"name": "Kitchen Lights"})
    dim = ToolCall("HassLightSet", {"area": "Kitchen", "brightness": 40})
    assert prefer_exact_name("kitchen lights to 40%", dim, home) == ToolCall(
        "HassLightSet", {"name": "Kitchen Lights", "brightness": 40}
    )


def test_name_must_be_whole_words_of_the_sentence() -> None:
    home = _home("Kitchen Light")
    assert prefer_exact_name("turn off the kitchen lights", AREA_CALL, home) == AREA_CALL


def test_generated_templates_never_give_one_sentence_two_answers() -> None:
    """ "<area> lights" comes from the area template and, next to a light called "<Area> Lights",
    from the name template too: it must get one label (before the fix it got both)."""
    gen = Generator(None, seed=5)
    home = HomeContext(
        entities=(
            EntityInfo("light.kitchen_lights", "Kitchen Lights", "light", area="Kitchen"),
            EntityInfo("light.kitchen_lamp", "Kitchen Lamp", "light", area="Kitchen"),
        ),
        areas=(AreaInfo("Kitchen"),),
        floors=(),
    )
    labels: dict[str, set[str]] = {}
    for _ in range(600):
        got = gen._template(home, None, "HassTurnOff")
        if got is not None and got[1]:
            labels.setdefault(got[0].casefold(), set()).add(repr(got[1]))
    assert any("kitchen lights" in text for text in labels)
    assert {t: ls for t, ls in labels.items() if len(ls) > 1} == {}
