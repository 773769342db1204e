"""What a weight precision costs a model: logits, greedy tokens and exact match against a baseline.

    python tools/precision_cost.py BASELINE_BUNDLE OTHER_BUNDLE [OTHER_BUNDLE ...] \
        --data training/heldout/heldout.jsonl [--backend onnxruntime] [--limit N]

For every example of ``--data`` (``{"query", "tools", "target"}`` lines, as ``training/generate.py``
and ``training/heldout.py`` write them), each bundle's decoder is run teacher-forced over the
target (``EOS <tool_call> target``): the largest logit difference to the baseline and how often
the argmax token is the same (greedy-token agreement). Then each bundle answers every example
through the engine (constrained decoding) and its exact match of call lists is counted as
``training/evaluate_bundle.py`` counts it. The last line is a JSON summary.

``--reexport DIR`` first writes fp32, int8 and int4 bundles of the baseline's own weights into
DIR (``read_bundle(b).params()``: for a model that only exists as a bundle) and costs those.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from custom_components.needle.engine import NeedleEngine  # noqa: E402
from custom_components.needle.engine.config import EOS, TOOL_CALL  # noqa: E402
from training.evaluate_bundle import evaluate, tools_from_json  # noqa: E402


def teacher_forced(engine: NeedleEngine, examples: list[dict[str, Any]]) -> list[np.ndarray]:
    out = []
    for ex in examples:
        src = engine.encode_input(ex["query"], tools_from_json(ex["tools"]))
        tgt = [EOS, TOOL_CALL, *engine.tokenizer.encode(ex["target"])]
        out.append(engine.backend.teacher_forced(np.array(src), np.array(tgt)))
    return out


def reexport(bundle_dir: Path, out: Path) -> list[Path]:
    """fp32, int8 and int4 bundles of ``bundle_dir``'s weights, tokenizer and prompt limits."""
    from custom_components.needle.engine.bundle import read_bundle, write_bundle
    from custom_components.needle.engine.checkpoint import Checkpoint

    bundle = read_bundle(bundle_dir)
    checkpoint = Checkpoint(config=bundle.config, params=bundle.params())
    assert bundle.tokenizer_path is not None
    tokenizer = bundle.tokenizer_path.read_text(encoding="utf-8")
    provenance = {**bundle.manifest.get("provenance", {}), "reexported_from": bundle.precision}
    return [
        write_bundle(
            checkpoint,
            out / precision,
            tokenizer_json=tokenizer,
            precision=precision,
            provenance=provenance,
            prompt=bundle.prompt or None,
        )
        for precision in ("fp32", "int8", "int4")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("others", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--reexport", type=Path, help="write fp32/int8/int4 copies here first")
    args = parser.parse_args(argv)
    if args.reexport:
        args.others = [*args.others, *reexport(args.baseline, args.reexport)]
    lines = args.data.read_text(encoding="utf-8").splitlines()[: args.limit]
    examples = [json.loads(line) for line in lines]
    base = NeedleEngine.load(args.baseline, backend=args.backend)
    base_logits = teacher_forced(base, examples)
    rows = []
    for bundle in [args.baseline, *args.others]:
        engine = NeedleEngine.load(bundle, backend=args.backend)
        logits = base_logits if bundle == args.baseline else teacher_forced(engine, examples)
        worst = max(float(np.abs(a - b).max()) for a, b in zip(logits, base_logits, strict=True))
        same = sum(
            int((a.argmax(-1) == b.argmax(-1)).sum())
            for a, b in zip(logits, base_logits, strict=True)
        )
        total = sum(len(a) for a in logits)
        scored = evaluate(bundle, args.data, args.backend, args.limit)
        row = {
            "bundle": str(bundle),
            "precision": engine.bundle.precision,
            "max_abs_logit_diff": round(worst, 4),
            "greedy_token_agreement": f"{same}/{total}",
            "exact_match": round(scored["exact_match"], 4),
            "examples": scored["examples"],
            "median_ms": scored["median_ms"],
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(json.dumps({"backend": args.backend, "data": str(args.data), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
