"""Set up Needle: pick a model (built-in, a bundle folder, or an official checkpoint to convert).

Every path ends the same way: load the bundle in the executor and answer one sentence, so an
entry is only created for a model that works. Options: the LLM API, HA's built-in matcher
first, how many candidate entities, the language.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import voluptuous as vol
from homeassistant.components import conversation
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED, FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import llm
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
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
    CONF_HANDOVER,
    CONF_HANDOVER_AGENT,
    CONF_INT8,
    CONF_LANGUAGE,
    CONF_LLM_HASS_API,
    CONF_MAX_ENTITIES,
    CONF_MODEL_SOURCE,
    CONF_PREFER_LOCAL,
    CONF_TOKENIZER_PATH,
    DEFAULT_HANDOVER,
    DEFAULT_LANGUAGE,
    DEFAULT_MAX_ENTITIES,
    DEFAULT_PREFER_LOCAL,
    DOMAIN,
    HANDOVER_AGENT,
    HANDOVER_MODES,
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
    ConversionError,
    ModelNotFound,
    builtin_model_available,
    check_conversion_inputs,
    convert_checkpoint,
    converted_models_root,
    load_and_probe,
    remove_converted,
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


# The dialog keeps the progress step on screen at least this long. HA's frontend (checked on
# 2025.4's, 20250411.0) subscribes to the flow's progress events only once it has drawn the
# progress step; a conversion that fails within milliseconds (a file that is not a pickle, a
# refused pickle) would announce its end before anyone listens, and the dialog would spin for
# ever. Tests set it to 0.
MIN_PROGRESS_S = 1.5
# And should a frontend still have missed the end (a slow browser), the end is announced again
# after these many seconds, as long as nobody has come for the step after the progress.
REANNOUNCE_S = (2.0, 5.0, 10.0)


@dataclass(slots=True)
class _Conversion:
    """What the progress task hands to the step after it: the bundle and its model's info, or
    the form's error."""

    bundle_dir: Path | None = None
    info: dict[str, Any] | None = None
    errors: dict[str, str] | None = None
    detail: str = ""


def _checkpoint_schema() -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_CHECKPOINT_PATH): TextSelector(),
            vol.Required(CONF_TOKENIZER_PATH): TextSelector(),
            vol.Required(CONF_INT8, default=True): BooleanSelector(),
        }
    )


def _paths(user_input: dict[str, Any]) -> tuple[Path, Path]:
    return (
        Path(str(user_input[CONF_CHECKPOINT_PATH]).strip()).expanduser(),
        Path(str(user_input[CONF_TOKENIZER_PATH]).strip()).expanduser(),
    )


class NeedleConfigFlow(ConfigFlow, domain=DOMAIN):
    """Choose and check a model."""

    VERSION = 1

    def __init__(self) -> None:
        self._errors: dict[str, str] = {}
        self._detail = ""  # the {detail} of the last error message
        self._convert_task: asyncio.Task[_Conversion] | None = None
        self._checkpoint_input: dict[str, Any] = {}
        self._bundle_input: dict[str, Any] = {}
        self._conversion: _Conversion | None = None
        self._reannounce: asyncio.Task[None] | None = None

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
        return self.async_show_form(
            step_id="user",
            data_schema=schema,
            errors=errors,
            description_placeholders={"detail": self._pop_detail()},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the model of an existing entry (same choices as at setup)."""
        return await self.async_step_user(user_input)

    async def async_step_bundle(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            self._bundle_input = dict(user_input)
            path = Path(str(user_input[CONF_BUNDLE_PATH]).strip()).expanduser()
            data = {CONF_MODEL_SOURCE: SOURCE_BUNDLE, CONF_BUNDLE_PATH: str(path)}
            return await self._async_check_and_finish(data, path, "bundle")
        schema = vol.Schema({vol.Required(CONF_BUNDLE_PATH): TextSelector()})
        return self.async_show_form(
            step_id="bundle",
            # after an error the field keeps what the user typed, as HA's own flows do
            data_schema=self.add_suggested_values_to_schema(schema, self._bundle_input),
            errors=self._pop_errors(),
            description_placeholders={"detail": self._pop_detail()},
        )

    async def async_step_checkpoint(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The checkpoint and tokenizer form; a submission converts them behind a progress step.

        While a conversion runs this step *is* the progress step: HA calls it again (without
        input) when the task is done, and it then hands over to ``checkpoint_failed`` (the
        form again, with the error) or ``converted`` (the entry). Another step id than this
        one is needed after the progress, or HA would not tell the frontend that it changed.
        """
        if self._convert_task is not None:
            return self._conversion_progress()
        errors = self._pop_errors()
        detail = self._pop_detail()
        if user_input is not None:
            self._checkpoint_input = dict(user_input)
            checkpoint, tokenizer = _paths(user_input)
            try:  # a mistyped path is answered at once, next to its field
                await self.hass.async_add_executor_job(
                    check_conversion_inputs, checkpoint, tokenizer
                )
            except ConversionError as err:
                errors = {err.field or "base": err.reason}
                detail = err.detail
            else:
                self._conversion = None
                self._convert_task = self.hass.async_create_task(
                    self._async_convert(dict(user_input)), "needle convert checkpoint"
                )
                return self._conversion_progress()
        return self._checkpoint_form(errors, detail)

    async def async_step_checkpoint_failed(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """After a failed conversion: the checkpoint form with the error (its step id is
        ``checkpoint``, so the next submission goes there)."""
        self._stop_reannouncing()  # the frontend came for it
        return self._checkpoint_form(self._pop_errors(), self._pop_detail())

    def _checkpoint_form(self, errors: dict[str, str], detail: str) -> ConfigFlowResult:
        return self.async_show_form(
            step_id="checkpoint",
            # after an error the fields keep what the user typed
            data_schema=self.add_suggested_values_to_schema(
                _checkpoint_schema(), self._checkpoint_input
            ),
            errors=errors,
            description_placeholders={
                "detail": detail,
                "folder": str(converted_models_root(self.hass)),
            },
        )

    def _conversion_progress(self) -> ConfigFlowResult:
        task = self._convert_task
        assert task is not None
        if not task.done():
            return self.async_show_progress(
                step_id="checkpoint",  # optional on 2025.4, asked for since 2026.x
                progress_action="convert",
                progress_task=task,
                description_placeholders={"folder": str(converted_models_root(self.hass))},
            )
        self._convert_task = None
        conversion = task.result()  # _async_convert never raises
        self._reannounce = self.hass.async_create_background_task(
            self._async_reannounce(), "needle announce conversion end"
        )
        if conversion.errors:
            self._errors, self._detail = conversion.errors, conversion.detail
            return self.async_show_progress_done(next_step_id="checkpoint_failed")
        self._conversion = conversion
        return self.async_show_progress_done(next_step_id="converted")

    async def _async_reannounce(self) -> None:
        """Tell the frontend again that the progress step ended, while the flow still waits at
        its end. Stopped as soon as anyone comes for the next step (``checkpoint_failed`` or
        ``converted``): a frontend that heard the end must not be made to fetch again."""
        for delay in REANNOUNCE_S:
            await asyncio.sleep(delay)
            step = self.cur_step
            if step is None or step.get("type") != FlowResultType.SHOW_PROGRESS_DONE:
                return
            if callable(notify := getattr(self, "async_notify_flow_changed", None)):
                notify()  # HA 2026.x
            else:
                self.hass.bus.async_fire(
                    EVENT_DATA_ENTRY_FLOW_PROGRESSED,
                    {"handler": self.handler, "flow_id": self.flow_id, "refresh": True},
                )

    async def _async_convert(self, source: dict[str, Any]) -> _Conversion:
        """Conversion, then the same load-and-answer check as every other model; every failure
        becomes the form's error (never an exception: the flow must leave the progress step)."""
        started = time.monotonic()
        root = converted_models_root(self.hass)
        checkpoint, tokenizer = _paths(source)
        bundle_dir: Path | None = None
        try:
            bundle_dir = await self.hass.async_add_executor_job(
                lambda: convert_checkpoint(
                    checkpoint, tokenizer, root, int8=bool(source.get(CONF_INT8, True))
                )
            )
            info = await self.hass.async_add_executor_job(load_and_probe, bundle_dir)
            result = _Conversion(bundle_dir=bundle_dir, info=info)
        except ConversionError as err:
            _LOGGER.warning("Checkpoint conversion failed (%s): %s", err.reason, err.detail)
            result = _Conversion(errors={err.field or "base": err.reason}, detail=err.detail)
        except Exception as err:  # the converted model does not load or answer
            _LOGGER.warning("Converted model %s failed its check: %s", bundle_dir, err)
            if bundle_dir is not None:
                await self.hass.async_add_executor_job(remove_converted, bundle_dir, root)
            result = _Conversion(errors={"base": _error_key(err)}, detail=str(err)[:300])
        if (left := MIN_PROGRESS_S - (time.monotonic() - started)) > 0:
            await asyncio.sleep(left)
        return result

    async def async_step_converted(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        self._stop_reannouncing()  # the frontend came for it (a refetch now could run it twice)
        conversion = self._conversion
        if conversion is None or conversion.bundle_dir is None:  # not reached by a real flow
            return await self.async_step_checkpoint()
        data = {
            CONF_MODEL_SOURCE: SOURCE_CHECKPOINT,
            CONF_BUNDLE_PATH: str(conversion.bundle_dir),
            CONF_CHECKPOINT_PATH: str(self._checkpoint_input[CONF_CHECKPOINT_PATH]).strip(),
            CONF_TOKENIZER_PATH: str(self._checkpoint_input[CONF_TOKENIZER_PATH]).strip(),
        }
        return await self._async_finish(data, conversion.bundle_dir, conversion.info or {})

    async def _async_check_and_finish(
        self, data: dict[str, Any], bundle_dir: Path, form_step: str
    ) -> ConfigFlowResult:
        """Load the model and answer one sentence; create (or update) the entry if it works."""
        try:
            info = await self.hass.async_add_executor_job(load_and_probe, bundle_dir)
        except Exception as err:  # reported on the form the user came from
            _LOGGER.warning("Model check of %s failed: %s", bundle_dir, err, exc_info=True)
            self._errors = {"base": _error_key(err)}
            self._detail = str(err)[:300]
            return await getattr(self, f"async_step_{form_step}")()
        return await self._async_finish(data, bundle_dir, info)

    async def _async_finish(
        self, data: dict[str, Any], bundle_dir: Path, info: dict[str, Any]
    ) -> ConfigFlowResult:
        """The entry, titled after its model: the title names the agent's device and so its
        entity id (``conversation.needle_built_in_model``)."""
        title = f"Needle ({info.get('name') or bundle_dir.name or 'model'})"
        if self.source == SOURCE_RECONFIGURE:
            # The entry's update listener reloads it: async_update_reload_and_abort would reload
            # it a second time, which HA 2026.x reports (and stops allowing in 2026.12).
            self.hass.config_entries.async_update_entry(
                self._get_reconfigure_entry(), data=data, title=title
            )
            return self.async_abort(reason="reconfigure_successful")
        await self.async_set_unique_id(str(bundle_dir.resolve()))
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title=title, data=data, options=dict(DEFAULT_OPTIONS))

    def _stop_reannouncing(self) -> None:
        if self._reannounce is not None:
            self._reannounce.cancel()
            self._reannounce = None

    @callback
    def async_remove(self) -> None:
        """The flow is gone (aborted, dialog closed): nothing to announce."""
        self._stop_reannouncing()
        super().async_remove()

    def _pop_errors(self) -> dict[str, str]:
        errors, self._errors = self._errors, {}
        return errors

    def _pop_detail(self) -> str:
        detail, self._detail = self._detail, ""
        return detail


class NeedleOptionsFlow(OptionsFlow):
    """Agent behaviour; changing it reloads the entry."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        options = {**DEFAULT_OPTIONS, **self.config_entry.options}
        own = er.async_get(self.hass).async_get_entity_id(
            "conversation", DOMAIN, self.config_entry.entry_id
        )
        if user_input is not None:
            language = str(user_input[CONF_LANGUAGE]).strip()
            if not _LANGUAGE.fullmatch(language):
                errors[CONF_LANGUAGE] = "invalid_language"
            errors.update(self._handover_errors(user_input, own))
            if not errors:
                return self.async_create_entry(
                    data={
                        **user_input,
                        CONF_MAX_ENTITIES: int(user_input[CONF_MAX_ENTITIES]),
                        CONF_LANGUAGE: language,
                    }
                )
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
                # Optional with a suggested value, not a default: an entry saved before the
                # option existed keeps its options as they were until the user picks one.
                vol.Optional(
                    CONF_HANDOVER,
                    description={"suggested_value": options.get(CONF_HANDOVER, DEFAULT_HANDOVER)},
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=list(HANDOVER_MODES),
                        translation_key=CONF_HANDOVER,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
                vol.Optional(
                    CONF_HANDOVER_AGENT,
                    description={"suggested_value": options.get(CONF_HANDOVER_AGENT)},
                ): EntitySelector(
                    EntitySelectorConfig(
                        domain="conversation", exclude_entities=[own] if own else []
                    )
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema, errors=errors)

    def _handover_errors(self, user_input: dict[str, Any], own: str | None) -> dict[str, str]:
        """Hand-over to another agent needs one that exists and is not Needle itself (that
        would ask itself again, forever; the selector already leaves Needle out). Options
        errors, worded under options.error in strings.json."""
        if user_input.get(CONF_HANDOVER) != HANDOVER_AGENT:
            return {}
        agent = user_input.get(CONF_HANDOVER_AGENT)
        if not agent:
            return {CONF_HANDOVER_AGENT: "handover_agent_missing"}
        if agent == own or conversation.async_get_agent(self.hass, agent) is None:
            return {CONF_HANDOVER_AGENT: "handover_agent_invalid"}
        return {}
