"""The model's tokenizer: a ``tokenizers`` wrapper and the SentencePiece -> ``tokenizer.json`` converter.

Needle v1 was trained with a SentencePiece BPE model. Home Assistant OS (musl) has no
``sentencepiece`` wheel, so bundles carry the model converted to the Hugging Face ``tokenizers``
format, which has musl wheels. The converter reads the ``.model`` protobuf with a small wire-format
reader (no ``sentencepiece``/``protobuf`` at runtime) and reproduces SentencePiece's encoding:

* normalisation: the model's precompiled character map (empty for ``identity``), then
  ``remove_extra_whitespaces`` (strip ASCII spaces at both ends, collapse runs), then the dummy
  prefix and the space -> ``▁`` escape;
* BPE merges in the order of the merged piece's score (SentencePiece merges the adjacent pair
  whose concatenation scores highest; ranking merges by that score is the same rule);
* byte fallback to ``<0xNN>`` pieces, user-defined symbols as atomic tokens.

Decoding drops the dummy prefix: SentencePiece removes the leading space of the first piece.
"""

from __future__ import annotations

import json
import re
import struct
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import BOS, EOS, PAD, TOOL_CALL, TOOLS, UNK

if TYPE_CHECKING:
    from tokenizers import Tokenizer

SPACE_SYMBOL = "▁"  # SentencePiece's escaped space, U+2581
V1_SPECIALS = {
    PAD: "<pad>",
    EOS: "</s>",
    BOS: "<s>",
    UNK: "<unk>",
    TOOL_CALL: "<tool_call>",
    TOOLS: "<tools>",
}
# remove_extra_whitespaces, the ends (the middle: runs -> one). SentencePiece strips the end
# after escaping, so a literal "▁" there goes too; at the start only spaces do.
_STRIP_SPACES = r"\A +|[ \u2581]+\z"
_STRIP_PATTERNS = (_STRIP_SPACES, r"\A +| +\z")  # the second: bundles converted before 7 Dec 2026
_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")

# sentencepiece_model.proto enums
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6
_MODEL_TYPES = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}


class TokenizerError(ValueError):
    """The tokenizer file cannot be used by this engine; the message says why."""


# --- a minimal protobuf wire-format reader --------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise TokenizerError("truncated SentencePiece model (varint)")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise TokenizerError("malformed SentencePiece model (varint too long)")


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) for every field of one message, in order."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise TokenizerError(f"malformed SentencePiece model (wire type {wire})")
        if pos > len(buf):
            raise TokenizerError("truncated SentencePiece model")
        out.append((number, wire, value))
    return out


def _signed(v: int) -> int:
    """int32 fields are varints of the two's complement (negative ids take 10 bytes)."""
    return v - (1 << 64) if v >= 1 << 63 else v


@dataclass
class SentencePieceModel:
    """The fields of a SentencePiece ``ModelProto`` the conversion needs (proto defaults filled)."""

    pieces: list[tuple[str, float, int]] = field(default_factory=list)  # (piece, score, type)
    model_type: str = "unigram"
    byte_fallback: bool = False
    unk_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    pad_id: int = -1
    unk_surface: str = " \u2047 "
    treat_whitespace_as_suffix: bool = False
    normalizer_name: str = ""
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True

    @classmethod
    def parse(cls, data: bytes) -> SentencePieceModel:
        m = cls()
        try:
            top = _fields(data)
        except IndexError as err:
            raise TokenizerError("truncated SentencePiece model") from err
        for number, wire, value in top:
            if number == 1 and wire == 2:
                piece, score, kind = "", 0.0, _NORMAL
                for n, w, v in _fields(value):
                    if n == 1 and w == 2:
                        piece = v.decode("utf-8")
                    elif n == 2 and w == 5:
                        score = struct.unpack("<f", v)[0]
                    elif n == 3 and w == 0:
                        kind = v
                m.pieces.append((piece, score, kind))
            elif number == 2 and wire == 2:
                m._trainer(value)
            elif number == 3 and wire == 2:
                m._normalizer(value)
        if not m.pieces:
            raise TokenizerError("not a SentencePiece model: no pieces")
        return m

    def _trainer(self, buf: bytes) -> None:
        ints = {3: "model_type", 35: "byte_fallback", 24: "treat_whitespace_as_suffix"}
        ids = {40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id"}
        for n, w, v in _fields(buf):
            if n == 3 and w == 0:
                self.model_type = _MODEL_TYPES.get(v, f"type {v}")
            elif n in ints and w == 0:
                setattr(self, ints[n], bool(v))
            elif n in ids and w == 0:
                setattr(self, ids[n], _signed(v))
            elif n == 44 and w == 2:
                self.unk_surface = v.decode("utf-8")

    def _normalizer(self, buf: bytes) -> None:
        flags = {3: "add_dummy_prefix", 4: "remove_extra_whitespaces", 5: "escape_whitespaces"}
        for n, w, v in _fields(buf):
            if n == 1 and w == 2:
                self.normalizer_name = v.decode("utf-8")
            elif n == 2 and w == 2:
                self.precompiled_charsmap = bytes(v)
            elif n in flags and w == 0:
                setattr(self, flags[n], bool(v))


def _merges(pieces: list[tuple[str, float, int]], vocab: dict[str, int]) -> list[list[str]]:
    """BPE merges ranked by the merged piece's score (ties: vocabulary order)."""
    ranked: list[tuple[float, int, int, int, str, str]] = []
    for i, (piece, score, kind) in enumerate(pieces):
        if kind != _NORMAL or len(piece) < 2:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab:
                ranked.append((-score, i, vocab[left], vocab[right], left, right))
    ranked.sort()
    return [[left, right] for *_, left, right in ranked]


def convert_sentencepiece(model_bytes: bytes) -> str:
    """A SentencePiece BPE ``.model`` as a ``tokenizers`` JSON that encodes and decodes the same.

    Raises TokenizerError for anything else (unigram models, missing byte pieces, bad data).
    """
    sp = SentencePieceModel.parse(model_bytes)
    if sp.model_type != "bpe":
        raise TokenizerError(f"only SentencePiece BPE models are supported, not {sp.model_type}")
    if sp.treat_whitespace_as_suffix:
        raise TokenizerError("treat_whitespace_as_suffix models are not supported")
    if not sp.escape_whitespaces:
        raise TokenizerError("models without whitespace escaping are not supported")
    vocab: dict[str, int] = {}
    for i, (piece, _, _) in enumerate(sp.pieces):
        if piece in vocab:
            raise TokenizerError(f"piece {piece!r} occurs twice")
        vocab[piece] = i
    kinds = [kind for _, _, kind in sp.pieces]
    if not 0 <= sp.unk_id < len(sp.pieces) or kinds[sp.unk_id] != _UNKNOWN:
        raise TokenizerError("the model has no valid unknown piece")
    if sp.byte_fallback:
        missing = [b for b in range(256) if f"<0x{b:02X}>" not in vocab]
        if missing:
            raise TokenizerError(f"byte fallback without {len(missing)} byte pieces")

    added = []
    for i, (piece, _, kind) in enumerate(sp.pieces):
        if kind in (_CONTROL, _UNKNOWN, _USER_DEFINED):
            added.append(
                {
                    "id": i,
                    "content": piece,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    # user-defined symbols are matched in the escaped text, as SentencePiece does
                    "normalized": kind == _USER_DEFINED,
                    "special": kind != _USER_DEFINED,
                }
            )

    normalizers: list[dict[str, Any]] = []
    if sp.precompiled_charsmap:
        import base64

        normalizers.append(
            {
                "type": "Precompiled",
                "precompiled_charsmap": base64.b64encode(sp.precompiled_charsmap).decode(),
            }
        )
    if sp.remove_extra_whitespaces:
        normalizers += [
            {"type": "Replace", "pattern": {"Regex": _STRIP_SPACES}, "content": ""},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]
    if sp.add_dummy_prefix:
        # The dummy prefix as a zero-width replace at the start of the text, not ``Prepend``:
        # tokenizers also normalizes the user-defined symbols' own text, and a prefixed
        # "<tools>" would never match. A text that is exactly one symbol is the one case where
        # this differs from SentencePiece (which writes "▁" before it).
        symbols = "|".join(re.escape(t["content"]) for t in added if not t["special"])
        guard = f"(?!(?:{symbols})\\z)" if symbols else ""
        normalizers.append(
            {
                "type": "Replace",
                "pattern": {"Regex": f"\\A{guard}(?=[\\s\\S])"},
                "content": SPACE_SYMBOL,
            }
        )
    normalizers.append({"type": "Replace", "pattern": {"String": " "}, "content": SPACE_SYMBOL})

    decoders: list[dict[str, Any]] = [
        {"type": "Replace", "pattern": {"String": SPACE_SYMBOL}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
    ]
    if sp.add_dummy_prefix:
        decoders.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})

    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": None,
        "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": sp.pieces[sp.unk_id][0],
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": sp.byte_fallback,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": _merges(sp.pieces, vocab),
        },
    }
    return json.dumps(doc, ensure_ascii=False)


# --- the runtime wrapper ----------------------------------------------------------------------


def _byte_level_decoder_map() -> dict[str, int]:
    """GPT-2's byte-level alphabet, reversed (for tokenizers with a ByteLevel decoder)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars = list(printable)
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def _uses(component: Any, kind: str) -> bool:
    """Whether a tokenizer.json component (or a Sequence of them) contains ``kind``."""
    if not isinstance(component, dict):
        return False
    if component.get("type") == kind:
        return True
    parts = component.get("decoders") or component.get("normalizers") or []
    return any(_uses(p, kind) for p in parts)


class NeedleTokenizer:
    """The model's tokenizer, and the byte string each token adds to the decoded text.

    ``token_bytes`` is what constrained decoding walks: the UTF-8 bytes a token contributes to the
    *escaped* text (the dummy-prefix space included, so an answer reads ``prefix + JSON``), None
    for special tokens. Thread-safe: ``tokenizers`` encodes concurrently and the per-token tables
    are built once, under a lock.
    """

    def __init__(self, tokenizer: Tokenizer, doc: dict[str, Any]) -> None:
        self._tok = tokenizer
        # SentencePiece never reads control symbols ("<s>", "</s>", "<pad>", "<unk>") in text:
        # a user who types "<s>" gets the characters, not the id
        tokenizer.encode_special_tokens = True
        self._doc = doc
        self._lock = threading.Lock()
        self.vocab_size: int = tokenizer.get_vocab_size(with_added_tokens=True)
        added = doc.get("added_tokens") or []
        self._user_defined = frozenset(t["id"] for t in added if not t.get("special"))
        specials = {t["id"] for t in added if t.get("special")}
        self.special_ids: frozenset[int] = frozenset(specials | set(V1_SPECIALS))
        model = doc.get("model") or {}
        self._unk_id = tokenizer.token_to_id(model["unk_token"]) if model.get("unk_token") else None
        self._byte_fallback = bool(model.get("byte_fallback"))
        decoder = doc.get("decoder")
        if _uses(decoder, "ByteLevel"):
            self._mode = "bytelevel"
        elif _uses(decoder, "Metaspace") or _uses(decoder, "ByteFallback"):
            self._mode = "metaspace"
        else:
            self._mode = "decode"
        self._space_id = tokenizer.token_to_id(SPACE_SYMBOL) if self._mode == "metaspace" else None
        # SentencePiece models that remove extra whitespace also drop every leading "▁" piece
        normalizer = doc.get("normalizer") or {}
        self._strip_leading = any(
            (n.get("pattern") or {}).get("Regex") in _STRIP_PATTERNS
            for n in normalizer.get("normalizers", [normalizer])
        )

    @classmethod
    def from_str(cls, text: str) -> NeedleTokenizer:
        try:
            from tokenizers import Tokenizer
        except ImportError as err:  # pragma: no cover - a requirement of the integration
            raise TokenizerError("the tokenizers package is not installed") from err
        try:
            doc = json.loads(text)
            tok = Tokenizer.from_str(text)
        except Exception as err:
            raise TokenizerError(f"not a usable tokenizer.json: {err}") from err
        return cls(tok, doc)

    @classmethod
    def from_file(cls, path: str | Path) -> NeedleTokenizer:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise TokenizerError(f"cannot read {path}: {err}") from err
        return cls.from_str(text)

    def to_str(self) -> str:
        return self._tok.to_str()

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without BOS/EOS (the encoder input rule adds its own ids)."""
        ids: list[int] = self._tok.encode(text, add_special_tokens=False).ids
        if len(ids) == 1 and ids[0] in self._user_defined and self._prefixed:
            # a text that is exactly one user-defined symbol: SentencePiece writes "▁" before it
            ids = [self._space_id, ids[0]]  # type: ignore[list-item]
        return ids

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def id_to_token(self, token_id: int) -> str | None:
        return self._tok.id_to_token(token_id)

    def decode(self, ids: list[int], skip_special: bool = True) -> str:
        """The text of ``ids`` as SentencePiece decodes it; special ids left out by default."""
        ids = [int(i) for i in ids]
        if skip_special:
            ids = [i for i in ids if i not in self.special_ids]
        if self._mode != "metaspace":
            return self._tok.decode(ids, skip_special_tokens=skip_special)
        return self._decode_pieces(ids)

    def _decode_pieces(self, ids: list[int]) -> str:
        """SentencePiece's rules: control ids are invisible, the first visible piece loses one
        leading "▁" (when the model adds a dummy prefix; with extra-whitespace removal, pieces
        that are only "▁" are dropped until one is not), runs of byte pieces are decoded as
        UTF-8 with one U+FFFD per invalid byte."""
        out: list[str] = []
        pending = bytearray()
        first = True
        for i in ids:
            if not 0 <= i < self.vocab_size:
                raise TokenizerError(f"token id {i} is outside the vocabulary")
            if i in self.special_ids and i != self._unk_id and i not in self._user_defined:
                continue  # control symbols (<s>, </s>, <pad>) print nothing
            data = self._byte_of(i)
            if data is not None:
                pending.append(data)
                first = False
                continue
            if pending:
                out.append(_utf8_replace(bytes(pending)))
                pending.clear()
            piece = self._tok.id_to_token(i) or ""
            if i == self._unk_id:
                text = UNK_SURFACE
            elif i in self._user_defined:
                text = piece
            else:
                if first and self._prefixed and piece.startswith(SPACE_SYMBOL):
                    piece = piece[1:]
                    if not piece and self._strip_leading:
                        continue  # still at the start: the next piece loses its "▁" too
                text = piece.replace(SPACE_SYMBOL, " ")
            first = False
            out.append(text)
        if pending:
            out.append(_utf8_replace(bytes(pending)))
        return "".join(out)

    def _byte_of(self, token_id: int) -> int | None:
        if not self._byte_fallback or token_id in self._user_defined:
            return None
        match = _BYTE_PIECE.match(self._tok.id_to_token(token_id) or "")
        return int(match.group(1), 16) if match else None

    # -- what constrained decoding needs ---------------------------------------------------

    def _bytes_of(self, token_id: int, byte_level: dict[str, int]) -> bytes:
        piece = self._tok.id_to_token(token_id)
        if piece is None:
            return b""
        if self._mode == "bytelevel":
            if all(c in byte_level for c in piece):
                return bytes(byte_level[c] for c in piece)
            return piece.encode("utf-8")  # an added token kept as plain text
        if self._mode == "metaspace":
            if (byte := self._byte_of(token_id)) is not None:
                return bytes([byte])
            return piece.replace(SPACE_SYMBOL, " ").encode("utf-8")
        return self._tok.decode([token_id], skip_special_tokens=False).encode("utf-8")

    @cached_property
    def token_bytes(self) -> tuple[bytes | None, ...]:
        """Per id: the bytes the token adds to the escaped text, or None (special/unknown)."""
        with self._lock:
            byte_level = _byte_level_decoder_map() if self._mode == "bytelevel" else {}
            out: list[bytes | None] = []
            for i in range(self.vocab_size):
                if i in self.special_ids or i == self._unk_id:
                    out.append(None)
                else:
                    out.append(self._bytes_of(i, byte_level) or None)
            return tuple(out)

    @cached_property
    def _prefixed(self) -> bool:
        return self._mode == "metaspace" and self._space_id is not None and self.prefix == b" "

    @cached_property
    def prefix(self) -> bytes:
        """What encoding puts before the text: SentencePiece's dummy-prefix space, or b""."""
        probe = "[x"
        ids = self._tok.encode(probe, add_special_tokens=False).ids
        got = self.text_bytes(ids)
        if not got.endswith(probe.encode()):
            raise TokenizerError("cannot map this tokenizer's tokens back to text")
        return got[: -len(probe)]

    def text_bytes(self, ids: list[int]) -> bytes:
        """The escaped text of ``ids`` (dummy prefix included), special ids left out."""
        table = self.token_bytes
        return b"".join(table[i] or b"" for i in ids)


UNK_SURFACE = " \u2047 "  # SentencePiece's default surface of <unk>


def _utf8_replace(data: bytes) -> str:
    """Decode UTF-8 with one U+FFFD per byte that does not start a valid sequence (as
    SentencePiece does; Python's "replace" would merge a truncated sequence into one)."""
    out: list[str] = []
    i = 0
    while i < len(data):
        lead = data[i]
        size = 1 if lead < 0x80 else 2 if lead >> 5 == 6 else 3 if lead >> 4 == 14 else 4
        try:
            out.append(data[i : i + size].decode("utf-8"))
            i += size
        except UnicodeDecodeError:
            out.append("\ufffd")
            i += 1
    return "".join(out)
