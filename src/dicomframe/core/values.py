"""Converting between raw value bytes and Python values, by VR.

:func:`decode_value` gives a scalar for one value, a ``list`` for several:
``int``/``float`` (``None`` when empty) for binary numbers, ``Tag`` for AT,
``bytes`` for the "other" VRs, and ``str`` or a :mod:`~dicomframe.core.valuerep`
type (DS, IS, PersonName, DA, TM, DT) for text, with the padding PS3.5 6.2
calls insignificant stripped. It is lenient: text that breaks its VR's rules
comes back as it is, so a bad file can be read, inspected and written back.

:func:`encode_value` is the inverse, padded to even length, and strict: a value
breaking its VR's length or character rules raises ``EncodingError`` before any
byte is produced. The exception is a value still equal to what ``original=``
decodes to: those bytes come back unchanged, as rejecting an unchanged value
helps no one.
"""

from __future__ import annotations

import numbers
import re
import struct
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any, NamedTuple

from dicomframe.core.charset import decode_text, encode_text
from dicomframe.core.lazyre import LazyPattern
from dicomframe.core.tag import Tag
from dicomframe.core.valuerep import DA, DS, DT, IS, TM, PersonName, format_ds
from dicomframe.core.vr import (
    BINARY_NUMBER_FORMATS,
    BYTES_VRS,
    CHARSET_VRS,
    SINGLE_VALUE_TEXT_VRS,
    STRING_VRS,
    SWAP_SIZE,
    VR,
    padding_byte,
    swap_bytes,
)
from dicomframe.errors import EncodingError, InvalidDicomError

__all__ = ["decode_value", "encode_value", "value_multiplicity"]

_RawBytes = bytes | bytearray | memoryview

# PS3.5 6.2: leading spaces are insignificant for these VRs, not only
# trailing ones; in LT, ST, UT, UC and PN they are data. UI is NUL padded;
# spaces and NULs are stripped everywhere, leniently, as writers mix them up.
_STRIP_BOTH = frozenset({
    VR.AE, VR.AS, VR.CS, VR.DA, VR.DS, VR.DT, VR.IS, VR.LO, VR.SH, VR.TM, VR.UI
})  # fmt: skip
_TEXT_TYPES: dict[VR, Callable[[str], object]] = {
    VR.DS: DS, VR.IS: IS, VR.PN: PersonName, VR.DA: DA, VR.TM: TM, VR.DT: DT
}  # fmt: skip


def decode_value(
    raw: bytes | memoryview,
    vr: VR | str,
    *,
    little_endian: bool = True,
    charsets: tuple[str, ...] = (),
    tag: int | None = None,
) -> Any:
    """Decode the raw bytes of one element's value.

    Parameters
    ----------
    raw
        The value bytes, without the element header.
    vr
        The value representation; not SQ (the reader parses items).
    little_endian
        The byte order of binary numbers and AT.
    charsets
        Specific Character Set defined terms, ``()`` for the default repertoire;
        only LO LT PN SH ST UC UT use them (PS3.5 6.1.2.3).
    tag
        The element's tag, only to name it in errors.

    Returns
    -------
    Any
        See the module docstring. Empty text is ``""``, empty binary numbers ``None``.

    Raises
    ------
    InvalidDicomError
        If a binary value's length is not a multiple of its item size.
    """
    vr = VR(vr)
    if vr in BYTES_VRS:
        return bytes(raw)
    if vr in BINARY_NUMBER_FORMATS:
        return _decode_numbers(raw, vr, little_endian, tag)
    if vr in STRING_VRS:
        return _decode_strings(bytes(raw), vr, charsets)
    raise ValueError(f"{vr} values are not decoded here: the reader parses sequence items")


def _decode_numbers(
    raw: bytes | memoryview, vr: VR, little_endian: bool, tag: int | None
) -> int | float | Tag | list[Any] | None:
    char, size = BINARY_NUMBER_FORMATS[vr]
    if vr is VR.AT:
        size *= 2  # a tag is two 16-bit numbers: group, then element
    count, rest = divmod(len(raw), size)
    if rest:
        raise InvalidDicomError(
            f"{vr} value length {len(raw)} is not a multiple of {size}", tag=tag
        )
    if count == 0:
        return None
    order = "<" if little_endian else ">"
    if vr is VR.AT:
        halves = struct.unpack(f"{order}{2 * count}{char}", raw)
        values: list[Any] = [Tag(halves[i], halves[i + 1]) for i in range(0, len(halves), 2)]
    else:
        values = list(struct.unpack(f"{order}{count}{char}", raw))
    return values[0] if count == 1 else values


def _decode_strings(raw: bytes, vr: VR, charsets: tuple[str, ...]) -> object:
    # PS3.5 6.1.2.3: other VRs are always in the default repertoire; latin-1
    # reads any stray high byte in them instead of failing on it.
    text = decode_text(raw, charsets, vr) if vr in CHARSET_VRS else raw.decode("latin-1")
    members = [text] if vr in SINGLE_VALUE_TEXT_VRS else text.split("\\")
    both = vr in _STRIP_BOTH
    values = [_typed(m.strip(" \0") if both else m.rstrip(" \0"), vr) for m in members]
    return values[0] if len(values) == 1 else values


def _typed(text: str, vr: VR) -> object:
    """Wrap one value in its VR's type; DS/IS text that is no number stays str, as in DCMTK."""
    kind = _TEXT_TYPES.get(vr)
    if kind is None or not text:
        return text
    try:
        return kind(text)
    except ValueError:
        return text


def encode_value(
    value: object,
    vr: VR | str,
    *,
    little_endian: bool = True,
    charsets: tuple[str, ...] = (),
    tag: int | None = None,
    original: bytes | memoryview | None = None,
) -> bytes:
    """Encode a Python value as the raw bytes of an element's value.

    Parameters
    ----------
    value
        A scalar or a list/tuple/array, as :func:`decode_value` returns them;
        also numbers for DS/IS and ``date``/``time``/``datetime`` for DA/TM/DT.
        For AT a ``(group, element)`` tuple is one tag. Bytes-like values are
        written as they are, for any VR; ``None`` and ``""`` give ``b""``.
    vr, little_endian, charsets, tag
        As for :func:`decode_value`.
    original
        The bytes the value was decoded from, if any. While ``value`` equals
        their decoded value they are returned (padded) unchecked, so an
        unchanged value is never rejected and keeps its exact bytes.

    Returns
    -------
    bytes
        The encoded value, padded to even length with :func:`padding_byte`.

    Raises
    ------
    EncodingError
        If a value is out of its VR's range, too long, has characters its VR or
        character set does not allow, or has the wrong type.
    """
    vr = VR(vr)
    if original is not None and _unchanged(value, original, vr, little_endian, charsets):
        data = bytes(original)
    elif isinstance(value, _RawBytes):
        data = bytes(value)
    elif value is None or (isinstance(value, str) and not value):
        data = b""
    else:
        data = _encode(value, vr, "<" if little_endian else ">", charsets, tag)
    # PS3.5 7.1.1: every value has even length.
    return data + padding_byte(vr) if len(data) % 2 else data


def _encode(value: object, vr: VR, order: str, charsets: tuple[str, ...], tag: int | None) -> bytes:
    """Encode a value that is neither raw bytes nor empty."""
    if vr in BYTES_VRS:
        return _encode_array(value, vr, order, tag)
    members = _members(value, vr)
    if vr is VR.AT:
        return _encode_tags(members, order, tag)
    if vr in BINARY_NUMBER_FORMATS:
        return _encode_numbers(members, vr, order, tag)
    if vr in STRING_VRS:
        return _encode_strings(members, vr, charsets, tag)
    raise _error("sequences are encoded by the writer, item by item", value, vr, tag)


def _encode_array(value: object, vr: VR, order: str, tag: int | None) -> bytes:
    """A numpy array given for an OB/OW/OL/OF/OD/OV value: its bytes in the VR's unit.

    The array's values are laid out little endian; in a big-endian syntax
    each unit of the VR (16 bits for OW, 32 for OL and OF, 64 for OD and OV,
    none for OB) is then swapped, as DCMTK and GDCM store such values: a
    32-bit pixel in OW is two words, low word first.
    """
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        raise _error(f"{vr} needs bytes, not {type(value).__name__}", value, vr, tag)
    data: bytes = value.astype(dtype.newbyteorder("<")).tobytes()  # type: ignore[attr-defined]
    unit = SWAP_SIZE.get(vr, 1)
    if order == "<" or unit == 1:
        return data
    return swap_bytes(data, unit)


def _unchanged(
    value: object,
    original: bytes | memoryview,
    vr: VR,
    little_endian: bool,
    charsets: tuple[str, ...],
) -> bool:
    """Tell whether ``value`` equals what ``original`` decodes to."""
    try:
        decoded = decode_value(original, vr, little_endian=little_endian, charsets=charsets)
    except ValueError:  # undecodable original bytes: the value must be encoded afresh
        return False
    if isinstance(value, _RawBytes):
        return bool(bytes(value) == decoded)
    return _as_list(value) == _as_list(decoded)


def _as_list(value: object) -> list[object]:
    """Normalise a value to its members: scalar, tuple, list and array alike."""
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if tolist is not None and not isinstance(value, _RawBytes):
        value = tolist()
    if isinstance(value, list | tuple):
        return list(value)
    return [] if value is None else [value]


def _members(value: object, vr: VR) -> list[object]:
    """Return the members of a value, reading an AT ``(group, element)`` pair as one tag."""
    if (
        vr is VR.AT
        and isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(part, int) and 0 <= part <= 0xFFFF for part in value)
    ):
        return [value]  # as pydicom reads it
    return _as_list(value)


def _error(problem: str, value: object, vr: VR, tag: int | None) -> EncodingError:
    return EncodingError(f"cannot encode {value!r} as {vr}: {problem}", tag=tag)


def _encode_tags(members: list[object], order: str, tag: int | None) -> bytes:
    halves: list[int] = []
    for member in members:
        try:
            at = Tag(member)  # type: ignore[arg-type]  # Tag rejects what it cannot read
        except (TypeError, ValueError) as exc:
            raise _error(str(exc), member, VR.AT, tag) from exc
        halves += (at.group, at.element)
    return struct.pack(f"{order}{len(halves)}H", *halves)


def _encode_numbers(members: list[object], vr: VR, order: str, tag: int | None) -> bytes:
    char, size = BINARY_NUMBER_FORMATS[vr]
    values: list[int] | list[float]
    if char in "fd":
        values = [_as_float(member, vr, tag) for member in members]
    else:
        limit = 1 << (8 * size - char.islower())  # lower case struct codes are signed
        low, high = (-limit if char.islower() else 0), limit - 1
        values = [_as_int(member, vr, tag) for member in members]
        for number in values:
            if not low <= number <= high:
                raise _error(f"{vr} holds {low} to {high}", number, vr, tag)
    try:
        return struct.pack(f"{order}{len(values)}{char}", *values)
    except OverflowError as exc:  # a float too large for FL
        raise _error(str(exc), members, vr, tag) from exc


def _as_int(member: object, vr: VR, tag: int | None) -> int:
    if isinstance(member, numbers.Integral):
        return int(member)
    if isinstance(member, numbers.Real) and float(member).is_integer():
        return int(float(member))
    raise _error("an integer is needed", member, vr, tag)


def _as_float(member: object, vr: VR, tag: int | None) -> float:
    if not isinstance(member, numbers.Real):
        raise _error("a number is needed", member, vr, tag)
    return float(member)


class _Rule(NamedTuple):
    """What PS3.5 Table 6.2-1 allows one value of a text VR to be."""

    max_length: int | None
    pattern: LazyPattern[str] | None
    allowed: str


def _rule(max_length: int | None, pattern: str | None, allowed: str) -> _Rule:
    # re.ASCII: "\d" must not match other scripts' digits.
    return _Rule(max_length, LazyPattern(pattern, re.ASCII) if pattern else None, allowed)


# Default repertoire without backslash and control characters, except ESC
# (0x1B), which ISO 2022 character sets need to switch.
_CHARS = r"[^\\\x00-\x1a\x1c-\x1f]*"
_TM = r"\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?"
_NO_CONTROL = "no backslash or control characters"
_RULES: dict[VR, _Rule] = {
    VR.AE: _rule(16, r"[\x20-\x5b\x5d-\x7e]*", "printable ASCII but backslash"),
    VR.AS: _rule(4, r"\d{3}[DWMY]", "nnnD, nnnW, nnnM or nnnY"),
    VR.CS: _rule(16, r"[A-Z0-9 _]*", "A-Z, 0-9, space and underscore"),
    # DA and TM ranges ("a-b", "-b", "a-") are for queries (PS3.4 C.2.2.2.5).
    VR.DA: _rule(18, r"\d{8}(?:-(?:\d{8})?)?|-\d{8}", "YYYYMMDD"),
    VR.TM: _rule(28, rf"{_TM}(?:-(?:{_TM})?)?|-{_TM}", "HH[MM[SS[.FFFFFF]]]"),
    VR.DT: _rule(26, rf"\d{{4}}(?:\d{{2}}(?:\d{{2}}(?:{_TM})?)?)?(?:[+-]\d{{4}})?", "a date-time"),
    VR.DS: _rule(16, r" *[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)? *", "a decimal number"),
    VR.IS: _rule(12, r" *[+-]?\d+ *", "an integer"),
    VR.LO: _rule(64, _CHARS, _NO_CONTROL),
    VR.SH: _rule(16, _CHARS, _NO_CONTROL),
    VR.UC: _rule(None, _CHARS, _NO_CONTROL),
    VR.LT: _rule(10240, None, ""),
    VR.ST: _rule(1024, None, ""),
    VR.UI: _rule(64, r"[0-9.]*", "digits and dots"),
    VR.UR: _rule(None, r"[!-~]*", "URI characters (RFC 3986), no spaces"),
}
_IS_RANGE = (-(2**31), 2**31 - 1)  # PS3.5 Table 6.2-1
_PN_CHARS = LazyPattern(_CHARS)


def _to_text(member: object, vr: VR, tag: int | None) -> str:
    """Return the text of one value: DS/IS/PN/DA keep theirs, numbers and dates are formatted."""
    if member is None:  # an empty value inside a list, as pydicom allows
        return ""
    if isinstance(member, str):
        return str.__str__(member)
    # A DS or IS read leniently ("1.0" for IS) is written in canonical form once changed.
    if isinstance(member, DS | IS) and _is_valid(str(member), vr):
        return str(member)
    if vr is VR.DS and isinstance(member, numbers.Real):
        return _ds_text(member, tag)
    if vr is VR.IS and isinstance(member, numbers.Real):
        return str(_as_int(member, vr, tag))
    formatted = _format_temporal(member, vr)
    if formatted is None:
        raise _error(f"{vr} needs text, not {type(member).__name__}", member, vr, tag)
    return formatted


def _ds_text(member: numbers.Real, tag: int | None) -> str:
    """Format a number as DS: an int as it is if it fits, anything else by format_ds."""
    if isinstance(member, numbers.Integral) and _is_valid(str(int(member)), VR.DS):
        return str(int(member))
    try:
        return format_ds(float(member))
    except EncodingError as exc:
        raise _error(str(exc), member, VR.DS, tag) from exc


def follows_rules(text: str, vr: VR | str) -> bool:
    """Whether each value of ``text`` (backslash-separated) keeps its VR's length and characters."""
    vr = VR(vr)
    pieces = [text] if vr in SINGLE_VALUE_TEXT_VRS else text.split("\\")
    return all(_is_valid(piece, vr) for piece in pieces)


def _is_valid(text: str, vr: VR) -> bool:
    try:
        _check_text(text, vr, None)
    except EncodingError:
        return False
    return True


def _format_temporal(member: object, vr: VR) -> str | None:
    if vr is VR.DT and isinstance(member, datetime):
        return str.__str__(DT.from_datetime(member))
    if vr in (VR.DA, VR.DT) and isinstance(member, date) and not isinstance(member, datetime):
        return str.__str__(DA.from_date(member))  # a bare date is a valid partial DT
    if vr is VR.TM and isinstance(member, time):
        return str.__str__(TM.from_time(member))
    return None


def _check_text(text: str, vr: VR, tag: int | None) -> None:
    """Raise EncodingError if one value breaks its VR's length or character rules."""
    if vr is VR.PN:
        _check_person_name(text, tag)
        return
    rule = _RULES.get(vr)
    if rule is None or not text:  # an empty value is always allowed
        return
    if rule.max_length is not None and len(text) > rule.max_length:
        problem = f"{len(text)} characters, {vr} allows at most {rule.max_length}"
        raise _error(problem, text, vr, tag)
    if rule.pattern is not None and rule.pattern.fullmatch(text) is None:
        raise _error(f"{vr} allows {rule.allowed}", text, vr, tag)
    if vr is VR.IS and not _IS_RANGE[0] <= int(text) <= _IS_RANGE[1]:
        raise _error(f"IS holds {_IS_RANGE[0]} to {_IS_RANGE[1]}", text, vr, tag)


def _check_person_name(text: str, tag: int | None) -> None:
    """PS3.5 6.2.1: three groups at most, five components each, 64 characters a group."""
    groups = text.split("=")
    if len(groups) > 3:
        raise _error(f"{len(groups)} component groups, PN allows 3", text, VR.PN, tag)
    for group in groups:
        if len(group) > 64:
            problem = f"component group {group!r} has {len(group)} characters, PN allows 64"
            raise _error(problem, text, VR.PN, tag)
        if group.count("^") > 4:
            raise _error(f"group {group!r} has more than 5 components", text, VR.PN, tag)
    if _PN_CHARS.fullmatch(text) is None:
        raise _error("PN allows no backslash or control characters", text, VR.PN, tag)


def _encode_strings(
    members: list[object], vr: VR, charsets: tuple[str, ...], tag: int | None
) -> bytes:
    text = "\\".join(_to_text(member, vr, tag) for member in members)
    if vr in SINGLE_VALUE_TEXT_VRS:
        if len(members) > 1:
            raise _error(f"{vr} holds a single value", members, vr, tag)
        _check_text(text, vr, tag)
    else:
        # A backslash inside a str separates values, as it does in the file.
        for piece in text.split("\\"):
            _check_text(piece, vr, tag)
    if vr not in CHARSET_VRS:
        return text.encode("ascii", errors="strict")  # the rules above allow only ASCII
    try:
        return encode_text(text, charsets, vr)
    except EncodingError as exc:
        if exc.tag is not None or tag is None:
            raise
        raise EncodingError(str(exc), tag=tag) from exc
    except UnicodeError as exc:
        raise _error(f"not representable in {charsets or 'ASCII'}: {exc}", text, vr, tag) from exc


def value_multiplicity(value: object) -> int:
    """Return the number of values in a Python value (its VM).

    ``None``, ``""`` and ``b""`` have VM 0; a list, tuple or array has one per
    member; anything else (including non-empty ``str`` and ``bytes``) is one value.
    """
    if value is None or (isinstance(value, str | _RawBytes) and len(value) == 0):
        return 0
    if isinstance(value, str | _RawBytes):
        return 1
    size = getattr(value, "size", None)  # a numpy array or scalar
    if isinstance(size, int) and hasattr(value, "ndim"):
        return size
    return len(value) if isinstance(value, list | tuple) else 1
