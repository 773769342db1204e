"""The harness lives in tools/ (evalkit, virtual_home): make it importable here."""

from __future__ import annotations

import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

MINI_SUITE = Path(__file__).parent / "data" / "mini"

# Import the integration now, from this repository: once a hass fixture has put the test config
# folder on sys.path, "custom_components" would resolve to that folder's package instead.
import custom_components.needle  # noqa: E402, F401
