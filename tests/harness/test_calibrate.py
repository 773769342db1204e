"""tools/calibrate.py: the reliability bins, ECE and the call comparison it labels with."""

from __future__ import annotations

import pytest

from custom_components.needle.engine.schema import ToolCall
from tools.calibrate import call_key, reliability


def test_ece_is_zero_when_confidence_is_the_hit_rate() -> None:
    conf = [0.95] * 20 + [0.55] * 20
    right = [True] * 19 + [False] + [True] * 11 + [False] * 9
    rel = reliability(conf, right)
    assert rel["ece"] == pytest.approx(0.0, abs=1e-9)
    assert rel["calls"] == 40 and rel["accuracy"] == pytest.approx(30 / 40)
    assert [b["n"] for b in rel["bins"]] == [0, 0, 0, 0, 0, 20, 0, 0, 0, 20]


def test_ece_of_an_overconfident_model() -> None:
    rel = reliability([0.9] * 10, [True] * 5 + [False] * 5)
    assert rel["ece"] == pytest.approx(0.4)
    assert reliability([1.0], [True])["bins"][-1]["n"] == 1  # 1.0 falls in the last bin


def test_calls_compare_as_the_eval_format_does() -> None:
    a = ToolCall("HassTurnOn", {"name": "Kitchen Light", "domain": ["light"]})
    b = ToolCall("HassTurnOn", {"name": "kitchen light"})
    assert call_key(a) == call_key(b)  # domain is optional when the call names an entity
    area = ToolCall("HassTurnOn", {"area": "Kitchen", "domain": ["light", "switch"]})
    same = ToolCall("HassTurnOn", {"area": "kitchen", "domain": ["switch", "light"]})
    assert call_key(area) == call_key(same)
    assert call_key(area) != call_key(ToolCall("HassTurnOff", dict(area.arguments)))
