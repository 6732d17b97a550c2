"""Members of a DICOM JSON ``Value`` array, checked and turned into DICOM values.

The helpers of :mod:`dicomframe.core.json_reading` for one attribute's
``Value``: numbers and tags become little-endian bytes through the value
encoder (which checks their ranges), text becomes what decoding the same text
from a file gives. Each failure is an
:class:`~dicomframe.errors.InvalidDicomError` naming the tag and the member.
"""

from __future__ import annotations

from typing import Any

from dicomframe.core.tag import Tag
from dicomframe.core.vr import CHARSET_VRS, VR
from dicomframe.errors import EncodingError, InvalidDicomError

__all__ = ["decoded_text", "encoded_numbers", "json_type", "number", "texts"]

_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
_UTF8 = ("ISO_IR 192",)
_INTEGER_VRS = frozenset({VR.SS, VR.US, VR.SL, VR.UL, VR.SV, VR.UV})
_NUMBER_TEXT_VRS = frozenset({VR.SV, VR.UV})


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages ("an array", "null")."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def encoded_numbers(members: list[Any], vr: VR, tag: Tag) -> bytes:
    """A binary-number or AT Value as little-endian bytes; the encoder checks the ranges."""
    from dicomframe.core.values import encode_value

    numbers = [number(member, vr, tag, index) for index, member in enumerate(members)]
    try:
        return encode_value(numbers, vr, little_endian=True, tag=tag)
    except EncodingError as exc:
        raise InvalidDicomError(str(exc).split(": ", 1)[-1], tag=tag) from exc


def number(member: object, vr: VR, tag: Tag, index: int) -> object:
    """One member of a binary-number or AT Value, as the type the encoder takes."""
    where = f"Value[{index}]"
    if vr is VR.AT:
        if isinstance(member, str) and len(member) == 8:
            try:
                return Tag(int(member, 16))
            except ValueError:
                pass
        raise InvalidDicomError(f"{where} of AT must be 8 hex digits, not {member!r}", tag=tag)
    if vr in _NUMBER_TEXT_VRS and isinstance(member, str):
        try:
            return int(member)  # PS3.18 F.2.3: SV and UV may be strings
        except ValueError:
            pass
    integral = vr in _INTEGER_VRS
    if (
        isinstance(member, bool)
        or not isinstance(member, int | float)
        or (integral and isinstance(member, float) and not member.is_integer())
    ):
        wanted = "an integer" if integral else "a number"
        raise InvalidDicomError(f"{where} of {vr} must be {wanted}, not {member!r}", tag=tag)
    return int(member) if integral else float(member)


def texts(members: list[Any], vr: VR, tag: Tag) -> str:
    """The members of a text Value as the backslash-joined text a file holds."""
    texts = []
    for index, member in enumerate(members):
        text = _text(member, vr, tag, index)
        if "\\" in text and len(members) > 1:
            raise InvalidDicomError(
                f"Value[{index}] {text!r} holds a backslash, which separates values in DICOM",
                tag=tag,
            )
        texts.append(text)
    return "\\".join(texts)


def _text(member: object, vr: VR, tag: Tag, index: int) -> str:
    if member is None:
        return ""  # PS3.18 F.2.5: an empty member
    if vr is VR.PN and isinstance(member, dict):
        return _person_name(member, tag, index)
    if isinstance(member, str):
        return member
    if vr in (VR.IS, VR.DS) and isinstance(member, int | float) and not isinstance(member, bool):
        return _number_text(member, vr, tag, index)
    wanted = "an object or a string" if vr is VR.PN else "a string"
    raise InvalidDicomError(f"Value[{index}] of {vr} must be {wanted}, not {member!r}", tag=tag)


def _number_text(value: float, vr: VR, tag: Tag, index: int) -> str:
    """The IS or DS text of a JSON value."""
    from dicomframe.core.valuerep import format_ds

    if vr is VR.IS:
        if isinstance(value, float) and not value.is_integer():
            raise InvalidDicomError(
                f"Value[{index}] of IS must be an integer, not {value!r}", tag=tag
            )
        return str(int(value))
    if isinstance(value, int) and len(str(value)) <= 16:
        return str(value)
    try:
        return format_ds(value)
    except EncodingError as exc:
        raise InvalidDicomError(f"Value[{index}] of DS: {exc}", tag=tag) from exc


def _person_name(groups: dict[Any, Any], tag: Tag, index: int) -> str:
    unknown = sorted(map(str, set(groups) - set(_PN_GROUPS)))
    if unknown:
        raise InvalidDicomError(
            f"Value[{index}] of PN has {unknown}; it allows {list(_PN_GROUPS)}", tag=tag
        )
    parts = []
    for name in _PN_GROUPS:
        part = groups.get(name, "")
        if not isinstance(part, str) or "=" in part or "\\" in part:
            raise InvalidDicomError(
                f"Value[{index}] {name} must be a string without '=' or '\\', not {part!r}",
                tag=tag,
            )
        parts.append(part)
    return "=".join(parts).rstrip("=")


def decoded_text(text: str, vr: VR, tag: Tag) -> Any:
    """The value reading ``text`` from a file would give (types, stripping, multiplicity)."""
    from dicomframe.core.values import decode_value

    if vr in CHARSET_VRS:
        return decode_value(text.encode("utf-8"), vr, charsets=_UTF8, tag=tag)
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise InvalidDicomError(
            f"{vr} allows only the default repertoire (ASCII), not {text!r}", tag=tag
        ) from exc
    return decode_value(raw, vr, tag=tag)
