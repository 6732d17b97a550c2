"""The DICOM JSON model (PS3.18 Annex F): what each VR becomes, bulk data, and bad input.

The expected JSON is written out by hand from PS3.18 F.2; pydicom's view of the
same files is in test_json_oracle.py.
"""

from __future__ import annotations

import base64
import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.json_model import MAX_INLINE_BYTES, to_json_dict
from dicomframe.core.json_reading import from_json
from dicomframe.core.limits import Limits, set_default_limits
from dicomframe.core.valuerep import PersonName
from tests.reference import REFUSED, TESTDATA, project_files, pydicom_files

ALL_VRS = TESTDATA / "all_vrs.dcm"


@pytest.fixture(scope="module")
def all_vrs() -> dict[str, Any]:
    return dcf.read(ALL_VRS).to_json_dict()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("00080008", {"vr": "CS", "Value": ["DERIVED", "SECONDARY", "OTHER"]}),
        ("00080054", {"vr": "AE", "Value": ["STORESCP", "ARCHIVE_2"]}),
        ("0008010E", {"vr": "UR", "Value": ["http://dicom.nema.org/resources/ontology/DCM"]}),
        (
            "00081050",
            {
                "vr": "PN",
                "Value": [{"Alphabetic": "Doe^Jane^M^Dr^PhD"}, {"Alphabetic": "Smith^John"}],
            },
        ),
        ("00081160", {"vr": "IS", "Value": [1, -2147483648, 2147483647]}),
        ("00081161", {"vr": "UL", "Value": [0, 4294967295]}),
        ("00082130", {"vr": "DS", "Value": [1.5, -2250.0, 0, 7]}),
        ("00104000", {"vr": "LT", "Value": ["LT keeps \\ backslashes: no multi-values"]}),
        ("00181201", {"vr": "TM", "Value": ["235959.999999", "00"]}),
        ("00181310", {"vr": "US", "Value": [0, 64, 65535, 0]}),
        ("00186054", {"vr": "FD", "Value": [1e100, -2.5, 0.1, 9.5367431640625e-07]}),
        ("00189442", {"vr": "SS", "Value": [-32768, 32767, -1, 0]}),
        ("00280009", {"vr": "AT", "Value": ["00181063", "00181065"]}),
        ("00281201", {"vr": "OW", "InlineBinary": "AQD//wCANBI="}),
        ("0040A13A", {"vr": "DT", "Value": ["20240102093512.345678+0100", "2024"]}),
        ("0040A162", {"vr": "SL", "Value": [-2147483648, 2147483647]}),
        ("00420011", {"vr": "OB", "InlineBinary": "JVBERgD/"}),
        ("00660040", {"vr": "OL", "InlineBinary": "AAAAAAEAAAD/////"}),
        ("0072006D", {"vr": "UN", "InlineBinary": "AQIDBA=="}),
        ("0072005F", {"vr": "AS", "Value": ["044Y", "003M", "012W", "007D"]}),
    ],
)
def test_each_vr(all_vrs: dict[str, Any], key: str, expected: dict[str, Any]) -> None:
    assert all_vrs[key] == expected


def test_64_bit_numbers_are_exact(all_vrs: dict[str, Any]) -> None:
    ds = dcf.Dataset()
    ds.set(0x00720082, [-(2**63), 2**63 - 1], "SV")
    ds.set(0x0072007F, [0, 2**64 - 1], "UV")
    model = ds.to_json_dict()
    assert model["00720082"]["Value"] == [-(2**63), 2**63 - 1]
    assert model["0072007F"]["Value"] == [0, 2**64 - 1]
    back = dcf.Dataset.from_json(ds.to_json())
    assert back[0x0072007F].value == [0, 2**64 - 1]
    # PS3.18 F.2.3: SV and UV may come as strings
    text = {"0072007F": {"vr": "UV", "Value": ["18446744073709551615"]}}
    assert dcf.Dataset.from_json(text)[0x0072007F].value == 2**64 - 1


def test_keys_sorted_and_no_group_length() -> None:
    ds = dcf.read(next(p for p in pydicom_files() if p.name == "693_J2KI.dcm"))
    keys = list(ds.to_json_dict())
    assert keys == sorted(keys)
    assert all(len(k) == 8 and k == k.upper() for k in keys)
    assert (0x00080000) in ds
    assert not [k for k in keys if k.endswith("0000")]


def test_empty_values() -> None:
    ds = dcf.Dataset()
    ds.set(0x00100010, "", "PN")
    ds.set(0x00280010, None, "US")
    ds.set(0x00081140, [], "SQ")
    ds.set(0x00420011, b"", "OB")
    ds.set(0x00180020, ["EP", "", "RM"], "CS")
    ds.set(0x00081050, ["Doe^J", ""], "PN")
    model = ds.to_json_dict()
    assert model["00100010"] == {"vr": "PN"}
    assert model["00280010"] == {"vr": "US"}
    assert model["00081140"] == {"vr": "SQ"}
    assert model["00420011"] == {"vr": "OB"}
    assert model["00180020"] == {"vr": "CS", "Value": ["EP", None, "RM"]}
    assert model["00081050"] == {"vr": "PN", "Value": [{"Alphabetic": "Doe^J"}, None]}
    back = dcf.Dataset.from_json(model)
    assert back[0x00180020].value == ["EP", "", "RM"]
    assert back[0x00100010].value == ""
    assert back[0x00280010].value is None
    assert back[0x00081140].value == []


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        (
            "Yamada^Tarou=山田^太郎=やまだ^たろう",
            {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"},
        ),
        ("=山田^太郎", {"Ideographic": "山田^太郎"}),
        ("Doe^John==Doe", {"Alphabetic": "Doe^John", "Phonetic": "Doe"}),
        ("Wang^XiaoDong=王^小東=", {"Alphabetic": "Wang^XiaoDong", "Ideographic": "王^小東"}),
    ],
)
def test_person_name_groups(text: str, groups: dict[str, str]) -> None:
    ds = dcf.Dataset()
    ds.set(0x00100010, text, "PN")
    ds.SpecificCharacterSet = "ISO_IR 192"
    assert ds.to_json_dict()["00100010"] == {"vr": "PN", "Value": [groups]}
    assert dcf.Dataset.from_json(ds.to_json()).PatientName == text.rstrip("=")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("5", 5),
        ("1.50", 1.5),
        (" -0.25 ", -0.25),
        ("1e3", 1000.0),
        ("+007", 7),
        ("nonsense", "nonsense"),
    ],
)
def test_ds_numbers(text: str, number: object) -> None:
    ds = dcf.Dataset([dcf.DataElement(0x00180050, "DS", raw=text.encode())])
    value = ds.to_json_dict()["00180050"]["Value"][0]
    assert value == number
    assert type(value) is type(number)


def test_is_text_that_is_no_number_stays_text() -> None:
    ds = dcf.Dataset([dcf.DataElement(0x00200013, "IS", raw=b"1A")])
    assert ds.to_json_dict()["00200013"] == {"vr": "IS", "Value": ["1A"]}
    assert dcf.Dataset.from_json(ds.to_json())[0x00200013].value == "1A"


def test_values_assigned_in_python() -> None:
    from datetime import date

    ds = dcf.Dataset()
    ds.StudyDate = date(2024, 1, 5)
    ds.SliceThickness = 0.1 + 0.2
    ds.Rows = np.uint16(512)
    ds.set(0x00281201, np.array([1, 2], dtype="<u2"), "OW")
    model = ds.to_json_dict()
    assert model["00080020"]["Value"] == ["20240105"]
    assert model["00180050"]["Value"] == [0.3]  # what the 16 characters of DS text hold
    assert model["00280010"]["Value"] == [512]
    assert base64.b64decode(model["00281201"]["InlineBinary"]) == b"\1\0\2\0"


def test_non_finite_float_is_refused() -> None:
    ds = dcf.Dataset()
    ds.set(0x00186054, float("nan"), "FD")
    with pytest.raises(dcf.EncodingError, match=r"\(0018,6054\).*nan"):
        ds.to_json()


@pytest.mark.parametrize("name", ["charset_jis.dcm", "charset_latin1.dcm", "charset_utf8.dcm"])
def test_charsets_decoded_and_encoded_back(name: str, tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / name)
    model = json.loads(ds.to_json())
    assert model["00080005"]["Value"] == [v or None for v in _list(ds.SpecificCharacterSet)]
    assert model["00100010"]["Value"][0]["Alphabetic"] == ds.PatientName.alphabetic
    back = dcf.Dataset.from_json(model)
    dcf.write(back, tmp_path / "x.dcm")
    again = dcf.read(tmp_path / "x.dcm")
    assert again[0x00100010].raw == ds[0x00100010].raw  # encoded in the dataset's charset
    for element in ds:
        if element.vr.value == "PN":  # PS3.5 6.2.1: trailing empty groups are insignificant
            assert again[element.tag].value == element.value.rstrip("=")
        elif element.vr.value in ("LO", "SH", "ST", "LT", "UT", "UC"):
            assert again[element.tag].value == element.value


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_big_endian_binary_is_little_endian_in_json() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_be.dcm")
    raw = bytes(ds[0x7FE00010].raw or b"")
    inline = base64.b64decode(ds.to_json_dict()["7FE00010"]["InlineBinary"])
    assert inline == np.frombuffer(raw, ">u2").astype("<u2").tobytes()
    assert inline != raw


ROUND_TRIP = [p for p in [*pydicom_files(), *project_files()] if p.name not in REFUSED]


@pytest.mark.parametrize("path", ROUND_TRIP, ids=lambda p: p.name)
def test_json_round_trip_is_stable(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dcf.DicomWarning)
        ds = dcf.read(path, force=True)
        first = to_json_dict(ds, max_inline_bytes=None)
    again = to_json_dict(from_json(first), max_inline_bytes=None)
    assert again == first


# -- bulk data --------------------------------------------------------------


def test_threshold_and_handler() -> None:
    ds = dcf.read(TESTDATA / "all_vrs.dcm")
    seen: list[dcf.DataElement] = []

    def handler(element: dcf.DataElement) -> str:
        seen.append(element)
        return f"https://pacs/bulk/{int(element.tag):08X}"

    model = ds.to_json_dict(bulk_data_threshold=6, bulk_data_element_handler=handler)
    assert model["00281201"] == {"vr": "OW", "BulkDataURI": "https://pacs/bulk/00281201"}
    assert model["0072006D"] == {"vr": "UN", "InlineBinary": "AQIDBA=="}  # 4 bytes: inline
    assert {f"{int(e.tag):08X}" for e in seen} == {
        key for key, attribute in model.items() if "BulkDataURI" in attribute
    }
    assert all(e.length > 6 for e in seen)


def test_large_pixel_data_goes_to_the_handler_never_base64(monkeypatch: pytest.MonkeyPatch) -> None:
    size = 40 << 20
    ds = dcf.Dataset()
    ds.set(0x7FE00010, b"\1" * size, "OW")
    encoded: list[int] = []
    real = base64.b64encode

    def spy(data: bytes) -> bytes:
        encoded.append(len(data))
        return real(data)

    monkeypatch.setattr(base64, "b64encode", spy)  # the module json_model encodes with
    text = ds.to_json(bulk_data_element_handler=lambda e: "bulk/pixels")
    assert json.loads(text) == {"7FE00010": {"vr": "OW", "BulkDataURI": "bulk/pixels"}}
    assert encoded == []
    assert len(text) < 100


def test_no_handler_inlines_up_to_the_limit_then_refuses() -> None:
    ds = dcf.Dataset()
    ds.set(0x7FE00010, b"\0" * (MAX_INLINE_BYTES + 2), "OB")
    with pytest.raises(
        dcf.EncodingError, match=r"\(7FE0,0010\): PixelData.*bulk_data_element_handler"
    ):
        ds.to_json()
    small = dcf.Dataset()
    small.set(0x7FE00010, b"\0" * 100, "OB")
    assert to_json_dict(small, max_inline_bytes=100) != {}
    with pytest.raises(dcf.EncodingError, match="100 bytes is more than the 99 bytes"):
        to_json_dict(small, max_inline_bytes=99)
    # the limit is for values without a handler only: with one, short values stay inline
    handled = to_json_dict(
        small, max_inline_bytes=99, bulk_data_threshold=100, bulk_data_element_handler=str
    )
    assert "InlineBinary" in handled["7FE00010"]


def test_handler_must_return_a_string() -> None:
    ds = dcf.read(TESTDATA / "all_vrs.dcm")
    with pytest.raises(dcf.EncodingError, match="returned int"):
        ds.to_json_dict(bulk_data_threshold=0, bulk_data_element_handler=lambda e: 3)  # type: ignore[arg-type,return-value]


def test_bad_threshold() -> None:
    with pytest.raises(ValueError, match="bulk_data_threshold"):
        dcf.Dataset().to_json(bulk_data_threshold=-1)


def test_encapsulated_pixel_data_inline_and_back(tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / "j2k_lossless.dcm")
    model = ds.to_json_dict(bulk_data_threshold=1 << 20)
    inline = base64.b64decode(model["7FE00010"]["InlineBinary"])
    assert inline == bytes(ds[0x7FE00010].raw or b"")
    back = dcf.Dataset.from_json(model)
    assert back[0x7FE00010].undefined_length
    dcf.write(back, tmp_path / "x.dcm", transfer_syntax=ds.transfer_syntax)
    again = dcf.read(tmp_path / "x.dcm")
    assert np.array_equal(again.pixel_array, ds.pixel_array)


def test_meta_elements_go_to_meta(tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / "j2k_lossless.dcm")
    model = ds.to_json_dict()
    model["00020010"] = {"vr": "UI", "Value": [ds.transfer_syntax.uid]}  # type: ignore[union-attr]
    back = dcf.Dataset.from_json(model)
    assert 0x00020010 not in back
    assert back.meta is not None
    assert back.transfer_syntax == ds.transfer_syntax
    dcf.write(back, tmp_path / "x.dcm")  # no syntax given: the JSON's
    assert dcf.read(tmp_path / "x.dcm").transfer_syntax == ds.transfer_syntax


def test_sequences_nest(tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / "sequences.dcm")
    back = dcf.Dataset.from_json(ds.to_json())
    dcf.write(back, tmp_path / "x.dcm")
    assert dcf.read(tmp_path / "x.dcm").to_json_dict() == ds.to_json_dict()


def test_to_json_keeps_the_depth_limit() -> None:
    inner = dcf.Dataset()
    for _ in range(5):
        outer = dcf.Dataset()
        outer.set(0x00081115, [inner], "SQ")
        inner = outer
    set_default_limits(Limits(max_depth=3))
    try:
        with pytest.raises(dcf.LimitError, match="max_depth"):
            inner.to_json()
    finally:
        set_default_limits(None)
    assert inner.to_json().count("00081115") == 5


# -- from_json: handlers ------------------------------------------------------

BULK = {
    "00280010": {"vr": "US", "BulkDataURI": "bulk/rows"},
    "00324000": {"vr": "LT", "BulkDataURI": "bulk/text"},
    "7FE00010": {"vr": "OW", "BulkDataURI": ["bulk/pixels"]},
}


def test_bulk_data_uri_one_argument_handler() -> None:
    data = {"bulk/rows": b"\0\2", "bulk/text": "Größe".encode(), "bulk/pixels": b"\1\0\2\0"}
    ds = dcf.Dataset.from_json(BULK, bulk_data_uri_handler=lambda uri: data[uri])
    assert ds.Rows == 512
    assert ds[0x00324000].value == "Größe"
    assert ds.PixelData == b"\1\0\2\0"


def test_bulk_data_uri_three_argument_handler() -> None:
    calls: list[tuple[str, str, str]] = []

    def fetch(tag: str, vr: str, uri: str) -> bytes | None:
        calls.append((tag, vr, uri))
        return None

    ds = from_json(BULK, bulk_data_uri_handler=fetch)
    assert calls == [
        ("00280010", "US", "bulk/rows"),
        ("00324000", "LT", "bulk/text"),
        ("7FE00010", "OW", "bulk/pixels"),
    ]
    assert ds.Rows is None
    assert ds.PixelData == b""


def test_bulk_data_handler_may_return_values() -> None:
    ds = from_json(BULK, bulk_data_uri_handler={"bulk/rows": 7}.get)  # dict.get(key, default)
    assert ds.Rows == 7


def test_handler_forms() -> None:
    data = {"bulk/rows": b"\0\1", "bulk/text": b"", "bulk/pixels": b""}
    assert from_json(BULK, bulk_data_uri_handler=data.__getitem__).Rows == 256
    assert from_json(BULK, bulk_data_uri_handler=lambda uri, timeout=5: data[uri]).Rows == 256
    seen = []
    from_json(BULK, bulk_data_uri_handler=lambda *args: seen.append(args))
    assert seen[0] == ("00280010", "US", "bulk/rows")


def test_bulk_data_uri_without_handler_raises() -> None:
    with pytest.raises(
        dcf.InvalidDicomError, match=r"\(0028,0010\).*bulk/rows.*bulk_data_uri_handler"
    ):
        dcf.Dataset.from_json(BULK)


# -- from_json: bad input -----------------------------------------------------


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ('{"0010001": {"vr": "PN"}}', "'0010001' is not a tag of 8 hex digits"),
        ('{"0010001G": {"vr": "PN"}}', "not a tag"),
        ('{"00100010": {"vr": "XX"}}', r"\(0010,0010\): unknown VR 'XX'"),
        ('{"00100010": {"Value": []}}', r"\(0010,0010\): attribute has no 'vr'"),
        ('{"00100010": ["PN"]}', r"\(0010,0010\): attribute must be an object"),
        ('{"00280010": {"vr": "US", "Value": 512}}', r"\(0028,0010\): Value must be an array"),
        ('{"00280010": {"vr": "US", "Value": ["512"]}}', r"Value\[0\] of US must be an integer"),
        ('{"00280010": {"vr": "US", "Value": [1.5]}}', "must be an integer"),
        ('{"00280010": {"vr": "US", "Value": [true]}}', "must be an integer"),
        ('{"00280010": {"vr": "US", "Value": [70000]}}', r"\(0028,0010\): .*US holds 0 to 65535"),
        ('{"00180050": {"vr": "FD", "Value": ["1.5"]}}', "of FD must be a number"),
        ('{"00080060": {"vr": "CS", "Value": [5]}}', r"Value\[0\] of CS must be a string"),
        ('{"00080060": {"vr": "CS", "Value": ["MR\\\\CT", "X"]}}', "backslash"),
        ('{"00080060": {"vr": "CS", "Value": ["É"]}}', "default repertoire"),
        ('{"00200013": {"vr": "IS", "Value": [1.5]}}', "of IS must be an integer"),
        ('{"00280009": {"vr": "AT", "Value": ["0018106"]}}', "of AT must be 8 hex digits"),
        ('{"00280009": {"vr": "AT", "Value": ["0018106X"]}}', "of AT must be 8 hex digits"),
        ('{"00100010": {"vr": "PN", "Value": [{"Alphabetik": "x"}]}}', "it allows"),
        ('{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "a=b"}]}}', "without '='"),
        ('{"00100010": {"vr": "PN", "Value": [3]}}', "must be an object or a string"),
        (
            '{"00081115": {"vr": "SQ", "Value": [3]}}',
            r"\(0008,1115\): a JSON dataset must be an object",
        ),
        ('{"00420011": {"vr": "OB", "Value": [1]}}', "InlineBinary or BulkDataURI, not Value"),
        ('{"00420011": {"vr": "OB", "InlineBinary": "@@@"}}', "not base64"),
        ('{"00420011": {"vr": "OB", "InlineBinary": 5}}', "InlineBinary must be a string"),
        ('{"00080060": {"vr": "CS", "InlineBinary": "AA=="}}', "InlineBinary is for OB"),
        ('{"00280010": {"vr": "US", "InlineBinary": "AA=="}}', "InlineBinary is for OB"),
        ('{"00420011": {"vr": "OB", "Value": [], "InlineBinary": "AA=="}}', "at most one of"),
        ('{"00420011": {"vr": "OB", "value": []}}', "'value'"),
        ("[1, 2]", "a JSON dataset must be an object, not an array"),
        ('{"00100010": ', "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
    ],
)
def test_bad_input_names_the_tag(model: str | bytes, message: str) -> None:
    with pytest.raises(dcf.InvalidDicomError, match=message):
        dcf.Dataset.from_json(model)


def test_odd_number_bytes_refused() -> None:
    with pytest.raises(dcf.InvalidDicomError, match=r"\(0028,0010\): US value of 3 bytes"):
        dcf.Dataset.from_json(BULK, bulk_data_uri_handler=lambda uri: b"\0\0\0")


def test_lenient_forms() -> None:
    ds = dcf.Dataset.from_json(
        {
            "00100010": {"vr": "PN", "Value": ["Doe^John"]},
            "00180050": {"vr": "DS", "Value": ["2.50"]},
            "00200013": {"vr": "IS", "Value": ["7"]},
            "00420011": {"vr": "OB", "InlineBinary": ["AQI="]},
            "00280010": {"vr": "US", "Value": [512.0]},
            "7fe00010": {"vr": "OW"},
        }
    )
    assert ds.PatientName == "Doe^John"
    assert str(ds.SliceThickness) == "2.50"
    assert ds.InstanceNumber == 7
    assert ds[0x00420011].value == b"\1\2"
    assert ds.Rows == 512
    assert ds.PixelData == b""


def test_bytes_input_and_types() -> None:
    ds = dcf.Dataset.from_json(dcf.read(TESTDATA / "all_vrs.dcm").to_json().encode("utf-8"))
    assert isinstance(ds[0x00081050].value[0], PersonName)
    assert ds[0x00082130].value == [1.5, -2250.0, 0, 7]
    assert ds[0x00280009].value == [0x00181063, 0x00181065]
    assert ds[0x00280009].value[0].group == 0x0018


def _nested(depth: int) -> dict[str, Any]:
    model: dict[str, Any] = {"00100010": {"vr": "PN"}}
    for _ in range(depth):
        model = {"00081115": {"vr": "SQ", "Value": [model]}}
    return model


def test_depth_and_element_limits() -> None:
    assert from_json(_nested(3), limits=Limits(max_depth=3))
    with pytest.raises(dcf.LimitError, match="max_depth"):
        from_json(_nested(4), limits=Limits(max_depth=3))
    with pytest.raises(dcf.LimitError, match="max_elements"):
        from_json(_nested(10), limits=Limits(max_elements=15))
    assert from_json(_nested(10), limits=Limits(max_elements=21))


def test_very_deep_json_text() -> None:
    text = '{"00081115": {"vr": "SQ", "Value": [' * 200_000
    with pytest.raises(dcf.DicomError, match=r"nested too deeply|max_depth"):
        dcf.Dataset.from_json(text + "{}" + "]}}" * 200_000)


def test_written_file_read_by_dcmread_equals(tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    back = dcf.Dataset.from_json(ds.to_json(bulk_data_threshold=1 << 30))
    out = io.BytesIO()
    dcf.write(back, out)
    again = dcf.read(out.getvalue())
    assert np.array_equal(again.pixel_array, ds.pixel_array)
    assert again.to_json_dict() == ds.to_json_dict()


def test_values_that_break_their_vr_are_kept_as_read_and_written_back() -> None:
    """Real files hold ACR-NEMA dates and hex UIDs: from JSON they stay as they came."""
    model = {
        "00080020": {"vr": "DA", "Value": ["1997.04.24"]},
        "00080018": {"vr": "UI", "Value": ["dccc9599087131742838cc1162a630fe"]},
        "00200010": {"vr": "SH", "Value": ["a-study-id-longer-than-sixteen"]},
    }
    ds = dcf.Dataset.from_json(model)
    written = io.BytesIO()
    dcf.write(ds, written, transfer_syntax="ExplicitVRLittleEndian")
    back = dcf.read(written.getvalue(), force=True)
    assert back.StudyDate == "1997.04.24"
    assert back.SOPInstanceUID == "dccc9599087131742838cc1162a630fe"
    assert back.StudyID == "a-study-id-longer-than-sixteen"
    back.StudyDate = "1997.04.25"  # a value set by the user is checked as ever
    with pytest.raises(dcf.EncodingError, match=r"\(0008,0020\)"):
        dcf.write(back, io.BytesIO(), transfer_syntax="ExplicitVRLittleEndian")
