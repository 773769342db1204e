"""The state a question asks about (``states.asked_states``) and how a read takes it
(``policy.fit_read``); no HA needed."""

from __future__ import annotations

import pytest

from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.fit import fit_read
from custom_components.needle.prompt import EntityInfo, HomeContext
from custom_components.needle.states import asked_states


@pytest.mark.parametrize(
    ("text", "domain", "device_class", "name", "states"),
    [
        # HA's state names and their everyday words, per domain and device class
        ("is the sump sensor wet", "binary_sensor", "moisture", "Sump Sensor", {"on"}),
        ("is the sump sensor dry", "binary_sensor", "moisture", "Sump Sensor", {"off"}),
        ("is the server rack hot", "binary_sensor", "heat", "Server Rack", {"on"}),
        ("is the loft hatch ajar", "binary_sensor", "opening", "Loft Hatch", {"on"}),
        ("is the router online", "binary_sensor", "connectivity", "Router", {"on"}),
        ("is the nas up to date", "binary_sensor", "update", "NAS", {"off"}),
        ("is Priya back yet", "person", None, "Priya", {"home"}),
        ("is Priya in", "person", None, "Priya", {"home"}),
        ("is Priya not home", "person", None, "Priya", {"not_home"}),
        ("is the shed lock open", "lock", None, "Shed Lock", {"unlocked"}),
        ("is the awning down", "cover", "awning", "Awning", {"closed"}),
        ("is the mower cleaning", "vacuum", None, "Mower", {"cleaning"}),
        ("is the hall lamp lit", "light", None, "Hall Lamp", {"on"}),
        ("is the gate still moving", "binary_sensor", "moving", "Gate", {"on"}),
        # an alarm goes off; a heater is turned off
        ("has the co alarm gone off", "binary_sensor", "carbon_monoxide", "CO Alarm", {"on"}),
        ("has the heater gone off", "switch", None, "Heater", {"off"}),
        # turned round: "not", and a thing forgotten
        ("is the cellar door not shut", "binary_sensor", "door", "Cellar Door", {"on"}),
        ("did I forget to switch off the kettle", "switch", None, "Kettle", {"on"}),
        ("did we forget to close the skylight", "cover", None, "Skylight", {"open"}),
        # "which": both said; none said; a state word that belongs to the name
        ("cellar door, open or shut?", "binary_sensor", "door", "Cellar Door", {"on", "off"}),
        ("what is the kettle doing", "switch", None, "Kettle", set()),
        ("is the Up Stairs Blind down", "cover", None, "Up Stairs Blind", {"closed"}),
        ("is the Open Plan Light on", "light", None, "Open Plan Light", {"on"}),
        ("is the Open Plan Light bright", "light", None, "Open Plan Light", set()),
        # "in"/"out" only at the end ("is Priya out in the garden" says no state of hers)
        ("is Priya out in the garden", "person", None, "Priya", set()),
        # climate and sensors are left to the model
        ("is the thermostat on", "climate", None, "Thermostat", set()),
    ],
)
def test_the_state_said(
    text: str, domain: str, device_class: str | None, name: str, states: set[str]
) -> None:
    assert asked_states(text, domain, device_class, [name]) == states


HOME = HomeContext(
    entities=(
        EntityInfo("binary_sensor.flap_door", "Cat Flap", "binary_sensor", device_class="door"),
        EntityInfo("binary_sensor.flap_lock", "Cat Flap", "binary_sensor", device_class="lock"),
        EntityInfo("light.porch", "Porch Light", "light"),
        EntityInfo("sensor.flap_battery", "Flap Battery", "sensor", device_class="battery"),
        EntityInfo("lock.side", "Side Gate", "lock"),
    ),
)


def _read(text: str, **args: object) -> dict[str, object]:
    return fit_read(ToolCall("HassGetState", dict(args)), HOME, text).arguments


def test_a_read_asks_for_the_state_the_sentence_says() -> None:
    # the model's state contradicts the sentence, or is missing: the sentence's wins
    assert _read("did somebody leave the porch light on", name="Porch Light", state=["off"]) == {
        "name": "Porch Light", "state": ["on"],
    }  # fmt: skip
    assert _read("have we left the side gate open", name="Side Gate") == {
        "name": "Side Gate", "state": ["unlocked"],
    }  # fmt: skip
    # "open or closed?": HA reads the state out
    assert _read("side gate: locked or unlocked?", name="Side Gate", state=["locked"]) == {
        "name": "Side Gate"
    }
    # nothing said: the model's state, in the device's terms
    assert _read("what about the side gate", name="Side Gate", state=["on"]) == {
        "name": "Side Gate", "state": ["unlocked"],
    }  # fmt: skip
    # a sensor is still asked for its value, whatever the sentence says
    assert _read("is the flap battery low", name="Flap Battery", state=["on"]) == {
        "name": "Flap Battery"
    }


def test_namesakes_are_told_apart_by_the_state_said() -> None:
    # two binary sensors called Cat Flap: HA cannot tell which is meant ("could not find");
    # the state word can
    assert _read("is the cat flap open", name="Cat Flap") == {
        "name": "Cat Flap", "domain": ["binary_sensor"], "device_class": ["door"], "state": ["on"],
    }  # fmt: skip
    assert _read("is the cat flap locked", name="Cat Flap") == {
        "name": "Cat Flap", "domain": ["binary_sensor"], "device_class": ["lock"],
        "state": ["off"],
    }  # fmt: skip
    # "on" fits both: nothing is chosen
    assert _read("is the cat flap on", name="Cat Flap") == {"name": "Cat Flap"}
    # the model chose a namesake whose state the sentence does not say: the other is meant
    assert _read("is the cat flap ajar", name="Cat Flap", device_class=["lock"]) == {
        "name": "Cat Flap", "domain": ["binary_sensor"], "device_class": ["door"], "state": ["on"],
    }  # fmt: skip


def test_what_the_sentence_decided_does_not_count_against_the_model() -> None:
    from custom_components.needle.fit import fit_call, fitted_confidence

    model = ToolCall("HassGetState", {"name": "Cat Flap", "device_class": ["lock"]})
    fitted, decided = fit_call(model, HOME, "is the cat flap ajar")
    by_argument = {"": 0.9, "name": 0.8, "device_class": 0.3}
    # the class the model doubted was replaced by the one the sentence says, and the name is
    # said in full: only the rest of the call counts
    assert fitted_confidence(model, fitted, 0.3, by_argument, decided) == 0.9
    # an argument the sentence did not decide still counts (no state said here)
    kept = ToolCall("HassGetState", {"name": "Porch Light", "state": ["on"]})
    on, decided = fit_call(kept, HOME, "what about the porch light")
    assert on == kept and "state" not in decided
    assert fitted_confidence(kept, on, 0.3, {"": 0.9, "name": 0.8, "state": 0.3}, decided) == 0.3
    # no per-argument numbers (an engine that reports none): as it was
    assert fitted_confidence(model, fitted, 0.3, {}, decided) == 0.3
    # a state the model wrote as the sentence says it: the sentence decided it
    from custom_components.needle.fit import fit_read_decided

    said = ToolCall("HassGetState", {"name": "Porch Light", "state": ["on"]})
    same, decided = fit_read_decided(said, HOME, "did somebody leave the porch light on")
    assert same == said and decided == {"state"}
    per_arg = {"": 0.9, "name": 0.8, "state": 0.3}
    assert fitted_confidence(said, same, 0.3, per_arg, decided) == 0.8


def test_a_read_of_a_kind_of_device_asks_for_the_state_said() -> None:
    read = {"domain": ["binary_sensor"], "device_class": ["window"], "state": ["off"]}
    assert _read("are any windows not closed", **read)["state"] == ["on"]
    # several classes, or none said: as the model wrote it
    assert _read("are any windows or doors open", domain=["binary_sensor"],
                 device_class=["window", "door"], state=["off"])["state"] == ["off"]  # fmt: skip
    assert _read("which windows", **read)["state"] == ["off"]


def test_a_read_of_a_kind_of_device_keeps_the_one_area_said() -> None:
    from custom_components.needle.prompt import AreaInfo, FloorInfo

    home = HomeContext(
        entities=HOME.entities,
        areas=(AreaInfo("Sun Room", floor="Ground"), AreaInfo("Loft")),
        floors=(FloorInfo("Ground"),),
    )
    blinds = {"domain": ["cover"], "device_class": ["blind"], "state": ["open"]}

    def read(text: str, **args: object) -> dict[str, object]:
        return fit_read(ToolCall("HassGetState", dict(args)), home, text).arguments

    assert read("any sun room blinds open?", **blinds)["area"] == "Sun Room"
    # the model's place stays; two places, or none, add none
    assert read("any sun room blinds open?", **blinds, area="Loft")["area"] == "Loft"
    assert "area" not in read("any blinds open in the sun room or the loft?", **blinds)
    assert "area" not in read("any blinds open?", **blinds)
    assert "area" not in read("any blinds open downstairs?", **blinds, floor="Ground")


def test_a_read_of_a_kind_of_device_takes_the_class_its_state_word_says() -> None:
    home = HomeContext(
        entities=(
            EntityInfo("binary_sensor.tablet_home", "Tablet", "binary_sensor",
                       device_class="presence"),
            EntityInfo("binary_sensor.tablet_net", "Tablet Wifi", "binary_sensor",
                       device_class="connectivity"),
            EntityInfo("binary_sensor.washer", "Washer", "binary_sensor", device_class="running"),
        ),
    )  # fmt: skip

    def read(text: str, device_class: str) -> dict[str, object]:
        call = ToolCall(
            "HassGetState", {"domain": ["binary_sensor"], "device_class": [device_class]}
        )
        return fit_read(call, home, text).arguments

    assert read("which gadgets are away", "connectivity")["device_class"] == ["presence"]
    assert read("which gadgets are away", "connectivity")["state"] == ["off"]
    # the model's class answers to the word: it stays; so does it where nothing says a class
    assert read("which gadgets are offline", "connectivity")["device_class"] == ["connectivity"]
    assert read("which gadgets are on", "connectivity")["device_class"] == ["connectivity"]


def test_namesakes_are_told_apart_by_the_class_the_sentence_names() -> None:
    home = HomeContext(
        entities=(
            EntityInfo("sensor.gauge_total", "Roof gauge", "sensor", device_class="precipitation"),
            EntityInfo("sensor.gauge_rate", "Roof gauge", "sensor",
                       device_class="precipitation_intensity"),
            EntityInfo("climate.den", "Den Radiator", "climate", area="Den"),
            EntityInfo("climate.hall", "Radiator", "climate", area="Hall"),
        ),
    )  # fmt: skip
    call = ToolCall("HassGetState", {"name": "Roof gauge"})
    got = fit_read(call, home, "how heavy is the rain intensity at the roof gauge").arguments
    assert got["device_class"] == ["precipitation_intensity"]
    # nothing names either class: as it was (HA says it cannot tell them apart)
    assert fit_read(call, home, "what does the roof gauge say") == call
    # a thermostat said by name is read by name
    temp = ToolCall("HassClimateGetTemperature", {"area": "Den"})
    assert fit_read(temp, home, "how warm is the den radiator").arguments == {
        "name": "Den Radiator"
    }
    assert fit_read(temp, home, "how warm is it in the den") == temp


def test_a_read_of_sensors_needs_their_class_said() -> None:
    from custom_components.needle.engine.schema import ToolParam, ToolSchema
    from custom_components.needle.policy import decide, decoder_tools

    classes = ("presence", "connectivity", "running", "blind")
    read = ToolSchema(
        "HassGetState", "", (ToolParam("device_class", "array", enum=classes), ToolParam("area"))
    )
    narrowed = decoder_tools((read,), "are any gadgets away?", HOME, None)[0]
    assert narrowed.param("device_class").enum == ("presence", "blind")  # other kinds stay
    # nothing said of a class: the choice stays ...
    assert decoder_tools((read,), "how is it looking out there?", HOME, None)[0] == read
    # ... and a read of a class the sentence does not say is not run
    guess = ToolCall(
        "HassGetState", {"domain": ["binary_sensor"], "device_class": ["running"], "state": ["off"]}
    )
    tools = (
        ToolSchema("HassGetState", "", tuple(
            ToolParam(k, "array") for k in ("domain", "device_class", "state")
        )),
    )  # fmt: skip
    assert decide("how is it looking out there?", [guess], (0.99,), tools, HOME).act == []
    said = ToolCall("HassGetState", {"domain": ["binary_sensor"], "device_class": ["running"]})
    washer = EntityInfo("binary_sensor.w", "Washer", "binary_sensor", device_class="running")
    home = HomeContext(entities=(*HOME.entities, washer))
    assert decide("is anything running?", [said], (0.99,), tools, home).act == [said]


def test_a_named_read_drops_a_room_nobody_said() -> None:
    from custom_components.needle.fit import fit_call
    from custom_components.needle.prompt import AreaInfo

    home = HomeContext(
        entities=(*HOME.entities, EntityInfo("climate.t", "Thermostat", "climate", area="Hall")),
        areas=(AreaInfo("Hall"), AreaInfo("Bedroom")),
    )
    read = ToolCall("HassGetState", {"name": "Thermostat", "area": "Bedroom"})
    fitted, decided = fit_call(read, home, "what mode is the thermostat in")
    assert fitted.arguments == {"name": "Thermostat"} and "area" in decided
    # said, or the clause's place: it stays (HA says when the device is not there)
    assert fit_call(read, home, "what mode is the thermostat in the bedroom in")[0] == read
    assert fit_call(read, home, "what mode is the thermostat in", "Bedroom")[0] == read


def test_the_kind_said_decides_a_read_s_domain() -> None:
    from custom_components.needle.fit import fit_read_decided

    fans = ToolCall("HassGetState", {"domain": ["fan"], "state": ["off"]})
    assert "domain" in fit_read_decided(fans, HOME, "have all the fans been switched off")[1]
    assert "domain" not in fit_read_decided(fans, HOME, "is everything switched off")[1]


def test_a_name_said_in_full_is_the_sentence_s_choice() -> None:
    from custom_components.needle.fit import fit_call
    from custom_components.needle.prompt import AreaInfo

    home = HomeContext(
        entities=(
            EntityInfo("light.b5", "Bedroom 5 Lamp", "light", area="Bedroom 5"),
            EntityInfo("light.b5r", "Bedroom 5 Reading Lamp", "light", area="Bedroom 5"),
        ),
        areas=(AreaInfo("Bedroom 5"),),
    )
    lamp = ToolCall("HassTurnOn", {"name": "Bedroom 5 Lamp"})
    assert "name" in fit_call(lamp, home, "can I get the lamp on in bedroom 5")[1]
    # another device said by more of its words, or the name not said in full: the model's
    assert "name" not in fit_call(lamp, home, "bedroom 5 reading lamp on")[1]
    assert "name" not in fit_call(lamp, home, "the lamp on please")[1]
