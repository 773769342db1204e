"""The prompt builder's learned retrieval index: its labels, and refitting one head alone."""

from __future__ import annotations

import json
from types import SimpleNamespace

from custom_components.needle.engine.schema import ToolCall
from custom_components.needle.prompt import (
    INDEX_PATH,
    NO_CLASS,
    EntityInfo,
    HomeContext,
    default_retriever,
)
from training.fit_retrieval import labels, merge

HOME = HomeContext(
    entities=(
        EntityInfo("binary_sensor.phone_plug", "Phone Plug", "binary_sensor", device_class="plug"),
        EntityInfo("light.desk", "Desk Lamp", "light"),
    )
)


def raw(*calls: ToolCall) -> SimpleNamespace:  # what labels() reads of a generator.Raw
    return SimpleNamespace(text="x", calls=list(calls), home=HOME)


def test_labels_name_the_device_class_of_a_call() -> None:
    group = ToolCall(
        "HassGetState", {"domain": ["binary_sensor"], "device_class": ["plug"], "state": ["on"]}
    )
    assert labels(raw(group)) == ({"HassGetState"}, {"binary_sensor"}, {"binary_sensor.plug"})
    named = ToolCall("HassGetState", {"name": "Phone Plug"})
    assert labels(raw(named))[2] == {"binary_sensor.plug"}
    # a call about no class is labelled as such, so the head learns when no class is meant
    assert labels(raw(ToolCall("HassTurnOn", {"name": "Desk Lamp"})))[2] == {NO_CLASS}


def test_merge_keeps_the_heads_it_is_told_to() -> None:
    base = {"bias": {"t:A": 1.0, "c:x.y": 5.0}, "weights": {"w": {"t:A": 2.0, "c:x.y": 3.0}}}
    new = {"bias": {"t:A": 9.0, "c:x.y": 7.0}, "weights": {"w": {"t:A": 8.0}, "v": {"c:x.y": 1.0}}}
    got = merge(base, new, ("t:",))
    assert got["bias"] == {"t:A": 1.0, "c:x.y": 7.0}
    assert got["weights"] == {"v": {"c:x.y": 1.0}, "w": {"t:A": 2.0}}


def test_the_shipped_index_has_every_head() -> None:
    index = json.loads(INDEX_PATH.read_text(encoding="utf-8"))
    heads = {key[:2] for key in index["bias"]}
    assert heads == {"t:", "d:", "c:"}
    probs = default_retriever().classes(
        "are any devices plugged in", None, ["binary_sensor.plug", "binary_sensor.motion"]
    )
    assert probs["binary_sensor.plug"] > probs["binary_sensor.motion"]
