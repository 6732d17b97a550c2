"""Tests for dicomframe.core.dump: the dcmdump-like text of a dataset."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.dump import MAX_VALUE_CHARS, dump_lines, format_value
from dicomframe.core.vr import BYTES_VRS
from tests.reference import TESTDATA, require_tool


@pytest.fixture(scope="module")
def all_vrs_lines() -> list[str]:
    return list(dump_lines(dcf.read(TESTDATA / "all_vrs.dcm")))


@pytest.mark.parametrize(
    "line",
    [
        r"(0008,0008) CS ImageType [DERIVED\SECONDARY\OTHER]",
        r"(0008,0054) AE RetrieveAETitle [STORESCP\ARCHIVE_2]",
        "(0008,0081) ST InstitutionAddress [1 Main Street, Springfield]",
        r"(0008,1050) PN PerformingPhysicianName [Doe^Jane^M^Dr^PhD\Smith^John]",
        r"(0008,1160) IS ReferencedFrameNumber [1\-2147483648\2147483647]",
        r"(0008,1161) UL SimpleFrameList 0\4294967295",
        r"(0008,2130) DS EventElapsedTimes [1.5\-2.25e3\0\+7]",  # the text as read
        r"(0010,4000) LT PatientComments [LT keeps \ backslashes: no multi-values]",
        r"(0018,1310) US AcquisitionMatrix 0\64\65535\0",
        r"(0018,9442) SS VerticesOfThePolygonalExposureControlSensingRegion -32768\32767\-1\0",
        r"(0028,0009) AT FrameIncrementPointer (0018,1063)\(0018,1065)",
        "(0028,1201) OW RedPaletteColorLookupTableData 01 00 ff ff 00 80 34 12 (8 bytes)",
        "(0042,0011) OB EncapsulatedDocument 25 50 44 46 00 ff (6 bytes)",
        "(0066,0022) OD DoublePointCoordinatesData "
        "00 00 00 00 00 00 f8 3f 00 00 00 00 00 00 02 c0 ... (24 bytes)",
        "(0072,006D) UN SelectorUNValue 01 02 03 04 (4 bytes)",
        r"(0072,0082) SV SelectorSVValue -9223372036854775808\9223372036854775807",
        r"(0072,0083) UV SelectorUVValue 0\18446744073709551615",
        "(0008,1140) SQ ReferencedImageSequence (1 item)",
        "  item 1",
        "    (0008,1150) UI ReferencedSOPClassUID [1.2.840.10008.5.1.4.1.1.2]",
    ],
)
def test_lines(all_vrs_lines: list[str], line: str) -> None:
    assert line in all_vrs_lines


def test_one_line_per_element_in_tag_order(all_vrs_lines: list[str]) -> None:
    ds = dcf.read(TESTDATA / "all_vrs.dcm")
    top = [line for line in all_vrs_lines if not line.startswith(" ")]
    assert len(top) == len(ds)
    assert [line[:11] for line in top] == [str(tag) for tag in ds.tags()]
    assert all(line == line.rstrip() for line in all_vrs_lines)


def test_long_values_are_cut_to_the_width(all_vrs_lines: list[str]) -> None:
    line = next(x for x in all_vrs_lines if "RelatedGeneralSOPClassUID" in x)
    value = line.split("RelatedGeneralSOPClassUID ", 1)[1]
    assert len(value) == MAX_VALUE_CHARS
    assert value.startswith(r"[1.2.840.10008.5.1.4.1.1.7\2.25.")
    assert value.endswith("...")


@pytest.mark.parametrize("width", [10, 20, 40])
def test_width(width: int) -> None:
    ds = dcf.read(TESTDATA / "all_vrs.dcm")
    cut = 0
    for element in ds:
        if element.is_sequence or element.vr in BYTES_VRS:
            continue
        text = format_value(element, width)
        full = format_value(element, 10_000)
        assert len(text) <= width
        if len(full) > width:
            cut += 1
            assert text == full[: width - 3] + "..."
        else:
            assert text == full
        assert any(line.endswith(f" {text}") for line in dump_lines(ds, width=width))
    assert cut > 0


def test_nested_items_are_indented() -> None:
    ds = dcf.read(TESTDATA / "sequences_defined.dcm")
    lines = list(dump_lines(ds))
    images = ds.ReferencedSeriesSequence[0].ReferencedImageSequence
    start = lines.index("(0008,1115) SQ ReferencedSeriesSequence (2 items)")
    assert lines[start : start + 20] == [
        "(0008,1115) SQ ReferencedSeriesSequence (2 items)",
        "  item 1",
        "    (0008,1140) SQ ReferencedImageSequence (2 items)",
        "      item 1",
        "        (0008,1150) UI ReferencedSOPClassUID [1.2.840.10008.5.1.4.1.1.2]",
        f"        (0008,1155) UI ReferencedSOPInstanceUID [{images[0].ReferencedSOPInstanceUID}]",
        r"        (0008,1160) IS ReferencedFrameNumber [1\3\5]",
        "        (0040,A170) SQ PurposeOfReferenceCodeSequence (1 item)",
        "          item 1",
        "            (0008,0100) SH CodeValue [121311]",
        "            (0008,0102) SH CodingSchemeDesignator [DCM]",
        "            (0008,0104) LO CodeMeaning [Localizer]",
        "      item 2",
        "        (0008,1150) UI ReferencedSOPClassUID [1.2.840.10008.5.1.4.1.1.2]",
        f"        (0008,1155) UI ReferencedSOPInstanceUID [{images[1].ReferencedSOPInstanceUID}]",
        "        (0040,A170) SQ PurposeOfReferenceCodeSequence (0 items)",
        "    (0020,000E) UI SeriesInstanceUID "
        f"[{ds.ReferencedSeriesSequence[0].SeriesInstanceUID}]",
        "  item 2",
        "(0009,0010) LO PrivateCreator [DICOMFRAME TEST]",
        "(0009,1001) LO (private or unknown) [private LO value]",
    ]
    assert "(0008,1032) SQ ProcedureCodeSequence (0 items)" in lines


def test_encapsulated_pixel_data_is_summarised() -> None:
    lines = list(dump_lines(dcf.read(TESTDATA / "rle_multiframe.dcm")))
    assert lines[-1].startswith("(7FE0,0010) OB PixelData (encapsulated, ")
    assert lines[-1].endswith(" bytes of items)")


def test_located_values_are_not_loaded_by_dumping() -> None:
    with dcf.read(TESTDATA / "ct_explicit_le.dcm", defer_size=256) as ds:
        lines = list(dump_lines(ds))
        assert lines[-1] == "(7FE0,0010) OW PixelData (8192 bytes, not loaded)"
        assert not ds["PixelData"].is_loaded
        assert repr(ds).splitlines() == lines


def test_repr_of_a_dataset_is_its_dump() -> None:
    ds = dcf.read(TESTDATA / "all_vrs.dcm")
    assert repr(ds).splitlines() == list(dump_lines(ds))


@pytest.mark.parametrize(
    ("vr", "value", "text"),
    [
        ("LT", "line one\r\nline two", r"[line one\r\nline two]"),
        ("US", None, ""),
        ("LO", "", "[]"),
        ("FD", [0.5, -1.0], r"0.5\-1.0"),
        ("OB", b"", " (0 bytes)"),
        ("OB", bytes(range(20)), "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f ... (20 bytes)"),
    ],
)
def test_format_value(vr: str, value: object, text: str) -> None:
    assert format_value(dcf.DataElement(0x00091001, vr, value)) == text


def test_empty_value_line_has_no_trailing_space() -> None:
    ds = dcf.Dataset()
    ds.Rows = None
    assert list(dump_lines(ds)) == ["(0028,0010) US Rows"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.arange(3, dtype="<u2"), "00 00 01 00 02 00 (6 bytes)"),
        (np.arange(8, dtype="<u2").reshape(2, 4)[:, ::2], "00 00 02 00 04 00 06 00 (8 bytes)"),
        (bytearray(b"\x01"), "01 (1 bytes)"),
    ],
    ids=["array", "strided", "bytearray"],
)
def test_assigned_byte_values_are_summarised(value: object, text: str) -> None:
    # An assigned value has no raw bytes yet: the summary is made from the value.
    element = dcf.DataElement(0x7FE00010, "OW", value)
    assert element.raw is None
    assert format_value(element) == text


# -- private names ------------------------------------------------------------


def _pydicom_file(name: str) -> str:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)
    assert isinstance(path, str)
    return path


_LINE = re.compile(r"\s*\(([0-9A-F]{4}),([0-9A-F]{4})\) \S\S (\(private or unknown\)|\S+)")


def _shown(lines: list[str]) -> dict[int, str]:
    """Tag -> the name column of each odd-group line of a dump."""
    shown = {}
    for line in lines:
        match = re.match(
            r"\s*\(([0-9A-F]{4}),([0-9A-F]{4})\) \S\S (\(private or unknown\)|\S+)", line
        )
        if match and int(match[1], 16) & 1:
            shown[int(match[1] + match[2], 16)] = match[3]
    return shown


@pytest.mark.parametrize(
    "line",
    [
        "(0009,0010) LO PrivateCreator [GEMS_IDEN_01]",
        "(0009,1001) LO FullFidelity [GE_GENESIS_FF]",
        "(0019,1004) DS CellSpacing [1.016600]",
        "(0043,1010) US WindowValue 400",
    ],
)
def test_private_elements_are_named_by_their_creator(line: str) -> None:
    assert line in list(dump_lines(dcf.read(_pydicom_file("CT_small.dcm"))))


def test_private_names_are_pydicoms_names_as_one_word() -> None:
    pydicom = pytest.importorskip("pydicom")
    path = _pydicom_file("CT_small.dcm")
    shown = _shown(list(dump_lines(dcf.read(path))))
    named = 0
    for element in pydicom.dcmread(path):
        if not element.tag.group & 1:
            continue
        if element.tag.is_private_creator:
            assert shown[element.tag] == "PrivateCreator"
        elif element.name == "Private tag data":
            assert shown[element.tag] == "(private or unknown)"
        else:
            words = re.sub(r"[^A-Za-z0-9]+", " ", element.name.strip("[]")).split()
            assert shown[element.tag] == "".join(w[:1].upper() + w[1:] for w in words)
            named += 1
    assert named == 170


def test_private_names_mostly_agree_with_dcmtk() -> None:
    """DCMTK keeps its own private dictionary: most names agree, every creator line does."""
    path = _pydicom_file("CT_small.dcm")
    result = subprocess.run(
        [require_tool("dcmdump"), "-q", path], capture_output=True, check=True
    ).stdout.decode("latin-1")
    theirs = {}
    for line in result.splitlines():
        match = re.match(r"\(([0-9a-f]{4}),([0-9a-f]{4})\) .*#\s*\d+,\s*\S+\s+(\S+)$", line)
        if match and int(match[1], 16) & 1:
            theirs[int(match[1] + match[2], 16)] = match[3]
    ours = _shown(list(dump_lines(dcf.read(path))))
    assert set(theirs) == set(ours)
    agree = [tag for tag in ours if ours[tag] == theirs[tag]]
    assert len(agree) > 0.7 * len(ours)
    assert all(ours[t] == theirs[t] for t in ours if ours[t] == "PrivateCreator")


def test_private_names_inside_items_use_the_items_creators() -> None:
    item = dcf.Dataset()
    item.set(0x00190010, "GEMS_ACQU_01", "LO")
    item.set(0x00191004, "1.5", "DS")
    ds = dcf.Dataset()
    ds.set(0x00081115, [item], "SQ")
    ds.set(0x00191004, "2.5", "DS")  # no creator at the top: not named
    lines = list(dump_lines(ds))
    assert "    (0019,1004) DS CellSpacing [1.5]" in lines
    assert "(0019,1004) DS (private or unknown) [2.5]" in lines


def test_cli_dump_shows_private_names(capsys: pytest.CaptureFixture[str]) -> None:
    from dicomframe.cli import main

    assert main(["dump", _pydicom_file("JPEG2000.dcm")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\(0009,0010\) LO PrivateCreator \[GEMS_GENIE_1", out, re.MULTILINE)
    assert re.search(r"^\(0009,1010\) LO StudyName ", out, re.MULTILINE)
