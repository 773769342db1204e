"""The official Needle v1 checkpoint: a pickle read with a restricted unpickler, then validated.

A checkpoint is a user-supplied file, so ``pickle.load`` on it would run whatever it names. The
unpickler here resolves exactly the globals numpy needs to rebuild an array and refuses every
other one, before anything is called. The parameter tree and every shape are then checked against
the config, so the forward pass never meets a surprise.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import ConfigError, ModelConfig

PICKLE_PROTOCOL = 4  # what the official writer uses

# (module, name) pairs the official pickle may reference; numpy 1.x writes numpy.core, 2.x numpy._core.
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)
_NUMPY_2 = int(np.__version__.split(".", 1)[0]) >= 2
_MAX_LISTED = 6  # problems listed by name in one error message


class CheckpointError(ValueError):
    """The file is not a valid Needle v1 checkpoint; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    """A validated checkpoint: the full config and flat ``'/'``-joined float parameters."""

    config: ModelConfig
    params: dict[str, np.ndarray]
    raw_config: dict[str, Any] = field(default_factory=dict)  # as stored: what training passed
    sha256: str = ""  # of the file it was read from, for a bundle's provenance


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only numpy's array reconstruction; anything else is refused before it can run."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise CheckpointError(
                f"the checkpoint references {module}.{name}, which a Needle checkpoint never "
                "does; refusing to load it"
            )
        if module.startswith("numpy.core") and _NUMPY_2:
            module = "numpy._core" + module[len("numpy.core") :]
        elif module.startswith("numpy._core") and not _NUMPY_2:
            module = "numpy.core" + module[len("numpy._core") :]
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise CheckpointError("the checkpoint uses persistent ids; refusing to load it")


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every parameter of a v1 model of this config, by flat key, with its shape."""
    d, hd, kv = config.d_model, config.head_dim, config.kv_dim
    E, D = config.num_encoder_layers, config.num_decoder_layers

    def attention(prefix: str, L: int) -> dict[str, tuple[int, ...]]:
        return {
            f"{prefix}/q_proj/kernel": (L, d, d),
            f"{prefix}/k_proj/kernel": (L, d, kv),
            f"{prefix}/v_proj/kernel": (L, d, kv),
            f"{prefix}/out_proj/kernel": (L, d, d),
            f"{prefix}/q_norm/scale": (L, hd),
            f"{prefix}/k_norm/scale": (L, hd),
        }

    enc = "encoder/layers/EncoderBlock_0"
    dec = "decoder/layers/DecoderBlock_0"
    shapes: dict[str, tuple[int, ...]] = {"embedding/embedding": (config.vocab_size, d)}
    shapes[f"{enc}/attn_gate"] = (E,)
    shapes[f"{enc}/ZCRMSNorm_0/scale"] = (E, d)
    shapes.update(attention(f"{enc}/self_attn", E))
    shapes["encoder/final_norm/scale"] = (d,)
    shapes[f"{dec}/self_attn_gate"] = (D,)
    shapes[f"{dec}/cross_attn_gate"] = (D,)
    shapes[f"{dec}/ZCRMSNorm_0/scale"] = (D, d)
    shapes[f"{dec}/ZCRMSNorm_1/scale"] = (D, d)
    shapes.update(attention(f"{dec}/self_attn", D))
    shapes.update(attention(f"{dec}/cross_attn", D))
    shapes["decoder/ZCRMSNorm_0/scale"] = (d,)
    shapes["contrastive_hidden/kernel"] = (d, d // 4)
    shapes["contrastive_hidden/bias"] = (d // 4,)
    shapes["contrastive_proj/kernel"] = (d // 4, config.contrastive_dim)
    shapes["log_temp"] = ()
    return shapes


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")


def check_params(params: Mapping[str, Any], config: ModelConfig) -> None:
    """Raise one CheckpointError naming every missing, extra or misshaped parameter."""
    expected = expected_shapes(config)
    problems = []
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing:
        problems.append(f"missing parameters: {_listed(missing)}")
    if extra:
        problems.append(f"unexpected parameters: {_listed(extra)}")
    wrong = []
    for key in sorted(set(expected) & set(params)):
        value = params[key]
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            wrong.append(f"{key} is not a float array")
        elif tuple(value.shape) != expected[key]:
            wrong.append(f"{key} has shape {tuple(value.shape)}, expected {expected[key]}")
        elif not np.all(np.isfinite(value)):
            wrong.append(f"{key} holds NaN or infinite values")
    if wrong:
        problems.append("; ".join(wrong[:_MAX_LISTED]))
    if problems:
        raise CheckpointError("checkpoint does not match its config: " + "; ".join(problems))


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if not isinstance(key, str):
            raise CheckpointError(f"parameter tree has a non-string key {key!r}")
        name = f"{prefix}/{key}" if prefix else key
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name))
        else:
            flat[name] = value
    return flat


def _unflatten(flat: Mapping[str, np.ndarray]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in flat.items():
        node = tree
        *parents, leaf = name.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _unpickle(data: bytes) -> Any:
    if not data:
        raise CheckpointError("the checkpoint file is empty")
    if data[0] != pickle.PROTO[0]:
        raise CheckpointError("not a Needle checkpoint: the file is not a pickle")
    try:
        return _RestrictedUnpickler(io.BytesIO(data)).load()
    except CheckpointError:
        raise
    except EOFError as err:
        raise CheckpointError("the checkpoint file is truncated") from err
    except pickle.UnpicklingError as err:
        if "truncated" in str(err):
            raise CheckpointError("the checkpoint file is truncated") from err
        raise CheckpointError(f"not a readable checkpoint pickle: {err}") from err
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, MemoryError) as err:
        raise CheckpointError(f"not a readable checkpoint pickle: {err}") from err


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and validate an official v1 checkpoint (a blocking call: it reads the whole file)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise CheckpointError(f"cannot read checkpoint {path}: {err.strerror or err}") from err
    top = _unpickle(data)
    if not isinstance(top, dict) or not {"params", "config"} <= set(top):
        raise CheckpointError("not a Needle checkpoint: expected a dict with 'params' and 'config'")
    raw_config, tree = top["config"], top["params"]
    if not isinstance(raw_config, dict) or not all(isinstance(k, str) for k in raw_config):
        raise CheckpointError("bad config in checkpoint: expected a dict of named values")
    if not isinstance(tree, dict):
        raise CheckpointError("not a Needle checkpoint: 'params' is not a dict")
    try:
        config = ModelConfig.from_dict(raw_config)
    except ConfigError as err:
        raise CheckpointError(f"bad config in checkpoint: {err}") from err
    params = _flatten(tree)
    check_params(params, config)
    return Checkpoint(
        config=config,
        params=params,
        raw_config=dict(raw_config),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _plain(value: Any) -> Any:
    """numpy scalars would make the pickle reference globals the loader refuses."""
    return value.item() if isinstance(value, np.generic) else value


def save_checkpoint(
    path: str | os.PathLike[str],
    params: Mapping[str, Any],
    config_dict: Mapping[str, Any],
) -> None:
    """Write the official format: protocol 4, nested dict, float16 leaves (atomic rename).

    ``params`` may be flat (``'/'``-joined keys) or nested; leaves may be any float arrays.
    """
    config_plain = {str(k): _plain(v) for k, v in config_dict.items()}
    try:
        config = ModelConfig.from_dict(config_plain)
    except ConfigError as err:
        raise CheckpointError(f"bad config: {err}") from err
    flat = _flatten(params)
    check_params({k: np.asarray(v) for k, v in flat.items()}, config)
    leaves = {k: np.array(v, dtype=np.float16, order="C") for k, v in flat.items()}
    payload = {"params": _unflatten(leaves), "config": config_plain}
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(payload, fh, protocol=PICKLE_PROTOCOL)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def init_random_params(config: ModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Deterministic random float16 weights for tests and benchmarks.

    Kernels are scaled 1/sqrt(fan_in) so activations keep unit size through the depth; gates and
    norm scales get small spreads so every layer matters and greedy output varies.
    """
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    for key, shape in expected_shapes(config).items():
        if key.endswith("/kernel"):
            value = rng.standard_normal(shape) / np.sqrt(shape[-2])
        elif key == "embedding/embedding":
            value = rng.standard_normal(shape) / np.sqrt(config.d_model)
        elif key.endswith("gate"):
            value = rng.normal(0.0, 1.0, shape)
        elif key == "log_temp":
            value = np.array(np.log(1 / 0.07))
        else:  # norm scales and the contrastive bias
            value = rng.normal(0.0, 0.1, shape)
        params[key] = np.asarray(value, dtype=np.float16)
    return params
