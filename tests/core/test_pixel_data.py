"""PixelData and frames: flat typed data, views, editing, lazy access, bad input."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.encapsulation import encapsulate
from tests.reference import TESTDATA, pydicom_files

pydicom = pytest.importorskip("pydicom")

EDITABLE = [
    "ct_explicit_le.dcm",
    "ct_explicit_be.dcm",
    "ct_implicit_le.dcm",
    "mr_multiframe_uint16.dcm",
    "rgb_planar0.dcm",
    "rgb_planar1.dcm",
    "bits1_3frames.dcm",
    "float_pixels.dcm",
    "double_pixels.dcm",
]


def _pydicom_file(name: str) -> Path:
    return next(p for p in pydicom_files() if p.name == name)


@pytest.mark.parametrize("name", EDITABLE)
def test_frames_are_flat_arrays_of_the_exact_dtype(name: str) -> None:
    ds = dcf.read(TESTDATA / name)
    info = ds.pixel_data.info
    expected = {
        ("PixelData", 1, 0): np.uint8,
        ("PixelData", 8, 0): np.uint8,
        ("PixelData", 16, 0): np.uint16,
        ("PixelData", 16, 1): np.int16,
        ("FloatPixelData", 32, 0): np.float32,
        ("DoubleFloatPixelData", 64, 0): np.float64,
    }[(info.pixel_keyword, info.bits_allocated, info.pixel_representation)]
    for frame in ds.pixel_data:
        assert isinstance(frame, dcf.NativeFrame)
        assert frame.data.ndim == 1
        assert frame.data.dtype == expected
        assert frame.data.size == info.rows * info.columns * info.samples_per_pixel
        assert frame.array.shape == info.shape


def test_little_endian_frames_are_views_on_the_mapped_file() -> None:
    with dcf.read(TESTDATA / "mr_multiframe_uint16.dcm", defer_size=256) as ds:
        frame = ds.pixel_data[3]
        assert not frame.data.flags.writeable
        assert not frame.data.flags.owndata
        assert (
            not ds.PixelData_element_loaded() if hasattr(ds, "PixelData_element_loaded") else True
        )
        assert not ds[0x7FE00010].is_loaded


def test_planar_configuration_1_is_a_view() -> None:
    ds = dcf.read(TESTDATA / "rgb_planar1.dcm")
    frame = ds.pixel_data[0]
    assert np.shares_memory(frame.array, frame.data)
    other = dcf.read(TESTDATA / "rgb_planar0.dcm").pixel_data[0]
    np.testing.assert_array_equal(frame.array, other.array)


def test_big_endian_is_converted_to_native_order() -> None:
    big = dcf.read(TESTDATA / "ct_explicit_be.dcm").pixel_data[0]
    little = dcf.read(TESTDATA / "ct_explicit_le.dcm").pixel_data[0]
    assert big.data.dtype == np.dtype("<i2")
    np.testing.assert_array_equal(big.data, little.data)


def test_get_pixel() -> None:
    ds = dcf.read(TESTDATA / "rgb_planar1.dcm")
    frame = ds.pixel_data[0]
    assert frame.get_pixel(4, 2) == tuple(int(v) for v in frame.array[2, 4])
    mono = dcf.read(TESTDATA / "ct_explicit_le.dcm").pixel_data[0]
    assert mono.get_pixel(5, 7) == int(mono.array[7, 5])
    with pytest.raises(IndexError):
        mono.get_pixel(64, 0)


def _edit_value(frame: dcf.NativeFrame) -> float | tuple[int, ...]:
    info = frame.info
    if info.dtype.kind == "f":
        return 1234.5
    top = (1 << info.bits_stored) - 1 if not info.pixel_representation else -3
    old = frame.get_pixel(1, 2)
    if info.samples_per_pixel > 1:
        return tuple((v + 1) % (top + 1) for v in old)
    return 0 if old == top else top


@pytest.mark.parametrize("name", EDITABLE)
def test_set_pixel_write_read_changes_only_that_pixel(tmp_path: Path, name: str) -> None:
    ds = dcf.read(TESTDATA / name)
    before = bytes(
        ds[
            0x7FE00010 if 0x7FE00010 in ds else next(t for t in (0x7FE00008, 0x7FE00009) if t in ds)
        ].raw
        or b""
    )
    last = len(ds.pixel_data) - 1
    frame = ds.pixel_data[last]
    assert isinstance(frame, dcf.NativeFrame)
    value = _edit_value(frame)
    frame.set_pixel(1, 2, value)
    assert frame.get_pixel(1, 2) == value
    assert ds.pixel_data[last] is frame  # the edit is kept by the pixel data
    out = tmp_path / "edited.dcm"
    dcf.write(ds, out)
    again = dcf.read(out)
    assert again.pixel_data[last].get_pixel(1, 2) == value
    expected = ds.pixel_array
    np.testing.assert_array_equal(again.pixel_array, expected)
    original = dcf.read(TESTDATA / name).pixel_array
    changed = np.argwhere(expected != original)
    assert {tuple(i[:3]) for i in changed} == {(last, 2, 1)}
    after = bytes(again[ds.pixel_data.element.tag].raw or b"")
    differing = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert 0 < len(differing) <= frame.info.dtype.itemsize * frame.info.samples_per_pixel


def test_set_pixel_on_big_endian_ow_8bit(tmp_path: Path) -> None:
    path = _pydicom_file("SC_rgb_small_odd_big_endian.dcm")
    ds = dcf.read(path)
    frame = ds.pixel_data[0]
    frame.set_pixel(2, 2, (1, 2, 3))
    dcf.write(ds, tmp_path / "x.dcm")
    theirs = pydicom.dcmread(tmp_path / "x.dcm").pixel_array
    assert tuple(theirs[2, 2]) == (1, 2, 3)
    original = pydicom.dcmread(path).pixel_array
    assert np.count_nonzero((theirs != original).any(axis=-1)) == 1


def test_set_pixel_checks_the_range() -> None:
    frame = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm").pixel_data[0]
    with pytest.raises(ValueError, match="outside"):
        frame.set_pixel(0, 0, 4096)  # Bits Stored 12
    with pytest.raises(ValueError, match="samples"):
        frame.set_pixel(0, 0, (1, 2, 3))


def test_bits_stored_masking_matches_pydicom(tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    raw = bytearray(ds[0x7FE00010].raw or b"")
    raw[0:2] = struct.pack("<H", 0xF123)  # garbage in the unused high bits
    ds[0x7FE00010].value = bytes(raw)
    dcf.write(ds, tmp_path / "garbage.dcm")
    ours = dcf.read(tmp_path / "garbage.dcm")
    assert ours.pixel_data[0].data[0] == 0x123
    np.testing.assert_array_equal(
        ours.pixel_array, pydicom.dcmread(tmp_path / "garbage.dcm").pixel_array
    )


def test_pixel_array_is_one_allocation() -> None:
    path = TESTDATA / "mr_multiframe_uint16.dcm"
    ds = dcf.read(path, defer_size=256)
    pixel_bytes = ds[0x7FE00010].length
    tracemalloc.start()
    array = ds.pixel_array
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert array.nbytes == pixel_bytes
    assert peak < pixel_bytes + 64 * 1024
    ds.close()


def test_large_sparse_file_reads_only_the_frame(tmp_path: Path) -> None:
    """A 2 GiB multi-frame file (sparse on disk): frame 4,000 costs one frame."""
    rows = cols = 256
    frames = 16_000
    template = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    template.Rows, template.Columns, template.NumberOfFrames = rows, cols, frames
    frame_bytes = rows * cols * 2
    template[0x7FE00010].value = b"\0\0"  # replaced below by a sparse region
    out = tmp_path / "big.dcm"
    dcf.write(template, out)
    data = out.read_bytes()
    header = data[: -4 - 2]  # up to the Pixel Data length field
    with open(out, "wb") as handle:
        handle.write(header + struct.pack("<L", frame_bytes * frames))
        start = handle.tell()
        handle.seek(start + 4_000 * frame_bytes)
        handle.write(np.arange(rows * cols, dtype="<u2").tobytes())
        handle.truncate(start + frame_bytes * frames)
    tracemalloc.start()
    with dcf.read(out) as ds:
        frame = ds.pixel_data[4_000]
        assert int(frame.data[1000]) == 1000
        assert len(ds.pixel_data) == frames
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_closed_file_gives_a_clear_error_and_loaded_data_survives() -> None:
    ds = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm", defer_size=256)
    kept = ds.pixel_data[0]
    copy = kept.data.copy()
    ds.close()
    np.testing.assert_array_equal(kept.data, copy)  # a view taken before closing stays valid
    with pytest.raises(dcf.DicomError, match="closed"):
        _ = ds.pixel_data[1]
    loaded = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm", defer_size=256)
    loaded.load()
    loaded.close()
    assert loaded.pixel_array.shape == (5, 32, 48)


def test_frame_info_from_dataset() -> None:
    info = dcf.read(TESTDATA / "rgb_planar1.dcm").pixel_data.info
    assert (info.rows, info.columns, info.samples_per_pixel) == (20, 30, 3)
    assert info.planar_configuration == 1
    assert info.photometric_interpretation == "RGB"
    assert info.transfer_syntax_uid == "1.2.840.10008.1.2.1"
    assert info.number_of_frames == 1


# -- bad input -------------------------------------------------------------------
def test_pixel_data_shorter_than_the_image_needs(tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    ds.NumberOfFrames = 6
    with pytest.raises(dcf.InvalidDicomError, match="need") as info:
        _ = ds.pixel_data
    assert info.value.tag == 0x7FE00010


@pytest.mark.parametrize(
    ("keyword", "value", "tag"),
    [
        ("Rows", 0, 0x00280010),
        ("Columns", 0, 0x00280011),
        ("BitsAllocated", 12, 0x00280100),
        ("BitsStored", 17, 0x00280101),
    ],
)
def test_contradictory_attributes_name_the_tag(keyword: str, value: int, tag: int) -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    setattr(ds, keyword, value)
    with pytest.raises(dcf.InvalidDicomError) as info:
        _ = ds.pixel_data
    assert info.value.tag == tag


def test_missing_rows_names_it() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    del ds.Rows
    with pytest.raises(dcf.InvalidDicomError, match="Rows") as info:
        _ = ds.pixel_data
    assert info.value.tag == 0x00280010


def _encapsulated_dataset(frames: list[bytes], *, table: str = "basic") -> dcf.Dataset:
    ds = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    packed = encapsulate(frames, offset_table=table)
    ds[0x7FE00010] = dcf.DataElement(0x7FE00010, "OB", packed.value, undefined_length=True)
    if packed.extended_offsets is not None:
        ds[0x7FE00001] = dcf.DataElement(0x7FE00001, "OV", packed.extended_offsets)
        ds[0x7FE00002] = dcf.DataElement(0x7FE00002, "OV", packed.extended_lengths)
    ds.NumberOfFrames = len(frames)
    ds.transfer_syntax = dcf.TransferSyntax.resolve("RLELossless")
    return ds


FAKE_FRAMES = [b"\x01\x02\x03", b"\x04" * 10, b"", b"\x05\x06"]


@pytest.mark.parametrize("table", ["basic", "extended"])
def test_encapsulated_write_read_round_trip(tmp_path: Path, table: str) -> None:
    ds = _encapsulated_dataset(FAKE_FRAMES, table=table)
    out = tmp_path / "enc.dcm"
    dcf.write(ds, out)
    again = dcf.read(out)
    frames = [bytes(f.data) for f in again.pixel_data]
    assert [f.rstrip(b"\0") for f in frames] == [f.rstrip(b"\0") for f in FAKE_FRAMES]
    assert all(len(f) % 2 == 0 for f in frames) or table == "extended"
    theirs = pydicom.dcmread(out)
    extended = None
    if table == "extended":
        extended = (theirs.ExtendedOffsetTable, theirs.ExtendedOffsetTableLengths)
    from pydicom.encaps import generate_frames

    expected = list(
        generate_frames(theirs.PixelData, number_of_frames=4, extended_offsets=extended)
    )
    assert frames == expected


def test_offset_table_pointing_outside_the_data() -> None:
    ds = _encapsulated_dataset(FAKE_FRAMES)
    raw = bytearray(ds[0x7FE00010].value)
    raw[8 + 4 : 8 + 8] = struct.pack("<L", 99999)  # second Basic Offset Table entry
    ds[0x7FE00010] = dcf.DataElement(0x7FE00010, "OB", bytes(raw), undefined_length=True)
    with pytest.raises(dcf.InvalidDicomError, match="Basic Offset Table entry 1"):
        _ = ds.pixel_data[1]


def test_extended_offset_table_pointing_outside() -> None:
    ds = _encapsulated_dataset(FAKE_FRAMES, table="extended")
    offsets = np.frombuffer(ds[0x7FE00001].value, dtype="<u8").copy()
    offsets[2] = 1 << 40
    ds[0x7FE00001] = dcf.DataElement(0x7FE00001, "OV", offsets.tobytes())
    with pytest.raises(dcf.InvalidDicomError, match="Extended Offset Table entry 2"):
        _ = ds.pixel_data[0]


def test_fragment_length_past_the_end() -> None:
    ds = _encapsulated_dataset(FAKE_FRAMES)
    bad = bytes(ds[0x7FE00010].value) + b"\xfe\xff\x00\xe0" + struct.pack("<L", 5000) + b"ab"
    ds[0x7FE00010] = dcf.DataElement(0x7FE00010, "OB", bad, undefined_length=True)
    with pytest.raises(dcf.InvalidDicomError, match="length 5000"):
        _ = ds.pixel_data[0]


def test_fragments_grouped_by_jpeg_markers() -> None:
    first = b"\xff\xd8" + b"a" * 10
    second = b"b" * 6 + b"\xff\xd9"
    frames = [first, second, b"\xff\xd8" + b"c" * 4 + b"\xff\xd9"]
    packed = encapsulate(frames, offset_table="basic")
    # Drop the offset table: two frames in three fragments, found by SOI markers.
    value = b"\xfe\xff\x00\xe0\0\0\0\0" + packed.value[8 + 12 :]
    ds = _encapsulated_dataset([b"x", b"y"])
    ds[0x7FE00010] = dcf.DataElement(0x7FE00010, "OB", value, undefined_length=True)
    pixels = ds.pixel_data
    assert len(pixels) == 2
    assert bytes(pixels[0].data) == first + second
    assert pixels.fragments_per_frame == [2, 1]


def test_ambiguous_fragments_are_refused() -> None:
    packed = encapsulate([b"aa", b"bb", b"cc"], offset_table="basic")
    value = b"\xfe\xff\x00\xe0\0\0\0\0" + packed.value[8 + 12 :]
    ds = _encapsulated_dataset([b"x", b"y"])
    ds[0x7FE00010] = dcf.DataElement(0x7FE00010, "OB", value, undefined_length=True)
    with pytest.raises(dcf.InvalidDicomError, match="ambiguous"):
        _ = ds.pixel_data[0]


def test_empty_offset_table_with_one_frame_takes_every_fragment() -> None:
    packed = encapsulate([b"aa", b"bb"], offset_table="basic")
    value = b"\xfe\xff\x00\xe0\0\0\0\0" + packed.value[8 + 8 :]
    ds = _encapsulated_dataset([b"x"])
    ds[0x7FE00010] = dcf.DataElement(0x7FE00010, "OB", value, undefined_length=True)
    assert bytes(ds.pixel_data[0].data) == b"aabb"


def test_decode_without_a_codec_raises_no_codec_error() -> None:
    from dicomframe.plugins import CodecManager

    ds = _encapsulated_dataset(FAKE_FRAMES)
    frame = ds.pixel_data[0]
    assert isinstance(frame, dcf.EncapsulatedFrame)
    with pytest.raises(dcf.NoCodecError, match="RLELossless") as info:
        frame.decode(codecs=CodecManager(entry_points=False))
    assert info.value.attempts == ()


# -- limits ----------------------------------------------------------------------
def test_pixel_array_refuses_more_than_max_object_bytes() -> None:
    path = TESTDATA / "mr_multiframe_uint16.dcm"  # 5 frames of 32 x 48 uint16: 15,360 bytes
    ds = dcf.read(path, limits=dcf.Limits(max_object_bytes=15_359))
    with pytest.raises(dcf.LimitError, match="max_object_bytes") as info:
        _ = ds.pixel_array
    assert (info.value.limit, info.value.value, info.value.maximum) == (
        "max_object_bytes",
        15_360,
        15_359,
    )
    assert "pixel_array of 5 frames" in str(info.value)
    ds.limits = dcf.Limits(max_object_bytes=15_360)  # the dataset's limits at the time of the call
    assert ds.pixel_array.nbytes == 15_360


def test_pixel_array_limit_is_checked_before_any_frame_is_decoded() -> None:
    from dicomframe.plugins import CodecManager

    ds = dcf.read(TESTDATA / "rle_multiframe.dcm", limits=dcf.Limits(max_object_bytes=1024))
    empty = CodecManager(entry_points=False)  # decoding would raise NoCodecError
    with pytest.raises(dcf.LimitError, match="max_object_bytes"):
        ds.pixel_data.pixel_array(codecs=empty)
    ds.limits = None
    with pytest.raises(dcf.NoCodecError):
        ds.pixel_data.pixel_array(codecs=empty)


def test_a_dataset_read_with_small_limits_refuses_a_larger_frame() -> None:
    path = TESTDATA / "rle_multiframe.dcm"  # 5 RLE frames of 32 x 48 uint16: 3,072 bytes each
    ds = dcf.read(path, limits=dcf.Limits(max_frame_bytes=3_071))
    with pytest.raises(dcf.LimitError, match="max_frame_bytes") as info:
        _ = ds.pixel_array
    assert (info.value.limit, info.value.value, info.value.maximum) == (
        "max_frame_bytes",
        3072,
        3071,
    )
    with pytest.raises(dcf.LimitError, match="max_frame_bytes"):
        ds.pixel_data.pixel_array(workers=2)
    allowed = dcf.Limits(max_frame_bytes=3_072)
    np.testing.assert_array_equal(
        ds.pixel_data.pixel_array(limits=allowed), dcf.read(path).pixel_array
    )


def test_an_extended_offset_table_of_odd_size_is_invalid_dicom() -> None:
    """Found by fuzzing: 7 and 9 bytes of 64-bit offsets were a bare numpy ValueError."""
    ds = dcf.read(TESTDATA / "jpeg_lossless.dcm")
    ds.ExtendedOffsetTable = b"\0" * 7
    ds.ExtendedOffsetTableLengths = b"\0" * 9
    with pytest.raises(dcf.InvalidDicomError, match="not a whole number of 64-bit") as info:
        _ = ds.pixel_array
    assert info.value.tag == 0x7FE00001
