"""Rendering (Modality LUT, VOI, MONOCHROME1, palettes) checked against pydicom 3.

Tolerances: every comparison with pydicom is exact, after the same 8-bit scaling pydicom's
output would need (windows: pydicom with an 8-bit output range, rounded with ``np.rint``;
LUTs: ``rint(v * 255 / (2**bits - 1))``). The one exception is YBR_FULL -> RGB, where
dicomframe.color uses exact rational arithmetic and pydicom float32: +-1 (28 of the 2**24
8-bit inputs differ). Indirect segments of 16-bit segmented LUTs follow PS3.3 C.7.9.2.3
(a byte offset), where pydicom reads an entry index: those are checked by hand.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe import rendering
from dicomframe.errors import InvalidDicomError
from dicomframe.imaging import get_image
from tests.reference import REFUSED, TESTDATA, pydicom_files

pydicom = pytest.importorskip("pydicom")
from pydicom.dataset import Dataset as PyDataset  # noqa: E402
from pydicom.dataset import FileMetaDataset  # noqa: E402
from pydicom.pixels.processing import (  # noqa: E402
    _expand_segmented_lut,
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    apply_windowing,
    convert_color_space,
)
from pydicom.uid import (  # noqa: E402
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]
PALETTES = sorted((Path(pydicom.__file__).parent / "data" / "palettes").glob("*.dcm"))


# -- helpers ---------------------------------------------------------------------------------
def make_file(arr: np.ndarray, syntax: str = ExplicitVRLittleEndian, **attrs: Any) -> bytes:
    """A Secondary Capture file written by pydicom (the oracle), 1 sample per pixel."""
    ds = PyDataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    ds.file_meta.MediaStorageSOPInstanceUID = UID("1.2.826.0.1.3680043.10.1234.99")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.BitsAllocated = ds.BitsStored = arr.dtype.itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(arr.dtype.kind == "i")
    ds.PhotometricInterpretation = "MONOCHROME2"
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    order: Literal["<", ">"] = ">" if syntax == ExplicitVRBigEndian else "<"
    ds.PixelData = arr.astype(arr.dtype.newbyteorder(order)).tobytes()
    if arr.dtype.itemsize > 1:
        ds["PixelData"].VR = "OW"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def frame_at(ds: dcf.Dataset, index: int = 0) -> dcf.NativeFrame:
    frame = ds.pixel_data[index]
    assert isinstance(frame, dcf.NativeFrame)
    return frame


def pixels(ds: dcf.Dataset, index: int = 0) -> np.ndarray:
    return frame_at(ds, index).array


def both(data: bytes) -> tuple[Any, dcf.Dataset]:
    return pydicom.dcmread(io.BytesIO(data)), dcf.read(data)


def lut_item(descriptor: list[int], data: list[int] | bytes, *, vr: str = "US") -> PyDataset:
    item = PyDataset()
    item.LUTDescriptor = descriptor
    item["LUTDescriptor"].VR = "SS" if descriptor[1] < 0 else "US"
    item.LUTData = data
    item["LUTData"].VR = vr
    return item


def window_oracle(values: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """pydicom's apply_windowing with an 8-bit output range (0..255), rounded like ours."""
    ds = PyDataset()
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsStored = 8
    ds.PixelRepresentation = 0
    ds.WindowCenter = center
    ds.WindowWidth = width
    ds.VOILUTFunction = function
    with np.errstate(over="ignore"):
        y = apply_windowing(values, ds)
    out: np.ndarray = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return out


def scaled(values: np.ndarray, bits: int) -> np.ndarray:
    out: np.ndarray = np.rint(values.astype(np.float64) * 255 / (2**bits - 1)).astype(np.uint8)
    return out


def usable(path: Path) -> bool:
    """A native, single-sample monochrome file that both pydicom and dicomframe read."""
    if path.name in REFUSED:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcf.read(path)
            info = ds.pixel_data.info
    except (dcf.DicomError, KeyError, ValueError):
        return False
    return (
        not ds.pixel_data.is_encapsulated
        and info.samples_per_pixel == 1
        and info.photometric_interpretation in ("MONOCHROME1", "MONOCHROME2")
        and info.pixel_keyword == "PixelData"
    )


def oracle_files() -> list[Path]:
    files = [
        *pydicom_files(),
        *sorted(TESTDATA.glob("ct_*.dcm")),
        TESTDATA / "no_meta_implicit.dcm",
    ]
    return [p for p in files if usable(p)]


FILES = oracle_files()


def windows(ds: dcf.Dataset) -> list[tuple[float, float]]:
    centers, widths = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centers is None or widths is None:
        return []
    centers = centers if isinstance(centers, list) else [centers]
    widths = widths if isinstance(widths, list) else [widths]
    return [(float(c), float(w)) for c, w in zip(centers, widths, strict=False)]


WINDOWED = [(p, i) for p in FILES for i in range(len(windows(dcf.read(p))))]


def first_frame(path: Path) -> tuple[Any, dcf.Dataset, np.ndarray]:
    with warnings.catch_warnings():  # e.g. MR_small_padded.dcm: pydicom warns of the padding
        warnings.simplefilter("ignore")
        py = pydicom.dcmread(path, force=True)
        arr = py.pixel_array
    if int(py.get("NumberOfFrames") or 1) > 1:
        arr = arr[0]
    return py, dcf.read(path), arr


# -- LUT descriptors and data ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "signed", "expected"),
    [
        ([0, 0, 16], False, (65536, 0, 16)),
        ([256, 65535, 8], True, (256, -1, 8)),
        ([256, 65535, 8], False, (256, 65535, 8)),
        ([256, -1, 8], True, (256, -1, 8)),
        ([-32768, -32768, 16], True, (32768, -32768, 16)),
        ([4096, 32768, 12], False, (4096, 32768, 12)),
    ],
)
def test_lut_descriptor(values: list[int], signed: bool, expected: Any) -> None:
    assert rendering.lut_descriptor(values, signed=signed) == expected


def test_lut_descriptor_needs_three_values() -> None:
    with pytest.raises(ValueError, match="3 values"):
        rendering.lut_descriptor([256, 0], signed=False)


@pytest.mark.parametrize(
    ("data", "count", "little_endian", "expected"),
    [
        ([1, 2, 65535], 3, True, [1, 2, 65535]),
        (7, 1, True, [7]),
        (b"\x01\x00\x00\x01\xff\xff", 3, True, [1, 256, 65535]),
        (b"\x00\x01\x01\x00\xff\xff", 3, False, [1, 256, 65535]),
        (b"\x01\x02\x03\x04", 4, True, [1, 2, 3, 4]),  # 8 bits allocated: a byte an entry
        (b"\x02\x01\x04\x03", 4, False, [1, 2, 3, 4]),  # big endian OW swaps byte pairs
        (b"\x01\x02\x03\x00", 3, True, [1, 2, 3]),  # odd count, padded
        (b"\x01\x02\x03\x04\x05\x06\x07\x08", 3, True, [0x0201, 0x0403, 0x0605]),
    ],
)
def test_lut_entries(data: Any, count: int, little_endian: bool, expected: Any) -> None:
    entries = rendering.lut_entries(data, count, little_endian=little_endian)
    assert entries.tolist() == expected


@pytest.mark.parametrize(("data", "count"), [([1, 2], 3), (b"\x01\x02", 3)])
def test_lut_entries_too_short(data: Any, count: int) -> None:
    with pytest.raises(ValueError, match="the descriptor says 3"):
        rendering.lut_entries(data, count)


def test_lut_apply_clips_and_floors() -> None:
    lut = rendering.LUT(np.array([10, 20, 30], np.uint16), -1, 16)
    assert lut.apply(np.array([-5, -1, 0, 1, 2, 99])).tolist() == [10, 10, 20, 30, 30, 30]
    assert lut.apply(np.array([-1.5, -0.5, 0.99, np.nan, np.inf])).tolist() == [10, 10, 20, 10, 30]
    assert lut.apply(np.array([1], np.uint16)).dtype == np.uint16


# -- windows -----------------------------------------------------------------------------------
VALUES = np.concatenate([np.linspace(-2100, 2100, 8401), np.arange(-300, 300, 0.25)])
WINDOWS = [(0.5, 1), (40, 400), (100, 2), (127.5, 255.3), (-1000, 50), (600, 1600), (3, 1.5)]


@pytest.mark.parametrize("function", rendering.VOI_FUNCTIONS)
@pytest.mark.parametrize(("center", "width"), WINDOWS)
def test_window_matches_pydicom(function: str, center: float, width: float) -> None:
    ours = rendering.window(VALUES, center, width, function=function)
    np.testing.assert_array_equal(
        rendering.to_display(ours), window_oracle(VALUES, center, width, function)
    )
    assert ours.min() >= 0
    assert ours.max() <= 255


def test_window_linear_formula_by_hand() -> None:
    # PS3.3 C.11.2.1.2.1 with c = 40, w = 400: x <= -160 -> 0; x > 239 -> 255.
    y = rendering.window(np.array([-160.0, -159.0, 39.5, 239.0, 239.5]), 40, 400)
    expected = [
        0.0,
        (-159 - 39.5) / 399 * 255 + 127.5,
        127.5,
        (239 - 39.5) / 399 * 255 + 127.5,
        255,
    ]
    np.testing.assert_allclose(y, expected)


@pytest.mark.parametrize(
    ("function", "width", "message"),
    [
        ("LINEAR", 0.5, "at least 1"),
        ("LINEAR_EXACT", 0, "above 0"),
        ("SIGMOID", -1, "above 0"),
        ("GAMMA", 10, "not one of"),
    ],
)
def test_window_errors(function: str, width: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rendering.window(VALUES, 0, width, function=function)


def test_window_function_is_case_insensitive() -> None:
    a = rendering.window(VALUES, 40, 400, function=" linear_exact ")
    np.testing.assert_array_equal(a, rendering.window(VALUES, 40, 400, function="LINEAR_EXACT"))


def test_stretch_to_display_and_scaling() -> None:
    np.testing.assert_array_equal(rendering.stretch(np.array([5, 5]), 5, 5), [0, 0])
    np.testing.assert_array_equal(
        rendering.stretch(np.array([0, 5, 10, 20]), 0, 10), [0, 127.5, 255, 255]
    )
    assert rendering.to_display(np.array([np.nan, 0.5, 1.5, 300, -3])).tolist() == [0, 0, 2, 255, 0]
    assert rendering.to_display(np.array([0.0, 255.0]), invert=True).tolist() == [255, 0]
    assert rendering.scale_to_8bit(np.array([0, 32768, 65535]), 16).tolist() == [0, 128, 255]
    assert rendering.scale_to_8bit(np.array([0, 2048, 4095]), 12).tolist() == [0, 128, 255]
    ramp = np.arange(256, dtype=np.uint8)
    assert rendering.scale_to_8bit(ramp, 8) is ramp


def test_render_gray_paths() -> None:
    values = np.array([[0.0, 50.0], [100.0, np.nan]])
    assert rendering.render_gray(values, None).tolist() == [[0, 128], [255, 0]]
    assert rendering.render_gray(values, None, invert=True).tolist() == [[255, 127], [0, 255]]
    lut = rendering.LUT(np.array([0, 4095], np.uint16), 50, 12)
    assert rendering.render_gray(values, lut).tolist() == [[0, 0], [255, 0]]
    assert rendering.render_gray(values, (50, 1, "LINEAR"), invert=True).tolist() == [
        [255, 0],
        [0, 255],
    ]


# -- segmented LUTs ------------------------------------------------------------------------------
SEGMENTED = {
    "discrete": ([0, 3, 10, 20, 5], 8),
    "linear-up": ([0, 1, 0, 1, 255, 255], 8),
    "linear-down": ([0, 1, 200, 1, 7, 3], 8),
    "linear-flat": ([0, 2, 9, 9, 1, 4, 9], 8),
    "indirect-8bit": ([0, 2, 1, 2, 1, 3, 50, 2, 2, 0, 0, 0, 0], 8),
    "indirect-8bit-offset": ([0, 1, 5, 0, 2, 6, 7, 1, 2, 9, 2, 1, 3, 0, 0, 0, 0], 8),
    "16bit": ([0, 2, 1000, 65535, 1, 100, 0, 1, 3, 40000], 16),
    "indirect-16bit-at-0": ([0, 1, 300, 1, 4, 900, 2, 2, 0, 0], 16),
    "trailing-pad": ([0, 1, 42, 1, 2, 44, 0], 8),
}


@pytest.mark.parametrize("name", SEGMENTED)
def test_segmented_lut_matches_pydicom(name: str) -> None:
    data, bits = SEGMENTED[name]
    fmt = f"<{len(data)}{'B' if bits == 8 else 'H'}"
    expected = _expand_segmented_lut(tuple(data), fmt)
    ours = rendering.expand_segmented_lut(data, bits)
    assert ours.tolist() == expected
    assert ours.dtype == (np.uint8 if bits == 8 else np.uint16)


def test_segmented_indirect_16bit_offset_is_in_bytes() -> None:
    # discrete [10, 20]; linear to 50 in 3; discrete [0]; indirect: 1 segment at byte 8 = entry 4,
    # the linear segment, re-expanded from the last value 0 (PS3.3 C.7.9.2.3).
    data = [0, 2, 10, 20, 1, 3, 50, 0, 1, 0, 2, 1, 8, 0]
    expected = [10, 20, 30, 40, 50, 0, 17, 33, 50]
    assert rendering.expand_segmented_lut(data, 16).tolist() == expected
    # pydicom 3.0 reads the offset as an entry index: it re-expands from entry 8 and fails.
    with pytest.raises(ValueError, match="first segment cannot be a linear"):
        _expand_segmented_lut(tuple(data), f"<{len(data)}H")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2, 5], "linear segment cannot come first"),
        ([2, 1, 0, 0], "indirect segment cannot come first"),
        ([0, 1, 5, 3, 1, 1], "unknown segment type 3"),
        ([0, 1, 5, 2, 1, 3, 0, 0, 0, 2, 1, 0, 0, 0, 0], "nest"),
    ],
)
def test_segmented_lut_errors(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rendering.expand_segmented_lut(data, 8)


def test_segmented_entries_byte_order() -> None:
    raw = bytes([0, 2, 7, 9])
    assert rendering.segmented_entries(raw, 8).tolist() == [0, 2, 7, 9]
    assert rendering.segmented_entries(bytes([2, 0, 9, 7]), 8, little_endian=False).tolist() == [
        0,
        2,
        7,
        9,
    ]
    assert rendering.segmented_entries(raw, 16).tolist() == [0x0200, 0x0907]
    assert rendering.segmented_entries(raw, 16, little_endian=False).tolist() == [0x0002, 0x0709]


# -- Modality LUT on files -----------------------------------------------------------------------
RESCALED = [p for p in FILES if "RescaleSlope" in dcf.read(p) or "RescaleIntercept" in dcf.read(p)]


@pytest.mark.parametrize("path", RESCALED, ids=lambda p: p.name)
def test_rescale_matches_pydicom(path: Path) -> None:
    py, ds, arr = first_frame(path)
    signed = ds.pixel_data.info.pixel_representation == 1
    ours = rendering.read_modality(ds, pixels(ds, 0), signed=signed)
    np.testing.assert_array_equal(ours, apply_modality_lut(arr, py))
    assert ours.dtype == np.float64


def test_ct_explicit_le_rescale_values() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    stored = pixels(ds, 0)
    ours = rendering.read_modality(ds, stored, signed=True)
    np.testing.assert_array_equal(ours, stored * 1.25 - 1024)


MODALITY_LUTS = {
    "16bit-signed-first": ([100, -50, 16], list(range(1000, 1100))),
    "8bit": ([256, 0, 8], [255 - i for i in range(256)]),
}


@pytest.mark.parametrize("syntax", SYNTAXES, ids=lambda s: s.keyword)
@pytest.mark.parametrize("name", MODALITY_LUTS)
def test_modality_lut_sequence_matches_pydicom(syntax: str, name: str) -> None:
    descriptor, table = MODALITY_LUTS[name]
    arr = np.arange(-60, 340, dtype=np.int16).reshape(20, 20)
    if descriptor[1] >= 0:
        arr = np.abs(arr).astype(np.uint16)
    data = make_file(arr, syntax, ModalityLUTSequence=[lut_item(descriptor, table)])
    py, ds = both(data)
    signed = arr.dtype.kind == "i"
    ours = rendering.read_modality(ds, pixels(ds, 0), signed=signed)
    np.testing.assert_array_equal(ours, apply_modality_lut(py.pixel_array, py))
    # and through get_image, with a window on the LUT output
    image = get_image(ds, window=(500, 600))
    np.testing.assert_array_equal(np.asarray(image), window_oracle(ours, 500, 600, "LINEAR"))


def test_modality_lut_12_bit_by_hand() -> None:
    # pydicom 3.0 cannot apply a 12-bit Modality LUT (it asks numpy for a "uint12" dtype).
    arr = np.arange(400, dtype=np.uint16).reshape(20, 20)
    table = [i * 40 for i in range(100)]
    _, ds = both(make_file(arr, ModalityLUTSequence=[lut_item([100, 10, 12], table)]))
    ours = rendering.read_modality(ds, arr, signed=False)
    np.testing.assert_array_equal(ours, np.asarray(table)[np.clip(arr.astype(int) - 10, 0, 99)])
    image = get_image(ds, display=True)  # no window: the LUT output's own range
    np.testing.assert_array_equal(np.asarray(image), rendering.to_display(ours / 3960 * 255))


@pytest.mark.parametrize("syntax", SYNTAXES, ids=lambda s: s.keyword)
def test_modality_lut_ow_data(syntax: str) -> None:
    arr = np.arange(64, dtype=np.uint16).reshape(8, 8)
    order = ">" if syntax == ExplicitVRBigEndian else "<"
    table = np.arange(64, dtype=np.uint16) * 1000
    item = lut_item([64, 0, 16], table.astype(f"{order}u2").tobytes(), vr="OW")
    py, ds = both(make_file(arr, syntax, ModalityLUTSequence=[item]))
    ours = rendering.read_modality(ds, arr, signed=False)
    np.testing.assert_array_equal(ours, apply_modality_lut(py.pixel_array, py))


# -- VOI on files --------------------------------------------------------------------------------
@pytest.mark.parametrize("function", [None, *rendering.VOI_FUNCTIONS])
@pytest.mark.parametrize(("path", "index"), WINDOWED, ids=lambda x: getattr(x, "name", str(x)))
def test_dataset_window_matches_pydicom(path: Path, index: int, function: str | None) -> None:
    py, ds, arr = first_frame(path)
    center, width = windows(ds)[index]
    name = function or str(ds.get(0x00281056) or "LINEAR")
    expected = window_oracle(apply_modality_lut(arr, py), center, width, name)
    if ds.pixel_data.info.photometric_interpretation == "MONOCHROME1":
        expected = 255 - expected
    image = get_image(ds, voi=index, voi_function=function)
    assert image.mode == "L"
    assert image.size == (ds.Columns, ds.Rows)
    np.testing.assert_array_equal(np.asarray(image), expected)


def test_windowed_files_are_there() -> None:
    names = {p.name for p, _ in WINDOWED}
    assert {"MR_small.dcm", "ct_explicit_le.dcm", "ct_explicit_be.dcm"} <= names
    assert {i for p, i in WINDOWED if p.name == "ct_explicit_le.dcm"} == {0, 1}


def test_display_uses_the_first_window() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    first = np.asarray(get_image(ds, voi=0))
    np.testing.assert_array_equal(np.asarray(get_image(ds, display=True)), first)
    assert not np.array_equal(np.asarray(get_image(ds, voi=1)), first)


def test_monochrome1_is_inverted_after_the_voi() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    mono2 = [
        np.asarray(get_image(ds, voi=1)),
        np.asarray(get_image(ds, display=True, voi_function="SIGMOID")),
    ]
    ds.PhotometricInterpretation = "MONOCHROME1"
    mono1 = [
        np.asarray(get_image(ds, voi=1)),
        np.asarray(get_image(ds, display=True, voi_function="SIGMOID")),
    ]
    for a, b in zip(mono1, mono2, strict=True):
        np.testing.assert_array_equal(a, 255 - b)
    kept = np.asarray(get_image(ds))  # no rendering: the stored values, not inverted
    np.testing.assert_array_equal(kept, pixels(ds, 0))


VOI_LUTS: dict[str, tuple[list[int], list[int] | bytes, str]] = {
    "8bit": ([256, 0, 8], [255 - i for i in range(256)], "US"),
    "12bit": ([200, 20, 12], [i * 20 for i in range(200)], "US"),
    # 65536 US values pass explicit VR's 2-byte length: OW, as real files do
    "16bit-0-means-65536": ([0, 0, 16], np.arange(65535, -1, -1, dtype="<u2").tobytes(), "OW"),
}


@pytest.mark.parametrize("mono", ["MONOCHROME2", "MONOCHROME1"])
@pytest.mark.parametrize("name", VOI_LUTS)
def test_voi_lut_sequence_matches_pydicom(name: str, mono: str) -> None:
    descriptor, table, vr = VOI_LUTS[name]
    # Inputs stay below 256: pydicom 3.0.2 indexes an 8-bit LUT with uint8, so larger
    # inputs wrap around instead of taking the last entry (test_lut_inputs_past_the_end).
    arr = (np.arange(400, dtype=np.uint16).reshape(20, 20) * 7) % 256
    second = lut_item([2, 100, 16], [0, 65535])
    data = make_file(
        arr,
        PhotometricInterpretation=mono,
        VOILUTSequence=[lut_item(descriptor, table, vr=vr), second],
        WindowCenter=100,  # a VOI LUT wins over a window, as in pydicom's apply_voi_lut
        WindowWidth=50,
    )
    py, ds = both(data)
    for index, bits in ((0, descriptor[2]), (1, 16)):
        expected = scaled(apply_voi_lut(py.pixel_array, py, index), bits)
        if mono == "MONOCHROME1":
            expected = 255 - expected
        ours = get_image(ds, voi=index) if index else get_image(ds, display=True)
        np.testing.assert_array_equal(np.asarray(ours), expected)


def test_lut_inputs_past_the_end() -> None:
    # PS3.3 C.11.2.1.1: inputs past the table take its last entry, with 8-bit tables too.
    arr = np.array([[0, 254, 255, 256, 300, 65535]], dtype=np.uint16)
    table = [255 - i for i in range(256)]
    _, ds = both(make_file(arr, VOILUTSequence=[lut_item([256, 0, 8], table)]))
    assert np.asarray(get_image(ds, voi=0)).tolist() == [[255, 1, 0, 0, 0, 0]]
    palette = [rendering.LUT(np.arange(256, dtype=np.uint8), 0, 8)] * 3
    assert rendering.apply_palette(arr, *palette)[0, :, 0].tolist() == [0, 254, 255, 255, 255, 255]


def test_no_voi_uses_the_full_range() -> None:
    arr = np.array([[100, 200], [300, 1100]], dtype=np.uint16)
    _, ds = both(make_file(arr))
    assert np.asarray(get_image(ds, display=True)).tolist() == [[0, 26], [51, 255]]
    assert np.asarray(get_image(ds, voi=0)).tolist() == [[0, 26], [51, 255]]
    with pytest.raises(ValueError, match="voi=1: the dataset has 0 Window"):
        get_image(ds, voi=1)


def test_float_pixel_data_displays_over_its_range() -> None:
    ds = dcf.read(TESTDATA / "float_pixels.dcm")
    values = pixels(ds, 0)
    shown = np.asarray(get_image(ds, display=True))
    assert shown.dtype == np.uint8
    assert shown[values == values.min()].max() == 0
    assert shown[values == values.max()].min() == 255
    order = np.argsort(values, axis=None)
    assert np.all(np.diff(shown.reshape(-1)[order].astype(int)) >= 0)


# -- palettes ------------------------------------------------------------------------------------
def test_examples_palette_matches_pydicom() -> None:
    path = next(p for p in pydicom_files() if p.name == "examples_palette.dcm")
    py, ds = pydicom.dcmread(path), dcf.read(path)
    image = get_image(ds)
    assert image.mode == "RGB"
    expected = apply_color_lut(py.pixel_array, py)
    assert expected.dtype == np.uint16
    np.testing.assert_array_equal(np.asarray(image), scaled(expected, 16))


@pytest.mark.parametrize("path", PALETTES, ids=lambda p: p.stem)
def test_well_known_palettes_match_pydicom(path: Path) -> None:
    # The Color Palette IODs have no pixels: look a ramp up in them (plain and segmented, 8 bits).
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16)
    py = pydicom.dcmread(path)
    luts = rendering.read_palette(dcf.read(path), signed=False)
    assert [len(lut.entries) for lut in luts] == [256] * 3
    np.testing.assert_array_equal(rendering.apply_palette(ramp, *luts), apply_color_lut(ramp, py))


def palette_file(
    syntax: str, bits: int, segments: list[list[int]], first: int = 0, **extra: Any
) -> bytes:
    arr = (np.arange(300, dtype=np.uint16).reshape(15, 20) % 270).astype(
        np.uint8 if bits == 8 else np.uint16
    )
    order = ">" if syntax == ExplicitVRBigEndian else "<"
    attrs: dict[str, Any] = {"PhotometricInterpretation": "PALETTE COLOR", **extra}
    for color, data in zip(("Red", "Green", "Blue"), segments, strict=True):
        attrs[f"{color}PaletteColorLookupTableDescriptor"] = [256, first, bits]
        words = np.asarray(data, dtype=f"{order}u2" if bits == 16 else "u1")
        attrs[f"Segmented{color}PaletteColorLookupTableData"] = words.tobytes() + b"\0" * (
            words.nbytes % 2
        )
    return make_file(arr, syntax, **attrs)


SEGMENTS_16 = [
    [0, 1, 0, 1, 255, 65535],
    [0, 2, 65535, 0, 1, 254, 40000],
    [0, 1, 100, 1, 100, 30000, 2, 1, 0, 0, 1, 154, 65535],
]
SEGMENTS_8 = [
    [0, 1, 0, 1, 255, 255],
    [0, 2, 255, 0, 1, 254, 128],
    [0, 2, 10, 20, 1, 100, 200, 2, 1, 4, 0, 0, 0, 1, 54, 0],  # copies the linear segment
]


@pytest.mark.parametrize("first", [0, 5])
@pytest.mark.parametrize("syntax", SYNTAXES, ids=lambda s: s.keyword)
def test_segmented_palette_16bit_matches_pydicom(syntax: str, first: int) -> None:
    py, ds = both(palette_file(syntax, 16, SEGMENTS_16, first))
    expected = apply_color_lut(py.pixel_array, py)
    np.testing.assert_array_equal(np.asarray(get_image(ds)), scaled(expected, 16))


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian], ids=str)
def test_segmented_palette_8bit_matches_pydicom(syntax: str) -> None:
    # (Big endian 8-bit segments differ on purpose: OW byte pairs are swapped back first.)
    py, ds = both(palette_file(syntax, 8, SEGMENTS_8))
    np.testing.assert_array_equal(np.asarray(get_image(ds)), apply_color_lut(py.pixel_array, py))


def test_palette_indices_kept_with_palette_false() -> None:
    _, ds = both(palette_file(ExplicitVRLittleEndian, 8, SEGMENTS_8))
    image = get_image(ds, palette=False)
    assert image.mode == "L"
    np.testing.assert_array_equal(np.asarray(image), pixels(ds, 0))


def test_bad_palette_is_named() -> None:
    _, ds = both(palette_file(ExplicitVRLittleEndian, 8, [[1, 2, 3], [0, 1, 0], [0, 1, 0]]))
    with pytest.raises(InvalidDicomError, match=r"\(0028,1221\).*linear segment cannot come first"):
        get_image(ds)


# -- colour --------------------------------------------------------------------------------------
def test_ybr_full_422_displays_as_rgb() -> None:
    path = next(p for p in pydicom_files() if p.name == "SC_ybr_full_422_uncompressed.dcm")
    ds = dcf.read(path)
    ybr = pixels(ds, 0)
    raw = get_image(ds)
    assert raw.mode == "YCbCr"
    np.testing.assert_array_equal(np.asarray(raw), ybr)
    shown = np.asarray(get_image(ds, display=True))
    expected = convert_color_space(ybr, "YBR_FULL", "RGB")
    assert np.abs(shown.astype(int) - expected).max() <= 1


def test_render_color_scales_16_bit_rgb() -> None:
    rgb = np.array([[[0, 4095, 2048]]], dtype=np.uint16)
    assert rendering.render_color(rgb, "RGB", 12).tolist() == [[[0, 255, 128]]]
    with pytest.raises(ValueError, match="cannot render CMYK"):
        rendering.render_color(rgb, "CMYK", 12)


def test_segmented_lut_expansion_is_bounded() -> None:
    # Two linear segments of 65535 entries: past any LUT Descriptor's 65536.
    with pytest.raises(ValueError, match="expands past 65536 entries"):
        rendering.expand_segmented_lut([0, 1, 5, 1, 65535, 9, 1, 65535, 7], 16)
    # Zero-length segments add nothing, and indirect ones could repeat them without end.
    zero_length = [0, 0] * 100_000
    data = [0, 1, 5, *zero_length, *([2, 65535, 6, 0] * 10)]  # byte 6: the first empty one
    with pytest.raises(ValueError, match="or 262144 segments"):
        rendering.expand_segmented_lut(data, 16)


def test_segmented_lut_cut_short_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="a linear segment at entry 3 needs 1 values"):
        rendering.expand_segmented_lut([0, 1, 5, 1, 4], 16)
    with pytest.raises(ValueError, match="an indirect segment at entry 3 needs 2 values"):
        rendering.expand_segmented_lut([0, 1, 5, 2, 1, 0], 16)
    assert rendering.expand_segmented_lut([0, 1, 5, 1, 0, 9], 16).tolist() == [5]  # length 0


@pytest.mark.parametrize(
    ("center", "width", "function", "message"),
    [
        (float("nan"), 10.0, "LINEAR", "Window Center nan is not a finite number"),
        (0.0, float("inf"), "LINEAR", "must be above 0 (and finite)"),
        (0.0, float("nan"), "SIGMOID", "Window Width nan must be above 0"),
    ],
)
def test_window_refuses_what_it_cannot_draw(
    center: float, width: float, function: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        rendering.window(np.arange(4.0), center, width, function=function)
