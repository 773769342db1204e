#!/usr/bin/env python3
"""Calibrate the decoder's per-call confidence and choose the policy's threshold.

    .venv/bin/python tools/calibrate.py [--bundle DIR] [--n 400] [--templates 400] \
        [--out reports/calibration] [--backend numpy]

Runs the shipped model (or ``--bundle``) exactly as the integration does (same prompt builder,
the bundle's prompt limits, grounded decoding with the sentence, the same call validation and
``policy.decide``) on *generated held-out* requests, never on an evaluation suite:

- ``heldout``: the hand-written paraphrases of ``training/heldout.py`` (no training template or
  rule produces them), in homes drawn with ``CALIBRATION_SEED``, a seed that neither training
  nor the held-out file or the ``eval/paraphrases-en`` suite uses (the phrasings are shared with
  that suite, the homes, names and values are not: it is therefore no independent test of the
  threshold chosen here);
- ``templates``: HA's own intent templates as training samples them (``Generator._template``),
  in new homes with the same seed; the model saw these phrasings, so here it is more sure.

A call is right when it equals one of the request's target calls (strings case-insensitive, lists
as sets); a call on a request whose target is no call is wrong. Writes, under ``--out``:
``reliability.png`` (accuracy against confidence, ten bins, per source), ``threshold.png`` (pass
rate and wrong-action rate of the whole policy over thresholds), ``calls.jsonl`` and
``summary.json`` (ECE, bins, the sweep), and prints the summary as Markdown for
docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.needle.calls import validate_scored  # noqa: E402
from custom_components.needle.const import BUILTIN_MODEL_DIR, DEFAULT_MAX_ENTITIES  # noqa: E402
from custom_components.needle.engine.schema import ToolCall  # noqa: E402
from custom_components.needle.policy import decide, decoder_tools  # noqa: E402
from custom_components.needle.prompt import FREE_NAME_TOOLS, build_prompt  # noqa: E402
from training.evaluate_bundle import norm_value  # noqa: E402

CALIBRATION_SEED = 20_261_202  # not the held-out seed (paraphrases-en), not a training seed
BINS = 10
LABELLED = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)  # thresholds named in the plot
THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9)


def call_key(call: ToolCall) -> str:
    """A call as compared: strings case-insensitive, lists as sets, empty values dropped, and
    ``domain`` / ``device_class`` left out when it names an entity (the eval format's rule)."""
    args = {k: norm_value(v) for k, v in call.arguments.items() if v not in (None, "", [])}
    if "name" in args and call.name not in FREE_NAME_TOOLS:
        args = {k: v for k, v in args.items() if k not in ("domain", "device_class")}
    return json.dumps([call.name, args], sort_keys=True)


def cases(n_heldout: int, n_templates: int, seed: int) -> list[dict[str, Any]]:
    """Requests with their homes and target calls (generated, never from an eval suite)."""
    from training.generate import Generator
    from training.heldout import case
    from training.homes import random_home

    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    while len(out) < n_heldout:
        home = random_home(rng)
        got = case(rng, home)
        if got is not None:
            text, calls, area = got
            out.append({"source": "heldout", "text": text, "calls": calls, "area": area,
                        "home": home})  # fmt: skip
    gen = Generator(None, seed + 1)
    made = 0
    while made < n_templates:
        home = random_home(gen.rng)
        area = gen.rng.choice(home.areas).name if gen.rng.random() < 0.6 else None
        got = gen._template(home, area)
        if got is None:
            continue
        text, calls = got
        out.append({"source": "templates", "text": text, "calls": calls, "area": area,
                    "home": home})  # fmt: skip
        made += 1
    return out


def run(
    engine: Any, items: list[dict[str, Any]], tools: list[Any], narrowing: bool = True
) -> list[dict[str, Any]]:
    """Each request through prompt, grounded generation (with the decoder offered only what the
    policy lets run, ``policy.decoder_tools``, unless ``narrowing`` is off), validation; its
    calls labelled."""
    trained = engine.prompt_limits or {}
    limits = {"max_entities": min(DEFAULT_MAX_ENTITIES, trained.get("max_entities", 10**6))}
    if "max_encoder_tokens" in trained:
        limits["max_encoder_tokens"] = trained["max_encoder_tokens"]
    rows = []
    for k, item in enumerate(items):
        prompt = build_prompt(
            item["text"], item["home"], tools, satellite_area=item["area"],
            count_tokens=engine.count_tokens, **limits,
        )  # fmt: skip
        started = time.perf_counter()
        decode = (
            decoder_tools(prompt.tools, item["text"], item["home"], None) if narrowing else None
        )
        gen = engine.generate(
            prompt.query, prompt.tools, grounding=item["text"], decode_tools=decode
        )
        seconds = time.perf_counter() - started
        valid, scores, refused = validate_scored(list(gen.calls), gen.confidence, prompt.tools)
        targets = {call_key(c) for c in item["calls"]}
        rows.append(
            {
                "source": item["source"],
                "text": item["text"],
                "target": sorted(targets),
                "calls": [call_key(c) for c in valid],
                "confidence": scores,
                "right": [call_key(c) in targets for c in valid],
                "refused": len(refused),
                "stop_confidence": gen.stop_confidence,
                "seconds": seconds,
                "_valid": valid,
                "_prompt": prompt,
                "_item": item,
            }
        )
        if (k + 1) % 50 == 0:
            print(f"{k + 1}/{len(items)}", file=sys.stderr)
    return rows


def reliability(conf: list[float], right: list[bool]) -> dict[str, Any]:
    """Ten equal-width bins; ECE = sum over bins of share * |accuracy - mean confidence|."""
    bins = []
    n = len(conf)
    ece = 0.0
    for b in range(BINS):
        lo, hi = b / BINS, (b + 1) / BINS
        idx = [i for i, c in enumerate(conf) if lo <= c < hi or (b == BINS - 1 and c == 1.0)]
        if not idx:
            bins.append({"lo": lo, "hi": hi, "n": 0})
            continue
        acc = sum(right[i] for i in idx) / len(idx)
        mean = sum(conf[i] for i in idx) / len(idx)
        ece += len(idx) / n * abs(acc - mean)
        bins.append({"lo": lo, "hi": hi, "n": len(idx), "accuracy": acc, "confidence": mean})
    return {"calls": n, "accuracy": sum(right) / n if n else None, "ece": ece, "bins": bins}


def sweep(rows: list[dict[str, Any]], thresholds: tuple[float, ...]) -> list[dict[str, Any]]:
    """The whole policy at each threshold: a request passes when what runs is exactly its
    target; a wrong action is a request where some call that runs is not a target call."""
    out = []
    for t in thresholds:
        passed = wrong = asked = refused = 0
        for r in rows:
            item = r["_item"]
            d = decide(
                item["text"], r["_valid"], r["confidence"], r["_prompt"].tools, item["home"],
                satellite_area=item["area"], threshold=t, ask_threshold=min(t, 0.2),
            )  # fmt: skip
            ran = {call_key(c) for c in d.act}
            target = set(r["target"])
            if ran - target:
                wrong += 1
            elif ran == target:
                passed += 1
            if d.pending is not None:
                asked += 1
            elif not d.act and d.held:
                refused += 1
        n = len(rows)
        out.append({"threshold": t, "passed": passed / n, "wrong_action": wrong / n,
                    "asked": asked / n, "refused": refused / n})  # fmt: skip
    return out


def no_policy(rows: list[dict[str, Any]]) -> dict[str, float]:
    """What ran before this policy: every valid call."""
    n = len(rows)
    wrong = sum(1 for r in rows if not all(r["right"]))
    passed = sum(1 for r in rows if set(r["calls"]) == set(r["target"]))
    return {"passed": passed / n, "wrong_action": wrong / n}


def plot(summary: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfectly calibrated")
    for name, rel in summary["reliability"].items():
        pts = [(b["confidence"], b["accuracy"], b["n"]) for b in rel["bins"] if b["n"]]
        if not pts:
            continue
        xs, ys, _ = zip(*pts, strict=True)
        ax.plot(xs, ys, "o-", label=f"{name} (ECE {rel['ece']:.3f}, {rel['calls']} calls)")
        for x, y, k in pts:
            ax.annotate(str(k), (x, y), textcoords="offset points", xytext=(3, -10), fontsize=7)
    ax.set_xlabel("confidence (lowest free-token probability of the call)")
    ax.set_ylabel("share of calls that are right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("Needle call confidence: reliability")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "reliability.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, points in summary["sweep"].items():
        xs = [p["wrong_action"] * 100 for p in points]
        ys = [p["passed"] * 100 for p in points]
        (line,) = ax.plot(xs, ys, "o-", label=f"{name}, policy")
        before = summary["no_policy"][name]
        ax.plot([before["wrong_action"] * 100], [before["passed"] * 100], "x",
                color=line.get_color(), markersize=9, label=f"{name}, no policy")  # fmt: skip
        for p, x, y in zip(points, xs, ys, strict=True):
            if p["threshold"] in LABELLED:
                ax.annotate(f"{p['threshold']:g}", (x, y), textcoords="offset points",
                            xytext=(3, 3), fontsize=7)  # fmt: skip
    ax.set_xlabel("wrong actions (% of requests)")
    ax.set_ylabel("passed (% of requests)")
    ax.set_title("Policy over confidence thresholds (point labels)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "threshold.png", dpi=110)
    plt.close(fig)


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| source | calls | right | ECE |", "| --- | --- | --- | --- |"]
    for name, rel in summary["reliability"].items():
        lines.append(f"| {name} | {rel['calls']} | {rel['accuracy']:.1%} | {rel['ece']:.3f} |")
    lines += ["", "| threshold | " + " | ".join(
        f"{name} passed / wrong / asked" for name in summary["sweep"]) + " |",
        "| --- |" + " --- |" * len(summary["sweep"])]  # fmt: skip
    names = list(summary["sweep"])
    before = " | ".join(
        f"{summary['no_policy'][n]['passed']:.1%} / {summary['no_policy'][n]['wrong_action']:.1%}"
        " / -"
        for n in names
    )
    lines.append(f"| no policy (before) | {before} |")
    for i, t in enumerate(THRESHOLDS):
        cells = []
        for n in names:
            p = summary["sweep"][n][i]
            cells.append(f"{p['passed']:.1%} / {p['wrong_action']:.1%} / {p['asked']:.1%}")
        lines.append(f"| {t:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bundle", type=Path, default=BUILTIN_MODEL_DIR)
    p.add_argument("--n", type=int, default=400, help="held-out paraphrase requests")
    p.add_argument("--templates", type=int, default=400, help="template requests")
    p.add_argument("--seed", type=int, default=CALIBRATION_SEED)
    p.add_argument("--out", type=Path, default=ROOT / "reports" / "calibration")
    p.add_argument("--backend", default="auto")
    p.add_argument(
        "--no-narrowing",
        action="store_true",
        help="decode over the whole prompt (as before policy.decoder_tools), for comparison",
    )
    args = p.parse_args(argv)

    from custom_components.needle.engine import NeedleEngine
    from training.generate import load_tools

    engine = NeedleEngine.load(args.bundle, backend=args.backend)
    items = cases(args.n, args.templates, args.seed)
    rows = run(engine, items, load_tools(), narrowing=not args.no_narrowing)
    args.out.mkdir(parents=True, exist_ok=True)
    groups = {"heldout": [r for r in rows if r["source"] == "heldout"],
              "templates": [r for r in rows if r["source"] == "templates"], "all": rows}  # fmt: skip
    groups = {k: v for k, v in groups.items() if v}
    summary: dict[str, Any] = {
        "bundle": str(args.bundle.name),
        "seed": args.seed,
        "requests": {k: len(v) for k, v in groups.items()},
        "reliability": {
            k: reliability(
                [c for r in v for c in r["confidence"]], [x for r in v for x in r["right"]]
            )
            for k, v in groups.items()
        },
        "no_policy": {k: no_policy(v) for k, v in groups.items()},
        "sweep": {k: sweep(v, THRESHOLDS) for k, v in groups.items()},
        "median_generate_s": sorted(r["seconds"] for r in rows)[len(rows) // 2],
    }
    with (args.out / "calls.jsonl").open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}) + "\n")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    plot(summary, args.out)
    print(markdown(summary))


if __name__ == "__main__":
    main()
