"""Diagnostics: which model and backend, the options, request counters. No names, no sentences."""

from __future__ import annotations

import importlib.util
import platform
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_BUNDLE_PATH, CONF_CHECKPOINT_PATH, CONF_MODEL_SOURCE, CONF_TOKENIZER_PATH

if TYPE_CHECKING:
    from . import NeedleConfigEntry

# Paths can carry user or folder names; the model's identity is in the engine info instead.
TO_REDACT = {CONF_BUNDLE_PATH, CONF_CHECKPOINT_PATH, CONF_TOKENIZER_PATH, "path", "bundle_dir"}
# Engine info keys that are safe and useful (anything else the engine reports is left out).
ENGINE_KEYS = (
    "name", "version", "backend", "int8", "quantized", "params", "vocab_size", "config",
    "checksum", "sha256", "provenance", "providers", "load_seconds",
)  # fmt: skip


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: NeedleConfigEntry
) -> dict[str, Any]:
    data = getattr(entry, "runtime_data", None)
    engine = getattr(data, "engine", None)
    engine_info: dict[str, Any] | None = None
    if engine is not None:
        info = dict(engine.info())
        engine_info = async_redact_data({k: info[k] for k in ENGINE_KEYS if k in info}, TO_REDACT)
    return {
        "model_source": entry.data.get(CONF_MODEL_SOURCE),
        "data": async_redact_data(dict(entry.data), TO_REDACT),
        "options": dict(entry.options),
        "engine": engine_info,
        "requests": data.stats.as_dict() if data is not None else None,
        "runtime": {
            "machine": platform.machine(),
            "libc": platform.libc_ver()[0] or "unknown",
            "python": platform.python_version(),
            "onnxruntime_installed": importlib.util.find_spec("onnxruntime") is not None,
        },
    }
