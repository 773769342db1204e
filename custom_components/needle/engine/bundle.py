"""A model bundle: one folder that holds everything a backend needs, checked before use.

Layout::

    needle.json     manifest: format version, model config, special ids, precision, tensor index,
                    files with sha256, provenance, license
    weights.bin     every tensor, raw little-endian, each at a 4096-aligned offset (numpy reads it
                    with a memmap; the ONNX graphs point into the same file as external data)
    tokenizer.json  Hugging Face ``tokenizers`` JSON (optional: tests may leave it out)
    encoder.onnx, decoder.onnx   written when the ``onnx`` package is importable

int8 bundles store the projection kernels and the embedding as int8 with one float32 scale per
output channel (per layer and output column of a kernel, per vocabulary row of the embedding).

int4 bundles store the decoder's own projections (self-attention, cross-attention query and
output) and the embedding as 4-bit codes, and the encoder's (the encoder layers and the decoder's
cross-attention keys and values, which the encoder graph computes once per request) as int8 like
above: a decoding step multiplies one row, where onnxruntime's 4-bit ``MatMulNBits`` is ~1.7x
faster than its int8 kernel, but the encoder multiplies hundreds, where it is ~4x slower (and
folding 4-bit weights into int8 at load took ~600 MB). The 4-bit tensors are in blocks of
``INT4_BLOCK`` (32) input values,
laid out exactly as onnxruntime's ``com.microsoft.MatMulNBits`` reads its weight, so the graphs
point at the bytes in ``weights.bin`` unchanged: a kernel (.., K in, N out) is stored transposed
as uint8 (.., N, ceil(K / 32), 16), two codes a byte (the even input index in the low nibble),
with one float32 scale per output channel and block (.., N, ceil(K / 32)); the embedding (V, d)
is already one row per output channel (the tied logits) and is stored as (V, ceil(d / 32), 16).
A code c stands for ``(c - 8) * scale`` (symmetric, the zero point is MatMulNBits' default 8);
K is padded with zeros to whole blocks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import Checkpoint, expected_shapes
from .config import (
    BOS,
    EOS,
    MAX_DECODER_TOKENS,
    MAX_ENCODER_TOKENS,
    PAD,
    TOOL_CALL,
    TOOLS,
    UNK,
    ConfigError,
    ModelConfig,
)

FORMAT = "needle-bundle"
FORMAT_VERSION = 1
MANIFEST = "needle.json"
WEIGHTS = "weights.bin"
TOKENIZER = "tokenizer.json"
ENCODER_ONNX = "encoder.onnx"
DECODER_ONNX = "decoder.onnx"
LOGITS_ONNX = "logits.onnx"  # the tied output projection, its own graph (see onnx_graph)
ALIGN = 4096  # tensor offsets in weights.bin: page-aligned so every slice can be mapped
SCALE_SUFFIX = ":scale"
CREATED_BY = "needle engine bundle writer 1"
DEFAULT_LICENSE = "MIT (Needle v1 architecture and weights format, Cactus Compute)"
_DTYPES = {"float32": np.float32, "int8": np.int8, "uint8": np.uint8}
PRECISIONS = ("fp32", "int8", "int4")
INT4_BLOCK = 32  # input values per 4-bit block (one scale each): MatMulNBits' block_size
# needle.json "quantization" of int4 bundles: what a reader needs to know to decode the codes.
INT4_QUANTIZATION = {
    "bits": 4,
    "block_size": INT4_BLOCK,
    "symmetric": True,
    "zero_point": 8,
    "layout": "com.microsoft.MatMulNBits",
    "int8": "encoder layers and cross-attention k/v projections (per-channel, 7-bit)",
}


class BundleError(ValueError):
    """The folder is not a usable bundle; the message says what is wrong."""


# needle.json "prompt": how the model was trained to be prompted (optional).
PROMPT_KEYS = ("max_encoder_tokens", "max_entities")


def is_quantized(name: str) -> bool:
    """int8 bundles quantize the attention projections and the (tied) embedding."""
    return name == "embedding/embedding" or (name.endswith("_proj/kernel") and "/layers/" in name)


# Weights use 7 of the 8 bits (-63..63). onnxruntime's int8 matmul multiplies uint8
# activations by int8 weights in 16-bit pairs on x86 CPUs without VNNI (AVX2, most NUCs and
# AMD hubs); full-range weights overflow there and the logits drift by ~0.4 (greedy tokens
# change). With 7-bit weights no sum can overflow, on every CPU; the cost is one bit of
# weight precision (reference logits within 0.1, greedy tokens unchanged).
QMAX = 63


def quantize(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric 7-bit-in-int8 with one scale per slice along every axis but ``axis``."""
    w = np.asarray(w, dtype=np.float32)
    amax = np.max(np.abs(w), axis=axis)
    scale = np.where(amax > 0, amax / QMAX, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / np.expand_dims(scale, axis)), -QMAX, QMAX).astype(np.int8)
    return q, scale


def is_int4(name: str) -> bool:
    """The tensors int4 bundles store in 4 bits (the others of ``is_quantized`` stay int8)."""
    if not is_quantized(name) or name.startswith("encoder/"):
        return False
    return not name.endswith(("/cross_attn/k_proj/kernel", "/cross_attn/v_proj/kernel"))


def int4_quantize(w: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Blockwise symmetric 4-bit codes, packed two a byte, in MatMulNBits' layout (module doc).

    Each block's scale is its largest-magnitude value over -8, so that value is exact (code 0)
    and the 16 codes span the block: the rounding onnxruntime's own 4-bit quantizer uses.
    """
    rows = np.asarray(w, dtype=np.float32)
    if quant_axis(name) == -2:  # a kernel (.., K, N): one row per output channel
        rows = np.swapaxes(rows, -1, -2)
    k = rows.shape[-1]
    blocks = -(-k // INT4_BLOCK)
    padded = np.zeros((*rows.shape[:-1], blocks * INT4_BLOCK), dtype=np.float32)
    padded[..., :k] = rows
    padded = padded.reshape(*rows.shape[:-1], blocks, INT4_BLOCK)
    peak = np.take_along_axis(padded, np.abs(padded).argmax(-1)[..., None], -1)[..., 0]
    scale = np.where(peak != 0, peak / -8.0, 1.0).astype(np.float32)
    codes = np.clip(np.rint(padded / scale[..., None]) + 8, 0, 15).astype(np.uint8)
    packed = codes[..., 0::2] | (codes[..., 1::2] << 4)
    return np.ascontiguousarray(packed, dtype=np.uint8), scale


def int4_codes(packed: np.ndarray) -> np.ndarray:
    """Packed bytes (.., blocks, 16) -> signed codes (.., blocks * 32) as int8 (-8..7)."""
    packed = np.asarray(packed, dtype=np.uint8)
    codes = np.empty((*packed.shape[:-1], packed.shape[-1] * 2), dtype=np.int8)
    codes[..., 0::2] = packed & 15
    codes[..., 1::2] = packed >> 4
    codes -= 8
    return codes.reshape(*packed.shape[:-2], -1)


def int4_dequantize(
    packed: np.ndarray, scale: np.ndarray, shape: tuple[int, ...], name: str
) -> np.ndarray:
    """The float32 tensor of checkpoint shape ``shape`` that int4 codes and scales stand for."""
    codes = int4_codes(packed).astype(np.float32)
    values = codes.reshape(*scale.shape, INT4_BLOCK) * np.asarray(scale)[..., None]
    kernel = quant_axis(name) == -2
    k = shape[-2] if kernel else shape[-1]
    rows = values.reshape(*scale.shape[:-1], -1)[..., :k]
    return np.ascontiguousarray(np.swapaxes(rows, -1, -2) if kernel else rows)


def int4_shapes(name: str, shape: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Stored (packed, scale) shapes of an int4 tensor whose checkpoint shape is ``shape``."""
    if quant_axis(name) == -2:
        lead, k, n = shape[:-2], shape[-2], shape[-1]
    else:
        lead, n, k = shape[:-2], shape[-2], shape[-1]
    blocks = -(-k // INT4_BLOCK)
    return (*lead, n, blocks, INT4_BLOCK // 2), (*lead, n, blocks)


def quant_axis(name: str) -> int:
    """The axis a scale spans: kernels (.., in, out) reduce over in; the embedding over d."""
    return -1 if name == "embedding/embedding" else -2


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int
    scale: str | None = None  # name of the float32 scale tensor of an int8 or int4 tensor
    block_size: int | None = None  # int4 only: input values per scale (see the module doc)


@dataclass(frozen=True)
class Bundle:
    """A verified bundle; tensors are read lazily from ``weights.bin``."""

    path: Path
    manifest: dict[str, Any]
    config: ModelConfig
    precision: str
    tensors: dict[str, TensorEntry]
    tokenizer_path: Path | None
    encoder_onnx: Path | None
    decoder_onnx: Path | None
    logits_onnx: Path | None = None  # exports before the separate logits graph have none
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_graphs(self) -> bool:
        return self.encoder_onnx is not None and self.decoder_onnx is not None

    @property
    def weights_path(self) -> Path:
        return self.path / WEIGHTS

    def raw(self, name: str) -> np.ndarray:
        """One stored tensor as it is on disk (float32, int8, packed int4), memory-mapped."""
        entry = self.tensors[name]
        if not entry.shape:
            return np.fromfile(self.weights_path, _DTYPES[entry.dtype], 1, offset=entry.offset)[
                0
            ].reshape(())
        return np.memmap(
            self.weights_path,
            dtype=_DTYPES[entry.dtype],
            mode="r",
            offset=entry.offset,
            shape=entry.shape,
        )

    def param(self, name: str) -> np.ndarray:
        """A checkpoint parameter as float32 (int8/int4 tensors dequantized with their scales)."""
        entry = self.tensors[name]
        value = self.raw(name)
        if entry.scale is None:
            return value
        scale = np.asarray(self.raw(entry.scale))
        if entry.block_size is not None:
            return int4_dequantize(value, scale, expected_shapes(self.config)[name], name)
        return value.astype(np.float32) * np.expand_dims(scale, quant_axis(name))

    def params(self) -> dict[str, np.ndarray]:
        """Every checkpoint parameter, float32, under the checkpoint's flat keys."""
        return {name: self.param(name) for name in expected_shapes(self.config)}

    @property
    def prompt(self) -> dict[str, int]:
        """The prompt limits the model was trained with (empty when the bundle names none)."""
        raw = self.manifest.get("prompt") or {}
        if not isinstance(raw, dict):
            return {}
        return {k: v for k, v in raw.items() if k in PROMPT_KEYS and isinstance(v, int) and v > 0}

    def info(self) -> dict[str, Any]:
        """What diagnostics and the UI may show (no paths)."""
        return {
            "format_version": self.manifest["format_version"],
            "prompt": self.prompt,
            "precision": self.precision,
            "model": self.config.to_dict(),
            "graphs": self.has_graphs,
            "provenance": self.manifest.get("provenance", {}),
            "license": self.manifest.get("license"),
        }


def _write_weights(
    path: Path, params: dict[str, np.ndarray], precision: str
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Write every tensor aligned; return the index and the arrays as written."""
    index: list[dict[str, Any]] = []
    written: dict[str, np.ndarray] = {}
    arrays: list[tuple[str, np.ndarray, str | None]] = []
    for name, value in params.items():
        value = np.asarray(value, dtype=np.float32)
        if precision != "fp32" and is_quantized(name):
            if precision == "int4" and is_int4(name):
                q, scale = int4_quantize(value, name)
            else:
                q, scale = quantize(value, quant_axis(name))
            arrays.append((name, q, name + SCALE_SUFFIX))
            arrays.append((name + SCALE_SUFFIX, scale, None))
        else:
            arrays.append((name, value, None))
    offset = 0
    with path.open("wb") as fh:
        for name, value, scale in arrays:
            offset = -(-offset // ALIGN) * ALIGN
            fh.seek(offset)
            data = np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<"), copy=False)
            fh.write(data.tobytes())
            entry: dict[str, Any] = {
                "name": name,
                "dtype": str(value.dtype),
                "shape": list(value.shape),
                "offset": offset,
                "nbytes": data.nbytes,
            }
            if scale:
                entry["scale"] = scale
                if precision == "int4" and is_int4(name):
                    entry["block_size"] = INT4_BLOCK
            index.append(entry)
            written[name] = value
            offset += data.nbytes
    return index, written


def write_bundle(
    checkpoint: Checkpoint,
    out_dir: str | os.PathLike[str],
    *,
    tokenizer_json: str | None = None,
    int8: bool = False,
    provenance: dict[str, Any] | None = None,
    graphs: bool | None = None,
    prompt: dict[str, int] | None = None,
    precision: str | None = None,
) -> Path:
    """Convert a validated checkpoint into a bundle folder (blocking).

    ``precision`` is one of ``PRECISIONS`` (``int8=True`` is the older spelling of "int8").

    ``prompt`` records how the model was trained to be prompted (``max_encoder_tokens``,
    ``max_entities``): a model trained on short windows reads long ones badly, so the
    integration builds its prompts within these numbers (see ``NeedleEngine.prompt_limits``).

    Everything is written into a temporary sibling folder, which is renamed to ``out_dir`` only
    when complete, so a failure leaves nothing that looks like a bundle. ``graphs`` None means
    "write the ONNX graphs when the onnx package is importable".
    """
    precision = precision or ("int8" if int8 else "fp32")
    if precision not in PRECISIONS:
        raise BundleError(f"precision {precision!r} is not one of {PRECISIONS}")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"{out} already exists and is not an empty folder")
    if tokenizer_json is not None:
        try:
            json.loads(tokenizer_json)
        except ValueError as err:
            raise BundleError(f"tokenizer_json is not valid JSON: {err}") from err
    for key, value in (prompt or {}).items():
        if key not in PROMPT_KEYS or not isinstance(value, int) or value <= 0:
            raise BundleError(f"prompt: {key}={value!r} is not one of {PROMPT_KEYS} > 0")
    if graphs is None:
        try:
            import onnx  # noqa: F401
        except ImportError:
            graphs = False
        else:
            graphs = True
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is ordinary readable data
        index, written = _write_weights(tmp / WEIGHTS, checkpoint.params, precision)
        files = [WEIGHTS]
        if tokenizer_json is not None:
            (tmp / TOKENIZER).write_text(tokenizer_json, encoding="utf-8")
            files.append(TOKENIZER)
        if graphs:
            from .onnx_graph import write_graphs

            write_graphs(tmp, checkpoint.config, index, written, precision=precision)
            files += [ENCODER_ONNX, DECODER_ONNX, LOGITS_ONNX]
        prov = {
            "source": None,
            "source_sha256": checkpoint.sha256 or None,
            "created_by": CREATED_BY,
            **(provenance or {}),
        }
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": checkpoint.config.to_dict(),
            "special_ids": {
                "pad": PAD,
                "eos": EOS,
                "bos": BOS,
                "unk": UNK,
                "tool_call": TOOL_CALL,
                "tools": TOOLS,
            },
            "limits": {
                "max_encoder_tokens": MAX_ENCODER_TOKENS,
                "max_decoder_tokens": MAX_DECODER_TOKENS,
            },
            **({"prompt": dict(prompt)} if prompt else {}),
            "precision": precision,
            **({"quantization": INT4_QUANTIZATION} if precision == "int4" else {}),
            "tensors": index,
            "files": {
                name: {"sha256": _sha256(tmp / name), "size": (tmp / name).stat().st_size}
                for name in files
            },
            "provenance": prov,
            "license": DEFAULT_LICENSE,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _entry(raw: Any) -> TensorEntry:
    try:
        entry = TensorEntry(
            name=str(raw["name"]),
            dtype=str(raw["dtype"]),
            shape=tuple(int(n) for n in raw["shape"]),
            offset=int(raw["offset"]),
            nbytes=int(raw["nbytes"]),
            scale=raw.get("scale"),
            block_size=None if raw.get("block_size") is None else int(raw["block_size"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BundleError(f"bad tensor entry in {MANIFEST}: {raw!r}") from err
    if entry.dtype not in _DTYPES:
        raise BundleError(f"tensor {entry.name} has unsupported dtype {entry.dtype}")
    size = int(np.prod(entry.shape, dtype=np.int64)) * np.dtype(_DTYPES[entry.dtype]).itemsize
    if size != entry.nbytes or entry.offset < 0:
        raise BundleError(f"tensor {entry.name}: size or offset does not match its shape")
    return entry


def read_bundle(path: str | os.PathLike[str], verify: bool = True) -> Bundle:
    """Open a bundle folder, check its manifest, files, checksums (``verify``) and shapes."""
    root = Path(path)
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(f"{root} is not a Needle bundle (no {MANIFEST})")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BundleError(f"{MANIFEST} is unreadable: {err}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{MANIFEST} is not a Needle bundle manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"bundle format version {version!r} is not supported (this engine reads "
            f"{FORMAT_VERSION}); re-export the model with this version"
        )
    try:
        config = ModelConfig.from_dict(manifest["model"])
    except (KeyError, TypeError, ConfigError) as err:
        raise BundleError(f"bad model config in {MANIFEST}: {err}") from err
    precision = manifest.get("precision")
    if precision not in PRECISIONS:
        raise BundleError(f"unknown precision {precision!r}")
    files = manifest.get("files")
    if not isinstance(files, dict) or WEIGHTS not in files:
        raise BundleError(f"{MANIFEST} lists no {WEIGHTS}")
    for name, meta in files.items():
        file = root / name
        if Path(name).name != name or not file.is_file():
            raise BundleError(f"bundle file {name} is missing")
        try:
            size, digest = int(meta["size"]), str(meta["sha256"])
        except (KeyError, TypeError, ValueError) as err:
            raise BundleError(f"bad file entry for {name} in {MANIFEST}") from err
        if file.stat().st_size != size:
            raise BundleError(f"bundle file {name} has the wrong size (truncated or replaced)")
        if verify and _sha256(file) != digest:
            raise BundleError(f"bundle file {name} fails its sha256 checksum (corrupted or edited)")
    tensors = {e.name: e for e in map(_entry, manifest.get("tensors") or [])}
    weights_size = (root / WEIGHTS).stat().st_size
    for entry in tensors.values():
        if entry.offset + entry.nbytes > weights_size:
            raise BundleError(f"tensor {entry.name} lies beyond the end of {WEIGHTS}")
    for name, shape in expected_shapes(config).items():
        entry = tensors.get(name)
        if entry is None:
            raise BundleError(f"tensor {name} is missing from the bundle")
        if precision == "int4" and is_int4(name):
            _check_int4(name, shape, entry, tensors)
            continue
        if entry.shape != shape:
            raise BundleError(f"tensor {name} has shape {entry.shape}, expected {shape}")
        if entry.block_size is not None or entry.dtype == "uint8":
            raise BundleError(f"tensor {name} is stored as int4 in a {precision} bundle")
        if entry.scale is not None:
            scale = tensors.get(entry.scale)
            axis = quant_axis(name) % len(shape)
            want = shape[:axis] + shape[axis + 1 :]
            if scale is None or scale.shape != want or scale.dtype != "float32":
                raise BundleError(f"tensor {name} has a missing or misshaped scale")

    def optional(name: str) -> Path | None:
        return root / name if name in files else None

    encoder, decoder = optional(ENCODER_ONNX), optional(DECODER_ONNX)
    if precision == "int4" and encoder and decoder and not optional(LOGITS_ONNX):
        raise BundleError(f"this int4 bundle lists no {LOGITS_ONNX}")
    return Bundle(
        path=root,
        manifest=manifest,
        config=config,
        precision=precision,
        tensors=tensors,
        tokenizer_path=optional(TOKENIZER),
        encoder_onnx=encoder if decoder else None,
        decoder_onnx=decoder if encoder else None,
        logits_onnx=optional(LOGITS_ONNX) if encoder and decoder else None,
    )


def _check_int4(
    name: str, shape: tuple[int, ...], entry: TensorEntry, tensors: dict[str, TensorEntry]
) -> None:
    """An int4 tensor's codes and scales have exactly the shapes its checkpoint shape implies."""
    packed_shape, scale_shape = int4_shapes(name, shape)
    if entry.dtype != "uint8" or entry.shape != packed_shape or entry.block_size != INT4_BLOCK:
        raise BundleError(
            f"int4 tensor {name} is stored as {entry.dtype} {entry.shape} (block "
            f"{entry.block_size}), expected uint8 {packed_shape} (block {INT4_BLOCK})"
        )
    scale = tensors.get(entry.scale or "")
    if scale is None or scale.shape != scale_shape or scale.dtype != "float32":
        raise BundleError(f"tensor {name} has a missing or misshaped scale")
