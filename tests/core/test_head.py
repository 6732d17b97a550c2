"""A read that stops before the pixels reads a head of the file, and the rest only if needed."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

import dicomframe as dcf
from dicomframe.core import reader
from dicomframe.core.source import Source
from tests.reference import TESTDATA


def header_file(lengths: str = "undefined", syntax: str = "ExplicitVRLittleEndian") -> bytes:
    """A 40 KiB image whose 2 KiB header has Latin-1 text and sequences late in it."""
    ds = dcf.Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Zoë"
    ds.PatientID = "HEAD-1"
    ds.StudyDescription = "Thorax ñ" * 7
    ds.ImageComments = "Bemerkung ä " * 40
    ds.Modality = "CT"
    items = []
    for index in range(6):
        item = dcf.Dataset()
        item.ReferencedSOPInstanceUID = f"1.2.3.{index}"
        code = dcf.Dataset()
        code.CodeMeaning = f"Größe {index}"
        item.PurposeOfReferenceCodeSequence = [code]
        items.append(item)
    ds.ReferencedImageSequence = items
    ds.set(0x00091010, "ACME", "LO")
    ds.set(0x00091011, bytes(range(256)) * 3, "OB")
    ds.SeriesDescription = "Séries ü"
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored = 128, 160, 16, 16
    ds.HighBit, ds.PixelRepresentation, ds.SamplesPerPixel = 15, 0, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = bytes(128 * 160 * 2)
    out = io.BytesIO()
    dcf.write(ds, out, transfer_syntax=syntax, sequence_lengths=lengths)
    return out.getvalue()


def pixel_offset(data: bytes) -> int:
    return data.index(b"\xe0\x7f\x10\x00")


def same(a: dcf.Dataset, b: dcf.Dataset) -> None:
    assert a.tags() == b.tags()
    assert a.meta == b.meta
    for element in a:
        assert element == b[element.tag]
        assert element.value == b[element.tag].value


@pytest.fixture
def wholes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the heads that were not enough (Source.whole calls)."""
    calls: list[int] = []
    whole = Source.whole

    def spy(self: Source) -> Source:
        calls.append(len(self.buffer))
        return whole(self)

    monkeypatch.setattr(Source, "whole", spy)
    return calls


def test_a_scan_reads_only_the_head(tmp_path: Path, wholes: list[int]) -> None:
    data = header_file()
    path = tmp_path / "image.dcm"
    path.write_bytes(data)
    ds = dcf.read(path, stop_before_pixels=True)
    assert wholes == []  # 16 KiB held the 2 KiB header
    assert ds.source is None  # nothing left in the file: it is closed
    assert ds.PatientName == "Müller^Zoë"
    same(ds, dcf.read(data, stop_before_pixels=True))


@pytest.mark.parametrize("lengths", ["defined", "undefined"])
def test_every_head_size_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wholes: list[int], lengths: str
) -> None:
    data = header_file(lengths)
    path = tmp_path / "image.dcm"
    path.write_bytes(data)
    expected = dcf.read(data, stop_before_pixels=True)
    end = pixel_offset(data) + 16
    sizes = list(range(1, 300, 3)) + list(range(300, end + 40, 11))
    for size in sizes:  # heads that end in the meta, in every kind of element, in items
        monkeypatch.setattr(reader, "HEAD_BYTES", size)
        ds = dcf.read(path, stop_before_pixels=True)
        same(ds, expected)
        for element in ds.ReferencedImageSequence:
            assert element.PurposeOfReferenceCodeSequence[0].CodeMeaning.startswith("Größe")
        assert ds.SeriesDescription == "Séries ü"  # read on in the whole file: still Latin-1
    assert len(wholes) == sum(size < end for size in sizes)  # the whole file only when needed


@pytest.mark.parametrize("syntax", ["DeflatedExplicitVRLittleEndian", "ImplicitVRLittleEndian"])
def test_other_syntaxes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, syntax: str) -> None:
    data = header_file(syntax=syntax)
    path = tmp_path / "image.dcm"
    path.write_bytes(data)
    monkeypatch.setattr(reader, "HEAD_BYTES", 1024)
    same(dcf.read(path, stop_before_pixels=True), dcf.read(data, stop_before_pixels=True))


def test_a_head_keeps_its_descriptor_only_while_reading(tmp_path: Path) -> None:
    data = header_file()
    path = tmp_path / "image.dcm"
    path.write_bytes(data)
    before = len(os.listdir("/proc/self/fd"))
    head = Source.from_path(path, head=512)
    assert head.is_head
    assert len(head) == 512
    assert len(os.listdir("/proc/self/fd")) == before + 1
    head.finish()
    assert not head.is_head
    assert len(os.listdir("/proc/self/fd")) == before
    assert bytes(head.buffer[128:132]) == b"DICM"  # the bytes stay readable
    for _ in range(3):
        dcf.read(path, stop_before_pixels=True)
    assert len(os.listdir("/proc/self/fd")) == before


def test_whole_maps_a_large_file_and_keeps_it_lazy(tmp_path: Path) -> None:
    data = header_file()
    path = tmp_path / "image.dcm"
    path.write_bytes(data)
    head = Source.from_path(path, map_from=1024, head=512)
    whole = head.whole()
    assert not head.is_head
    assert whole.is_mapped
    assert bytes(whole.buffer) == data
    whole.close()
    small = Source.from_path(path, map_from=len(data) + 1, head=512).whole()
    assert not small.is_mapped  # smaller than map_from: read, as without a head
    assert bytes(small.buffer) == data


def test_a_file_changed_after_its_head_was_read_raises(tmp_path: Path) -> None:
    data = header_file()
    path = tmp_path / "image.dcm"
    path.write_bytes(data)
    head = Source.from_path(path, head=512)
    with open(path, "ab") as handle:
        handle.write(b"\0" * 16)
    with pytest.raises(dcf.SourceChangedError, match="changed while it was read"):
        head.whole()
    assert not head.is_head  # the descriptor was closed


def test_damage_past_the_head_raises_as_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bytearray(header_file())
    at = data.index(b"\x08\x00\x3e\x10")  # Series Description: its VR made invalid
    data[at + 4 : at + 6] = b"\x01\x02"
    path = tmp_path / "image.dcm"
    path.write_bytes(data)
    with pytest.raises(dcf.InvalidDicomError) as without:
        dcf.read(bytes(data), stop_before_pixels=True)
    monkeypatch.setattr(reader, "HEAD_BYTES", at + 3)
    with pytest.raises(dcf.InvalidDicomError) as headed:
        dcf.read(path, stop_before_pixels=True)
    assert str(headed.value) == str(without.value)
    assert headed.value.offset == at


def test_no_head_for_a_small_defer_size_or_a_lenient_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wholes: list[int]
) -> None:
    data = header_file()
    path = tmp_path / "image.dcm"
    path.write_bytes(data)
    monkeypatch.setattr(reader, "HEAD_BYTES", 512)
    ds = dcf.read(path, stop_before_pixels=True, defer_size=256)
    assert ds.source is not None  # the OB value stays in the file
    assert ds.source.is_mapped
    assert not ds[0x00091011].is_loaded
    ds.close()
    dcf.read(path, stop_before_pixels=True, lenient=True)
    assert wholes == []  # neither read began with a head


def test_small_files_are_read_whole(wholes: list[int]) -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm", stop_before_pixels=True)
    assert ds.Modality == "CT"
    assert wholes == []
