"""Specific Character Set (0008,0005): decode and encode text values.

:func:`decode_text` turns one element's whole raw value (all its values and
their backslashes) into ``str`` and :func:`encode_text` is its inverse. Values
are decoded together because GBK and GB18030 use the byte 0x5C inside
characters: split on backslash *after* decoding. Only LO, LT, PN, SH, ST, UC
and UT use the declared sets (PS3.5 6.1.2.3); other VRs are ASCII.

Sets without code extensions (``ISO_IR 100``, ``ISO_IR 192``, ``GB18030`` ...)
use one Python codec. Sets with code extensions (``ISO 2022 IR n``, PS3.3
C.12.1.1.2 Tables C.12-3/C.12-4) run an ISO 2022 machine: escape sequences
designate sets into G0 (bytes 0x21-0x7E) and G1 (0xA0-0xFF), and value 1's
designations are active again after each delimiter (PS3.5 6.1.2.5.3): ``^``,
``=`` and backslash in PN; backslash, CR, LF, TAB and FF in other VRs. The
encoder keeps the active set while it can, else designates the first declared
set that can, and returns to value 1's G0 set before each delimiter and at the
end (as the examples of PS3.5 Annex H and I do).

Leniency, each choice deliberate:

* :func:`normalize` silently corrects unambiguous misspellings: any case; space,
  underscore, hyphen or nothing around ``ISO``, ``2022``, ``IR`` and the number
  (``ISO_IR_100``, ``ISO IR 100``, ``ISO-IR 192``, ``ISO2022IR87``); ``ISO_IR n``
  for a set that only exists as ``ISO 2022 IR n`` (87, 159, 149, 58) and the
  reverse; ``UTF-8``, ``UTF8``, ``UTF_8`` for ``ISO_IR 192``; ``GB2312``,
  ``EUC-CN`` and ``ISO 2022 GBK`` for ``GBK`` (a byte-compatible superset);
  ``ISO 2022 58`` for ``ISO 2022 IR 58``; ``ISO-8859-n`` for its ``ISO_IR``
  term. ``ISO_IR 6`` means the default repertoire.
* With several terms, ``ISO_IR n`` is read as ``ISO 2022 IR n``. UTF-8, GB18030
  and GBK allow no code extensions: as value 1 they are used alone, later they
  are ignored; both warn :class:`~dicomframe.errors.CharsetWarning`.
* An unknown term warns (naming it) and falls back to ISO_IR 6, where bytes
  that are not ASCII are decoded as latin-1 so nothing is lost (and are encoded
  back the same way). Among code extensions, an unknown term is ignored.
* Bytes invalid in the declared sets (undeclared latin-1, "UTF-8" that is
  latin-1, GR bytes with no G1 set, unknown escape sequences) give one warning
  per value and become the latin-1 characters of the same values. pydicom
  replaces them with U+FFFD, which loses them; DCMTK keeps the raw bytes, which
  a ``str`` cannot hold. Latin-1 keeps every byte recoverable and is usually
  what the sender meant; encoding the text then writes it validly.
* Escape sequences of undeclared sets are still honoured. JIS X 0201 Romaji
  (``ESC ( J``) is read as ASCII: 0x5C is the DICOM delimiter in both. C0 and
  C1 control characters pass through unchanged.
* VRs without character set decode as latin-1 (ASCII, with a lossless
  fallback) and encode the same way, silently: checking a VR's repertoire is
  the validator's job.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache

from dicomframe.core.lazyre import LazyPattern
from dicomframe.core.record import Record, record
from dicomframe.core.vr import CHARSET_VRS, VR
from dicomframe.errors import CharsetWarning, EncodingError

__all__ = ["decode_text", "encode_text", "normalize", "python_codec"]


@record
class _GSet(Record):
    """A graphic set of ISO 2022: its designating escape sequence and how Python decodes it."""

    escape: bytes
    codec: str
    width: int  # bytes per character
    upper: bool  # designated to G1 and used in GR (0xA0-0xFF); else G0 and GL (0x21-0x7E)


_RETURN = b"\x1b(B"  # the Python ISO 2022 codecs end in ASCII; we strip or add this
_ASCII = _GSet(_RETURN, "ascii", 1, upper=False)
_ROMAJI = _GSet(b"\x1b(J", "ascii", 1, upper=False)  # JIS X 0201 Romaji, read as ASCII
_KATAKANA = _GSet(b"\x1b)I", "shift_jis", 1, upper=True)  # JIS X 0201 Katakana
_JIS_X_0208 = _GSet(b"\x1b$B", "iso2022_jp", 2, upper=False)
_JIS_X_0212 = _GSet(b"\x1b$(D", "iso2022_jp_1", 2, upper=False)
_KS_X_1001 = _GSet(b"\x1b$)C", "euc_kr", 2, upper=True)
_GB_2312 = _GSet(b"\x1b$)A", "gb2312", 2, upper=True)

# PS3.3 Tables C.12-2 and C.12-3: ISO-IR number -> (Python codec, final byte of the
# G1 designation "ESC - F", ISO 8859 part). ISO-IR 166 is a 96-set (ESC - T), so it
# is ISO 8859-11: TIS-620 plus NBSP at 0xA0.
_SINGLE_BYTE = {
    100: ("latin_1", b"A", 1), 101: ("iso8859_2", b"B", 2), 109: ("iso8859_3", b"C", 3),
    110: ("iso8859_4", b"D", 4), 126: ("iso8859_7", b"F", 7), 127: ("iso8859_6", b"G", 6),
    138: ("iso8859_8", b"H", 8), 144: ("iso8859_5", b"L", 5), 148: ("iso8859_9", b"M", 9),
    166: ("iso8859_11", b"T", 11), 203: ("iso8859_15", b"b", 15),
}  # fmt: skip
# The G0 and G1 sets each term designates (PS3.3 Tables C.12-3 and C.12-4).
_DESIGNATIONS: dict[str, tuple[_GSet | None, _GSet | None]] = {
    "": (_ASCII, None),
    "ISO 2022 IR 6": (_ASCII, None),
    "ISO 2022 IR 13": (_ROMAJI, _KATAKANA),
    "ISO 2022 IR 87": (_JIS_X_0208, None),
    "ISO 2022 IR 159": (_JIS_X_0212, None),
    "ISO 2022 IR 149": (None, _KS_X_1001),
    "ISO 2022 IR 58": (None, _GB_2312),
} | {
    f"ISO 2022 IR {n}": (_ASCII, _GSet(b"\x1b-" + final, codec, 1, upper=True))
    for n, (codec, final, _) in _SINGLE_BYTE.items()
}
# Sets that allow no code extensions (PS3.3 Tables C.12-1 and C.12-5).
_STANDALONE = {"ISO_IR 192": "utf_8", "GB18030": "gb18030", "GBK": "gbk"}
_CODECS: dict[str, str] = {
    "": "ascii", "ISO_IR 6": "ascii", "ISO 2022 IR 6": "ascii", "ISO_IR 13": "shift_jis",
    "ISO 2022 IR 13": "shift_jis", "ISO 2022 IR 87": "iso2022_jp", "ISO 2022 IR 58": "gb2312",
    "ISO 2022 IR 159": "iso2022_jp_1", "ISO 2022 IR 149": "euc_kr", **_STANDALONE,
} | {f"ISO{infix}{n}": codec for n, (codec, _, _) in _SINGLE_BYTE.items()
     for infix in ("_IR ", " 2022 IR ")}  # fmt: skip
_ESCAPES = {g.escape: g for pair in _DESIGNATIONS.values() for g in pair if g is not None}
_ESCAPES[b"\x1b$@"] = _JIS_X_0208  # JIS C 6226-1978, the older edition of the same set

_ALIASES = {
    "UTF-8": "ISO_IR 192", "UTF8": "ISO_IR 192", "UTF_8": "ISO_IR 192", "GB2312": "GBK",
    "EUC-CN": "GBK", "ISO 2022 GBK": "GBK", "ISO 2022 58": "ISO 2022 IR 58",
}  # fmt: skip
_ISO_8859 = {part: n for n, (_, _, part) in _SINGLE_BYTE.items()}
_SPELLING = LazyPattern(r"ISO[ _-]?(2022[ _-]?)?IR[ _-]?(\d+)")
_LATIN = LazyPattern(r"ISO[ _-]?8859[ _-]?(\d+)")
_TOKEN = LazyPattern(
    rb"\x1b[\x20-\x2f]*[\x30-\x7e]?|[\x21-\x7e]+|[\xa0-\xff]+|[\x00-\x20\x7f-\x9f]"
)


def _canonical(term: str) -> str:
    """Return the defined term a (possibly misspelt) term stands for, else it stripped."""
    stripped = term.strip(" \x00")
    key = stripped.upper()
    if key in _CODECS or key in _ALIASES:
        return _ALIASES.get(key, key)
    if (latin := _LATIN.fullmatch(key)) and int(latin[1]) in _ISO_8859:
        return f"ISO_IR {_ISO_8859[int(latin[1])]}"
    if (match := _SPELLING.fullmatch(key)) is None:
        return stripped
    plain, extended = f"ISO_IR {match[2]}", f"ISO 2022 IR {match[2]}"
    candidates = (extended, plain) if match[1] else (plain, extended)
    return next((name for name in candidates if name in _CODECS), stripped)


def normalize(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """Return the defined terms of a Specific Character Set value.

    Parameters
    ----------
    value
        The (0008,0005) value: one string (values separated by backslashes),
        the values already split, or ``None``.

    Returns
    -------
    tuple of str
        The terms with padding removed and misspellings corrected (see the
        module docstring). An empty value 1 is kept, as it means the default
        repertoire: ``("", "ISO 2022 IR 87")``; no value at all gives ``()``.
    """
    if value is None:
        return ()
    if isinstance(value, bytes | bytearray | memoryview):  # a wrong VR (OB, UN ...) in the file
        value = bytes(value).decode("latin-1")
    parts = value.split("\\") if isinstance(value, str) else _iterable(value)
    # A wrong VR can make the value a number: its text is then an unknown term, not a crash.
    terms = [_canonical(part if isinstance(part, str) else str(part)) for part in parts]
    # PS3.3 C.12.1.1.2: only value 1 may be empty; a later empty value says nothing.
    terms = terms[:1] + [term for term in terms[1:] if term]
    return tuple(terms) if any(terms) else ()


def _iterable(value: object) -> list[object]:
    return list(value) if isinstance(value, Iterable) else [value]


def python_codec(term: str) -> str | None:
    """Return the Python codec that decodes one defined term, or ``None`` when unknown.

    ``""`` (the default repertoire) gives ``"ascii"``. For code-extension terms
    it is the codec of the set the term designates: ``"iso2022_jp"`` for
    ``ISO 2022 IR 87``, ``"euc_kr"`` for ``ISO 2022 IR 149``.
    """
    return _CODECS.get(_canonical(term))


@record
class _Plan(Record):
    """How to decode and encode under one Specific Character Set value."""

    label: str
    codec: str | None = None  # one codec for the whole value; None: the ISO 2022 machine
    g0: _GSet = _ASCII  # designations of value 1, active at the start and after delimiters
    g1: _GSet | None = None
    sets: tuple[_GSet, ...] = ()  # every declared set, in declared order
    problems: tuple[str, ...] = ()  # warnings to give on every use


def _single_plan(term: str) -> _Plan:
    """Plan for a value 1 alone."""
    if term in ("", "ISO_IR 6"):
        return _Plan("ISO_IR 6", codec="ascii")
    if term not in _CODECS:
        fallback = "using ISO_IR 6, where bytes that are not ASCII are decoded as latin-1"
        message = f"unknown Specific Character Set term {term!r}; {fallback} so nothing is lost"
        return _Plan("ISO_IR 6", codec="latin_1", problems=(message,))
    if term in _DESIGNATIONS or term == "ISO_IR 13":  # 13: only 0xA1-0xDF in G1 are valid
        return _extended_plan([term])
    return _Plan(term, codec=_CODECS[term])


def _extended_plan(terms: list[str]) -> _Plan:
    """Plan for the ISO 2022 machine; ``ISO_IR n`` is read as ``ISO 2022 IR n``."""
    problems: list[str] = []
    sets: list[_GSet] = []
    keys = [term.replace("ISO_IR ", "ISO 2022 IR ") if term != "ISO_IR 6" else "" for term in terms]
    for term, key in zip(terms, keys, strict=True):
        if term in _STANDALONE:
            problems.append(f"{term} allows no code extensions; ignoring it")
        elif key not in _DESIGNATIONS:
            problems.append(f"unknown Specific Character Set term {term!r}; ignoring it")
        else:
            sets += [g for g in _DESIGNATIONS[key] if g is not None and g not in sets]
    g0, g1 = _DESIGNATIONS.get(keys[0], (_ASCII, None))
    # A multi-byte value 1 is not allowed (PS3.3 C.12.1.1.2) and would make ASCII unreadable.
    g0 = g0 if g0 is not None and g0.width == 1 else _ASCII
    sets = sets if _ASCII in sets or _ROMAJI in sets else [_ASCII, *sets]
    return _Plan("\\".join(terms), None, g0, g1, tuple(sets), tuple(problems))


@lru_cache(maxsize=256)
def _plan(charsets: tuple[str, ...]) -> _Plan:
    """Resolve the terms into a plan; cached because every text element asks."""
    terms = [_canonical(term) for term in charsets] or [""]
    if terms[0] in _STANDALONE:
        ignored = f"{terms[0]} allows no code extensions; ignoring {terms[1:]}"
        return _Plan(terms[0], _STANDALONE[terms[0]], problems=(ignored,) if terms[1:] else ())
    return _single_plan(terms[0]) if len(terms) == 1 else _extended_plan(terms)


def _delimiters(vr: VR | str) -> str | None:
    """Return the characters after which value 1's sets are active again; None: not text."""
    name = vr.value if isinstance(vr, VR) else vr
    if name not in _TEXT_VRS:
        return None
    return "\\^=" if name == "PN" else "\\\r\n\t\f"  # PS3.5 6.1.2.5.3


_TEXT_VRS = frozenset(vr.value for vr in CHARSET_VRS)


class _Decoder:
    """The ISO 2022 machine of PS3.5 6.1.2.5, fed one token of :data:`_TOKEN` at a time."""

    __slots__ = ("bad", "delimiters", "g0", "g1", "plan")

    def __init__(
        self,
        plan: _Plan,
        delimiters: bytes,
        g0: _GSet = _ASCII,
        g1: _GSet | None = None,
        bad: list[bytes] | None = None,
    ) -> None:
        self.plan = plan
        self.delimiters = delimiters
        self.g0 = g0
        self.g1 = g1
        self.bad: list[bytes] = [] if bad is None else bad

    def run(self, raw: bytes) -> str:
        self.g0, self.g1 = self.plan.g0, self.plan.g1
        return "".join(self._token(match.group()) for match in _TOKEN.finditer(raw))

    def _token(self, token: bytes) -> str:
        lead, escape = token[0], _ESCAPES.get(token)
        if escape is not None:
            self.g0, self.g1 = (self.g0, escape) if escape.upper else (escape, self.g1)
            return ""
        gset = self.g0 if lead < 0x80 else self.g1
        if gset is None or lead == 0x1B:  # unknown escape, or GR bytes but no G1 set
            self.bad.append(token)
            return token.decode("latin_1")
        if lead < 0x21 or 0x7F <= lead < 0xA0:  # C0, SPACE, DEL, C1: never part of a set
            self._reset_if_delimiter(token)
            return chr(lead)
        if lead < 0x80 and gset.width == 1:
            self._reset_if_delimiter(token)
            return token.decode("ascii")
        return self._units(gset, token)

    def _reset_if_delimiter(self, token: bytes) -> None:
        if any(byte in self.delimiters for byte in token):
            self.g0, self.g1 = self.plan.g0, self.plan.g1

    def _units(self, gset: _GSet, run: bytes) -> str:
        """Decode a run of one set's characters; only if that fails, one character at a time."""
        text = _decode_in(gset, run)
        if text is not None and len(text) * gset.width == len(run):
            return text
        parts = []
        for start in range(0, len(run), gset.width):
            unit = run[start : start + gset.width]
            char = _decode_in(gset, unit) if len(unit) == gset.width else None
            if char is None or len(char) != 1:
                self.bad.append(unit)
                char = unit.decode("latin_1")
            parts.append(char)
        return "".join(parts)


def _decode_in(gset: _GSet, data: bytes) -> str | None:
    """Decode bytes of one set, or None when they are not valid in it."""
    if not gset.upper and gset.width == 2:
        data = gset.escape + data + _RETURN  # Python's ISO 2022 codecs need the designation
    try:
        return data.decode(gset.codec)
    except UnicodeDecodeError:
        return None


def _decode_codec(raw: bytes, codec: str, bad: list[bytes]) -> str:
    """Decode with one codec, keeping invalid bytes as their latin-1 characters."""
    parts, pos = [], 0
    while True:
        try:
            parts.append(raw[pos:].decode(codec))
            return "".join(parts)
        except UnicodeDecodeError as exc:
            parts.append(raw[pos : pos + exc.start].decode(codec))
            bad.append(raw[pos + exc.start : pos + exc.end])
            parts.append(bad[-1].decode("latin_1"))
            pos += exc.end


def decode_text(raw: bytes, charsets: tuple[str, ...], vr: VR | str) -> str:
    """Decode a whole raw text value under a Specific Character Set.

    Parameters
    ----------
    raw
        The element's value bytes, all values together, padding included.
    charsets
        The (0008,0005) terms in effect, as from :func:`normalize`.
    vr
        The element's VR; only LO, LT, PN, SH, ST, UC and UT use `charsets`.

    Returns
    -------
    str
        The text, still with its backslash separators and padding.

    Warns
    -----
    CharsetWarning
        For an unknown or misused term, and once if any bytes were invalid in
        the declared sets (they are decoded as latin-1; see the module docstring).
    """
    delimiters = _delimiters(vr)
    if delimiters is None:
        return raw.decode("latin_1")  # ASCII, with latin-1 as the lossless fallback
    plan = _plan(tuple(charsets))
    for problem in plan.problems:
        warnings.warn(problem, CharsetWarning, stacklevel=2)
    bad: list[bytes] = []
    if plan.codec is not None:
        text = _decode_codec(raw, plan.codec, bad)
    else:
        text = _Decoder(plan, delimiters.encode("ascii"), bad=bad).run(raw)
    if bad:
        message = f"text has bytes that are not valid {plan.label}; decoded them as latin-1"
        warnings.warn(f"{message} so nothing is lost", CharsetWarning, stacklevel=2)
    return text


@lru_cache(maxsize=4096)
def _encode_in(gset: _GSet, char: str) -> bytes | None:
    """Return the bytes of one character in a set, or None when the set lacks it."""
    if gset.codec == "ascii":
        return char.encode("ascii") if char < "\x80" else None
    try:
        data = char.encode(gset.codec)
    except UnicodeEncodeError:
        return None
    if not gset.upper:  # a G0 multi-byte set: the codec wrapped the two bytes in escapes
        wrapped = data.startswith(gset.escape) and data.endswith(_RETURN)
        data = data[len(gset.escape) : -len(_RETURN)] if wrapped else b""
        return data if len(data) == 2 else None
    return data if len(data) == gset.width and min(data) >= 0xA0 else None


def _cannot(text: str, index: int, why: str) -> EncodingError:
    char = text[index]
    return EncodingError(f"cannot encode {char!r} (U+{ord(char):04X}) at index {index}: {why}")


def _not_in(label: str) -> str:
    return f"no declared character set has it ({label}); declare one that has, e.g. ISO_IR 192"


def _encode_iso2022(text: str, plan: _Plan, delimiters: str) -> bytes:
    """Encode with escape sequences, the inverse of :class:`_Decoder`."""
    out = bytearray()
    g0, g1 = plan.g0, plan.g1
    for index, char in enumerate(text):
        if char in delimiters:
            # PS3.5 6.1.2.5.3: value 1's G0 set is active before each delimiter.
            out += plan.g0.escape if g0 is not plan.g0 else b""
            g0, g1 = plan.g0, plan.g1
            out += char.encode("ascii")
            continue
        if char < " " or "\x7f" <= char < "\xa0":
            out += ord(char).to_bytes(1, "big")  # controls are outside G0 and G1
            continue
        data = _encode_in(g0, char) or (_encode_in(g1, char) if g1 else None)
        if data is None:
            gset = next((g for g in plan.sets if _encode_in(g, char) is not None), None)
            if gset is None:
                raise _cannot(text, index, _not_in(plan.label))
            out += gset.escape
            g0, g1 = (g0, gset) if gset.upper else (gset, g1)
            data = _encode_in(gset, char) or b""
        out += data
    out += plan.g0.escape if g0 is not plan.g0 else b""
    return bytes(out)


def encode_text(text: str, charsets: tuple[str, ...], vr: VR | str) -> bytes:
    """Encode a whole text value (values joined by backslashes) under a Specific Character Set.

    Parameters
    ----------
    text
        The value, as :func:`decode_text` returns it; no padding is added.
    charsets
        The (0008,0005) terms in effect, as from :func:`normalize`.
    vr
        The element's VR; only LO, LT, PN, SH, ST, UC and UT use `charsets`.

    Returns
    -------
    bytes
        The encoded value, with ISO 2022 escape sequences where the sets need them.

    Raises
    ------
    EncodingError
        When no declared set has a character; the message names it and the sets.

    Warns
    -----
    CharsetWarning
        For an unknown or misused term, as :func:`decode_text` does.
    """
    delimiters = _delimiters(vr)
    if delimiters is None:
        try:
            return text.encode("latin_1")
        except UnicodeEncodeError as exc:
            why = f"{vr} values ignore Specific Character Set (PS3.5 6.1.2.3): ASCII only"
            raise _cannot(text, exc.start, why) from exc
    plan = _plan(tuple(charsets))
    for problem in plan.problems:
        warnings.warn(problem, CharsetWarning, stacklevel=2)
    if plan.codec is None:
        return _encode_iso2022(text, plan, delimiters)
    try:
        return text.encode(plan.codec)
    except UnicodeEncodeError as exc:
        raise _cannot(text, exc.start, _not_in(plan.label)) from exc
