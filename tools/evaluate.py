#!/usr/bin/env python3
"""Score conversation agents on an evaluation suite in real Home Assistant (FORMAT.md).

    python tools/evaluate.py SUITE_DIR [--agent needle|builtin|both] [--bundle DIR]
                             [--report OUT] [--limit N] [--prefer-local] [--backend numpy]

For each home fixture a Home Assistant core starts in this process with a temporary config
folder; the fixture's devices are created as real entities (tools/virtual_home) and exposed as
it says; each case's sentence goes through HA's conversation API to the agent under test. Prints
failures as they come, a table per tag and, as the last line, FORMAT.md's JSON summary (with
``--agent both``: Needle's, with the built-in agent's under "baseline" and the latency ratio).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tools"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from evalkit.report import (  # noqa: E402
    side_by_side,
    summary,
    sweep_table,
    tag_table,
    write_report,
    write_sweep,
)
from evalkit.runner import (  # noqa: E402
    BUILTIN,
    NEEDLE,
    AgentSpec,
    async_run_home,
    home_assistant,
)
from evalkit.scoring import CaseResult  # noqa: E402
from evalkit.suite import FixtureError, load_suite  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("suite", type=Path, help="suite folder (cases.jsonl + homes/)")
    p.add_argument("--agent", choices=["needle", "builtin", "both"], default="needle")
    p.add_argument("--bundle", type=Path, help="Needle model bundle (default: the built-in one)")
    p.add_argument("--report", type=Path, help="folder for report.md, plots and JSONL results")
    p.add_argument("--limit", type=int, help="only the first N cases")
    p.add_argument("--only", help="only cases whose id contains this text")
    p.add_argument(
        "--prefer-local",
        action="store_true",
        help="Needle's 'prefer handling commands locally' option on (HA's matcher first)",
    )
    p.add_argument("--backend", choices=["onnxruntime", "numpy"], help="force Needle's backend")
    p.add_argument("--quiet", action="store_true", help="do not print each failure")
    p.add_argument(
        "--threshold",
        type=thresholds,
        help="T[,T2,...]: run once per value of Needle's MIN_CALL_CONFIDENCE (the policy's\n"
        "confidence threshold) and write sweep.json + threshold_sweep.png under --report",
    )
    return p.parse_args(argv)


def thresholds(text: str) -> list[float]:
    """``0.3,0.5,0.7`` -> [0.3, 0.5, 0.7]; each in [0, 1]."""
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from err
    if not values or any(not 0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"thresholds must lie in [0, 1]: {text!r}")
    return values


@contextmanager
def call_threshold(value: float | None) -> Iterator[None]:
    """Needle's policy with ``value`` for MIN_CALL_CONFIDENCE for the run (None: as shipped).
    The confirmation threshold follows it, so no "do you want me to ...?" appears that the
    shipped setting (the two equal) would not ask."""
    if value is None:
        yield
        return
    from custom_components.needle import conversation as needle_conversation
    from custom_components.needle import policy

    decide = partial(policy.decide_parts, threshold=value, ask_threshold=value)
    with patch.object(needle_conversation, "decide_parts", decide):
        yield


def agents_for(args: argparse.Namespace) -> list[AgentSpec]:
    needle = AgentSpec(NEEDLE, args.bundle, args.prefer_local, args.backend)
    if args.agent == "builtin":
        return [AgentSpec(BUILTIN)]
    if args.agent == "needle":
        return [needle]
    return [AgentSpec(BUILTIN), needle]


async def evaluate(args: argparse.Namespace) -> dict:
    suite = load_suite(args.suite)
    cases = [c for c in suite.cases if not args.only or args.only in c.id]
    cases = cases[: args.limit] if args.limit else cases
    agents = agents_for(args)
    labels = [a.label for a in agents]
    results: dict[str, list[CaseResult]] = {label: [] for label in labels}
    chosen = {c.id for c in cases}
    errors = {
        k: v for k, v in suite.errors.items()
        if k in chosen or (k.startswith("line") and not (args.limit or args.only))
    }  # fmt: skip
    for key, why in errors.items():
        print(f"FIXTURE {key}: {why}", flush=True)
        for label in labels:
            results[label].append(CaseResult(key, False, [f"fixture: {why}"], [], "", error=why))
    runnable = [c for c in cases if c.id not in suite.errors]
    done = 0
    started = time.monotonic()

    def on_result(label: str, result: CaseResult) -> None:
        nonlocal done
        done += 1
        if not result.passed and not args.quiet:
            print(f"FAIL [{label}] {result.id}: {result.text!r} -> {'; '.join(result.reasons)}",
                  flush=True)  # fmt: skip
        if done % 100 == 0:
            rate = done / (time.monotonic() - started)
            print(f"... {done}/{len(runnable) * len(labels)} turns ({rate:.1f}/s)", flush=True)

    for home_key in sorted({c.home for c in runnable}):
        home_cases = [c for c in runnable if c.home == home_key]
        try:
            with tempfile.TemporaryDirectory(prefix="needle-eval-") as config_dir:
                async with home_assistant(Path(config_dir)) as hass:
                    got = await async_run_home(
                        hass, suite.homes[home_key], home_cases, agents, on_result
                    )
        except Exception as err:  # a broken home fails its own cases; the run goes on
            why = f"home {home_key!r} could not be run: {type(err).__name__}: {err}"
            print(f"FIXTURE {why}", flush=True)
            got = {
                label: [
                    CaseResult(c.id, False, [why], c.tags, c.text, error=why) for c in home_cases
                ]
                for label in labels
            }
        for label, rs in got.items():
            results[label].extend(rs)

    summaries = {label: summary(suite.name, label, rs) for label, rs in results.items()}
    print()
    print(tag_table(results))
    print()
    print(side_by_side(summaries, results))
    if args.report:
        meta = {
            "suite": str(args.suite),
            "agents": ", ".join(labels),
            "bundle": str(args.bundle) if args.bundle else "built-in default",
            "backend": args.backend or "auto",
            "cases": len(cases),
            "seconds": round(time.monotonic() - started, 1),
        }
        if getattr(args, "threshold_now", None) is not None:
            meta["min_call_confidence"] = args.threshold_now
        path = write_report(args.report, suite.name, summaries, results, errors, meta)
        print(f"report: {path}")
    last = summaries[labels[-1]]
    if len(labels) > 1:
        base = summaries[labels[0]]
        last = {**last, "baseline": base}
        if base["median_latency_ms"]:
            last["latency_ratio"] = round(last["median_latency_ms"] / base["median_latency_ms"], 2)
    return last


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.threshold and args.agent == "builtin":
        print("error: --threshold is Needle's; use --agent needle or both", file=sys.stderr)
        return 2
    runs: list[tuple[float | None, dict]] = []
    report = args.report
    for value in args.threshold or [None]:
        if value is not None:
            print(f"=== MIN_CALL_CONFIDENCE = {value}", flush=True)
            args.report = report / f"threshold-{value:g}" if report else None
        args.threshold_now = value
        try:
            with call_threshold(value):
                runs.append((value, asyncio.run(evaluate(args))))
        except FixtureError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if args.threshold:
        points = [{"threshold": t, **s} for t, s in runs]
        print()
        print(sweep_table(points))
        if report:
            print(f"sweep: {write_sweep(report, points)}")
        print(json.dumps({"sweep": points}))
        return 0
    print(json.dumps(runs[0][1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
