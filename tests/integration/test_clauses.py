"""Several actions in one sentence (issue 12/13): the clause grammar, and the policy checking
each call against its own clause (no HA needed)."""

from __future__ import annotations

import pytest

from custom_components.needle.clauses import COMMAND_VERBS, MAX_CLAUSES, Clause, plan, split
from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.policy import (
    ACT,
    NEGATED_KIND,
    OUT_OF_RANGE,
    UNGROUNDED,
    WRONG_DEVICE,
    Part,
    decide,
    decide_parts,
)
from custom_components.needle.prompt import AreaInfo, EntityInfo, FloorInfo, HomeContext

from .test_policy import TOOLS, on  # the same tool schemas and call helper as the policy's tests

HOME = HomeContext(
    entities=(
        EntityInfo("light.desk_lamp", "Desk Lamp", "light", area="Study"),
        EntityInfo("light.hall_spots", "Hall Spots", "light", area="Hall"),
        EntityInfo("cover.study_shutter", "Study Shutter", "cover", area="Study"),
        EntityInfo("cover.hall_shutter", "Hall Shutter", "cover", area="Hall"),
        EntityInfo("lock.side_gate", "Side Gate Lock", "lock", area="Garden"),
        EntityInfo("media_player.radio", "Rock and Roll Radio", "media_player", area="Study"),
        EntityInfo("fan.study_fan", "Study Fan", "fan", area="Study"),
    ),
    areas=(AreaInfo("Study"), AreaInfo("Hall"), AreaInfo("Garden"), AreaInfo("Games Room")),
    floors=(FloorInfo("Loft"),),
)


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("switch on the desk lamp and lock the side gate",
         ["switch on the desk lamp", "lock the side gate"]),
        ("open the study shutter, then dim the hall spots",
         ["open the study shutter", "dim the hall spots"]),
        ("pause the radio and then turn off the study fan",
         ["pause the radio", "turn off the study fan"]),
        ("lower the hall shutter, mute the radio and unlock the side gate",
         ["lower the hall shutter", "mute the radio", "unlock the side gate"]),
        ("raise the study shutter; start the vacuum",
         ["raise the study shutter", "start the vacuum"]),
        ("turn the fan off after that close the shutter",
         ["turn the fan off", "close the shutter"]),
        ("set the heating to 19 also play some jazz",
         ["set the heating to 19", "play some jazz"]),
        ("add bread to the groceries and set a timer for ten minutes",
         ["add bread to the groceries", "set a timer for ten minutes"]),
        ("could you brighten the desk lamp and please shut the hall shutter",
         ["could you brighten the desk lamp", "please shut the hall shutter"]),
        ("switch off the radio, and could you activate the movie scene",
         ["switch off the radio", "could you activate the movie scene"]),
        ("Resume the radio. Then lock the side gate.",
         ["Resume the radio", "lock the side gate."]),
        ("set the heating to 20.5 and close the shutter",
         ["set the heating to 20.5", "close the shutter"]),
        ("turn on the desk lamp and don't open the shutter",
         ["turn on the desk lamp", "don't open the shutter"]),
        ("close the shutter and do not unlock the side gate",
         ["close the shutter", "do not unlock the side gate"]),
    ],
)  # fmt: skip
def test_several_commands_are_cut_into_clauses(text: str, clauses: list[str]) -> None:
    assert split(text) == clauses


@pytest.mark.parametrize(
    "text",
    [
        "turn on the lights and fans in the kitchen",
        "turn off the lounge lights but leave the lamp on",
        "turn off everything except the desk lamp",
        "close all the shutters apart from the study one",
        "turn on the study, hall and garden lights",
        "add milk, eggs and butter to the shopping list",
        "switch on the lamp and lock",  # a verb with nothing after it is no command
        "turn off the tv and vacuum",  # "vacuum" is a device as often as a verb
        "if the shutter is open, close it",  # a condition is no command
        "the desk lamp, turn it off",
        "when it gets dark, switch on the hall spots",
        "play songs by simon and garfunkel",
        "turn on the light and then off again",
        "set the desk lamp to warm white and bright",
        "lock the side gate",
        "",
    ],
)
def test_one_command_stays_one(text: str) -> None:
    assert split(text) == [text]


def test_a_negation_governs_what_follows_it() -> None:
    # "don't X and Y" may mean neither: the whole sentence stays one (negated) clause
    assert split("don't open the shutter and lock the gate") == [
        "don't open the shutter and lock the gate"
    ]
    assert split("never unlock the gate, then switch on the lamp") == [
        "never unlock the gate, then switch on the lamp"
    ]
    # after a negated clause nothing more is cut off: it is refused with what follows
    assert split("turn on the lamp, don't open the shutter and lock the gate") == [
        "turn on the lamp",
        "don't open the shutter and lock the gate",
    ]


def test_at_most_max_clauses() -> None:
    text = "open the shutter, dim the lamp, lock the gate, mute the radio and stop the fan"
    got = split(text)
    assert len(got) == MAX_CLAUSES == 4
    assert got == ["open the shutter", "dim the lamp", "lock the gate", "mute the radio and stop the fan"]


def test_never_cut_inside_a_name() -> None:
    text = "turn on the rock and roll radio"
    assert split(text, ["Rock and Roll Radio"]) == [text]
    assert [c.text for c in plan("turn on the Rock and Roll Radio", HOME)] == [
        "turn on the Rock and Roll Radio"
    ]
    assert [c.text for c in plan("pause the rock and roll radio and lock the gate", HOME)] == [
        "pause the rock and roll radio",
        "lock the gate",
    ]


def test_verbs_are_commands_not_devices() -> None:
    # words that are devices as often as verbs would cut "turn off the tv and vacuum"
    assert not COMMAND_VERBS & {"vacuum", "light", "fan", "water", "heater", "tv"}


def test_one_clause_is_the_sentence_with_the_satellite_area() -> None:
    assert plan("turn on the desk lamp", HOME, "Hall") == (Clause("turn on the desk lamp", "Hall"),)
    assert plan("turn on the lights", HOME) == (Clause("turn on the lights", None),)


def test_an_area_named_once_is_carried_to_the_clauses_naming_none() -> None:
    got = plan("turn on the lights and close the shutter in the study", HOME)
    assert got == (
        Clause("turn on the lights", "Study"),
        Clause("close the shutter in the study", None),
    )
    # an area that only qualifies a device ("the games room lights") is that clause's own:
    # the gate keeps the satellite's area
    got = plan("switch off the games room lights and lock the gate", HOME, "Hall")
    assert got == (
        Clause("switch off the games room lights", "Hall"),
        Clause("lock the gate", "Hall"),
    )
    # two different areas: nothing to carry, the satellite's area as without clauses
    got = plan("dim the study lamp, open the hall shutter and lock the gate", HOME, "Garden")
    assert [c.area for c in got] == ["Garden", "Garden", "Garden"]


def test_one_verb_over_a_list_of_the_home_s_names_is_one_clause_each() -> None:
    got = plan("turn off the desk lamp, the hall spots and the study fan", HOME)
    assert [c.text for c in got] == [
        "turn off the desk lamp",
        "turn off the hall spots",
        "turn off the study fan",
    ]
    # what follows the last name goes with each; "the" said once goes with each name
    assert [c.text for c in plan("turn the desk lamp and study fan off", HOME)] == [
        "turn the desk lamp off",
        "turn the study fan off",
    ]
    assert [c.text for c in plan("open the study and hall shutters", HOME)] == [
        "open the study shutters",
        "open the hall shutters",
    ]
    # a list of other things, a negated command, a single name: as typed
    for text in (
        "add milk, eggs and butter to the shopping list",
        "don't turn off the desk lamp and the study fan",
        "turn off the desk lamp",
        "turn on the lights and fans in the study",
    ):
        assert [c.text for c in plan(text, HOME)] == [text]
    # several commands, one of them over a list
    got = plan("lock the side gate and switch off the desk lamp and the study fan", HOME)
    assert [c.text for c in got] == [
        "lock the side gate",
        "switch off the desk lamp",
        "switch off the study fan",
    ]
    # more than MAX_CLAUSES in all: the lists stay whole
    text = "dim the desk lamp and the hall spots, open the study shutter and close the hall " \
        "shutter and the study shutter"
    assert len(plan(text, HOME)) == 3


def test_a_negated_clause_refuses_only_its_own_calls() -> None:
    parts = [
        Part("turn on the desk lamp", [on("Desk Lamp")], [0.99]),
        Part("don't open the study shutter", [on("Study Shutter")], [0.99]),
    ]
    d = decide_parts("turn on the desk lamp and don't open the study shutter", parts, TOOLS, HOME)
    assert d.kind == ACT and d.act == [on("Desk Lamp")]
    assert [(h.call, h.kind) for h in d.held] == [(on("Study Shutter"), NEGATED_KIND)]
    # as one sentence the negation refuses everything (what the model alone would get)
    whole = decide(
        "turn on the desk lamp and don't open the study shutter",
        [on("Desk Lamp"), on("Study Shutter")],
        [0.99, 0.99],
        TOOLS,
        HOME,
    )
    assert whole.kind == NEGATED_KIND and whole.act == []


def test_every_clause_negated_is_a_negated_request() -> None:
    parts = [Part("don't open the study shutter and lock the gate", [on("Study Shutter")])]
    d = decide_parts("don't open the study shutter and lock the gate", parts, TOOLS, HOME)
    assert d.kind == NEGATED_KIND and d.act == [] and d.speech


def test_numbers_and_device_words_belong_to_their_clause() -> None:
    dim = ToolCall("HassLightSet", {"name": "Desk Lamp", "brightness": 30})
    parts = [
        Part("dim the desk lamp to 30 percent", [dim]),
        Part("switch on the study fan", [on("Study Fan")]),
    ]
    d = decide_parts("dim the desk lamp to 30 percent and switch on the study fan", parts,
                     TOOLS, HOME)  # fmt: skip
    assert d.act == [dim, on("Study Fan")] and not d.held
    # a number said in another clause does not ground a call
    parts = [
        Part("dim the desk lamp", [dim]),
        Part("set the study fan to 30 percent", [on("Study Fan")]),
    ]
    d = decide_parts("dim the desk lamp and set the study fan to 30 percent", parts, TOOLS, HOME)
    assert {h.kind for h in d.held} == {UNGROUNDED} and d.act == []
    # "fan" in clause 2 says nothing about clause 1's lamp; the fan word of its own clause does
    parts = [
        Part("turn on the desk lamp", [on("Desk Lamp")]),
        Part("turn on the study fan", [on("Hall Spots")]),
    ]
    d = decide_parts("turn on the desk lamp and turn on the study fan", parts, TOOLS, HOME)
    assert d.act == [] and [h.kind for h in d.held] == [WRONG_DEVICE]
    assert d.pending is not None and d.pending.calls == (on("Desk Lamp"),)  # "shall I still"
    big = ToolCall("HassLightSet", {"name": "Desk Lamp", "brightness": 100})
    parts = [Part("set the desk lamp to 150 percent", [big]), Part("lock the gate", [])]
    d = decide_parts("set the desk lamp to 150 percent and lock the gate", parts, TOOLS, HOME)
    assert [h.kind for h in d.held] == [OUT_OF_RANGE]


def test_a_carried_area_closes_an_open_target() -> None:
    call = ToolCall("HassTurnOn", {"area": "Study", "domain": ["light"]})
    text = "turn on the lights and close the shutter in the study"
    shutter = ToolCall("HassTurnOff", {"name": "Study Shutter"})
    parts = [
        Part("turn on the lights", [call], area="Study"),
        Part("close the shutter in the study", [shutter]),
    ]
    d = decide_parts(text, parts, TOOLS, HOME)
    assert d.kind == ACT and d.act == [call, shutter]
    # without the carried area the first clause leaves the room open: asked back, nothing runs
    parts[0] = Part("turn on the lights", [call])
    d = decide_parts(text, parts, TOOLS, HOME)
    assert d.kind == "ask" and d.act == [] and d.pending is not None
    assert d.pending.calls == (call, shutter) and d.pending.text == text


def test_one_part_decides_as_decide() -> None:
    text = "switch on the desk lamp"
    one = decide_parts(text, [Part(text, [on("Desk Lamp")], [0.99], area="Study")], TOOLS, HOME)
    assert one == decide(text, [on("Desk Lamp")], [0.99], TOOLS, HOME, satellite_area="Study")
