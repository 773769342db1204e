"""Between decoding and execution, the one place that decides: act, ask back, or refuse.

A valid call is not a right call. The decoder guarantees that a call names an exposed entity and
fits the tool's schema; this module decides whether the call follows from what the user said:

- a negated request ("don't turn on the lights", "do not ...", "never ...") acts on nothing;
- a call the model was not sure of (``Generation.confidence`` below ``MIN_CALL_CONFIDENCE``) is
  not run; when it is the only call and not hopeless, the user is asked to confirm it;
- every number must have been said (digits, number words, "half", "max", ...): a value the
  model made up is not run, and a said value outside the parameter's range is refused as such,
  never clamped;
- a device of another kind than the sentence names ("turn on the kitchen fan" -> a light) is not
  run; when the home has no device of that kind at all, the reply says so;
- a question ("is the back door locked?", "did I leave the lamp on") never changes anything:
  only the tools that read may answer it; and a device's state is read out only when asked
  ("order a pizza" answered with the state of a lamp is a model that did not understand);
- a call on a whole area or kind of device is not run when the sentence leaves one out ("but
  leave the lamp on", "except the fan"): HA's intents cannot do that;
- a target the sentence leaves open (several candidates, no area from the sentence, the
  satellite or the previous turn) is asked back: one short question naming at most three
  candidates; the answer ("the kitchen one", "both", "yes") completes the stored request;
- a command on another device than the one every word of the sentence describes is not run.

The same rules, where they can be said as a grammar, go before decoding too
(``decoder_tools``): the decoder is offered only calls the rules would let run, so the model's
next choice comes out where a refusal did (a question gets the reading tools, a read the names
it points at, a command the one device it describes). After decoding, ``fit_call`` fits a valid
call to what the sentence says before the decision: a read to its device and the state said
(``states.py``), a name several rooms share to the room meant, a room-wide call to the room and
the kind said, a list item to all its words; what the sentence decided no longer counts against
the model's confidence (``fitted_confidence``).

Plain Python, no Home Assistant import (like ``prompt.py``): the conversation entity calls
``decoder_tools``, ``fit_call``, ``decide`` and ``resolve``; tools/calibrate.py and tests call
them directly.
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from .const import (
    MIN_ASK_CONFIDENCE,
    MIN_CALL_CONFIDENCE,
    MIN_DIRECTION_PROBABILITY,
    STEP_TOOL,
    TURN_MEMORY_MAX_CONVERSATIONS,
    TURN_MEMORY_TTL_S,
)
from .engine.schema import ToolCall, ToolSchema
from .prompt import (
    FREE_NAME_TOOLS,
    STOP_WORDS,
    TOOL_DOMAINS,
    EntityInfo,
    HomeContext,
    Turn,
    default_retriever,
    words,
)
from .states import BINARY_SENSOR_CLASSES, class_said

MAX_NAMED_CANDIDATES = 3  # a question a listener can hold in mind
# Tools that only read: HA answers them with the states that matched, so the worst a wrong one
# does is a wrong answer. The kind-of-device and open-target checks (made to stop wrong
# actions) would only refuse questions such as "which lights are on?" or "is the shed door
# open?" (a binary sensor, not a cover); negation and confidence still apply.
READ_ONLY_TOOLS = frozenset(
    {
        "HassGetState", "HassClimateGetTemperature", "HassGetWeather", "HassGetCurrentTime",
        "HassGetCurrentDate", "HassTimerStatus",
    }
)  # fmt: skip

NEGATED = "OK, I did nothing."
NOT_SURE = "Sorry, I am not sure what you want me to do."
CANCELLED = "OK, never mind."

# Kinds of decision / hold, as counted in diagnostics and written to the debug log.
ACT, NEGATED_KIND, NO_DEVICE, ASK, CONFIRM, UNSURE, NOTHING = (
    "act", "negated", "no_device", "ask", "confirm", "unsure", "nothing",
)  # fmt: skip
LOW_CONFIDENCE, UNGROUNDED, OUT_OF_RANGE, WRONG_DEVICE, AMBIGUOUS, NO_MATCH, ASKED, NOT_ASKED = (
    "low_confidence", "ungrounded", "out_of_range", "wrong_device", "ambiguous", "no_match",
    "asked", "not_asked",
)  # fmt: skip
EXCEPTION = "exception"
# "... but leave the lamp on", "everything except the fan": HA's intents cannot leave a device
# out of an area or a kind, so a call on the whole group would do what was asked not to.
_EXCEPT = re.compile(
    r"\b(?:except|excluding|apart\s+from|other\s+than|but\s+(?:not|leave|keep|don'?t|do\s+not))\b",
    re.IGNORECASE,
)
NOTHING_MATCHES = "Sorry, none of the devices I can control matches that."
_NO_MATCH_REASON = "none of the devices I can control matches what you said"  # within a reply

# A negation that governs a command: "don't turn ...", "do not open ...", "never unlock ...".
# "I don't need the lamp anymore, turn it off" and "don't forget to ..." are not negated
# commands: the word after the negation is not a command verb.
_COMMAND_VERBS = (
    "turn", "switch", "put", "set", "open", "close", "shut", "lock", "unlock", "start", "stop",
    "pause", "play", "resume", "dim", "brighten", "raise", "lower", "change", "make", "add",
    "activate", "deactivate", "run", "power", "kill", "cancel", "increase", "decrease", "move",
    "enable", "disable", "toggle", "press", "arm", "disarm", "skip", "mute", "heat", "cool",
)  # fmt: skip
_NEGATION = re.compile(
    r"\b(?:do\s*n[o']?t|dont|do\s+not|never|please\s+don'?t)\s+(?:ever\s+|you\s+)?(?:"
    + "|".join(_COMMAND_VERBS)
    + r")\b",
    re.IGNORECASE,
)

# Words that name a kind of device (singular; ``prompt.words`` drops the plural "s"). Only
# words that point at one kind: "door" (lock or cover?) and "pause" (media or timer?) are not here.
DEVICE_WORDS: dict[str, frozenset[str]] = {
    "light": frozenset(
        {"light", "lamp", "lighting", "bulb", "chandelier", "brightness", "dim", "illuminate"}
    ),
    "cover": frozenset(
        {"blind", "shade", "curtain", "shutter", "awning", "garage", "drape", "window", "gate",
         "door"}
    ),
    "climate": frozenset(
        {"thermostat", "heating", "heat", "ac", "hvac", "temperature", "temp", "degree", "warmer"}
    ),
    "lock": frozenset({"lock", "unlock", "deadbolt", "door"}),
    "media_player": frozenset(
        {"tv", "television", "speaker", "music", "song", "track", "volume", "media", "player",
         "play", "skip", "show", "episode", "movie", "pause", "resume", "unpause", "next",
         "previous"}
    ),
    "fan": frozenset({"fan"}),
    "switch": frozenset({"plug", "socket", "outlet"}),  # not "switch": it is a verb too
    "vacuum": frozenset({"vacuum", "robot", "hoover", "clean", "mop"}),
    "valve": frozenset({"valve"}),
    "humidifier": frozenset({"humidifier", "dehumidifier"}),
    "todo": frozenset({"list", "todo"}),
    # not a domain: what the timer tools act on ("pause" may be either)
    "timer": frozenset({"timer", "pause", "resume", "unpause"}),
}  # fmt: skip
# HA's cover device classes: a sentence that names one must get a call of that class.
COVER_CLASSES = frozenset(
    {"awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade", "shutter", "window"}
)
# Classes of the devices that open and close (covers, and the binary sensors on them): a call of
# one of these must be of the class said. A motion or lock sensor is not held to "door".
_OPENING_CLASSES = COVER_CLASSES | {"garage_door", "opening"}
# What a timer tool needs to hear: the word "timer", or (to start one / ask about one) a
# duration or "time".
_TIMER_WORDS = frozenset({"timer"})
_TIMER_EXTRA = {
    "HassStartTimer": frozenset({"hour", "minute", "min", "second", "sec"}),
    "HassTimerStatus": frozenset({"time", "left"}),
}
_SAID_ON = re.compile(r"\b(?:turn|switch|power|flip|put)\s+on\b|\bon\s*[.!?]?\s*$", re.IGNORECASE)
_NEGATIVE_SIGN = re.compile(r"(?<![\w.])[-\u2212](?=\d)")  # "-5", "−5": not "2-5", "x-5"
_UNIT_NUMBER = re.compile(
    r"\d+(?:[.,]\d+)?\s*(?:%|percent|degrees?|°)|\bto\s+\d+(?:[.,]\d+)?\b"
    # "half(way)", not as a duration ("half an hour") nor in a number ("two and a half")
    r"|(?<!and\sa\s)\bhalf(?:[\s-]?way)?\b(?!\s+(?:an?\s+)?(?:hour|minute|second)s?\b)",
    re.IGNORECASE,
)

_YES = frozenset({"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "correct", "right", "do"})
_NO = frozenset(
    {"no", "nope", "cancel", "never", "nevermind", "nothing", "neither", "none", "forget", "stop"}
)
_ALL = frozenset({"all", "both", "ones", "them", "every", "everything", "each"})
_EVERYWHERE = frozenset(
    {"all", "every", "each", "everything", "everywhere", "whole", "entire", "house", "home",
     "apartment", "flat"}
)  # fmt: skip
_ROOMS = re.compile(r"\brooms\b", re.IGNORECASE)  # "in all rooms", "each of the rooms"

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_DURATION_UNITS = frozenset({"hour", "hours", "minute", "minutes", "min", "mins", "second",
                             "seconds", "sec", "secs"})  # fmt: skip
_TIMER_KEYS = frozenset({"hours", "minutes", "seconds", "start_hours", "start_minutes",
                         "start_seconds"})  # fmt: skip
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|%|°|[a-z]+(?:'[a-z]+)?")


def tokens(text: str) -> list[str]:
    """Lower-case words, numbers, "%" and "°": how the policy and the relative-request grammar
    (relative.py) read a sentence. clauses.py keeps its own, which also keeps punctuation and
    where each word stands, to cut the sentence."""
    text = text.lower().replace("’", "'").replace("-", " ").replace("per cent", "percent")
    return _TOKEN.findall(text)


# --- what the sentence says ------------------------------------------------------------------


def negated(text: str) -> bool:
    """Whether the sentence tells Needle *not* to do something (then nothing is done)."""
    return bool(_NEGATION.search(text.replace("’", "'")))


# How an English question starts: an interrogative word or an inverted auxiliary ("is the door
# locked", "did I leave ...", "have we ..."), or "any" as spoken questions drop the auxiliary
# ("any lights on upstairs?"), or a request to look something up ("can you check
# if ...", "tell me whether ...", or a reporting verb: "count the fans that are running",
# "list the open windows"). Not "when" ("when it gets dark, switch on ..." is a command)
# nor the suggestions "what about the kitchen" / "how about" / "why don't you", which ask for
# an action.
_QUESTION_WORDS = frozenset(
    {"is", "are", "was", "were", "am", "isn't", "aren't", "wasn't", "weren't", "does", "did",
     "do", "doesn't", "didn't", "has", "have", "had", "hasn't", "haven't", "what", "what's",
     "whats", "which", "who", "who's", "whose", "why", "where", "where's", "how", "how's",
     "any", "anything", "anyone", "anybody"}
)  # fmt: skip
_NOT_ASKING = re.compile(
    r"^(?:what|how)\s+about\b|^why\s+(?:don'?t|not|do\s*n'?t)\b|^do\s+not\b|^does\s+not\b",
    re.IGNORECASE,
)
_LOOK_UP = re.compile(
    r"^(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+)?"
    r"(?:(?:check|see|find\s+out|let\s+me\s+know|look)\s+(?:if|whether|what|which|how|who|where"
    r"|is|are)|(?:tell|show|give)\s+me|count|list|enumerate)\b",
    re.IGNORECASE,
)
_POLITE_REQUEST = re.compile(r"^(?:can|could|would|will)\s+(?:you|we|i)\b", re.IGNORECASE)
# A statement turned into a question by its tag: "the porch light's on, isn't it", "the
# blinds are down, aren't they?", "the oven is off, right?"
_TAG_QUESTION = re.compile(
    r",\s*(?:(?:is|are|was|were|does|do|did|has|have)(?:n't|\s+not)?\s+(?:it|they|there|he|she)"
    r"|right|correct)\s*\??\s*$",
    re.IGNORECASE,
)


def asks(text: str) -> bool:
    """Whether the sentence asks about the home rather than tells Needle to change it: it
    starts like an English question (after a place or device set before a comma or colon: "in
    the lounge, which lights are on"), asks to look something up, ends with a question tag
    ("..., isn't it"), or ends with a question mark without being a command ("could you turn
    on the lamp?", "make it warmer?")."""
    folded = " ".join(text.replace("’", "'").split()).strip(" ,.!")
    toks = tokens(folded)
    if not toks or _NOT_ASKING.search(folded):
        return False
    if toks[0] in _QUESTION_WORDS or _LOOK_UP.search(folded):
        return True
    lead, sep, rest = folded.partition(", ")
    if not sep:
        lead, sep, rest = folded.partition(": ")
    if sep and rest and tokens(rest)[:1] and tokens(rest)[0] in _QUESTION_WORDS:
        # "in the lounge, which lights are on"; "heat pump: which mode is it in" (a colon sets
        # a topic, even one that starts like a verb)
        return sep == ": " or not _commands(lead)
    if _TAG_QUESTION.search(folded) and toks[0] not in _COMMAND_VERBS:
        return True
    return (
        folded.endswith("?")
        and not _POLITE_REQUEST.search(folded)
        and toks[0] not in _COMMAND_VERBS  # "turn on the lamp?": a command, however said
    )


_LEAD_INS = frozenset({"please", "can", "could", "would", "will", "you", "now", "and", "then",
                       "ok", "okay", "so", "just", "also"})  # fmt: skip


def _commands(text: str) -> bool:
    """Whether the sentence starts with a command verb after a few polite words ("now turn
    off the hall light"): then it is no follow-up question, whatever the turn before was."""
    toks = tokens(text)
    first = next((t for t in toks if t not in _LEAD_INS), "")
    return first in _COMMAND_VERBS


def said_numbers(text: str) -> set[float]:
    """The numbers the sentence says, in digits or words, with the values they stand for:
    "half" 50 (and 30 minutes of an hour), "a quarter" 25, "max"/"full" 100, "min" 0,
    "an hour" 1, "one and a half" 1.5, "twenty five" 25; durations also in the next smaller
    unit (1.5 hours = 90 minutes), since a timer may be set either way. "minus 5", "negative
    five" and "-5" say -5 and not 5: a thermostat set to 5 was not what was asked."""
    toks = [t for t in tokens(_NEGATIVE_SIGN.sub(" minus ", text)) if t not in ("%", "°")]
    out: set[float] = set()
    last: float | None = None
    sign = 1.0
    i = 0
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        value: float | None = None
        if t in ("minus", "negative"):
            sign = -1.0
            i += 1
            continue
        if t[0].isdigit():
            value = float(t.replace(",", "."))
        elif t in _TENS:
            value = _TENS[t]
            if nxt in _UNITS and 0 < _UNITS[nxt] < 10:
                value += _UNITS[nxt]
                i += 1
        elif t in _UNITS:
            value = _UNITS[t]
        elif t == "hundred":
            value = 100 * last if last and toks[i - 1] not in ("and",) else 100
            out.discard(last or -1)
        elif t in ("half", "halfway"):
            out.update((50, 30, 0.5))
            if last is not None and i >= 2 and toks[i - 2] == "and":
                out.update((last + 0.5, last * 60 + 30))
        elif t in ("quarter", "quarters"):
            out.update((25, 15, 75 if last == 3 else 25))
        elif t in ("max", "maximum", "full", "fully", "highest"):
            out.add(100)
        elif t in ("min", "minimum", "lowest"):
            out.update((0, 1))
        elif t in ("a", "an") and nxt in _DURATION_UNITS:
            value = 1
        elif t == "couple":
            value = 2
        elif t == "dozen":
            value = 12
        if value is not None:
            if not (t in _TENS or t in _UNITS or t[0].isdigit()):
                sign = 1.0  # "minus a couple": no signed number
            out.add(value * sign)
            last = value * sign
        elif t not in ("and", "a", "an"):
            last = None if t not in _DURATION_UNITS else last
        sign = 1.0  # "minus" signs the very next word only
        if t in _DURATION_UNITS and last is not None:
            out.update((last * 60, last * 3600))
        i += 1
    return out


def spoken_number(tokens: Sequence[str], i: int) -> tuple[float, int] | None:
    """The number that starts at ``tokens[i]`` ("10", "ten", "twenty five", "a couple of")
    and the index after it; None when no number starts there. Lower-case tokens, as
    ``said_numbers`` makes them, with the same number words."""
    t = tokens[i] if i < len(tokens) else ""
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if t[:1].isdigit():
        try:
            return float(t.replace(",", ".")), i + 1
        except ValueError:
            return None
    if t in _TENS:
        if nxt in _UNITS and 0 < _UNITS[nxt] < 10:
            return float(_TENS[t] + _UNITS[nxt]), i + 2
        return float(_TENS[t]), i + 1
    if t in _UNITS:
        return float(_UNITS[t]), i + 1
    if t == "a" and nxt == "couple":
        return 2.0, i + 3 if i + 2 < len(tokens) and tokens[i + 2] == "of" else i + 2
    return None


def _stem(w: str) -> str:
    return w[:-3] if len(w) > 5 and w.endswith("ing") else w


def sentence_domains(text: str) -> dict[str, set[str]]:
    """Domains the sentence names a device kind of, with the user's words for them
    ("the kitchen fan" -> {"fan": {"fan"}})."""
    found: dict[str, set[str]] = {}
    for w in words(text):
        for domain, domain_words in DEVICE_WORDS.items():
            if w in domain_words or _stem(w) in domain_words:
                found.setdefault(domain, set()).add(w)
    return found


@lru_cache(maxsize=16384)
def _content(text: str) -> frozenset[str]:
    """The sentence's or name's words that can point at something (stems, no stop words);
    cached: every home's names are read again for every request."""
    return frozenset(_stem(w) for w in words(text)) - STOP_WORDS


def _mentions(name: str, sentence: frozenset[str]) -> bool:
    w = _content(name)
    return bool(w) and w <= sentence


# --- what a question may be about ---------------------------------------------------------

# Reads whose target HA fills in when none is given (the home's weather, the thermostat
# here): a name the sentence does not say is better left out than guessed.
DEFAULT_TARGET_READS = frozenset({"HassGetWeather", "HassClimateGetTemperature"})


def _said_score(
    e: EntityInfo, home: HomeContext, sentence: frozenset[str], kinds: frozenset[str] = frozenset()
) -> int:
    """How many of the sentence's words point at e: words of its best name or alias, and of
    its area's names when that area is said ("the light in the kitchen": Ceiling Light); none
    where the only ones are ``kinds`` said in the plural ("how many lights": not the Hood
    Light)."""
    area_words: frozenset[str] = frozenset()
    if e.area:
        place = next((a for a in home.areas if a.name == e.area), None)
        for n in place.names if place else ():
            if _mentions(n, sentence):
                area_words |= _content(n)
    shared = [(_content(n) | area_words) & sentence for n in e.names]
    return max((len(w) for w in shared if not w <= kinds), default=0)


def decoder_tools(
    tools: Sequence[ToolSchema], text: str, home: HomeContext, previous: Turn | None
) -> tuple[ToolSchema, ...]:
    """What the decoder may write for ``text``: less than the prompt shows where the policy
    would refuse the rest anyway or HA would fail it, so that the model's next choice comes out
    instead of a refusal. A command acting on any kind of device names no sensor
    (``_switchable_names``), names the one device every word of the sentence describes where
    there is one (``_the_one_described``), and a to-do list the list the sentence says most of
    (``_the_list_said``); a question ("have we left the back door open") changes nothing
    (``decide_parts`` holds every command of one), so it is answered with the reading tools
    only, where the prompt has one, and a sentence that is none (nor a follow-up to one) gets
    no state read, which the policy would hold; and a read names only what the sentence points
    at (``grounded_read_tools``)."""
    tools = tuple(tools)
    if asks(text):
        reads = tuple(t for t in tools if t.name in READ_ONLY_TOOLS)
        tools = reads or tools
    elif not (_asked_before(previous) and not _commands(text)):
        # "bedroom 4 main on please" is no question: a state read is held ("I did not hear a
        # question"), so the decoder does not write one
        unasked = _unasked_reads(text)
        tools = tuple(t for t in tools if t.name not in unasked) or tools
    contrary = _contrary_direction(text)
    said = tuple(t for t in tools if t.name != contrary and not _no_timer_said(t.name, text))
    tools = said or tools
    tools = _the_one_described(_switchable_names(tools, home), text, home)
    tools = _the_list_said(tools, text, home)
    return _said_classes(grounded_read_tools(tools, text, home, previous), text)


def _said_classes(tools: tuple[ToolSchema, ...], text: str) -> tuple[ToolSchema, ...]:
    """A read's binary-sensor classes narrowed to those the sentence says, where it says any
    ("are any devices home": presence, not connectivity); other classes stay."""
    out = []
    for tool in tools:
        param = tool.param("device_class")
        if tool.name not in READ_ONLY_TOOLS or param is None or not param.enum:
            out.append(tool)
            continue
        binary = [c for c in param.enum if c in BINARY_SENSOR_CLASSES]
        said = [c for c in binary if class_said(text, c)]
        if not said or len(said) == len(binary):
            out.append(tool)
            continue
        keep = tuple(c for c in param.enum if c not in BINARY_SENSOR_CLASSES or c in said)
        out.append(replace(tool, params=tuple(
            replace(p, enum=keep) if p.name == "device_class" else p for p in tool.params
        )))  # fmt: skip
    return tuple(out)


def _unasked_reads(text: str) -> frozenset[str]:
    """The reads a sentence that is no question does not ask for: a device's state, and a
    temperature where it names no heating or temperature ("remind me how tall mount everest
    is" is no thermostat reading)."""
    if "climate" in sentence_domains(text):
        return frozenset({"HassGetState"})
    return frozenset({"HassGetState", "HassClimateGetTemperature"})


def _asked_before(previous: Turn | None) -> bool:
    """Whether the last turn was a question: "and in the bedroom?" after "are the lights on in
    the kitchen" is still one."""
    return (
        previous is not None
        and bool(previous.calls)
        and all(c.name in READ_ONLY_TOOLS for c in previous.calls)
    )


def _with_names(tool: ToolSchema, names: tuple[str, ...]) -> ToolSchema:
    """The tool with only ``names`` for its name; with none, without a name parameter (it was
    optional: a tool whose name is required is never narrowed to nothing here)."""
    params = (replace(p, enum=names) if p.name == "name" else p for p in tool.params)
    return replace(tool, params=tuple(p for p in params if p.enum != ()))


def _place_words(home: HomeContext) -> dict[str, frozenset[str]]:
    """Each area's words with its floor's: what a device's room says of it."""
    floors = {f.name: f for f in home.floors}
    out = {}
    for a in home.areas:
        floor = floors.get(a.floor or "")
        names = (*a.names, *(floor.names if floor else ()))
        out[a.name] = frozenset(w for n in names for w in _content(n))
    return out


def _described(
    e: EntityInfo, places: dict[str, frozenset[str]]
) -> tuple[frozenset[str], frozenset[str]]:
    """The words of e's names that only it can be called by (not its room's, not a kind of
    device), and every word that may describe e: its names, its area's and floor's names
    (``places``, from ``_place_words``), its kind of device and its class."""
    own = frozenset(w for n in e.names for w in _content(n))
    around = places.get(e.area or "", frozenset())
    kind = _KIND_STEMS.get(e.domain, frozenset()) | {e.device_class or ""}
    # its own words: not its room's ("Living Room Lamp"), not a kind's ("Ceiling Fan")
    return own - around - _DEVICE_STEMS, own | around | kind


def _own_words(e: EntityInfo, home: HomeContext) -> frozenset[str]:
    """The words only e is called by: of its names, not its room's nor a kind's."""
    return _described(e, _place_words(home))[0]


def one_described(text: str, home: HomeContext) -> EntityInfo | None:
    """The one device every word of the sentence describes, if exactly one is: "turn on the
    wiz" (the WiZ RGBW Tunable 3F2A), "ecobee to 22", "bedroom 4 trv to 19".

    Each content word must be a word of its names, its room or floor, or its kind, and one at
    least a word of its name that is neither a room's nor a kind's: "turn on the light in the
    living room" does not single out the Living Room Lamp, nor "the living room fan" the
    Ceiling Fan (a room call does what was asked there); "lock the front door" does not
    describe the Front Window ("door", "lock"); "turn on the light" describes every light. A
    number describes only where it is part of a name ("bedroom 4", not "to 19")."""
    said = _content(text) - {_stem(v) for v in _COMMAND_VERBS if v not in _ALL_DEVICE_WORDS}
    numbered = {
        w
        for thing in (*home.areas, *home.floors, *home.entities)
        for n in thing.names
        for w in _content(n)
        if w.isdigit()
    }
    said = frozenset(w for w in said if (not w.isdigit() or w in numbered) and w not in _UNIT_WORDS)
    if not said:
        return None
    found: dict[str, EntityInfo] = {}
    places = _place_words(home)
    for e in home.entities:
        own, vocab = _described(e, places)
        if said <= vocab and said & own:
            found[e.name.casefold()] = e
    return next(iter(found.values())) if len(found) == 1 else None


def _not_the_one(
    call: ToolCall,
    one: EntityInfo | None,
    home: HomeContext,
    tool_domains: frozenset[str] | None,
) -> Held | None:
    """A command on another device than the one the sentence describes (``one_described``):
    "bedroom 4 trv to 19" answered with the blind of bedroom 4, where the prompt had no
    thermostat tool. A call by name must name it; one by room or kind must reach its kind."""
    if one is None or call.name == STEP_TOOL:
        return None
    mine = {n.casefold() for n in one.names}
    if name := call.arguments.get("name"):
        if str(name).casefold() in mine:
            return None
    elif one.domain in (_call_domains(call, home, tool_domains) or {one.domain}):
        return None
    return Held(call, f"I did not catch what to do with {one.name}", WRONG_DEVICE)


def _the_one_described(
    tools: tuple[ToolSchema, ...], text: str, home: HomeContext
) -> tuple[ToolSchema, ...]:
    """The commands naming only the device the sentence describes (``one_described``), and
    only the commands that can name it ("bedroom 4 trv to 19" is no blind's position). Reads
    are left to ``grounded_read_tools``."""
    one = one_described(text, home)
    if one is None:
        return tools
    names = {n.casefold() for n in one.names} | {one.name.casefold()}
    out = []
    for tool in tools:
        param = tool.param("name")
        if tool.name in READ_ONLY_TOOLS or param is None or not param.enum:
            out.append(tool)
            continue
        keep = tuple(v for v in param.enum if v.casefold() in names)
        if keep:
            out.append(_with_names(tool, keep))
    if not any(t.param("name") is not None and t.name not in READ_ONLY_TOOLS for t in out):
        return tools  # no command of the prompt can name it: the policy holds another name
    return tuple(out)


def _the_list_said(
    tools: tuple[ToolSchema, ...], text: str, home: HomeContext
) -> tuple[ToolSchema, ...]:
    """The to-do tools naming only the list the sentence says most of, where one does: "add
    eggs to bring" (the list Bring), "chuck bananas on the ocado order". A list is said by the
    words of its name that are neither a room's nor a kind's; the other words are the item's."""
    said = _content(text)
    scores: dict[str, int] = {}
    places = _place_words(home)
    for e in home.entities:
        if e.domain == "todo":
            distinct, _ = _described(e, places)
            scores[e.name.casefold()] = len(distinct & said)
    best = max(scores.values(), default=0)
    lists = {n for n, k in scores.items() if k == best}
    if not best or len(lists) != 1:
        return tools
    out = []
    for tool in tools:
        param = tool.param("name")
        keep = tuple(v for v in param.enum if v.casefold() in lists) if param and param.enum else ()
        if TOOL_DOMAINS.get(tool.name) == frozenset({"todo"}) and keep:
            tool = _with_names(tool, keep)
        out.append(tool)
    return tuple(out)


_UNIT_WORDS = frozenset({"percent", "degree", "degrees", "%", "°"})
# Kind words of more than one domain ("door": a cover or a lock) describe neither for sure.
_SHARED_KIND_WORDS = frozenset(
    w
    for w in set().union(*DEVICE_WORDS.values())
    if sum(w in ws for ws in DEVICE_WORDS.values()) > 1
)
_DEVICE_STEMS = frozenset(_stem(w) for ws in DEVICE_WORDS.values() for w in ws)
_KIND_STEMS = {
    domain: frozenset(_stem(w) for w in ws - _SHARED_KIND_WORDS)
    for domain, ws in DEVICE_WORDS.items()
}


# Domains whose entities only report: HassTurnOn/Off on one fails in HA ("Failed to call
# turn_off" for the binary sensor called Light), so "turn off the lights" must not name it.
_REPORTING_DOMAINS = frozenset(
    {"sensor", "binary_sensor", "weather", "person", "device_tracker", "todo", "calendar",
     "event", "sun", "zone", "image", "update", "camera", "input_text", "number",
     "input_number", "select", "input_select", "date", "time", "datetime", "text"}
)  # fmt: skip


def _switchable_names(tools: tuple[ToolSchema, ...], home: HomeContext) -> tuple[ToolSchema, ...]:
    """The commands that act on any kind of device (HassTurnOn, HassTurnOff, ...), naming only
    devices that can be switched: the prompt lists every candidate in them, sensors too."""
    reporting = {
        n.casefold() for e in home.entities for n in e.names if e.domain in _REPORTING_DOMAINS
    }
    acting = {
        n.casefold() for e in home.entities for n in e.names if e.domain not in _REPORTING_DOMAINS
    }
    gone = reporting - acting
    if not gone:
        return tools
    out = []
    for tool in tools:
        param = tool.param("name")
        if (
            tool.name in READ_ONLY_TOOLS
            or tool.name in FREE_NAME_TOOLS
            or tool.name in TOOL_DOMAINS
            or param is None
            or not param.enum
        ):
            out.append(tool)
            continue
        keep = tuple(v for v in param.enum if v.casefold() not in gone)
        out.append(_with_names(tool, keep))
    return tuple(out)


def grounded_read_tools(
    tools: Sequence[ToolSchema], text: str, home: HomeContext, previous: Turn | None
) -> tuple[ToolSchema, ...]:
    """The tools, where a read may only name what the sentence points at.

    A read naming a device the sentence does not point at is refused anyway
    (``_read_target_is_said``), so the decoder's choice of name for the reading tools is
    narrowed to the entities that share the most words with the sentence (ties all stay), plus
    the last turn's ("and is it on?"): "what is the energy of solar production" can no longer
    come out as the Heat pump NO2 sensor. Nothing pointed at: the choice stays as it was (and
    a guess is refused as before); for reads HA answers without a name (weather, the
    thermostat's temperature) the name is left out. Commands are not narrowed: there a forced
    choice could act on a device nobody asked for, where a refusal changes nothing.
    """
    sentence = _content(text)
    kinds = _plural_kinds(text)
    scores: dict[str, int] = {}
    for e in home.entities:
        score = _said_score(e, home, sentence, kinds)
        for n in e.names:
            scores[n.casefold()] = max(scores.get(n.casefold(), 0), score)
    before = _previous(previous, "name")
    out = []
    for tool in tools:
        param = tool.param("name")
        if tool.name not in READ_ONLY_TOOLS or param is None or not param.enum:
            out.append(tool)
            continue
        best = max((scores.get(v.casefold(), 0) for v in param.enum), default=0)
        keep = tuple(
            v
            for v in param.enum
            if (best and scores.get(v.casefold(), 0) == best) or v.casefold() in before
        )
        if not keep and tool.name not in DEFAULT_TARGET_READS and not kinds:
            out.append(tool)
            continue
        out.append(_with_names(tool, keep))
    return tuple(out)


def _plural_kinds(text: str) -> frozenset[str]:
    """Kinds of device the sentence says in the plural ("how many lights are on", "have all
    the fans been switched off"): a question about every device of that kind, not one of them.
    A device these words alone point at is not what a read names; where nothing else is
    pointed at, the read names nothing (HA answers for the kind)."""
    plural = (w[:-1] for w in re.findall(r"[a-z]+", text.casefold()) if w.endswith("s"))
    return frozenset(w for w in plural if w in _ALL_DEVICE_WORDS)


def _shared_name_areas(call: ToolCall, home: HomeContext) -> list[str]:
    """The rooms of the devices called by the call's name, where several rooms have one
    ("Smart Bulb" in each bedroom) and the call names none: HA cannot tell them apart."""
    name = call.arguments.get("name")
    if not isinstance(name, str) or {"area", "floor"} & call.arguments.keys():
        return []
    folded = name.casefold()
    areas = {e.area for e in home.entities if folded in (n.casefold() for n in e.names)}
    return sorted(a for a in areas if a) if len(areas) > 1 else []


# --- the decision ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Held:
    """A call that is not run, why (for the user), and the kind of reason (for counters)."""

    call: ToolCall
    reason: str
    kind: str
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Pending:
    """A request waiting for the user's answer to a question.

    ``key`` is the argument the question is about ("name" or "area"; "" for a yes/no
    confirmation); ``candidates`` pairs each possible value with its area (for "the kitchen
    one"). ``calls`` are all the request's calls; ``index`` the one the answer completes.
    """

    text: str
    calls: tuple[ToolCall, ...]
    index: int
    key: str
    candidates: tuple[tuple[str, str | None], ...] = ()


@dataclass(slots=True)
class Decision:
    kind: str  # ACT, NEGATED_KIND, NO_DEVICE, ASK, CONFIRM, UNSURE, NOTHING
    act: list[ToolCall] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    speech: str = ""  # what to say when nothing runs (a refusal or a question)
    pending: Pending | None = None  # set for ASK and CONFIRM: keep the conversation open


# On and off in the words of the kind of device: "close Living Room Blinds", not "turn off".
_ON_OFF_VERBS = {
    "cover": ("open", "close"), "valve": ("open", "close"), "lock": ("lock", "unlock"),
}  # fmt: skip


def _describe(call: ToolCall, home: HomeContext | None = None) -> str:
    """The call in words for a question or a refusal: "turn on Kitchen Light" ("close Office
    Blinds" when ``home`` says the named device is a cover)."""
    args = call.arguments
    if call.name == STEP_TOOL:  # a relative request: "turn the brightness of Desk Lamp down"
        what = str(args.get("quantity") or "setting").replace("_", " ")
        by = f" by {args['amount']:g}" if isinstance(args.get("amount"), int | float) else ""
        where = args.get("name") or args.get("area") or args.get("floor") or "it"
        return f"turn the {what} of {where} {args.get('direction', 'up')}{by}"
    verb = _VERBS.get(call.name, call.name.removeprefix("Hass"))
    if call.name in ("HassTurnOn", "HassTurnOff"):
        domains = {str(d) for d in args.get("domain") or ()}
        if home is not None and (name := args.get("name")):
            folded = str(name).casefold()
            domains |= {e.domain for e in home.entities if folded in map(str.casefold, e.names)}
        if len(domains) == 1 and (pair := _ON_OFF_VERBS.get(next(iter(domains)))):
            verb = pair[call.name == "HassTurnOff"]
    target = args.get("name") or ""
    if not target and (where := args.get("area") or args.get("floor")):
        domains = args.get("domain") or []
        what = " and ".join(f"{d.replace('_', ' ')}s" for d in domains) or "devices"
        target = f"the {what} in the {where}"
    value = next(
        (f" to {v:g}" for k, v in args.items() if isinstance(v, int | float) and k != "name"),
        "",
    )
    return " ".join(p for p in (verb, str(target)) if p) + value


_VERBS = {
    "HassTurnOn": "turn on", "HassTurnOff": "turn off", "HassToggle": "toggle",
    "HassLightSet": "set", "HassSetPosition": "set the position of",
    "HassClimateSetTemperature": "set the temperature of", "HassSetVolume": "set the volume of",
    "HassMediaPause": "pause", "HassMediaUnpause": "resume", "HassMediaNext": "skip on",
    "HassMediaPrevious": "go back on", "HassVacuumStart": "start",
    "HassVacuumReturnToBase": "send back", "HassListAddItem": "add to",
    "HassListCompleteItem": "check off on", "HassStartTimer": "start a timer",
    "HassGetState": "check",
}  # fmt: skip


def _numeric_params(tool: ToolSchema | None) -> dict[str, tuple[float, float]]:
    if tool is None:
        return {}
    return {
        p.name: (
            -math.inf if p.minimum is None else float(p.minimum),
            math.inf if p.maximum is None else float(p.maximum),
        )
        for p in tool.params
        if p.type in ("integer", "number")
    }


def _check_numbers(call: ToolCall, tool: ToolSchema | None, said: set[float]) -> Held | None:
    for key, (lo, hi) in _numeric_params(tool).items():
        value = call.arguments.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if any(abs(value - s) < 1e-6 for s in said):
            continue
        outside = sorted(s for s in said if not lo <= s <= hi)
        if outside and key not in _TIMER_KEYS:
            span = f"{lo:g} to {hi:g}" if math.isfinite(lo) and math.isfinite(hi) else ""
            where = f" ({span})" if span else ""
            return Held(
                call,
                f"{outside[0]:g} is out of range for {key.replace('_', ' ')}{where}",
                OUT_OF_RANGE,
            )
        return Held(call, f"I did not hear a {key.replace('_', ' ')} to set", UNGROUNDED)
    return None


def _call_domains(
    call: ToolCall, home: HomeContext, tool_domains: frozenset[str] | None
) -> set[str]:
    """The kinds of device a call acts on: its entity's domain, its domain argument, or the
    tool's domains; empty when it could be anything ("turn off everything in the kitchen")."""
    args = call.arguments
    if call.name in FREE_NAME_TOOLS:
        return {"timer"}
    if name := args.get("name"):
        folded = str(name).casefold()
        return {e.domain for e in home.entities if any(n.casefold() == folded for n in e.names)}
    domains = args.get("domain")
    if isinstance(domains, list) and domains:
        return {str(d) for d in domains}
    return set(tool_domains or ())


def check_kind(
    call: ToolCall,
    home: HomeContext,
    named: dict[str, set[str]],
    tool_domains: frozenset[str] | None,
) -> Held | None:
    """A device of another kind than the sentence names, when the sentence does not name the
    device itself: "turn kitchen fan on" must not turn on the Kitchen Ceiling Light, "pause the
    den music" must not pause a timer. ``named`` is ``sentence_domains`` of the sentence, or
    what a caller leaves of it (``relative.py`` drops its own grammar's words: "warmer" asks
    for a step and names no thermostat)."""
    if not named:
        return None
    kinds = _call_domains(call, home, tool_domains)
    if "shopping_list" in kinds:  # HA's shopping list is a to-do list ("... to the list")
        kinds |= {"todo"}
    args = call.arguments
    devices = set(named) - {"timer"}
    if (
        devices
        and len(kinds) != 1  # none: the tool acts on anything
        and (args.get("area") or args.get("floor"))
        and not any(args.get(k) for k in ("name", "domain", "device_class"))
    ):
        # "tv on in the lounge" -> HassTurnOn(area=lounge): every device there, lights too
        word = sorted(set().union(*(named[k] for k in devices)))[0]
        where = args.get("area") or args.get("floor")
        return Held(call, f"that would switch everything in the {where}, not only the {word}",
                    WRONG_DEVICE)  # fmt: skip
    if not kinds and set(named) == {"timer"}:
        return Held(call, "that is not a timer", WRONG_DEVICE)  # "cancel the kitchen timers"
    if not kinds or kinds & set(named):
        return None
    said = set().union(*named.values())
    name = call.arguments.get("name")
    if name and _content(str(name)) & {_stem(w) for w in said}:
        return None  # "TV Plug" for "turn on the tv": the user's word is in its name
    word = sorted(said)[0]
    return Held(call, f"I could not find the {word} you mean", WRONG_DEVICE)


def names_a_target(text: str, home: HomeContext, ignore: frozenset[str] = frozenset()) -> bool:
    """Whether the sentence names one of the home's exposed entities (a word of one of its names
    or aliases) or one of its areas or floors: then the sentence says what it is about, and a
    follow-up's "it" is not needed to find the target. ``ignore``: words that say something
    else (a caller's own grammar: "dimmer" in "make it a bit dimmer" names no Dimmer Switch)."""
    sentence = _content(text) - {_stem(w) for w in ignore}
    places = (*home.areas, *home.floors)
    return any(_content(n) & sentence for e in home.entities for n in e.names) or any(
        _mentions(n, sentence) for p in places for n in p.names
    )


def _named_entity_is_said(call: ToolCall, home: HomeContext, sentence: frozenset[str]) -> bool:
    name = str(call.arguments.get("name", "")).casefold()
    return any(
        any(n.casefold() == name for n in e.names) and any(_mentions(n, sentence) for n in e.names)
        for e in home.entities
    )


_POSSESSIVE_ROOM = re.compile(r"^\s*(\S+'s)\s+room\s*$", re.IGNORECASE)


def _areas_said(home: HomeContext, sentence: frozenset[str]) -> set[str]:
    """The areas whose every word the sentence says, a room called after someone by the
    possessive alone ("Priya's smart bulb": Priya's Room); where one area's words are part of
    another's that was said, the longer ("room b": Room B, not Room A, whose "a" is no word)."""
    said: dict[str, frozenset[str]] = {}
    for a in home.areas:
        for n in a.names:
            m = _POSSESSIVE_ROOM.match(n)
            if _mentions(n, sentence) or (m and _mentions(m.group(1), sentence)):
                said[a.name] = said.get(a.name, frozenset()) | _content(n)
    return {a for a, w in said.items() if not any(w < other for other in said.values())}


def areas_named(text: str, home: HomeContext) -> set[str]:
    """The home's areas the text names (all the content words of a name or alias)."""
    return _areas_said(home, _content(text))


def _previous(previous: Turn | None, key: str) -> set[str]:
    out: set[str] = set()
    for c in previous.calls if previous else ():
        v = c.arguments.get(key)
        if isinstance(v, str):
            out.add(v.casefold())
    return out


def _points_at(
    chosen: Sequence[EntityInfo],
    sentence: frozenset[str],
    said_areas: set[str],
    named: dict[str, set[str]],
) -> bool:
    """Whether the sentence points at one of the entities a call names: a word of one of its
    names or aliases, its area, or its kind of device ("the tv" for a Samsung QN90). A name
    with none of these is the model's guess."""
    return any(
        any(_content(n) & sentence for n in e.names) or e.area in said_areas or e.domain in named
        for e in chosen
    )


def _read_target_is_said(
    call: ToolCall,
    home: HomeContext,
    sentence: frozenset[str],
    previous: Turn | None,
    named: dict[str, set[str]],
) -> Held | None:
    """A question about a named device must name it ("is the nuki locked"), or ask again about
    the last turn's: "what's the capital of France" answered with the state of a to-do list is
    a guess, and a guess is not read out."""
    name = call.arguments.get("name")
    if not isinstance(name, str) or name.casefold() in _previous(previous, "name"):
        return None
    chosen = [e for e in home.entities if name.casefold() in (n.casefold() for n in e.names)]
    if not chosen or _points_at(chosen, sentence, _areas_said(home, sentence), named):
        return None
    return Held(call, _NO_MATCH_REASON, NO_MATCH)


_DETERMINERS = frozenset({"our", "your", "his", "her", "their", "these", "those", "some",
                          "every", "both", "each", "other", "one", "ones"})  # fmt: skip
_ALL_DEVICE_WORDS = frozenset().union(*DEVICE_WORDS.values())


def _another_thing_said(chosen: Sequence[EntityInfo], home: HomeContext, text: str) -> bool:
    """Whether the sentence calls the device by a name it does not have: "switch on the ice
    maker" answered with the Coffee Maker shares the word "maker", but the word before it says
    another thing, which this home may not have. Only where nothing else points at the device
    (no word of its kind, its area unsaid): "the red lamp" still names a light."""
    own = {w for e in chosen for n in e.names for w in _content(n)}
    places = {w for p in (*home.areas, *home.floors) for n in p.names for w in _content(n)}
    toks = [_stem(w) for t in re.findall(r"\w+", text) for w in words(t)]  # as _content
    for i, t in enumerate(toks):
        if t not in own or i == 0:
            continue
        if t in _ALL_DEVICE_WORDS:
            return False
        before = toks[i - 1]
        if (
            before not in own
            and before not in places
            and before not in STOP_WORDS
            and before not in _DETERMINERS
            and before not in _COMMAND_VERBS
            and not before.isdigit()
        ):
            return True
    return False


def _open_target(
    call: ToolCall,
    home: HomeContext,
    text: str,
    sentence: frozenset[str],
    satellite_area: str | None,
    previous: Turn | None,
    tool_domains: frozenset[str] | None,
    named: dict[str, set[str]],
) -> Pending | Held | None:
    """A question when the call's target is one of several the sentence could mean; a refusal
    when nothing in the sentence points at it (no word of its name, its area or its kind)."""
    args = call.arguments
    if call.name == "HassShoppingListAddItem":
        # HA's shopping list takes no list name; in a home of several to-do lists "add
        # batteries to the list" says none of them, so which one is asked
        shopping = _stem("shopping")
        lists = sorted(
            (e for e in home.entities if e.domain == "todo"),
            key=lambda e: (shopping not in _content(e.name), e.name.casefold()),
        )
        if len(lists) < 2 or shopping in sentence:
            return None
        add = ToolCall("HassListAddItem", {"item": args.get("item")})
        return Pending("", (add,), 0, "name", tuple((e.name, e.area) for e in lists))
    said_areas = _areas_said(home, sentence)
    if said_areas:
        context_areas = said_areas
    elif satellite_area:
        context_areas = {satellite_area}
    else:
        context_areas = _area_names(home, _previous(previous, "area"))
    if name := args.get("name"):
        # a room the model added to a device's name must come from somewhere: the sentence,
        # the satellite or the turn before ("upstairs bathroom light off" is not the Light of
        # the Shared Lounge)
        if (area := args.get("area")) and _canonical_area(home, str(area)).casefold() not in {
            a.casefold()
            for a in said_areas | context_areas | _area_names(home, _previous(previous, "area"))
        }:
            return Held(call, "I did not catch which room you mean", UNGROUNDED)
        if rooms := _shared_name_areas(call, home):
            # "the smart bulb off" with one in every bedroom: HA cannot tell which; ask
            return Pending("", (call,), 0, "area", tuple((a, a) for a in rooms))
        if _named_entity_is_said(call, home, sentence) or str(name).casefold() in _previous(
            previous, "name"
        ):
            return None
        folded = str(name).casefold()
        chosen = [e for e in home.entities if folded in (n.casefold() for n in e.names)]
        kinds = {e.domain for e in chosen} | set(tool_domains or ())
        pool = [e for e in home.entities if e.domain in kinds]
        if not set(named) - {"timer"} and not tool_domains:
            # no kind said and a tool for any kind ("let me in the summer house"): every
            # device the words point at is a candidate, not only those of the model's kind
            pool = [e for e in home.entities if e.domain not in _REPORTING_DOMAINS]
        # the room first, then the device's own words: a room's words count for where, not
        # for which (every "Summer House ..." device there; "the light in the living room"
        # is not the Living Room Lamp more than the Play Corner)
        here = [e for e in pool if e.area in context_areas]
        if here:
            pool = here
        room_words = {w for a in home.areas if a.name in said_areas for n in a.names
                      for w in _content(n)}  # fmt: skip
        overlap = {
            e.entity_id: max(len((_content(n) & sentence) - room_words) for n in e.names)
            for e in pool
        }
        only = tool_domains and sum(e.domain in tool_domains for e in home.entities) == 1
        # "heat to 22" with one thermostat: the tool itself names the device
        if not only and not _points_at(chosen, sentence, said_areas, named):
            return Held(call, _NO_MATCH_REASON, NO_MATCH)
        if (
            not only
            and not any(e.area in said_areas or e.domain in named for e in chosen)
            and _another_thing_said(chosen, home, text)
        ):
            return Held(call, _NO_MATCH_REASON, NO_MATCH)
        best = max(overlap.values(), default=0)
        if best:
            pool = [e for e in pool if overlap[e.entity_id] == best]
        if len(pool) <= 1 and (not pool or pool[0] in chosen):
            return None
        ranked = sorted(pool, key=lambda e: (e not in chosen, e.name.casefold()))
        return Pending("", (call,), 0, "name", tuple((e.name, e.area) for e in ranked))
    if area := args.get("area"):
        canon = _canonical_area(home, str(area))
        grounded = said_areas | ({satellite_area} if satellite_area else set())
        grounded |= {_canonical_area(home, v) for v in _previous(previous, "area")}
        if canon.casefold() in {a.casefold() for a in grounded}:
            return None
        kinds = _call_domains(call, home, tool_domains)
        if not kinds & set(named):
            return Held(call, _NO_MATCH_REASON, NO_MATCH)
        areas = sorted(
            {e.area for e in home.entities if e.area and (not kinds or e.domain in kinds)},
            key=lambda a: (a != canon, a.casefold()),
        )
        if len(areas) <= 1:
            return None
        return Pending("", (call,), 0, "area", tuple((a, a) for a in areas))
    if args.get("floor") or call.name in FREE_NAME_TOOLS or satellite_area:
        return None
    if _previous(previous, "area"):
        return None
    # No target at all: the call acts on every such device of the home. Fine when the sentence
    # says so ("all the lights", "everything"); otherwise which room is asked.
    kinds = _call_domains(call, home, tool_domains)
    if not kinds or sentence & _EVERYWHERE:
        return None
    classes = {str(c) for c in args.get("device_class") or ()}
    targets = [
        e for e in home.entities if e.domain in kinds and (not classes or e.device_class in classes)
    ]
    areas = sorted({e.area for e in targets if e.area}, key=str.casefold)
    if len(areas) <= 1 or len(targets) <= 1:
        return None
    return Pending("", (call,), 0, "area", tuple((a, a) for a in areas))


def _read_subject(call: ToolCall) -> bool:
    """Whether a state read says what to read: a device, a kind or class, or a state ("what
    is on in the kitchen"); a room alone would read out everything in it."""
    return any(call.arguments.get(k) for k in ("name", "domain", "device_class", "state"))


def _reads_nothing(call: ToolCall, home: HomeContext) -> bool:
    """A read out of a kind of device that no exposed entity is ("what's still powered in the
    kitchen" read as binary sensors of class temperature, which HA does not have): HA could
    only answer that it found none, so it is answered as such without running. A yes/no read
    (a state asked) runs: HA's "No." is the answer there."""
    args = call.arguments
    if call.name != "HassGetState" or args.get("name") or args.get("state") or not home.entities:
        return False  # "any blinds open in the bedroom" without blinds there: HA says "No."
    domains, classes = args.get("domain"), args.get("device_class")
    if domains == ["sensor"] and classes == ["temperature"]:
        return False  # a place's temperature: its thermostat answers where no sensor does
    where = args.get("area")
    room = _canonical_area(home, where).casefold() if isinstance(where, str) else None
    floor = args.get("floor")
    return not any(
        (not isinstance(domains, list) or e.domain in domains)
        and (not isinstance(classes, list) or e.device_class in classes)
        and (room is None or (e.area or "").casefold() == room)
        and (not isinstance(floor, str) or (e.floor or "").casefold() == floor.casefold())
        for e in home.entities
    )


def _unsaid_class(call: ToolCall, text: str, places: frozenset[str]) -> str | None:
    """The binary-sensor class a read of a kind of device guessed: the sentence says neither
    the class nor a state only it has ("how are things looking outdoors" read as the running
    sensors). A named read is fitted to its device instead (``fit_read``)."""
    args = call.arguments
    classes, domains = args.get("device_class"), args.get("domain")
    if call.name != "HassGetState" or args.get("name") or domains != ["binary_sensor"]:
        return None
    if not isinstance(classes, list) or len(classes) != 1:
        return None
    cls = str(classes[0])
    if cls not in BINARY_SENSOR_CLASSES or class_said(text, cls, places):
        return None
    return cls


def _no_timer_said(tool: str, text: str) -> bool:
    """A timer tool for a sentence that says no timer ("pause the living room" is music)."""
    if tool not in FREE_NAME_TOOLS:
        return False
    needed = _TIMER_WORDS | _TIMER_EXTRA.get(tool, frozenset())
    return not {_stem(w) for w in words(text)} & needed


def _contrary_direction(text: str) -> str | None:
    """The on/off tool the sentence's own words rule out (``_contradicts`` holds it): "off"
    without "on" rules out HassTurnOn, "turn ... on" without "off" HassTurnOff."""
    said = words(text)
    if "off" in said and "on" not in said:
        return "HassTurnOn"
    if "off" not in said and _SAID_ON.search(text):
        return "HassTurnOff"
    return None


def _contradicts(
    call: ToolCall, text: str, said: frozenset[str], places: frozenset[str] = frozenset()
) -> Held | None:
    """The sentence's own words say otherwise: "off" for an on call, "turn ... on" for an off
    call ("on" alone may be a preposition: "the light on the porch"), a cover of another class
    than the one said ("close the garage door" with the blinds' class). ``places``: words of
    the areas the sentence names ("the blinds in the garage" says no garage door)."""
    if call.name == _contrary_direction(text) == "HassTurnOn":
        return Held(call, "you said off, not on", UNGROUNDED)
    if call.name == _contrary_direction(text) == "HassTurnOff":
        return Held(call, "you said on, not off", UNGROUNDED)
    if _no_timer_said(call.name, text):
        return Held(call, "I did not hear a timer", WRONG_DEVICE)
    classes = {str(c) for c in call.arguments.get("device_class") or ()}
    named = (COVER_CLASSES & said) - places
    if classes & _OPENING_CLASSES and named and not classes & named:
        return Held(call, f"I could not find the {sorted(named)[0]} you mean", WRONG_DEVICE)
    if call.name in _LIST_ADD:
        return _list_item_contradicts(call, text, said)
    return None


# To-do lists: adding is one direction, removing or ticking off the other (as on and off), and
# an item that is only the list's own name was not said as an item ("... on my chores list").
_LIST_ADD = frozenset({"HassListAddItem", "HassShoppingListAddItem"})
_LIST_REMOVE_WORDS = frozenset({"remove", "delete", "cross", "tick", "complete", "erase", "strike"})
_LIST_ADD_WORDS = frozenset({"add", "put", "stick", "pop", "include", "need", "buy", "get"})


def _list_item_contradicts(call: ToolCall, text: str, said: frozenset[str]) -> Held | None:
    if said & _LIST_REMOVE_WORDS and not said & _LIST_ADD_WORDS:
        return Held(call, "you asked me to take something off a list, not to add it", UNGROUNDED)
    item = str(call.arguments.get("item") or "").casefold().split()
    list_name = str(call.arguments.get("name") or "shopping list").casefold().split()
    # the list's own name is no item, nor the words that ask to add ("add renew passport to
    # my inbox" -> "add"), where the item is where they stand: "add pop" may add soda
    request = tokens(text)[: len(item)] == item and set(item) <= _LIST_ADD_WORDS | STOP_WORDS
    if item and (set(item) <= {*list_name, "list"} or request):
        return Held(call, f"I did not catch what to add to {' '.join(list_name)}", UNGROUNDED)
    return None


_OPPOSITE = {"HassTurnOn": "HassTurnOff", "HassTurnOff": "HassTurnOn"}


def _direction_not_said(call: ToolCall, text: str, previous: Turn | None) -> Held | None:
    """On or off, open or closed: a second opinion from the prompt builder's word-level
    retrieval (``prompt.Retriever``, fitted on generated requests), which knows which words say
    which direction. The model, on a verb its training data never had, turns things on as
    readily as off; when the sentence's words point the other way, the call is not run. Words
    that point neither way leave it to the model; no index, no opinion."""
    opposite = _OPPOSITE.get(call.name)
    if opposite is None:
        return None
    prob = default_retriever().rank(text, previous, (call.name, opposite), ())[0]
    if not prob or prob[call.name] >= MIN_DIRECTION_PROBABILITY:
        return None
    return Held(call, f"I was not sure you wanted me to {_describe(call)}", UNGROUNDED)


def _unused_number(calls: Sequence[ToolCall], text: str) -> str | None:
    """A percentage, temperature or "to N" the sentence says that no call uses: acting without
    it ("studio to 15 %" -> turn the lights on; "the downstairs one to 21 and the upstairs one
    to 19" -> only 19 set) would not be what was asked."""
    used = [
        float(v)
        for c in calls
        for v in c.arguments.values()
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    for m in _UNIT_NUMBER.finditer(text):
        values = said_numbers(m.group())
        if values and not any(abs(u - v) < 1e-6 for u in used for v in values):
            return m.group()
    return None


def _area_names(home: HomeContext, folded: set[str]) -> set[str]:
    return {_canonical_area(home, v) for v in folded}


def _canonical_area(home: HomeContext, value: str) -> str:
    """The area's own name for a name or alias the model or a previous turn used."""
    folded = value.casefold()
    for a in home.areas:
        if any(n.casefold() == folded for n in a.names):
            return a.name
    return value


def question(pending: Pending) -> str:
    """One short question naming at most three candidates."""
    if not pending.key:
        return f"Do you want me to {_describe(pending.calls[pending.index])}?"
    names = [c for c, _ in pending.candidates[:MAX_NAMED_CANDIDATES]]
    more = len(pending.candidates) > MAX_NAMED_CANDIDATES
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    what = "Which room" if pending.key == "area" else "Which one"
    if len(names) == 1:
        return f"Do you mean {listed}?"
    return f"{what} do you mean{', for example' if more else ''}: {listed}?"


def _partial_question(
    act: Sequence[ToolCall], undone: Sequence[Held], missed: Sequence[str], home: HomeContext
) -> str:
    """What would not be done, then whether to do the rest: "I did not understand “open the
    garden tap”. Shall I still turn on Patio Wall Lights?"."""
    said = []
    if missed:
        said.append("I did not understand " + _and([f"“{m}”" for m in missed]) + ".")
    if undone:
        reasons = list(dict.fromkeys(h.reason for h in undone))
        said.append(f"I would skip part of it: {_and(reasons)}.")
    return " ".join([*said, f"Shall I still {_and([_describe(c, home) for c in act])}?"])


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True, slots=True)
class Part:
    """One clause of the sentence (``clauses.py``) and what the model made of it: its calls
    with their confidence, calls the caller already refused (``held_before``, see ``decide``)
    and the area it is about (the satellite's, or one another clause names). Each call is
    checked against its own clause's words: a negation, a number or a device word of another
    clause says nothing about it."""

    text: str
    calls: Sequence[ToolCall] = ()
    confidence: Sequence[float] = ()
    held_before: Sequence[Held] = ()
    area: str | None = None


def decide(
    text: str,
    calls: Sequence[ToolCall],
    confidence: Sequence[float],
    tools: Sequence[ToolSchema],
    home: HomeContext,
    *,
    satellite_area: str | None = None,
    previous: Turn | None = None,
    threshold: float = MIN_CALL_CONFIDENCE,
    ask_threshold: float = MIN_ASK_CONFIDENCE,
    held_before: Sequence[Held] = (),
) -> Decision:
    """Which of the (schema-valid) calls run, and what to say about the others.

    ``confidence`` pairs with ``calls``; a call without one (an engine that reports none)
    counts as sure. ``held_before``: calls already refused by the caller (a relative request
    on a device that cannot do it, ``relative.py``), decided on together with the rest, so a
    negation still wins and a refusal is never taken for "nothing understood".
    """
    part = Part(text, calls, confidence, held_before, satellite_area)
    return decide_parts(
        text, [part], tools, home, previous=previous, threshold=threshold,
        ask_threshold=ask_threshold,
    )  # fmt: skip


def missed_parts(parts: Sequence[Part]) -> list[str]:
    """The commands of a several-command sentence that the model made nothing of (no call,
    nothing held, not negated): said in the reply, never silently dropped."""
    if len(parts) < 2:
        return []
    return [p.text for p in parts if not p.calls and not p.held_before and not negated(p.text)]


def decide_parts(
    text: str,
    parts: Sequence[Part],
    tools: Sequence[ToolSchema],
    home: HomeContext,
    *,
    previous: Turn | None = None,
    threshold: float = MIN_CALL_CONFIDENCE,
    ask_threshold: float = MIN_ASK_CONFIDENCE,
) -> Decision:
    """``decide`` for a sentence of several clauses: each call checked against its own
    clause, then one decision on all the calls together (a question holds every call, a
    partial answer says what was not done). A negated clause's calls are refused as such; when
    every clause is negated, the sentence is (``NEGATED``)."""
    negations = [negated(p.text) for p in parts]
    if all(negations):
        return Decision(
            NEGATED_KIND,
            held=[
                Held(c, "you asked me not to", NEGATED_KIND)
                for p in parts
                for c in (*p.calls, *(h.call for h in p.held_before))
            ],
            speech=NEGATED,
        )
    calls = [c for p in parts for c in p.calls]
    present = {e.domain for e in home.entities}
    by_name = {t.name: t for t in tools}
    named_all: dict[str, set[str]] = {}
    act: list[ToolCall] = []
    held: list[Held] = []
    questions: list[Pending] = []
    asked_before = _asked_before(previous)
    i = -1
    for part, negation in zip(parts, negations, strict=True):
        if negation:  # refused alone: the other clauses still run
            for j, call in enumerate(part.calls):
                i += 1
                conf = float(part.confidence[j]) if j < len(part.confidence) else 1.0
                held.append(Held(call, "you asked me not to", NEGATED_KIND, conf))
            held.extend(replace(h, reason="you asked me not to", kind=NEGATED_KIND)
                        for h in part.held_before)  # fmt: skip
            continue
        held.extend(part.held_before)
        clause = part.text
        sentence = (
            _content(clause)
            | (words(clause) & {"all"})
            | ({"all"} if _ROOMS.search(clause) else set())
        )
        named = sentence_domains(clause)
        for kind, kind_words in named.items():
            named_all.setdefault(kind, set()).update(kind_words)
        said = said_numbers(clause)
        said_words = words(clause)
        clause_words = _content(clause)
        place_words = frozenset(
            w for a in home.areas for n in a.names if _mentions(n, clause_words) for w in words(n)
        )
        is_question = asks(clause)
        described = one_described(clause, home)
        except_one = bool(_EXCEPT.search(clause.replace("’", "'")))
        unused = _unused_number(part.calls, clause)
        for j, call in enumerate(part.calls):
            i += 1
            conf = float(part.confidence[j]) if j < len(part.confidence) else 1.0
            tool_domains = TOOL_DOMAINS.get(call.name)
            read_only = call.name in READ_ONLY_TOOLS
            # a step's kind of device was checked where it was made, without the step's own
            # words ("warmer" asks for a step, it names no thermostat): relative.py
            kind_checked = read_only or call.name == STEP_TOOL
            asked = None
            if is_question and not read_only:
                asked = Held(call, "that sounded like a question, and a question changes nothing",
                             ASKED)  # fmt: skip
            elif call.name in _unasked_reads(clause) and not (
                is_question or (asked_before and not _commands(clause))
            ):
                asked = Held(call, "I did not hear a question", NOT_ASKED)
            elif (cls := _unsaid_class(call, clause, place_words)) is not None:
                asked = Held(call, f"I did not hear which sensors to check ({cls})", UNGROUNDED)
            elif read_only and _reads_nothing(call, home):
                asked = Held(call, _NO_MATCH_REASON, NO_MATCH)
            elif call.name == "HassGetState" and not _read_subject(call):
                # "what's the temperature in room b" read as every device of the room
                asked = Held(call, "I did not hear what to check", UNGROUNDED)
            elif except_one and not read_only and not call.arguments.get("name"):
                asked = Held(call, "I cannot leave one device out of a group yet", EXCEPTION)
            problem = (
                asked
                or _check_numbers(call, by_name.get(call.name), said)
                or _contradicts(call, clause, said_words, place_words)
                or _direction_not_said(call, clause, previous)
                or (None if kind_checked else check_kind(call, home, named, tool_domains))
                or (None if read_only else _not_the_one(call, described, home, tool_domains))
            )
            if problem is None and unused is not None:
                problem = Held(call, f"I did not catch what to set to {unused}", UNGROUNDED)
            if problem is None and conf < threshold:
                problem = Held(call, f"I was not sure you wanted me to {_describe(call, home)}",
                               LOW_CONFIDENCE)  # fmt: skip
            if problem is not None:
                held.append(replace(problem, confidence=conf))
                continue
            ask = (
                _read_target_is_said(call, home, sentence, previous, named)
                if read_only
                else _open_target(
                    call, home, clause, sentence, part.area, previous, tool_domains, named
                )
            )
            if isinstance(ask, Held):
                held.append(replace(ask, confidence=conf))
                continue
            if ask is not None:
                questions.append(replace(ask, index=i))
                held.append(Held(call, "I need to know which one", AMBIGUOUS, conf))
                continue
            act.append(call)

    if questions:  # nothing runs until the question is answered; then the whole request does
        first = questions[0]
        # the asked call as the question has it (a shopping-list add becomes a list add)
        keep = [first.calls[0] if j == first.index else c for j, c in enumerate(calls) if c in act or j == first.index]  # fmt: skip
        index = next(j for j, c in enumerate(keep) if c is first.calls[0])
        pending = Pending(text, tuple(keep), index, first.key, first.candidates)
        return Decision(ASK, held=held, speech=question(pending), pending=pending)
    if act:
        # Part of a several-command request would run and part not: nothing runs before the
        # user says so. Half a request carried out is still not what was asked (a wrong action
        # until the rest is done by hand), and "yes" costs one word. A negated part is no
        # such gap: "... but don't open the blinds" was done in full by doing the rest; and
        # what only reads a state is answered without asking, unless a read was unsure.
        undone = [h for h in held if h.kind != NEGATED_KIND]
        missed = missed_parts(parts)
        if (undone or missed) and any(c.name not in READ_ONLY_TOOLS for c in act):
            pending = Pending(text, tuple(act), 0, "")
            speech = _partial_question(act, undone, missed, home)
            return Decision(CONFIRM, held=held, speech=speech, pending=pending)
        if any(h.kind == LOW_CONFIDENCE and h.call.name in READ_ONLY_TOOLS for h in undone):
            # several reads for one question, some unsure: the model did not know what was
            # asked, and the sure ones are no better an answer
            return Decision(UNSURE, held=held, speech=NOT_SURE)
        return Decision(ACT, act=act, held=held)
    kinds_named = set(named_all) - {"timer"}  # no entity is a timer: timers are always there
    lacking = bool(kinds_named) and not (kinds_named & present)
    if lacking and all(h.kind in (WRONG_DEVICE, NO_MATCH) for h in held):
        word = sorted(set().union(*(named_all[k] for k in kinds_named)))[0]
        return Decision(NO_DEVICE, held=held, speech=f"Sorry, there is no {word} I can control.")
    if held and all(h.kind == NO_MATCH for h in held):
        return Decision(NO_DEVICE, held=held, speech=NOTHING_MATCHES)
    lows = [h for h in held if h.kind == LOW_CONFIDENCE]
    if len(held) == 1 and lows and lows[0].confidence >= ask_threshold:
        call = lows[0].call
        pending = Pending(text, (call,), 0, "")
        return Decision(CONFIRM, held=held, speech=question(pending), pending=pending)
    if held and all(h.kind in (LOW_CONFIDENCE, NOT_ASKED) for h in held):
        return Decision(UNSURE, held=held, speech=NOT_SURE)
    return Decision(NOTHING if not held else UNSURE, held=held)


# --- the answer to a question ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolution:
    """``calls`` to run (the completed request), or ``cancelled``, or neither: the answer was
    not about the question, and the sentence goes to the model as a new request."""

    calls: tuple[ToolCall, ...] = ()
    cancelled: bool = False


def resolve(pending: Pending, text: str, home: HomeContext) -> Resolution:
    """Complete ``pending`` with the user's answer ("the kitchen ones", "both", "yes")."""
    said = words(text)
    content = _content(text)
    if said & _NO or negated(text):
        return Resolution(cancelled=True)
    if not pending.key:
        return Resolution(calls=pending.calls) if said & _YES else Resolution()
    area_words = {a.name: frozenset().union(*(_content(n) for n in a.names)) for a in home.areas}
    scores: list[tuple[int, str]] = []
    for value, area in pending.candidates:
        hits = len(_content(value) & content)
        if area and area_words.get(area, frozenset()) & content:
            hits += 1
        scores.append((hits, value))
    best = max((s for s, _ in scores), default=0)
    if not best:
        if said & _YES and len(pending.candidates) == 1:
            return Resolution(calls=_fill(pending, [pending.candidates[0][0]]))
        if said & _ALL:
            return Resolution(calls=_fill(pending, [v for v, _ in pending.candidates]))
        return Resolution()
    chosen = [v for s, v in scores if s == best]
    if len(chosen) > 1 and not said & _ALL and not any(w.endswith("s") for w in text.split()):
        return Resolution()
    return Resolution(calls=_fill(pending, chosen))


def _fill(pending: Pending, values: Iterable[str]) -> tuple[ToolCall, ...]:
    """The request with the open argument set to each chosen value (one call per value)."""
    call = pending.calls[pending.index]
    filled = [ToolCall(call.name, {**call.arguments, pending.key: v}) for v in values]
    out: list[ToolCall] = []
    for j, c in enumerate(pending.calls):
        out.extend(filled if j == pending.index else [c])
    return tuple(out)


class PendingQuestions:
    """The question each conversation is waiting on; bounded in size and age like TurnMemory."""

    def __init__(
        self, max_items: int = TURN_MEMORY_MAX_CONVERSATIONS, ttl: float = TURN_MEMORY_TTL_S
    ) -> None:
        self._items: OrderedDict[str, tuple[float, Pending]] = OrderedDict()
        self._max, self._ttl = max_items, ttl

    def pop(self, conversation_id: str, now: float | None = None) -> Pending | None:
        item = self._items.pop(conversation_id, None)
        now = time.monotonic() if now is None else now
        if item is None or now - item[0] > self._ttl:
            return None
        return item[1]

    def put(self, conversation_id: str, pending: Pending, now: float | None = None) -> None:
        self._items[conversation_id] = (time.monotonic() if now is None else now, pending)
        self._items.move_to_end(conversation_id)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def log_fields(decision: Decision, confidence: Sequence[float]) -> dict[str, Any]:
    """What the debug log says about a decision: kinds and numbers, no names."""
    return {
        "kind": decision.kind,
        "confidence": [round(float(c), 3) for c in confidence],
        "held": [(h.kind, round(h.confidence, 3)) for h in decision.held],
    }
