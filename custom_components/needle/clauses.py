"""Several actions in one sentence: "turn on the porch light and lock the front door".

The shipped model answers such a sentence with one of its calls; it answers each command alone
far better. This module is the small English grammar that cuts a sentence into its commands, so
that each gets its own prompt and decode (``conversation.py``); the policy then decides on all
the calls together, each checked against its own clause (``policy.decide_parts``).

A sentence is cut at a coordinator (", and", "and then", "then", ",", ";", "and", "after that",
"also", the end of a spoken sentence ". " ...) only where the words after it begin a new command: a command verb of HA's intents
and domains ("lock", "set", "play", ...), or a negated one ("and don't open the blinds"), after
at most a few polite words ("and please lock ..."). The words before it must begin a command
too. So "turn on the lights and fans in the kitchen" stays whole ("fans" is no verb), and so does
"turn off the lounge lights but leave the lamp on": "but", "except" and "apart from" narrow the
command before them, they do not start another. At most ``MAX_CLAUSES`` clauses: the last one
keeps the rest of the sentence.

A negation governs what follows it: nothing after a negated clause is cut off ("don't open the
blinds and lock the door" may mean neither), so the policy refuses all of it; a negated later
clause ("turn on the lamp and don't open the blinds") is a clause of its own and is refused alone.

Words that belong to the whole sentence: an area named in one clause is carried to the clauses
that name none ("turn on the lights and close the blinds in the kitchen"), in the place the
prompt builder already takes the area a request is about, the satellite's area
(``prompt.build_prompt(satellite_area=...)``); several different areas carry none. A floor is
not carried (the prompt has no place for it).

Plain Python, no Home Assistant import (like ``prompt.py`` and ``policy.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .policy import areas_named
from .prompt import HomeContext

MAX_CLAUSES = 4  # a decode is ~10-15 ms on a hub: four commands stay well under HA's budget

# The verbs that begin a command, from HA's intents (HassTurnOn, HassLightSet, HassSetPosition,
# HassMediaPause, HassVacuumReturnToBase, HassListAddItem, HassStartTimer, ...) and its domains'
# services (cover.open_cover, lock.unlock, scene.turn_on "activate", script "run", button
# "press", alarm "arm"). Not here: words that are devices as often as verbs ("vacuum", "water",
# "light", "fan"), so "turn off the tv and vacuum" stays one clause.
COMMAND_VERBS = frozenset(
    {
        "turn", "switch", "power", "flip", "toggle", "kill",
        "open", "close", "shut", "draw", "raise", "lower", "lift", "roll", "retract", "extend",
        "lock", "unlock", "bolt", "unbolt",
        "set", "change", "adjust", "make", "put", "dim", "brighten", "increase", "decrease",
        "reduce", "boost", "crank", "heat", "cool", "warm",
        "start", "stop", "pause", "unpause", "resume", "continue", "play", "skip", "mute",
        "unmute", "dock", "return", "send", "clean", "mow",
        "add", "remove", "complete", "cancel",
        "activate", "deactivate", "enable", "disable", "run", "trigger", "press", "push",
        "arm", "disarm",
    }
)  # fmt: skip
# Coordinators, as token sequences; longest first, so ", and then" wins over ",".
_COORDINATORS: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            (",", "and", "then"), (",", "and", "after", "that"), ("and", "after", "that"),
            (",", "after", "that"), ("after", "that"), (",", "and", "also"), ("and", "also"),
            (",", "then"), (",", "and"), (",", "also"), ("and", "then"), ("then",), ("also",),
            ("and",), (",",), (";",), ("and", "afterwards"), (",", "afterwards"),
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
# Polite words a command may start with ("please lock ...", "could you turn ...").
_FILLERS = frozenset({"please", "pls", "kindly", "now", "just", "also", "then", "and", "ok",
                      "okay", "so", "quickly"})  # fmt: skip
_FILLER_PAIRS = frozenset({("can", "you"), ("could", "you"), ("would", "you"), ("will", "you")})
_PUNCTUATION = frozenset({",", ";", ".", "!", "?"})
_NEGATIONS = frozenset({"don't", "dont", "never"})
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z0-9]+(?:['’][a-z]+)?|[,;.!?]", re.IGNORECASE)
# a name with a coordinator in it ("Rock and Roll Speaker", "St. Mary's Room")
_ARTICLE = re.compile(r"(?:the|my|our) ")
_LIST_SEPARATOR = re.compile(r" *(?:, *and\b|,|\band\b) *")
_TOKEN_SPLITS = re.compile(r"[,;.!?]|\b(?:and|then|also|after|afterwards)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Clause:
    """One command of the sentence, and the area its prompt and checks take as the place it is
    about: the satellite's, or the one another clause of the sentence names."""

    text: str
    area: str | None = None


def _words(text: str) -> list[str]:
    return [m.group().lower().replace("’", "'") for m in _TOKEN.finditer(text)]


def _begins_command(toks: Sequence[str], i: int) -> tuple[bool, bool]:
    """Whether the words from ``toks[i]`` begin a command, and whether it is a negated one."""
    while i < len(toks):
        if toks[i] in _FILLERS:
            i += 1
        elif tuple(toks[i : i + 2]) in _FILLER_PAIRS:
            i += 2
        else:
            break
    negated = False
    if i < len(toks) and toks[i] in _NEGATIONS:
        negated, i = True, i + 1
    elif toks[i : i + 2] == ["do", "not"]:
        negated, i = True, i + 2
    # a verb and something it acts on: "lock" alone ("... and lock") is too little to cut at
    verb = i + 1 < len(toks) and toks[i] in COMMAND_VERBS and toks[i + 1] not in _PUNCTUATION
    return verb, negated


def split(text: str, names: Iterable[str] = ()) -> list[str]:
    """The sentence's commands, in order; ``[text]`` itself when it is one command (or when
    the grammar cannot tell), so a single command reaches the model exactly as typed.
    ``names``: the home's names (entities, areas, floors); a sentence is never cut inside one
    ("the Rock and Roll Speaker")."""
    folded = text.casefold()
    protected = [
        (m.start(), m.end())
        for n in names
        if _TOKEN_SPLITS.search(n)
        for m in re.finditer(re.escape(n.casefold()), folded)
    ]
    matches = list(_TOKEN.finditer(text))
    toks = [m.group().lower().replace("’", "'") for m in matches]
    starts_command, negated = _begins_command(toks, 0)
    if not starts_command or negated:
        return [text]
    cuts: list[tuple[int, int]] = []  # (end of the clause before, start of the next) in tokens
    i = 1
    while i < len(toks) and len(cuts) < MAX_CLAUSES - 1:
        coordinator = next((c for c in _COORDINATORS if tuple(toks[i : i + len(c)]) == c), None)
        if coordinator is None:
            i += 1
            continue
        after = i + len(coordinator)
        begins, negated = _begins_command(toks, after)
        inside = any(a < matches[i].start() < b for a, b in protected)
        if begins and not inside:
            cuts.append((i, after))
            if negated:  # a negation governs the rest of the sentence
                break
            i = after + 1
        else:
            i = after
    if not cuts:
        return [text]
    pieces: list[str] = []
    start = 0
    for end, nxt in cuts:
        pieces.append(text[start : matches[end].start()])
        start = matches[nxt].start()
    pieces.append(text[start:])
    *before, last = (" ".join(p.split()) for p in pieces)
    return [p.rstrip(" ,;.!?") for p in before] + [last.strip()]


def _name_at(folded: str, pos: int, names: Sequence[str]) -> tuple[int, int, int] | None:
    """A home's name at ``pos`` (after spaces and an article): (start of the article or the
    name, start of the name, end of the name), the longest name that fits; else None."""
    while pos < len(folded) and folded[pos] == " ":
        pos += 1
    start = pos
    if (m := _ARTICLE.match(folded, pos)) is not None:
        pos = m.end()
    for name in names:  # longest first
        end = pos + len(name)
        if folded.startswith(name, pos) and (end == len(folded) or not folded[end].isalnum()):
            return start, pos, end
    return None


def distribute(text: str, names: Sequence[str]) -> list[str]:
    """One command over a list of the home's names, one clause per name: "kill the sofa lamp,
    the worktop strip and the bed lamp" -> "kill the sofa lamp", "kill the worktop strip",
    "kill the bed lamp"; "turn on the study, hall and garden lights" -> "turn on the study
    lights", ... (what follows the last name goes with every name). Only where every item of
    the list is a name of the home (an entity, area or floor, whole words): "add milk, eggs and
    butter to the list" stays whole. ``names`` folded, longest first."""
    folded = text.lower()
    if len(folded) != len(text):  # offsets must agree between the two
        return [text]
    words = list(re.finditer(r"[a-z0-9]+", folded))
    for w in words[1:]:  # the first word is the verb
        first = _name_at(folded, w.start(), names)
        if first is None:
            continue
        items = [first]
        while (sep := _LIST_SEPARATOR.match(folded, items[-1][2])) is not None:
            nxt = _name_at(folded, sep.end(), names)
            if nxt is None:
                break
            items.append(nxt)
        if len(items) < 2:
            continue
        head, tail = text[: first[0]], text[items[-1][2] :]
        article = text[first[0] : first[1]]  # "the" said once goes with every name
        return [
            " ".join(f"{head}{text[a:n] or article}{text[n:e]}{tail}".split())
            for a, n, e in items
        ]
    return [text]


def _areas_in(text: str, home: HomeContext) -> set[str]:
    """The areas the text names as a place, after "in" ("... in the kitchen"): a place said so
    at the end of a sentence belongs to all of it; "the kitchen lights" names a device's area
    and belongs to its own clause."""
    folded = " ".join(re.findall(r"[a-z0-9']+", text.casefold()))
    return {
        a.name
        for a in home.areas
        for n in a.names
        if re.search(rf"\b(?:in|inside) (?:the |my |our )?{re.escape(n.casefold())}\b", folded)
    }


def plan(text: str, home: HomeContext, satellite_area: str | None = None) -> tuple[Clause, ...]:
    """The clauses of a sentence with the area each is about: its own when it names one, else
    the one area another clause names as a place ("... in the study"), else the satellite's.
    One clause: the sentence and the satellite's area, as without this module."""
    names = [n for place in (*home.entities, *home.areas, *home.floors) for n in place.names]
    pieces = split(text, names)
    folded = sorted({n.lower() for n in names if n.strip()}, key=len, reverse=True)
    spread: list[str] = []
    for piece in pieces:
        begins, negated = _begins_command(_words(piece), 0)
        parts = distribute(piece, folded) if begins and not negated else [piece]
        spread.extend(parts)
    if len(spread) <= MAX_CLAUSES:
        pieces = spread
    if len(pieces) == 1:
        return (Clause(text, satellite_area),)
    named = [areas_named(p, home) for p in pieces]
    places = set().union(*(_areas_in(p, home) for p in pieces))
    carried = next(iter(places)) if len(places) == 1 else None
    return tuple(
        Clause(p, satellite_area if n or carried is None else carried)
        for p, n in zip(pieces, named, strict=True)
    )
