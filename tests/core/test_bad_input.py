"""Bad input: each malformed case gives an InvalidDicomError naming the tag or the offset."""

from __future__ import annotations

import struct
import time
import zlib

import pytest

import dicomframe as dcf
from dicomframe.core.parser import MAX_DEPTH


def element(tag: int, vr: str, value: bytes, *, length: int | None = None) -> bytes:
    """One Explicit VR Little Endian element (length may lie)."""
    size = len(value) if length is None else length
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode()
    if vr in {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}:
        return head + b"\0\0" + struct.pack("<L", size) + value
    return head + struct.pack("<H", size) + value


def implicit(tag: int, value: bytes, *, length: int | None = None) -> bytes:
    size = len(value) if length is None else length
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, size) + value


def part10(body: bytes, syntax: str = "1.2.840.10008.1.2.1") -> bytes:
    uid = syntax.encode() + (b"\0" if len(syntax) % 2 else b"")
    meta = element(0x00020001, "OB", b"\0\1") + element(0x00020010, "UI", uid)
    group = element(0x00020000, "UL", struct.pack("<L", len(meta)))
    return b"\0" * 128 + b"DICM" + group + meta + body


GOOD = element(0x00080060, "CS", b"CT") + element(0x00100010, "PN", b"Doe^Jane")


def test_good_file_reads() -> None:
    ds = dcf.read(part10(GOOD))
    assert ds.Modality == "CT"
    assert str(ds.PatientName) == "Doe^Jane"


@pytest.mark.parametrize("cut", [1, 3, 5, 7, 9, 11])
def test_truncation_anywhere(cut: int) -> None:
    data = part10(GOOD)
    with pytest.raises(dcf.InvalidDicomError) as info:
        dcf.read(data[:-cut])
    assert info.value.offset is not None
    assert "offset" in str(info.value)


def test_truncated_meta() -> None:
    data = part10(GOOD)
    with pytest.raises(dcf.InvalidDicomError) as info:
        dcf.read(data[:140])
    assert info.value.offset == 132


def test_length_past_end_is_checked_before_allocating() -> None:
    body = element(0x00080060, "CS", b"CT") + element(
        0x7FE00010, "OB", b"\0" * 8, length=0xFFFFFFF0
    )
    started = time.perf_counter()
    with pytest.raises(dcf.InvalidDicomError, match="exceeds") as info:
        dcf.read(part10(body))
    assert info.value.tag == 0x7FE00010
    assert info.value.offset is not None
    assert "(7FE0,0010)" in str(info.value)
    assert time.perf_counter() - started < 5  # sanity: no 4 GiB allocation happened


def test_odd_length_is_lenient_by_default_and_refused_when_strict() -> None:
    body = element(0x00100010, "PN", b"Doe")
    assert str(dcf.read(part10(body)).PatientName) == "Doe"
    with pytest.raises(dcf.InvalidDicomError, match="odd") as info:
        dcf.read(part10(body), strict=True)
    assert info.value.tag == 0x00100010


def test_undefined_length_on_a_vr_that_cannot_have_it() -> None:
    body = implicit(0x00280010, b"\0\0", length=0xFFFFFFFF)
    with pytest.raises(dcf.InvalidDicomError, match="undefined length") as info:
        dcf.read(part10(body, "1.2.840.10008.1.2"))
    assert info.value.tag == 0x00280010


def test_undefined_length_on_explicit_ut() -> None:
    body = element(0x00081030, "UT", b"", length=0xFFFFFFFF) + b"\xfe\xff\xdd\xe0\0\0\0\0"
    with pytest.raises(dcf.InvalidDicomError, match="undefined length"):
        dcf.read(part10(body))


def nested(depth: int) -> bytes:
    """``depth`` sequences inside each other, all of undefined length."""
    opening = implicit(0x00081115, b"", length=0xFFFFFFFF) + struct.pack(
        "<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF
    )
    closing = struct.pack("<HHL", 0xFFFE, 0xE00D, 0) + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    return opening * depth + implicit(0x00080060, b"CT") + closing * depth


def test_deep_nesting_reads_up_to_the_limit() -> None:
    ds = dcf.read(part10(nested(20), "1.2.840.10008.1.2"))
    level = ds
    for _ in range(20):
        level = level.ReferencedSeriesSequence[0]
    assert level.Modality == "CT"


def test_ten_thousand_nested_sequences_are_refused_cleanly() -> None:
    with pytest.raises(dcf.LimitError, match=f"max_depth is {MAX_DEPTH}") as info:
        dcf.read(part10(nested(10_000), "1.2.840.10008.1.2"))
    assert info.value.limit == "max_depth"
    assert info.value.tag == 0x00081115
    assert info.value.offset is not None


def test_unknown_transfer_syntax() -> None:
    with pytest.raises(dcf.InvalidDicomError, match="unknown transfer syntax") as info:
        dcf.read(part10(GOOD, "1.2.3.4.5.6"))
    assert info.value.tag == 0x00020010
    assert isinstance(info.value.__cause__, dcf.UnknownTransferSyntaxError)


def test_missing_meta() -> None:
    data = b"\0" * 128 + b"DICM" + GOOD
    with pytest.raises(dcf.InvalidDicomError, match="meta") as info:
        dcf.read(data)
    assert info.value.offset == 132


def test_no_dicm_prefix_needs_force() -> None:
    with pytest.raises(dcf.InvalidDicomError, match="DICM"):
        dcf.read(GOOD)
    assert dcf.read(GOOD, force=True).Modality == "CT"


def test_broken_meta_vr() -> None:
    data = b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00\x01\x02\x04\x00abcd" + GOOD
    with pytest.raises(dcf.InvalidDicomError) as info:
        dcf.read(data)
    assert info.value.offset == 132


def test_wrong_item_tag_in_sequence() -> None:
    body = element(0x00081115, "SQ", b"\x08\x00\x60\x00\0\0\0\0")
    ds = dcf.read(part10(body))  # a sequence of defined length is parsed when first used
    with pytest.raises(dcf.InvalidDicomError, match="Item") as info:
        _ = ds.ReferencedSeriesSequence
    assert info.value.tag == 0x00081115
    with pytest.raises(dcf.InvalidDicomError, match="Item"):
        ds.load()  # parses every sequence: what checks a whole file


def test_item_length_past_end() -> None:
    item = struct.pack("<HHL", 0xFFFE, 0xE000, 5000)
    body = element(0x00081115, "SQ", item)
    with pytest.raises(dcf.InvalidDicomError, match="exceeds"):
        dcf.read(part10(body)).load()


def test_fragment_length_past_end() -> None:
    fragments = struct.pack("<HHL", 0xFFFE, 0xE000, 0) + struct.pack("<HHL", 0xFFFE, 0xE000, 9999)
    body = element(0x7FE00010, "OB", fragments, length=0xFFFFFFFF)
    with pytest.raises(dcf.InvalidDicomError, match="fragment length") as info:
        dcf.read(part10(body, "1.2.840.10008.1.2.4.50"))
    assert info.value.tag == 0x7FE00010


def test_missing_sequence_delimiter_in_encapsulated_data() -> None:
    fragments = struct.pack("<HHL", 0xFFFE, 0xE000, 0)
    body = element(0x7FE00010, "OB", fragments, length=0xFFFFFFFF)
    with pytest.raises(dcf.InvalidDicomError, match="Sequence Delimitation"):
        dcf.read(part10(body, "1.2.840.10008.1.2.4.50"))


def test_corrupt_deflate_stream() -> None:
    with pytest.raises(dcf.InvalidDicomError, match="deflated"):
        dcf.read(part10(b"\xff\xfe garbage", "1.2.840.10008.1.2.1.99"))


def test_deflated_body_reads() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = packer.compress(GOOD) + packer.flush()
    assert dcf.read(part10(body, "1.2.840.10008.1.2.1.99")).Modality == "CT"


def test_invalid_explicit_vr_bytes() -> None:
    body = GOOD + b"\x10\x00\x20\x00\x01\x02\x02\x00ab"
    with pytest.raises(dcf.InvalidDicomError, match="invalid VR") as info:
        dcf.read(part10(body))
    assert info.value.tag == 0x00100020


def test_unknown_letters_vr_is_read_as_un() -> None:
    body = GOOD + b"\x11\x00\x10\x10ZZ\0\0\x02\0\0\0ab"
    ds = dcf.read(part10(body))
    assert ds[0x00111010].vr is dcf.VR.UN
    assert ds[0x00111010].value == b"ab"


def test_bad_numeric_value_length() -> None:
    ds = dcf.read(part10(element(0x00280010, "US", b"\1\0\2")))
    with pytest.raises(dcf.InvalidDicomError) as info:
        _ = ds.Rows
    assert info.value.tag == 0x00280010


def test_empty_input() -> None:
    with pytest.raises(dcf.InvalidDicomError):
        dcf.read(b"", force=True)


def test_file_not_found(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError):
        dcf.read(tmp_path / "missing.dcm")


@pytest.mark.parametrize(
    ("vr", "value"),
    [("US", struct.pack("<H", 192)), ("OB", b"ISO_IR 999"), ("FD", struct.pack("<d", 1.5))],
)
def test_specific_character_set_with_a_wrong_vr(vr: str, value: bytes) -> None:
    """(0008,0005) written with a non-text VR: its value is read as unknown terms, no crash."""
    body = element(0x00080005, vr, value) + element(0x00100010, "PN", b"Doe^Jane")
    with pytest.warns(dcf.DicomWarning, match="unknown Specific Character Set term"):
        name = str(dcf.read(part10(body)).PatientName)
    assert name == "Doe^Jane"


def test_transfer_syntax_uid_with_a_wrong_vr() -> None:
    """(0002,0010) as two US values: an unknown syntax named with its tag, not a crash."""
    meta = element(0x00020001, "OB", b"\0\1") + element(0x00020010, "US", b"\1\0\2\0")
    group = element(0x00020000, "UL", struct.pack("<L", len(meta)))
    data = b"\0" * 128 + b"DICM" + group + meta + GOOD
    with pytest.raises(dcf.InvalidDicomError, match=r"\(0002,0010\) at offset .*unknown transfer"):
        dcf.read(data)
