"""Virtual devices for Home Assistant, built from a home fixture (``shared/eval/FORMAT.md``).

``home.py`` reads fixtures (no Home Assistant import); ``devices.py`` creates the entities in a
running Home Assistant. The evaluator, the tests and the demo all use it.

This package is also a tiny custom integration (``manifest.json``), so that a real Home Assistant
(the demo) can build a home from its ``configuration.yaml``::

    virtual_home:
      home: home.yaml   # relative to the config folder, or absolute

Home Assistant is imported only inside functions: the evaluator imports ``virtual_home.home``
in a process that has not loaded Home Assistant, and must not pay for it (or need it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

DOMAIN = "virtual_home"
CONF_HOME = "home"
DATA_HOME = "virtual_home.home"  # hass.data key of the built VirtualHome, for tests and tools


async def async_setup(hass: HomeAssistant, config: dict[str, Any]) -> bool:
    """Read the fixture now (a broken one fails setup, visibly) and build the home once Home
    Assistant has started: every domain integration the home needs is set up then, outside
    bootstrap's own ordering, and the registries are loaded."""
    import importlib
    import logging
    from pathlib import Path

    from homeassistant.helpers.start import async_at_started

    logger = logging.getLogger(__name__)
    conf = config.get(DOMAIN) or {}
    if not isinstance(conf, dict) or not isinstance(conf.get(CONF_HOME), str):
        logger.error("%s needs `%s: <path of a home fixture>`", DOMAIN, CONF_HOME)
        return False
    home_mod = await hass.async_add_import_executor_job(importlib.import_module, f"{__name__}.home")
    path = Path(hass.config.path(conf[CONF_HOME]))  # an absolute path stays as it is
    try:
        home = await hass.async_add_executor_job(home_mod.load_home, path)
    except home_mod.FixtureError as err:
        logger.error("Cannot load the virtual home: %s", err)
        return False
    # devices.py imports a dozen entity platforms: import them off the event loop.
    devices = await hass.async_add_import_executor_job(
        importlib.import_module, f"{__name__}.devices"
    )

    async def _build(hass: HomeAssistant) -> None:
        vhome = await devices.async_build_home(hass, home)
        hass.data[DATA_HOME] = vhome
        logger.info("Virtual home %r built: %d entities", home.name, len(vhome.home.entities))

    async_at_started(hass, _build)
    return True
