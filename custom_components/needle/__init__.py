"""Needle: a local tool-calling conversation agent for Home Assistant.

This module imports Home Assistant only inside functions: training and the tools import
``custom_components.needle.prompt`` and ``custom_components.needle.engine`` in environments
without Home Assistant, and Python runs this file first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypeAlias

from .const import DOMAIN

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from .model import NeedleData

    # A TypeAlias, not a ``type`` statement: training imports this package with Python 3.11.
    NeedleConfigEntry: TypeAlias = ConfigEntry[NeedleData]  # noqa: UP040

__all__ = ["DOMAIN", "async_setup_entry", "async_unload_entry"]

_LOGGER = logging.getLogger(__name__)

PLATFORMS = ["conversation"]


async def async_setup_entry(hass: HomeAssistant, entry: NeedleConfigEntry) -> bool:
    """Load the entry's model in the executor and start the conversation agent."""
    from .model import async_setup_model

    entry.runtime_data = await async_setup_model(hass, entry)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: NeedleConfigEntry) -> bool:
    """Stop the agent and let go of the model (its arrays are the bulk of our memory)."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        entry.runtime_data.release()
    return unloaded


async def _async_update_listener(hass: HomeAssistant, entry: NeedleConfigEntry) -> None:
    """Options changed: reload so the agent picks them up."""
    await hass.config_entries.async_reload(entry.entry_id)
