"""The policy between decoding and execution: act, ask back, or refuse (no HA needed)."""

from __future__ import annotations

import pytest

from custom_components.needle.engine.schema import ToolCall, ToolParam, ToolSchema
from custom_components.needle.policy import (
    ACT,
    AMBIGUOUS,
    ASK,
    ASKED,
    CONFIRM,
    EXCEPTION,
    LOW_CONFIDENCE,
    NEGATED_KIND,
    NO_DEVICE,
    NO_MATCH,
    NOT_ASKED,
    NOT_SURE,
    NOTHING_MATCHES,
    OUT_OF_RANGE,
    UNGROUNDED,
    UNSURE,
    WRONG_DEVICE,
    Part,
    Pending,
    PendingQuestions,
    asks,
    decide,
    decide_parts,
    negated,
    question,
    resolve,
    said_numbers,
)
from custom_components.needle.prompt import AreaInfo, EntityInfo, HomeContext, Turn

HOME = HomeContext(
    entities=(
        EntityInfo("light.kitchen_ceiling", "Kitchen Ceiling Light", "light", area="Kitchen"),
        EntityInfo("light.desk_lamp", "Desk Lamp", "light", area="Office"),
        EntityInfo("light.floor_lamp", "Floor Lamp", "light", area="Living Room"),
        EntityInfo("cover.kitchen_blinds", "Kitchen Blinds", "cover", area="Kitchen"),
        EntityInfo("cover.office_blinds", "Office Blinds", "cover", area="Office"),
        EntityInfo("cover.bedroom_blinds", "Bedroom Blinds", "cover", area="Bedroom"),
        EntityInfo("cover.lounge_blinds", "Living Room Blinds", "cover", area="Living Room"),
        EntityInfo("media_player.tv", "TV", "media_player", area="Living Room"),
        EntityInfo("switch.tv_plug", "TV Plug", "switch", area="Office"),
        EntityInfo("fan.office_fan", "Office Fan", "fan", area="Office"),
    ),
    areas=tuple(AreaInfo(a) for a in ("Kitchen", "Office", "Living Room", "Bedroom")),
)
TARGET = (ToolParam("name"), ToolParam("area"), ToolParam("domain", "array"))
TOOLS = (
    ToolSchema("HassTurnOn", "", TARGET),
    ToolSchema("HassTurnOff", "", TARGET),
    ToolSchema(
        "HassLightSet", "", (*TARGET, ToolParam("brightness", "integer", minimum=0, maximum=100))
    ),
    ToolSchema(
        "HassSetPosition", "", (*TARGET, ToolParam("position", "integer", minimum=0, maximum=100))
    ),
    ToolSchema("HassMediaPause", "", TARGET),
    ToolSchema("HassPauseTimer", "", (ToolParam("area"),)),
    ToolSchema(
        "HassStartTimer",
        "",
        (ToolParam("minutes", "integer", minimum=0), ToolParam("hours", "integer", minimum=0)),
    ),
)


def judge(text: str, *calls: ToolCall, conf: tuple[float, ...] = (), **kw: object):
    return decide(text, list(calls), conf or (0.99,) * len(calls), TOOLS, HOME, **kw)  # type: ignore[arg-type]


def on(name: str) -> ToolCall:
    return ToolCall("HassTurnOn", {"name": name})


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("don't turn on the kitchen lights", True),
        ("Do not open the blinds", True),
        ("never unlock the front door", True),
        ("please don’t switch off the tv", True),
        ("i don't need the desk lamp anymore, turn it off", False),
        ("don't forget to turn off the lights", False),
        ("turn on the kitchen lights", False),
    ],
)
def test_negation_governs_a_command(text: str, expect: bool) -> None:
    assert negated(text) is expect


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("is the back door locked?", True),
        ("did I leave the desk lamp on", True),
        ("have we left the office blinds open", True),
        ("how warm is it in the kitchen", True),
        ("which lights are on", True),
        ("can you check if the blinds are shut", True),
        ("tell me whether the tv is on", True),
        ("office fan, still running?", True),
        ("count the fans spinning in the loft", True),
        ("please list every window that is open", True),
        ("the porch light's still on, isn't it", True),
        ("in the lounge, which lights are still on", True),
        ("in the lounge, turn on the lights", False),
        ("heat pump: which mode is it in", True),
        ("the blinds are down, aren't they?", True),
        ("the oven is off, right?", True),
        ("switch off the oven, right?", False),
        ("turn on the lamp, right now", False),
        ("could you turn on the desk lamp?", False),
        ("turn on the desk lamp?", False),
        ("make it warmer?", False),
        ("what about the kitchen?", False),
        ("how about the bedroom", False),
        ("why don't you switch off the tv", False),
        ("do not open the blinds", False),
        ("when it gets dark, switch on the lamp", False),
        ("turn on the desk lamp", False),
        ("", False),
    ],
)
def test_questions_are_told_from_commands(text: str, expect: bool) -> None:
    assert asks(text) is expect


def test_a_question_changes_nothing() -> None:
    """Whatever tool the model picks for a question, only a tool that reads may answer it."""
    d = judge("did I leave the office blinds open", on("Office Blinds"))
    assert d.kind != ACT and d.act == [] and [h.kind for h in d.held] == [ASKED]
    read = ToolCall("HassGetState", {"name": "Office Blinds"})
    d = judge("did I leave the office blinds open", read)
    assert d.kind == ACT and d.act == [read]
    # and a state is read out only when asked: chit-chat answered with a lamp's state is a
    # model that did not understand
    d = judge("order a pizza for me", ToolCall("HassGetState", {"name": "Desk Lamp"}))
    assert d.kind == UNSURE and d.act == [] and d.speech == NOT_SURE
    assert [h.kind for h in d.held] == [NOT_ASKED]
    d = judge("tell me which blinds are open", read)
    assert d.kind == ACT
    # after a question a fragment is still one ("and the office ones?"), a command is not
    asked = Turn("are the kitchen blinds open", (read,))
    assert judge("and the office ones", read, previous=asked).act == [read]
    d = judge("now close the office blinds", read, previous=asked)
    assert d.act == [] and [h.kind for h in d.held] == [NOT_ASKED]


def test_negated_requests_act_on_nothing() -> None:
    d = judge("don't turn on the desk lamp", on("Desk Lamp"))
    assert d.kind == NEGATED_KIND and d.act == [] and d.speech
    assert [h.kind for h in d.held] == [NEGATED_KIND]


def test_a_named_target_acts() -> None:
    d = judge("turn on the desk lamp", on("Desk Lamp"))
    assert d.kind == ACT and d.act == [on("Desk Lamp")] and not d.held


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("set the desk lamp to 40%", {40}),
        ("desk lamp to twenty five percent", {25}),
        ("blinds half open", {50}),
        ("brightness to the max", {100}),
        ("one hundred percent", {100}),
        ("set it to 21.5 degrees", {21.5}),
        ("timer for an hour and a half", {1, 1.5, 90}),
        ("timer for half an hour", {30}),
        ("set the heating to minus 5", {-5}),
        ("set the heating to -5 degrees", {-5}),
        ("thermostat to negative twenty", {-20}),
    ],
)
def test_said_numbers(text: str, numbers: set[float]) -> None:
    assert numbers <= said_numbers(text)


@pytest.mark.parametrize("text", ["set the heating to minus 5", "heating to −5 degrees"])
def test_a_negative_number_is_not_its_positive(text: str) -> None:
    assert 5 not in said_numbers(text)


def test_minus_signs_only_the_next_number() -> None:
    assert said_numbers("it is minus outside, set the heating to 20") >= {20}
    assert -20 not in said_numbers("it is minus outside, set the heating to 20")


def test_a_number_nobody_said_is_not_run() -> None:
    call = ToolCall("HassSetPosition", {"name": "Kitchen Blinds", "position": 60})
    d = judge("close the kitchen blinds left", call)
    assert d.act == [] and d.held[0].kind == UNGROUNDED
    said = ToolCall("HassSetPosition", {"name": "Kitchen Blinds", "position": 60})
    assert judge("kitchen blinds to sixty percent", said).act == [said]


def test_an_out_of_range_value_is_refused_not_clamped() -> None:
    call = ToolCall("HassLightSet", {"name": "Desk Lamp", "brightness": 15})
    d = judge("set the desk lamp to 150 percent", call)
    assert d.act == [] and d.held[0].kind == OUT_OF_RANGE
    assert "150 is out of range for brightness (0 to 100)" in d.held[0].reason


def test_timer_durations_may_be_said_in_another_unit() -> None:
    call = ToolCall("HassStartTimer", {"minutes": 90})
    assert judge("set a timer for an hour and a half", call).act == [call]
    assert judge("set a timer for an hour", ToolCall("HassStartTimer", {"minutes": 7})).act == []


def test_the_wrong_kind_of_device_is_not_run() -> None:
    d = judge("turn kitchen fan on", on("Kitchen Ceiling Light"))
    assert d.act == [] and d.held[0].kind == WRONG_DEVICE
    # a whole room for one kind of device: everything there would be switched
    room = ToolCall("HassTurnOn", {"area": "Kitchen"})
    d = judge("tv on in the kitchen", room)
    assert d.act == [] and d.held[0].kind == WRONG_DEVICE
    assert judge("turn everything on in the kitchen", room).act == [room]
    lights = ToolCall("HassTurnOn", {"area": "Kitchen", "domain": ["light"]})
    assert judge("lights on in the kitchen", lights).act == [lights]
    pause = ToolCall("HassLightSet", {"area": "Living Room", "brightness": 100})
    d = judge("pause living room media player", pause)
    assert d.act == [] and {h.kind for h in d.held} & {WRONG_DEVICE, UNGROUNDED}
    # the user's word is in the device's name: "tv" for the TV Plug is fine
    assert judge("turn on the tv plug", on("TV Plug")).act == [on("TV Plug")]


def test_a_device_the_home_lacks_is_said_so() -> None:
    d = judge("lock the deadbolt", on("Desk Lamp"))
    assert d.kind == NO_DEVICE and d.act == [] and "no deadbolt" in d.speech
    assert judge("unlock the deadbolt").kind == NO_DEVICE  # also when the model made no call
    assert judge("what is the capital of france").kind == "nothing"


def test_an_open_target_is_asked_back_and_the_answer_completes_it() -> None:
    call = ToolCall("HassTurnOn", {"name": "Living Room Blinds"})
    d = judge("open the blinds", call)
    assert d.kind == ASK and d.act == [] and d.pending is not None
    assert d.held[0].kind == AMBIGUOUS
    blinds = [e.name for e in HOME.entities if e.domain == "cover"]
    assert sum(b in d.speech for b in blinds) == 3  # three names at most
    assert d.speech.startswith("Which one do you mean")
    assert "Living Room Blinds" in d.speech
    answer = resolve(d.pending, "the kitchen ones", HOME)
    assert answer.calls == (ToolCall("HassTurnOn", {"name": "Kitchen Blinds"}),)
    both = resolve(d.pending, "all of them", HOME)
    assert len(both.calls) == 4
    assert resolve(d.pending, "never mind", HOME).cancelled
    assert resolve(d.pending, "what time is it", HOME) == type(answer)()


def test_the_satellite_area_or_previous_turn_closes_the_target() -> None:
    call = ToolCall("HassTurnOn", {"name": "Office Blinds"})
    assert judge("open the blinds", call, satellite_area="Office").act == [call]
    prev = Turn("open the office blinds", (ToolCall("HassTurnOn", {"area": "Office"}),))
    assert judge("open the blinds", call, previous=prev).act == [call]
    # the area is in the sentence
    assert judge("open the office blinds", call).act == [call]


def test_an_invented_area_is_asked_back() -> None:
    call = ToolCall("HassTurnOn", {"area": "Kitchen", "domain": ["light"]})
    d = judge("turn on the lights", call)
    assert d.kind == ASK and d.pending is not None and d.pending.key == "area"
    assert d.speech.startswith("Which room do you mean")
    assert judge("turn on the kitchen lights", call).act == [call]
    assert judge("turn on the lights", call, satellite_area="Kitchen").act == [call]


def test_low_confidence_is_confirmed_or_refused() -> None:
    d = judge("desk lamp on", on("Desk Lamp"), conf=(0.3,), threshold=0.5, ask_threshold=0.2)
    assert d.kind == CONFIRM and d.pending is not None and d.act == []
    assert d.speech == "Do you want me to turn on Desk Lamp?"
    assert resolve(d.pending, "yes please", HOME).calls == (on("Desk Lamp"),)
    assert resolve(d.pending, "no", HOME).cancelled
    d = judge("desk lamp on", on("Desk Lamp"), conf=(0.1,), threshold=0.5, ask_threshold=0.2)
    assert d.kind == UNSURE and d.act == [] and d.held[0].kind == LOW_CONFIDENCE


def test_a_multi_call_answer_runs_its_sure_parts_once_confirmed() -> None:
    """Half a request is not run unasked: the reply says what would be skipped and asks."""
    d = judge(
        "turn on the desk lamp and the floor lamp",
        on("Desk Lamp"),
        on("Floor Lamp"),
        conf=(0.95, 0.2),
        threshold=0.5,
    )
    assert d.kind == CONFIRM and d.act == []
    assert [h.call for h in d.held] == [on("Floor Lamp")]
    assert "Floor Lamp" in d.held[0].reason
    assert d.speech.endswith("Shall I still turn on Desk Lamp?")
    assert d.pending is not None and resolve(d.pending, "yes please", HOME).calls == (
        on("Desk Lamp"),
    )
    assert resolve(d.pending, "no", HOME).cancelled


def test_an_unsure_read_beside_sure_ones_answers_nothing() -> None:
    read = ToolCall("HassGetState", {"name": "Desk Lamp"})
    other = ToolCall("HassGetState", {"name": "Floor Lamp"})
    d = judge("what is the desk lamp doing?", read, other, conf=(0.9, 0.1))
    assert d.kind == UNSURE and d.act == [] and d.speech == NOT_SURE
    assert judge("what is the desk lamp doing?", read).act == [read]


def test_a_command_made_nothing_of_is_asked_about_before_the_rest_runs() -> None:
    lamp = Part("turn on the desk lamp", [on("Desk Lamp")], [0.95])
    hob = Part("frobnicate the hob")
    d = decide_parts("turn on the desk lamp and frobnicate the hob", [lamp, hob], TOOLS, HOME)
    assert d.kind == CONFIRM and d.act == []
    assert d.speech == "I did not understand “frobnicate the hob”. Shall I still turn on Desk Lamp?"
    blinds = Part(
        "close the office blinds", [ToolCall("HassTurnOff", {"name": "Office Blinds"})], [0.9]
    )
    d = decide_parts("close the office blinds and frobnicate the hob", [blinds, hob], TOOLS, HOME)
    assert d.speech.endswith("Shall I still close Office Blinds?")
    # a negated part is no gap: the rest is all that was asked
    no = Part("don't open the blinds", [ToolCall("HassTurnOn", {"name": "Office Blinds"})], [0.9])
    d = decide_parts("turn on the desk lamp but don't open the blinds", [lamp, no], TOOLS, HOME)
    assert d.kind == ACT and d.act == [on("Desk Lamp")]


def test_a_question_holds_the_whole_request() -> None:
    d = judge(
        "turn on the desk lamp and open the blinds",
        on("Desk Lamp"),
        ToolCall("HassTurnOn", {"name": "Bedroom Blinds"}),
    )
    assert d.kind == ASK and d.act == []
    assert d.pending is not None and d.pending.calls[0] == on("Desk Lamp")
    done = resolve(d.pending, "the bedroom ones", HOME)
    assert done.calls == (on("Desk Lamp"), ToolCall("HassTurnOn", {"name": "Bedroom Blinds"}))


def test_question_names_at_most_three() -> None:
    cands = tuple((f"Blind {i}", None) for i in range(6))
    text = question(Pending("open the blinds", (on("Blind 0"),), 0, "name", cands))
    assert text == "Which one do you mean, for example: Blind 0, Blind 1 or Blind 2?"


def test_pending_questions_expire() -> None:
    store = PendingQuestions(max_items=2, ttl=10)
    p = Pending("x", (), 0, "")
    store.put("a", p, now=0)
    assert store.pop("a", now=5) == p
    assert store.pop("a", now=5) is None  # asked once
    store.put("b", p, now=0)
    assert store.pop("b", now=11) is None


def test_a_timer_is_not_music_and_music_is_not_a_timer() -> None:
    d = judge("pause the living room music", ToolCall("HassPauseTimer", {"area": "Living Room"}))
    assert d.act == [] and d.held[0].kind == WRONG_DEVICE
    timer = ToolCall("HassPauseTimer", {"area": "Living Room"})
    assert judge("pause the living room timer", timer).act == [timer]
    assert judge("set a timer for ten minutes").kind == "nothing"  # no "there is no timer"


def test_a_room_added_to_a_named_device_must_come_from_somewhere() -> None:
    call = ToolCall("HassTurnOff", {"name": "Desk Lamp", "area": "Kitchen"})
    d = judge("desk lamp off please", call)
    assert d.act == [] and [h.kind for h in d.held] == [UNGROUNDED]
    for text, kw in (
        ("kitchen desk lamp off please", {}),  # said
        ("desk lamp off please", {"satellite_area": "Kitchen"}),  # where the user is
    ):
        assert judge(text, call, **kw).act == [call], text


def test_a_group_call_is_not_run_when_the_sentence_leaves_one_out() -> None:
    group = ToolCall("HassTurnOff", {"area": "Office", "domain": ["light"]})
    for text in (
        "turn off the office lights but leave the desk lamp on",
        "switch off everything in the office except the fan",
        "turn off the office lights apart from the desk lamp",
    ):
        d = judge(text, group)
        assert d.act == [] and [h.kind for h in d.held] == [EXCEPTION], text
    # a named device is what was asked; and without an exception the group call runs
    named = ToolCall("HassTurnOff", {"name": "Office Fan"})
    assert judge("turn off the office fan but leave the desk lamp on", named).act == [named]
    assert judge("turn off the office lights", group).act == [group]


def test_a_target_nothing_in_the_sentence_points_at_is_refused() -> None:
    d = judge("call my mother", on("Floor Lamp"))
    assert d.kind == NO_DEVICE and d.act == [] and d.held[0].kind == NO_MATCH
    assert d.speech == NOTHING_MATCHES
    # the held reason reads inside a longer reply ("I skipped part of the request: ...")
    assert not d.held[0].reason.startswith("Sorry") and not d.held[0].reason.endswith(".")
    area = ToolCall("HassTurnOn", {"area": "Kitchen"})
    assert judge("order a pizza", area).held[0].kind == NO_MATCH


def test_a_call_on_every_device_of_a_kind_needs_the_sentence_to_say_so() -> None:
    every = ToolCall("HassTurnOn", {"domain": ["light"]})
    d = judge("could you get the floor lamp going", every)
    assert d.kind == ASK and d.pending is not None and d.pending.key == "area"
    done = resolve(d.pending, "in the living room", HOME)
    assert done.calls == (ToolCall("HassTurnOn", {"domain": ["light"], "area": "Living Room"}),)
    assert judge("turn on all the lights", every).act == [every]
    assert judge("turn on the lights", every, satellite_area="Office").act == [every]


def test_on_is_not_off() -> None:
    d = judge("switch the desk lamp off", on("Desk Lamp"))
    assert d.act == [] and d.held[0].kind == UNGROUNDED
    off = ToolCall("HassTurnOff", {"name": "Desk Lamp"})
    assert judge("switch the desk lamp off", off).act == [off]
    assert judge("turn off the desk lamp on the left", off).act == [off]


def test_area_aliases_count_as_said() -> None:
    home = HomeContext(
        entities=(
            EntityInfo("light.a", "Sofa Lamp", "light", area="Living Room"),
            EntityInfo("light.b", "Bed Lamp", "light", area="Bedroom"),
        ),
        areas=(AreaInfo("Living Room", ("Lounge",)), AreaInfo("Bedroom")),
    )
    call = ToolCall("HassTurnOn", {"area": "lounge", "domain": ["light"]})
    assert decide("lounge lights on", [call], [0.99], TOOLS, home).act == [call]
    assert decide("lights on", [call], [0.99], TOOLS, home, satellite_area="Living Room").act == [
        call
    ]
    every = ToolCall("HassTurnOn", {"domain": ["light"]})
    assert decide("lights on in all rooms", [every], [0.99], TOOLS, home).act == [every]
    assert decide("lights on", [every], [0.99], TOOLS, home).kind == ASK


def test_timers_need_to_be_said() -> None:
    pause = ToolCall("HassPauseTimer", {"area": "Living Room"})
    assert judge("pause the living room", pause).held[0].kind == WRONG_DEVICE
    assert judge("pause the timer in the living room", pause).act == [pause]
    start = ToolCall("HassStartTimer", {"minutes": 5})
    assert judge("five minutes please", start).act == [start]


def test_a_said_cover_class_must_be_the_call_s() -> None:
    garage = ToolCall("HassTurnOn", {"device_class": ["garage"], "domain": ["cover"]})
    wrong = ToolCall("HassTurnOn", {"device_class": ["awning"], "domain": ["cover"]})
    assert judge("open the garage door", wrong).held[0].kind == WRONG_DEVICE
    assert judge("open the garage door", garage).kind != "unsure"
    # a room called Garage says no garage door; a motion or lock sensor is no cover
    home = HomeContext(
        entities=(
            *HOME.entities,
            EntityInfo("cover.g", "Garage Blind", "cover", area="Garage", device_class="blind"),
            EntityInfo("binary_sensor.m", "Motion", "binary_sensor", area="Garage",
                       device_class="motion"),
            EntityInfo("binary_sensor.l", "Cat Door Lock", "binary_sensor", device_class="lock"),
        ),
        areas=(*HOME.areas, AreaInfo("Garage")),
    )  # fmt: skip
    blinds = ToolCall("HassGetState", {"domain": ["cover"], "device_class": ["blind"],
                                       "area": "Garage", "state": ["open"]})  # fmt: skip
    motion = ToolCall("HassGetState", {"domain": ["binary_sensor"], "device_class": ["motion"],
                                       "area": "Garage", "state": ["on"]})  # fmt: skip
    lock = ToolCall("HassGetState", {"domain": ["binary_sensor"], "device_class": ["lock"],
                                     "state": ["off"]})  # fmt: skip
    for text, call in (
        ("are the blinds in the garage open?", blinds),
        ("is there motion in the garage?", motion),
        ("is the cat door locked?", lock),
    ):
        assert decide(text, [call], (0.99,), TOOLS, home).act == [call], text
    assert decide("is the garage door open?", [blinds], (0.99,), TOOLS, home).act == []


def test_a_said_percentage_must_be_used() -> None:
    d = judge("kitchen ceiling light to 15 %", on("Kitchen Ceiling Light"))
    assert d.act == [] and d.held[0].kind == UNGROUNDED
    lamp = ToolCall("HassLightSet", {"name": "Desk Lamp", "brightness": 15})
    assert judge("desk lamp to 15 %", lamp).act == [lamp]
    # "halfway" is a value too: opening (or closing) the blinds all the way is not what was asked
    d = judge(
        "bring the office blinds down halfway", ToolCall("HassTurnOff", {"name": "Office Blinds"})
    )
    assert d.act == [] and d.held[0].kind == UNGROUNDED
    # two values said, one used: the other device was not set
    one = ToolCall("HassLightSet", {"name": "Desk Lamp", "brightness": 20})
    d = judge("desk lamp to 20 % and the kitchen ceiling light to 60 %", one)
    assert d.act == [] and d.held[0].kind == UNGROUNDED and "60" in d.held[0].reason
    half = ToolCall("HassSetPosition", {"name": "Office Blinds", "position": 50})
    assert judge("bring the office blinds down halfway", half).act == [half]


def test_a_list_item_is_added_only_when_adding_was_said() -> None:
    """Adding and taking off a list are opposite directions, as on and off; and an item that is
    only the list's own name ("... on my chores list") was never said as an item."""
    home = HomeContext(
        entities=(EntityInfo("todo.chores", "Chores", "todo"),), areas=(AreaInfo("Kitchen"),)
    )
    tools = (
        ToolSchema("HassListAddItem", "", (ToolParam("item"), ToolParam("name"))),
        ToolSchema("HassShoppingListAddItem", "", (ToolParam("item"),)),
    )

    def add(text: str, item: str, name: str | None = "Chores"):
        call = ToolCall(
            "HassListAddItem" if name else "HassShoppingListAddItem",
            {"item": item, **({"name": name} if name else {})},
        )
        return decide(text, [call], [0.99], tools, home)

    assert add("remove take out the trash on my chores list", "take out the trash").act == []
    assert add("cross eggs off the shopping list", "eggs", None).held[0].kind == UNGROUNDED
    d = add("remove the trash on my chores list", "chores")
    assert d.act == [] and d.held[0].kind == UNGROUNDED
    assert add("put chores list on my chores list", "chores list").act == []
    # what was asked still runs
    assert len(add("add take out the trash to my chores list", "take out the trash").act) == 1
    assert len(add("put eggs on the chores list", "eggs").act) == 1
    # the request's own verb is no item; the same word further on may be one
    d = add("add renew passport to my chores list", "add")
    assert d.act == [] and d.held[0].kind == UNGROUNDED
    assert len(add("add pop to the chores list", "pop").act) == 1
    assert len(add("we need to remove the mould, add bleach to chores", "bleach").act) == 1


def test_on_as_a_preposition_is_not_a_contradiction() -> None:
    off = ToolCall("HassTurnOff", {"name": "Desk Lamp"})
    assert judge("deactivate the desk lamp on the desk", off).act == [off]
    assert judge("turn on the desk lamp", off).held[0].kind == UNGROUNDED


def test_questions_are_read_only_and_not_asked_back() -> None:
    """A house-wide question is answered, not met with "which room?", and a question about a
    door that only a sensor watches is not held as the wrong kind of device; a command in
    the same words is still checked."""
    tools = (*TOOLS, ToolSchema("HassGetState", "", (*TARGET, ToolParam("state"))))
    which = ToolCall("HassGetState", {"domain": ["light"], "state": "on"})
    decision = decide("which lights are on?", [which], [0.9], tools, HOME)
    assert (decision.kind, decision.act) == (ACT, [which])
    door = ToolCall("HassGetState", {"name": "Kitchen Blinds", "state": "open"})
    assert decide("is the shed door open?", [door], [0.9], tools, HOME).act == [door]
    # the same open target as a command is still asked back
    on = ToolCall("HassTurnOn", {"domain": ["light"]})
    assert decide("turn on the lights", [on], [0.9], tools, HOME).kind == ASK
    # and a question is still below the confidence threshold like any call
    assert decide("which lights are on?", [which], [0.1], tools, HOME).act == []


def test_on_or_off_needs_words_that_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """The retrieval's word-level second opinion on the direction: the words must point the
    way the call goes (an index fitted on "switch ... on" / "switch ... off")."""
    from custom_components.needle import policy
    from custom_components.needle.prompt import Retriever

    index = Retriever(
        {
            "bias": {"t:HassTurnOn": 0.0, "t:HassTurnOff": 0.0},
            "weights": {"on": {"t:HassTurnOn": 3.0}, "out": {"t:HassTurnOff": 3.0}},
        }
    )
    monkeypatch.setattr(policy, "default_retriever", lambda: index)
    off = ToolCall("HassTurnOff", {"name": "Desk Lamp"})
    assert judge("put the desk lamp out", off).act == [off]
    d = judge("put the desk lamp out", on("Desk Lamp"))  # the words say off
    assert d.act == [] and [h.kind for h in d.held] == [UNGROUNDED]
    # words that say neither way: left to the model (and its confidence)
    assert judge("zap the desk lamp", on("Desk Lamp")).act == [on("Desk Lamp")]
    # no index: no opinion
    monkeypatch.setattr(policy, "default_retriever", lambda: Retriever({}))
    assert judge("put the desk lamp out", on("Desk Lamp")).act == [on("Desk Lamp")]


def _names(tools: tuple[ToolSchema, ...], tool: str) -> tuple[str, ...] | None:
    schema = next(t for t in tools if t.name == tool)
    param = schema.param("name")
    return None if param is None else param.enum


def test_a_read_may_only_name_what_the_sentence_points_at() -> None:
    from custom_components.needle.policy import grounded_read_tools

    home = HomeContext(
        entities=(
            *HOME.entities,
            EntityInfo("sensor.solar", "Solar production", "sensor", device_class="energy"),
            EntityInfo("sensor.no2", "Heat pump NO2 sensor", "sensor"),
            EntityInfo("sensor.powerwall", "Powerwall stored energy", "sensor"),
            EntityInfo("weather.home", "Home", "weather"),
            EntityInfo("weather.london", "London", "weather"),
        ),
        areas=HOME.areas,
    )
    names = tuple(n for e in home.entities for n in e.names)
    reads = (
        ToolSchema("HassGetState", "", (ToolParam("name", enum=names), ToolParam("area"))),
        ToolSchema("HassGetWeather", "", (ToolParam("name", enum=("Home", "London")),)),
        ToolSchema("HassTurnOn", "", (ToolParam("name", enum=names),)),
    )
    got = grounded_read_tools(reads, "what is the energy from solar production?", home, None)
    # the most words said: Solar production (2) over Powerwall stored energy (1)
    assert _names(got, "HassGetState") == ("Solar production",)
    # commands are not narrowed; the weather's name is left out when no place is said
    assert _names(got, "HassTurnOn") == names
    assert _names(got, "HassGetWeather") is None
    assert _names(
        grounded_read_tools(reads, "weather in london", home, None), "HassGetWeather"
    ) == ("London",)
    # the area said counts for the devices in it: "the lamp in the office" is the Desk Lamp
    got = grounded_read_tools(reads, "is the lamp in the office on", home, None)
    assert _names(got, "HassGetState") == ("Desk Lamp",)
    # nothing pointed at: the choice stays (a guess is refused later); the last turn's name
    # stays allowed for a follow-up
    assert _names(grounded_read_tools(reads, "is it on?", home, None), "HassGetState") == names
    previous = Turn("turn on the tv", (ToolCall("HassTurnOn", {"name": "TV"}),))
    got = grounded_read_tools(reads, "is the office fan on too", home, previous)
    assert _names(got, "HassGetState") == ("TV", "Office Fan")
    # a kind said in the plural asks about all of that kind: no one lamp is named...
    for text in ("how many lamps are on", "were all the lamps left on?"):
        assert _names(grounded_read_tools(reads, text, home, None), "HassGetState") is None
    # ... unless a word of its own says which
    got = grounded_read_tools(reads, "are the desk lamps on", home, None)
    assert _names(got, "HassGetState") == ("Desk Lamp",)
    assert _names(grounded_read_tools(reads, "is the lamp on", home, None), "HassGetState") == (
        "Desk Lamp", "Floor Lamp",
    )  # fmt: skip


def test_a_named_read_keeps_only_the_filters_its_device_can_pass() -> None:
    from custom_components.needle.fit import fit_read

    home = HomeContext(
        entities=(
            EntityInfo("sensor.log", "Log file", "sensor", device_class="data_size"),
            EntityInfo("sensor.phone_battery", "Phone", "sensor", device_class="battery"),
            EntityInfo("binary_sensor.phone_home", "Phone", "binary_sensor", device_class="presence"),
            EntityInfo("binary_sensor.shed", "Shed Window", "binary_sensor", area="Shed", device_class="window"),
            EntityInfo("sensor.lr_irr", "Living room irradiance", "sensor", device_class="irradiance"),
            EntityInfo("light.lamp", "Lamp", "light", area="Kitchen"),
        ),
        areas=(AreaInfo("Living Room"), AreaInfo("Kitchen"), AreaInfo("Shed")),
    )  # fmt: skip

    def read(**args: object) -> dict[str, object]:
        return fit_read(ToolCall("HassGetState", dict(args)), home).arguments

    # a class the named device does not have only hides it
    assert read(name="Log file", domain=["binary_sensor"], device_class=["power"]) == {
        "name": "Log file"
    }
    # a shared name keeps what tells its namesakes apart, loses what fits none of them
    assert read(name="Phone", domain=["binary_sensor"], device_class=["presence"]) == {
        "name": "Phone", "domain": ["binary_sensor"], "device_class": ["presence"],
    }  # fmt: skip
    assert read(name="Phone", domain=["binary_sensor"], device_class=["heat"]) == {
        "name": "Phone", "domain": ["binary_sensor"],
    }  # fmt: skip
    # an area that only repeats the name's words goes when the device is not in it; a real
    # area stays (HA then says it found nothing there, rather than reading another lamp)
    assert read(name="Living room irradiance", area="Living Room") == {
        "name": "Living room irradiance"
    }
    assert read(name="Lamp", area="Living Room") == {"name": "Lamp", "area": "Living Room"}
    # a sensor is asked for its value
    assert read(name="Log file", state=["on"]) == {"name": "Log file"}
    # a binary sensor's state in HA's terms
    assert read(name="Shed Window", state=["closed"]) == {"name": "Shed Window", "state": ["off"]}
    # commands and unnamed reads are not touched
    call = ToolCall("HassTurnOn", {"name": "Log file", "domain": ["light"]})
    assert fit_read(call, home) is call
    call = ToolCall("HassGetState", {"domain": ["light"], "state": ["closed"]})
    assert fit_read(call, home) is call


def test_a_question_is_decoded_with_the_reading_tools_only() -> None:
    from custom_components.needle.policy import decoder_tools

    names = tuple(e.name for e in HOME.entities)
    tools = (
        ToolSchema("HassTurnOn", "", (ToolParam("name", enum=names),)),
        ToolSchema("HassGetState", "", (ToolParam("name", enum=names),)),
    )
    asked = decoder_tools(tools, "have we left the office fan on?", HOME, None)
    assert [t.name for t in asked] == ["HassGetState"]
    assert _names(asked, "HassGetState") == ("Office Fan",)
    # a command (a polite one too) gets no state read, which the policy would hold; a
    # follow-up to a question may still be one; a question with no reading tool in the
    # prompt keeps the commands, which the policy then refuses
    for text in ("turn on the office fan", "could you turn on the office fan?"):
        assert [t.name for t in decoder_tools(tools, text, HOME, None)] == ["HassTurnOn"]
    asked = Turn("is the desk lamp on?", (ToolCall("HassGetState", {"name": "Desk Lamp"}),))
    assert [t.name for t in decoder_tools(tools, "and the office fan", HOME, asked)] == [
        "HassTurnOn", "HassGetState",
    ]  # fmt: skip
    assert [t.name for t in decoder_tools(tools, "turn it off", HOME, asked)] == ["HassTurnOn"]
    assert [t.name for t in decoder_tools(tools[:1], "is the fan on?", HOME, None)] == [
        "HassTurnOn"
    ]


def test_a_named_read_asks_for_a_state_in_the_device_s_own_terms() -> None:
    from custom_components.needle.fit import fit_read

    home = HomeContext(
        entities=(
            EntityInfo("cover.garage", "Garage Door", "cover", device_class="garage"),
            EntityInfo("lock.back", "Back Door", "lock"),
            EntityInfo("person.alex", "Alex", "person"),
        ),
    )
    for name, said, meant in (
        ("Garage Door", "off", "closed"),
        ("Back Door", "on", "unlocked"),
        ("Alex", "off", "not_home"),
        ("Garage Door", "open", "open"),
    ):
        call = fit_read(ToolCall("HassGetState", {"name": name, "state": [said]}), home)
        assert call.arguments["state"] == [meant]


def test_a_device_called_by_a_name_it_does_not_have_is_not_run() -> None:
    home = HomeContext(
        entities=(
            *HOME.entities,
            EntityInfo("switch.coffee", "Ensuite Coffee Maker", "switch", area="Office"),
        ),
        areas=HOME.areas,
    )
    maker = ToolCall("HassTurnOn", {"name": "Ensuite Coffee Maker"})
    # "maker" is shared, "ice" says another thing: the home has no ice maker
    for text in ("switch on the ice maker", "please start the ice-maker"):
        decision = decide(text, [maker], (0.99,), TOOLS, home)
        assert decision.kind == NO_DEVICE and not decision.act, text
    # the device's own words, or its room, still point at it
    for text in ("switch on the coffee maker", "turn on the maker in the office"):
        assert decide(text, [maker], (0.99,), TOOLS, home).act == [maker], text


def test_a_command_on_any_kind_of_device_names_no_sensor() -> None:
    from custom_components.needle.policy import decoder_tools

    home = HomeContext(
        entities=(
            *HOME.entities,
            EntityInfo("binary_sensor.light", "Light", "binary_sensor", device_class="light"),
            EntityInfo("sensor.tv_power", "TV", "sensor"),  # a namesake that can be switched
        ),
        areas=HOME.areas,
    )
    names = tuple(n for e in home.entities for n in e.names)
    tools = (
        ToolSchema("HassTurnOff", "", (ToolParam("name", enum=names), ToolParam("area"))),
        ToolSchema("HassGetState", "", (ToolParam("name", enum=names),)),
    )
    got = decoder_tools(tools, "turn off the lights", home, None)
    assert "Light" not in _names(got, "HassTurnOff") and "TV" in _names(got, "HassTurnOff")
    assert "Light" in _names(decoder_tools(tools, "is light detected?", home, None), "HassGetState")


def test_a_command_names_the_one_device_every_word_describes() -> None:
    from custom_components.needle.policy import decoder_tools

    home = HomeContext(
        entities=(
            EntityInfo("light.wiz", "WiZ RGBW Tunable 3F2A", "light", area="Bedroom"),
            EntityInfo("light.caseta", "Caseta Dimmer", "light", area="Office"),
            EntityInfo("cover.front", "Front Window", "cover", area="Office"),
            EntityInfo("climate.ecobee", "Ecobee Premium", "climate"),
        ),
        areas=(AreaInfo("Bedroom"), AreaInfo("Office")),
    )
    names = tuple(e.name for e in home.entities)
    tools = (
        ToolSchema("HassTurnOn", "", (ToolParam("name", enum=names), ToolParam("area"))),
        ToolSchema(
            "HassClimateSetTemperature",
            "",
            (ToolParam("name", enum=names), ToolParam("temperature", "number")),
        ),
    )
    # every word is one of its name, room or kind, and one at least of its name
    for text, meant in (
        ("turn on the wiz", "WiZ RGBW Tunable 3F2A"),
        ("switch on the wiz lamp in the bedroom", "WiZ RGBW Tunable 3F2A"),
        ("ecobee to 22", "Ecobee Premium"),
    ):
        got = decoder_tools(tools, text, home, None)
        assert _names(got, "HassTurnOn") == (meant,), text
    # "door" may be a lock's or a cover's: the Front Window is not described by it, nor is
    # anything by a bare kind, or by a word no device has
    for text in ("lock the front door", "turn on the light", "turn on the ice wiz"):
        assert _names(decoder_tools(tools, text, home, None), "HassTurnOn") == names, text


def test_a_room_call_is_not_narrowed_to_a_device_named_after_the_room() -> None:
    from custom_components.needle.policy import decoder_tools

    home = HomeContext(
        entities=(
            EntityInfo("light.lr_lamp", "Living Room Lamp", "light", area="Living Room"),
            EntityInfo("light.corner", "Play Corner", "light", area="Living Room"),
            EntityInfo("fan.ceiling", "Ceiling Fan", "fan", area="Living Room"),
            EntityInfo("fan.tower", "Tower", "fan", area="Living Room"),
        ),
        areas=(AreaInfo("Living Room"),),
    )
    names = tuple(e.name for e in home.entities)
    tools = (ToolSchema("HassTurnOn", "", (ToolParam("name", enum=names), ToolParam("area"))),)
    for text in ("turn on the light in the living room", "turn off the living room fan"):
        assert _names(decoder_tools(tools, text, home, None), "HassTurnOn") == names, text
    assert _names(decoder_tools(tools, "play corner on", home, None), "HassTurnOn") == (
        "Play Corner",
    )


# Two rooms with a radiator valve each, and a blind in one: "bedroom 4 trv" is one device.
TRV_HOME = HomeContext(
    entities=(
        EntityInfo("cover.fyrtur", "Bedroom 4 Fyrtur", "cover", area="Bedroom 4"),
        EntityInfo("climate.trv", "Bedroom 4 TRV", "climate", area="Bedroom 4"),
        EntityInfo("climate.trv1", "Bedroom 1 TRV", "climate", area="Bedroom 1"),
    ),
    areas=(AreaInfo("Bedroom 4"), AreaInfo("Bedroom 1")),
)


def test_a_tool_that_cannot_name_the_one_described_is_not_offered() -> None:
    from custom_components.needle.policy import decoder_tools

    home = TRV_HOME
    tools = (
        ToolSchema(
            "HassSetPosition",
            "",
            (ToolParam("name", enum=("Bedroom 4 Fyrtur",)), ToolParam("position", "integer")),
        ),
        ToolSchema(
            "HassClimateSetTemperature",
            "",
            (ToolParam("name", enum=("Bedroom 4 TRV",)), ToolParam("temperature", "number")),
        ),
    )
    got = decoder_tools(tools, "bedroom 4 trv to 19", home, None)
    assert [t.name for t in got] == ["HassClimateSetTemperature"]
    # a device no command of the prompt can name leaves every tool
    assert decoder_tools(tools[:1], "bedroom 4 trv to 19", home, None) == tools[:1]


def test_a_list_is_the_one_the_sentence_says_most_of() -> None:
    from custom_components.needle.policy import decoder_tools

    home = HomeContext(
        entities=(
            EntityInfo("todo.bring", "Bring", "todo"),
            EntityInfo("todo.house", "House Shopping", "todo"),
            EntityInfo("todo.bins", "Bin Rota", "todo"),
        ),
    )
    lists = ("Bring", "House Shopping", "Bin Rota")
    add = ToolSchema(
        "HassListAddItem", "", (ToolParam("item", required=True), ToolParam("name", enum=lists))
    )
    for text, meant in (
        ("add eggs to bring", ("Bring",)),
        ("put bin bags on the house shopping", ("House Shopping",)),
        ("add recycling out tuesday to the bin rota", ("Bin Rota",)),
        ("add eggs to the list", lists),  # no list said: the choice stays
    ):
        assert _names(decoder_tools((add,), text, home, None), "HassListAddItem") == meant, text


def test_a_command_on_another_device_than_the_one_described_is_not_run() -> None:
    home = TRV_HOME
    tools = (
        ToolSchema("HassSetPosition", "", (*TARGET, ToolParam("position", "integer"))),
        ToolSchema("HassClimateSetTemperature", "", (*TARGET, ToolParam("temperature", "number"))),
    )
    text = "bedroom 4 trv to 19"
    for call in (
        ToolCall("HassSetPosition", {"name": "Bedroom 4 Fyrtur", "position": 19}),
        ToolCall("HassSetPosition", {"area": "Bedroom 4", "position": 19}),
    ):
        decision = decide(text, [call], [0.99], tools, home)
        assert not decision.act and decision.held[0].kind == WRONG_DEVICE, call
    right = ToolCall("HassClimateSetTemperature", {"name": "Bedroom 4 TRV", "temperature": 19})
    assert decide(text, [right], [0.99], tools, home).act == [right]


def test_the_shopping_list_is_asked_for_where_the_home_has_several_lists() -> None:
    home = HomeContext(
        entities=(
            EntityInfo("todo.shopping_list", "Shopping List", "todo"),
            EntityInfo("todo.hardware", "Hardware Shop", "todo"),
        ),
    )
    tools = (
        ToolSchema("HassShoppingListAddItem", "", (ToolParam("item"),)),
        ToolSchema("HassListAddItem", "", (ToolParam("item"), ToolParam("name"))),
    )
    add = ToolCall("HassShoppingListAddItem", {"item": "batteries"})
    decision = decide("add batteries to the list", [add], [0.99], tools, home)
    assert decision.kind == ASK and not decision.act
    assert question(decision.pending) == "Which one do you mean: Shopping List or Hardware Shop?"
    answer = resolve(decision.pending, "the hardware one", home)
    assert answer.calls == (
        ToolCall("HassListAddItem", {"item": "batteries", "name": "Hardware Shop"}),
    )
    # the shopping list said, or the only list: added there
    assert decide("add batteries to the shopping list", [add], [0.99], tools, home).act == [add]
    one = HomeContext(entities=home.entities[:1])
    assert decide("add batteries to the list", [add], [0.99], tools, one).act == [add]


def test_the_decoder_is_only_ever_narrowed_and_nothing_raises() -> None:
    """Random homes, tools and sentences: ``decoder_tools`` returns a subset of the tools, each
    with enums that are subsets of the prompt's (never a value the prompt did not offer), and
    ``fit_read`` keeps a call's tool and name."""
    import random

    from custom_components.needle.fit import fit_read
    from custom_components.needle.policy import decoder_tools

    rng = random.Random(7)
    words_ = ("kitchen", "lamp", "door", "front", "wiz", "4", "shopping", "list", "fan", "", "TV")
    domains = ("light", "switch", "binary_sensor", "sensor", "todo", "cover", "lock", "person")
    for _ in range(300):
        areas = tuple(AreaInfo(rng.choice(("Kitchen", "Bedroom 4", "Hall"))) for _ in range(2))
        ents = tuple(
            EntityInfo(
                f"{d}.e{i}",
                " ".join(rng.sample(words_, rng.randint(1, 3))).strip() or "X",
                d,
                area=rng.choice((None, *(a.name for a in areas))),
                device_class=rng.choice((None, "door", "battery")),
            )
            for i, d in enumerate(rng.choices(domains, k=rng.randint(0, 8)))
        )
        home = HomeContext(entities=ents, areas=areas)
        names = tuple(dict.fromkeys(n for e in ents for n in e.names)) or None
        tools = tuple(
            ToolSchema(t, "", (ToolParam("name", enum=names), ToolParam("area")))
            for t in ("HassTurnOn", "HassGetState", "HassListAddItem", "HassGetWeather")
        )
        text = " ".join(rng.choices((*words_, "is", "turn", "on", "add", "to", "19"), k=5))
        got = decoder_tools(tools, text, home, None)
        by_name = {t.name: t for t in tools}
        for t in got:
            for p in t.params:
                offered = by_name[t.name].param(p.name)
                assert offered is not None
                assert p.enum is None or offered.enum is None or set(p.enum) <= set(offered.enum)
        if names:
            call = ToolCall("HassGetState", {"name": rng.choice(names), "state": ["on"]})
            fitted = fit_read(call, home)
            assert (fitted.name, fitted.arguments["name"]) == (call.name, call.arguments["name"])


@pytest.mark.parametrize(
    ("text", "model", "item"),
    [
        ("can you stick oat milk on groceries", "milk", "oat milk"),
        ("put AA batteries on my hardware list", "batteries", "AA batteries"),
        ("add whole wheat bread to shopping", "bread", "whole wheat bread"),
        # an article, a conjunction, a polite word end it; no list preposition after it: as is
        ("add some eggs to the list", "eggs", "eggs"),
        ("add milk and eggs to the list", "eggs", "eggs"),
        ("i need oat milk", "milk", "milk"),
        ("add eggs to the list", "eggs", "eggs"),
    ],
)
def test_a_list_item_keeps_the_words_in_front_of_it(text: str, model: str, item: str) -> None:
    from custom_components.needle.fit import fit_call

    call = ToolCall("HassListAddItem", {"item": model, "name": "Groceries"})
    fitted, decided = fit_call(call, HOME, text)
    assert fitted.arguments == {"item": item, "name": "Groceries"} and not decided


def test_a_name_several_rooms_share_is_fitted_to_the_room_meant_or_asked() -> None:
    from custom_components.needle.fit import fit_call

    home = HomeContext(
        entities=(
            EntityInfo("light.a", "Smart Bulb", "light", area="Priya's Room"),
            EntityInfo("light.b", "Smart Bulb", "light", area="Tom's Room"),
            EntityInfo("lock.a", "Door", "lock", area="Tom's Room"),
            EntityInfo("lock.b", "Door", "lock", area="Priya's Room"),
        ),
        areas=(AreaInfo("Priya's Room"), AreaInfo("Tom's Room")),
    )
    off = ToolCall("HassTurnOff", {"name": "Smart Bulb"})
    # the room's own words said ("Priya's" for Priya's Room), or the satellite's room; the
    # policy takes the possessive as the room said
    fitted = fit_call(off, home, "Priya's smart bulb off")[0]
    assert fitted.arguments["area"] == "Priya's Room"
    tools = (ToolSchema("HassTurnOff", "", TARGET),)
    assert decide("Priya's smart bulb off", [fitted], (0.99,), tools, home).act == [fitted]
    assert fit_call(off, home, "smart bulb off", "Tom's Room")[0].arguments["area"] == "Tom's Room"
    read = ToolCall("HassGetState", {"name": "Door", "state": ["locked"]})
    assert fit_call(read, home, "is Tom's door locked")[0].arguments["area"] == "Tom's Room"
    # neither: unchanged, and the policy asks which room
    assert fit_call(off, home, "smart bulb off")[0] == off
    decision = decide("smart bulb off", [off], (0.99,), tools, home)
    assert decision.act == [] and decision.pending is not None
    assert decision.pending.key == "area"
    assert [c[0] for c in decision.pending.candidates] == ["Priya's Room", "Tom's Room"]


def test_a_room_wide_command_takes_the_one_kind_said() -> None:
    from custom_components.needle.fit import fit_call

    room = ToolCall("HassTurnOn", {"area": "Office"})
    assert fit_call(room, HOME, "fan on in the office")[0].arguments == {
        "area": "Office", "domain": ["fan"],
    }  # fmt: skip
    # two kinds, a kind of two domains, no kind, or a device named: as it is
    for text in ("fan and lamp on in the office", "open the door in the office", "office on"):
        assert fit_call(room, HOME, text)[0] == room, text
    named = ToolCall("HassTurnOn", {"area": "Office", "name": "Office Fan"})
    assert fit_call(named, HOME, "fan on in the office")[0] == named


def test_a_call_on_a_room_goes_to_the_room_said() -> None:
    from custom_components.needle.fit import fit_call

    blinds = ToolCall("HassSetPosition", {"area": "Bedroom", "domain": ["cover"], "position": 30})
    fitted, decided = fit_call(blinds, HOME, "blinds in the office to 30")
    assert fitted.arguments["area"] == "Office" and decided == {"area"}
    # the room said, no room said, or two: as the model wrote it
    for text in ("bedroom blinds to 30", "blinds to 30", "office and kitchen blinds to 30"):
        assert fit_call(blinds, HOME, text)[0] == blinds, text


def test_a_read_no_exposed_device_can_answer_is_not_run() -> None:
    tools = (ToolSchema("HassGetState", "", (*TARGET, ToolParam("device_class", "array"))),)
    for args in (
        {"area": "Kitchen", "domain": ["binary_sensor"], "device_class": ["temperature"]},
        {"area": "Bedroom", "domain": ["fan"]},
    ):
        call = ToolCall("HassGetState", args)
        decision = decide("what's still on in there?", [call], (0.99,), tools, HOME)
        assert decision.act == [] and decision.held[0].kind == NO_MATCH, args
    fans = ToolCall("HassGetState", {"area": "Office", "domain": ["fan"]})
    assert decide("which fans are in the office?", [fans], (0.99,), tools, HOME).act == [fans]
    # a yes/no read runs: "any fans on in the bedroom" is answered "No." by HA
    on = ToolCall("HassGetState", {"area": "Bedroom", "domain": ["fan"], "state": ["on"]})
    assert decide("any fans on in the bedroom?", [on], (0.99,), tools, HOME).act == [on]


def test_the_room_said_is_the_one_with_the_most_of_its_words_said() -> None:
    from custom_components.needle.policy import areas_named

    home = HomeContext(
        entities=(),
        areas=(AreaInfo("Room A", aliases=("Tom's Room",)), AreaInfo("Room B"), AreaInfo("Hall")),
    )
    # "a" is no word of a name: Room A is "room"; "room b" says Room B, not both
    assert areas_named("room b heater on", home) == {"Room B"}
    assert areas_named("Tom's lamp on", home) == {"Room A"}
    assert areas_named("lamps in room b and the hall", home) == {"Room B", "Hall"}


def test_a_temperature_nobody_asked_for_is_not_read() -> None:
    from custom_components.needle.policy import decoder_tools

    temp = ToolSchema("HassClimateGetTemperature", "", (ToolParam("area"),))
    tools = (temp, ToolSchema("HassTurnOn", "", TARGET))
    call = ToolCall("HassClimateGetTemperature", {"area": "Kitchen"})
    held = decide("remind me how tall mount everest is", [call], (0.99,), tools, HOME)
    assert held.act == [] and held.held[0].kind == NOT_ASKED
    assert [t.name for t in decoder_tools(tools, "remind me how tall mount everest is", HOME,
                                          None)] == ["HassTurnOn"]  # fmt: skip
    # a temperature said, or asked about: read
    for text in ("kitchen temperature", "how warm is the kitchen?"):
        assert decide(text, [call], (0.99,), tools, HOME).act == [call], text


def test_the_decoder_is_not_offered_the_direction_the_sentence_rules_out() -> None:
    from custom_components.needle.policy import decoder_tools

    tools = (ToolSchema("HassTurnOn", "", TARGET), ToolSchema("HassTurnOff", "", TARGET))
    names = [t.name for t in decoder_tools(tools, "office fan off please", HOME, None)]
    assert names == ["HassTurnOff"]
    names = [t.name for t in decoder_tools(tools, "switch on the office fan", HOME, None)]
    assert names == ["HassTurnOn"]
    # neither said, or both: both stay
    for text in ("kill the office fan", "office fan on, desk lamp off"):
        assert decoder_tools(tools, text, HOME, None) == tools, text
    # a timer tool needs a timer said
    timers = (*tools, ToolSchema("HassPauseTimer", "", (ToolParam("area"),)))
    assert "HassPauseTimer" not in [t.name for t in decoder_tools(timers, "pause the office",
                                                                  HOME, None)]  # fmt: skip
    assert "HassPauseTimer" in [t.name for t in decoder_tools(timers, "pause the timer", HOME,
                                                              None)]  # fmt: skip


def test_a_room_call_where_the_sentence_describes_one_device_switches_that_one() -> None:
    from custom_components.needle.fit import fit_call

    home = HomeContext(
        entities=(
            *HOME.entities,
            EntityInfo("light.yee", "Yeelight Strip", "light", area="Office"),
        ),
        areas=HOME.areas,
    )
    room = ToolCall("HassTurnOn", {"area": "Office", "domain": ["light"]})
    assert fit_call(room, home, "yeelight on in the office")[0].arguments == {
        "name": "Yeelight Strip"
    }
    # nothing describes one device, or the one is elsewhere: the room call stays
    assert fit_call(room, home, "lights on in the office")[0] == room
    kitchen = ToolCall("HassTurnOn", {"area": "Kitchen", "domain": ["light"]})
    assert fit_call(kitchen, home, "yeelight on")[0] == kitchen


def test_a_read_of_a_room_alone_is_not_run() -> None:
    tools = (ToolSchema("HassGetState", "", (*TARGET, ToolParam("state", "array"))),)
    room = ToolCall("HassGetState", {"area": "Office"})
    decision = decide("what's the temperature in the office?", [room], (0.99,), tools, HOME)
    assert decision.act == [] and decision.held[0].kind == UNGROUNDED
    on = ToolCall("HassGetState", {"area": "Office", "state": ["on"]})
    assert decide("what is on in the office?", [on], (0.99,), tools, HOME).act == [on]


def test_a_device_pointed_at_only_by_its_room_is_asked_about() -> None:
    home = HomeContext(
        entities=(
            EntityInfo("media_player.sh", "Summer House Speaker", "media_player",
                       area="Summer House"),
            EntityInfo("lock.sh", "Summer House Door", "lock", area="Summer House"),
            EntityInfo("light.sh", "Summer House Lights", "light", area="Summer House"),
        ),
        areas=(AreaInfo("Summer House"),),
    )  # fmt: skip
    speaker = ToolCall("HassTurnOn", {"name": "Summer House Speaker"})
    decision = decide("let me in the summer house", [speaker], (0.99,), TOOLS, home)
    assert decision.act == [] and decision.pending is not None
    assert {c[0] for c in decision.pending.candidates} == {
        "Summer House Speaker", "Summer House Door", "Summer House Lights",
    }  # fmt: skip
    # its own word said: run
    said = decide("summer house speaker on", [speaker], (0.99,), TOOLS, home)
    assert said.act == [speaker]


def test_a_device_said_only_by_its_room_and_kind_is_the_room_s_kind() -> None:
    from custom_components.needle.fit import fit_call

    home = HomeContext(
        entities=(
            EntityInfo("light.lr_lamp", "Living Room Lamp", "light", area="Living Room"),
            EntityInfo("light.corner", "Play Corner", "light", area="Living Room"),
            EntityInfo("light.desk", "Desk Lamp", "light", area="Office"),
        ),
        areas=(AreaInfo("Living Room"), AreaInfo("Office")),
    )
    lamp = ToolCall("HassTurnOn", {"name": "Living Room Lamp"})
    for text in ("turn on the living room light", "living room lights on"):
        assert fit_call(lamp, home, text)[0].arguments == {
            "area": "Living Room", "domain": ["light"],
        }, text  # fmt: skip
    # its full name said, or the only one of its kind in its room: as it is
    assert fit_call(lamp, home, "turn on the living room lamp")[0] == lamp
    desk = ToolCall("HassTurnOn", {"name": "Desk Lamp"})
    assert fit_call(desk, home, "turn on the office light")[0] == desk
    # a word only one of them has ("corner"): the model's pick stays, its doubt counts
    assert fit_call(lamp, home, "living room corner light on")[0] == lamp
