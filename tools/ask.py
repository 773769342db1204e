#!/usr/bin/env python3
"""Ask the demo home something, without a browser.

    python tools/ask.py "turn on the kitchen lights" ["and dim them to 30%" ...]
                        [--home demo/home.yaml] [--bundle DIR] [--agent needle|builtin]
                        [--area AREA_ID] [--prefer-local] [--debug]

Starts Home Assistant in this process (temporary config folder) with the demo home's virtual
devices and the Needle integration on its built-in model, says each sentence in one
conversation (so a follow-up can refer to the turn before), and prints for each turn the reply,
the tool calls that were carried out, and what changed in the home.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tools"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from evalkit.runner import (  # noqa: E402
    BUILTIN,
    NEEDLE,
    AgentSpec,
    CallRecorder,
    async_prepare,
    async_setup_agent,
    home_assistant,
    satellite_devices,
)
from evalkit.scoring import diff_states  # noqa: E402
from homeassistant.components import conversation  # noqa: E402
from homeassistant.core import Context  # noqa: E402
from virtual_home.home import FixtureError, load_home  # noqa: E402

DEFAULT_HOME = ROOT / "demo" / "home.yaml"


async def ask(args: argparse.Namespace) -> int:
    home = load_home(args.home)
    spec = AgentSpec(args.agent, args.bundle, args.prefer_local)
    with tempfile.TemporaryDirectory(prefix="needle-ask-") as config_dir:
        async with home_assistant(Path(config_dir)) as hass:
            vhome = await async_prepare(hass, home)
            satellites = satellite_devices(hass, vhome)
            agent_id = await async_setup_agent(hass, spec)
            device_id = satellites.get(args.area) if args.area else None
            if args.area and device_id is None:
                print(f"no area {args.area!r} in {args.home.name}", file=sys.stderr)
                return 2
            conversation_id = f"ask-{uuid.uuid4().hex}"
            for text in args.sentences:
                before = vhome.snapshot()
                with CallRecorder() as recorder:
                    started = time.perf_counter()
                    result = await conversation.async_converse(
                        hass, text, conversation_id=conversation_id, context=Context(),
                        language=home.language, agent_id=agent_id, device_id=device_id,
                    )  # fmt: skip
                    await hass.async_block_till_done()
                    ms = (time.perf_counter() - started) * 1000
                changes = diff_states(before, vhome.snapshot(), {})
                speech = result.response.speech.get("plain", {}).get("speech", "")
                print(f"> {text}")
                print(f"  reply ({ms:.0f} ms): {speech}")
                for call in recorder.calls:
                    print(f"  call: {call.name} {json.dumps(call.arguments, ensure_ascii=False)}")
                for call in recorder.refused:
                    print(f"  refused by HA: {call.name} {json.dumps(call.arguments)}")
                if not recorder.calls and not recorder.refused:
                    print("  call: (none)")
                for entity_id, delta in changes.items():
                    parts = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in delta.items())
                    print(f"  changed: {entity_id}: {parts}")
                if not changes:
                    print("  changed: (nothing)")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("sentences", nargs="+", help="what you say (several: one conversation)")
    p.add_argument("--home", type=Path, default=DEFAULT_HOME, help="home fixture (FORMAT.md)")
    p.add_argument("--bundle", type=Path, help="Needle bundle (default: the built-in model)")
    p.add_argument("--agent", choices=[NEEDLE, BUILTIN], default=NEEDLE)
    p.add_argument("--area", help="area id of the voice satellite that hears you")
    p.add_argument("--prefer-local", action="store_true", help="HA's own matcher first")
    p.add_argument(
        "--debug", action="store_true", help="Needle's debug log: clauses, prompts' size, calls, "
        "confidence and the policy's reasons"
    )  # fmt: skip
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    if args.debug:
        logging.getLogger("custom_components.needle").setLevel(logging.DEBUG)
    try:
        return asyncio.run(ask(args))
    except FixtureError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
