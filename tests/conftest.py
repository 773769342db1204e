"""Shared fixtures: custom integrations on, a tiny real bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytest_homeassistant_custom_component"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA's loader find custom_components/needle in every test."""


SPECIAL_TOKENS = ["<pad>", "</s>", "<s>", "<unk>", "<tool_call>", "<tools>"]  # ids 0..5 (v1)


def tiny_tokenizer_json(vocab_size: int) -> str:
    """A byte-level BPE with the v1 special ids, trained here on a few lines of the kind of text
    the encoder sees; small enough for the 512-token tiny reference model."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = [
        "turn on the kitchen light",
        "set the bedroom lamp to 40 percent",
        "open the living room blinds",
        '[{"name":"hass_turn_on","arguments":{"name":"Kitchen Light"}}]',
        '{"name":"hass_light_set","description":"Sets the brightness","parameters":{}}',
        '"type":"string","description":"","enum":["Kitchen","Bedroom"]',
    ] * 20
    tok.train_from_iterator(lines, trainer=trainer)
    # fill the vocabulary so that every id the model can emit decodes to something
    missing = vocab_size - tok.get_vocab_size()
    tok.add_tokens([f"<extra_{i}>" for i in range(max(missing, 0))])
    return tok.to_str()


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of the tiny reference checkpoint, written by the engine's own writer (skips
    until the engine provides it)."""
    bundle = pytest.importorskip("custom_components.needle.engine.bundle")
    checkpoint = pytest.importorskip("custom_components.needle.engine.checkpoint")
    reference = Path(__file__).parent / "data" / "needle-v1-reference"
    ckpt = checkpoint.load_checkpoint(reference / "tiny.pkl")
    out = tmp_path_factory.mktemp("bundle") / "tiny"
    bundle.write_bundle(
        ckpt,
        out,
        tokenizer_json=tiny_tokenizer_json(ckpt.config.vocab_size),
        int8=False,
        provenance={"test": "tiny reference checkpoint"},
    )
    return out
