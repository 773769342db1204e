"""Summaries, per-tag tables and a report a person can read (Markdown + plots + JSONL)."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from .scoring import CaseResult


def summary(suite: str, agent: str, results: list[CaseResult]) -> dict[str, Any]:
    """FORMAT.md's summary object."""
    passed = sum(r.passed for r in results)
    latencies = [r.latency_ms for r in results if r.error is None or r.latency_ms]
    return {
        "suite": suite,
        "agent": agent,
        "cases": len(results),
        "passed": passed,
        "score": round(passed / len(results), 3) if results else 0.0,
        "median_latency_ms": round(statistics.median(latencies), 1) if latencies else None,
        **outcome_counts(results),
    }


def outcome_counts(results: list[CaseResult]) -> dict[str, Any]:
    """Wrong actions, refusals and questions asked (CaseResult's definitions), with rates."""
    n = len(results)
    counts = {
        "wrong_actions": sum(r.wrong_action for r in results),
        "refusals": sum(r.refusal for r in results),
        "questions": sum(r.question for r in results),
    }
    rates = {
        f"{k.removesuffix('s')}_rate": round(v / n, 4) if n else 0.0 for k, v in counts.items()
    }
    return {**counts, **rates}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def by_tag(results: list[CaseResult]) -> dict[str, tuple[int, int]]:
    """tag -> (passed, cases); untagged cases count under "(none)"."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        for tag in r.tags or ["(none)"]:
            table[tag][0] += r.passed
            table[tag][1] += 1
    return {tag: (p, n) for tag, (p, n) in sorted(table.items())}


def tag_table(results: dict[str, list[CaseResult]]) -> str:
    """Plain-text table, one column per agent, side by side."""
    agents = list(results)
    tags = sorted({t for rs in results.values() for t in by_tag(rs)})
    tables = {a: by_tag(rs) for a, rs in results.items()}
    width = max([len(t) for t in tags] + [8])
    head = f"{'tag':<{width}}  " + "  ".join(f"{a:>16}" for a in agents)
    lines = [head, "-" * len(head)]
    for tag in tags:
        cells = []
        for a in agents:
            p, n = tables[a].get(tag, (0, 0))
            cells.append(f"{p:>5}/{n:<4} {100 * p / n:5.1f}%" if n else f"{'-':>16}")
        lines.append(f"{tag:<{width}}  " + "  ".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def side_by_side(summaries: dict[str, dict[str, Any]], results: dict[str, list[CaseResult]]) -> str:
    """Per agent: passed and score, wrong actions (something ran or changed and the case
    failed), refusals (nothing done, no question), questions asked back, latency."""
    lines = [
        f"{'agent':<14} {'cases':>6} {'passed':>7} {'score':>7} {'wrong':>12} {'refused':>12} "
        f"{'asked':>12} {'median ms':>10} {'p90 ms':>8}"
    ]
    for agent, s in summaries.items():
        p90 = percentile([r.latency_ms for r in results[agent]], 0.9)
        n = s["cases"] or 1
        cells = [
            f"{s.get(k, 0):>4} {100 * s.get(k, 0) / n:5.1f}%"
            for k in ("wrong_actions", "refusals", "questions")
        ]
        lines.append(
            f"{agent:<14} {s['cases']:>6} {s['passed']:>7} {s['score']:>7.3f} "
            + " ".join(f"{c:>12}" for c in cells)
            + f" {s['median_latency_ms'] or 0:>10.1f} {p90 or 0:>8.1f}"
        )
    if "builtin" in summaries and len(summaries) > 1:
        base = summaries["builtin"]["median_latency_ms"] or 0
        for agent, s in summaries.items():
            if agent != "builtin" and base:
                lines.append(
                    f"latency ratio {agent}/builtin (median): {s['median_latency_ms'] / base:.1f}x"
                )
    return "\n".join(lines)


def write_report(
    out: Path,
    suite: str,
    summaries: dict[str, dict[str, Any]],
    results: dict[str, list[CaseResult]],
    errors: dict[str, str],
    meta: dict[str, Any],
) -> Path:
    """report.md, results-<agent>.jsonl, summary.json and the plots under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for agent, rs in results.items():
        with (out / f"results-{agent}.jsonl").open("w", encoding="utf-8") as f:
            for r in rs:
                f.write(json.dumps(r.as_dict(), ensure_ascii=False, default=str) + "\n")
    (out / "summary.json").write_text(
        json.dumps({"summaries": summaries, "meta": meta, "fixture_errors": errors}, indent=1),
        encoding="utf-8",
    )
    plots = _plots(out, results)
    md = [f"# Evaluation: {suite}", ""]
    md += [f"- {k}: {v}" for k, v in meta.items()]
    md += ["", "## Scores", "", "```", side_by_side(summaries, results), "```", ""]
    md += ["## Per tag", "", "```", tag_table(results), "```", ""]
    md += [f"![{p.stem}]({p.name})" for p in plots]
    if errors:
        md += ["", "## Fixture errors (counted as failures)", ""]
        md += [f"- `{k}`: {v}" for k, v in errors.items()]
    for agent, rs in results.items():
        failed = [r for r in rs if not r.passed]
        md += ["", f"## Failures: {agent} ({len(failed)})", ""]
        for r in failed[:300]:
            md += failure_lines(r)
        if len(failed) > 300:
            md.append(f"- ... and {len(failed) - 300} more (results-{agent}.jsonl)")
    path = out / "report.md"
    path.write_text("\n".join(md) + "\n", encoding="utf-8")
    return path


def failure_lines(r: CaseResult) -> list[str]:
    """One failure for report.md: the reasons, then what the agent did (its calls, the state
    changes) and what it said, so that a state-scored failure shows the action too."""
    calls = ", ".join(
        f"{c['name']}({', '.join(f'{k}={v!r}' for k, v in (c.get('arguments') or {}).items())})"
        for c in r.calls
    )
    changes = "; ".join(
        f"{entity}: " + ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in delta.items())
        for entity, delta in r.changes.items()
    )
    return [
        f"- `{r.id}` [{r.kind}] \u201c{r.text}\u201d: {'; '.join(r.reasons)}",
        f"  - calls: {calls or 'none'}",
        f"  - changes: {changes or 'none'}",
        f"  - reply{' (asks back)' if r.asked else ''}: \u201c{r.reply}\u201d"
        + (f" ({r.response_type})" if r.response_type else ""),
    ]


def _plots(out: Path, results: dict[str, list[CaseResult]]) -> list[Path]:
    """Score per tag and a latency histogram; skipped quietly without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    paths = []
    tags = sorted({t for rs in results.values() for t in by_tag(rs)})
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(tags) * len(results)), 4.5))
    width = 0.8 / max(len(results), 1)
    for i, (agent, rs) in enumerate(results.items()):
        table = by_tag(rs)
        scores = [100 * table[t][0] / table[t][1] if t in table else 0 for t in tags]
        ax.bar([x + i * width for x in range(len(tags))], scores, width, label=agent)
    ax.set_xticks([x + width * (len(results) - 1) / 2 for x in range(len(tags))])
    ax.set_xticklabels(tags, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("cases passed (%)")
    ax.set_ylim(0, 100)
    ax.legend()
    ax.set_title("Score per tag")
    fig.tight_layout()
    paths.append(out / "score_per_tag.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    for agent, rs in results.items():
        lat = [max(r.latency_ms, 0.1) for r in rs]
        if lat:
            ax.hist(lat, bins=40, alpha=0.6, label=agent)
    ax.set_xlabel("latency per sentence (ms)")
    ax.set_ylabel("cases")
    ax.set_title("Latency")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "latency.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def sweep_table(points: list[dict[str, Any]]) -> str:
    """One row per threshold of a ``--threshold`` run: Needle's score and wrong actions (and
    the built-in agent's, when it ran alongside, for the same cases)."""
    lines = [f"{'threshold':>9} {'score':>7} {'wrong':>7} {'refused':>8} {'asked':>7}"]
    for p in points:
        lines.append(
            f"{p['threshold']:>9g} {p['score']:>7.3f} {100 * p['wrong_action_rate']:>6.1f}% "
            f"{100 * p['refusal_rate']:>7.1f}% {100 * p['question_rate']:>6.1f}%"
        )
    if points and (base := points[0].get("baseline")):
        lines.append(
            f"{'builtin':>9} {base['score']:>7.3f} {100 * base['wrong_action_rate']:>6.1f}% "
            f"{100 * base['refusal_rate']:>7.1f}% {100 * base['question_rate']:>6.1f}%"
        )
    return "\n".join(lines)


def write_sweep(out: Path, points: list[dict[str, Any]]) -> Path:
    """sweep.json, sweep.md and (with matplotlib) threshold_sweep.png: score against
    wrong-action rate, one point per threshold, from which the default threshold is chosen."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(points, indent=1), encoding="utf-8")
    md = ["# Threshold sweep (MIN_CALL_CONFIDENCE)", "", "```", sweep_table(points), "```", ""]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    if plt is not None and points:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        xs = [100 * p["wrong_action_rate"] for p in points]
        ys = [100 * p["score"] for p in points]
        ax.plot(xs, ys, "o-", label=points[0].get("agent", "needle"))
        labels: dict[tuple[float, float], list[str]] = defaultdict(list)
        for p, x, y in zip(points, xs, ys, strict=True):
            labels[(x, y)].append(f"{p['threshold']:g}")  # equal points share one label
        for (x, y), ts in labels.items():
            ax.annotate(", ".join(ts), (x, y), textcoords="offset points", xytext=(4, 4))
        if base := points[0].get("baseline"):
            ax.plot([100 * base["wrong_action_rate"]], [100 * base["score"]], "x", ms=10,
                    label="builtin")  # fmt: skip
        ax.set_xlabel("wrong actions (% of cases)")
        ax.set_ylabel("score (% of cases passed)")
        ax.set_title(f"{points[0].get('suite', '')}: score vs wrong actions by threshold")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "threshold_sweep.png", dpi=110)
        plt.close(fig)
        md.append("![threshold_sweep](threshold_sweep.png)")
    path = out / "sweep.md"
    path.write_text("\n".join(md) + "\n", encoding="utf-8")
    return path
