"""Where the entry's model comes from, and loading it without blocking the event loop.

Shared by setup (load the bundle) and the config flow (check a bundle, convert a checkpoint).
Every function that touches the disk or the arrays is synchronous and runs in the executor.
"""

from __future__ import annotations

import importlib.util
import logging
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError

from .const import (
    BUILTIN_MODEL_DIR,
    CONF_BUNDLE_PATH,
    CONF_MODEL_SOURCE,
    CONVERTED_MODELS_SUBDIR,
    DOMAIN,
    ONNXRUNTIME_REQUIREMENT,
    SOURCE_BUILTIN,
)
from .engine.schema import ToolParam, ToolSchema
from .prompt import EntityInfo, HomeContext, build_prompt

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .engine import NeedleEngine

_LOGGER = logging.getLogger(__name__)

BUNDLE_MANIFEST = "needle.json"  # a folder is a bundle when it has this file

# The sentence and tool the config flow asks a freshly loaded model: any answer will do, it
# proves the weights, tokenizer and backend work together.
_PROBE_TOOLS = (
    ToolSchema(
        "HassTurnOn",
        "Turns on/opens/presses a device or entity.",
        (ToolParam("name"), ToolParam("area"), ToolParam("domain", "array")),
    ),
)
_PROBE_HOME = HomeContext(entities=(EntityInfo("light.probe", "Desk Lamp", "light"),))
_PROBE_SENTENCE = "turn on the desk lamp"

_ORT_TRIED: dict[str, bool] = {}  # one install attempt per HA run


class ModelNotFound(Exception):
    """The configured model folder or file does not exist."""


@dataclass(slots=True)
class RequestStats:
    """Counters for diagnostics: numbers only, never sentences or names."""

    requests: int = 0
    local_handled: int = 0
    model_errors: int = 0
    timeouts: int = 0
    no_call: int = 0
    calls_executed: int = 0
    calls_failed: int = 0
    calls_refused: int = 0
    total_generate_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]
        answered = self.requests - self.local_handled - self.model_errors - self.timeouts
        out["mean_generate_s"] = (
            round(self.total_generate_s / answered, 4) if answered > 0 else None
        )
        return out


@dataclass(slots=True)
class NeedleData:
    """What a loaded entry holds (``entry.runtime_data``)."""

    engine: NeedleEngine | None
    bundle_dir: Path
    stats: RequestStats = field(default_factory=RequestStats)

    def release(self) -> None:
        """Drop the engine so its arrays and sessions can be freed."""
        engine, self.engine = self.engine, None
        if engine is not None and callable(close := getattr(engine, "close", None)):
            close()


def bundle_dir_for(data: dict[str, Any]) -> Path:
    """The bundle folder an entry's data points at."""
    if data.get(CONF_MODEL_SOURCE) == SOURCE_BUILTIN:
        return BUILTIN_MODEL_DIR
    return Path(data[CONF_BUNDLE_PATH])


def builtin_model_available() -> bool:
    return (BUILTIN_MODEL_DIR / BUNDLE_MANIFEST).is_file()


def load_engine(bundle_dir: Path, backend: str = "auto") -> NeedleEngine:
    """Load a bundle (blocking). Raises ModelNotFound, BundleError, MemoryError."""
    if not (bundle_dir / BUNDLE_MANIFEST).is_file():
        raise ModelNotFound(str(bundle_dir))
    from .engine import NeedleEngine

    return NeedleEngine.load(bundle_dir, backend=backend)


def probe_engine(engine: NeedleEngine) -> None:
    """Answer one sentence (blocking): raises whatever the engine raises."""
    prompt = build_prompt(
        _PROBE_SENTENCE, _PROBE_HOME, _PROBE_TOOLS, count_tokens=engine.count_tokens
    )
    engine.generate(prompt.query, prompt.tools)


def load_and_probe(bundle_dir: Path) -> dict[str, Any]:
    """Load, answer one sentence, return ``info()`` (blocking; for the config flow)."""
    engine = load_engine(bundle_dir)
    try:
        probe_engine(engine)
        return dict(engine.info())
    finally:
        if callable(close := getattr(engine, "close", None)):
            close()


def slugify_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "model"


def convert_checkpoint(
    checkpoint_path: Path, tokenizer_path: Path, models_root: Path, *, int8: bool
) -> Path:
    """Official v1 pickle + tokenizer -> a new bundle folder under ``models_root`` (blocking).

    Raises ModelNotFound, CheckpointError, BundleError, ValueError (tokenizer), MemoryError.
    The folder is written next to its final place and renamed, so a failed conversion leaves
    nothing behind that could be mistaken for a bundle.
    """
    from .engine.bundle import write_bundle
    from .engine.checkpoint import load_checkpoint
    from .engine.tokenizer import convert_sentencepiece

    for path in (checkpoint_path, tokenizer_path):
        if not path.is_file():
            raise ModelNotFound(str(path))
    checkpoint = load_checkpoint(checkpoint_path)
    raw = tokenizer_path.read_bytes()
    if tokenizer_path.suffix == ".json":
        tokenizer_json = raw.decode("utf-8")
    else:
        tokenizer_json = convert_sentencepiece(raw)

    models_root.mkdir(parents=True, exist_ok=True)
    base = slugify_name(checkpoint_path.stem)
    out = models_root / base
    n = 2
    while out.exists():
        out = models_root / f"{base}-{n}"
        n += 1
    tmp = models_root / f".{out.name}.partial"
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    try:
        write_bundle(
            checkpoint,
            tmp,
            tokenizer_json=tokenizer_json,
            int8=int8,
            provenance={
                "source": checkpoint_path.name,
                "tokenizer": tokenizer_path.name,
                "converted_by": "Needle config flow",
            },
        )
        tmp.rename(out)
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def converted_models_root(hass: HomeAssistant) -> Path:
    return Path(hass.config.path(CONVERTED_MODELS_SUBDIR))


def _glibc() -> bool:
    return platform.libc_ver()[0] == "glibc"


async def async_ensure_onnxruntime(hass: HomeAssistant) -> bool:
    """Try once to install onnxruntime where wheels exist (glibc); never fail setup over it.

    The numpy backend gives the same numbers, only slower, so this is a speed-up, not a need.
    """
    if importlib.util.find_spec("onnxruntime") is not None:
        return True
    if not _glibc() or _ORT_TRIED.get(ONNXRUNTIME_REQUIREMENT):
        return False
    _ORT_TRIED[ONNXRUNTIME_REQUIREMENT] = True
    from homeassistant.util.package import install_package

    try:
        ok = await hass.async_add_executor_job(install_package, ONNXRUNTIME_REQUIREMENT)
    except Exception:
        _LOGGER.warning("Could not install %s; using the numpy backend", ONNXRUNTIME_REQUIREMENT)
        return False
    if not ok:
        _LOGGER.info("%s is not installable here; using the numpy backend", ONNXRUNTIME_REQUIREMENT)
        return False
    importlib.invalidate_caches()
    return importlib.util.find_spec("onnxruntime") is not None


async def async_setup_model(hass: HomeAssistant, entry: ConfigEntry) -> NeedleData:
    """Load the entry's bundle in the executor; a broken model is a ConfigEntryError."""
    bundle_dir = bundle_dir_for(dict(entry.data))
    await async_ensure_onnxruntime(hass)
    started = time.monotonic()
    try:
        engine = await hass.async_add_executor_job(load_engine, bundle_dir)
    except ModelNotFound as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="model_missing",
            translation_placeholders={"path": str(bundle_dir)},
        ) from err
    except MemoryError as err:
        raise ConfigEntryError(translation_domain=DOMAIN, translation_key="out_of_memory") from err
    except Exception as err:
        from .engine.bundle import BundleError  # already imported by the executor job

        if not isinstance(err, BundleError):
            raise
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="model_invalid",
            translation_placeholders={"path": str(bundle_dir), "error": str(err)},
        ) from err
    _LOGGER.debug("Loaded %s in %.2f s: %s", bundle_dir, time.monotonic() - started, engine.info())
    return NeedleData(engine=engine, bundle_dir=bundle_dir)
