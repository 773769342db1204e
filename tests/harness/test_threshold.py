"""``tools/evaluate.py --threshold``: the list parses, the policy Needle's conversation agent
calls uses the threshold for the run (and the shipped one afterwards), and the sweep is written."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import evaluate  # tools/evaluate.py (tools/ is on sys.path: conftest)
import pytest
from evalkit.report import sweep_table, write_sweep

from custom_components.needle import conversation as needle_conversation
from custom_components.needle.const import MIN_CALL_CONFIDENCE


def test_thresholds_parse_and_reject() -> None:
    assert evaluate.thresholds("0.3,0.5, 0.7") == [0.3, 0.5, 0.7]
    for bad in ("", "x", "0.5,1.5", "-0.1"):
        with pytest.raises(argparse.ArgumentTypeError):
            evaluate.thresholds(bad)
    assert evaluate.parse_args(["s", "--threshold", "0.2,0.9"]).threshold == [0.2, 0.9]


def test_call_threshold_patches_the_policy_for_the_run_only() -> None:
    original = needle_conversation.decide_parts
    with evaluate.call_threshold(0.9):
        patched = needle_conversation.decide_parts
        assert patched is not original
        assert patched.keywords == {"threshold": 0.9, "ask_threshold": 0.9}
    assert needle_conversation.decide_parts is original
    with evaluate.call_threshold(None):
        assert needle_conversation.decide_parts is original
    assert patched.func.__kwdefaults__["threshold"] == MIN_CALL_CONFIDENCE  # the shipped one


def test_sweep_written(tmp_path: Path) -> None:
    def point(t: float, score: float, wrong: float) -> dict:
        return {"threshold": t, "suite": "s", "agent": "needle", "score": score,
                "wrong_action_rate": wrong, "refusal_rate": 0.1, "question_rate": 0.05}  # fmt: skip

    base = {"score": 0.9, "wrong_action_rate": 0.01, "refusal_rate": 0.09, "question_rate": 0.0}
    points = [{**point(0.3, 0.6, 0.2), "baseline": base}, point(0.7, 0.5, 0.05)]
    table = sweep_table(points)
    assert "0.3   0.600   20.0%" in table and "builtin" in table
    path = write_sweep(tmp_path, points)
    assert "0.7" in path.read_text()
    assert json.loads((tmp_path / "sweep.json").read_text())[1]["threshold"] == 0.7
