"""A pydicom dataset becomes a dicomframe one by its encoded bytes.

The bytes of every element pydicom has not decoded yet (its ``RawDataElement``
values) are the file's own bytes: they are written out unchanged, in the
encoding they were read in, and dicomframe's parser reads them exactly as
:func:`dicomframe.read` reads the file, so VRs (Implicit VR lookups,
ambiguous VRs, UN), private elements, sequences and character sets come out
the same, and values stay undecoded until used. An element pydicom has
decoded (or that was made in pydicom) is encoded by pydicom itself, in its
own VR and character set, first. Pixel data, native or encapsulated, goes
across as bytes and is never decoded.

Group length elements, item lengths and sequence delimiters are written as
pydicom's items say (``is_undefined_length_sequence_item``,
``is_undefined_length``), so the dataset written back by dicomframe keeps them.
"""

from __future__ import annotations

import struct
from typing import Any

from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import DataElement as PydicomElement
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset as PydicomDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.uid import UID

from dicomframe.core.codecs import find_syntax
from dicomframe.core.dataset import Dataset
from dicomframe.core.parser import ParseContext, parse_dataset
from dicomframe.core.source import Source
from dicomframe.core.transfer_syntax import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    TransferSyntax,
    resolve,
)
from dicomframe.errors import InvalidDicomError, UnknownTransferSyntaxError

__all__ = ["from_pydicom"]

_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_SPECIFIC_CHARACTER_SET = 0x00080005
_TRANSFER_SYNTAX_UID = 0x00020010
# Values this long stay views on the converted bytes instead of being copied again.
_DEFER_SIZE = 64 * 1024
_Encodings = str | list[str]


def from_pydicom(pds: PydicomDataset) -> Dataset:
    """The dicomframe :class:`~dicomframe.Dataset` holding what ``pds`` holds; see the module."""
    implicit, little = _encoding(pds)
    body = _encode(pds, implicit=implicit, little=little)
    ds = _parse(body, implicit=implicit, little=little)
    file_meta = getattr(pds, "file_meta", None)
    if file_meta is not None:
        ds.meta = _parse(
            _encode(file_meta, implicit=False, little=True), implicit=False, little=True
        )
    ds.preamble = getattr(pds, "preamble", None)
    ds.transfer_syntax = _syntax(ds.meta, implicit=implicit, little=little)
    return ds


def _encoding(pds: PydicomDataset) -> tuple[bool, bool]:
    """(implicit VR, little endian) of ``pds``: as read, else as its meta says, else explicit LE."""
    implicit, little = pds.original_encoding
    if implicit is not None and little is not None:
        return implicit, little
    file_meta = getattr(pds, "file_meta", None)
    uid = None if file_meta is None else file_meta.get("TransferSyntaxUID")
    if uid is not None and UID(str(uid)).is_transfer_syntax:
        return bool(UID(str(uid)).is_implicit_VR), bool(UID(str(uid)).is_little_endian)
    return False, True


def _syntax(meta: Dataset | None, *, implicit: bool, little: bool) -> TransferSyntax:
    """The syntax the meta names (as ``dcf.read`` finds it), else the one the bytes are in."""
    uid = None if meta is None else meta.get(_TRANSFER_SYNTAX_UID)
    if isinstance(uid, list):
        uid = uid[0] if uid else None
    if uid is None or not str(uid).strip(" \0"):
        if implicit:
            return ImplicitVRLittleEndian
        return ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    try:
        return resolve(str(uid))
    except UnknownTransferSyntaxError as exc:
        private: TransferSyntax | None = find_syntax(str(uid), None)
        if private is not None:
            return private
        raise InvalidDicomError(str(exc), tag=_TRANSFER_SYNTAX_UID) from exc


def _parse(data: bytes, *, implicit: bool, little: bool) -> Dataset:
    ctx = ParseContext(
        Source(data, name="<pydicom dataset>"),
        explicit_vr=not implicit,
        little_endian=little,
        defer_size=_DEFER_SIZE,
    )
    return parse_dataset(ctx, 0, len(data))


def _encode(pds: PydicomDataset, *, implicit: bool, little: bool) -> bytes:
    fp = DicomBytesIO()
    fp.is_implicit_VR = implicit
    fp.is_little_endian = little
    _write_dataset(fp, pds, default_encoding)
    return fp.getvalue()


def _encodings(pds: PydicomDataset, inherited: _Encodings) -> _Encodings:
    """The Python codecs of the character sets in force in ``pds``, read without decoding it."""
    if _SPECIFIC_CHARACTER_SET not in pds:
        return inherited
    value: Any = pds.get_item(_SPECIFIC_CHARACTER_SET).value
    if isinstance(value, bytes):
        value = [term.strip(" \0") for term in value.decode("latin-1").split("\\")]
    elif isinstance(value, str):
        value = [value]
    if not value or not any(value):
        return inherited
    return convert_encodings(list(value))


def _write_dataset(fp: DicomBytesIO, pds: PydicomDataset, inherited: _Encodings) -> None:
    """Every element of ``pds`` in tag order: raw ones as read, decoded ones as pydicom encodes."""
    encodings = _encodings(pds, inherited)
    for tag in sorted(pds.keys()):
        element: Any = pds.get_item(tag, keep_deferred=True)
        if _is_verbatim(element, fp):
            write_data_element(fp, element, encodings)  # the raw bytes, unchanged
            continue
        element = pds[tag]  # decoded by pydicom, its ambiguous VR settled
        if element.VR == "SQ":
            _write_sequence(fp, element, encodings)
        else:
            write_data_element(fp, element, encodings)


def _is_verbatim(element: Any, fp: DicomBytesIO) -> bool:
    """A raw element whose bytes are in ``fp``'s encoding and in memory (not deferred)."""
    return (
        isinstance(element, RawDataElement)
        and element.value is not None
        and (element.VR is not None or fp.is_implicit_VR)
        and element.is_implicit_VR == fp.is_implicit_VR
        and element.is_little_endian == fp.is_little_endian
    )


def _write_sequence(fp: DicomBytesIO, element: PydicomElement, encodings: _Encodings) -> None:
    """A sequence and its items, each item's elements as :func:`_write_dataset` writes them."""
    fp.write_tag(element.tag)
    if not fp.is_implicit_VR:
        fp.write(b"SQ\0\0")
    length_at = fp.tell()
    fp.write_UL(_UNDEFINED)
    for item in element.value:
        fp.write_tag(_ITEM)
        item_at = fp.tell()
        fp.write_UL(_UNDEFINED)
        _write_dataset(fp, item, encodings)
        if item.is_undefined_length_sequence_item:
            fp.write_tag(_ITEM_END)
            fp.write_UL(0)
        else:
            _patch_length(fp, item_at)
    if element.is_undefined_length:
        fp.write_tag(_SEQUENCE_END)
        fp.write_UL(0)
    else:
        _patch_length(fp, length_at)


def _patch_length(fp: DicomBytesIO, at: int) -> None:
    """Write the length of what follows the 4-byte length field at ``at``."""
    end = fp.tell()
    fp.seek(at)
    fp.write(struct.pack("<L" if fp.is_little_endian else ">L", end - at - 4))
    fp.seek(end)
