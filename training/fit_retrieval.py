"""Fit the prompt builder's tool and domain retrieval on generated requests.

The prompt builder must choose, before the model runs, which of HA's tools and which of a
home's entities go into a 320-token window. A hand-written keyword list per tool missed every
phrasing it did not foresee ("stop the vacuum" never saw the return-to-base tool), so the choice
is learned instead: a softmax regression over the sentence's words and word pairs (and the
previous turn's tools) that ranks tools, entity domains and device classes (three heads, one
weight table: "are any devices plugged in" is about binary sensors of class plug). It is
fitted on the generator's labelled requests (templates, rules, follow-ups: never an evaluation
sentence) and stored as sparse weights in ``custom_components/needle/prompt_index.json``, which
``prompt.py`` reads (pure Python there; numpy only here).

    .venv/bin/python -m training.fit_retrieval --n 40000 --seed 7001
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from custom_components.needle.prompt import (
    INDEX_PATH,
    NO_CLASS,
    TOOL_DOMAINS,
    retrieval_features,
)

if TYPE_CHECKING:  # the generator (hassil) is imported only to fit: labels and merge need none
    from .generate import Raw

MIN_COUNT = 3  # features seen fewer times say nothing reliable and bloat the file
KEEP = 0.02  # weights smaller than this are left out of the file
HEADS = ("t:", "d:", "c:")  # tools, entity domains, device classes (prompt.Retriever)


def labels(raw: Raw) -> tuple[set[str], set[str], set[str]]:
    """The tools, the entity domains and the device classes (``domain.class``, or
    ``NO_CLASS``) a request's calls use."""
    tools = {c.name for c in raw.calls}
    domains: set[str] = set()
    classes: set[str] = set()
    by_name = {n: e for e in raw.home.entities for n in e.names}
    for c in raw.calls:
        args = c.arguments
        named = by_name.get(args["name"]) if isinstance(args.get("name"), str) else None
        if isinstance(args.get("domain"), list):
            domains.update(str(d) for d in args["domain"])
        elif named is not None:
            domains.add(named.domain)
        elif c.name in TOOL_DOMAINS and len(TOOL_DOMAINS[c.name]) == 1:
            domains.update(TOOL_DOMAINS[c.name])
        if isinstance(args.get("device_class"), list) and isinstance(args.get("domain"), list):
            classes.update(f"{d}.{k}" for d in args["domain"] for k in args["device_class"])
        elif named is not None and named.device_class:
            classes.add(f"{named.domain}.{named.device_class}")
    return tools, domains, classes or {NO_CLASS}


def fit(
    docs: list[tuple[list[str], set[str], set[str], set[str]]],
    *,
    epochs: int,
    lr: float,
    l2: float,
    seed: int,
) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """SGD on the cross-entropy of the three heads (targets spread evenly over a request's
    tools, its domains and its classes). Returns features, labels, weights (features x labels)
    and biases."""
    counts: Counter[str] = Counter(f for feats, *_ in docs for f in feats)
    features = sorted(f for f, n in counts.items() if n >= MIN_COUNT)
    index = {f: i for i, f in enumerate(features)}
    labels = sorted(
        {p + x for _, *sets in docs for p, xs in zip(HEADS, sets, strict=True) for x in xs}
    )
    lab = {name: i for i, name in enumerate(labels)}
    heads = [np.array([name.startswith(p) for name in labels]) for p in HEADS]
    w = np.zeros((len(features), len(labels)), dtype=np.float32)
    b = np.zeros(len(labels), dtype=np.float32)
    rows = [
        (
            np.array([index[f] for f in feats if f in index], dtype=np.int64),
            [[lab[p + x] for x in xs] for p, xs in zip(HEADS, sets, strict=True)],
        )
        for feats, *sets in docs
    ]
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        rate = lr * (1 - epoch / epochs)
        loss = 0.0
        for j in rng.permutation(len(rows)):
            idx, targets_per_head = rows[j]
            score = b + w[idx].sum(axis=0)
            grad = np.zeros(len(labels), dtype=np.float32)
            for head, targets in zip(heads, targets_per_head, strict=True):
                if not targets:
                    continue
                z = np.where(head, score, -np.inf)
                p = np.exp(z - z.max())
                p /= p.sum()
                y = np.zeros(len(labels), dtype=np.float32)
                y[targets] = 1.0 / len(targets)
                grad += np.where(head, p - y, 0.0)
                loss -= float(np.log(p[targets] + 1e-9).mean())
            b -= rate * grad
            if len(idx):
                w[idx] -= rate * (grad + l2 * w[idx])
        print(f"epoch {epoch + 1}: loss {loss / len(rows):.4f}", file=sys.stderr)
    return features, labels, w, b


def merge(base: dict, new: dict, keep: tuple[str, ...]) -> dict:
    """``new`` with the labels of the heads ``keep`` taken from ``base``: the heads share no
    parameter, so this is the same as fitting the other heads alone."""

    def pick(old: dict[str, float], fresh: dict[str, float]) -> dict[str, float]:
        row = {k: v for k, v in fresh.items() if not k.startswith(keep)}
        row.update((k, v) for k, v in old.items() if k.startswith(keep))
        return row

    weights = {
        f: row
        for f in sorted(set(base["weights"]) | set(new["weights"]))
        if (row := pick(base["weights"].get(f, {}), new["weights"].get(f, {})))
    }
    return {**new, "bias": pick(base["bias"], new["bias"]), "weights": weights}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40000)
    parser.add_argument("--seed", type=int, default=7001)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--out", type=Path, default=INDEX_PATH)
    parser.add_argument(
        "--no-questions",
        action="store_true",
        help="without the query tools (the integration offers them: the shipped index has them)",
    )
    parser.add_argument(
        "--keep",
        nargs="*",
        default=[],
        metavar="HEAD",
        help="heads (t: d: c:) to take from the index already at --out instead of this fit: "
        "the shipped index keeps the t: and d: heads the shipped model and the policy's "
        "MIN_DIRECTION_PROBABILITY were measured with (--keep t: d:)",
    )
    args = parser.parse_args()
    from .generate import Generator

    gen = Generator(None, args.seed, questions=not args.no_questions)
    docs: list[tuple[list[str], set[str], set[str], set[str]]] = []
    while len(docs) < args.n:
        raw = gen.raw()
        if raw is None or not raw.calls:
            continue
        docs.append((sorted(retrieval_features(raw.text, raw.previous)), *labels(raw)))
        if len(docs) % 10000 == 0:
            print(f"{len(docs)} requests", file=sys.stderr)
    features, names, w, b = fit(docs, epochs=args.epochs, lr=args.lr, l2=args.l2, seed=args.seed)
    weights = {}
    for f, row in zip(features, w, strict=True):
        kept = {names[i]: round(float(v), 3) for i, v in enumerate(row) if abs(v) >= KEEP}
        if kept:
            weights[f] = kept
    index = {
        "about": "softmax-regression weights for prompt.py's tool/domain/class retrieval; "
        f"training/fit_retrieval.py --n {args.n} --seed {args.seed} --epochs {args.epochs}"
        + (" --no-questions" if args.no_questions else ""),
        "bias": {n: round(float(v), 3) for n, v in zip(names, b, strict=True)},
        "weights": weights,
    }
    if args.keep:
        index = merge(json.loads(args.out.read_text(encoding="utf-8")), index, tuple(args.keep))
        index["about"] += " (heads " + " ".join(args.keep) + " kept from the index before)"
    args.out.write_text(json.dumps(index, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(
        json.dumps(
            {
                "requests": len(docs),
                "features": len(weights),
                "bytes": args.out.stat().st_size,
            }
        )
    )


if __name__ == "__main__":
    main()
