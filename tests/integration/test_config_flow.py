"""Config, options and reconfigure flows: every path and every error."""

from __future__ import annotations

import time
from pathlib import Path
from unittest.mock import patch

import pytest
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component

from custom_components.needle.const import (
    CONF_BUNDLE_PATH,
    CONF_CHECKPOINT_PATH,
    CONF_INT8,
    CONF_LANGUAGE,
    CONF_LLM_HASS_API,
    CONF_MAX_ENTITIES,
    CONF_MODEL_SOURCE,
    CONF_PREFER_LOCAL,
    CONF_TOKENIZER_PATH,
    DOMAIN,
    SOURCE_BUILTIN,
    SOURCE_BUNDLE,
    SOURCE_CHECKPOINT,
)

from .helpers import ScriptedEngine, async_setup_needle

PROBE = "custom_components.needle.config_flow.load_and_probe"
INFO = {"name": "tiny", "backend": "numpy"}


@pytest.fixture(autouse=True)
async def _components(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


async def start(hass: HomeAssistant, source: str) -> dict:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MODEL_SOURCE: source}
    )


async def test_builtin_missing_shows_error(hass: HomeAssistant) -> None:
    with patch("custom_components.needle.config_flow.builtin_model_available", return_value=False):
        result = await start(hass, SOURCE_BUILTIN)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_builtin_model"}


async def test_builtin_creates_entry(hass: HomeAssistant) -> None:
    with (
        patch("custom_components.needle.config_flow.builtin_model_available", return_value=True),
        patch(PROBE, return_value=INFO) as probe,
        patch("custom_components.needle.model.load_engine", return_value=ScriptedEngine()),
    ):
        result = await start(hass, SOURCE_BUILTIN)
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_MODEL_SOURCE: SOURCE_BUILTIN}
    assert result["title"] == "Needle (tiny)"
    assert result["options"][CONF_LLM_HASS_API] == "assist"
    probe.assert_called_once()


async def test_bundle_path_and_duplicate(hass: HomeAssistant, tmp_path: Path) -> None:
    with (
        patch(PROBE, return_value=INFO),
        patch("custom_components.needle.model.load_engine", return_value=ScriptedEngine()),
    ):
        form = await start(hass, SOURCE_BUNDLE)
        assert form["step_id"] == "bundle"
        result = await hass.config_entries.flow.async_configure(
            form["flow_id"], {CONF_BUNDLE_PATH: f" {tmp_path} "}
        )
        await hass.async_block_till_done()
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {CONF_MODEL_SOURCE: SOURCE_BUNDLE, CONF_BUNDLE_PATH: str(tmp_path)}
        # the same bundle twice is refused
        form = await start(hass, SOURCE_BUNDLE)
        result = await hass.config_entries.flow.async_configure(
            form["flow_id"], {CONF_BUNDLE_PATH: str(tmp_path)}
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_bundle_missing_folder_real_loader(hass: HomeAssistant, tmp_path: Path) -> None:
    form = await start(hass, SOURCE_BUNDLE)
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {CONF_BUNDLE_PATH: str(tmp_path / "nope")}
    )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "bundle"
    assert result["errors"] == {"base": "file_missing"}
    assert not hass.config_entries.async_entries(DOMAIN)


def _engine_error(module: str, name: str) -> Exception:
    mod = pytest.importorskip(f"custom_components.needle.engine.{module}")
    return getattr(mod, name)("test")


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (lambda: MemoryError(), "out_of_memory"),
        (lambda: RuntimeError("?"), "unknown"),
        (lambda: _engine_error("bundle", "BundleError"), "bad_bundle"),
    ],
)
async def test_bundle_errors(hass: HomeAssistant, tmp_path: Path, error, key: str) -> None:
    exc = error()
    with patch(PROBE, side_effect=exc):
        form = await start(hass, SOURCE_BUNDLE)
        result = await hass.config_entries.flow.async_configure(
            form["flow_id"], {CONF_BUNDLE_PATH: str(tmp_path)}
        )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "bundle"
    assert result["errors"] == {"base": key}
    # the user can correct it in the same flow
    with (
        patch(PROBE, return_value=INFO),
        patch("custom_components.needle.model.load_engine", return_value=ScriptedEngine()),
    ):
        result = await hass.config_entries.flow.async_configure(
            form["flow_id"], {CONF_BUNDLE_PATH: str(tmp_path)}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY


CHECKPOINT_INPUT = {CONF_CHECKPOINT_PATH: "/x/needle.pkl", CONF_TOKENIZER_PATH: "/x/tok.model"}


async def _checkpoint_flow(hass: HomeAssistant) -> dict:
    """Submit the checkpoint form and follow the progress step to its end."""
    form = await start(hass, SOURCE_CHECKPOINT)
    assert form["step_id"] == "checkpoint"
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"], {**CHECKPOINT_INPUT, CONF_INT8: False}
    )
    while result["type"] is FlowResultType.SHOW_PROGRESS:
        assert result["progress_action"] == "convert"
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    return result


async def test_checkpoint_converted_and_created(hass: HomeAssistant, tmp_path: Path) -> None:
    out = tmp_path / "needle-v1"

    def slow_convert(*args, **kwargs) -> Path:
        time.sleep(0.05)  # still running when the progress step is first shown
        return out

    with (
        patch(
            "custom_components.needle.config_flow.convert_checkpoint", side_effect=slow_convert
        ) as conv,
        patch(PROBE, return_value=INFO),
        patch("custom_components.needle.model.load_engine", return_value=ScriptedEngine()),
    ):
        result = await _checkpoint_flow(hass)
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_MODEL_SOURCE: SOURCE_CHECKPOINT,
        CONF_BUNDLE_PATH: str(out),
        **CHECKPOINT_INPUT,
    }
    args, kwargs = conv.call_args
    assert args[0] == Path("/x/needle.pkl") and args[1] == Path("/x/tok.model")
    assert args[2] == Path(hass.config.path("needle"))
    assert kwargs == {"int8": False}


async def test_checkpoint_missing_file_real_converter(hass: HomeAssistant) -> None:
    pytest.importorskip("custom_components.needle.engine.bundle")
    pytest.importorskip("custom_components.needle.engine.checkpoint")
    pytest.importorskip("custom_components.needle.engine.tokenizer")
    result = await _checkpoint_flow(hass)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "checkpoint"
    assert result["errors"] == {"base": "file_missing"}


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (lambda: _engine_error("checkpoint", "CheckpointError"), "refused_checkpoint"),
        (lambda: ValueError("not a sentencepiece model"), "bad_tokenizer"),
        (lambda: MemoryError(), "out_of_memory"),
    ],
)
async def test_checkpoint_errors(hass: HomeAssistant, error, key: str) -> None:
    exc = error()

    def failing_convert(*args, **kwargs) -> Path:
        time.sleep(0.05)
        raise exc

    with patch(
        "custom_components.needle.config_flow.convert_checkpoint", side_effect=failing_convert
    ):
        result = await _checkpoint_flow(hass)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "checkpoint"
    assert result["errors"] == {"base": key}
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_options_flow(hass: HomeAssistant) -> None:
    engine = ScriptedEngine()
    entry = await async_setup_needle(hass, engine)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    new = {
        CONF_LLM_HASS_API: "none",
        CONF_PREFER_LOCAL: True,
        CONF_MAX_ENTITIES: 32.0,
        CONF_LANGUAGE: "xx yy",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], new)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_LANGUAGE: "invalid_language"}
    with patch("custom_components.needle.model.load_engine", return_value=engine):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**new, CONF_LANGUAGE: "en-GB"}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_LLM_HASS_API: "none",
        CONF_PREFER_LOCAL: True,
        CONF_MAX_ENTITIES: 32,
        CONF_LANGUAGE: "en-GB",
    }
    assert entry.state is config_entries.ConfigEntryState.LOADED  # reloaded with the options


async def test_reconfigure_changes_model(hass: HomeAssistant, tmp_path: Path) -> None:
    engine = ScriptedEngine()
    entry = await async_setup_needle(hass, engine, bundle_path=str(tmp_path / "old"))
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "user"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_MODEL_SOURCE: SOURCE_BUNDLE}
    )
    with (
        patch(PROBE, return_value=INFO),
        patch("custom_components.needle.model.load_engine", return_value=engine),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_BUNDLE_PATH: str(tmp_path / "new")}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_BUNDLE_PATH] == str(tmp_path / "new")
    assert entry.state is config_entries.ConfigEntryState.LOADED
