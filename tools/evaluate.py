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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tools"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from evalkit.report import side_by_side, summary, tag_table, write_report  # noqa: E402
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
    return p.parse_args(argv)


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
            results[label].append(CaseResult(key, False, [f"fixture: {why}"], [], ""))
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
                label: [CaseResult(c.id, False, [why], c.tags, c.text, error=why) for c in home_cases]
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
    try:
        final = asyncio.run(evaluate(args))
    except FixtureError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(final))
    return 0


if __name__ == "__main__":
    sys.exit(main())
