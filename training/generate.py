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
from pathlib import Path
from typing import Any

from custom_components.needle.engine.schema import ToolCall, ToolSchema, calls_json, tools_json
from custom_components.needle.prompt import (
    HomeContext,
    Turn,
    build_prompt,
    tools_from_catalogue_json,
)

from . import rules
from .homes import random_home
from .sentences import QUESTION_INTENTS, TemplateSampler, call_for

ROOT = Path(__file__).resolve().parents[1]
TOOLS_PATH = ROOT / "training/data/assist_tools.json"
# The encoder window this model is trained (and should run) with: short enough for CPU training;
# build_prompt then keeps the tools the sentence points at. Record it in the bundle.
MAX_ENCODER_TOKENS = 320

# How often each intent is asked for: commands people give most, timers and lists less.
WRAPPED = 0.2  # share of commands said inside a polite or casual frame (rules.WRAPPERS)
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


def load_tools(path: Path = TOOLS_PATH) -> list[ToolSchema]:
    return tools_from_catalogue_json(path.read_text(encoding="utf-8"))


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
    ) -> None:
        self.rng = random.Random(seed)
        self.tools = load_tools()
        self.tool_params = {t.name: {p.name for p in t.params} for t in self.tools}
        self.sampler = TemplateSampler()
        self.count_tokens = count_tokens
        self.intents = [
            i for i in INTENT_WEIGHTS if any(n == i for n, _, _ in self.sampler.templates)
        ]
        boost = boost or {}
        unknown = set(boost) - set(INTENT_WEIGHTS)
        if unknown:
            raise ValueError(f"--boost names unknown intents: {', '.join(sorted(unknown))}")
        self.weights = [INTENT_WEIGHTS[i] * boost.get(i, 1.0) for i in self.intents]

    def _template(
        self, home: HomeContext, area: str | None, intent: str | None = None
    ) -> tuple[str, list[ToolCall]] | None:
        rng = self.rng
        intent = intent or rng.choices(self.intents, self.weights)[0]
        sample = self.sampler.sample(rng, home, area, intent)
        if sample is None:
            return None
        if intent in QUESTION_INTENTS:
            return sample.text, []
        call = call_for(sample, self.tool_params)
        if call is None:
            return None
        return sample.text, [call]

    def one(self) -> Example | None:
        rng = self.rng
        home = random_home(rng)
        area = rng.choice(home.areas).name if rng.random() < 0.6 else None
        kind = rng.random()
        previous = None
        source = "template"
        if kind < 0.68:
            got = self._template(home, area)
            if got is None:
                return None
            text, calls = got
        elif kind < 0.75:
            got = rules.direct(rng, home)
            if got is None:
                return None
            text, calls, previous, _ = got
            source = "direct"
        elif kind < 0.79:
            got = rules.indirect(rng, home)
            if got is None:
                return None
            text, calls, previous, area = got
            source = "indirect"
        elif kind < 0.88:
            got = rules.negative(rng, home)
            if got is None:
                return None
            text, calls, previous, area = got
            source = "negative"
        else:
            first = self._template(home, area)
            if first is None or not first[1]:
                return None
            got = rules.follow_up(rng, home, rules.style(first[0], rng), first[1], area)
            if got is None:
                return None
            text, calls, previous, area = got
            source = "follow_up"
        if calls and source != "follow_up" and rng.random() < WRAPPED:
            text = rules.wrap(text, rng)
        if previous is None and rng.random() < UNRELATED_PREVIOUS:
            # In a running conversation every turn carries the one before; most new commands
            # have nothing to do with it, and the model must not copy it.
            before = self._template(home, area)
            if before is not None and before[1] and list(before[1]) != list(calls):
                previous = Turn(rules.style(before[0], rng), tuple(before[1]))
                source += "+previous"
        text = rules.asr_noise(text, rng) if rng.random() < 0.4 else rules.style(text, rng)
        if not text.strip():
            return None
        return make_example(
            text,
            calls,
            home,
            self.tools,
            satellite_area=area,
            previous=previous,
            max_entities=pick_max_entities(rng),
            count_tokens=self.count_tokens,
            source=source,
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
    args = parser.parse_args()
    try:
        boost = {k: float(v) for k, v in (b.split("=", 1) for b in args.boost)}
    except ValueError:
        parser.error("--boost takes INTENT=FACTOR pairs, e.g. HassMediaNext=4")
    gen = Generator(spm_counter(args.spm), args.seed, boost)
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
