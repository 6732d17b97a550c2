"""Palettes through get_image (8-bit display) against pydicom 3's apply_color_lut.

Exact after 8-bit scaling (``rint(v * 255 / (2**bits - 1))``); big endian 8-bit
segmented data differs on purpose (OW byte pairs are swapped back first).
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
from tests.reference import pydicom_files
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
    np.testing.assert_array_equal(rendering.render_palette(ramp, *luts), apply_color_lut(ramp, py))


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
