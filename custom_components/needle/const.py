"""Names and numbers of the integration, each with the reason for its value.

No Home Assistant import: ``__init__.py`` and ``prompt.py`` import this, and both must stay
importable by training, which runs without Home Assistant.
"""

from __future__ import annotations

from pathlib import Path

DOMAIN = "needle"

# Config entry data: where the model comes from.
CONF_MODEL_SOURCE = "model_source"
SOURCE_BUILTIN = "builtin"  # custom_components/needle/models/default, shipped with a release
SOURCE_BUNDLE = "bundle"  # a bundle folder somewhere on disk
SOURCE_CHECKPOINT = "checkpoint"  # an official Needle v1 .pkl + tokenizer, converted on the hub
MODEL_SOURCES = (SOURCE_BUILTIN, SOURCE_BUNDLE, SOURCE_CHECKPOINT)
CONF_BUNDLE_PATH = "bundle_path"
CONF_CHECKPOINT_PATH = "checkpoint_path"
CONF_TOKENIZER_PATH = "tokenizer_path"
CONF_INT8 = "int8"

# Options.
CONF_LLM_HASS_API = "llm_hass_api"  # same key as homeassistant.const.CONF_LLM_HASS_API
CONF_PREFER_LOCAL = "prefer_local"
CONF_MAX_ENTITIES = "max_entities"
CONF_LANGUAGE = "language"
LLM_API_ASSIST = "assist"  # homeassistant.helpers.llm.LLM_API_ASSIST
LLM_API_NONE = "none"
# What happens to a sentence Needle is not sure of (the policy's "not sure" / "nothing
# understood" outcomes only; a negated request or a call refused for safety is never passed
# on): say so (today's behaviour), or let HA's built-in agent or another conversation agent
# answer it, so that Needle is the fast first pass and a larger agent takes the rest.
CONF_HANDOVER = "handover"
CONF_HANDOVER_AGENT = "handover_agent"  # agent id (a conversation entity) for HANDOVER_AGENT
HANDOVER_ASK, HANDOVER_BUILTIN, HANDOVER_AGENT = "ask", "builtin", "agent"
HANDOVER_MODES = (HANDOVER_ASK, HANDOVER_BUILTIN, HANDOVER_AGENT)
DEFAULT_HANDOVER = HANDOVER_ASK  # nothing leaves Needle unless the user chooses it

DEFAULT_PREFER_LOCAL = True  # HA's own sentence matcher is exact; the model handles the rest
DEFAULT_MAX_ENTITIES = 64  # prompt.DEFAULT_MAX_ENTITIES: fits the 1024-token window in practice
MIN_MAX_ENTITIES, MAX_MAX_ENTITIES = 4, 512
DEFAULT_LANGUAGE = "en"  # Needle v1 and its tokenizer are English

MODELS_DIR = Path(__file__).parent / "models"
BUILTIN_MODEL_DIR = MODELS_DIR / "default"
CONVERTED_MODELS_SUBDIR = "needle"  # hass.config.path("needle", <slug>): converted bundles

# A 26M-parameter greedy decode takes well under a second on a Pi 4 with onnxruntime and a few
# seconds with numpy; past this the user has long given up waiting.
GENERATE_TIMEOUT_S = 20.0
# Follow-ups ("and the kitchen too") refer to the turn just before; older ones are stale.
TURN_MEMORY_TTL_S = 300.0
TURN_MEMORY_MAX_CONVERSATIONS = 256  # bounded: one entry per live conversation id

# Optional accelerated backend; no wheels on musl (HA OS), so it is never a hard requirement.
ONNXRUNTIME_REQUIREMENT = "onnxruntime==1.32.0"

# The policy (policy.py): a call whose least sure free choice (decoder confidence) is below this
# is not run. tools/calibrate.py on 3,000 generated held-out requests (docs/evaluation.md,
# "Confidence"): none of the 140 calls below 0.5 was right, so 0.5 removes wrong actions and no
# right call; above it the curve trades about one right call for each wrong one.
MIN_CALL_CONFIDENCE = 0.5
# A lone call below MIN_CALL_CONFIDENCE but at least this sure is confirmed ("Do you want me to
# ...?") instead of refused. Equal to MIN_CALL_CONFIDENCE for the shipped model, i.e. off: its
# calls below 0.5 were never right, so the answer would be "no"; a better calibrated model can
# lower it.
MIN_ASK_CONFIDENCE = 0.5
# An on/off call runs only when the sentence's words say that direction at least this likely
# (policy._direction_not_said, the prompt builder's retrieval as a second opinion). Chosen on
# generated requests: 1.0 % of 4,000 right on/off calls fall below it (training/README, stage 7).
MIN_DIRECTION_PROBABILITY = 0.2

# A relative request ("a bit dimmer", "two degrees warmer", "louder"): the call relative.py makes
# from the model's target and the user's words, run by step_tool.py. Not a tool the model is
# shown or trained on (no HA release before 2026 has relative intents for most of these), so
# its name cannot meet one of HA's.
STEP_TOOL = "NeedleStep"
# The step when the sentence says no amount: a quarter of the range (brightness, volume,
# position, fan speed) and a degree (2 in Fahrenheit) for a thermostat, whose useful range is
# a few degrees, not a quarter of 7-35 °C.
DEFAULT_STEP_PERCENT = 25
DEFAULT_STEP_DEGREES_C = 1.0
DEFAULT_STEP_DEGREES_F = 2.0
