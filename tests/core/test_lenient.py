"""Lenient reading: damaged files give what they still hold, each repair named; strict default."""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import dicomframe as dcf
from dicomframe.core.element import DataElement
from dicomframe.core.vr import VR
from tests.core.test_bad_input import GOOD, element, part10
from tests.reference import TESTDATA

ITEM = b"\xfe\xff\x00\xe0"
UNDEFINED = b"\xff\xff\xff\xff"


def pydicom_file(name: str) -> str:
    path = get_testdata_file(name)
    assert path is not None
    return str(path)


DAMAGED = {
    "MR_truncated.dcm": ({}, 0x7FE00010),
    "rtplan_truncated.dcm": ({}, 0x300A00B0),
    "dicomdirtests/DICOMDIR-nooffset": ({}, 0x00041220),
    "no_meta.dcm": ({"force": True}, 0x08200500),
}


def lenient_read(
    source: object, **options: object
) -> tuple[dcf.Dataset, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = dcf.read(source, lenient=True, **options)  # type: ignore[arg-type]
    return ds, [w for w in caught if issubclass(w.category, dcf.RepairWarning)]


def tag_tree(ds: object) -> list[object]:
    """Every tag at every depth, items in order: the structure both readers must agree on."""
    out: list[object] = []
    for elem in ds:  # type: ignore[attr-defined]
        out.append(int(elem.tag))
        is_sequence = elem.VR == "SQ" if hasattr(elem, "VR") else elem.vr is VR.SQ
        if is_sequence:
            out.append([tag_tree(item) for item in elem.value])
    return out


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_files_are_refused_by_default(name: str) -> None:
    options, _ = DAMAGED[name]
    with pytest.raises(dcf.InvalidDicomError):
        dcf.read(pydicom_file(name), **options).load()  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_files_read_leniently_as_pydicom_reads_them(name: str) -> None:
    options, first_repaired = DAMAGED[name]
    path = pydicom_file(name)
    ds, caught = lenient_read(path, **options)
    assert ds.repairs, "a lenient read of a damaged file names its repairs"
    assert [w.message for w in caught] == list(ds.repairs)
    first = ds.repairs[0]
    assert first.tag == first_repaired
    assert first.offset is not None
    assert first.action
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns of its own repairs
        oracle = pydicom.dcmread(path, force=True)
        assert tag_tree(ds) == tag_tree(oracle)


def test_truncated_values_keep_the_bytes_that_remain() -> None:
    ds, _ = lenient_read(pydicom_file("MR_truncated.dcm"))
    assert ds["PixelData"].length == 8130
    assert ds.repairs[0].action == "kept the 8130 bytes that remain"


def encapsulated_without_delimiter() -> tuple[bytes, dcf.Dataset]:
    path = TESTDATA / "jpeg_lossless.dcm"
    data = path.read_bytes()
    assert data[-8:] == b"\xfe\xff\xdd\xe0\0\0\0\0"  # the Sequence Delimitation Item ends it
    return data[:-8], dcf.read(path)


def test_encapsulated_pixel_data_without_its_delimiter() -> None:
    damaged, original = encapsulated_without_delimiter()
    with pytest.raises(dcf.InvalidDicomError, match="Sequence Delimitation"):
        dcf.read(damaged)
    ds, caught = lenient_read(damaged)
    assert len(caught) == 1
    assert ds.repairs[0].tag == 0x7FE00010
    np.testing.assert_array_equal(ds.pixel_array, original.pixel_array)


def test_a_cut_last_fragment_is_dropped() -> None:
    damaged, _ = encapsulated_without_delimiter()
    ds, _ = lenient_read(damaged[:-10])
    assert "dropped the incomplete last fragment" in str(ds.repairs[0])
    assert ds.pixel_data.is_encapsulated


def undefined_sequence_without_delimiters() -> bytes:
    inner = element(0x00081150, "UI", b"1.2.3\0") + element(0x00081155, "UI", b"1.2.3.4\0")
    head = struct.pack("<HH", 0x0008, 0x1115) + b"SQ\0\0" + UNDEFINED
    return part10(GOOD + head + ITEM + UNDEFINED + inner)  # no item or sequence delimiter


def test_missing_item_and_sequence_delimiters_are_supplied() -> None:
    data = undefined_sequence_without_delimiters()
    with pytest.raises(dcf.InvalidDicomError):
        dcf.read(data)
    ds, _ = lenient_read(data)
    assert [r.action for r in ds.repairs] == [
        "ended the item at the end of the data",
        "ended the sequence after 1 items",
    ]
    assert ds.ReferencedSeriesSequence[0].ReferencedSOPInstanceUID == "1.2.3.4"
    assert ds.Modality == "CT"


def test_a_dataset_without_prefix_or_meta_is_read_whatever_its_first_group() -> None:
    body = element(0x00100010, "PN", b"Doe^Jane") + element(0x00200013, "IS", b"7 ")
    with pytest.raises(dcf.InvalidDicomError, match="DICM"):
        dcf.read(body)
    ds, caught = lenient_read(body)
    assert caught == []  # nothing was damaged: the encoding was detected
    assert (str(ds.PatientName), ds.InstanceNumber) == ("Doe^Jane", 7)


def text_numbers() -> bytes:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    ds.load()
    ds.add(DataElement(dcf.Tag(0x00280008), VR.IS, raw=b"1A"))
    ds.add(DataElement(dcf.Tag(0x00200013), VR.IS, raw=b"x7"))
    ds.add(DataElement(dcf.Tag(0x00080018), VR.UI, raw=b"not a uid!"))
    out = io.BytesIO()
    dcf.write(ds, out)
    return out.getvalue()


def test_number_of_frames_1a_is_read_as_dcmtk_reads_it() -> None:
    data = text_numbers()
    with pytest.raises(dcf.InvalidDicomError, match="not a number"):
        _ = dcf.read(data).pixel_array
    ds, _ = lenient_read(data)
    assert ds.pixel_array.shape == (1, 64, 64)
    assert {(r.tag, r.action) for r in ds.repairs} == {
        (0x00200013, "kept as text"),
        (0x00280008, "read as 1, as DCMTK reads it"),
    }
    assert ds.InstanceNumber == "x7"


@pytest.mark.parametrize("lenient", [False, True])
def test_unmodified_values_are_written_back_byte_for_byte(lenient: bool) -> None:
    data = text_numbers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dcf.RepairWarning)
        ds = dcf.read(data, lenient=lenient)
    out = io.BytesIO()
    dcf.write(ds, out)  # a UI that is not a UID, copied to the meta too, never fails the write
    assert out.getvalue() == data


def test_a_lenient_read_of_a_sound_file_repairs_nothing(tmp_path: Path) -> None:
    for path in sorted(TESTDATA.glob("*.dcm")):
        if path.name in ("truncated.dcm",):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error", dcf.RepairWarning)
            ds = dcf.read(path, lenient=True, force=True)
        assert ds.repairs == ()
        assert dcf.read(path, force=True) == ds
