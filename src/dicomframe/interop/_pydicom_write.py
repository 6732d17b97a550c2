"""A dicomframe dataset becomes a pydicom one by its encoded bytes.

Every element still holding the bytes it was read with goes across as a
pydicom ``RawDataElement`` of those bytes, so pydicom decodes it lazily, as
it decodes an element of a file it reads; an element whose value was set in
dicomframe is encoded by dicomframe first (as :func:`dicomframe.write` would
write it). In a dataset read in Implicit VR an unchanged element goes across
without a VR, and pydicom gives it the VR it gives when reading the file (its
private dictionary, its rules for ambiguous VRs); everywhere else the VR is
dicomframe's. Byte order follows the dataset's transfer syntax. Sequences
become pydicom Sequences of converted items, with their lengths (defined or
undefined) as read. Pixel data goes across as bytes, never decoded.
"""

from __future__ import annotations

from collections.abc import MutableSequence
from typing import Any

from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import DataElement as PydicomElement
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset as PydicomDataset
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.sequence import Sequence as PydicomSequence
from pydicom.tag import BaseTag

from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement, Sequence
from dicomframe.core.encoder import dataset_charsets
from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian, TransferSyntax, resolve
from dicomframe.core.values import encode_value
from dicomframe.core.vr import SWAP_SIZE, VR, swap_bytes

__all__ = ["to_pydicom"]

_UNDEFINED = 0xFFFFFFFF
_TRANSFER_SYNTAX_UID = 0x00020010
_Encodings = str | MutableSequence[str]


class _Encoding:
    """How the converted elements are encoded, and whether VRs are left to pydicom."""

    __slots__ = ("implicit", "little", "lookup_vrs")

    def __init__(self, *, implicit: bool, little: bool, lookup_vrs: bool) -> None:
        self.implicit = implicit
        self.little = little
        self.lookup_vrs = lookup_vrs


def to_pydicom(ds: Dataset) -> PydicomDataset:
    """The pydicom dataset holding what ``ds`` holds; see the module docstring."""
    syntax = _syntax(ds)
    encoding = _Encoding(
        implicit=not syntax.is_explicit_vr,
        little=syntax.is_little_endian,
        lookup_vrs=not syntax.is_explicit_vr and ds.transfer_syntax is not None,
    )
    body = _dataset(ds, encoding, (), default_encoding)
    if ds.meta is None:
        return body
    meta_encoding = _Encoding(implicit=False, little=True, lookup_vrs=False)
    file_meta = FileMetaDataset(_elements(ds.meta, meta_encoding, (), default_encoding))
    file_meta.set_original_encoding(False, True, default_encoding)
    pds = FileDataset(
        "",
        body,
        preamble=ds.preamble,
        file_meta=file_meta,
        is_implicit_VR=encoding.implicit,
        is_little_endian=encoding.little,
    )
    pds.set_original_encoding(encoding.implicit, encoding.little, body.original_character_set)
    return pds


def _syntax(ds: Dataset) -> TransferSyntax:
    """The dataset's transfer syntax: as read, else as its meta names, else Explicit VR LE."""
    if ds.transfer_syntax is not None:
        return ds.transfer_syntax
    uid = None if ds.meta is None else ds.meta.get(_TRANSFER_SYNTAX_UID)
    return ExplicitVRLittleEndian if uid is None else resolve(str(uid))


def _dataset(
    ds: Dataset, encoding: _Encoding, inherited: tuple[str, ...], parent: _Encodings
) -> PydicomDataset:
    charsets = dataset_charsets(ds, inherited)
    encodings = convert_encodings(list(charsets)) if charsets != inherited else parent
    pds = PydicomDataset(_elements(ds, encoding, charsets, encodings), parent_encoding=parent)
    pds.set_original_encoding(encoding.implicit, encoding.little, encodings)
    pds.is_undefined_length_sequence_item = ds.undefined_length
    return pds


def _elements(
    ds: Dataset, encoding: _Encoding, charsets: tuple[str, ...], encodings: _Encodings
) -> dict[BaseTag, Any]:
    found: dict[BaseTag, Any] = {}
    for element in ds:
        tag = BaseTag(int(element.tag))
        if element.vr is VR.SQ:
            found[tag] = _sequence(element, encoding, charsets, encodings)
        else:
            found[tag] = _raw(element, encoding, charsets)
    return found


def _sequence(
    element: DataElement, encoding: _Encoding, charsets: tuple[str, ...], encodings: _Encodings
) -> PydicomElement:
    items = element.sequence
    converted = PydicomSequence([_dataset(item, encoding, charsets, encodings) for item in items])
    undefined = items.undefined_length if isinstance(items, Sequence) else element.undefined_length
    return PydicomElement(BaseTag(int(element.tag)), "SQ", converted, is_undefined_length=undefined)


def _raw(element: DataElement, encoding: _Encoding, charsets: tuple[str, ...]) -> RawDataElement:
    """The element's bytes in the dataset's byte order: as read, or as dicomframe encodes them."""
    raw = element.raw
    vr: str | None = element.vr.value
    if raw is None:
        data = encode_value(
            element.value,
            element.vr,
            little_endian=encoding.little,
            charsets=charsets,
            tag=element.tag,
        )
    else:
        data = bytes(raw)
        if element.little_endian != encoding.little and element.vr in SWAP_SIZE:
            data = swap_bytes(data, SWAP_SIZE[element.vr])
        if encoding.lookup_vrs:
            vr = None  # pydicom looks the VR up, as when it reads the file
    return RawDataElement(
        BaseTag(int(element.tag)),
        vr,
        _UNDEFINED if element.undefined_length else len(data),
        data,
        0,
        encoding.implicit,
        encoding.little,
    )
