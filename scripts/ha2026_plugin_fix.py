"""Make pytest-homeassistant-custom-component 0.13.375 (built for HA 2026.10.4) import on 2026.11.

HA 2026.11 moved ``_clear_logger_overwrites`` from ``homeassistant.components.logger`` to its
``helpers`` module; the plugin's ``common.py`` still imports it from the old place. This rewrites
that one import (idempotent) and fails loudly if the plugin looks different, so that a newer plugin
release is noticed instead of silently patched. Run by scripts/_py314.sh inside the test venv.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest_homeassistant_custom_component as plugin

OLD = """from homeassistant.components.logger import (
    DOMAIN as LOGGER_DOMAIN,
    SERVICE_SET_LEVEL,
    _clear_logger_overwrites,
)"""
NEW = """from homeassistant.components.logger import DOMAIN as LOGGER_DOMAIN, SERVICE_SET_LEVEL
from homeassistant.components.logger.helpers import _clear_logger_overwrites"""


def main() -> int:
    common = Path(plugin.__file__).with_name("common.py")
    text = common.read_text()
    if NEW in text:
        return 0
    if OLD not in text:
        print(f"{common}: the expected logger import is not there; check the plugin", file=sys.stderr)
        return 1
    common.write_text(text.replace(OLD, NEW))
    return 0


if __name__ == "__main__":
    sys.exit(main())
