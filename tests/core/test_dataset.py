"""Tests for dicomframe.core.dataset: keyword and tag access, order, equality, VR choice."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.valuerep import PersonName
from tests.reference import TESTDATA, pydicom_files

CT_SMALL = next(p for p in pydicom_files() if p.name == "CT_small.dcm")
PATIENT_NAME = 0x00100010


@pytest.fixture
def ct() -> dcf.Dataset:
    return dcf.read(TESTDATA / "ct_explicit_le.dcm")


# ------------------------------------------------------------------ access


@pytest.mark.parametrize(
    "key",
    ["PatientName", 0x00100010, dcf.Tag(0x10, 0x10), "(0010,0010)", "00100010"],
    ids=repr,
)
def test_getitem_gives_the_element(ct: dcf.Dataset, key: int | str) -> None:
    element = ct[key]
    assert isinstance(element, dcf.DataElement)
    assert element.tag == PATIENT_NAME
    assert element.vr is dcf.VR.PN
    assert element.keyword == "PatientName"
    assert element.value == "Doe^Jane^M^Dr^PhD"
    assert key in ct


def test_keyword_attribute_gives_the_value(ct: dcf.Dataset) -> None:
    name = ct.PatientName
    assert isinstance(name, PersonName)
    assert name == "Doe^Jane^M^Dr^PhD"
    assert name.family_name == "Doe"
    assert ct.Rows == 64
    assert ct.ImagePositionPatient == [-125.5, -130.25, 42.0]


@pytest.mark.parametrize(
    "key", ["PatientBirthName", 0x00101005, "(0010,1005)", dcf.Tag(0x00101005)], ids=repr
)
def test_absent(ct: dcf.Dataset, key: int | str) -> None:
    assert key not in ct
    with pytest.raises(KeyError):
        ct[key]
    assert ct.get(key) is None
    assert ct.get(key, "default") == "default"


@pytest.mark.parametrize("key", ["NotAKeyword", "patientname", "(0010,001)", 1.5, None, b"x", -1])
def test_contains_is_false_for_junk(ct: dcf.Dataset, key: object) -> None:
    assert key not in ct


def test_getitem_unknown_keyword_is_key_error(ct: dcf.Dataset) -> None:
    with pytest.raises(KeyError, match="neither a tag nor a DICOM keyword"):
        ct["NotAKeyword"]


def test_unknown_keyword_attribute(ct: dcf.Dataset) -> None:
    with pytest.raises(AttributeError, match="not a DICOM keyword"):
        _ = ct.NotAKeyword
    with pytest.raises(AttributeError, match="NotAKeyword"):
        ct.NotAKeyword = 1
    assert not hasattr(ct, "NotAKeyword")


def test_absent_keyword_attribute(ct: dcf.Dataset) -> None:
    with pytest.raises(AttributeError, match=r"PatientBirthName \(0010,1005\)"):
        _ = ct.PatientBirthName
    assert not hasattr(ct, "PatientBirthName")
    assert getattr(ct, "PatientBirthName", "x") == "x"


def test_get_returns_values(ct: dcf.Dataset) -> None:
    assert ct.get("Rows") == 64
    assert ct.get(0x00280011) == 64
    assert ct.get("PatientName") == "Doe^Jane^M^Dr^PhD"


# ------------------------------------------------------------------ set and delete


def test_set_by_keyword_creates_an_element_with_the_dictionary_vr() -> None:
    ds = dcf.Dataset()
    ds.PatientName = "Doe^John"
    element = ds["PatientName"]
    assert element.vr is dcf.VR.PN
    assert element.tag == PATIENT_NAME
    assert ds.PatientName == "Doe^John"
    ds.Rows = 512
    assert ds["Rows"].vr is dcf.VR.US
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    assert ds["ImageType"].vr is dcf.VR.CS
    assert len(ds) == 3


def test_set_existing_keeps_the_element(ct: dcf.Dataset) -> None:
    element = ct["PatientName"]
    ct.PatientName = "Roe^Richard"
    assert ct["PatientName"] is element
    assert element.raw is None  # the read bytes are dropped once assigned
    assert ct.PatientName == "Roe^Richard"


def test_set_method_with_vr(ct: dcf.Dataset) -> None:
    element = ct.set(0x00091001, "private", vr="LO")
    assert ct[0x00091001] is element
    assert element.vr is dcf.VR.LO
    # another VR replaces the element
    replaced = ct.set("PatientName", b"raw", vr="UN")
    assert replaced.vr is dcf.VR.UN
    assert ct["PatientName"] is replaced


def test_unknown_tag_gets_un() -> None:
    ds = dcf.Dataset()
    assert ds.set(0x00091001, b"\x01\x02").vr is dcf.VR.UN


def test_setitem_needs_matching_tag() -> None:
    ds = dcf.Dataset()
    ds["PatientID"] = dcf.DataElement(0x00100020, "LO", "ID1")
    assert ds.PatientID == "ID1"
    with pytest.raises(ValueError, match=r"\(0010,0010\) stored under \(0010,0020\)"):
        ds["PatientID"] = dcf.DataElement(PATIENT_NAME, "PN", "A^B")


@pytest.mark.parametrize("how", ["attribute", "keyword", "int", "tag"])
def test_delete(ct: dcf.Dataset, how: str) -> None:
    before = len(ct)
    if how == "attribute":
        del ct.PatientName
    else:
        key = {"keyword": "PatientName", "int": PATIENT_NAME, "tag": dcf.Tag(PATIENT_NAME)}[how]
        del ct[key]
    assert "PatientName" not in ct
    assert len(ct) == before - 1
    assert PATIENT_NAME not in ct.tags()


def test_delete_absent(ct: dcf.Dataset) -> None:
    with pytest.raises(AttributeError):
        del ct.PatientBirthName
    with pytest.raises(KeyError):
        del ct["PatientBirthName"]


def test_pop(ct: dcf.Dataset) -> None:
    element = ct.pop("PatientName")
    assert element.tag == PATIENT_NAME
    assert "PatientName" not in ct
    assert ct.pop("PatientName", None) is None
    with pytest.raises(KeyError):
        ct.pop("PatientName")


def test_lower_case_names_are_python_attributes() -> None:
    ds = dcf.Dataset()
    ds.note = "mine"  # type: ignore[attr-defined]
    assert ds.note == "mine"  # type: ignore[attr-defined]
    assert len(ds) == 0


# ------------------------------------------------------------------ order and size


def test_iteration_in_tag_order_after_out_of_order_inserts() -> None:
    ds = dcf.Dataset()
    ds.PatientID = "1"
    ds.Modality = "CT"
    ds.PixelData = b"\0\0"
    ds.PatientName = "A^B"
    ds.SOPInstanceUID = "1.2.3"
    ds.add(dcf.DataElement(0x00080005, "CS", "ISO_IR 100"))
    expected = [0x00080005, 0x00080018, 0x00080060, 0x00100010, 0x00100020, 0x7FE00010]
    assert [e.tag for e in ds] == expected
    assert ds.tags() == expected
    assert [e.tag for e in ds.elements()] == expected
    assert len(ds) == 6
    ds.StudyDate = "20240101"  # out of order again, after iterating
    assert [e.tag for e in ds][:3] == [0x00080005, 0x00080018, 0x00080020]


def test_iteration_survives_deletion(ct: dcf.Dataset) -> None:
    for element in ct:
        if element.tag.group == 0x0008:
            del ct[element.tag]
    assert not ct.group(0x0008)
    assert ct.group(0x0028)


def test_len_and_bool() -> None:
    ds = dcf.Dataset()
    assert len(ds) == 0
    assert ds  # an empty dataset is still a dataset, as an empty item is


def test_group(ct: dcf.Dataset) -> None:
    group = ct.group(0x0028)
    assert group
    assert all(e.tag.group == 0x0028 for e in group)
    assert [e.tag for e in group] == sorted(e.tag for e in group)


def test_dir_lists_present_keywords(ct: dcf.Dataset) -> None:
    names = dir(ct)
    assert "PatientName" in names
    assert "PatientBirthName" not in names
    assert "close" in names


# ------------------------------------------------------------------ sequences


def test_nested_sequence_access() -> None:
    ds = dcf.read(CT_SMALL)
    sequence = ds.OtherPatientIDsSequence
    assert isinstance(sequence, dcf.Sequence)
    assert len(sequence) == 2
    assert isinstance(sequence[0], dcf.Dataset)
    assert sequence[0].PatientID == "ABCD1234"
    assert sequence[1].PatientID == "1234ABCD"
    assert ds["OtherPatientIDsSequence"].is_sequence
    assert ds["OtherPatientIDsSequence"].sequence is sequence


def test_deep_nesting_in_testdata() -> None:
    ds = dcf.read(TESTDATA / "sequences_defined.dcm")
    series = ds.ReferencedSeriesSequence
    assert len(series) == 2
    assert len(series[1]) == 0  # the empty item
    images = series[0].ReferencedImageSequence
    assert images[0].ReferencedFrameNumber == [1, 3, 5]
    assert images[0].PurposeOfReferenceCodeSequence[0].CodeMeaning == "Localizer"
    assert len(images[1].PurposeOfReferenceCodeSequence) == 0
    assert len(ds.ProcedureCodeSequence) == 0


def test_plain_list_as_sequence_value(tmp_path: Path) -> None:
    item = dcf.Dataset()
    item.ReferencedSOPInstanceUID = "1.2.3"
    ds = dcf.Dataset()
    ds.ReferencedImageSequence = [item]  # as in pydicom: a list of datasets
    assert ds["ReferencedImageSequence"].vr is dcf.VR.SQ
    assert isinstance(ds.ReferencedImageSequence, dcf.Sequence)
    assert "ReferencedSOPInstanceUID [1.2.3]" in repr(ds)
    ds.load()
    dcf.write(ds, tmp_path / "seq.dcm")
    back = dcf.read(tmp_path / "seq.dcm")
    assert back.ReferencedImageSequence[0].ReferencedSOPInstanceUID == "1.2.3"


# ------------------------------------------------------------------ equality


def test_equality(ct: dcf.Dataset) -> None:
    other = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    assert ct == other
    other.PatientName = "Roe^Richard"
    assert ct != other
    other.PatientName = "Doe^Jane^M^Dr^PhD"
    assert ct == other  # equal by value once assigned back
    del other.PatientName
    assert ct != other
    assert ct != "not a dataset"
    with pytest.raises(TypeError):
        hash(ct)


def test_equality_ignores_insertion_order() -> None:
    a, b = dcf.Dataset(), dcf.Dataset()
    a.PatientID, a.PatientName = "1", "A^B"
    b.PatientName, b.PatientID = "A^B", "1"
    assert a == b


@pytest.mark.parametrize("name", ["ct_implicit_le.dcm", "ct_explicit_be.dcm", "ct_deflated.dcm"])
def test_equal_across_transfer_syntaxes(ct: dcf.Dataset, name: str) -> None:
    assert dcf.read(TESTDATA / name) == ct


# ------------------------------------------------------------------ writing new elements


@pytest.mark.parametrize(
    "syntax", ["ExplicitVRLittleEndian", "ImplicitVRLittleEndian", "ExplicitVRBigEndian"]
)
def test_new_elements_write_and_read_back(tmp_path: Path, syntax: str) -> None:
    ds = dcf.read(CT_SMALL)
    ds.PatientName = "Doe^John"
    ds.PatientComments = "written by the test"
    ds.OtherPatientIDsSequence[0].PatientID = "NEW-ID"
    ds.AcquisitionMatrix = [0, 128, 128, 0]
    out = tmp_path / "out.dcm"
    dcf.write(ds, out, transfer_syntax=syntax)
    back = dcf.read(out)
    assert back.transfer_syntax is not None
    assert back.transfer_syntax.keyword == syntax
    assert back.PatientName == "Doe^John"
    assert back.PatientName.given_name == "John"
    assert back.PatientComments == "written by the test"
    assert back.OtherPatientIDsSequence[0].PatientID == "NEW-ID"
    assert back.OtherPatientIDsSequence[1].PatientID == "1234ABCD"
    assert back.AcquisitionMatrix == [0, 128, 128, 0]
    assert back["PatientComments"].vr is dcf.VR.LT


def test_new_dataset_writes_to_a_file_object() -> None:
    ds = dcf.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.PatientName = "Doe^John"
    buffer = io.BytesIO()
    dcf.write(ds, buffer)
    back = dcf.read(buffer.getvalue())
    assert back.PatientName == "Doe^John"
    assert back.meta is not None
    assert back.meta.MediaStorageSOPInstanceUID == "1.2.3.4"


# ------------------------------------------------------------------ US or SS


AMBIGUOUS = ["SmallestImagePixelValue", "LargestImagePixelValue", "PixelPaddingValue"]


@pytest.mark.parametrize("keyword", AMBIGUOUS)
@pytest.mark.parametrize(
    ("representation", "vr", "value"), [(None, "US", 65535), (0, "US", 65535), (1, "SS", -5)]
)
def test_us_or_ss_by_pixel_representation(
    tmp_path: Path, keyword: str, representation: int | None, vr: str, value: int
) -> None:
    ds = dcf.Dataset()
    if representation is not None:
        ds.PixelRepresentation = representation
    setattr(ds, keyword, value)
    assert ds[keyword].vr == vr
    # In Implicit VR the reader must make the same choice from the dataset it has read.
    out = tmp_path / "ambiguous.dcm"
    dcf.write(ds, out, transfer_syntax="ImplicitVRLittleEndian")
    back = dcf.read(out)
    assert back[keyword].vr == vr
    assert getattr(back, keyword) == value


def test_pixel_data_ow_or_ob() -> None:
    wide = dcf.Dataset()
    wide.BitsAllocated = 16
    wide.PixelData = b"\0\0"
    assert wide["PixelData"].vr is dcf.VR.OW
    narrow = dcf.Dataset()
    narrow.BitsAllocated = 8
    narrow.PixelData = b"\0\0"
    assert narrow["PixelData"].vr is dcf.VR.OB


# ------------------------------------------------------------------ item attributes


def test_read_dataset_attributes(ct: dcf.Dataset) -> None:
    assert ct.meta is not None
    assert ct.meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert ct.preamble == b"\0" * 128
    assert ct.transfer_syntax is not None
    assert ct.transfer_syntax.keyword == "ExplicitVRLittleEndian"
    new = dcf.Dataset()
    assert new.meta is None
    assert new.preamble is None
    assert new.transfer_syntax is None
    assert new.source is None


def test_item_length_encoding_is_recorded() -> None:
    undefined = dcf.read(TESTDATA / "sequences_undefined.dcm").ReferencedSeriesSequence
    defined = dcf.read(TESTDATA / "sequences_defined.dcm").ReferencedSeriesSequence
    assert undefined.undefined_length
    assert all(item.undefined_length for item in undefined)
    assert not defined.undefined_length
    assert not any(item.undefined_length for item in defined)


# ------------------------------------------------------------------ writer bugs found here


def test_meta_follows_a_changed_sop_instance_uid() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    ds.SOPInstanceUID = "1.2.3.4"
    buffer = io.BytesIO()
    dcf.write(ds, buffer)
    back = dcf.read(buffer.getvalue())
    assert back.meta is not None
    assert back.meta.MediaStorageSOPInstanceUID == "1.2.3.4"


def test_array_values_are_written_in_the_syntax_byte_order() -> None:
    ds = dcf.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3"
    ds.BitsAllocated = 16
    ds.PixelData = np.array([1, 0x1234], dtype="<u2")
    buffer = io.BytesIO()
    dcf.write(ds, buffer, transfer_syntax="ExplicitVRBigEndian")
    element = dcf.read(buffer.getvalue())["PixelData"]
    assert element.vr is dcf.VR.OW
    assert bytes(element.raw or b"") == b"\x00\x01\x12\x34"  # big-endian words


def test_deepcopy_owns_its_values_after_the_file_closes() -> None:
    import copy

    ds = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm", defer_size=100)
    clone = copy.deepcopy(ds)
    expected = ds.pixel_array
    ds.close()
    assert clone.source is None
    np.testing.assert_array_equal(clone.pixel_array, expected)
    assert clone == copy.deepcopy(clone)
    clone.PatientID = "changed"
    assert clone.PatientID != dcf.read(TESTDATA / "mr_multiframe_uint16.dcm").PatientID


def test_assigned_text_gets_the_type_a_read_value_has() -> None:
    from dicomframe.core.valuerep import DA, PersonName

    ds = dcf.Dataset()
    ds.PatientName = "Doe^John"
    assert isinstance(ds.PatientName, PersonName)
    assert ds.PatientName.family_name == "Doe"
    ds.StudyDate = "20240105"
    assert isinstance(ds.StudyDate, DA)
    assert ds.StudyDate.to_date().year == 2024


# ------------------------------------------------------------------ keyword descriptors


def test_a_keyword_read_once_is_found_on_the_class_after(ct: dcf.Dataset) -> None:
    from dicomframe.core.dataset import Dataset, _Keyword

    assert ct.Modality == "CT"
    installed = vars(Dataset).get("Modality")
    assert isinstance(installed, _Keyword)
    assert installed.number == 0x00080060
    other = dcf.read(CT_SMALL)
    assert other.Modality == "CT"  # the descriptor reads each dataset's own element
    del other.Modality
    with pytest.raises(AttributeError, match=r"dataset has no Modality \(0008,0060\)"):
        _ = other.Modality  # the full message, from __getattr__
    assert not hasattr(other, "Modality")
    assert "Modality" not in dir(other)  # dir() lists the keywords present only
    assert "Modality" in dir(ct)
    other.Modality = "MR"  # assignment still creates the element through __setattr__
    assert other[0x00080060].value == "MR"
    assert other.Modality == "MR"
    assert Dataset().get("Modality") is None


def test_a_keyword_descriptor_reads_a_deferred_item() -> None:
    # Items of a lazy sequence parse on first use: the descriptor's read of _elements does it.
    path = TESTDATA / "sequences_undefined.dcm"
    known = dcf.read(path)
    tag, sequence = next((e.tag, e.value) for e in known if e.vr == "SQ" and e.value)
    keyword, expected = next((e.keyword, e.value) for e in sequence[0] if e.keyword)
    getattr(known, keyword, None)  # the descriptor is on the class from here on
    item = dcf.read(path)[tag].value[0]
    assert "_elements" not in vars(item)  # not parsed yet
    assert getattr(item, keyword) == expected
    assert "_elements" in vars(item)
