"""Set up Needle: pick a model (built-in, a bundle folder, or an official checkpoint to convert).

Every path ends the same way: load the bundle in the executor and answer one sentence, so an
entry is only created for a model that works. Options: the LLM API, HA's built-in matcher
first, how many candidate entities, the language.
"""

from __future__ import annotations

import asyncio
import logging
import re
from functools import partial
from pathlib import Path
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers import llm
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .const import (
    CONF_BUNDLE_PATH,
    CONF_CHECKPOINT_PATH,
    CONF_INT8,
    CONF_LANGUAGE,
    CONF_LLM_HASS_API,
    CONF_MAX_ENTITIES,
    CONF_MODEL_SOURCE,
    CONF_PREFER_LOCAL,
    CONF_TOKENIZER_PATH,
    DEFAULT_LANGUAGE,
    DEFAULT_MAX_ENTITIES,
    DEFAULT_PREFER_LOCAL,
    DOMAIN,
    LLM_API_ASSIST,
    LLM_API_NONE,
    MAX_MAX_ENTITIES,
    MIN_MAX_ENTITIES,
    MODEL_SOURCES,
    SOURCE_BUILTIN,
    SOURCE_BUNDLE,
    SOURCE_CHECKPOINT,
)
from .model import (
    BUILTIN_MODEL_DIR,
    ModelNotFound,
    builtin_model_available,
    convert_checkpoint,
    converted_models_root,
    load_and_probe,
)

_LOGGER = logging.getLogger(__name__)

_LANGUAGE = re.compile(r"\*|[a-z]{2,3}(-[A-Za-z0-9]+)*")  # "*" or a BCP 47 tag like "en-GB"

DEFAULT_OPTIONS: dict[str, Any] = {
    CONF_LLM_HASS_API: LLM_API_ASSIST,
    CONF_PREFER_LOCAL: DEFAULT_PREFER_LOCAL,
    CONF_MAX_ENTITIES: DEFAULT_MAX_ENTITIES,
    CONF_LANGUAGE: DEFAULT_LANGUAGE,
}


def _error_key(err: BaseException) -> str:
    """The strings.json error key for what went wrong while loading or converting a model."""
    if isinstance(err, ModelNotFound | FileNotFoundError):
        return "file_missing"
    if isinstance(err, MemoryError):
        return "out_of_memory"
    # Only reached after the executor job imported the engine: no import work in the loop here.
    try:
        from .engine.bundle import BundleError
        from .engine.checkpoint import CheckpointError
    except ImportError:  # an engine without these modules cannot have raised their errors
        BundleError = CheckpointError = ()  # type: ignore[assignment,misc]
    if isinstance(err, BundleError):
        return "bad_bundle"
    if isinstance(err, CheckpointError):
        return "refused_checkpoint"
    if isinstance(err, UnicodeDecodeError | ValueError):
        return "bad_tokenizer"
    return "unknown"


class NeedleConfigFlow(ConfigFlow, domain=DOMAIN):
    """Choose and check a model."""

    VERSION = 1

    def __init__(self) -> None:
        self._errors: dict[str, str] = {}
        self._convert_task: asyncio.Task[Path] | None = None
        self._checkpoint_input: dict[str, Any] = {}
        self._converted: Path | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        return NeedleOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors = self._pop_errors()
        if user_input is not None:
            source = user_input[CONF_MODEL_SOURCE]
            if source == SOURCE_BUILTIN:
                if builtin_model_available():
                    return await self._async_check_and_finish(
                        {CONF_MODEL_SOURCE: SOURCE_BUILTIN}, BUILTIN_MODEL_DIR, "user"
                    )
                errors["base"] = "no_builtin_model"
            elif source == SOURCE_BUNDLE:
                return await self.async_step_bundle()
            else:
                return await self.async_step_checkpoint()
        default = SOURCE_BUILTIN if builtin_model_available() else SOURCE_BUNDLE
        schema = vol.Schema(
            {
                vol.Required(CONF_MODEL_SOURCE, default=default): SelectSelector(
                    SelectSelectorConfig(
                        options=list(MODEL_SOURCES),
                        translation_key=CONF_MODEL_SOURCE,
                        mode=SelectSelectorMode.LIST,
                    )
                )
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the model of an existing entry (same choices as at setup)."""
        return await self.async_step_user(user_input)

    async def async_step_bundle(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            path = Path(user_input[CONF_BUNDLE_PATH].strip()).expanduser()
            data = {CONF_MODEL_SOURCE: SOURCE_BUNDLE, CONF_BUNDLE_PATH: str(path)}
            return await self._async_check_and_finish(data, path, "bundle")
        return self.async_show_form(
            step_id="bundle",
            data_schema=vol.Schema({vol.Required(CONF_BUNDLE_PATH): TextSelector()}),
            errors=self._pop_errors(),
        )

    async def async_step_checkpoint(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        if user_input is not None:
            # Always answer a submission with the progress step: HA re-sends the same input
            # when a step finishes at once, which would start the conversion again.
            self._checkpoint_input = user_input
            self._convert_task = self.hass.async_create_task(
                self._async_convert(dict(user_input)), "needle convert checkpoint"
            )
            return self.async_show_progress(
                step_id="convert", progress_action="convert", progress_task=self._convert_task
            )
        previous = self._checkpoint_input
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_CHECKPOINT_PATH, default=previous.get(CONF_CHECKPOINT_PATH, vol.UNDEFINED)
                ): TextSelector(),
                vol.Required(
                    CONF_TOKENIZER_PATH, default=previous.get(CONF_TOKENIZER_PATH, vol.UNDEFINED)
                ): TextSelector(),
                vol.Required(CONF_INT8, default=previous.get(CONF_INT8, True)): BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id="checkpoint", data_schema=schema, errors=self._pop_errors()
        )

    async def async_step_convert(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Convert the checkpoint in the executor while the UI shows progress."""
        if self._convert_task is None:  # no conversion under way: back to the form
            return await self.async_step_checkpoint()
        if not self._convert_task.done():
            return self.async_show_progress(
                step_id="convert",
                progress_action="convert",
                progress_task=self._convert_task,
            )
        try:
            self._converted = self._convert_task.result()
        except Exception as err:  # every failure becomes a form error, never a crash
            self._errors = {"base": _error_key(err)}
            _LOGGER.warning("Checkpoint conversion failed: %s", err)
            return self.async_show_progress_done(next_step_id="checkpoint")
        return self.async_show_progress_done(next_step_id="converted")

    async def _async_convert(self, source: dict[str, Any]) -> Path:
        return await self.hass.async_add_executor_job(
            partial(
                convert_checkpoint,
                Path(source[CONF_CHECKPOINT_PATH].strip()).expanduser(),
                Path(source[CONF_TOKENIZER_PATH].strip()).expanduser(),
                converted_models_root(self.hass),
                int8=bool(source.get(CONF_INT8, True)),
            )
        )

    async def async_step_converted(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        assert self._converted is not None
        data = {
            CONF_MODEL_SOURCE: SOURCE_CHECKPOINT,
            CONF_BUNDLE_PATH: str(self._converted),
            CONF_CHECKPOINT_PATH: self._checkpoint_input[CONF_CHECKPOINT_PATH],
            CONF_TOKENIZER_PATH: self._checkpoint_input[CONF_TOKENIZER_PATH],
        }
        return await self._async_check_and_finish(data, self._converted, "checkpoint")

    async def _async_check_and_finish(
        self, data: dict[str, Any], bundle_dir: Path, form_step: str
    ) -> ConfigFlowResult:
        """Load the model and answer one sentence; create (or update) the entry if it works."""
        try:
            info = await self.hass.async_add_executor_job(load_and_probe, bundle_dir)
        except Exception as err:  # reported on the form the user came from
            _LOGGER.warning("Model check of %s failed: %s", bundle_dir, err, exc_info=True)
            self._errors = {"base": _error_key(err)}
            return await getattr(self, f"async_step_{form_step}")()
        title = str(info.get("name") or bundle_dir.name or "Needle")
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_reload_and_abort(self._get_reconfigure_entry(), data=data)
        await self.async_set_unique_id(str(bundle_dir.resolve()))
        self._abort_if_unique_id_configured()
        return self.async_create_entry(
            title=f"Needle ({title})", data=data, options=dict(DEFAULT_OPTIONS)
        )

    def _pop_errors(self) -> dict[str, str]:
        errors, self._errors = self._errors, {}
        return errors


class NeedleOptionsFlow(OptionsFlow):
    """Agent behaviour; changing it reloads the entry."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        options = {**DEFAULT_OPTIONS, **self.config_entry.options}
        if user_input is not None:
            language = str(user_input[CONF_LANGUAGE]).strip()
            if _LANGUAGE.fullmatch(language):
                return self.async_create_entry(
                    data={
                        **user_input,
                        CONF_MAX_ENTITIES: int(user_input[CONF_MAX_ENTITIES]),
                        CONF_LANGUAGE: language,
                    }
                )
            errors[CONF_LANGUAGE] = "invalid_language"
            options = {**options, **user_input}
        apis = [SelectOptionDict(label="No control", value=LLM_API_NONE)] + [
            SelectOptionDict(label=api.name, value=api.id) for api in llm.async_get_apis(self.hass)
        ]
        schema = vol.Schema(
            {
                vol.Required(CONF_LLM_HASS_API, default=options[CONF_LLM_HASS_API]): SelectSelector(
                    SelectSelectorConfig(options=apis)
                ),
                vol.Required(
                    CONF_PREFER_LOCAL, default=options[CONF_PREFER_LOCAL]
                ): BooleanSelector(),
                vol.Required(CONF_MAX_ENTITIES, default=options[CONF_MAX_ENTITIES]): NumberSelector(
                    NumberSelectorConfig(
                        min=MIN_MAX_ENTITIES,
                        max=MAX_MAX_ENTITIES,
                        step=1,
                        mode=NumberSelectorMode.BOX,
                    )
                ),
                vol.Required(CONF_LANGUAGE, default=options[CONF_LANGUAGE]): TextSelector(),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema, errors=errors)
