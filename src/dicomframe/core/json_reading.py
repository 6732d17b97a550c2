"""Datasets from the DICOM JSON model (PS3.18 Annex F): ``from_json``.

Every value becomes what reading the same value from a file gives: text goes
through the same decoding (so a DS is a :class:`~dicomframe.core.valuerep.DS`,
a PN a :class:`~dicomframe.core.valuerep.PersonName`, padding stripped), and
numbers, tags and binary values become little-endian raw bytes that decode on
first use. Text stays Unicode; writing the dataset encodes it in the
dataset's Specific Character Set, as for any value assigned in Python.

The input is checked as it is read, and anything malformed raises
:class:`~dicomframe.errors.InvalidDicomError` naming the tag: a key that is
not 8 hex digits, a missing or unknown ``vr``, ``Value`` that is not an array,
a member of the wrong JSON type, more than one of ``Value``/``InlineBinary``/
``BulkDataURI``, bad base64. Nesting and the number of elements keep to
:class:`~dicomframe.Limits` (``max_depth``, ``max_elements``).

Leniency, each deliberate: keys in lower case; IS, DS, SV and UV given as
strings (PS3.18 F.2.3 allows them); a PN given as a plain string, as some
servers send; ``InlineBinary`` and ``BulkDataURI`` given as a one-string
array (PS3.18 F.4's example does so); Group Length elements, which the writer
recomputes.

File meta elements (group 0002), which DICOMweb metadata sometimes carries, go
to ``ds.meta``, and a known (0002,0010) Transfer Syntax UID becomes
``ds.transfer_syntax``. Pixel Data whose bytes are items (an encapsulated
transfer syntax) is marked encapsulated, so it is written back as fragments.

A ``BulkDataURI`` is fetched by ``bulk_data_uri_handler``, called as
``handler(uri)`` when it has one required parameter (or is a builtin such as
``dict.__getitem__``) and ``handler(tag, vr, uri)`` otherwise (``tag`` the
8-digit key, ``vr`` its string). It returns the value's bytes (little endian;
UTF-8 for text), None for an empty value, or a Python value. Without a
handler a BulkDataURI raises: a dataset silently missing its Pixel Data would
write a broken file. To read metadata only, pass a handler that returns None.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
from collections.abc import Callable
from typing import Any

from dicomframe.core.element import DataElement, Sequence
from dicomframe.core.json_values import decoded_text, encoded_numbers, json_type, number, texts
from dicomframe.core.limits import Budget, Limits, allow_recursion, resolve_limits
from dicomframe.core.tag import Tag
from dicomframe.core.values import follows_rules
from dicomframe.core.vr import BINARY_NUMBER_FORMATS, BYTES_VRS, VR
from dicomframe.errors import InvalidDicomError, LimitError

__all__ = ["from_json"]

_VALUE_KEYS = ("Value", "InlineBinary", "BulkDataURI")
_PIXEL_DATA = 0x7FE00010
_ITEM_LE = b"\xfe\xff\x00\xe0"


class _Reader:
    """One from_json call: the handler, the limits and the element budget."""

    def __init__(self, handler: Callable[..., Any] | None, limits: Limits) -> None:
        self.handler = handler
        self.one_argument = handler is not None and _takes_one_argument(handler)
        self.max_depth = limits.max_depth
        self.budget = Budget("max_elements", limits.max_elements, "JSON data elements")

    def dataset(self, model: object, depth: int, where: int | None) -> Any:
        from dicomframe.core.dataset import Dataset

        if not isinstance(model, dict):
            raise InvalidDicomError(
                f"a JSON dataset must be an object, not {json_type(model)}", tag=where
            )
        ds = Dataset()
        self.budget.spend(len(model))
        for key, attribute in model.items():
            ds.add(self.element(key, attribute, depth))
        return ds

    def element(self, key: object, attribute: object, depth: int) -> DataElement:
        tag = _tag(key)
        if not isinstance(attribute, dict):
            raise InvalidDicomError(
                f"attribute must be an object, not {json_type(attribute)}", tag=tag
            )
        vr = _vr(attribute, tag)
        present = [k for k in _VALUE_KEYS if k in attribute]
        unknown = sorted(set(attribute) - {"vr", *_VALUE_KEYS})
        if unknown or len(present) > 1:
            found = ", ".join(map(repr, unknown or present))
            raise InvalidDicomError(
                f"attribute has {found}; it allows 'vr' and at most one of "
                "'Value', 'InlineBinary', 'BulkDataURI'",
                tag=tag,
            )
        if not present:
            # PS3.18 F.2.5: an empty value; no items for SQ, no bytes otherwise.
            return DataElement(tag, vr, []) if vr is VR.SQ else DataElement(tag, vr, raw=b"")
        kind = present[0]
        if kind == "Value":
            return self.value(tag, vr, attribute["Value"], depth)
        text = _one_string(attribute[kind], kind, tag)
        if kind == "InlineBinary":
            if vr not in BYTES_VRS:
                raise InvalidDicomError(
                    f"InlineBinary is for OB, OD, OF, OL, OV, OW and UN, not {vr}", tag=tag
                )
            return _binary_element(tag, vr, _base64(text, tag))
        return self.bulk_data(tag, vr, text, depth)

    def value(self, tag: Tag, vr: VR, members: object, depth: int) -> DataElement:
        if not isinstance(members, list):
            raise InvalidDicomError(f"Value must be an array, not {json_type(members)}", tag=tag)
        if vr is VR.SQ:
            if members and depth >= self.max_depth:
                raise LimitError(
                    "max_depth", depth + 1, self.max_depth, what="sequence nesting", tag=tag
                )
            self.budget.spend(len(members))
            return DataElement(tag, vr, Sequence(self.dataset(m, depth + 1, tag) for m in members))
        if vr in BYTES_VRS:
            raise InvalidDicomError(
                f"{vr} values are InlineBinary or BulkDataURI, not Value", tag=tag
            )
        if vr is VR.AT or vr in BINARY_NUMBER_FORMATS:
            if None in members:
                # Binary numbers have no empty member: kept as None for the caller to
                # fix; writing raises naming the tag (pydicom's test1.json has one).
                numbers = [
                    None if m is None else number(m, vr, tag, i) for i, m in enumerate(members)
                ]
                return DataElement(tag, vr, numbers[0] if len(numbers) == 1 else numbers)
            return _binary_element(tag, vr, encoded_numbers(members, vr, tag))
        text = texts(members, vr, tag)
        if text.isascii() and "\x1b" not in text and not follows_rules(text, vr):
            # A value that breaks its VR's rules (an ACR-NEMA date, a UID in hex, a long SH)
            # comes from a file that held it: kept as read, as dcf.read keeps it, so it is
            # written back as it came rather than refused as a new value would be. ASCII
            # without an escape is the same bytes in every character set.
            raw = text.encode("ascii")
            return DataElement(tag, vr, raw=raw + (b"\0" if vr is VR.UI else b" ") * (len(raw) % 2))
        return DataElement(tag, vr, decoded_text(text, vr, tag))

    def bulk_data(self, tag: Tag, vr: VR, uri: str, depth: int) -> DataElement:
        if self.handler is None:
            raise InvalidDicomError(
                f"value is at BulkDataURI {uri!r}; pass bulk_data_uri_handler to fetch it "
                "(one that returns None leaves the value empty)",
                tag=tag,
            )
        if vr is VR.SQ:
            raise InvalidDicomError("a sequence cannot be a BulkDataURI", tag=tag)
        key = f"{int(tag):08X}"
        fetched = self.handler(uri) if self.one_argument else self.handler(key, vr.value, uri)
        if fetched is None:
            return DataElement(tag, vr, raw=b"")
        if isinstance(fetched, bytes | bytearray | memoryview):
            data = bytes(fetched)
            if vr in BYTES_VRS or vr in BINARY_NUMBER_FORMATS:
                return _binary_element(tag, vr, data)
            # PS3.18 F.2.2 note 4: bulk text is UTF-8.
            return DataElement(tag, vr, decoded_text(data.decode("utf-8", "strict"), vr, tag))
        members = fetched if isinstance(fetched, list) else [fetched]
        return self.value(tag, vr, members, depth)


def from_json(
    data: str | bytes | bytearray | dict[str, Any],
    *,
    bulk_data_uri_handler: Callable[..., Any] | None = None,
    limits: Limits | None = None,
) -> Any:
    """Return the :class:`~dicomframe.Dataset` a DICOM JSON model object describes.

    Parameters
    ----------
    data
        The JSON text (``str``, or UTF-8 ``bytes``) or the object it parses to.
    bulk_data_uri_handler
        Fetches BulkDataURI values: ``handler(uri)`` or ``handler(tag, vr, uri)``;
        see the module docstring.
    limits
        Bounds on nesting and element count; default :func:`~dicomframe.core.limits.default_limits`.

    Raises
    ------
    InvalidDicomError
        The input is not JSON or breaks the model; the message names the tag.
    LimitError
        Sequences nest deeper than ``max_depth`` or there are more than
        ``max_elements`` elements and items.
    """
    resolved = resolve_limits(limits)
    allow_recursion(resolved.max_depth)
    model = _parse(data) if isinstance(data, str | bytes | bytearray) else data
    reader = _Reader(bulk_data_uri_handler, resolved)
    ds = reader.dataset(model, 0, None)
    _move_meta(ds)
    _mark_encapsulated(ds)
    return ds


def _parse(text: str | bytes | bytearray) -> object:
    try:
        return json.loads(text)
    except RecursionError as exc:  # nesting far past any Limits.max_depth
        raise InvalidDicomError("JSON nested too deeply to parse") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidDicomError(f"not JSON: {exc}") from exc


def _takes_one_argument(handler: Callable[..., Any]) -> bool:
    """Whether ``handler`` is ``handler(uri)`` rather than ``handler(tag, vr, uri)``.

    One required positional parameter means the short form (``dict.get`` too);
    a builtin whose signature cannot be read (``dict.__getitem__``) is taken
    as the short form, the one a mapping of URIs offers.
    """
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return True
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return False
    required = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(required) == 1


def _tag(key: object) -> Tag:
    text = key if isinstance(key, str) else ""
    if len(text) != 8 or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise InvalidDicomError(f"attribute key {key!r} is not a tag of 8 hex digits")
    return Tag(int(text, 16))


def _vr(attribute: dict[str, Any], tag: Tag) -> VR:
    name = attribute.get("vr")
    if name is None:
        raise InvalidDicomError("attribute has no 'vr' (PS3.18 F.2.2 requires it)", tag=tag)
    try:
        return VR(name)
    except ValueError:
        raise InvalidDicomError(f"unknown VR {name!r}", tag=tag) from None


def _one_string(value: object, kind: str, tag: Tag) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]  # PS3.18 F.4's example puts the string in an array
    if not isinstance(value, str):
        raise InvalidDicomError(f"{kind} must be a string, not {json_type(value)}", tag=tag)
    return value


def _base64(text: str, tag: Tag) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidDicomError(f"InlineBinary is not base64: {exc}", tag=tag) from exc


def _binary_element(tag: Tag, vr: VR, data: bytes) -> DataElement:
    """An element holding little-endian bytes, decoded on first use as a read one is."""
    if vr in BINARY_NUMBER_FORMATS:
        _, size = BINARY_NUMBER_FORMATS[vr]
        size *= 2 if vr is VR.AT else 1
        if len(data) % size:
            raise InvalidDicomError(
                f"{vr} value of {len(data)} bytes is not a multiple of {size}", tag=tag
            )
    return DataElement(tag, vr, raw=data, little_endian=True)


def _move_meta(ds: Any) -> None:
    """Group 0002 elements are file meta information, not part of the dataset."""
    from dicomframe.core.dataset import Dataset
    from dicomframe.core.transfer_syntax import resolve
    from dicomframe.errors import UnknownTransferSyntaxError

    meta = ds.group(0x0002)
    if not meta:
        return
    ds.meta = Dataset(meta)
    for element in meta:
        del ds[element.tag]
    uid = ds.meta.get(0x00020010)
    if isinstance(uid, str) and uid:
        try:
            ds.transfer_syntax = resolve(uid)
        except UnknownTransferSyntaxError:
            ds.transfer_syntax = None  # kept in ds.meta; the writer needs a syntax given


def _mark_encapsulated(ds: Any) -> None:
    """Pixel Data that is items (PS3.5 A.4) is written back with undefined length."""
    element = ds._elements.get(_PIXEL_DATA)
    if element is None or element.vr not in (VR.OB, VR.OW) or not element.length:
        return
    syntax = ds.transfer_syntax
    if syntax is not None:
        encapsulated = syntax.is_encapsulated
    else:
        raw = element.raw
        encapsulated = raw is not None and bytes(raw[:4]) == _ITEM_LE
    if encapsulated:
        element.undefined_length = True
        element.vr = VR.OB
