"""The generator's own phrasings stay apart from the held-out set, and its new data is sane.

Needs hassil and home-assistant-intents (the generator's venv, ``.venv``); the torch venv
skips it: ``.venv/bin/python -m pytest -q tests/training/test_generator_data.py``.
"""

from __future__ import annotations

import random
import re

import pytest

pytest.importorskip("hassil")
pytest.importorskip("home_assistant_intents")

from training import heldout, rules
from training.generate import Generator, served
from training.homes import random_home


def _norm(text: str) -> str:
    text = re.sub(r"\{\w+\}", "x", text.lower())
    return text.replace("the x", "x").replace("my x", "x").strip()


def _heldout_phrasings() -> list[str]:
    out = []
    for value in vars(heldout).values():
        if isinstance(value, tuple) and value and all(isinstance(x, str) for x in value):
            out.extend(value)
        elif (
            isinstance(value, tuple)
            and value
            and all(isinstance(x, tuple) and x and isinstance(x[0], str) for x in value)
        ):
            out.extend(x[0] for x in value)
    return out


def test_rule_verbs_are_not_heldout_phrasings():
    held = [_norm(h) for h in _heldout_phrasings()]
    assert len(held) > 20
    ours = {
        _norm(v.replace("{t}", "{n}"))
        for table in rules.VERBS.values()
        for verbs in table.values()
        for v in verbs
    }
    clashes = sorted(o for o in ours if len(o) > 6 and any(o == h or o in h for h in held))
    # Generic "{x} to {v} percent" frames are shared by any command language; the rest not.
    assert set(clashes) <= {"x to x percent", "x at x percent", "switch on x"}, clashes


def test_homes_span_sizes_and_naming_habits():
    rng = random.Random(5)
    big = random_home(rng, 500)
    assert len(big.entities) == 500
    assert len({e.entity_id for e in big.entities}) == 500
    homes = [random_home(rng) for _ in range(300)]
    names = [e.name for h in homes for e in h.entities]
    assert any(re.search(r" \d$", a.name) for h in homes for a in h.areas)  # "Bedroom 2"
    assert any("'s " in a.name for h in homes for a in h.areas)  # "Mia's Room"
    assert "Fan Light" in " ".join(names)
    assert any(sum(e.domain == "todo" for e in h.entities) >= 2 for h in homes)
    shared = [
        h for h in homes if len({e.name for e in h.entities}) < len(h.entities)
    ]  # the same name in several areas
    assert shared


def test_refusals_multi_and_served_labels():
    gen = Generator(None, 77)
    sources: dict[str, int] = {}
    for _ in range(1500):
        raw = gen.raw()
        if raw is None:
            continue
        kind = raw.source.split("+")[0]
        sources[kind] = sources.get(kind, 0) + 1
        if kind in ("negation", "invalid_value", "missing_target") or "+missing" in raw.source:
            assert raw.calls == [], raw
        if kind == "multi":
            assert len(raw.calls) >= 2
        for call in raw.calls:
            assert served(call, raw.home), (raw.text, call)
    for kind in ("verbs", "multi", "negation", "template"):
        assert sources.get(kind, 0) > 0, sources


def test_a_device_name_several_sensors_share_is_asked_with_its_class():
    """A phone's battery, charging and presence sensors all named "Phone": a question about one
    carries the domain and device class that pick it, and that pick is exactly one entity."""
    gen = Generator(None, 91, questions=True)
    asked = 0
    for _ in range(6000):
        raw = gen.raw()
        if raw is None or not raw.source.startswith("question"):
            continue
        for call in raw.calls:
            name = call.arguments.get("name")
            owners = [e for e in raw.home.entities if name is not None and name in e.names]
            if call.name != "HassGetState" or len(owners) < 2 or "area" in call.arguments:
                continue
            assert "domain" in call.arguments, (raw.text, call)
            picked = [
                e
                for e in owners
                if e.domain in call.arguments["domain"]
                and e.device_class in call.arguments.get("device_class", [None])
            ]
            assert len(picked) == 1, (raw.text, call, owners)
            asked += 1
    assert asked >= 10
