"""Shared fixtures: custom integrations on, a tiny real bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytest_homeassistant_custom_component"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA's loader find custom_components/needle in every test."""


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight bundle written by the engine's own writer (skips until it exists)."""
    bundle = pytest.importorskip("custom_components.needle.engine.bundle")
    checkpoint = pytest.importorskip("custom_components.needle.engine.checkpoint")
    tokenizer = pytest.importorskip("custom_components.needle.engine.tokenizer")
    reference = Path(__file__).parent / "data" / "needle-v1-reference"
    out = tmp_path_factory.mktemp("bundle") / "tiny"
    ckpt = checkpoint.load_checkpoint(reference / "tiny.pkl")
    tok = _tokenizer_json(tokenizer, reference)
    bundle.write_bundle(ckpt, out, tokenizer_json=tok, int8=False, provenance={"test": "tiny"})
    return out


def _tokenizer_json(tokenizer: Any, reference: Path) -> str:
    for name in ("tokenizer.json",):
        if (reference / name).is_file():
            return (reference / name).read_text()
    for sp in reference.glob("*.model"):
        return tokenizer.convert_sentencepiece(sp.read_bytes())
    pytest.skip("no tokenizer in tests/data/needle-v1-reference")
    raise AssertionError
