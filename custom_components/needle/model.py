"""Where the entry's model comes from, and loading it without blocking the event loop.

Shared by setup (load the bundle) and the config flow (check a bundle, convert a checkpoint).
Every function that touches the disk or the arrays is synchronous and runs in the executor.
"""

from __future__ import annotations

import errno
import importlib.util
import logging
import platform
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError

from .const import (
    BUILTIN_MODEL_DIR,
    CONF_BUNDLE_PATH,
    CONF_CHECKPOINT_PATH,
    CONF_MODEL_SOURCE,
    CONF_TOKENIZER_PATH,
    CONVERTED_MODELS_SUBDIR,
    DOMAIN,
    ONNXRUNTIME_REQUIREMENT,
    SOURCE_BUILTIN,
)
from .engine.schema import ToolParam, ToolSchema
from .prompt import EntityInfo, HomeContext, build_prompt, default_retriever

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
# errnos that mean the disk (or the user's quota) is full
_NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


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
    # policy.py decisions and reasons a call was not run ("ask", "held_low_confidence", ...)
    policy: dict[str, int] = field(default_factory=dict)

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


BUILTIN_MODEL_NAME = "built-in model"


def bundle_name(bundle_dir: Path) -> str:
    """What to call the model in the entry's title (and so its agent's entity id): the
    ``name`` its needle.json gives, else "built-in model" for the shipped one, else the
    bundle's folder (a converted checkpoint's folder is named after the checkpoint file).
    Blocking: reads needle.json."""
    import json

    try:
        manifest = json.loads((bundle_dir / BUNDLE_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    name = manifest.get("name") if isinstance(manifest, dict) else None
    if isinstance(name, str) and name.strip():
        return name.strip()[:60]
    if bundle_dir.resolve() == BUILTIN_MODEL_DIR.resolve():
        return BUILTIN_MODEL_NAME
    return bundle_dir.name or "model"


def load_and_probe(bundle_dir: Path) -> dict[str, Any]:
    """Load, answer one sentence, return ``info()`` with the model's ``name`` (blocking; for
    the config flow)."""
    engine = load_engine(bundle_dir)
    try:
        probe_engine(engine)
        return {**engine.info(), "name": bundle_name(bundle_dir)}
    finally:
        if callable(close := getattr(engine, "close", None)):
            close()


def slugify_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "model"


class ConversionError(Exception):
    """A checkpoint conversion that failed for a reason the form names on its own.

    ``reason`` is the config flow's error key (strings.json ``config.error``), ``field`` the form
    field it belongs to (None: the whole form), ``detail`` the specifics shown in the message
    (which parameter, which file), so that each failure reads as what it is.
    """

    def __init__(self, reason: str, detail: str = "", field: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.field = field


_DETAIL_CHARS = 300  # an error message is a sentence in a form, not a log dump


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 3] + "..."


def check_conversion_inputs(checkpoint_path: Path, tokenizer_path: Path) -> None:
    """Both files exist (blocking, instant): checked before the progress step starts, so a
    mistyped path is answered on the form at once, next to the field it is about."""
    for path, field_name, reason in (
        (checkpoint_path, CONF_CHECKPOINT_PATH, "checkpoint_missing"),
        (tokenizer_path, CONF_TOKENIZER_PATH, "tokenizer_missing"),
    ):
        if not path.is_file():
            raise ConversionError(reason, str(path), field_name)


def _checkpoint_failure(err: Exception) -> ConversionError:
    """A CheckpointError as the form's error: refused code, weights that do not fit the
    config, or a file that is no Needle checkpoint at all. The engine's messages say which
    (``checkpoint.py``: "refusing ..." from the restricted unpickler, "does not match its
    config" from the shape check); tests pin each of them."""
    text = str(err)
    if "refusing" in text:
        return ConversionError("refused_pickle", _short(text), CONF_CHECKPOINT_PATH)
    if "does not match its config" in text or text.startswith("bad config"):
        return ConversionError("wrong_shapes", _short(text), CONF_CHECKPOINT_PATH)
    return ConversionError("not_a_checkpoint", _short(text), CONF_CHECKPOINT_PATH)


def convert_checkpoint(
    checkpoint_path: Path, tokenizer_path: Path, models_root: Path, *, int8: bool
) -> Path:
    """Official v1 pickle + tokenizer -> a new bundle folder under ``models_root`` (blocking).

    Every failure is a ConversionError whose reason says which step failed: a missing file, a
    refused pickle, weights of the wrong shape, an unreadable tokenizer, a tokenizer that does
    not fit the model, no disk space, an unwritable folder, too little memory. The folder is
    written next to its final place and renamed, so a failed conversion leaves nothing behind
    that could be mistaken for a bundle.
    """
    from .engine.bundle import BundleError, write_bundle
    from .engine.checkpoint import CheckpointError, load_checkpoint
    from .engine.tokenizer import NeedleTokenizer, TokenizerError, convert_sentencepiece

    check_conversion_inputs(checkpoint_path, tokenizer_path)
    try:
        checkpoint = load_checkpoint(checkpoint_path)
    except CheckpointError as err:
        raise _checkpoint_failure(err) from err
    except MemoryError as err:
        raise ConversionError("out_of_memory") from err

    try:
        raw = tokenizer_path.read_bytes()
        if tokenizer_path.suffix == ".json":
            tokenizer_json = raw.decode("utf-8")
        else:
            tokenizer_json = convert_sentencepiece(raw)
        tokenizer = NeedleTokenizer.from_str(tokenizer_json)
    except (OSError, UnicodeDecodeError, TokenizerError) as err:
        raise ConversionError("bad_tokenizer", _short(str(err)), CONF_TOKENIZER_PATH) from err
    if tokenizer.vocab_size > checkpoint.config.vocab_size:
        raise ConversionError(
            "tokenizer_mismatch",
            f"the tokenizer has {tokenizer.vocab_size} tokens, the checkpoint's model "
            f"{checkpoint.config.vocab_size}",
            CONF_TOKENIZER_PATH,
        )

    try:
        models_root.mkdir(parents=True, exist_ok=True)
        base = slugify_name(checkpoint_path.stem)
        out = models_root / base
        n = 2
        while out.exists():
            out = models_root / f"{base}-{n}"
            n += 1
        tmp = models_root / f".{out.name}.partial"
        if tmp.exists():
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
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    except MemoryError as err:
        raise ConversionError("out_of_memory") from err
    except OSError as err:
        if err.errno in _NO_SPACE:
            raise ConversionError("no_space", str(models_root)) from err
        raise ConversionError(
            "cannot_write", _short(f"{models_root}: {err.strerror or err}")
        ) from err
    except BundleError as err:  # the checkpoint passed its checks but cannot be stored
        raise ConversionError("wrong_shapes", _short(str(err)), CONF_CHECKPOINT_PATH) from err
    return out


def remove_converted(bundle_dir: Path, models_root: Path) -> None:
    """Delete a bundle this flow converted whose model then failed its check (blocking); only
    ever a folder inside ``models_root``, so a user's own folder is never touched."""
    try:
        bundle_dir.resolve().relative_to(models_root.resolve())
    except ValueError:
        return
    shutil.rmtree(bundle_dir, ignore_errors=True)


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
    # the prompt builder's retrieval index (a few MB of JSON) is read here, in the executor,
    # once: the policy asks it too, on the event loop, and must never be the first to read it
    await hass.async_add_executor_job(default_retriever)
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
