"""Question training data (training/questions.py through training/generate.py): questions are
labelled with the query tools only, their calls fit the prompt, and the question suite
eval/questions-en is phrased apart from every phrasing the generator uses."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

try:
    from training import questions
    from training.generate import Generator, Raw, make_example
except ImportError as err:  # pragma: no cover - depends on the HA end
    # Training data is generated in the HA 2025.4 venv (training/README.md); its template
    # sampler is written against hassil 2.x, and HA 2026.x ships hassil 3.
    pytest.skip(
        f"training's generator needs HA 2025.4's hassil (old end only): {err}",
        allow_module_level=True,
    )

ROOT = Path(__file__).resolve().parents[2]
QUERY_INTENTS = {
    "HassGetState",
    "HassClimateGetTemperature",
    "HassGetWeather",
    "HassGetCurrentTime",
    "HassGetCurrentDate",
}
QUERY_TOOLS = {
    "hass_get_state",
    "hass_climate_get_temperature",
    "hass_get_weather",
    "hass_get_current_time",
    "hass_get_current_date",
}


@pytest.fixture(scope="module")
def raws() -> list[Raw]:
    """Labelled requests before prompt building: which tools a 320-token window keeps is the
    retrieval index's business (prompt.py), not the labels'."""
    gen = Generator(None, 1414, questions=True)
    out: list[Raw] = []
    while len(out) < 600:
        raw = gen.raw()
        if raw is not None:
            out.append(raw)
    return out


@pytest.fixture(scope="module")
def examples(raws: list[Raw]) -> list[dict]:
    """The questions through the prompt builder, with a window that holds every tool."""
    tools = Generator(None, 1, questions=True).tools
    out = []
    for raw in raws:
        if not raw.source.startswith("question"):
            continue
        ex = make_example(
            raw.text,
            raw.calls,
            raw.home,
            tools,
            satellite_area=raw.area,
            previous=raw.previous,
            max_entities=raw.max_entities,
            count_tokens=None,
            source=raw.source,
            max_encoder_tokens=4000,
        )
        if ex is not None:
            out.append(ex)
    return out


def test_query_tools_are_in_the_catalogue() -> None:
    names = {t.name for t in questions.load_query_tools()}
    assert names == {
        "HassGetState",
        "HassClimateGetTemperature",
        "HassGetWeather",
        "HassGetCurrentTime",
        "HassGetCurrentDate",
    }
    get_state = next(t for t in questions.load_query_tools() if t.name == "HassGetState")
    assert {p.name for p in get_state.params} == {
        "name",
        "area",
        "floor",
        "domain",
        "device_class",
        "state",
    }


def test_questions_only_ask(raws: list[Raw]) -> None:
    asked = [r for r in raws if r.source.startswith("question")]
    assert len(asked) >= 80, len(asked)
    kinds = {r.source.split("+")[0] for r in asked}
    assert {"question_named", "question_group", "question_follow_up"} <= kinds, kinds
    for r in asked:
        tools = {c.name for c in r.calls}
        if "follow_up" in r.source:
            assert tools <= QUERY_INTENTS | {"HassTurnOn", "HassTurnOff"}, r
        else:
            assert tools <= QUERY_INTENTS, r  # a question never acts


def test_question_calls_fit_their_prompt(examples: list[dict]) -> None:
    got = [e for e in examples if "hass_get_state" in e["target"]]
    assert len(got) >= 40, len(got)
    for e in got:
        tools = {t["name"]: t for t in json.loads(e["tools"])}
        for call in json.loads(e["target"]):
            params = tools[call["name"]]["parameters"]
            assert set(call["arguments"]) <= set(params), e
            if "state" in call["arguments"]:
                assert isinstance(call["arguments"]["state"], list), e  # HA's schema: a list


def test_without_questions_nothing_changes() -> None:
    gen = Generator(None, 7)
    assert not {t.name for t in gen.tools} & {"HassGetState", "HassGetWeather"}
    assert gen.questions is None


def _phrasings() -> list[str]:
    """Every sentence pattern in training/questions.py (module-level tuples of strings)."""
    out: list[str] = []
    for value in vars(questions).values():
        if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
            out.extend(v for v in value if "{" in v or " " in v)
        elif isinstance(value, dict):
            for v in value.values():
                if isinstance(v, tuple) and all(isinstance(x, str) for x in v):
                    out.extend(x for x in v if "{" in x)
    return out


def _pattern(phrasing: str) -> re.Pattern[str]:
    """The phrasing as a regex over normalised text: each ``{slot}`` stands for some words."""
    parts = [_norm(part) for part in re.split(r"\{[a-z0-9_]+\}", phrasing)]
    slot = r" ?(?:[\w']+ ?){1,4}"  # a name, a state word, a place: a few words
    return re.compile(slot.join(re.escape(part) for part in parts))


class _Words(dict):
    def __missing__(self, key: str) -> str:
        return "the front door"


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.casefold()).split())


def test_question_suite_is_phrased_apart_from_training() -> None:
    # Phrasings with at least two words of their own ("{n} {w}?" would match any question).
    phrasings = [p for p in _phrasings() if len(_norm(re.sub(r"\{.*?\}", " ", p)).split()) >= 2]
    assert len(phrasings) > 100
    patterns = [(p, _pattern(p)) for p in phrasings]
    assert patterns[0][1].fullmatch(_norm(phrasings[0].format_map(_Words())))  # the check bites
    cases = [
        json.loads(line)
        for line in (ROOT / "eval/questions-en/cases.jsonl").read_text().splitlines()
    ]
    assert len(cases) >= 80
    clashes = [
        (c["text"], p) for c in cases for p, rx in patterns if rx.fullmatch(_norm(c["text"]))
    ]
    assert not clashes, clashes[:5]


def test_augmented_homes_cover_every_class() -> None:
    from training.homes import random_home

    rng = random.Random(3)
    seen: set[tuple[str, str | None]] = set()
    for _ in range(400):
        home = questions.augment_home(rng, random_home(rng))
        seen |= {(e.domain, e.device_class) for e in home.entities}
    for dc in questions.SENSOR_NAMES:
        assert ("sensor", dc) in seen, dc
    for dc in questions.BINARY_NAMES:
        assert ("binary_sensor", dc) in seen, dc
    assert ("person", None) in seen
