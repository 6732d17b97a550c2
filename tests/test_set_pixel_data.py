"""ds.set_pixel_data: from arrays of every dtype and layout, from frames, and the attributes.

Every case is written, read back (by dicomframe and by pydicom, the oracle) and
checked with dcmdump; the Image Pixel attributes must describe the new pixels and
attributes that no longer hold must be gone.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

import dicomframe as dcf
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.uids import generate_uid
from tests.reference import TESTDATA, require_tool

Array = np.ndarray[Any, Any]
DTYPES = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64"]
SC = "1.2.840.10008.5.1.4.1.1.7"


def base() -> dcf.Dataset:
    ds = dcf.Dataset()
    ds.set("SOPClassUID", SC)
    ds.set("SOPInstanceUID", generate_uid())
    ds.set("PatientName", "Pixel^Setter")
    return ds


def values(dtype: str, shape: tuple[int, ...]) -> Array:
    """Values spread over the dtype's range (both signs for signed types)."""
    rng = np.random.default_rng(sum(shape))
    kind = np.dtype(dtype)
    if kind.kind == "f":
        return (rng.standard_normal(shape) * 1000).astype(kind)
    info = np.iinfo(kind)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=kind)


def dcmdump_problems(path: Path) -> list[str]:
    run = subprocess.run(
        [require_tool("dcmdump"), "-q", str(path)], capture_output=True, check=False
    )
    text = (run.stdout + run.stderr).decode("latin-1")
    return [line for line in text.splitlines() if line.startswith(("W:", "E:"))] + (
        [f"exit status {run.returncode}"] if run.returncode else []
    )


def round_trip(ds: dcf.Dataset, tmp_path: Path) -> tuple[dcf.Dataset, Array]:
    """Write ``ds``; return it read back by dicomframe, and pydicom's pixel array.

    A big-endian file is first converted to little endian by DCMTK (``dcmconv
    +te``): pydicom reads 32-bit values in OW big endian as whole numbers,
    DCMTK and GDCM as words (docs/differences.md), and DCMTK is the reference.
    """
    path = tmp_path / "out.dcm"
    dcf.write(ds, path)
    assert dcmdump_problems(path) == []
    oracle_path = path
    if ds.transfer_syntax is not None and not ds.transfer_syntax.is_little_endian:
        oracle_path = tmp_path / "out_le.dcm"
        subprocess.run([require_tool("dcmconv"), "+te", str(path), str(oracle_path)], check=True)
    oracle = pydicom.dcmread(oracle_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom notes float data without rescale, etc.
        expected = oracle.pixel_array
    if int(oracle.get("NumberOfFrames") or 1) == 1:
        expected = expected[np.newaxis]
    return dcf.read(path), expected


LAYOUTS = [(1, 1), (3, 1), (1, 4), (3, 3)]  # (samples, frames)
CASES = [
    (dtype, samples, frames)
    for dtype in DTYPES
    for samples, frames in LAYOUTS
    if not (np.dtype(dtype).kind == "f" and samples == 3)  # float data is monochrome
]


@pytest.mark.parametrize(
    ("dtype", "samples", "frames"), CASES, ids=[f"{d}-{s}s-{f}f" for d, s, f in CASES]
)
def test_from_array(dtype: str, samples: int, frames: int, tmp_path: Path) -> None:
    shape = (frames, 6, 10) + ((3,) if samples == 3 else ())
    array = values(dtype, shape)
    ds = base()
    ds.set_pixel_data(array if frames > 1 else array[0])
    kind = np.dtype(dtype)
    bits = kind.itemsize * 8
    assert ds.Rows == 6
    assert ds.Columns == 10
    assert ds.SamplesPerPixel == samples
    assert ds.BitsAllocated == bits
    assert ds.PhotometricInterpretation == ("RGB" if samples == 3 else "MONOCHROME2")
    if samples == 3:
        assert ds.PlanarConfiguration == 0
    else:
        assert "PlanarConfiguration" not in ds
    if frames > 1:
        assert int(ds.NumberOfFrames) == frames
    if kind.kind == "f":
        keyword = "FloatPixelData" if bits == 32 else "DoubleFloatPixelData"
        assert keyword in ds
        assert "PixelData" not in ds
        for absent in ("BitsStored", "HighBit", "PixelRepresentation"):
            assert absent not in ds
    else:
        assert ds.BitsStored == bits
        assert ds.HighBit == bits - 1
        assert ds.PixelRepresentation == int(kind.kind == "i")
        assert ds["PixelData"].vr == (dcf.VR.OB if bits == 8 else dcf.VR.OW)
    back, oracle = round_trip(ds, tmp_path)
    np.testing.assert_array_equal(back.pixel_array, array)
    np.testing.assert_array_equal(oracle, array)


@pytest.mark.parametrize(
    ("dtype", "bits_stored"), [("uint16", 12), ("int16", 12), ("uint8", 6), ("int32", 20)]
)
def test_bits_stored_override(dtype: str, bits_stored: int, tmp_path: Path) -> None:
    signed = np.dtype(dtype).kind == "i"
    low, high = (
        (-(1 << (bits_stored - 1)), (1 << (bits_stored - 1)) - 1)
        if signed
        else (
            0,
            (1 << bits_stored) - 1,
        )
    )
    array = np.linspace(low, high, 8 * 8).round().astype(dtype).reshape(8, 8)
    ds = base()
    ds.set_pixel_data(array, bits_stored=bits_stored)
    assert ds.BitsStored == bits_stored
    assert ds.HighBit == bits_stored - 1
    assert ds.BitsAllocated == np.dtype(dtype).itemsize * 8
    back, oracle = round_trip(ds, tmp_path)
    np.testing.assert_array_equal(back.pixel_array[0], array)
    np.testing.assert_array_equal(oracle[0], array)


def test_values_outside_bits_stored_are_refused() -> None:
    ds = base()
    with pytest.raises(ValueError, match="do not fit Bits Stored 12"):
        ds.set_pixel_data(np.full((4, 4), 5000, np.uint16), bits_stored=12)
    with pytest.raises(ValueError, match="do not fit Bits Stored 8"):
        ds.set_pixel_data(np.full((4, 4), 300, np.uint16), bits_allocated=8)
    assert "PixelData" not in ds  # nothing was changed


@pytest.mark.parametrize("frames", [1, 3])
def test_one_bit_pixels(frames: int, tmp_path: Path) -> None:
    # 5 x 7 = 35 bits a frame: frames after the first start mid-byte (PS3.5 8.1.1).
    array = np.random.default_rng(7).integers(0, 2, (frames, 5, 7)).astype(np.uint8)
    ds = base()
    ds.set_pixel_data(array if frames > 1 else array[0], bits_allocated=1)
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (1, 1, 0)
    assert ds["PixelData"].vr == dcf.VR.OB
    assert len(ds["PixelData"].value) == (35 * frames + 7) // 8
    back, oracle = round_trip(ds, tmp_path)
    np.testing.assert_array_equal(back.pixel_array, array)
    np.testing.assert_array_equal(oracle, array)
    reference = dcf.read(TESTDATA / "bits1_3frames.dcm")
    ds.set_pixel_data(reference.pixel_array, bits_allocated=1)
    assert bytes(ds["PixelData"].value) == bytes(reference["PixelData"].value)


def test_one_bit_values_must_be_0_or_1() -> None:
    with pytest.raises(ValueError, match=r"0\.\.1"):
        base().set_pixel_data(np.full((4, 4), 2, np.uint8), bits_allocated=1)


@pytest.mark.parametrize(
    ("array", "options", "message"),
    [
        (np.zeros((4, 4, 3), np.float32), {}, "monochrome"),
        (np.zeros((4, 4, 4), np.uint8), {}, "photometric_interpretation"),
        (np.zeros((4,), np.uint8), {}, "2-D to 4-D"),
        (np.zeros((4, 4), np.complex64), {}, "cannot be stored"),
        (np.zeros((4, 4), np.float16), {}, "float32 or float64"),
        (np.zeros((4, 6, 3), np.uint8), {"photometric_interpretation": "YBR_FULL_422"}, "YBR"),
    ],
    ids=["float-rgb", "4-samples", "1-d", "complex", "float16", "ybr-422"],
)
def test_arrays_that_cannot_be_stored(array: Array, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        base().set_pixel_data(array, **options)


# -- from frames ----------------------------------------------------------------------------------
def test_from_native_frames(tmp_path: Path) -> None:
    source = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    frames = list(source.pixel_data)
    assert all(isinstance(f, NativeFrame) for f in frames)
    ds = base()
    ds.set_pixel_data(frames[1:4])
    assert int(ds.NumberOfFrames) == 3
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, 12, 11)
    back, oracle = round_trip(ds, tmp_path)
    np.testing.assert_array_equal(back.pixel_array, source.pixel_array[1:4])
    np.testing.assert_array_equal(oracle, source.pixel_array[1:4])


def test_from_planar_native_frames_stores_them_interleaved(tmp_path: Path) -> None:
    source = dcf.read(TESTDATA / "rgb_planar1.dcm")
    ds = base()
    ds.set_pixel_data(list(source.pixel_data))
    assert ds.PlanarConfiguration == 0
    back, oracle = round_trip(ds, tmp_path)
    expected = dcf.read(TESTDATA / "rgb_planar0.dcm")
    np.testing.assert_array_equal(back.pixel_array, expected.pixel_array)
    np.testing.assert_array_equal(oracle, expected.pixel_array)
    assert bytes(back["PixelData"].value) == bytes(expected["PixelData"].value)


def test_from_encapsulated_frames_keeps_their_bytes_and_syntax(tmp_path: Path) -> None:
    source = dcf.read(TESTDATA / "rle_multiframe.dcm")
    frames = list(source.pixel_data)
    assert all(isinstance(f, EncapsulatedFrame) for f in frames)
    ds = base()
    ds.set_pixel_data(frames[::2])  # frames 0, 2, 4
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.keyword == "RLELossless"
    assert int(ds.NumberOfFrames) == 3
    assert ds["PixelData"].vr == dcf.VR.OB
    assert [bytes(f.data) for f in ds.pixel_data] == [bytes(f.data) for f in frames[::2]]
    back, oracle = round_trip(ds, tmp_path)
    np.testing.assert_array_equal(back.pixel_array, source.pixel_array[::2])
    np.testing.assert_array_equal(oracle, source.pixel_array[::2])


def test_native_frames_encoded_on_request(tmp_path: Path) -> None:
    source = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    ds = base()
    ds.set_pixel_data(list(source.pixel_data), "JPEGLSLossless")
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.keyword == "JPEGLSLossless"
    assert ds["PixelData"].undefined_length
    back, oracle = round_trip(ds, tmp_path)
    np.testing.assert_array_equal(back.pixel_array, source.pixel_array)
    np.testing.assert_array_equal(oracle, source.pixel_array)


def test_frames_must_agree() -> None:
    one = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm").pixel_data[0]
    other = dcf.read(TESTDATA / "ct_explicit_le.dcm").pixel_data[0]
    assert isinstance(one, NativeFrame)
    assert isinstance(other, NativeFrame)
    with pytest.raises(ValueError, match="same size"):
        base().set_pixel_data([one, other])
    with pytest.raises(ValueError, match="no frames"):
        base().set_pixel_data([])


# -- what is updated and what is removed ----------------------------------------------------------
def test_stale_attributes_are_replaced_or_removed(tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / "rle_multiframe.dcm")  # 5 frames, 16-bit, RLE
    ds.set("SmallestImagePixelValue", 0)
    ds.set("LargestImagePixelValue", 4095)
    ds.set("PlanarConfiguration", 1)
    rgb = values("uint8", (20, 30, 3))
    ds.set_pixel_data(rgb)
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.keyword == "ExplicitVRLittleEndian"  # native pixels: native syntax
    assert ds.meta is not None
    assert ds.meta["TransferSyntaxUID"].value == "1.2.840.10008.1.2.1"
    assert (ds.Rows, ds.Columns, ds.SamplesPerPixel) == (20, 30, 3)
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (8, 8, 7, 0)
    assert ds.PhotometricInterpretation == "RGB"
    assert ds.PlanarConfiguration == 0
    assert int(ds.NumberOfFrames) == 1  # kept, and true
    for stale in ("SmallestImagePixelValue", "LargestImagePixelValue"):
        assert stale not in ds
    assert not ds["PixelData"].undefined_length
    assert ds["PixelData"].vr == dcf.VR.OB
    back, oracle = round_trip(ds, tmp_path)
    np.testing.assert_array_equal(back.pixel_array[0], rgb)
    np.testing.assert_array_equal(oracle[0], rgb)


def test_offset_tables_are_removed_with_native_pixels(tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    ds.set_pixel_data(list(ds.pixel_data), "RLELossless", offset_table="extended")
    assert "ExtendedOffsetTable" in ds
    ds.set_pixel_data(np.zeros((2, 8, 8), np.uint16))
    assert "ExtendedOffsetTable" not in ds
    assert "ExtendedOffsetTableLengths" not in ds
    assert "PlanarConfiguration" not in ds
    back, _ = round_trip(ds, tmp_path)
    assert back.pixel_array.shape == (2, 8, 8)


def test_float_replaces_integer_pixels_and_back(tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    floats = values("float32", (16, 16))
    ds.set_pixel_data(floats)
    assert "PixelData" not in ds
    assert ds["FloatPixelData"].vr == dcf.VR.OF
    for absent in ("BitsStored", "HighBit", "PixelRepresentation"):
        assert absent not in ds
    back, oracle = round_trip(ds, tmp_path)
    np.testing.assert_array_equal(back.pixel_array[0], floats)
    np.testing.assert_array_equal(oracle[0], floats)
    integers = values("int16", (16, 16))
    ds.set_pixel_data(integers)
    assert "FloatPixelData" not in ds
    assert (ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 15, 1)
    back, oracle = round_trip(ds, tmp_path)
    np.testing.assert_array_equal(back.pixel_array[0], integers)
    np.testing.assert_array_equal(oracle[0], integers)


@pytest.mark.parametrize("syntax", ["ExplicitVRBigEndian", "ImplicitVRLittleEndian"])
@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint32", "float64"])
def test_native_syntax_of_the_dataset_is_kept(syntax: str, dtype: str, tmp_path: Path) -> None:
    ds = dcf.transcode(dcf.read(TESTDATA / "ct_explicit_le.dcm"), syntax)
    array = values(dtype, (2, 6, 5))
    ds.set_pixel_data(array)
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.keyword == syntax
    back, oracle = round_trip(ds, tmp_path)
    np.testing.assert_array_equal(back.pixel_array, array)
    np.testing.assert_array_equal(oracle, array)


# -- encoding on every core (the many-frame encoder the face wires into the core) ---------------
@pytest.mark.parametrize("parallel", ["serial", "threads", "processes"])
def test_frames_are_encoded_on_every_core(parallel: str) -> None:
    from dicomframe.codecs import rle
    from dicomframe.parallel import ParallelReport, can_fork
    from dicomframe.plugins import CodecManager

    if parallel == "processes" and not can_fork():
        pytest.skip("needs os.fork")
    manager = CodecManager(entry_points=False)
    manager.register(rle, "rle")
    array = values("int16", (6, 16, 12))
    ds = base()
    report = ParallelReport()
    ds.set_pixel_data(array, "RLELossless", codecs=manager, workers=2, parallel=parallel,
                      report=report)  # fmt: skip
    assert report.mode == parallel
    assert report.steps == {"encode": "pylibjpeg-rle"}  # set_pixel_data does not verify
    if parallel == "processes":  # one forked worker; this process is the other
        assert len(report.processes) == 1
    if parallel == "threads":
        assert report.threads
    np.testing.assert_array_equal(ds.pixel_array, array)
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.keyword == "RLELossless"


def test_encapsulated_frames_in_another_syntax_are_decoded_and_encoded_at_once() -> None:
    from dicomframe.parallel import ParallelReport

    source = dcf.read(TESTDATA / "rle_multiframe.dcm")
    ds = base()
    report = ParallelReport()
    ds.set_pixel_data(list(source.pixel_data), "JPEGLSLossless", workers=2, parallel="threads",
                      report=report)  # fmt: skip
    assert set(report.steps) == {"decode", "encode"}
    assert report.mode == "threads"
    np.testing.assert_array_equal(ds.pixel_array, source.pixel_array)


def test_a_registry_that_is_not_a_manager_encodes_one_frame_at_a_time() -> None:
    from dicomframe.plugins.manager import default_manager

    class Registry:
        """Only the protocol the core asks for."""

        def __init__(self) -> None:
            self.encoded = 0

        def decode(self, frame: Any, /, **options: Any) -> Any:
            return default_manager().decode(frame, **options)

        def encode(self, frame: Any, syntax: Any, /, **options: Any) -> Any:
            self.encoded += 1
            return default_manager().encode(frame, syntax, **options)

    registry = Registry()
    array = values("uint16", (3, 8, 8))
    ds = base()
    ds.set_pixel_data(array, "RLELossless", codecs=registry)
    assert registry.encoded == 3
    np.testing.assert_array_equal(ds.pixel_array, array)
