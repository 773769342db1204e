"""build_prompt: the one prompt builder training and the integration share."""

from __future__ import annotations

import json
import random
import re

import pytest

from custom_components.needle.engine.schema import ToolCall, ToolParam, ToolSchema, tools_json
from custom_components.needle.prompt import (
    AreaInfo,
    EntityInfo,
    FloorInfo,
    HomeContext,
    Turn,
    build_prompt,
    render_query,
    tool_catalogue_json,
    tools_from_catalogue_json,
)

TARGET = (
    ToolParam("name", "string"),
    ToolParam("area", "string"),
    ToolParam("floor", "string"),
    ToolParam("domain", "array"),
)
HA_TOOLS = (
    ToolSchema(
        "HassTurnOn",
        "Turns on/opens/presses a device or entity. For locks, this performs a 'lock' action.",
        (
            *TARGET,
            ToolParam("device_class", "array", enum=("awning", "blind", "door", "tv", "outlet")),
        ),
    ),
    ToolSchema("HassTurnOff", "Turns off/closes a device or entity.", TARGET),
    ToolSchema(
        "HassLightSet",
        "Sets the brightness percentage or color of a light",
        (
            *TARGET,
            ToolParam("color", "string"),
            ToolParam("brightness", "integer", minimum=0, maximum=100),
        ),
    ),
    ToolSchema(
        "HassSetPosition",
        "Sets the position of a device or entity",
        (*TARGET, ToolParam("position", "integer", required=True, minimum=0, maximum=100)),
    ),
    ToolSchema(
        "HassClimateSetTemperature",
        "Sets the target temperature of a climate device or entity",
        (
            ToolParam("name"),
            ToolParam("area"),
            ToolParam("floor"),
            ToolParam("temperature", "number", required=True),
        ),
    ),
    ToolSchema("HassMediaPause", "Pauses a media player", TARGET),
    ToolSchema("HassMediaUnpause", "Resumes a media player", TARGET),
    ToolSchema(
        "HassSetVolume",
        "Sets the volume percentage of a media player",
        (*TARGET, ToolParam("volume_level", "integer", required=True, minimum=0, maximum=100)),
    ),
    ToolSchema("HassVacuumStart", "Starts a vacuum", TARGET),
    ToolSchema(
        "HassStartTimer", "Starts a new timer", (ToolParam("minutes", "integer"), ToolParam("name"))
    ),
    ToolSchema(
        "HassBroadcast",
        "Broadcast a message through the home",
        (ToolParam("message", required=True),),
    ),
    ToolSchema(
        "HassShoppingListAddItem",
        "Adds an item to the shopping list",
        (ToolParam("item", required=True),),
    ),
    ToolSchema("GetLiveContext", "Provides real-time information", ()),
)

FLOORS = (FloorInfo("Ground Floor", ("downstairs",)), FloorInfo("First Floor", ("upstairs",)))
AREAS = (
    AreaInfo("Kitchen", floor="Ground Floor"),
    AreaInfo("Living Room", ("lounge",), floor="Ground Floor"),
    AreaInfo("Bedroom", floor="First Floor"),
)
SMALL_HOME = HomeContext(
    entities=(
        EntityInfo("light.kitchen", "Kitchen Light", "light", area="Kitchen", floor="Ground Floor"),
        EntityInfo(
            "light.bed",
            "Bedside Lamp",
            "light",
            ("reading lamp",),
            area="Bedroom",
            floor="First Floor",
        ),
        EntityInfo(
            "cover.lr", "Living Room Blinds", "cover", area="Living Room", device_class="blind"
        ),
        EntityInfo("climate.hall", "Thermostat", "climate", area="Living Room"),
        EntityInfo("lock.front", "Front Door", "lock"),
        EntityInfo("media_player.tv", "TV", "media_player", area="Living Room", device_class="tv"),
    ),
    areas=AREAS,
    floors=FLOORS,
)


def word_tokens(text: str) -> int:
    """A simple stand-in tokenizer: words and single punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def tool(prompt, name):
    return next(t for t in prompt.tools if t.name == name)


def test_small_home_enums_filled():
    p = build_prompt("turn on the kitchen light", SMALL_HOME, HA_TOOLS, max_encoder_tokens=4096)
    assert p.query == "turn on the kitchen light"
    on = tool(p, "HassTurnOn")
    assert on.param("name").enum == (
        "Bedside Lamp", "Front Door", "Kitchen Light", "Living Room Blinds", "reading lamp", "Thermostat", "TV",
    )  # fmt: skip
    assert on.param("area").enum == ("Bedroom", "Kitchen", "Living Room", "lounge")
    assert on.param("floor") is None  # no floor named: no floor parameter
    upstairs = build_prompt("turn off everything upstairs", SMALL_HOME, HA_TOOLS)
    assert tool(upstairs, "HassTurnOff").param("floor").enum == ("First Floor", "upstairs")
    assert on.param("domain").enum == ("climate", "cover", "light", "lock", "media_player")
    # HA's device class list narrowed to what the home has
    assert on.param("device_class").enum == ("blind", "tv")
    # per-tool domains: only lights for HassLightSet, only the TV for volume
    assert tool(p, "HassLightSet").param("name").enum == (
        "Bedside Lamp",
        "Kitchen Light",
        "reading lamp",
    )
    assert tool(p, "HassLightSet").param("brightness").maximum == 100
    assert tool(p, "HassSetVolume").param("name").enum == ("TV",)
    assert tool(p, "HassClimateSetTemperature").param("temperature").required
    # free-text timer names stay free, tools without a matching domain or answering data go
    assert tool(p, "HassStartTimer").param("name").enum is None
    names = [t.name for t in p.tools]
    assert "HassVacuumStart" not in names and "GetLiveContext" not in names
    assert names == sorted(names)
    assert "HassShoppingListAddItem" in names  # virtual domain: kept without entities
    # description cut to the first sentence
    assert on.description == "Turns on/opens/presses a device or entity."
    json.loads(tools_json(p.tools))


def test_tight_window_focuses_tools_then_keeps_all_entities():
    """Too big for the window: the tools the learned retrieval ranks first, then candidates."""
    p = build_prompt("turn on the kitchen light", SMALL_HOME, HA_TOOLS, max_encoder_tokens=700)
    names = [t.name for t in p.tools]
    assert "HassTurnOn" in names and "HassStartTimer" not in names
    assert names == sorted(names) and 2 <= len(names) <= 6
    assert len(p.entities) == len(SMALL_HOME.entities)
    p = build_prompt("pause the music in the lounge", SMALL_HOME, HA_TOOLS, max_encoder_tokens=700)
    assert "HassMediaPause" in [t.name for t in p.tools]
    assert "HassStartTimer" not in [t.name for t in p.tools]
    p = build_prompt("start a timer for 5 minutes", SMALL_HOME, HA_TOOLS, max_encoder_tokens=700)
    assert "HassStartTimer" in [t.name for t in p.tools]


def test_deterministic_and_order_independent():
    a = build_prompt("open the blinds", SMALL_HOME, HA_TOOLS, satellite_area="Kitchen")
    shuffled = list(HA_TOOLS)
    random.Random(3).shuffle(shuffled)
    b = build_prompt("open the blinds", SMALL_HOME, shuffled, satellite_area="Kitchen")
    assert a == b
    assert tools_json(a.tools) == tools_json(b.tools)


def test_satellite_area_in_query():
    p = build_prompt("  turn on   the lights ", SMALL_HOME, HA_TOOLS, satellite_area="Kitchen")
    assert p.query == "turn on the lights\narea: Kitchen"


def test_previous_turn_rendered():
    prev = Turn(
        "turn on the bedroom lights",
        (ToolCall("HassTurnOn", {"area": "Bedroom", "domain": ["light"]}),),
    )
    p = build_prompt(
        "and the kitchen too", SMALL_HOME, HA_TOOLS, satellite_area="Living Room", previous=prev
    )
    assert p.query == (
        "and the kitchen too\narea: Living Room\nprevious: turn on the bedroom lights\n"
        'previous calls: [{"name":"hass_turn_on","arguments":{"area":"Bedroom","domain":["light"]}}]'
    )
    assert render_query("x", previous=Turn("y")) == "x\nprevious: y"


def test_empty_sentence_refused():
    with pytest.raises(ValueError):
        build_prompt("   ", SMALL_HOME, HA_TOOLS)


def big_home(n: int = 300) -> HomeContext:
    rooms = [
        "Kitchen",
        "Living Room",
        "Bedroom",
        "Office",
        "Garage",
        "Hallway",
        "Bathroom",
        "Attic",
        "Porch",
        "Den",
    ]
    kinds = [("light", "Light", None), ("light", "Lamp", None), ("switch", "Plug", "outlet"),
             ("cover", "Blinds", "blind"), ("media_player", "Speaker", "speaker"), ("sensor", "Temperature", "temperature"),
             ("fan", "Fan", None), ("lock", "Lock", None), ("climate", "Thermostat", None), ("binary_sensor", "Motion", "motion")]  # fmt: skip
    entities = []
    for i in range(n):
        room = rooms[i % len(rooms)]
        domain, kind, dc = kinds[(i // len(rooms)) % len(kinds)]
        entities.append(
            EntityInfo(
                f"{domain}.e{i}",
                f"{room} {kind} {i // 100 + 1}",
                domain,
                area=room,
                device_class=dc,
            )
        )
    areas = tuple(
        AreaInfo(r, floor="Ground Floor" if k < 5 else "First Floor") for k, r in enumerate(rooms)
    )
    return HomeContext(tuple(entities), areas, FLOORS)


def test_big_home_fits_window_and_keeps_matches():
    home = big_home()
    full = build_prompt(
        "x", home, HA_TOOLS, max_entities=1000, max_encoder_tokens=10**9, count_tokens=word_tokens
    )
    assert (
        word_tokens(full.query) + 1 + word_tokens(tools_json(full.tools)) > 1024
    )  # really too big
    for sentence, want in [
        ("turn on the office lamp 2", "Office Lamp 2"),
        ("open the garage blinds 3", "Garage Blinds 3"),
        ("set the porch fan 1 off", "Porch Fan 1"),
    ]:
        p = build_prompt(sentence, home, HA_TOOLS, max_entities=1000, count_tokens=word_tokens)
        total = word_tokens(p.query) + 1 + word_tokens(tools_json(p.tools))
        assert total <= 1024, (sentence, total)
        assert want in tool(p, "HassTurnOn").param("name").enum
        assert p.entities[0].name == want
        # the word counter charges every quote and comma: ~8 candidates still fit
        assert len(p.entities) >= 8


def test_satellite_area_preferred_when_ambiguous():
    home = big_home()
    p = build_prompt(
        "turn on the lights",
        home,
        HA_TOOLS,
        satellite_area="Attic",
        max_entities=12,
        count_tokens=word_tokens,
    )
    top = p.entities[:6]
    assert all(e.area == "Attic" and e.domain == "light" for e in top)
    assert "Attic" in tool(p, "HassTurnOn").param("area").enum


def test_previous_turn_entities_stay_candidates():
    home = big_home()
    prev = Turn("turn on den lamp 3", (ToolCall("HassTurnOn", {"name": "Den Lamp 3"}),))
    p = build_prompt(
        "make it brighter", home, HA_TOOLS, previous=prev, max_entities=5, count_tokens=word_tokens
    )
    assert p.entities[0].name == "Den Lamp 3"
    assert "Den Lamp 3" in tool(p, "HassLightSet").param("name").enum


def test_tiny_window_keeps_core_tools():
    p = build_prompt(
        "turn on the kitchen light",
        SMALL_HOME,
        HA_TOOLS,
        max_encoder_tokens=80,
        count_tokens=word_tokens,
    )
    assert {t.name for t in p.tools} <= {"HassTurnOn", "HassTurnOff"}
    assert word_tokens(p.query) + 1 + word_tokens(tools_json(p.tools)) <= 80


def test_catalogue_round_trip():
    text = tool_catalogue_json(HA_TOOLS)
    back = tools_from_catalogue_json(text)
    assert sorted(back, key=lambda t: t.name) == sorted(HA_TOOLS, key=lambda t: t.name)
    with pytest.raises(ValueError):
        tools_from_catalogue_json('{"name": 1}')
    with pytest.raises(ValueError):
        tools_from_catalogue_json('[{"description": "no name"}]')


def test_prompt_package_importable_by_training():
    """Training imports prompt.py with Python 3.11 and no Home Assistant: the package's
    __init__, const and prompt must parse as 3.11 and import HA only where it is not run."""
    import ast
    from pathlib import Path

    package = Path(__file__).parents[2] / "custom_components" / "needle"
    for name in ("__init__.py", "const.py", "prompt.py"):
        tree = ast.parse((package / name).read_text(), feature_version=(3, 11))
        for node in tree.body:  # module level only; TYPE_CHECKING blocks are ast.If
            if isinstance(node, ast.Import | ast.ImportFrom):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                assert not (module or "").startswith("homeassistant"), (name, module)


def test_media_sentence_gets_only_the_media_tools_it_names():
    """A media player has five tools (~470 tokens); showing them all left no room for the
    entities in a 320-token window. The retrieval offers the ones the sentence is about."""
    names = lambda p: [t.name for t in p.tools]  # noqa: E731
    p = build_prompt("pause the music on the tv", SMALL_HOME, HA_TOOLS, max_encoder_tokens=320)
    assert "HassMediaPause" in names(p) and "HassSetVolume" not in names(p)
    p = build_prompt("turn the tv volume up to 40", SMALL_HOME, HA_TOOLS, max_encoder_tokens=320)
    assert "HassSetVolume" in names(p) and "HassStartTimer" not in names(p)
    assert any(e.domain == "media_player" for e in p.entities)
    p = build_prompt("turn on the tv", SMALL_HOME, HA_TOOLS, max_encoder_tokens=320)
    assert "HassTurnOn" in names(p)
    assert any(e.domain == "media_player" for e in p.entities)


VACUUM_HOME = HomeContext(
    entities=(
        *SMALL_HOME.entities,
        EntityInfo("vacuum.rock", "Roborock S7", "vacuum", area="Kitchen"),
        EntityInfo("fan.kitchen", "Kitchen Fan", "fan", area="Kitchen"),
    ),
    areas=AREAS,
    floors=FLOORS,
)
VACUUM_TOOLS = (
    *HA_TOOLS,
    ToolSchema("HassVacuumReturnToBase", "Returns a vacuum to base", TARGET),
)


def test_verbs_without_a_tool_word_reach_their_tool():
    """The old keyword filter kept a domain's tools only when the sentence contained a word of
    their name, so "stop the vacuum" never saw the return-to-base tool."""
    for sentence, want in [
        ("stop the vacuum", "HassVacuumReturnToBase"),
        ("send the roborock home", "HassVacuumReturnToBase"),
        ("resume the tv", "HassMediaUnpause"),
        ("make the thermostat 21 degrees", "HassClimateSetTemperature"),
    ]:
        p = build_prompt(sentence, VACUUM_HOME, VACUUM_TOOLS, max_encoder_tokens=320)
        assert want in [t.name for t in p.tools], sentence


def test_two_actions_get_both_tools_and_both_targets():
    p = build_prompt(
        "dim the kitchen light to 30 percent and then open the living room blinds",
        VACUUM_HOME,
        VACUUM_TOOLS,
        max_encoder_tokens=320,
    )
    names = [t.name for t in p.tools]
    assert "HassLightSet" in names and "HassTurnOn" in names
    assert {"Kitchen Light", "Living Room Blinds"} <= set(tool(p, "HassTurnOn").param("name").enum)


def test_misspelt_area_still_found():
    home = big_home()
    p = build_prompt("turn off the lights in the hallwya", home, HA_TOOLS, count_tokens=word_tokens)
    assert "Hallway" in tool(p, "HassTurnOff").param("area").enum


def test_retrieval_features_and_fallback():
    from custom_components.needle.prompt import Retriever, retrieval_features

    feats = retrieval_features(
        "Set it to 40 percent", Turn("dim the lamp", (ToolCall("HassLightSet", {}),))
    )
    assert {"set", "<n>", "set_it", "prev=HassLightSet", "prev=HassLightSet|it"} <= feats
    # An empty index ranks every tool alike (no crash, no preference).
    tools, domains = Retriever({}).rank("stop the vacuum", None, ["A", "B"], ["light"])
    assert tools == {"A": 0.5, "B": 0.5} and domains == {"light": 1.0}


def test_state_words_bring_their_device_class_into_the_window():
    """A home with many binary sensors: "plugged in" names no sensor and no class, yet the
    class head of the learned retrieval puts a plug sensor among the candidates."""
    classes = ["motion", "door", "window", "battery", "connectivity", "occupancy", "smoke",
               "moisture", "presence", "problem", "running", "sound", "vibration", "opening"]  # fmt: skip
    rooms = ["Kitchen", "Hall", "Office", "Garage", "Bedroom", "Bathroom", "Attic", "Porch"]
    ents = [
        EntityInfo(
            f"binary_sensor.{r.lower()}_{c}", f"{r} {c.title()}", "binary_sensor", area=r,
            device_class=c,
        )
        for r in rooms
        for c in classes
    ]
    ents.append(
        EntityInfo("binary_sensor.phone_plug", "Phone", "binary_sensor", device_class="plug")
    )
    home = HomeContext(entities=tuple(ents), areas=tuple(AreaInfo(r) for r in rooms))
    p = build_prompt("are any devices plugged in?", home, HA_TOOLS, max_entities=24)
    assert "binary_sensor.phone_plug" in [e.entity_id for e in p.entities]
    motion = [e for e in p.entities if e.device_class == "motion"]
    assert len(motion) < len(rooms)  # the other classes do not crowd it out, nor fill the window
    from custom_components.needle.prompt import Retriever

    assert Retriever({}).classes("is it wet", None, ["binary_sensor.moisture"]) == {
        "binary_sensor.moisture": 0.5  # against "no class": an empty index knows nothing
    }
