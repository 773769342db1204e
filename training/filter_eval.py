"""Drop generated examples whose sentence is an evaluation or held-out sentence.

The generator walks HA's intent templates and our own grammars, so by chance it can produce a
sentence that an evaluation suite also holds (HA's intent tests come from the same templates).
Training on such a sentence would make the suite measure memory, not understanding, so every
example whose request (the first line of the query) equals, after folding case, punctuation and
spaces, a sentence of any suite given (``cases.jsonl`` ``text``) or of the hand-written held-out
set (``query``) is dropped before training.

    python -m training.filter_eval IN.jsonl OUT.jsonl --suites ../shared/eval eval \
        --heldout training/heldout/heldout.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from pathlib import Path

_NOT_WORD = re.compile(r"[^\w']+")


def fold(sentence: str) -> str:
    """The form two sentences are compared in: lower case, words only, single spaces."""
    return " ".join(_NOT_WORD.sub(" ", sentence.casefold()).split())


def forbidden(suites: Iterable[Path], heldout: Iterable[Path]) -> set[str]:
    """The folded sentences of every suite's cases and every held-out file's queries."""
    out: set[str] = set()
    for root in suites:
        for cases in sorted(Path(root).rglob("cases.jsonl")):
            for line in cases.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    out.add(fold(json.loads(line)["text"]))
    for path in heldout:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.add(fold(json.loads(line)["query"].split("\n", 1)[0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inp", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--suites", type=Path, nargs="*", default=[])
    parser.add_argument("--heldout", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    banned = forbidden(args.suites, args.heldout)
    kept = dropped = 0
    with args.inp.open(encoding="utf-8") as src, args.out.open("w", encoding="utf-8") as dst:
        for line in src:
            if not line.strip():
                continue
            if fold(json.loads(line)["query"].split("\n", 1)[0]) in banned:
                dropped += 1
                continue
            dst.write(line)
            kept += 1
    print(f"{len(banned)} evaluation/held-out sentences; kept {kept}, dropped {dropped}")


if __name__ == "__main__":
    main()
