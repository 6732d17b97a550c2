"""Tests for dicomframe.core.reader: sources, lazy values and file lifetime, encodings,
iter_elements, the values of every VR and the character sets."""

from __future__ import annotations

import io
import itertools
import struct
import warnings
from collections.abc import Callable
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

import dicomframe as dcf
from dicomframe.core import parser as parser_module
from dicomframe.core import reader as reader_module
from dicomframe.core.element import _UNSET
from dicomframe.core.source import Located, Source
from dicomframe.core.valuerep import DA, DS, DT, IS, TM, PersonName
from tests.reference import TESTDATA, dataset_differences, pydicom_files

CT = TESTDATA / "ct_explicit_le.dcm"
PYDICOM = {p.name: p for p in pydicom_files()}
PIXEL_TAGS = {0x7FE00008, 0x7FE00009, 0x7FE00010}


@pytest.fixture(scope="module")
def ct_bytes() -> bytes:
    return CT.read_bytes()


@pytest.fixture(scope="module")
def reference() -> dcf.Dataset:
    return dcf.read(CT)


def _body_offset(data: bytes) -> int:
    """Where the dataset starts: after the preamble, DICM and the meta group (length first)."""
    assert data[128:132] == b"DICM"
    assert struct.unpack_from("<HH2s", data, 132) == (0x0002, 0x0000, b"UL")
    return 132 + 12 + struct.unpack_from("<L", data, 140)[0]


# ------------------------------------------------------------------ sources


def _bytes_io_at_offset(path: Path) -> io.BytesIO:
    stream = io.BytesIO(b"not part of the file" + path.read_bytes())
    stream.seek(20)
    return stream


SOURCES: dict[str, Callable[[Path], Any]] = {
    "str": str,
    "path": lambda p: p,
    "bytes": lambda p: p.read_bytes(),
    "bytearray": lambda p: bytearray(p.read_bytes()),
    "memoryview": lambda p: memoryview(p.read_bytes()),
    "open-file": lambda p: p.open("rb"),
    "bytesio-at-offset": _bytes_io_at_offset,
}


@pytest.mark.parametrize("kind", SOURCES)
@pytest.mark.parametrize("name", ["ct_explicit_le.dcm", "sequences.dcm", "rle_multiframe.dcm"])
def test_every_source_type_reads_the_same(kind: str, name: str) -> None:
    path = TESTDATA / name
    expected = dcf.read(path)
    source = SOURCES[kind](path)
    try:
        ds = dcf.read(source)
    finally:
        if hasattr(source, "close"):
            source.close()
    assert ds == expected
    assert ds.meta == expected.meta
    assert ds.transfer_syntax is expected.transfer_syntax
    assert ds.preamble == expected.preamble
    assert ds.source is None  # nothing large enough to leave in the source


def test_file_object_is_read_from_its_position() -> None:
    data = CT.read_bytes()
    stream = io.BufferedReader(io.BytesIO(b"\xff" * 10 + data))  # not a BytesIO: read()
    stream.read(10)
    assert dcf.read(stream).PatientName == "Doe^Jane^M^Dr^PhD"


def test_text_file_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "x.txt"
    text.write_text("hello")
    with text.open() as handle, pytest.raises(TypeError, match="binary file"):
        dcf.read(handle)  # type: ignore[arg-type]


def test_missing_file() -> None:
    with pytest.raises(FileNotFoundError):
        dcf.read(TESTDATA / "no_such_file.dcm")


def test_directory_is_a_dicom_error() -> None:
    with pytest.raises(dcf.DicomError, match="is a directory, not a regular file"):
        dcf.read(TESTDATA)


# ------------------------------------------------------------------ stop_before_pixels


@pytest.mark.parametrize(
    "path",
    [
        CT,
        PYDICOM["CT_small.dcm"],  # has (FFFC,FFFC) padding after Pixel Data
        TESTDATA / "rle_multiframe.dcm",
        TESTDATA / "float_pixels.dcm",
        TESTDATA / "double_pixels.dcm",
    ],
    ids=lambda p: p.name,
)
def test_stop_before_pixels(path: Path) -> None:
    full = dcf.read(path)
    pixel_tag = min(t for t in full.tags() if t in PIXEL_TAGS)
    partial = dcf.read(path, stop_before_pixels=True)
    assert partial.tags() == [t for t in full.tags() if t < pixel_tag]
    assert not PIXEL_TAGS & set(partial.tags())
    elements = list(dcf.iter_elements(path, stop_before_pixels=True))
    assert [e.tag for e in elements] == partial.meta.tags() + partial.tags()  # type: ignore[union-attr]


def test_stop_before_pixels_keeps_the_rest(reference: dcf.Dataset) -> None:
    partial = dcf.read(CT, stop_before_pixels=True)
    for element in partial:
        assert element == reference[element.tag]


# ------------------------------------------------------------------ defer_size and lifetime


def test_small_defer_size_leaves_large_values_in_the_file() -> None:
    ds = dcf.read(CT, defer_size=256)
    try:
        assert ds.source is not None
        assert ds.source.is_mapped
        assert not ds.source.closed
        located = [e for e in ds if not e.is_loaded]
        assert [e.tag for e in located] == [0x7FE00010]
        assert located[0].length == 8192
        assert isinstance(located[0]._raw, Located)
        assert all(e.is_loaded for e in ds if e.tag != 0x7FE00010)
    finally:
        ds.close()
    assert ds.source.closed


def test_default_defer_size_closes_a_small_file_at_once() -> None:
    ds = dcf.read(CT)
    assert ds.source is None  # 8 KiB of pixels is below the 64 KiB default: all copied
    assert all(e.is_loaded for e in ds)


def test_with_block_closes_the_source() -> None:
    with dcf.read(CT, defer_size=256) as ds:
        source = ds.source
        assert source is not None
        assert not source.closed
        assert len(ds.PixelData) == 8192
    assert source.closed


def test_located_value_after_close_raises_a_clear_error() -> None:
    ds = dcf.read(CT, defer_size=256)
    ds.close()
    with pytest.raises(dcf.DicomError, match=r"ct_explicit_le\.dcm is closed: load the values"):
        _ = ds.PixelData
    ds.close()  # closing twice is harmless


def test_value_accessed_before_close_still_works_after(tmp_path: Path) -> None:
    ds = dcf.read(CT, defer_size=256)
    pixels = ds.PixelData
    ds.close()
    assert ds.PixelData is pixels
    assert len(pixels) == 8192
    # ...and the dataset can still be compared and written.
    assert ds == dcf.read(CT)
    dcf.write(ds, tmp_path / "copy.dcm")
    assert dcf.read(tmp_path / "copy.dcm").PixelData == pixels


def test_load_then_close(tmp_path: Path) -> None:
    ds = dcf.read(CT, defer_size=256)
    ds.load()
    assert all(e.is_loaded for e in ds)
    ds.close()
    assert len(ds.PixelData) == 8192
    assert ds == dcf.read(CT)
    dcf.write(ds, tmp_path / "copy.dcm")


def test_values_inside_sequences_are_located_and_loaded() -> None:
    ds = dcf.read(TESTDATA / "sequences_defined.dcm", defer_size=1)
    assert ds.source is not None  # the located values keep the file open
    item = ds.ReferencedSeriesSequence[0].ReferencedImageSequence[0]
    assert not item["ReferencedSOPInstanceUID"].is_loaded
    ds.load()
    assert item["ReferencedSOPInstanceUID"].is_loaded
    ds.close()
    assert item.ReferencedFrameNumber == [1, 3, 5]


@pytest.mark.parametrize("defer_size", [1, 10, 40])
def test_meta_values_are_never_left_in_the_file(tmp_path: Path, defer_size: int) -> None:
    # A dataset whose values are all small: read() closes the file at once, so a meta
    # value left located in it could never be read again.
    ds = dcf.Dataset()
    ds.PatientID = "1"
    path = tmp_path / "small.dcm"
    dcf.write(ds, path)
    back = dcf.read(path, defer_size=defer_size)
    assert back.meta is not None
    assert all(e.is_loaded for e in back.meta)
    back.load()
    back.close()
    assert back.meta.ImplementationVersionName.startswith("DICOMFRAME")
    assert back.meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"


def test_bytes_source_never_needs_closing(ct_bytes: bytes) -> None:
    ds = dcf.read(ct_bytes, defer_size=256)
    assert ds.source is None
    element = ds["PixelData"]
    assert element.is_loaded
    assert isinstance(element.raw, memoryview)  # a view on the caller's bytes, not a copy
    assert element.raw.obj is ct_bytes
    assert bytes(element.raw) == ct_bytes[-8192:]


def test_source_view_and_close() -> None:
    source = Source(b"0123456789", name="<digits>")
    assert len(source) == 10
    assert bytes(source.view(2, 3)) == b"234"
    assert not source.is_mapped
    source.close()
    assert source.closed
    with pytest.raises(dcf.DicomError, match="<digits> is closed"):
        source.view(0, 1)


def test_view_taken_before_close_stays_valid() -> None:
    ds = dcf.read(CT, defer_size=256)
    view = ds["PixelData"].raw
    assert view is not None
    ds.close()
    assert bytes(view[:4]) == CT.read_bytes()[-8192:][:4]


# ------------------------------------------------------------------ encodings


@pytest.mark.parametrize(
    ("name", "keyword"),
    [
        ("ct_implicit_le.dcm", "ImplicitVRLittleEndian"),
        ("ct_explicit_be.dcm", "ExplicitVRBigEndian"),
        ("ct_deflated.dcm", "DeflatedExplicitVRLittleEndian"),
    ],
)
def test_same_values_in_every_native_syntax(
    name: str, keyword: str, reference: dcf.Dataset
) -> None:
    ds = dcf.read(TESTDATA / name)
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.keyword == keyword
    assert not dataset_differences(ds, reference)
    for element in reference:
        if element.tag != 0x7FE00010:
            assert ds[element.tag].value == element.value, element
    assert ds.PatientName == "Doe^Jane^M^Dr^PhD"
    assert ds.RescaleSlope == 1.25
    assert ds.WindowCenter == [40, 400]


def test_big_endian_pixels_are_byte_swapped_in_the_file(reference: dcf.Dataset) -> None:
    big = dcf.read(TESTDATA / "ct_explicit_be.dcm")
    little_raw = bytes(reference["PixelData"].raw or b"")
    big_raw = bytes(big["PixelData"].raw or b"")
    assert big_raw != little_raw
    assert big_raw[0::2] == little_raw[1::2]
    assert big_raw[1::2] == little_raw[0::2]
    assert not big["PixelData"].little_endian


@pytest.mark.parametrize(
    ("path", "keyword"),
    [
        (TESTDATA / "no_meta_implicit.dcm", "ImplicitVRLittleEndian"),
        (PYDICOM["ExplVR_BigEndNoMeta.dcm"], "ExplicitVRBigEndian"),
        (PYDICOM["ExplVR_LitEndNoMeta.dcm"], "ExplicitVRLittleEndian"),
    ],
    ids=lambda x: getattr(x, "name", x),
)
def test_force_detects_the_encoding(path: Path, keyword: str) -> None:
    with pytest.raises(dcf.InvalidDicomError, match="no DICM prefix"):
        dcf.read(path)
    ds = dcf.read(path, force=True)  # and no warning: pytest turns warnings into errors
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.keyword == keyword
    assert ds.meta is not None
    assert len(ds.meta) == 0
    assert ds.preamble is None
    assert len(ds) > 10
    assert [e.tag for e in dcf.iter_elements(path, force=True)] == ds.tags()


def test_no_meta_implicit_equals_its_source(reference: dcf.Dataset) -> None:
    ds = dcf.read(TESTDATA / "no_meta_implicit.dcm", force=True)
    assert not dataset_differences(ds, reference, implicit=True)
    assert ds.PatientName == reference.PatientName


def test_big_and_little_endian_no_meta_agree() -> None:
    big = dcf.read(PYDICOM["ExplVR_BigEndNoMeta.dcm"], force=True)
    little = dcf.read(PYDICOM["ExplVR_LitEndNoMeta.dcm"], force=True)
    assert not dataset_differences(big, little)
    assert big.PlanIntent == "CURATIVE"


def test_missing_transfer_syntax_uid_warns() -> None:
    with pytest.warns(dcf.DicomWarning, match="no Transfer Syntax UID") as record:
        ds = dcf.read(PYDICOM["meta_missing_tsyntax.dcm"])
    assert record[0].filename == __file__  # the warning points at the caller
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.keyword == "ImplicitVRLittleEndian"
    assert ds.tags() == [0x00010001, 0x7FE00010]
    assert ds.PixelData == b"\0\0"


def test_contradicted_declared_vr_encoding_warns() -> None:
    with pytest.warns(dcf.DicomWarning, match="declared JPEGBaseline8Bit but is encoded Implicit"):
        ds = dcf.read(PYDICOM["SC_rgb_jpeg.dcm"])
    assert (ds.Rows, ds.Columns) == (256, 256)


def test_implicit_vr_meta_warns(ct_bytes: bytes) -> None:
    implicit = (TESTDATA / "ct_implicit_le.dcm").read_bytes()
    uid = b"1.2.840.10008.1.2\0"
    meta = struct.pack("<HHL", 0x0002, 0x0010, len(uid)) + uid
    data = implicit[:128] + b"DICM" + meta + implicit[_body_offset(implicit) :]
    with pytest.warns(dcf.DicomWarning, match="file meta information is Implicit VR"):
        ds = dcf.read(data)
    assert ds.meta is not None
    assert ds.meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    assert ds.PatientName == "Doe^Jane^M^Dr^PhD"


def test_dicm_without_preamble(ct_bytes: bytes) -> None:
    ds = dcf.read(ct_bytes[128:])
    assert ds.preamble is None
    assert ds == dcf.read(ct_bytes)


# ------------------------------------------------------------------ iter_elements


def test_iter_elements_yields_meta_then_dataset(reference: dcf.Dataset) -> None:
    elements = list(dcf.iter_elements(CT))
    assert reference.meta is not None
    meta_count = len(reference.meta)
    assert [e.tag for e in elements[:meta_count]] == reference.meta.tags()
    assert [e.tag for e in elements[meta_count:]] == reference.tags()
    assert all(a == b for a, b in zip(elements[meta_count:], reference, strict=True))


@pytest.mark.parametrize("kind", SOURCES)
def test_iter_elements_on_every_source_type(kind: str, reference: dcf.Dataset) -> None:
    source = SOURCES[kind](CT)
    try:
        tags = [e.tag for e in dcf.iter_elements(source)]
    finally:
        if hasattr(source, "close"):
            source.close()
    assert tags == reference.meta.tags() + reference.tags()  # type: ignore[union-attr]


def test_iter_elements_gives_whole_sequences() -> None:
    elements = {e.tag: e for e in dcf.iter_elements(TESTDATA / "sequences_undefined.dcm")}
    series = elements[dcf.Tag(0x00081115)]
    assert series.vr is dcf.VR.SQ
    assert series.value[0].ReferencedImageSequence[0].ReferencedFrameNumber == [1, 3, 5]
    assert 0x00081150 not in elements  # nested elements are not yielded at the top level


def test_iter_elements_deflated(reference: dcf.Dataset) -> None:
    elements = list(dcf.iter_elements(TESTDATA / "ct_deflated.dcm"))
    assert [e.tag for e in elements if e.tag.group != 2] == reference.tags()


def _garbage_after(data: bytes, count: int) -> tuple[bytes, int]:
    """``data`` cut after its first ``count`` dataset elements, then bytes with a bad VR."""
    ds = dcf.read(data)
    cut = ds.elements()[count].offset
    assert cut is not None
    return data[:cut] + b"\x08\x00\x70\x00\x01\x02" + b"\xff" * 64, cut


def test_iter_elements_is_lazy(ct_bytes: bytes) -> None:
    bad, cut = _garbage_after(ct_bytes, 10)
    with pytest.raises(dcf.InvalidDicomError, match="invalid VR"):
        dcf.read(bad)
    meta_count = len(dcf.read(ct_bytes).meta or ())
    iterator = dcf.iter_elements(bad)
    first = list(itertools.islice(iterator, meta_count + 10))  # no error: garbage not reached
    assert len(first) == meta_count + 10
    with pytest.raises(dcf.InvalidDicomError) as info:
        next(iterator)
    assert info.value.offset == cut


def test_iter_elements_parses_only_what_is_asked_for(
    monkeypatch: pytest.MonkeyPatch, ct_bytes: bytes
) -> None:
    calls: list[int] = []
    real = parser_module._read_element

    def counting(ctx: Any, head: Any, end: int, level: Any) -> Any:
        calls.append(head.tag)
        return real(ctx, head, end, level)

    monkeypatch.setattr(parser_module, "_read_element", counting)
    meta_count = len(dcf.read(ct_bytes).meta or ())
    calls.clear()
    iterator = dcf.iter_elements(CT)
    taken = list(itertools.islice(iterator, meta_count + 3))
    assert len(calls) == meta_count + 3
    assert [e.tag for e in taken] == calls
    iterator.close()


# ------------------------------------------------------------------ every VR's value

ALL_VRS = TESTDATA / "all_vrs.dcm"
U64 = 2**64 - 1
# keyword: (VR, Python type of each value, expected value)
EXPECTED: dict[str, tuple[str, type, Any]] = {
    "RetrieveAETitle": ("AE", str, ["STORESCP", "ARCHIVE_2"]),
    "SelectorASValue": ("AS", str, ["044Y", "003M", "012W", "007D"]),
    "FrameIncrementPointer": ("AT", dcf.Tag, [0x00181063, 0x00181065]),
    "ImageType": ("CS", str, ["DERIVED", "SECONDARY", "OTHER"]),
    "DateOfLastCalibration": ("DA", DA, ["20231231", "19000101"]),
    "EventElapsedTimes": ("DS", DS, [1.5, -2250.0, 0.0, 7.0]),
    "ReferencedDateTime": ("DT", DT, ["20240102093512.345678+0100", "2024"]),
    "TableOfParameterValues": ("FL", float, [1.5, -0.25, 3.0000000054977558e38, -0.0]),
    "TableOfYBreakPoints": ("FD", float, [1.0e100, -2.5, 0.1, 9.5367431640625e-07]),
    "ReferencedFrameNumber": ("IS", IS, [1, -(2**31), 2**31 - 1]),
    "MedicalAlerts": ("LO", str, ["Penicillin", "Latex"]),
    "PatientComments": ("LT", str, "LT keeps \\ backslashes: no multi-values"),
    "EncapsulatedDocument": ("OB", bytes, b"%PDF\x00\xff"),
    "DoublePointCoordinatesData": ("OD", bytes, struct.pack("<3d", 1.5, -2.25, 1.0e100)),
    "VectorGridData": ("OF", bytes, struct.pack("<3f", 0.5, -1.25, 3.0e10)),
    "LongPrimitivePointIndexList": ("OL", bytes, struct.pack("<3L", 0, 1, 2**32 - 1)),
    "SelectorOVValue": ("OV", bytes, struct.pack("<2Q", 1, U64)),
    "RedPaletteColorLookupTableData": ("OW", bytes, struct.pack("<4H", 1, 0xFFFF, 0x8000, 0x1234)),
    "PerformingPhysicianName": ("PN", PersonName, ["Doe^Jane^M^Dr^PhD", "Smith^John"]),
    "ConvolutionKernel": ("SH", str, ["STANDARD", "BONE"]),
    "RationalNumeratorValue": ("SL", int, [-(2**31), 2**31 - 1]),
    "VerticesOfThePolygonalExposureControlSensingRegion": ("SS", int, [-32768, 32767, -1, 0]),
    "InstitutionAddress": ("ST", str, "1 Main Street, Springfield"),
    "SelectorSVValue": ("SV", int, [-(2**63), 2**63 - 1]),
    "TimeOfLastCalibration": ("TM", TM, ["235959.999999", "00"]),
    "PotentialReasonsForProcedure": ("UC", str, ["reason one", "reason two"]),
    "SOPClassUID": ("UI", str, "1.2.840.10008.5.1.4.1.1.66"),
    "SimpleFrameList": ("UL", int, [0, 2**32 - 1]),
    "SelectorUNValue": ("UN", bytes, b"\x01\x02\x03\x04"),
    "CodingSchemeURL": ("UR", str, "http://dicom.nema.org/resources/ontology/DCM"),
    "AcquisitionMatrix": ("US", int, [0, 64, 65535, 0]),
    "TextValue": ("UT", str, "UT text value"),
    "SelectorUVValue": ("UV", int, [0, U64]),
}


@pytest.fixture(scope="module")
def all_vrs() -> dcf.Dataset:
    return dcf.read(ALL_VRS)


def test_all_vrs_covers_every_vr(all_vrs: dcf.Dataset) -> None:
    assert {e.vr for e in all_vrs} == set(dcf.VR)
    assert {vr for vr, _, _ in EXPECTED.values()} == {v.value for v in dcf.VR} - {"SQ"}


@pytest.mark.parametrize("keyword", EXPECTED, ids=lambda k: EXPECTED[k][0])
def test_value_types(all_vrs: dcf.Dataset, keyword: str) -> None:
    vr, kind, expected = EXPECTED[keyword]
    element = all_vrs[keyword]
    assert element.vr == vr
    value = element.value
    assert value == expected
    members = value if isinstance(expected, list) else [value]
    assert type(value) is (list if isinstance(expected, list) else kind)
    assert all(type(member) is kind for member in members)


def test_sequence_value(all_vrs: dcf.Dataset) -> None:
    sequence = all_vrs.ReferencedImageSequence
    assert type(sequence) is dcf.Sequence
    assert len(sequence) == 1
    assert sequence[0].ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"


def test_64_bit_extremes(all_vrs: dcf.Dataset) -> None:
    low, high = all_vrs.SelectorSVValue
    assert (low, high) == (-9223372036854775808, 9223372036854775807)
    assert all_vrs.SelectorUVValue[1] == 18446744073709551615
    assert all_vrs.SelectorOVValue[8:] == b"\xff" * 8


def test_text_types_keep_their_text_and_give_python_values(all_vrs: dcf.Dataset) -> None:
    assert [str(v) for v in all_vrs.EventElapsedTimes] == ["1.5", "-2.25e3", "0", "+7"]
    assert all_vrs.DateOfLastCalibration[1].to_date() == date(1900, 1, 1)
    assert all_vrs.TimeOfLastCalibration[0].to_time() == time(23, 59, 59, 999999)
    assert all_vrs.ReferencedDateTime[1].to_datetime().year == 2024
    assert all_vrs.PerformingPhysicianName[0].family_name == "Doe"
    assert all_vrs.PerformingPhysicianName[0].given_name == "Jane"
    assert str(all_vrs.ReferencedFrameNumber[1]) == "-2147483648"


def test_big_endian_values_equal_little_endian(all_vrs: dcf.Dataset, tmp_path: Path) -> None:
    out = tmp_path / "be.dcm"
    dcf.write(all_vrs, out, transfer_syntax="ExplicitVRBigEndian")
    big = dcf.read(out)
    for keyword in EXPECTED:
        assert big[keyword].value == all_vrs[keyword].value or big[keyword].vr.value in {
            "OD",
            "OF",
            "OL",
            "OV",
            "OW",
        }, keyword
    assert big.SelectorUVValue == [0, U64]
    assert big.SelectorSVValue == [-(2**63), 2**63 - 1]
    assert big.FrameIncrementPointer == [0x00181063, 0x00181065]


# ------------------------------------------------------------------ character sets

JIS_NAME = "Yamada^Tarou=山田^太郎=やまだ^たろう"
CHARSET_NAMES = {
    "charset_utf8.dcm": {
        "PatientName": JIS_NAME,
        "ReferringPhysicianName": "Wang^XiaoDong=王^小东=",
        "PerformingPhysicianName": "Papadopoulos^Dimitrios=Παπαδόπουλος^Δημήτριος",
        "StudyDescription": "Αξονική τομογραφία εγκεφάλου",
        "SeriesDescription": "头部 CT 平扫",
    },
    "charset_latin1.dcm": {
        "PatientName": "Müller^Jürgen",
        "InstitutionName": "Clinique Saint-Étienne",
        "StudyDescription": "Röntgen Thorax, Größe ½ (§ 3)",
    },
    "charset_jis.dcm": {"PatientName": JIS_NAME, "StudyDescription": "ASCII only description"},
}
# PS3.5 H.3.1: ESC $ B selects JIS X 0208, ESC ( B returns to ASCII.
JIS_BYTES = b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B"


@pytest.mark.parametrize("name", CHARSET_NAMES)
def test_charset_text_decodes(name: str) -> None:
    ds = dcf.read(TESTDATA / name)
    for keyword, text in CHARSET_NAMES[name].items():
        assert getattr(ds, keyword) == text, keyword
    if name != "charset_jis.dcm":
        return
    assert bytes(ds["PatientName"].raw or b"") == JIS_BYTES
    name_value = ds.PatientName
    assert name_value.family_name == "Yamada"


@pytest.mark.parametrize("name", CHARSET_NAMES)
def test_charset_text_writes_back_byte_identical(name: str, tmp_path: Path) -> None:
    original = (TESTDATA / name).read_bytes()
    ds = dcf.read(original)
    for keyword in CHARSET_NAMES[name]:
        element = ds[keyword]
        element.value = str(element.value)  # drop the read bytes: the text is encoded afresh
        assert element.raw is None
    out = tmp_path / name
    dcf.write(ds, out)
    written = out.read_bytes()
    assert written[_body_offset(written) :] == original[_body_offset(original) :]
    back = dcf.read(written)
    for keyword, text in CHARSET_NAMES[name].items():
        assert getattr(back, keyword) == text


def test_charset_decoding_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in CHARSET_NAMES:
            for element in dcf.read(TESTDATA / name):
                _ = element.value


def test_open_file_is_mapped_like_a_path() -> None:
    """An open regular file leaves large values in the file, as a path does."""
    with CT.open("rb") as handle:
        ds = dcf.read(handle, defer_size=256)
        assert handle.tell() == CT.stat().st_size  # consumed, as any file object is
    try:
        assert ds.source is not None
        assert ds.source.is_mapped
        assert [e.tag for e in ds if not e.is_loaded] == [0x7FE00010]
        assert ds == dcf.read(CT)
    finally:
        ds.close()


def test_iter_elements_on_an_open_file_streams() -> None:
    with CT.open("rb") as handle:
        elements = list(dcf.iter_elements(handle, defer_size=256))
    pixels = next(e for e in elements if e.tag == 0x7FE00010)
    assert not pixels.is_loaded
    assert bytes(pixels.value) == bytes(dcf.read(CT)["PixelData"].value)


def test_a_transfer_syntax_met_before_is_known_by_its_uid_bytes() -> None:
    reader_module._SYNTAXES.clear()
    first = dcf.read(CT)
    assert list(reader_module._SYNTAXES.values()) == [first.transfer_syntax]
    second = dcf.read(CT)
    assert second.transfer_syntax is first.transfer_syntax
    assert second.meta is not None
    assert second.meta[0x00020010]._value is _UNSET  # not decoded to find the syntax
    assert second.meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
