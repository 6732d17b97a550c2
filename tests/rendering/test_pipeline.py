"""The pipeline's arithmetic (windows, stretch, 8-bit display, colour) against pydicom 3.

Tolerances: comparisons with pydicom are exact after the same 8-bit scaling pydicom's
output would need (windows: pydicom with an 8-bit output range, rounded with
``np.rint``). The one exception is YBR_FULL -> RGB, where dicomframe.color uses exact
rational arithmetic and pydicom float32: +-1 (28 of the 2**24 8-bit inputs differ).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from pydicom.pixels.processing import (
    convert_color_space,
)

import dicomframe as dcf
from dicomframe import rendering
from dicomframe.imaging import get_image
from tests.reference import pydicom_files
from tests.rendering.common import (
    pixels,
    window_oracle,
)

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
