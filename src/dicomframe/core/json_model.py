"""The DICOM JSON model (PS3.18 Annex F): datasets to JSON here, JSON to datasets in json_reading.

Writing follows PS3.18 F.2 and reads every value through the element's own
decoding, so text is Unicode whatever the Specific Character Set was (which is
kept as a value, PS3.18 F.2.2 note 3):

* keys are the 8 uppercase hex digits of the tag, in ascending order; Group
  Length (gggg,0000) elements are left out (PS3.18 F.2.2), and so is the file
  meta information, which is not part of the dataset (``ds.meta``);
* each attribute is ``{"vr": ..., "Value": [...]}``, or ``InlineBinary`` (base64)
  or ``BulkDataURI`` for OB, OD, OF, OL, OV, OW and UN; an empty value is
  ``{"vr": ...}`` alone, and an empty member of several values is ``null``
  (PS3.18 F.2.5);
* PN values are objects of their non-empty component groups (``Alphabetic``,
  ``Ideographic``, ``Phonetic``); AT values are 8 hex digits;
* numbers are JSON numbers: binary ones as read, IS as integers and DS as the
  number its text says (an integer when the text has no point or exponent, so
  ``"5"`` stays 5), 64-bit SV/UV exactly. DS or IS text that is no number, which
  a lenient read keeps, is written as a JSON string, which F.2.3 allows;
* binary values are little endian whatever the byte order they were read in.

Bulk data: a binary value longer than ``bulk_data_threshold`` bytes goes to
``bulk_data_element_handler``, which returns its BulkDataURI. Without a
handler it is written inline, but only up to ``max_inline_bytes``
(:data:`MAX_INLINE_BYTES`, 64 MiB): a larger value raises
:class:`~dicomframe.errors.EncodingError` naming the tag, so a 500 MB Pixel
Data never becomes a base64 string by accident. Encapsulated Pixel Data is
written as its items (offset table and fragments), as it lies in the file.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dicomframe.core.element import DataElement
from dicomframe.core.json_reading import from_json
from dicomframe.core.limits import KIB, MIB, allow_recursion, default_limits
from dicomframe.core.valuerep import DS, IS
from dicomframe.core.vr import (
    BINARY_NUMBER_FORMATS,
    BYTES_VRS,
    CHARSET_VRS,
    SWAP_SIZE,
    VR,
    swap_bytes,
)
from dicomframe.errors import EncodingError, LimitError

if TYPE_CHECKING:
    from dicomframe.core.dataset import Dataset

__all__ = ["MAX_INLINE_BYTES", "from_json", "to_json", "to_json_dict"]

MAX_INLINE_BYTES = 64 * MIB
_THRESHOLD = KIB
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
BulkDataElementHandler = Callable[[DataElement], str]


class _Options:
    """What one conversion keeps to, passed down the nesting."""

    __slots__ = ("handler", "max_depth", "max_inline", "threshold")

    def __init__(
        self, threshold: int, handler: BulkDataElementHandler | None, max_inline: int | None
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ValueError(f"bulk_data_threshold must be an int >= 0, not {threshold!r}")
        self.threshold = threshold
        self.handler = handler
        self.max_inline = max_inline
        self.max_depth = default_limits().max_depth


def to_json_dict(
    ds: Dataset,
    *,
    bulk_data_threshold: int = _THRESHOLD,
    bulk_data_element_handler: BulkDataElementHandler | None = None,
    max_inline_bytes: int | None = MAX_INLINE_BYTES,
) -> dict[str, Any]:
    """Return ``ds`` in the DICOM JSON model as a dict ready for :func:`json.dumps`.

    Parameters
    ----------
    ds
        The dataset; its file meta information is not included.
    bulk_data_threshold
        Binary values (OB, OD, OF, OL, OV, OW, UN) longer than this many bytes
        go to ``bulk_data_element_handler``; shorter ones are inlined.
    bulk_data_element_handler
        Called with the :class:`~dicomframe.DataElement` of each bulk value;
        returns its BulkDataURI. Its raw bytes (``element.raw``) are in the
        byte order of the file it was read from.
    max_inline_bytes
        Without a handler, the largest binary value written inline; None
        inlines any size.

    Raises
    ------
    EncodingError
        A binary value is longer than ``max_inline_bytes`` and there is no
        handler, a handler returned something other than a string, or a
        float is NaN or infinite (JSON has no number for them).
    LimitError
        Sequences nest deeper than ``Limits.max_depth``.
    """
    options = _Options(bulk_data_threshold, bulk_data_element_handler, max_inline_bytes)
    allow_recursion(options.max_depth)
    return _dataset(ds, options, 0)


def to_json(
    ds: Dataset,
    *,
    bulk_data_threshold: int = _THRESHOLD,
    bulk_data_element_handler: BulkDataElementHandler | None = None,
    max_inline_bytes: int | None = MAX_INLINE_BYTES,
) -> str:
    """Return ``ds`` in the DICOM JSON model as a string; see :func:`to_json_dict`.

    Non-ASCII text is written as it is, not as escapes: encode the
    string as UTF-8, the encoding of JSON (RFC 8259).
    """
    model = to_json_dict(
        ds,
        bulk_data_threshold=bulk_data_threshold,
        bulk_data_element_handler=bulk_data_element_handler,
        max_inline_bytes=max_inline_bytes,
    )
    return json.dumps(model, ensure_ascii=False, allow_nan=False)


def _dataset(ds: Dataset, options: _Options, depth: int) -> dict[str, Any]:
    model: dict[str, Any] = {}
    for element in ds:  # tag order is the key order PS3.18 F.2.2 asks for
        if element.tag.element == 0:  # PS3.18 F.2.2: no Group Length attributes
            continue
        model[f"{int(element.tag):08X}"] = _attribute(element, options, depth)
    return model


def _attribute(element: DataElement, options: _Options, depth: int) -> dict[str, Any]:
    vr = element.vr
    attribute: dict[str, Any] = {"vr": vr.value}
    if vr is VR.SQ:
        items = element.sequence
        if items:
            if depth >= options.max_depth:
                raise LimitError(
                    "max_depth",
                    depth + 1,
                    options.max_depth,
                    what="sequence nesting",
                    tag=element.tag,
                )
            attribute["Value"] = [_dataset(item, options, depth + 1) for item in items]
        return attribute
    if vr in BYTES_VRS:
        attribute.update(_binary(element, options))
        return attribute
    members = _members(element.value)
    if any(member is not None for member in members):
        attribute["Value"] = [_member(member, vr, element) for member in members]
    return attribute


def _binary(element: DataElement, options: _Options) -> dict[str, str]:
    """``InlineBinary`` or ``BulkDataURI`` for an OB/OD/OF/OL/OV/OW/UN value; {} when empty."""
    length = element.length
    if length == 0:
        return {}
    if options.handler is not None and length > options.threshold:
        uri = options.handler(element)
        if not isinstance(uri, str):
            raise EncodingError(
                f"bulk_data_element_handler returned {type(uri).__name__}, not a BulkDataURI str",
                tag=element.tag,
            )
        return {"BulkDataURI": uri}
    if options.handler is None and options.max_inline is not None and length > options.max_inline:
        raise EncodingError(
            f"{element.keyword or 'value'} of {length:,} bytes is more than the "
            f"{options.max_inline:,} bytes written inline as base64 without a "
            "bulk_data_element_handler; pass one, returning the value's BulkDataURI",
            tag=element.tag,
        )
    data = _little_endian_bytes(element)
    return {"InlineBinary": base64.b64encode(data).decode("ascii")} if data else {}


def _little_endian_bytes(element: DataElement) -> bytes | memoryview:
    """The value's bytes as PS3.18 F.2.7 wants them: little endian, without re-padding."""
    raw = element.raw
    if raw is None:
        from dicomframe.core.values import encode_value

        return encode_value(element.value, element.vr, little_endian=True, tag=element.tag)
    if not element.little_endian and element.vr in SWAP_SIZE:
        return swap_bytes(raw, SWAP_SIZE[element.vr])
    return raw


def _members(value: Any) -> list[Any]:
    """A value as its list of members (a scalar is one, None and "" are none)."""
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars assigned by users
    if tolist is not None and not isinstance(value, bytes | str):
        value = tolist()
    if isinstance(value, list | tuple):
        return list(value)
    return [] if value is None or value == "" else [value]


def _member(member: Any, vr: VR, element: DataElement) -> Any:
    """One member of a Value array: PS3.18 Table F.2.3-1's JSON type for its VR."""
    if member is None or member == "":
        return None  # PS3.18 F.2.5: an empty member of several values
    if vr is VR.AT:
        return f"{int(member):08X}"
    if vr in BINARY_NUMBER_FORMATS:
        return _finite(member, element)
    text = member if isinstance(member, str) else _text_of(member, vr, element)
    return _TEXT_TO_JSON.get(vr, str.__str__)(text)


def _finite(number: Any, element: DataElement) -> int | float:
    if isinstance(number, float) and not math.isfinite(number):
        raise EncodingError(
            f"{element.vr} value {number!r} has no JSON number (PS3.18 F.2.3)", tag=element.tag
        )
    return number  # type: ignore[no-any-return]


def _text_of(member: Any, vr: VR, element: DataElement) -> str:
    """The DICOM text of a member that is not text yet (a date, a number for DS...)."""
    from dicomframe.core.values import decode_value, encode_value

    charsets = ("ISO_IR 192",) if vr in CHARSET_VRS else ()
    raw = encode_value([member], vr, charsets=charsets, tag=element.tag)
    decoded = decode_value(raw, vr, charsets=charsets, tag=element.tag)
    return str(decoded)


def _person_name(text: str) -> dict[str, str] | None:
    groups = {
        name: group for name, group in zip(_PN_GROUPS, text.split("="), strict=False) if group
    }
    return groups or None


def _number_or_text(text: str, kind: Callable[[str], Any]) -> Any:
    """``kind(text)`` (IS or DS, which parse strictly); text that is no number stays text."""
    try:
        return kind(text)
    except ValueError:
        return str.__str__(text)  # PS3.18 F.2.3: IS and DS may be strings


def _is_number(text: str) -> int | str:
    number = _number_or_text(text, IS)
    return int(number) if isinstance(number, int) else number


def _ds_number(text: str) -> int | float | str:
    """A DS as a JSON number: an int for integral text like ``"5"``, else the float it reads as.

    DS accepts only finite numbers in DS syntax, so "NaN" or "1,5" stay text.
    """
    number = _number_or_text(text, DS)
    if isinstance(number, str):
        return number
    plain = str(number).lstrip("+-")
    return int(number) if plain.isdigit() and len(plain) < 16 else float(number)


_TEXT_TO_JSON: dict[VR, Callable[[str], Any]] = {
    VR.PN: _person_name,
    VR.IS: _is_number,
    VR.DS: _ds_number,
}
