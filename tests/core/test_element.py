"""Tests for dicomframe.core.element: lazy decoding, raw bytes kept until assigned, repr."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import dicomframe as dcf
from dicomframe.core import values as values_module
from dicomframe.core.element import _UNSET
from dicomframe.core.valuerep import PersonName
from tests.reference import TESTDATA

CT = TESTDATA / "ct_explicit_le.dcm"


@pytest.fixture
def decode_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the tags values.decode_value is called for, but those the reader must decode.

    The reader needs the Transfer Syntax UID (0002,0010) and Specific Character Set
    (0008,0005) to parse the rest, so those two are decoded while reading; so are the
    Private Creators of an Implicit VR file, which name the private VRs after them.
    """
    calls: list[int] = []
    real: Callable[..., Any] = values_module.decode_value

    def counting(*args: Any, **kwargs: Any) -> Any:
        tag = kwargs.get("tag", -1)
        creator = (tag >> 16) & 1 and 0x10 <= tag & 0xFFFF <= 0xFF
        if tag not in (0x00020010, 0x00080005) and not creator:
            calls.append(tag)
        return real(*args, **kwargs)

    monkeypatch.setattr(values_module, "decode_value", counting)
    return calls


@pytest.mark.parametrize("name", ["ct_explicit_le.dcm", "charset_jis.dcm", "sequences.dcm"])
def test_reading_decodes_nothing(decode_calls: list[int], name: str) -> None:
    ds = dcf.read(TESTDATA / name)
    assert len(ds) > 10
    assert decode_calls == []
    undecoded = [
        e for e in ds if not e.is_sequence and e.tag != 0x00080005 and not e.tag.is_private_creator
    ]
    assert all(e._value is _UNSET for e in undecoded)


def test_value_is_decoded_on_first_access_and_kept(decode_calls: list[int]) -> None:
    ds = dcf.read(CT)
    element = ds["PatientName"]
    assert element._value is _UNSET
    first = element.value
    assert decode_calls == [0x00100010]
    assert element.value is first
    assert ds.PatientName is first
    assert decode_calls == [0x00100010]
    # The others are still undecoded.
    assert ds["PatientID"]._value is _UNSET


def test_tag_vr_keyword_length_do_not_decode(decode_calls: list[int]) -> None:
    for element in dcf.read(CT):
        _ = (element.tag, element.vr, element.keyword, element.name, element.length)
        _ = element.raw, element.is_loaded, element.is_sequence
    assert decode_calls == []


def test_raw_is_kept_until_assigned() -> None:
    ds = dcf.read(CT)
    element = ds["PatientName"]
    raw = element.raw
    assert raw is not None
    assert bytes(raw) == b"Doe^Jane^M^Dr^PhD "
    assert element.length == 18
    _ = element.value
    assert element.raw is raw  # decoding keeps the bytes the writer copies back
    element.value = "Roe^Richard"
    assert element.raw is None
    assert element.length == -1
    assert element.value == "Roe^Richard"


def test_assigning_the_same_value_still_drops_raw() -> None:
    element = dcf.read(CT)["PatientName"]
    element.value = element.value
    assert element.raw is None
    assert element.value == "Doe^Jane^M^Dr^PhD"


def test_new_element() -> None:
    element = dcf.DataElement(0x00100010, "PN", "Doe^John")
    assert element.tag == 0x00100010
    assert type(element.tag) is dcf.Tag
    assert element.vr is dcf.VR.PN
    assert element.raw is None
    assert element.value == "Doe^John"
    assert element.keyword == "PatientName"
    assert element.name == "Patient's Name"


def test_element_from_raw_bytes() -> None:
    element = dcf.DataElement(0x00280010, "US", raw=b"\x00\x02")
    assert element.value == 512
    big = dcf.DataElement(0x00280010, "US", raw=b"\x00\x02", little_endian=False)
    assert big.value == 2
    assert element != big  # 512 != 2
    assert element == dcf.DataElement(0x00280010, "US", raw=b"\x02\x00", little_endian=False)
    assert element == dcf.DataElement(0x00280010, "US", 512)


def test_element_without_value_or_raw_is_empty() -> None:
    assert dcf.DataElement(0x00100010, "PN").value == ""
    assert dcf.DataElement(0x00280010, "US").value is None
    sequence = dcf.DataElement(0x00081140, "SQ").value
    assert isinstance(sequence, dcf.Sequence)
    assert len(sequence) == 0


def test_vr_and_tag_are_validated() -> None:
    with pytest.raises(ValueError, match="VR"):
        dcf.DataElement(0x00100010, "XX", "x")
    with pytest.raises(ValueError, match="tag"):
        dcf.DataElement(-1, "PN", "x")


def test_sequence_values_become_sequences() -> None:
    item = dcf.Dataset()
    element = dcf.DataElement(0x00081140, "SQ", [item])
    assert isinstance(element.value, dcf.Sequence)
    assert element.sequence[0] is item
    element.value = (item, item)
    assert isinstance(element.value, dcf.Sequence)
    assert len(element.sequence) == 2


def test_sequence_property_refuses_other_vrs() -> None:
    with pytest.raises(TypeError, match="not a sequence"):
        _ = dcf.DataElement(0x00100010, "PN", "A^B").sequence


def test_equality() -> None:
    a = dcf.DataElement(0x00100010, "PN", "A^B")
    assert a == dcf.DataElement(0x00100010, "PN", "A^B")
    assert a != dcf.DataElement(0x00100010, "PN", "A^C")
    assert a != dcf.DataElement(0x00100010, "LO", "A^B")
    assert a != dcf.DataElement(0x00100020, "PN", "A^B")
    assert a != "A^B"
    # Raw bytes and a value compare by the value; one pad byte does not matter.
    assert dcf.DataElement(0x00100010, "PN", raw=b"A^B ") == a
    assert dcf.DataElement(0x00091001, "OB", raw=b"\x01\x02") != dcf.DataElement(
        0x00091001, "OB", raw=b"\x01\x03"
    )
    with pytest.raises(TypeError):
        hash(a)


@pytest.mark.parametrize(
    ("element", "text"),
    [
        (dcf.DataElement(0x00100010, "PN", "Doe^John"), "(0010,0010) PN PatientName: 'Doe^John'"),
        (dcf.DataElement(0x00280010, "US", 512), "(0028,0010) US Rows: 512"),
        (dcf.DataElement(0x00091001, "LO", "x"), "(0009,1001) LO private/unknown: 'x'"),
        (
            dcf.DataElement(0x00280009, "AT", [dcf.Tag(0x00181063)]),
            "(0028,0009) AT FrameIncrementPointer: [(0018,1063)]",
        ),
    ],
    ids=["PN", "US", "private", "AT"],
)
def test_repr(element: dcf.DataElement, text: str) -> None:
    assert repr(element) == text


def test_repr_is_cut() -> None:
    text = repr(dcf.DataElement(0x00104000, "LT", "x" * 500))
    assert text.endswith("...")
    assert len(text.split(": ", 1)[1]) == 80


def test_repr_of_a_read_value() -> None:
    element = dcf.read(CT)["PatientName"]
    assert repr(element) == "(0010,0010) PN PatientName: PersonName('Doe^Jane^M^Dr^PhD')"
    assert isinstance(element.value, PersonName)


def test_repr_of_a_located_value_does_not_load_it() -> None:
    with dcf.read(CT, defer_size=256) as ds:
        element = ds["PixelData"]
        assert not element.is_loaded
        assert repr(element) == "(7FE0,0010) OW PixelData: <8192 bytes not loaded>"
        assert not element.is_loaded
        assert element._value is _UNSET


def test_located_value_load() -> None:
    ds = dcf.read(CT, defer_size=256)
    element = ds["PixelData"]
    assert element.length == 8192
    assert isinstance(element.raw, memoryview)
    element.load()
    assert element.is_loaded
    assert type(element.raw) is bytes
    ds.close()
    assert len(element.value) == 8192
