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


def _suggested(result: dict) -> dict[str, object]:
    """The values a form shows in its fields (suggested values of its schema)."""
    return {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }


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
    assert _suggested(result) == {CONF_BUNDLE_PATH: str(tmp_path / "nope")}  # kept as typed
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


REFERENCE = Path(__file__).parents[1] / "data" / "needle-v1-reference"
SMALL_PKL = REFERENCE / "small.pkl"  # vocab 8192: fits the Cactus tokenizer
TINY_PKL = REFERENCE / "tiny.pkl"  # vocab 512: too small for it
SP_MODEL = Path(__file__).parents[1] / "data" / "cactus-needle" / "tokenizer.model"


@pytest.fixture(autouse=True)
def _config_dir(hass: HomeAssistant, tmp_path: Path) -> None:
    """Converted bundles go to <config>/needle: a folder of this test's own, not the shared
    testing_config of pytest-homeassistant-custom-component."""
    hass.config.config_dir = str(tmp_path / "config")


@pytest.fixture(autouse=True)
def _no_min_progress() -> object:
    """The dialog's minimum progress time is the frontend's business; here it is 0 except in
    the test of that minimum."""
    with patch("custom_components.needle.config_flow.MIN_PROGRESS_S", 0):
        yield


async def _checkpoint_flow(
    hass: HomeAssistant, checkpoint: Path | str, tokenizer: Path | str, int8: bool = True
) -> tuple[dict, int]:
    """Submit the checkpoint form and follow the progress step to its end; also returns how
    many progress results were seen (none when the conversion task had already ended when the
    step returned: on HA 2026.11's test harness a conversion that fails at once does)."""
    form = await start(hass, SOURCE_CHECKPOINT)
    assert form["type"] is FlowResultType.FORM and form["step_id"] == "checkpoint"
    result = await hass.config_entries.flow.async_configure(
        form["flow_id"],
        {
            CONF_CHECKPOINT_PATH: str(checkpoint),
            CONF_TOKENIZER_PATH: str(tokenizer),
            CONF_INT8: int8,
        },
    )
    progress = 0
    while result["type"] is FlowResultType.SHOW_PROGRESS:
        progress += 1
        assert result["progress_action"] == "convert"
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
        assert progress < 100, "the progress step never finished"
    return result, progress


def _converted(hass: HomeAssistant) -> list[str]:
    root = Path(hass.config.path("needle"))
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


async def test_checkpoint_converted_and_created(hass: HomeAssistant) -> None:
    """A real conversion: progress, then the entry named after the checkpoint's bundle."""
    result, progress = await _checkpoint_flow(hass, f" {SMALL_PKL} ", SP_MODEL)
    await hass.async_block_till_done()
    assert progress >= 1
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    out = Path(hass.config.path("needle", "small"))
    assert result["data"] == {
        CONF_MODEL_SOURCE: SOURCE_CHECKPOINT,
        CONF_BUNDLE_PATH: str(out),
        CONF_CHECKPOINT_PATH: str(SMALL_PKL),
        CONF_TOKENIZER_PATH: str(SP_MODEL),
    }
    assert result["title"] == "Needle (small)"
    assert (out / "needle.json").is_file() and (out / "tokenizer.json").is_file()
    assert _converted(hass) == ["small"]  # no partial folder left


def _write_pickle(path: Path, obj: object) -> Path:
    import pickle

    path.write_bytes(pickle.dumps(obj, protocol=4))
    return path


class _RunsCode:
    """A pickle that would run a shell command when loaded with plain pickle.load."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.sentinel}",))


def _misshaped_checkpoint(path: Path) -> Path:
    """tiny.pkl with one kernel of the wrong shape, in the official format."""
    from custom_components.needle.engine.checkpoint import load_checkpoint

    ckpt = load_checkpoint(TINY_PKL)
    params = dict(ckpt.params)
    key = next(k for k in sorted(params) if k.endswith("/kernel"))
    params[key] = params[key][..., :-1].astype("float16")
    tree: dict = {}
    for flat, value in params.items():
        node = tree
        *parents, leaf = flat.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return _write_pickle(path, {"params": tree, "config": ckpt.raw_config})


async def test_checkpoint_missing_files_answered_at_once(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """A mistyped path: the form again at once (no progress step), the error next to its
    field, and both fields keep what the user typed."""
    missing = tmp_path / "nope.pkl"
    form = await start(hass, SOURCE_CHECKPOINT)
    typed = {
        CONF_CHECKPOINT_PATH: str(missing),
        CONF_TOKENIZER_PATH: str(SP_MODEL),
        CONF_INT8: False,
    }
    result = await hass.config_entries.flow.async_configure(form["flow_id"], typed)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "checkpoint"
    assert result["errors"] == {CONF_CHECKPOINT_PATH: "checkpoint_missing"}
    assert _suggested(result) == typed
    typed = {**typed, CONF_CHECKPOINT_PATH: str(SMALL_PKL), CONF_TOKENIZER_PATH: str(missing)}
    result = await hass.config_entries.flow.async_configure(form["flow_id"], typed)
    assert result["errors"] == {CONF_TOKENIZER_PATH: "tokenizer_missing"}
    assert _suggested(result) == typed
    assert _converted(hass) == []


async def test_checkpoint_refused_pickle_runs_nothing(hass: HomeAssistant, tmp_path: Path) -> None:
    sentinel = tmp_path / "ran"
    evil = _write_pickle(tmp_path / "evil.pkl", {"params": _RunsCode(sentinel), "config": {}})
    result, _ = await _checkpoint_flow(hass, evil, SP_MODEL)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "checkpoint"
    assert result["errors"] == {CONF_CHECKPOINT_PATH: "refused_pickle"}
    assert "posix.system" in result["description_placeholders"]["detail"] or (
        "os.system" in result["description_placeholders"]["detail"]
    )
    assert not sentinel.exists()
    assert _suggested(result)[CONF_CHECKPOINT_PATH] == str(evil)
    assert not hass.config_entries.async_entries(DOMAIN)


@pytest.mark.parametrize(
    ("make", "tokenizer", "field", "key", "detail"),
    [
        (lambda d: d.joinpath("notes.pkl").write_text("hello") and d / "notes.pkl",
         SP_MODEL, CONF_CHECKPOINT_PATH, "not_a_checkpoint", "not a pickle"),
        (lambda d: _write_pickle(d / "list.pkl", [1, 2, 3]),
         SP_MODEL, CONF_CHECKPOINT_PATH, "not_a_checkpoint", "expected a dict"),
        (lambda d: _misshaped_checkpoint(d / "bad.pkl"),
         SP_MODEL, CONF_CHECKPOINT_PATH, "wrong_shapes", "has shape"),
        (lambda d: SMALL_PKL, "garbage", CONF_TOKENIZER_PATH, "bad_tokenizer", ""),
        (lambda d: TINY_PKL, SP_MODEL, CONF_TOKENIZER_PATH, "tokenizer_mismatch",
         "the tokenizer has 8192 tokens, the checkpoint's model 512"),
    ],
)  # fmt: skip
async def test_checkpoint_conversion_errors(
    hass: HomeAssistant, tmp_path: Path, make, tokenizer, field: str, key: str, detail: str
) -> None:
    """Each failure of the real converter comes back to the form as its own error."""
    if tokenizer == "garbage":
        tokenizer = tmp_path / "tokenizer.model"
        tokenizer.write_bytes(b"\xff\x00 this is not a SentencePiece model" * 10)
    checkpoint = make(tmp_path)
    result, _ = await _checkpoint_flow(hass, checkpoint, tokenizer)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "checkpoint"
    assert result["errors"] == {field: key}
    assert detail in result["description_placeholders"]["detail"]
    assert _suggested(result)[CONF_CHECKPOINT_PATH] == str(checkpoint)
    assert _converted(hass) == []
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_checkpoint_no_space_leaves_nothing(hass: HomeAssistant) -> None:
    import errno

    from custom_components.needle.engine import bundle

    real = bundle.write_bundle

    def full_disk(checkpoint, out, **kwargs):
        Path(out).mkdir(parents=True)
        (Path(out) / "weights.bin").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with patch.object(bundle, "write_bundle", side_effect=full_disk):
        result, _ = await _checkpoint_flow(hass, SMALL_PKL, SP_MODEL)
    assert real is bundle.write_bundle
    assert result["errors"] == {"base": "no_space"}
    assert result["description_placeholders"]["folder"] == hass.config.path("needle")
    assert _converted(hass) == []  # the half-written folder is gone


async def test_checkpoint_out_of_memory(hass: HomeAssistant) -> None:
    with patch(
        "custom_components.needle.engine.checkpoint.load_checkpoint", side_effect=MemoryError
    ):
        result, _ = await _checkpoint_flow(hass, SMALL_PKL, SP_MODEL)
    assert result["errors"] == {"base": "out_of_memory"}


async def test_checkpoint_converted_model_fails_check(hass: HomeAssistant) -> None:
    """The bundle was written but its model does not load: the error, and the bundle removed."""
    from custom_components.needle.engine.bundle import BundleError

    with patch(PROBE, side_effect=BundleError("weights.bin: checksum mismatch")):
        result, _ = await _checkpoint_flow(hass, SMALL_PKL, SP_MODEL)
    assert result["errors"] == {"base": "bad_bundle"}
    assert "checksum mismatch" in result["description_placeholders"]["detail"]
    assert _converted(hass) == []


async def test_checkpoint_progress_shown_for_a_minimum(hass: HomeAssistant, tmp_path: Path) -> None:
    """A conversion that fails at once still keeps the progress step up for MIN_PROGRESS_S, so
    that the frontend has subscribed to the flow's events before the step ends."""
    notes = tmp_path / "notes.pkl"
    notes.write_text("hello")
    with patch("custom_components.needle.config_flow.MIN_PROGRESS_S", 0.3):
        form = await start(hass, SOURCE_CHECKPOINT)
        started = time.monotonic()
        result = await hass.config_entries.flow.async_configure(
            form["flow_id"], {CONF_CHECKPOINT_PATH: str(notes), CONF_TOKENIZER_PATH: str(SP_MODEL)}
        )
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        await hass.async_block_till_done()
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert time.monotonic() - started >= 0.3
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_CHECKPOINT_PATH: "not_a_checkpoint"}


def test_every_error_has_a_message() -> None:
    """Each error key the flow can set is worded in strings.json and the English translation."""
    import json
    import re

    root = Path(__file__).parents[2] / "custom_components" / "needle"
    source = (root / "config_flow.py").read_text() + (root / "model.py").read_text()
    keys = set(re.findall(r'ConversionError\(\s*"([a-z_]+)"', source))
    keys |= set(re.findall(r'return "([a-z_]+)"', source)) | {"no_builtin_model"}
    assert {"refused_pickle", "wrong_shapes", "no_space", "tokenizer_mismatch"} <= keys
    for name in ("strings.json", "translations/en.json"):
        errors = json.loads((root / name).read_text())["config"]["error"]
        assert keys <= set(errors), (name, keys - set(errors))


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
        patch("custom_components.needle.model.load_engine", return_value=engine) as load,
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_BUNDLE_PATH: str(tmp_path / "new")}
        )
        await hass.async_block_till_done()
    assert load.call_count == 1  # reloaded once, on the new bundle
    assert load.call_args.args[0] == tmp_path / "new"
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_BUNDLE_PATH] == str(tmp_path / "new")
    assert entry.title == "Needle (tiny)"  # named after the new model
    assert entry.state is config_entries.ConfigEntryState.LOADED  # reloaded on the new model


async def _progress_events(hass: HomeAssistant) -> list[dict]:
    from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED

    seen: list[dict] = []
    hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESSED, lambda e: seen.append(dict(e.data)))
    return seen


@pytest.mark.parametrize("fetch_at_once", [False, True])
async def test_progress_end_announced_again_until_fetched(
    hass: HomeAssistant, tmp_path: Path, fetch_at_once: bool
) -> None:
    """A frontend that missed the end of the progress step (it subscribes late) hears it again;
    one that fetched the next step is not disturbed (a refetch would redraw the form)."""
    import asyncio

    notes = tmp_path / "notes.pkl"
    notes.write_text("hello")
    seen = await _progress_events(hass)
    with (
        patch("custom_components.needle.config_flow.MIN_PROGRESS_S", 0.05),
        patch("custom_components.needle.config_flow.REANNOUNCE_S", (0.05, 0.05)),
    ):
        form = await start(hass, SOURCE_CHECKPOINT)
        result = await hass.config_entries.flow.async_configure(
            form["flow_id"], {CONF_CHECKPOINT_PATH: str(notes), CONF_TOKENIZER_PATH: str(SP_MODEL)}
        )
        assert result["type"] is FlowResultType.SHOW_PROGRESS
        await hass.async_block_till_done()  # the conversion ended: HA announced it once
        assert len(seen) == 1
        if fetch_at_once:
            result = await hass.config_entries.flow.async_configure(result["flow_id"])
            assert result["errors"] == {CONF_CHECKPOINT_PATH: "not_a_checkpoint"}
        await asyncio.sleep(0.3)
        await hass.async_block_till_done()
    assert {e["flow_id"] for e in seen} == {form["flow_id"]}
    assert len(seen) == (1 if fetch_at_once else 3)
    if not fetch_at_once:  # a late frontend fetches, and gets the form with the error
        result = await hass.config_entries.flow.async_configure(result["flow_id"])
        assert result["errors"] == {CONF_CHECKPOINT_PATH: "not_a_checkpoint"}


async def test_no_announcement_once_the_entry_is_being_created(hass: HomeAssistant) -> None:
    """Creating the entry (loading its model) takes a while; an announcement then would make
    the frontend run the last step a second time."""
    import asyncio

    seen = await _progress_events(hass)
    real_setup = hass.config_entries.async_setup

    async def slow_setup(*args, **kwargs):
        await asyncio.sleep(0.3)  # every re-announcement would fall in here
        return await real_setup(*args, **kwargs)

    with (
        patch("custom_components.needle.config_flow.REANNOUNCE_S", (0.05, 0.05)),
        patch.object(hass.config_entries, "async_setup", slow_setup),
    ):
        result, _ = await _checkpoint_flow(hass, SMALL_PKL, SP_MODEL)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await asyncio.sleep(0.2)
        await hass.async_block_till_done()
    assert len(seen) == 1  # only HA's own, at the end of the progress step
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
