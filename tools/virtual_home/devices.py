"""Virtual devices: real Home Assistant entities built from a home fixture.

Each device class keeps its state in HA's own attributes and changes it in its service methods
the way HA's device integrations do (a light's brightness and colour, a cover's position, a
thermostat's target temperature and mode, a player's volume and play/pause, ...), so an agent is
judged by what really happened to the home. Entities that have no services of their own
(sensors, binary sensors, weather, people) are plain states; scripts and input booleans get the
services Assist calls on them.

Entities are added straight to each domain's EntityComponent, so no platform files or custom
integration loading are needed: the evaluator, the tests and the demo share this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from homeassistant.components.climate import ClimateEntity, ClimateEntityFeature, HVACMode
from homeassistant.components.cover import CoverEntity, CoverEntityFeature
from homeassistant.components.fan import FanEntity, FanEntityFeature
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.components.light import ColorMode, LightEntity
from homeassistant.components.lock import LockEntity
from homeassistant.components.media_player import (
    MediaPlayerEntity,
    MediaPlayerEntityFeature,
    MediaPlayerState,
)
from homeassistant.components.scene import Scene
from homeassistant.components.switch import SwitchEntity
from homeassistant.components.todo import TodoItem, TodoItemStatus, TodoListEntity
from homeassistant.components.todo import TodoListEntityFeature as TodoFeature
from homeassistant.components.vacuum import StateVacuumEntity, VacuumActivity, VacuumEntityFeature
from homeassistant.components.valve import ValveEntity, ValveEntityFeature
from homeassistant.const import ATTR_FRIENDLY_NAME, UnitOfTemperature
from homeassistant.core import HomeAssistant, ServiceCall, callback, valid_entity_id
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_component import EntityComponent
from homeassistant.setup import async_setup_component
from homeassistant.util import slugify

from custom_components.needle.compat import registry_aliases

from .home import EntitySpec, Home

_LOGGER = logging.getLogger(__name__)
PLATFORM = "virtual_home"  # entity registry platform of the state-only entities
OWN_CONFIG = ("script", "input_boolean")  # their integrations create their entities from config
STATE_ONLY = ("sensor", "binary_sensor", "weather", "person", "script", "input_boolean")


class VirtualEntity(Entity):
    """Common part: identity from the fixture; ``apply`` sets state and attributes."""

    _attr_should_poll = False

    def __init__(self, spec: EntitySpec) -> None:
        self.entity_id = spec.entity_id
        self._attr_unique_id = spec.entity_id
        self._attr_name = spec.name
        self.apply(spec.state, spec.attributes)

    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        """Set the device to a fixture's (or a case's ``setup``) state and attributes."""
        raise NotImplementedError

    async def _changed(self) -> None:
        self.async_write_ha_state()


def _features(attrs: dict[str, Any], default: int) -> int:
    value = attrs.get("supported_features")
    return int(value) if isinstance(value, int | float) else default


class VLight(VirtualEntity, LightEntity):
    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        modes = attrs.get("supported_color_modes", getattr(self, "_modes", None)) or ["brightness"]
        self._modes = list(modes)
        self._attr_supported_color_modes = {ColorMode(m) for m in self._modes}
        if state is not None:
            self._attr_is_on = state == "on"
        for key in ("brightness", "rgb_color", "hs_color", "xy_color", "color_temp_kelvin"):
            if key in attrs:
                value = attrs[key]
                setattr(self, f"_attr_{key}", tuple(value) if isinstance(value, list) else value)
        self._attr_min_color_temp_kelvin = attrs.get("min_color_temp_kelvin", 2000)
        self._attr_max_color_temp_kelvin = attrs.get("max_color_temp_kelvin", 6500)
        if self._attr_is_on and not self._attr_brightness:
            self._attr_brightness = 255
        self._attr_color_mode = ColorMode(attrs.get("color_mode") or self._default_mode())

    def _default_mode(self) -> str:
        for mode in ("rgb", "hs", "xy", "color_temp", "brightness"):
            if mode in self._modes:
                return mode
        return self._modes[0]

    async def async_turn_on(self, **kwargs: Any) -> None:
        self._attr_is_on = True
        if "brightness" in kwargs:
            self._attr_brightness = kwargs["brightness"]
        elif not self._attr_brightness:
            self._attr_brightness = 255
        for key, mode in (
            ("rgb_color", "rgb"), ("hs_color", "hs"), ("xy_color", "xy"),
            ("color_temp_kelvin", "color_temp"),
        ):  # fmt: skip
            if key in kwargs:
                setattr(self, f"_attr_{key}", kwargs[key])
                self._attr_color_mode = ColorMode(mode)
        await self._changed()

    async def async_turn_off(self, **kwargs: Any) -> None:
        self._attr_is_on = False
        await self._changed()


class VSwitch(VirtualEntity, SwitchEntity):
    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        if state is not None:
            self._attr_is_on = state == "on"
        if "device_class" in attrs:
            self._attr_device_class = attrs["device_class"]

    async def async_turn_on(self, **kwargs: Any) -> None:
        self._attr_is_on = True
        await self._changed()

    async def async_turn_off(self, **kwargs: Any) -> None:
        self._attr_is_on = False
        await self._changed()


class VFan(VirtualEntity, FanEntity):
    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        self._attr_supported_features = FanEntityFeature(
            _features(
                attrs,
                FanEntityFeature.SET_SPEED | FanEntityFeature.TURN_ON | FanEntityFeature.TURN_OFF,
            )
        )
        if state is not None:
            self._attr_is_on = state == "on"
        self._attr_percentage = attrs.get("percentage", 100 if self._attr_is_on else 0)
        if "oscillating" in attrs:
            self._attr_oscillating = attrs["oscillating"]
        self._attr_preset_modes = attrs.get("preset_modes")
        self._attr_preset_mode = attrs.get("preset_mode")

    @property
    def is_on(self) -> bool | None:
        return self._attr_is_on

    async def async_turn_on(
        self, percentage: int | None = None, preset_mode: str | None = None, **kwargs: Any
    ) -> None:
        self._attr_is_on = True
        if percentage is not None:
            self._attr_percentage = percentage
        elif not self._attr_percentage:
            self._attr_percentage = 100
        if preset_mode is not None:
            self._attr_preset_mode = preset_mode
        await self._changed()

    async def async_turn_off(self, **kwargs: Any) -> None:
        self._attr_is_on = False
        self._attr_percentage = 0
        await self._changed()

    async def async_set_percentage(self, percentage: int) -> None:
        self._attr_is_on = percentage > 0
        self._attr_percentage = percentage
        await self._changed()

    async def async_oscillate(self, oscillating: bool) -> None:
        self._attr_oscillating = oscillating
        await self._changed()

    async def async_set_preset_mode(self, preset_mode: str) -> None:
        self._attr_preset_mode = preset_mode
        await self._changed()


class _Opening(VirtualEntity):
    """Covers and valves: open/closed plus an optional 0-100 position."""

    _position: int | None = None
    _closed: bool | None = None

    def _apply_opening(self, state: str | None, attrs: dict[str, Any], key: str) -> None:
        for name in (key, "position"):
            if name in attrs:
                self._position = None if attrs[name] is None else int(attrs[name])
                break
        if state is not None:
            self._closed = {"closed": True, "open": False}.get(state)
            if self._position is not None and state == "closed":
                self._position = 0
        if self._position is not None:
            self._closed = self._position == 0
        if "device_class" in attrs:
            self._attr_device_class = attrs["device_class"]

    async def _move(self, position: int | None, closed: bool) -> None:
        if self._position is not None or position not in (None, 0, 100):
            self._position = position if position is not None else (0 if closed else 100)
        self._closed = closed if position is None else position == 0
        await self._changed()


class VCover(_Opening, CoverEntity):
    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        self._apply_opening(state, attrs, "current_position")
        default = CoverEntityFeature.OPEN | CoverEntityFeature.CLOSE | CoverEntityFeature.STOP
        if self._position is not None:
            default |= CoverEntityFeature.SET_POSITION
        self._attr_supported_features = CoverEntityFeature(_features(attrs, default))

    @property
    def current_cover_position(self) -> int | None:
        return self._position

    @property
    def is_closed(self) -> bool | None:
        return self._closed

    async def async_open_cover(self, **kwargs: Any) -> None:
        await self._move(None, False)

    async def async_close_cover(self, **kwargs: Any) -> None:
        await self._move(None, True)

    async def async_set_cover_position(self, **kwargs: Any) -> None:
        await self._move(int(kwargs["position"]), False)

    async def async_stop_cover(self, **kwargs: Any) -> None:
        await self._changed()


class VValve(_Opening, ValveEntity):
    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        self._apply_opening(state, attrs, "current_position")
        self._attr_reports_position = self._position is not None
        default = ValveEntityFeature.OPEN | ValveEntityFeature.CLOSE | ValveEntityFeature.STOP
        if self._position is not None:
            default |= ValveEntityFeature.SET_POSITION
        self._attr_supported_features = ValveEntityFeature(_features(attrs, default))

    @property
    def current_valve_position(self) -> int | None:
        return self._position

    @property
    def is_closed(self) -> bool | None:
        return self._closed

    async def async_open_valve(self) -> None:
        await self._move(None, False)

    async def async_close_valve(self) -> None:
        await self._move(None, True)

    async def async_set_valve_position(self, position: int) -> None:
        await self._move(int(position), False)

    async def async_stop_valve(self) -> None:
        await self._changed()


class VLock(VirtualEntity, LockEntity):
    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        if state is not None:
            self._attr_is_locked = {"locked": True, "unlocked": False, "open": False}.get(state)
            self._attr_is_open = state == "open"
            self._attr_is_jammed = state == "jammed"

    async def async_lock(self, **kwargs: Any) -> None:
        self._attr_is_locked, self._attr_is_open = True, False
        await self._changed()

    async def async_unlock(self, **kwargs: Any) -> None:
        self._attr_is_locked = False
        await self._changed()


# HA 2026.x renamed the climate temperatures to ``native_*`` (the old ``_attr_`` names now raise
# for core callers); the virtual thermostat writes whichever this HA reads.
_CLIMATE_NATIVE = hasattr(ClimateEntity, "native_target_temperature")


def _climate_attr(name: str) -> str:
    """``_attr_`` name of a climate temperature field (``target_temperature``, ...) in this HA."""
    return f"_attr_native_{name}" if _CLIMATE_NATIVE else f"_attr_{name}"


# Fixture attribute -> entity field. Every one is set (None when the fixture has none), so that
# HA never reads a field the entity left unset ('no attribute __attr_fan_mode').
_CLIMATE_FIELDS = {
    "temperature": _climate_attr("target_temperature"),
    "target_temp_high": _climate_attr("target_temperature_high"),
    "target_temp_low": _climate_attr("target_temperature_low"),
    "current_temperature": _climate_attr("current_temperature"),
    "current_humidity": "_attr_current_humidity",
    "target_humidity": "_attr_target_humidity",
    "fan_mode": "_attr_fan_mode",
    "fan_modes": "_attr_fan_modes",
    "preset_mode": "_attr_preset_mode",
    "preset_modes": "_attr_preset_modes",
    "swing_mode": "_attr_swing_mode",
    "swing_modes": "_attr_swing_modes",
    "hvac_action": "_attr_hvac_action",
}


class VClimate(VirtualEntity, ClimateEntity):
    _enable_turn_on_off_backwards_compatibility = False  # HA < 2025.1 asks; newer ignore it

    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        modes = attrs.get("hvac_modes") or getattr(self, "_modes", None) or ["off", "heat"]
        self._modes = list(modes)
        self._attr_hvac_modes = [HVACMode(m) for m in self._modes]
        if state is not None and state in self._modes:
            self._attr_hvac_mode = HVACMode(state)
        elif state is not None or getattr(self, "_attr_hvac_mode", None) is None:
            self._attr_hvac_mode = self._attr_hvac_modes[-1]
        unit = attrs.get("temperature_unit") or attrs.get("unit_of_measurement")
        setattr(
            self,
            _climate_attr("temperature_unit"),
            UnitOfTemperature.FAHRENHEIT if unit == "°F" else UnitOfTemperature.CELSIUS,
        )
        first = not getattr(self, "_fields_set", False)
        for key, attr in _CLIMATE_FIELDS.items():
            if key in attrs:
                value = attrs[key]
                setattr(self, attr, list(value) if isinstance(value, tuple) else value)
            elif first:
                setattr(self, attr, None)
        self._fields_set = True
        feature = ClimateEntityFeature
        default = feature.TARGET_TEMPERATURE
        if len(self._modes) > 1 and "off" in self._modes:
            default |= feature.TURN_OFF | feature.TURN_ON
        for keys, bit in (
            (("fan_modes",), feature.FAN_MODE),
            (("preset_modes",), feature.PRESET_MODE),
            (("swing_modes",), feature.SWING_MODE),
            (("target_temp_high", "target_temp_low"), feature.TARGET_TEMPERATURE_RANGE),
            (("target_humidity",), feature.TARGET_HUMIDITY),
        ):
            if any(attrs.get(k) is not None for k in keys):
                default |= bit
        self._attr_supported_features = ClimateEntityFeature(_features(attrs, default))
        # A virtual thermostat takes any sensible number unless the fixture gives its range
        # (HA's default 7-35 °C would refuse fixtures written in °F).
        self._attr_min_temp = attrs.get("min_temp", getattr(self, "_attr_min_temp", None) or 0)
        self._attr_max_temp = attrs.get("max_temp", getattr(self, "_attr_max_temp", None) or 100)
        target = _CLIMATE_FIELDS["temperature"]
        if getattr(self, target, None) is None and not (
            self._attr_supported_features & feature.TARGET_TEMPERATURE_RANGE
        ):
            setattr(self, target, 20.0)

    async def async_set_temperature(self, **kwargs: Any) -> None:
        for key in ("temperature", "target_temp_high", "target_temp_low"):
            if key in kwargs:
                setattr(self, _CLIMATE_FIELDS[key], kwargs[key])
        if (mode := kwargs.get("hvac_mode")) is not None:
            self._attr_hvac_mode = HVACMode(mode)
        await self._changed()

    async def async_set_humidity(self, humidity: int) -> None:
        self._attr_target_humidity = humidity
        await self._changed()

    async def async_set_swing_mode(self, swing_mode: str) -> None:
        self._attr_swing_mode = swing_mode
        await self._changed()

    async def async_set_hvac_mode(self, hvac_mode: HVACMode) -> None:
        self._attr_hvac_mode = HVACMode(hvac_mode)
        await self._changed()

    async def async_turn_on(self) -> None:
        on = next((m for m in self._attr_hvac_modes if m != HVACMode.OFF), HVACMode.HEAT)
        await self.async_set_hvac_mode(on)

    async def async_turn_off(self) -> None:
        await self.async_set_hvac_mode(HVACMode.OFF)

    async def async_set_fan_mode(self, fan_mode: str) -> None:
        self._attr_fan_mode = fan_mode
        await self._changed()

    async def async_set_preset_mode(self, preset_mode: str) -> None:
        self._attr_preset_mode = preset_mode
        await self._changed()


MEDIA_DEFAULT = (
    MediaPlayerEntityFeature.PAUSE | MediaPlayerEntityFeature.PLAY | MediaPlayerEntityFeature.STOP
    | MediaPlayerEntityFeature.VOLUME_SET | MediaPlayerEntityFeature.VOLUME_STEP
    | MediaPlayerEntityFeature.VOLUME_MUTE | MediaPlayerEntityFeature.NEXT_TRACK
    | MediaPlayerEntityFeature.PREVIOUS_TRACK | MediaPlayerEntityFeature.TURN_ON
    | MediaPlayerEntityFeature.TURN_OFF
)  # fmt: skip


class VMediaPlayer(VirtualEntity, MediaPlayerEntity):
    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        self._attr_supported_features = MediaPlayerEntityFeature(_features(attrs, MEDIA_DEFAULT))
        if state is not None:
            try:
                self._attr_state = MediaPlayerState(state)
            except ValueError:
                self._attr_state = None
        for key in ("volume_level", "is_volume_muted", "media_title", "media_artist", "source"):
            if key in attrs:
                setattr(self, f"_attr_{key}", attrs[key])
        if "media_track" in attrs:
            self._attr_media_track = attrs["media_track"]
        if "device_class" in attrs:
            self._attr_device_class = attrs["device_class"]

    async def _set(self, state: MediaPlayerState | None = None, **attrs: Any) -> None:
        if state is not None:
            self._attr_state = state
        for key, value in attrs.items():
            setattr(self, f"_attr_{key}", value)
        await self._changed()

    async def async_media_play(self) -> None:
        await self._set(MediaPlayerState.PLAYING)

    async def async_media_pause(self) -> None:
        await self._set(MediaPlayerState.PAUSED)

    async def async_media_stop(self) -> None:
        await self._set(MediaPlayerState.IDLE)

    async def async_media_next_track(self) -> None:
        await self._set(media_track=(self._attr_media_track or 0) + 1)

    async def async_media_previous_track(self) -> None:
        await self._set(media_track=max((self._attr_media_track or 1) - 1, 0))

    async def async_set_volume_level(self, volume: float) -> None:
        await self._set(volume_level=round(float(volume), 3))

    async def async_mute_volume(self, mute: bool) -> None:
        await self._set(is_volume_muted=mute)

    async def async_turn_on(self) -> None:
        await self._set(MediaPlayerState.ON)

    async def async_turn_off(self) -> None:
        await self._set(MediaPlayerState.OFF)


class VVacuum(VirtualEntity, StateVacuumEntity):
    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        default = (
            VacuumEntityFeature.START | VacuumEntityFeature.PAUSE | VacuumEntityFeature.STOP
            | VacuumEntityFeature.RETURN_HOME | VacuumEntityFeature.STATE
        )  # fmt: skip
        speeds = attrs.get("fan_speed_list", getattr(self, "_attr_fan_speed_list", None))
        if speeds:
            default |= VacuumEntityFeature.FAN_SPEED
        self._attr_fan_speed_list = list(speeds or [])
        self._attr_fan_speed = attrs.get("fan_speed", getattr(self, "_attr_fan_speed", None))
        # HA 2026.x dropped the vacuum's own battery (a sensor entity reports it now)
        if (battery := getattr(VacuumEntityFeature, "BATTERY", None)) is not None:
            if attrs.get("battery_level") is not None:
                default |= battery
            self._attr_battery_level = attrs.get(
                "battery_level", getattr(self, "_attr_battery_level", None)
            )
        self._attr_supported_features = VacuumEntityFeature(_features(attrs, default))
        if state is not None:
            try:
                self._attr_activity = VacuumActivity(state)
            except ValueError:
                self._attr_activity = None
        elif not hasattr(self, "_attr_activity"):
            self._attr_activity = None

    async def async_set_fan_speed(self, fan_speed: str, **kwargs: Any) -> None:
        self._attr_fan_speed = fan_speed
        await self._changed()

    async def async_locate(self, **kwargs: Any) -> None:
        await self._changed()

    async def async_clean_spot(self, **kwargs: Any) -> None:
        await self._to(VacuumActivity.CLEANING)

    async def _to(self, activity: VacuumActivity) -> None:
        self._attr_activity = activity
        await self._changed()

    async def async_start(self) -> None:
        await self._to(VacuumActivity.CLEANING)

    async def async_pause(self) -> None:
        await self._to(VacuumActivity.PAUSED)

    async def async_stop(self, **kwargs: Any) -> None:
        await self._to(VacuumActivity.IDLE)

    async def async_return_to_base(self, **kwargs: Any) -> None:
        await self._to(VacuumActivity.RETURNING)


class VTodo(VirtualEntity, TodoListEntity):
    """A to-do list; its state (as in HA) is the number of open items. Fixture attribute
    ``items``: summaries (open) or ``{summary, status}`` objects."""

    _attr_supported_features = (
        TodoFeature.CREATE_TODO_ITEM | TodoFeature.UPDATE_TODO_ITEM | TodoFeature.DELETE_TODO_ITEM
    )

    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        items = []
        for n, raw in enumerate(attrs.get("items") or []):
            summary = raw if isinstance(raw, str) else str(raw.get("summary", ""))
            status = "needs_action" if isinstance(raw, str) else raw.get("status", "needs_action")
            items.append(TodoItem(summary=summary, uid=f"item{n}", status=TodoItemStatus(status)))
        if "items" in attrs or not hasattr(self, "_attr_todo_items"):
            self._attr_todo_items = items
            self._next_uid = len(items)

    async def async_create_todo_item(self, item: TodoItem) -> None:
        self._next_uid += 1
        item.uid = f"item{self._next_uid}"
        item.status = item.status or TodoItemStatus.NEEDS_ACTION
        self._attr_todo_items = [*(self._attr_todo_items or []), item]
        await self._changed()

    async def async_update_todo_item(self, item: TodoItem) -> None:
        self._attr_todo_items = [
            item if old.uid == item.uid else old for old in self._attr_todo_items or []
        ]
        await self._changed()

    async def async_delete_todo_items(self, uids: list[str]) -> None:
        self._attr_todo_items = [i for i in self._attr_todo_items or [] if i.uid not in uids]
        await self._changed()


class VScene(VirtualEntity, Scene):
    def apply(self, state: str | None, attrs: dict[str, Any]) -> None:
        """A scene's state is the time it was last activated (HA keeps it)."""

    async def async_activate(self, **kwargs: Any) -> None:
        """Nothing to change: the scene's new state is HA's record of the activation."""


ENTITY_CLASSES: dict[str, type[VirtualEntity]] = {
    "light": VLight,
    "switch": VSwitch,
    "fan": VFan,
    "cover": VCover,
    "valve": VValve,
    "lock": VLock,
    "climate": VClimate,
    "media_player": VMediaPlayer,
    "vacuum": VVacuum,
    "todo": VTodo,
    "scene": VScene,
}


@dataclass
class VirtualHome:
    """A home built in a running hass: entity objects, and a reset to the fixture's states."""

    hass: HomeAssistant
    home: Home  # entity ids as Home Assistant accepts them (see ha_entity_id)
    entities: dict[str, VirtualEntity] = field(default_factory=dict)
    fixture_ids: dict[str, str] = field(default_factory=dict)  # HA entity id -> fixture's
    area_ids: dict[str, str] = field(default_factory=dict)  # fixture area id -> HA area id
    floor_ids: dict[str, str] = field(default_factory=dict)

    async def async_reset(self, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        """Put every entity back to its fixture state, then apply ``overrides`` (a case's
        ``setup``: entity id -> ``state`` and/or ``attributes``)."""
        overrides = overrides or {}
        for spec in self.home.entities:
            extra = overrides.get(self.fixture_ids.get(spec.entity_id, spec.entity_id)) or {}
            state = str(extra["state"]) if extra.get("state") is not None else spec.state
            attrs = {**spec.attributes, **(extra.get("attributes") or {})}
            entity = self.entities.get(spec.entity_id)
            if entity is None:
                _set_plain_state(self.hass, spec, state, attrs)
            else:
                entity.apply(state, attrs)
                if spec.domain == "todo":  # a fresh list each turn, as the fixture says
                    entity.apply(state, {"items": attrs.get("items") or []})
                if spec.domain == "scene":
                    entity._last_activated = None
                entity.async_write_ha_state()
        await self.hass.async_block_till_done()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """entity id -> {"state", "attributes"} for every fixture entity (friendly name aside)."""
        out = {}
        for spec in self.home.entities:
            st = self.hass.states.get(spec.entity_id)
            if st is None:
                continue
            attrs = {k: _plain(v) for k, v in st.attributes.items() if k != ATTR_FRIENDLY_NAME}
            fixture_id = self.fixture_ids.get(spec.entity_id, spec.entity_id)
            out[fixture_id] = {"state": st.state, "attributes": attrs}
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, Enum):  # StrEnum states and modes print as their plain values
        return value.value
    return value


@callback
def _set_plain_state(hass: HomeAssistant, spec: EntitySpec, state: str, attrs: dict) -> None:
    hass.states.async_set(spec.entity_id, state, {ATTR_FRIENDLY_NAME: spec.name, **attrs})


def _register_plain_services(hass: HomeAssistant, home: Home) -> None:
    """turn_on/turn_off/toggle for input booleans, and running a script (its state stays
    ``off``, as a finished script's does), where the real integrations are not loaded."""

    async def switch(call: ServiceCall) -> None:
        for entity_id in call.data.get("entity_id") or []:
            st = hass.states.get(entity_id)
            if st is None:
                continue
            new = {"turn_on": "on", "turn_off": "off"}.get(
                call.service, "off" if st.state == "on" else "on"
            )
            hass.states.async_set(entity_id, new, st.attributes)

    async def run_script(call: ServiceCall) -> None:
        for entity_id in call.data.get("entity_id") or []:
            st = hass.states.get(entity_id)
            if st is not None:
                last = {**st.attributes, "last_triggered": "now"}
                hass.states.async_set(entity_id, "off", last)

    import voluptuous as vol
    from homeassistant.helpers import config_validation as cv

    schema = vol.Schema({vol.Optional("entity_id"): cv.entity_ids}, extra=vol.ALLOW_EXTRA)
    domains = {e.domain for e in home.entities}
    if "input_boolean" in domains and not hass.services.has_service("input_boolean", "turn_on"):
        for service in ("turn_on", "turn_off", "toggle"):
            hass.services.async_register("input_boolean", service, switch, schema)
    if "script" in domains and not hass.services.has_service("script", "turn_on"):
        for service in ("turn_on", "toggle"):
            hass.services.async_register("script", service, run_script, schema)
        hass.services.async_register("script", "turn_off", switch, schema)


async def async_build_home(hass: HomeAssistant, home: Home) -> VirtualHome:
    """Create floors, areas, entities and their exposure in ``hass`` (which must be running and
    have the ``homeassistant`` integration set up)."""
    fixture_ids = {}
    specs = []
    for spec in home.entities:
        ha_id = ha_entity_id(spec.entity_id)
        if ha_id != spec.entity_id:
            _LOGGER.warning("%s is not a valid entity id; created as %s", spec.entity_id, ha_id)
            fixture_ids[ha_id] = spec.entity_id
            spec = replace(spec, entity_id=ha_id)
        specs.append(spec)
    home = replace(home, entities=tuple(specs))
    vhome = VirtualHome(hass, home, fixture_ids=fixture_ids)
    floors, areas, registry = fr.async_get(hass), ar.async_get(hass), er.async_get(hass)
    for floor in home.floors:
        existing = floors.async_get_floor_by_name(floor.name)
        vhome.floor_ids[floor.id] = (existing or floors.async_create(floor.name)).floor_id
    for area in home.areas:
        floor_id = vhome.floor_ids.get(area.floor) if area.floor else None
        existing = areas.async_get_area_by_name(area.name)
        if existing is None:
            existing = areas.async_create(area.name, floor_id=floor_id, aliases=set(area.aliases))
        vhome.area_ids[area.id] = existing.id

    by_domain: dict[str, list[VirtualEntity]] = {}
    for spec in home.entities:
        cls = ENTITY_CLASSES.get(spec.domain)
        if cls is not None:
            entity = cls(spec)
            vhome.entities[spec.entity_id] = entity
            by_domain.setdefault(spec.domain, []).append(entity)
    # Every domain's integration is set up (its intents, services and state translations, which
    # HA's answers use), except those whose integrations own their entities' configuration.
    for domain in sorted({e.domain for e in home.entities} - set(OWN_CONFIG) | {"intent"}):
        if not await async_setup_component(hass, domain, {}):
            raise RuntimeError(f"Home Assistant could not set up {domain}")
    for domain, entities in by_domain.items():
        await _component(hass, domain).async_add_entities(entities)

    for spec in home.entities:
        if spec.domain in STATE_ONLY:
            object_id = spec.entity_id.split(".", 1)[1]
            entry = registry.async_get_or_create(
                spec.domain, PLATFORM, spec.entity_id, suggested_object_id=object_id,
                original_name=spec.name,
                # HA words a state by the registry's device class ("open", "wet", "low")
                original_device_class=spec.attributes.get("device_class"),
                unit_of_measurement=spec.attributes.get("unit_of_measurement"),
            )  # fmt: skip
            if entry.entity_id != spec.entity_id:
                registry.async_update_entity(entry.entity_id, new_entity_id=spec.entity_id)
            _set_plain_state(hass, spec, spec.state, spec.attributes)
    _register_plain_services(hass, home)
    await hass.async_block_till_done()

    for spec in home.entities:
        registry.async_update_entity(
            spec.entity_id,
            area_id=vhome.area_ids.get(spec.area) if spec.area else None,
            aliases=registry_aliases(spec.aliases),
        )
        async_expose_entity(hass, "conversation", spec.entity_id, spec.exposed)
    await hass.async_block_till_done()
    return vhome


def ha_entity_id(fixture_id: str) -> str:
    """A fixture's entity id as HA accepts it (``sensor.price_per_kW`` -> ``sensor.price_per_kw``)."""
    if valid_entity_id(fixture_id):
        return fixture_id
    domain, _, object_id = fixture_id.partition(".")
    return f"{domain}.{slugify(object_id)}"


def _component(hass: HomeAssistant, domain: str) -> EntityComponent:
    """The domain's EntityComponent (HA keeps them by domain once the integration is set up)."""
    from homeassistant.helpers.entity_component import DATA_INSTANCES

    components: dict[str, EntityComponent] = hass.data[DATA_INSTANCES]
    if domain not in components:
        raise RuntimeError(f"{domain} has no entity component in this Home Assistant")
    return components[domain]


def entity_ids(entities: Iterable[VirtualEntity]) -> list[str]:
    return [e.entity_id for e in entities]
