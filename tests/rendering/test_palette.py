"""Palettes against pydicom 3's apply_color_lut: apply_palette, and get_image's display.

apply_palette is compared exactly, dtype included; get_image after 8-bit scaling
(``rint(v * 255 / (2**bits - 1))``). Where pydicom departs from PS3.3 the standard is
followed and the test says so: big endian plain LUT Data (pydicom reads the words
little endian), 8-bit segmented data in big endian (OW byte pairs are swapped back
first), indices past an 8-bit table (pydicom's uint8 index wraps around).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.pixels.processing import (
    apply_color_lut,
)
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

import dicomframe as dcf
from dicomframe import rendering
from dicomframe.errors import InvalidDicomError
from dicomframe.imaging import get_image
from tests.reference import pydicom_data_file, pydicom_files
from tests.rendering.common import (
    SYNTAXES,
    both,
    make_file,
    pixels,
    scaled,
)

PALETTES = sorted((Path(pydicom.__file__).parent / "data" / "palettes").glob("*.dcm"))


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
    expected = apply_color_lut(ramp, py)
    np.testing.assert_array_equal(rendering.render_palette(ramp, *luts), expected)
    out = rendering.apply_palette(ramp, dcf.read(path))
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)


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


# -- apply_palette: the tables' own values -------------------------------------------------------
PALETTE_FILES = [
    "OT-PAL-8-face.dcm",  # no file meta: Implicit VR Little Endian
    "examples_palette.dcm",  # 16-bit entries, 8-bit indices
    "gdcm-US-ALOKA-16.dcm",  # segmented, 16-bit, 65536 entries, 16-bit indices
    "gdcm-US-ALOKA-16_big.dcm",  # the same in big endian
    "OBXXXX1A.dcm",
    "OBXXXX1A_rle.dcm",
    "OBXXXX1A_2frame.dcm",  # a stack: (frames, rows, columns, 3)
]


def palette_pair(name: str) -> tuple[Any, dcf.Dataset, np.ndarray]:
    """pydicom's dataset, ours, and our indices (one frame as (rows, columns))."""
    path = next((p for p in pydicom_files() if p.name == name), None) or pydicom_data_file(name)
    ds = dcf.read(path, force=True)
    indices = ds.pixel_array
    py = pydicom.dcmread(path, force=True)
    if "TransferSyntaxUID" not in py.file_meta:  # what dicomframe found: pydicom must be told
        assert ds.transfer_syntax is not None
        py.file_meta.TransferSyntaxUID = pydicom.uid.UID(ds.transfer_syntax.uid)
    np.testing.assert_array_equal(indices, py.pixel_array.reshape(indices.shape))
    return py, ds, indices[0] if indices.shape[0] == 1 else indices


@pytest.mark.parametrize("name", PALETTE_FILES)
def test_apply_palette_matches_pydicom(name: str) -> None:
    py, ds, indices = palette_pair(name)
    expected = apply_color_lut(py.pixel_array, py)
    out = rendering.apply_palette(indices, ds)
    assert out.dtype == expected.dtype
    assert out.shape == (*indices.shape, 3)
    np.testing.assert_array_equal(out, expected)


def test_apply_palette_frame_by_frame() -> None:
    _, ds, indices = palette_pair("OBXXXX1A_2frame.dcm")
    whole = rendering.apply_palette(indices, ds)
    for i in range(2):
        np.testing.assert_array_equal(whole[i], rendering.apply_palette(indices[i], ds))


def test_big_endian_plain_palette_follows_the_standard() -> None:
    # OW words are big endian in this file (PS3.5 7.3); pydicom reads them little endian.
    py_be, ds_be, indices = palette_pair("OBXXXX1A_expb.dcm")
    py_le, _, _ = palette_pair("OBXXXX1A.dcm")
    out = rendering.apply_palette(indices, ds_be)
    np.testing.assert_array_equal(out, apply_color_lut(py_le.pixel_array, py_le))
    assert not np.array_equal(out, apply_color_lut(py_be.pixel_array, py_be))


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("first", [0, 3])
def test_alpha_palette_matches_pydicom(bits: int, first: int) -> None:
    arr = (np.arange(120, dtype=np.uint8) % 70).reshape(10, 12)
    dtype = np.uint8 if bits == 8 else np.uint16
    top = 2**bits - 1
    attrs: dict[str, Any] = {"PhotometricInterpretation": "PALETTE COLOR"}
    for n, color in enumerate(("Red", "Green", "Blue", "Alpha")):
        table = (np.arange(64) * (n + 1) * 37 % (top + 1)).astype(dtype)
        if color != "Alpha":
            attrs[f"{color}PaletteColorLookupTableDescriptor"] = [64, first, bits]
        attrs[f"{color}PaletteColorLookupTableData"] = table.tobytes()
    py, ds = both(make_file(arr, **attrs))
    expected = apply_color_lut(arr, py)
    out = rendering.apply_palette(arr, ds)
    assert out.shape == (10, 12, 4)
    assert out.dtype == expected.dtype == dtype
    np.testing.assert_array_equal(out, expected)


def test_indices_past_an_8_bit_table_take_its_last_entry() -> None:
    # PS3.3 C.7.6.3.1.5: indices past the table map to its last entry (pydicom wraps).
    arr = np.array([[0, 2, 255, 256, 1000, 65535]], dtype=np.uint16)
    table = np.arange(10, 266, dtype=np.uint16).astype(np.uint8)  # 256 entries, 8 bits
    attrs: dict[str, Any] = {"PhotometricInterpretation": "PALETTE COLOR"}
    for color in ("Red", "Green", "Blue"):
        attrs[f"{color}PaletteColorLookupTableDescriptor"] = [256, 0, 8]
        attrs[f"{color}PaletteColorLookupTableData"] = table.tobytes()
    py, ds = both(make_file(arr, **attrs))
    out = rendering.apply_palette(arr, ds)
    assert out[0, :, 0].tolist() == [10, 12, 9, 9, 9, 9]  # 265 % 256 = 9, the last entry
    assert apply_color_lut(arr, py)[0, 3, 0] != 9


def test_supplemental_palettes_are_refused() -> None:
    py, ds, indices = palette_pair("eCT_Supplemental.dcm")
    with pytest.raises(ValueError, match="Supplemental"):  # pydicom refuses it too
        apply_color_lut(py.pixel_array, py)
    with pytest.raises(ValueError, match="Pixel Presentation COLOR: a Supplemental"):
        rendering.apply_palette(indices, ds)


def test_missing_palette_is_named() -> None:
    arr = np.zeros((4, 4), dtype=np.uint8)
    _, ds = both(make_file(arr))
    with pytest.raises(InvalidDicomError, match=r"\(0028,1101\).*missing"):
        rendering.apply_palette(arr, ds)
