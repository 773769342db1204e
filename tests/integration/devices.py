"""A small virtual home with real service handling: HA's intents call light.turn_on etc. and
these entities change state, so the tests see what an action really did."""

from __future__ import annotations

from typing import Any, ClassVar

from homeassistant.components.climate import ClimateEntity, ClimateEntityFeature, HVACMode
from homeassistant.components.cover import CoverDeviceClass, CoverEntity, CoverEntityFeature
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.components.light import ATTR_BRIGHTNESS, ColorMode, LightEntity
from homeassistant.components.lock import LockEntity
from homeassistant.components.media_player import (
    MediaPlayerEntity,
    MediaPlayerEntityFeature,
    MediaPlayerState,
)
from homeassistant.components.switch import SwitchEntity
from homeassistant.const import UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import setup_test_component_platform

from custom_components.needle.compat import registry_aliases


class VLight(LightEntity):
    _attr_supported_color_modes: ClassVar[set[ColorMode]] = {ColorMode.BRIGHTNESS}
    _attr_color_mode = ColorMode.BRIGHTNESS
    _attr_should_poll = False

    def __init__(self, uid: str, name: str) -> None:
        self._attr_unique_id = uid
        self._attr_name = name
        self._attr_is_on = False
        self._attr_brightness = 0

    async def async_turn_on(self, **kwargs: Any) -> None:
        self._attr_is_on = True
        self._attr_brightness = kwargs.get(ATTR_BRIGHTNESS, self._attr_brightness or 255)
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        self._attr_is_on = False
        self.async_write_ha_state()


class VSwitch(SwitchEntity):
    _attr_should_poll = False

    def __init__(self, uid: str, name: str) -> None:
        self._attr_unique_id = uid
        self._attr_name = name
        self._attr_is_on = False

    async def async_turn_on(self, **kwargs: Any) -> None:
        self._attr_is_on = True
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        self._attr_is_on = False
        self.async_write_ha_state()


class VCover(CoverEntity):
    _attr_should_poll = False
    _attr_device_class = CoverDeviceClass.BLIND
    _attr_supported_features = (
        CoverEntityFeature.OPEN | CoverEntityFeature.CLOSE | CoverEntityFeature.SET_POSITION
    )

    def __init__(self, uid: str, name: str) -> None:
        self._attr_unique_id = uid
        self._attr_name = name
        self._attr_current_cover_position = 0

    @property
    def is_closed(self) -> bool:
        return self._attr_current_cover_position == 0

    async def async_open_cover(self, **kwargs: Any) -> None:
        self._attr_current_cover_position = 100
        self.async_write_ha_state()

    async def async_close_cover(self, **kwargs: Any) -> None:
        self._attr_current_cover_position = 0
        self.async_write_ha_state()

    async def async_set_cover_position(self, **kwargs: Any) -> None:
        self._attr_current_cover_position = kwargs["position"]
        self.async_write_ha_state()


# HA 2026.x reads climate temperatures from ``_attr_native_*`` (the old names raise for core code).
_CLIMATE_PREFIX = "_attr_native_" if hasattr(ClimateEntity, "native_target_temperature") else "_attr_"


class VClimate(ClimateEntity):
    _attr_should_poll = False
    _attr_hvac_modes: ClassVar[list[HVACMode]] = [HVACMode.HEAT, HVACMode.OFF]
    _attr_hvac_mode = HVACMode.HEAT
    _attr_supported_features = ClimateEntityFeature.TARGET_TEMPERATURE

    def __init__(self, uid: str, name: str) -> None:
        self._attr_unique_id = uid
        self._attr_name = name
        setattr(self, _CLIMATE_PREFIX + "temperature_unit", UnitOfTemperature.CELSIUS)
        setattr(self, _CLIMATE_PREFIX + "target_temperature", 19.0)
        setattr(self, _CLIMATE_PREFIX + "current_temperature", 18.0)

    async def async_set_temperature(self, **kwargs: Any) -> None:
        setattr(self, _CLIMATE_PREFIX + "target_temperature", kwargs["temperature"])
        self.async_write_ha_state()


class VLock(LockEntity):
    _attr_should_poll = False

    def __init__(self, uid: str, name: str) -> None:
        self._attr_unique_id = uid
        self._attr_name = name
        self._attr_is_locked = False

    async def async_lock(self, **kwargs: Any) -> None:
        self._attr_is_locked = True
        self.async_write_ha_state()

    async def async_unlock(self, **kwargs: Any) -> None:
        self._attr_is_locked = False
        self.async_write_ha_state()


class VMediaPlayer(MediaPlayerEntity):
    _attr_should_poll = False
    _attr_supported_features = (
        MediaPlayerEntityFeature.PAUSE
        | MediaPlayerEntityFeature.PLAY
        | MediaPlayerEntityFeature.VOLUME_SET
        | MediaPlayerEntityFeature.TURN_ON
        | MediaPlayerEntityFeature.TURN_OFF
    )

    def __init__(self, uid: str, name: str) -> None:
        self._attr_unique_id = uid
        self._attr_name = name
        self._attr_state = MediaPlayerState.PLAYING
        self._attr_volume_level = 0.2

    async def async_media_pause(self) -> None:
        self._attr_state = MediaPlayerState.PAUSED
        self.async_write_ha_state()

    async def async_media_play(self) -> None:
        self._attr_state = MediaPlayerState.PLAYING
        self.async_write_ha_state()

    async def async_set_volume_level(self, volume: float) -> None:
        self._attr_volume_level = volume
        self.async_write_ha_state()

    async def async_turn_on(self) -> None:
        self._attr_state = MediaPlayerState.ON
        self.async_write_ha_state()

    async def async_turn_off(self) -> None:
        self._attr_state = MediaPlayerState.OFF
        self.async_write_ha_state()


# entity_id -> (class, name, area name, exposed, aliases)
HOME = {
    "light.kitchen_light": (VLight, "Kitchen Light", "Kitchen", True, ()),
    "light.bedroom_lamp": (VLight, "Bedroom Lamp", "Bedroom", True, ("reading lamp",)),
    "light.office_light": (VLight, "Office Light", "Office", True, ()),
    "switch.secret_switch": (VSwitch, "Secret Switch", "Office", False, ()),
    "light.hidden_light": (VLight, "Hidden Light", "Kitchen", False, ()),
    "cover.living_room_blinds": (VCover, "Living Room Blinds", "Living Room", True, ()),
    "climate.thermostat": (VClimate, "Thermostat", "Living Room", True, ()),
    "lock.front_door": (VLock, "Front Door", None, True, ()),
    "media_player.tv": (VMediaPlayer, "TV", "Living Room", True, ()),
}
AREAS = {"Kitchen": "Ground Floor", "Living Room": "Ground Floor", "Bedroom": "First Floor", "Office": "First Floor"}  # fmt: skip


async def async_setup_home(hass: HomeAssistant) -> dict[str, Any]:
    """Set up the virtual home: floors, areas, entities, exposure. Returns entity objects."""
    for comp in ("homeassistant", "intent"):
        assert await async_setup_component(hass, comp, {})
    floors = fr.async_get(hass)
    areas = ar.async_get(hass)
    floor_ids = {}
    for name in sorted(set(AREAS.values())):
        floor_ids[name] = floors.async_create(name).floor_id
    area_ids = {
        name: areas.async_create(name, floor_id=floor_ids[f]).id for name, f in AREAS.items()
    }

    objects: dict[str, Any] = {}
    by_domain: dict[str, list[Any]] = {}
    for entity_id, (cls, name, _area, _exposed, _aliases) in HOME.items():
        domain, object_id = entity_id.split(".")
        obj = cls(object_id, name)
        obj.entity_id = entity_id
        objects[entity_id] = obj
        by_domain.setdefault(domain, []).append(obj)
    for domain, entities in by_domain.items():
        setup_test_component_platform(hass, domain, entities)
        assert await async_setup_component(hass, domain, {domain: {"platform": "test"}})
    await hass.async_block_till_done()

    registry = er.async_get(hass)
    for entity_id, (_cls, _name, area, exposed, aliases) in HOME.items():
        registry.async_update_entity(
            entity_id, area_id=area_ids[area] if area else None, aliases=registry_aliases(aliases)
        )
        async_expose_entity(hass, "conversation", entity_id, exposed)
    await hass.async_block_till_done()
    return objects
