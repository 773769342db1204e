"""The state a question asks about, in the device's own terms.

"Is the cellar flood sensor wet?" asks HA whether a moisture sensor is ``on``; "have we left the
back door open" whether a lock is ``unlocked``; "is Sam in?" whether a person is ``home``. The
model often gets the device right and the state wrong or missing, and then HA reads the state
out ("Kitchen leak sensor is off") or answers the opposite of what was asked ("No, on" for "did
somebody leave the string lights on", where the model wrote ``off``). The sentence says the state
in plain words, and those words are HA's own: the English state names of each domain and binary
sensor device class (``homeassistant/components/binary_sensor/strings.json``: moisture
Dry/Wet, heat Normal/Hot, presence Away/Home, update Up-to-date/Update available, ...), with
the everyday words people use for them (shut, ajar, vacuuming, gone, online).

``asked_states`` reads them from the sentence, leaving out the words of the device's own name
("Open Plan Light" says no state), and turns them round where the sentence does ("is the door
not locked", "did I forget to turn off the printer": is it still on?). "Gone off" is an alarm
going off, not a device turned off. Plain Python, no Home Assistant import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

# The opposite of each state of a two-state device ("not locked" is unlocked).
OPPOSITE: Mapping[str, str] = {
    "on": "off", "off": "on", "open": "closed", "closed": "open", "locked": "unlocked",
    "unlocked": "locked", "home": "not_home", "not_home": "home",
}  # fmt: skip

_ON_OFF = {"on": "on", "off": "off"}
_DETECTED = {"detected": "on", "triggered": "on", "tripped": "on", "clear": "off"}
_OPENING = {"open": "on", "opened": "on", "ajar": "on", "closed": "off", "shut": "off",
            "close": "off"}  # fmt: skip
_AT_HOME = {"home": "home", "back": "home", "here": "home", "present": "home", "in$": "home",
            "away": "not_home", "gone": "not_home", "out$": "not_home", "not home": "not_home",
            "left": "not_home"}  # fmt: skip

# Binary sensors by device class: HA's state names (on, off) and their everyday words; every
# class also answers to "on" and "off" themselves.
_BINARY_SENSOR: Mapping[str | None, Mapping[str, str]] = {
    "battery": {"low": "on", "normal": "off"},
    "battery_charging": {"charging": "on", "not charging": "off"},
    "carbon_monoxide": _DETECTED,
    "cold": {"cold": "on", "freezing": "on", "normal": "off"},
    "connectivity": {"connected": "on", "online": "on", "disconnected": "off", "offline": "off"},
    "door": _OPENING,
    "garage_door": _OPENING,
    "gas": _DETECTED,
    "heat": {"hot": "on", "overheating": "on", "overheated": "on", "normal": "off"},
    "light": {"detected": "on", "bright": "on", "dark": "off", "no light": "off"},
    "lock": {"unlocked": "on", "unlock": "on", "locked": "off", "lock": "off"},
    "moisture": {"wet": "on", "leaking": "on", "leak": "on", "flooded": "on", "flooding": "on",
                 "dry": "off"},
    "motion": {**_DETECTED, "moving": "on"},
    "moving": {"moving": "on", "stationary": "off"},  # not "still": "is it still moving"
    "occupancy": {**_DETECTED, "occupied": "on", "vacant": "off", "unoccupied": "off",
                  "empty": "off"},
    "opening": _OPENING,
    "plug": {"plugged in": "on", "plugged": "on", "unplugged": "off"},
    "presence": {k: {"home": "on", "not_home": "off"}[v] for k, v in _AT_HOME.items()},
    "problem": {"problem": "on", "problems": "on", "issue": "on", "issues": "on",
                "faulty": "on", "broken": "on", "ok": "off", "fine": "off"},
    "running": {"running": "on", "stopped": "off", "not running": "off"},
    "safety": {"unsafe": "on", "dangerous": "on", "safe": "off"},
    "smoke": _DETECTED,
    "sound": {**_DETECTED, "noise": "on", "noisy": "on", "quiet": "off", "silent": "off"},
    "tamper": {**_DETECTED, "tampered": "on", "tampering": "on"},
    "update": {"update available": "on", "updates available": "on", "update": "on",
               "updates": "on", "outdated": "on", "up to date": "off"},
    "vibration": {**_DETECTED, "vibrating": "on", "shaking": "on"},
    "window": _OPENING,
}  # fmt: skip

# Classes whose "on" is an alarm: "has the smoke alarm gone off" asks whether it went off.
_ALARMS = frozenset({"carbon_monoxide", "gas", "moisture", "motion", "occupancy", "problem",
                     "safety", "smoke", "sound", "tamper", "vibration"})  # fmt: skip
_GONE_OFF = re.compile(r"\b(?:go|goes|going|gone|went)\s+off\b")

# Other domains by their HA states. Climate, media and sensors are left to the model: their
# states are modes and measurements, not words a yes/no question says.
_DOMAINS: Mapping[str, Mapping[str, str]] = {
    "light": {**_ON_OFF, "lit": "on"},
    "switch": _ON_OFF,
    "fan": {**_ON_OFF, "running": "on", "spinning": "on"},
    "input_boolean": _ON_OFF,
    "humidifier": _ON_OFF,
    "siren": _ON_OFF,
    "cover": {"open": "open", "opened": "open", "up": "open", "raised": "open",
              "closed": "closed", "close": "closed", "shut": "closed", "down": "closed",
              "lowered": "closed", "opening": "opening", "closing": "closing"},
    "valve": {"open": "open", "opened": "open", "closed": "closed", "close": "closed",
              "shut": "closed"},
    "lock": {"locked": "locked", "lock": "locked", "unlocked": "unlocked", "unlock": "unlocked",
             "open": "unlocked", "closed": "locked", "shut": "locked", "jammed": "jammed"},
    "person": _AT_HOME,
    "device_tracker": _AT_HOME,
    "vacuum": {"cleaning": "cleaning", "vacuuming": "cleaning",
               "running": "cleaning", "docked": "docked", "charging": "docked",
               "returning": "returning", "paused": "paused", "idle": "idle"},
    "media_player": {"playing": "playing", "paused": "paused", "idle": "idle", "off": "off"},
}  # fmt: skip

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NOT = frozenset({"not", "never", "no"})
_PLAIN = frozenset({("on",), ("off",)})
_FORGOT = re.compile(r"\bforg[eo]t(?:ten)?\s+to\b")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.casefold().replace("’", "'").replace("-", " "))


@lru_cache(maxsize=256)
def vocabulary(domain: str, device_class: str | None) -> tuple[tuple[tuple[str, ...], str], ...]:
    """The words for each state of a kind of device, longest first (so "not home" is read
    before "home"); a trailing ``$`` marks a word that only counts at the end ("is Sam in")."""
    if domain == "binary_sensor":
        words: Mapping[str, str] = {**_ON_OFF, **_BINARY_SENSOR.get(device_class, {})}
    else:
        words = _DOMAINS.get(domain, {})
    return tuple(
        sorted(((tuple(w.split()), s) for w, s in words.items()), key=lambda p: -len(p[0]))
    )


def asked_states(
    text: str,
    domain: str,
    device_class: str | None = None,
    skip: Iterable[str] = (),
    *,
    plain: bool = True,
) -> set[str]:
    """The states of a ``domain``/``device_class`` device the sentence asks about.

    ``skip``: words that name the device or place ("is the Open Plan Light on": "open" is part
    of the name). Empty when the sentence says none of them; two or more when it asks which
    ("bedroom curtains, open or closed?"). A state the sentence negates ("is the door not
    locked") or says was forgotten ("did I forget to switch off the printer") is turned round
    where the device has two states, and dropped where it has more. ``plain=False`` leaves out
    "on" and "off", which every binary sensor answers to: what is left says its class.
    """
    folded = " ".join(_tokens(text))
    alarm = domain == "binary_sensor" and device_class in _ALARMS
    if alarm:
        folded = _GONE_OFF.sub(" triggered ", folded)
    toks = folded.split()
    skipped = {w for s in skip for w in _tokens(s)}
    free = [t not in skipped for t in toks]
    flip_all = bool(_FORGOT.search(folded))
    found: set[str] = set()
    for phrase, state in vocabulary(domain, device_class):
        if not plain and phrase in _PLAIN:
            continue
        words, at_end = list(phrase), phrase[-1].endswith("$")
        if at_end:
            words[-1] = words[-1][:-1]
        n = len(words)
        for i in range(len(toks) - n + 1):
            if toks[i : i + n] != words or not all(free[i : i + n]):
                continue
            if at_end and i + n != len(toks):
                continue
            for j in range(i, i + n):
                free[j] = False  # a word says one state ("not home" is not also "home")
            if flip_all != (i > 0 and toks[i - 1] in _NOT):
                if state in OPPOSITE:
                    found.add(OPPOSITE[state])
            else:
                found.add(state)
    return found


def class_said(text: str, device_class: str, skip: Iterable[str] = ()) -> bool:
    """Whether the sentence says a binary sensor's class: a word of HA's class id ("garage
    door", "smoke", "battery"), or a state word only that class has ("wet", "home", "running";
    "on" and "off" say no class). "How are things looking outdoors" says none: a read of the
    running sensors is a guess."""
    toks = set(_tokens(text)) - {w for s in skip for w in _tokens(s)}
    singular = {t[:-1] for t in toks if t.endswith("s")}
    if set(device_class.split("_")) & (toks | singular):
        return True
    return bool(asked_states(text, "binary_sensor", device_class, skip, plain=False))


BINARY_SENSOR_CLASSES = frozenset(c for c in _BINARY_SENSOR if c)
