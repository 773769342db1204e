"""Write training examples: synthetic home + sentence -> the exact encoder strings and target.

Every example goes through the integration's own ``build_prompt`` (one prompt builder, two
users), so the query and tools JSON are byte for byte what the engine sees in a real home; the
target is ``calls_json`` of the right calls. A target that the prompt's enums cannot express
(an entity the candidate selection dropped) is discarded rather than taught.

    .venv/bin/python -m training.generate --n 60000 --out training/data/train.jsonl
        [--spm training/data/tokenizer.model] [--seed 1] [--boost HassMediaNext=4 ...]

``--boost INTENT=FACTOR`` multiplies an intent's share of template sentences: a fine-tuning stage
that must teach a weak intent more often, without changing the rest of the mix.

One JSON object a line: {"query", "tools", "target", "source", "n_entities"}.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custom_components.needle.engine.schema import ToolCall, ToolSchema, calls_json, tools_json
from custom_components.needle.prompt import (
    TOOL_DOMAINS,
    EntityInfo,
    HomeContext,
    Turn,
    build_prompt,
    tools_from_catalogue_json,
)

from . import rules
from .homes import random_home
from .questions import QUESTION_SHARE, QuestionGenerator, load_query_tools
from .sentences import QUESTION_INTENTS, TemplateSampler, _ordered, call_for

ROOT = Path(__file__).resolve().parents[1]
TOOLS_PATH = ROOT / "training/data/assist_tools.json"
# The encoder window this model is trained (and should run) with: short enough for CPU training;
# build_prompt then keeps the tools the sentence points at. Record it in the bundle.
MAX_ENCODER_TOKENS = 320

# How often each intent is asked for: commands people give most, timers and lists less.
WRAPPED = 0.2  # share of commands said inside a polite or casual frame (rules.WRAPPERS)
MISSING_KEPT = 0.15  # share of template draws naming a device the home lacks kept as refusals
# The mix of example kinds, as cumulative upper bounds of one uniform draw (the rest are
# rules.refusal). Stage 5 taught `[]` in about 18 % of examples and the model learned to refuse
# commands it should have carried out; stage 6 keeps refusals near 10 %, each with its contrast
# (the same command without the negation is a plain template or verbs example), and doubles
# the share of several actions in one sentence.
MIX = {
    "template": 0.48, "direct": 0.53, "indirect": 0.56, "negative": 0.60, "follow_up": 0.68,
    "verbs": 0.82, "multi": 0.95,
}  # fmt: skip
UNRELATED_PREVIOUS = 0.3  # share of self-contained examples that follow an unrelated turn
INTENT_WEIGHTS: dict[str, float] = {
    "HassTurnOn": 10, "HassTurnOff": 9, "HassLightSet": 5, "HassSetPosition": 2.5,
    "HassClimateSetTemperature": 2, "HassSetVolume": 1.5, "HassMediaPause": 1,
    "HassMediaUnpause": 1, "HassMediaNext": 1, "HassMediaPrevious": 0.6,
    "HassVacuumStart": 0.8, "HassVacuumReturnToBase": 0.5, "HassListAddItem": 1.2,
    "HassStartTimer": 1.2, "HassCancelTimer": 0.4, "HassCancelAllTimers": 0.3,
    "HassIncreaseTimer": 0.2, "HassDecreaseTimer": 0.2, "HassPauseTimer": 0.2,
    "HassUnpauseTimer": 0.2, "HassTimerStatus": 0.3,
    "HassGetState": 0.8, "HassGetWeather": 0.2, "HassClimateGetTemperature": 0.2,
    "HassGetCurrentTime": 0.1, "HassGetCurrentDate": 0.1, "HassNevermind": 0.1,
}  # fmt: skip

Example = dict[str, Any]


@dataclass(frozen=True)
class Raw:
    """A labelled request in its home, before the prompt builder sees it."""

    text: str
    calls: list[ToolCall]
    home: HomeContext
    area: str | None
    previous: Turn | None
    max_entities: int
    source: str


def load_tools(path: Path = TOOLS_PATH) -> list[ToolSchema]:
    return tools_from_catalogue_json(path.read_text(encoding="utf-8"))


# Tools whose arguments name no entity (timers name timers): nothing in the home to check.
_NO_TARGET = frozenset(
    {"HassStartTimer", "HassCancelTimer", "HassCancelAllTimers", "HassIncreaseTimer",
     "HassDecreaseTimer", "HassPauseTimer", "HassUnpauseTimer", "HassTimerStatus",
     "HassGetCurrentTime", "HassGetCurrentDate", "HassNevermind", "HassGetWeather"}
)  # fmt: skip


def _disambiguate(calls: list[ToolCall], home: HomeContext, area: str | None) -> bool:
    """Give a call on a name several areas share the area that decides it (said, or the
    satellite's); False when nothing decides it (neither the area nor the call's domain and
    device class). Changes ``calls`` in place."""
    for i, call in enumerate(calls):
        name = call.arguments.get("name")
        if not isinstance(name, str) or call.name in _NO_TARGET:
            continue
        owners = [e for e in home.entities if name in e.names]
        # a device's sensors share its name: the call's domain and device class pick one
        if domains := call.arguments.get("domain"):
            owners = [e for e in owners if e.domain in domains]
        if classes := call.arguments.get("device_class"):
            owners = [e for e in owners if e.device_class in classes]
        if len(owners) < 2 or "area" in call.arguments:
            continue
        if area is None or not any(e.area == area for e in owners):
            return False
        calls[i] = ToolCall(call.name, _ordered({**call.arguments, "area": area}))
    return True


# Questions about a group or an area that HA answers even when nothing there matches ("are any
# windows open in the garage?" -> "No"; an area's temperature from its sensor): the model cannot
# see which entities an area holds, so such a question keeps its call (a named one is checked).
_ANSWERED_EMPTY = frozenset({"HassGetState", "HassClimateGetTemperature"})


def served(call: ToolCall, home: HomeContext) -> bool:
    """Does the home have an entity this call acts on? HA's templates pair any area with any
    device word, so a sampled "open the garage door in the office" can name nothing: its right
    answer is no call (issue 12's policy: a request no exposed entity can serve does nothing)."""
    if call.name in _NO_TARGET or (call.name in _ANSWERED_EMPTY and "name" not in call.arguments):
        return True
    args = call.arguments
    area_of = {n.casefold(): a.name for a in home.areas for n in a.names}
    floor_of = {n.casefold(): f.name for f in home.floors for n in f.names}
    area_floor = {a.name: a.floor for a in home.areas}
    tool_domains = TOOL_DOMAINS.get(call.name)
    if tool_domains is not None and tool_domains & {"shopping_list"}:
        return True

    def ok(e: EntityInfo) -> bool:
        name, area = args.get("name"), args.get("area")
        if isinstance(name, str) and name.casefold() not in {n.casefold() for n in e.names}:
            return False
        if isinstance(area, str) and area_of.get(area.casefold(), area) != e.area:
            return False
        if isinstance(args.get("floor"), str):
            floor = e.floor or area_floor.get(e.area or "")
            if floor_of.get(args["floor"].casefold(), args["floor"]) != floor:
                return False
        for key in ("domain", "device_class"):
            want = args.get(key)
            if isinstance(want, list) and getattr(e, key) not in want:
                return False
        return tool_domains is None or e.domain in tool_domains

    return any(ok(e) for e in home.entities)


def valid_for(calls: list[ToolCall], tools: tuple[ToolSchema, ...]) -> bool:
    """Can the model write these calls with this prompt (tool offered, values in the enums)?"""
    by_name = {t.name: t for t in tools}
    for call in calls:
        tool = by_name.get(call.name)
        if tool is None:
            return False
        for key, value in call.arguments.items():
            param = tool.param(key)
            if param is None:
                return False
            values = value if isinstance(value, list) else [value]
            if param.enum is not None and any(str(v) not in param.enum for v in values):
                return False
    return True


def make_example(
    text: str,
    calls: list[ToolCall],
    home: HomeContext,
    tools: list[ToolSchema],
    *,
    satellite_area: str | None,
    previous: Turn | None,
    max_entities: int,
    count_tokens: Callable[[str], int] | None,
    source: str,
    max_encoder_tokens: int = MAX_ENCODER_TOKENS,
) -> Example | None:
    prompt = build_prompt(
        text,
        home,
        tools,
        satellite_area=satellite_area,
        previous=previous,
        max_entities=max_entities,
        count_tokens=count_tokens,
        max_encoder_tokens=max_encoder_tokens,
    )
    if not valid_for(calls, prompt.tools):
        return None
    return {
        "query": prompt.query,
        "tools": tools_json(prompt.tools),
        "target": calls_json(calls, prompt.tools),
        "source": source,
        "n_entities": len(home.entities),
    }


def pick_max_entities(rng: random.Random) -> int:
    """Few candidates keep encoder inputs short enough to train on a CPU (see MODEL_CARD.md)."""
    return rng.choice((8, 12, 16, 16, 24))


class Generator:
    def __init__(
        self,
        count_tokens: Callable[[str], int] | None,
        seed: int,
        boost: dict[str, float] | None = None,
        questions: bool = False,
    ) -> None:
        self.rng = random.Random(seed)
        self.tools = load_tools()
        if questions:  # the integration's query tools (queries.py) next to HA's Assist tools
            self.tools = [*self.tools, *load_query_tools()]
        self.tool_params = {t.name: {p.name for p in t.params} for t in self.tools}
        self.sampler = TemplateSampler()
        # Questions about the home (training/questions.py): QUESTION_SHARE of the examples.
        self.questions = QuestionGenerator(self.sampler, self.tool_params) if questions else None
        self.count_tokens = count_tokens
        self.intents = [
            i for i in INTENT_WEIGHTS if any(n == i for n, _, _ in self.sampler.templates)
        ]
        boost = boost or {}
        unknown = set(boost) - set(INTENT_WEIGHTS)
        if unknown:
            raise ValueError(f"--boost names unknown intents: {', '.join(sorted(unknown))}")
        self.weights = [INTENT_WEIGHTS[i] * boost.get(i, 1.0) for i in self.intents]
        self.n_entities: int | None = None  # fixed home size (prompt_recall.py); None = random

    def _template(
        self, home: HomeContext, area: str | None, intent: str | None = None
    ) -> tuple[str, list[ToolCall]] | None:
        rng = self.rng
        intent = intent or rng.choices(self.intents, self.weights)[0]
        sample = self.sampler.sample(rng, home, area, intent)
        if sample is None:
            return None
        if intent in QUESTION_INTENTS and intent not in self.tool_params:
            return sample.text, []  # no query tools offered: a question gets no call
        call = call_for(sample, self.tool_params)
        if call is None:
            return None
        return sample.text, [call]

    def raw(self) -> Raw | None:
        """One labelled request before prompt building: what ``one`` turns into an example, and
        what ``training/prompt_recall.py`` checks the prompt builder against."""
        rng = self.rng
        home = random_home(rng, self.n_entities)
        area = rng.choice(home.areas).name if rng.random() < 0.6 else None
        kind = rng.random()
        previous = None
        source = "template"
        if self.questions is not None and rng.random() < QUESTION_SHARE:
            asked = self.questions.question(rng, home, area)
            if asked is None:
                return None
            (text, calls, previous, area, source), home = asked
        elif kind < MIX["template"]:
            got = self._template(home, area)
            if got is None:
                return None
            text, calls = got
        elif kind < MIX["direct"]:
            got = rules.direct(rng, home)
            if got is None:
                return None
            text, calls, previous, _ = got
            source = "direct"
        elif kind < MIX["indirect"]:
            got = rules.indirect(rng, home)
            if got is None:
                return None
            text, calls, previous, area = got
            source = "indirect"
        elif kind < MIX["negative"]:
            got = rules.negative(rng, home)
            if got is None:
                return None
            text, calls, previous, area = got
            source = "negative"
        elif kind < MIX["follow_up"]:
            first = self._template(home, area)
            if first is None or not first[1]:
                return None
            got = rules.follow_up(rng, home, rules.style(first[0], rng), first[1], area)
            if got is None:
                return None
            text, calls, previous, area = got
            source = "follow_up"
        elif kind < MIX["verbs"]:
            one = rules.command(rng, home, area)
            if one is None:
                return None
            text, calls = one
            source = "verbs"
        elif kind < MIX["multi"]:
            many = rules.multi(rng, home, area)
            if many is None:
                return None
            text, calls = many
            source = "multi"
        else:
            refused = rules.refusal(rng, home, area)
            if refused is None:
                return None
            text, calls, source = refused
        if not _disambiguate(calls, home, area):
            # A name several areas share, no area said and none from the satellite: the model
            # cannot know which one (issue 12 asks back), so the answer is no call.
            calls = []
            source += "+ambiguous"
        if calls and source != "follow_up" and not source.startswith("question") and rng.random() < WRAPPED:
            text = rules.wrap(text, rng)
        if previous is None and rng.random() < UNRELATED_PREVIOUS:
            # In a running conversation every turn carries the one before; most new commands
            # have nothing to do with it, and the model must not copy it.
            before = self._template(home, area)
            if before is not None and before[1] and list(before[1]) != list(calls):
                previous = Turn(rules.style(before[0], rng), tuple(before[1]))
                source += "+previous"
        if calls and not all(served(c, home) for c in calls):
            # Said about a device the home does not have there: the answer is no call. Kept
            # as a refusal now and then; most such draws are simply drawn again.
            if rng.random() > MISSING_KEPT:
                return None
            calls = []
            source += "+missing"
        text = rules.asr_noise(text, rng) if rng.random() < 0.4 else rules.style(text, rng)
        if not text.strip():
            return None
        return Raw(text, calls, home, area, previous, pick_max_entities(rng), source)

    def one(self) -> Example | None:
        raw = self.raw()
        if raw is None:
            return None
        return make_example(
            raw.text,
            raw.calls,
            raw.home,
            self.tools,
            satellite_area=raw.area,
            previous=raw.previous,
            max_entities=raw.max_entities,
            count_tokens=self.count_tokens,
            source=raw.source,
        )


def spm_counter(path: Path | None) -> Callable[[str], int] | None:
    if path is None:
        return None
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(path))
    return lambda text: len(sp.encode(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--spm", type=Path, default=None, help="tokenizer to count tokens with")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--boost",
        nargs="*",
        default=[],
        metavar="INTENT=FACTOR",
        help="multiply these intents' share of template sentences",
    )
    parser.add_argument(
        "--questions",
        action="store_true",
        help="offer the query tools and make questions about the home (training/questions.py)",
    )
    args = parser.parse_args()
    try:
        boost = {k: float(v) for k, v in (b.split("=", 1) for b in args.boost)}
    except ValueError:
        parser.error("--boost takes INTENT=FACTOR pairs, e.g. HassMediaNext=4")
    gen = Generator(spm_counter(args.spm), args.seed, boost, questions=args.questions)
    sources: Counter[str] = Counter()
    with args.out.open("w", encoding="utf-8") as f:
        written = 0
        while written < args.n:
            ex = gen.one()
            if ex is None:
                continue
            f.write(json.dumps(ex, ensure_ascii=False) + "\n")
            sources[ex["source"]] += 1
            written += 1
            if written % 5000 == 0:
                print(f"{written} examples", file=sys.stderr)
    print(json.dumps({"examples": written, "sources": dict(sources)}))


if __name__ == "__main__":
    main()
