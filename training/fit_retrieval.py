"""Fit the prompt builder's tool and domain retrieval on generated requests.

The prompt builder must choose, before the model runs, which of HA's tools and which of a
home's entities go into a 320-token window. A hand-written keyword list per tool missed every
phrasing it did not foresee ("stop the vacuum" never saw the return-to-base tool), so the choice
is learned instead: a softmax regression over the sentence's words and word pairs (and the
previous turn's tools) that ranks tools and entity domains (two heads, one weight table). It is
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

import numpy as np

from custom_components.needle.prompt import INDEX_PATH, TOOL_DOMAINS, retrieval_features

from .generate import Generator, Raw

MIN_COUNT = 3  # features seen fewer times say nothing reliable and bloat the file
KEEP = 0.02  # weights smaller than this are left out of the file


def labels(raw: Raw) -> tuple[set[str], set[str]]:
    """The tools and the entity domains a request's calls use."""
    tools = {c.name for c in raw.calls}
    domains: set[str] = set()
    by_name = {n: e for e in raw.home.entities for n in e.names}
    for c in raw.calls:
        args = c.arguments
        if isinstance(args.get("domain"), list):
            domains.update(str(d) for d in args["domain"])
        elif isinstance(args.get("name"), str) and args["name"] in by_name:
            domains.add(by_name[args["name"]].domain)
        elif c.name in TOOL_DOMAINS and len(TOOL_DOMAINS[c.name]) == 1:
            domains.update(TOOL_DOMAINS[c.name])
    return tools, domains


def fit(
    docs: list[tuple[list[str], set[str], set[str]]],
    *,
    epochs: int,
    lr: float,
    l2: float,
    seed: int,
) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """SGD on the cross-entropy of both heads (targets spread evenly over a request's tools and
    over its domains). Returns features, labels, weights (features x labels) and biases."""
    counts: Counter[str] = Counter(f for feats, _, _ in docs for f in feats)
    features = sorted(f for f, n in counts.items() if n >= MIN_COUNT)
    index = {f: i for i, f in enumerate(features)}
    labels = sorted(
        {"t:" + t for _, ts, _ in docs for t in ts} | {"d:" + d for *_, ds in docs for d in ds}
    )
    lab = {name: i for i, name in enumerate(labels)}
    heads = [np.array([name.startswith(p) for name in labels]) for p in ("t:", "d:")]
    w = np.zeros((len(features), len(labels)), dtype=np.float32)
    b = np.zeros(len(labels), dtype=np.float32)
    rows = [
        (
            np.array([index[f] for f in feats if f in index], dtype=np.int64),
            [lab["t:" + t] for t in ts],
            [lab["d:" + d] for d in ds],
        )
        for feats, ts, ds in docs
    ]
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        rate = lr * (1 - epoch / epochs)
        loss = 0.0
        for j in rng.permutation(len(rows)):
            idx, ts, ds = rows[j]
            score = b + w[idx].sum(axis=0)
            grad = np.zeros(len(labels), dtype=np.float32)
            for head, targets in zip(heads, (ts, ds), strict=True):
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
    args = parser.parse_args()
    gen = Generator(None, args.seed, questions=not args.no_questions)
    docs: list[tuple[list[str], set[str], set[str]]] = []
    while len(docs) < args.n:
        raw = gen.raw()
        if raw is None or not raw.calls:
            continue
        tools, domains = labels(raw)
        docs.append((sorted(retrieval_features(raw.text, raw.previous)), tools, domains))
        if len(docs) % 10000 == 0:
            print(f"{len(docs)} requests", file=sys.stderr)
    features, names, w, b = fit(docs, epochs=args.epochs, lr=args.lr, l2=args.l2, seed=args.seed)
    weights = {}
    for f, row in zip(features, w, strict=True):
        kept = {names[i]: round(float(v), 3) for i, v in enumerate(row) if abs(v) >= KEEP}
        if kept:
            weights[f] = kept
    index = {
        "about": "softmax-regression weights for prompt.py's tool/domain retrieval; "
        f"training/fit_retrieval.py --n {args.n} --seed {args.seed} --epochs {args.epochs}"
        + (" --no-questions" if args.no_questions else ""),
        "bias": {n: round(float(v), 3) for n, v in zip(names, b, strict=True)},
        "weights": weights,
    }
    args.out.write_text(json.dumps(index, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(
        json.dumps(
            {"requests": len(docs), "features": len(weights), "bytes": args.out.stat().st_size}
        )
    )


if __name__ == "__main__":
    main()
