"""Engine test fixtures: the reference checkpoints, bundles written from them, random models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from custom_components.needle.engine.bundle import write_bundle
from custom_components.needle.engine.checkpoint import (
    Checkpoint,
    init_random_params,
    load_checkpoint,
)
from custom_components.needle.engine.config import ModelConfig

REFERENCE = Path(__file__).parents[1] / "data" / "needle-v1-reference"

# Small but with every feature: grouped queries (4 heads share 2 KV heads), 2+2 layers.
RANDOM_CONFIG = {
    "vocab_size": 300,
    "d_model": 64,
    "num_heads": 4,
    "num_kv_heads": 2,
    "num_encoder_layers": 2,
    "num_decoder_layers": 2,
    "contrastive_dim": 32,
}


def reference(name: str) -> dict[str, np.ndarray]:
    with np.load(REFERENCE / f"{name}_expected.npz") as z:
        return {k: z[k] for k in z.files}


def random_checkpoint(seed: int = 0, **overrides: int) -> Checkpoint:
    config = ModelConfig.from_dict({**RANDOM_CONFIG, **overrides})
    params = init_random_params(config, seed)
    return Checkpoint(config=config, params=params)


@pytest.fixture(scope="session")
def tiny_checkpoint() -> Checkpoint:
    return load_checkpoint(REFERENCE / "tiny.pkl")


@pytest.fixture(scope="session")
def small_checkpoint() -> Checkpoint:
    return load_checkpoint(REFERENCE / "small.pkl")


@pytest.fixture(scope="session")
def random_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """fp32, int8 and int4 bundles (with graphs) of one random model."""
    root = tmp_path_factory.mktemp("random-bundles")
    ckpt = random_checkpoint(seed=7)
    return {
        "fp32": write_bundle(ckpt, root / "fp32"),
        "int8": write_bundle(ckpt, root / "int8", int8=True),
        "int4": write_bundle(ckpt, root / "int4", precision="int4"),
    }
