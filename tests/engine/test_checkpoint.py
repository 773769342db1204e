"""The checkpoint reader refuses anything but a valid v1 pickle, and round-trips the writer."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from custom_components.needle.engine.checkpoint import (
    CheckpointError,
    expected_shapes,
    init_random_params,
    load_checkpoint,
    save_checkpoint,
)
from custom_components.needle.engine.config import ModelConfig

from .conftest import RANDOM_CONFIG, REFERENCE


def test_reference_checkpoints_load_with_defaults(tiny_checkpoint, small_checkpoint) -> None:
    assert tiny_checkpoint.config.vocab_size == 512
    assert small_checkpoint.config.vocab_size == 8192  # default, not stored in its config
    assert "vocab_size" not in small_checkpoint.raw_config
    assert small_checkpoint.config.num_encoder_layers == 3
    assert len(small_checkpoint.sha256) == 64
    for ckpt in (tiny_checkpoint, small_checkpoint):
        shapes = expected_shapes(ckpt.config)
        assert set(ckpt.params) == set(shapes)
        for key, value in ckpt.params.items():
            assert value.dtype == np.float16 and value.shape == shapes[key]


def test_save_load_round_trip(tmp_path: Path) -> None:
    config = ModelConfig.from_dict(RANDOM_CONFIG)
    params = {k: v.astype(np.float32) for k, v in init_random_params(config, 3).items()}
    path = tmp_path / "model.pkl"
    save_checkpoint(path, params, {**RANDOM_CONFIG, "d_ff": np.int64(256)})
    ckpt = load_checkpoint(path)
    assert ckpt.config == config
    assert ckpt.raw_config["d_ff"] == 256 and type(ckpt.raw_config["d_ff"]) is int
    for key, value in params.items():
        assert ckpt.params[key].dtype == np.float16
        np.testing.assert_array_equal(ckpt.params[key], value.astype(np.float16))
    # the official layout: a nested dict, protocol 4
    raw = path.read_bytes()
    assert raw[:2] == b"\x80\x04"
    assert list(ckpt.params)  # flat keys
    assert not list(tmp_path.glob(".*.tmp"))


def test_init_random_params_is_deterministic() -> None:
    config = ModelConfig.from_dict(RANDOM_CONFIG)
    a, b, c = (init_random_params(config, s) for s in (1, 1, 2))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["embedding/embedding"], c["embedding/embedding"])


def test_numpy1_global_path_is_accepted(tmp_path: Path) -> None:
    """numpy 1.x writes numpy.core.multiarray; numpy 2 maps it to numpy._core."""
    ckpt = load_checkpoint(REFERENCE / "tiny.pkl")
    payload = {"params": {"log_temp": ckpt.params["log_temp"]}, "config": {}}
    data = pickle.dumps(payload, protocol=3)  # GLOBAL opcodes as text, no frames
    assert b"numpy._core.multiarray" in data
    data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    path = tmp_path / "old.pkl"
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match="missing parameters"):  # reached validation
        load_checkpoint(path)


class _System:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_forbidden_global_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"params": _System(f"touch {marker}"), "config": {}}, protocol=4))
    with pytest.raises(CheckpointError, match=r"references (posix|os)\.system"):
        load_checkpoint(path)
    assert not marker.exists()


def test_other_globals_refused(tmp_path: Path) -> None:
    path = tmp_path / "eval.pkl"
    path.write_bytes(pickle.dumps({"params": {}, "config": {"x": ValueError("x")}}, protocol=4))
    with pytest.raises(CheckpointError, match=r"builtins\.ValueError"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"hello, this is text", "not a pickle"),
        (b"\x80\x04\x95\xff\xff", "truncated"),
    ],
)
def test_not_a_checkpoint(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_truncated_reference(tmp_path: Path) -> None:
    data = (REFERENCE / "tiny.pkl").read_bytes()
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "nope.pkl")


def _write(path: Path, params: dict, config: dict) -> Path:
    path.write_bytes(pickle.dumps({"params": params, "config": config}, protocol=4))
    return path


def _tree(flat: dict) -> dict:
    tree: dict = {}
    for key, value in flat.items():
        node = tree
        *parents, leaf = key.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


@pytest.fixture
def good_params() -> dict[str, np.ndarray]:
    return init_random_params(ModelConfig.from_dict(RANDOM_CONFIG), 0)


def test_good_hand_written_pickle_loads(tmp_path: Path, good_params) -> None:
    ckpt = load_checkpoint(_write(tmp_path / "ok.pkl", _tree(good_params), RANDOM_CONFIG))
    assert ckpt.config.d_model == 64


def test_missing_parameter(tmp_path: Path, good_params) -> None:
    del good_params["decoder/ZCRMSNorm_0/scale"]
    path = _write(tmp_path / "m.pkl", _tree(good_params), RANDOM_CONFIG)
    with pytest.raises(CheckpointError, match=r"missing parameters: decoder/ZCRMSNorm_0/scale"):
        load_checkpoint(path)


def test_extra_parameter(tmp_path: Path, good_params) -> None:
    good_params["decoder/memory/slots"] = np.zeros(3, np.float16)
    path = _write(tmp_path / "e.pkl", _tree(good_params), RANDOM_CONFIG)
    with pytest.raises(CheckpointError, match=r"unexpected parameters: decoder/memory/slots"):
        load_checkpoint(path)


def test_misshaped_parameter(tmp_path: Path, good_params) -> None:
    key = "encoder/layers/EncoderBlock_0/self_attn/k_proj/kernel"
    good_params[key] = np.zeros((2, 64, 64), np.float16)
    path = _write(tmp_path / "s.pkl", _tree(good_params), RANDOM_CONFIG)
    with pytest.raises(
        CheckpointError, match=r"k_proj/kernel has shape \(2, 64, 64\), expected \(2, 64, 32\)"
    ):
        load_checkpoint(path)


def test_params_for_another_config(tmp_path: Path, good_params) -> None:
    path = _write(tmp_path / "c.pkl", _tree(good_params), {**RANDOM_CONFIG, "d_model": 128})
    with pytest.raises(CheckpointError, match="does not match its config"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "config",
    [{**RANDOM_CONFIG, "num_heads": 3}, {**RANDOM_CONFIG, "colour": "red"}, {"d_model": "wide"}],
)
def test_bad_config(tmp_path: Path, good_params, config: dict) -> None:
    path = _write(tmp_path / "b.pkl", _tree(good_params), config)
    with pytest.raises(CheckpointError, match="bad config"):
        load_checkpoint(path)


def test_wrong_top_level(tmp_path: Path) -> None:
    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([1, 2, 3], protocol=4))
    with pytest.raises(CheckpointError, match="'params' and 'config'"):
        load_checkpoint(path)


def test_save_refuses_bad_params(tmp_path: Path, good_params) -> None:
    del good_params["log_temp"]
    with pytest.raises(CheckpointError, match="missing parameters: log_temp"):
        save_checkpoint(tmp_path / "x.pkl", good_params, RANDOM_CONFIG)
    assert not list(tmp_path.iterdir())
