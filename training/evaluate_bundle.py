"""Exact-match accuracy of an exported bundle, run by the real engine (constrained decoding).

The training loop scores plain greedy decoding in PyTorch; what ships is the bundle run by
``NeedleEngine``. This runs the engine on examples written by ``generate.py`` / ``heldout.py``
(query and tools exactly as the integration builds them) and compares the calls it returns
with the target, order-free, strings case-insensitive (as the eval format does).

    .venv/bin/python -m training.evaluate_bundle custom_components/needle/models/default \
        training/heldout/heldout.jsonl [--backend numpy] [--limit 200]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from custom_components.needle.engine.config import EOS, TOOL_CALL, TOOLS
from custom_components.needle.engine.schema import ToolCall, ToolSchema, parse_calls


def norm_value(value: Any) -> Any:
    """An argument value as compared: strings case-insensitive, lists as sets, 2.0 as 2."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, list):
        return sorted(json.dumps(norm_value(v), sort_keys=True) for v in value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def same_calls(got: list[ToolCall], want: list[ToolCall]) -> bool:
    def key(c: ToolCall) -> str:
        return json.dumps(
            [c.name, {k: norm_value(v) for k, v in c.arguments.items()}], sort_keys=True
        )

    return sorted(map(key, got)) == sorted(map(key, want))


def tools_from_json(text: str) -> tuple[ToolSchema, ...]:
    """The prompt's tools back from their compact JSON (model names map to themselves here)."""
    from custom_components.needle.engine.schema import ToolParam

    tools = []
    for t in json.loads(text):
        params = tuple(
            ToolParam(
                name=k,
                type=v.get("type", "string"),
                description=v.get("description", ""),
                required=bool(v.get("required", False)),
                enum=tuple(v["enum"]) if "enum" in v else None,
                minimum=v.get("minimum"),
                maximum=v.get("maximum"),
            )
            for k, v in t["parameters"].items()
        )
        tools.append(ToolSchema(name=t["name"], description=t["description"], params=params))
    return tuple(tools)


class _GreedyBackendEngine:
    """Plain greedy over the bundle's backend, for when the engine facade is not there yet:
    the same weights and numbers, without the tool-call constraints."""

    def __init__(self, bundle: Path, backend: str, spm_path: Path) -> None:
        import sentencepiece as spm

        from custom_components.needle.engine.backends import load_backend
        from custom_components.needle.engine.bundle import read_bundle

        self.backend = load_backend(read_bundle(bundle), backend)
        self.sp = spm.SentencePieceProcessor(model_file=str(spm_path))

    def generate(self, query: str, tools: tuple[ToolSchema, ...]) -> Any:
        import numpy as np

        from custom_components.needle.engine.schema import tools_json

        ids = [*self.sp.encode(query)[:1022], TOOLS, *self.sp.encode(tools_json(tools))][:1024]
        state = self.backend.start(self.backend.encode(np.array(ids, dtype=np.int64)))
        token, out = EOS, []
        for _ in range(96):
            token = int(np.argmax(self.backend.step(state, token)))
            if token == EOS:
                break
            out.append(token)
        text = self.sp.decode([t for t in out if t != TOOL_CALL])
        try:
            calls = parse_calls(text, tools)
        except ValueError:
            calls = []
        return type("Generation", (), {"calls": calls, "text": text})()


def evaluate(
    bundle: Path, data: Path, backend: str, limit: int | None, spm_path: Path | None = None
) -> dict[str, Any]:
    try:
        from custom_components.needle.engine import NeedleEngine  # type: ignore[attr-defined]

        engine: Any = NeedleEngine.load(bundle, backend=backend)
        mode = "engine (constrained decoding)"
    except ImportError:
        if spm_path is None:
            raise SystemExit("engine.NeedleEngine is not available; pass --spm") from None
        engine = _GreedyBackendEngine(bundle, backend, spm_path)
        mode = "backend greedy (no constraints: engine facade not available)"
    lines = data.read_text(encoding="utf-8").splitlines()[:limit]
    passed, by_source, times = 0, {}, []
    failures = []
    for line in lines:
        ex = json.loads(line)
        tools = tools_from_json(ex["tools"])
        want = parse_calls(ex["target"], tools)
        start = time.perf_counter()
        gen = engine.generate(ex["query"], tools)
        times.append(time.perf_counter() - start)
        ok = same_calls(list(gen.calls), want)
        passed += ok
        src = by_source.setdefault(ex.get("source", "?"), [0, 0])
        src[0] += ok
        src[1] += 1
        if not ok and len(failures) < 15:
            failures.append(
                {
                    "query": ex["query"],
                    "want": ex["target"],
                    "got": getattr(gen, "text", str(gen.calls)),
                }
            )
    times.sort()
    return {
        "mode": mode,
        "examples": len(lines),
        "exact_match": passed / max(1, len(lines)),
        "by_source": {k: round(v[0] / v[1], 3) for k, v in by_source.items()},
        "median_ms": round(1000 * times[len(times) // 2], 1) if times else None,
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--spm", type=Path, default=None, help="tokenizer, for the fallback")
    args = parser.parse_args()
    result = evaluate(args.bundle, args.data, args.backend, args.limit, args.spm)
    for f in result.pop("failures"):
        print(json.dumps(f, ensure_ascii=False))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
