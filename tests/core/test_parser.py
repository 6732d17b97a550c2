"""Tests for dicomframe.core.parser's inline loop: it must build the same elements as the
one-element reader that iter_elements() uses, and read small files without mapping them."""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path
from typing import Any

import pytest

import dicomframe as dcf
from dicomframe.core import parser
from dicomframe.core.dictionary import lookup
from dicomframe.core.element import _UNSET, DataElement
from dicomframe.core.reader import DEFAULT_DEFER_SIZE
from dicomframe.core.source import Located, Source, _read_all
from tests.reference import TESTDATA, project_files, pydicom_files

CT = TESTDATA / "ct_explicit_le.dcm"


def _slots(element: DataElement) -> tuple[Any, ...]:
    """Every slot of an element, with located values as (offset, length) and bytes as bytes."""
    raw = element._raw
    if element.vr is dcf.VR.SQ:
        raw_key: Any = None  # items compare by value, parsed now if they were left as bytes
    elif isinstance(raw, Located):
        raw_key = ("located", raw.offset, raw.length)
    elif raw is None:
        raw_key = None
    else:
        raw_key = (type(raw).__name__, bytes(raw))
    return (
        type(element.tag),
        int(element.tag),
        element.vr,
        raw_key,
        element.value if element.vr is dcf.VR.SQ else None,  # others: decoded or not
        element.little_endian,
        element.charsets,
        element.undefined_length,
        element.offset,
    )


def _ambiguous(tag: int) -> bool:
    """Tags whose VR needs the dataset, which iter_elements() does not keep (US or SS)."""
    entry = lookup(tag)
    return entry is not None and len(entry.vrs) > 1


def _readable(path: Path) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dcf.read(path).close()
    except dcf.DicomError:
        return False
    return True


FILES = [p for p in project_files() + pydicom_files() if _readable(p)]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_inline_loop_builds_what_the_element_reader_builds(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcf.read(path)
        streamed = [e for e in dcf.iter_elements(path) if e.tag.group != 0x0002]
    try:
        assert [e.tag for e in streamed] == list(ds._elements)
        for element in streamed:
            if not _ambiguous(element.tag):
                assert _slots(ds[element.tag]) == _slots(element), element.tag
    finally:
        ds.close()


def test_iter_elements_keeps_the_file_for_values_located_in_items(tmp_path: Path) -> None:
    item = dcf.Dataset()
    item.set(0x00420011, b"%PDF" * 32, "OB")  # Encapsulated Document: 128 bytes
    ds = dcf.Dataset()
    ds.PatientID = "1"
    ds.set(0x0040A730, [item], "SQ")  # Content Sequence
    path = tmp_path / "nested.dcm"
    dcf.write(ds, path)
    elements = {e.tag: e for e in dcf.iter_elements(path, defer_size=64)}
    inner = elements[dcf.Tag(0x0040A730)].value[0][0x00420011]
    assert not inner.is_loaded  # only the item's value is left in the file...
    assert inner.value == b"%PDF" * 32  # ...which is still open to read it


def test_every_slot_is_set_on_elements_read() -> None:
    ds = dcf.read(TESTDATA / "sequences.dcm")
    elements = list(ds) + [e for item in ds.ReferencedSeriesSequence for e in item]
    for element in elements:
        for slot in DataElement.__slots__:
            getattr(element, slot)  # an unset slot raises AttributeError


def test_caller_bytearray_gives_bytes_values() -> None:
    ds = dcf.read(bytearray(CT.read_bytes()))
    assert all(type(e._raw) is bytes for e in ds if e.tag != 0x7FE00010)
    assert ds == dcf.read(CT)


def test_stop_before_pixels_keeps_everything_before_the_pixels() -> None:
    full = dcf.read(CT)
    head = dcf.read(CT, stop_before_pixels=True)
    assert head.tags() == [t for t in full.tags() if t < 0x7FE00008]
    assert all(head[t] == full[t] for t in head.tags())


def _implicit(tag: int, value: bytes) -> bytes:
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, len(value)) + value


@pytest.mark.parametrize(("representation", "expected"), [(0, 65535), (1, -1)])
def test_us_or_ss_follows_pixel_representation_on_every_read(
    representation: int, expected: int
) -> None:
    data = (
        _implicit(0x00080060, b"OT")
        + _implicit(0x00280103, struct.pack("<H", representation))
        + _implicit(0x00280106, b"\xff\xff")  # Smallest Image Pixel Value: US or SS
    )
    for _ in range(2):  # the second read finds the tags cached by the first
        ds = dcf.read(data, force=True)
        assert ds.Modality == "OT"
        assert ds.SmallestImagePixelValue == expected


def test_private_tags_in_implicit_vr_are_un_on_every_read() -> None:
    data = _implicit(0x00090010, b"CREATOR ") + _implicit(0x00091001, b"\x01\x02")
    for _ in range(2):
        ds = dcf.read(data, force=True)
        assert ds[0x00090010].vr is dcf.VR.LO
        assert ds[0x00091001].vr is dcf.VR.UN
        assert ds[0x00091001].value == b"\x01\x02"


def test_small_file_is_read_and_large_file_mapped() -> None:
    size = CT.stat().st_size
    small = Source.from_path(CT, map_from=size + 1)
    large = Source.from_path(CT, map_from=size)
    try:
        assert not small.is_mapped
        assert large.is_mapped
        assert bytes(small.buffer) == bytes(large.buffer) == CT.read_bytes()
    finally:
        small.close()
        large.close()


@pytest.mark.parametrize("told", [0, 4, 10, 20])
def test_read_all_reads_to_the_end_whatever_size_it_was_told(tmp_path: Path, told: int) -> None:
    path = tmp_path / "ten.bin"
    path.write_bytes(b"0123456789")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _read_all(fd, told, "ten.bin", None) == b"0123456789"
    finally:
        os.close(fd)


def test_empty_file_is_an_empty_buffer(tmp_path: Path) -> None:
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    for map_from in (0, 1 << 16):
        source = Source.from_path(path, map_from=map_from)
        assert len(source) == 0
        assert not source.is_mapped


# ------------------------------------------------------------------ headers met before


def _all_slots(ds: dcf.Dataset) -> list[tuple[Any, ...]]:
    found = []
    for element in ds._elements.values():
        found.append(_slots(element))
        if element.vr is dcf.VR.SQ:
            found.extend(s for item in element.sequence for s in _all_slots(item))
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_headers_met_before_read_the_same(path: Path) -> None:
    parser._HEADERS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = dcf.read(path, defer_size=1 << 40)
        second = dcf.read(path, defer_size=1 << 40)  # every 8-byte header is known now
    assert _all_slots(second) == _all_slots(first)


def test_a_known_header_is_not_decoded_again() -> None:
    parser._HEADERS.clear()
    dcf.read(CT)
    known = parser._headers(True, True, False, 0, DEFAULT_DEFER_SIZE)  # explicit LE dataset
    key = next(k for k, hit in known.items() if hit[3] == 0x00080060)  # Modality
    tag, _, size, number = known[key]
    known[key] = (tag, dcf.VR.LO, size, number)  # what the header said, as remembered
    assert dcf.read(CT)["Modality"].vr is dcf.VR.LO  # the remembered answer was used
    parser._HEADERS.clear()
    assert dcf.read(CT)["Modality"].vr is dcf.VR.CS


def test_known_headers_keep_to_strict_and_defer_size(tmp_path: Path) -> None:
    parser._HEADERS.clear()
    odd = TESTDATA / "odd_length_value.dcm"
    dcf.read(odd)
    with pytest.raises(dcf.InvalidDicomError, match="odd value length"):
        dcf.read(odd, strict=True)
    data = _implicit(0x00080060, b"OT") + _implicit(0x00081030, b"x" * 300)
    path = tmp_path / "implicit.dcm"
    path.write_bytes(data)
    assert dcf.read(path, force=True)[0x00081030].is_loaded
    ds = dcf.read(path, force=True, defer_size=256)
    assert not ds[0x00081030].is_loaded  # left in the file, though its header is known
    ds.close()


def test_known_headers_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    parser._HEADERS.clear()
    monkeypatch.setattr(parser, "_MAX_HEADERS", 4)
    for _ in range(2):
        assert dcf.read(CT) == dcf.read(CT.read_bytes())
    assert parser._HEADERS
    assert all(len(known) <= 4 for known in parser._HEADERS.values())


def test_character_sets_are_kept_by_their_bytes() -> None:
    parser._CHARSETS.clear()
    path = TESTDATA / "charset_latin1.dcm"
    first = dcf.read(path)
    assert list(parser._CHARSETS.values()) == [("ISO_IR 100",)]
    second = dcf.read(path)
    assert second[0x00080005]._value is _UNSET  # not decoded to find the character sets
    assert [e.value for e in second] == [e.value for e in first]
    assert second.PatientName == first.PatientName
