"""Needle's icon: ``custom_components/needle/brand/`` is where Home Assistant 2026.x looks for a
custom integration's brand images (its ``brands`` integration serves them at
``/api/brands/integration/needle/icon.png``). HA 2025.4 asks brands.home-assistant.io instead,
which has no Needle: there the UI shows no icon (README, *Install*)."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

BRAND = Path(__file__).parents[2] / "custom_components" / "needle" / "brand"


@pytest.mark.parametrize(("name", "size"), [("icon.png", 256), ("icon@2x.png", 512)])
def test_brand_images_are_square_pngs(name: str, size: int) -> None:
    """The sizes the brands repository asks for: icon 256 px, icon@2x 512 px."""
    data = (BRAND / name).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (size, size)


@pytest.mark.skipif(
    importlib.util.find_spec("homeassistant.components.brands") is None,
    reason="this Home Assistant has no local brands integration (before 2026.x: the frontend "
    "asks brands.home-assistant.io)",
)
async def test_home_assistant_serves_needle_icon(hass: HomeAssistant, hass_client) -> None:
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    for image, source in (("icon.png", "icon.png"), ("icon@2x.png", "icon@2x.png"),
                          ("logo.png", "icon.png"), ("dark_icon.png", "icon.png")):  # fmt: skip
        resp = await client.get(f"/api/brands/integration/needle/{image}")
        assert resp.status == 200, image
        assert await resp.read() == (BRAND / source).read_bytes(), image
