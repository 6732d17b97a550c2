"""dicomframe.color: the PS3.3 C.7.6.3.1.2 / T.871 conversions, exactly, and the 4:2:2 layout."""

from __future__ import annotations

from fractions import Fraction
from math import floor
from typing import Any

import numpy as np
import pytest

from dicomframe.color import rgb_to_ybr, subsample_422, upsample_422, ybr_to_rgb
from dicomframe.core.frame import NativeFrame
from dicomframe.core.frame_info import FrameInfo

Array = np.ndarray[Any, Any]


# -- an independent reference: the equations as written, in exact fractions ----------------
def _round_clamp(value: Fraction, bits: int) -> int:
    return min(max(floor(value + Fraction(1, 2)), 0), (1 << bits) - 1)


def _ref_rgb_to_ybr(r: int, g: int, b: int, bits: int, *, partial: bool) -> tuple[int, ...]:
    half = Fraction(1 << (bits - 1))
    y = Fraction("0.299") * r + Fraction("0.587") * g + Fraction("0.114") * b
    cb, cr = (b - y) / Fraction("1.772"), (r - y) / Fraction("1.402")
    if partial:  # BT.601 studio range, scaled to ``bits``
        top, step = (1 << bits) - 1, Fraction(1 << bits, 256)
        y, cb, cr = 16 * step + 219 * step * y / top, 224 * step * cb / top, 224 * step * cr / top
    return tuple(_round_clamp(v, bits) for v in (y, cb + half, cr + half))


def _ref_ybr_to_rgb(y: int, cb: int, cr: int, bits: int) -> tuple[int, ...]:
    half = 1 << (bits - 1)
    b_, r_ = cb - half, cr - half
    red = y + Fraction("1.402") * r_
    green = (
        y
        - Fraction("0.114") * Fraction("1.772") / Fraction("0.587") * b_
        - Fraction("0.299") * Fraction("1.402") / Fraction("0.587") * r_
    )
    blue = y + Fraction("1.772") * b_
    return tuple(_round_clamp(v, bits) for v in (red, green, blue))


def _ints(pixel: Array) -> tuple[int, int, int]:
    a, b, c = (int(v) for v in pixel)
    return a, b, c


def _sample(bits: int, count: int, seed: int) -> Array:
    dtype = np.uint8 if bits <= 8 else np.uint16
    return np.random.default_rng(seed).integers(0, 1 << bits, (count, 3)).astype(dtype)


@pytest.mark.parametrize("bits", [8, 12, 16])
@pytest.mark.parametrize("partial", [False, True])
def test_rgb_to_ybr_is_exact(bits: int, partial: bool) -> None:
    rgb = _sample(bits, 3000, bits)
    ours = rgb_to_ybr(rgb, partial=partial, bits=bits)
    expected = [_ref_rgb_to_ybr(*_ints(p), bits, partial=partial) for p in rgb]
    np.testing.assert_array_equal(ours, np.array(expected, dtype=rgb.dtype))


@pytest.mark.parametrize("bits", [8, 12, 16])
def test_ybr_to_rgb_is_exact(bits: int) -> None:
    ybr = _sample(bits, 3000, bits + 1)
    expected = [_ref_ybr_to_rgb(*_ints(p), bits) for p in ybr]
    np.testing.assert_array_equal(ybr_to_rgb(ybr, bits=bits), np.array(expected, dtype=ybr.dtype))


def test_exact_halves_round_up() -> None:
    # B = Y + 1.772 * (253 - 128) = Y + 221.5: T.871 rounds half up, floats might not.
    assert ybr_to_rgb(np.array([10, 253, 128], dtype=np.uint8)).tolist() == [10, 0, 232]


@pytest.mark.parametrize(
    ("rgb", "full", "partial"),
    [
        ((0, 0, 0), (0, 128, 128), (16, 128, 128)),
        ((255, 255, 255), (255, 128, 128), (235, 128, 128)),
        ((255, 0, 0), (76, 85, 255), (81, 90, 240)),
        ((0, 255, 0), (150, 44, 21), (145, 54, 34)),
        ((0, 0, 255), (29, 255, 107), (41, 240, 110)),
    ],
)
def test_known_colours(
    rgb: tuple[int, ...], full: tuple[int, ...], partial: tuple[int, ...]
) -> None:
    arr = np.array(rgb, dtype=np.uint8)
    assert tuple(rgb_to_ybr(arr).tolist()) == full
    assert tuple(rgb_to_ybr(arr, partial=True).tolist()) == partial


def test_sixteen_bit_offsets_scale_with_precision() -> None:
    white = np.array([65535, 65535, 65535], dtype=np.uint16)
    assert rgb_to_ybr(white).tolist() == [65535, 32768, 32768]
    assert rgb_to_ybr(white, partial=True).tolist() == [235 * 256, 32768, 32768]
    twelve = np.array([4095, 4095, 4095], dtype=np.uint16)
    assert rgb_to_ybr(twelve, bits=12).tolist() == [4095, 2048, 2048]


def _8bit_values(stride: int) -> Array:
    """Every ``stride``-th of the 2**24 8-bit triples (a stride prime to 256 reaches all levels)."""
    v = np.arange(0, 1 << 24, stride, dtype=np.uint32)
    return np.stack([v >> 16, (v >> 8) & 255, v & 255], axis=-1).astype(np.uint8)


def test_round_trips_stay_within_rounding() -> None:
    values = _8bit_values(7)
    assert np.abs(ybr_to_rgb(rgb_to_ybr(values)).astype(int) - values).max() <= 1
    back = ybr_to_rgb(rgb_to_ybr(values, partial=True), partial=True)
    assert np.abs(back.astype(int) - values).max() <= 2  # 219 and 224 levels hold 256


def test_agrees_with_pydicom_up_to_its_float32_rounding() -> None:
    """pydicom converts in float32: near a half it may round the other way, never by more.

    Over all 2**24 values that happens 28 times (YBR -> RGB) and 481 times (RGB -> YBR).
    """
    processing = pytest.importorskip("pydicom.pixels.processing")
    values = _8bit_values(3)
    for ours, theirs in (
        (ybr_to_rgb(values), processing.convert_color_space(values, "YBR_FULL", "RGB")),
        (rgb_to_ybr(values), processing.convert_color_space(values, "RGB", "YBR_FULL")),
    ):
        differs = (ours != theirs).any(axis=-1)
        assert np.abs(ours.astype(int) - theirs).max() <= 1
        assert np.count_nonzero(differs) < 500


def test_shapes_and_dtypes_are_kept() -> None:
    frames = np.random.default_rng(1).integers(0, 65536, (2, 3, 4, 3)).astype(np.uint16)
    out = ybr_to_rgb(frames)
    assert out.shape == frames.shape
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out[1], ybr_to_rgb(frames[1]))


@pytest.mark.parametrize(
    ("arr", "options", "error", "message"),
    [
        (np.zeros((2, 3), np.int16), {}, TypeError, "uint8 or uint16"),
        (np.zeros((2, 3), np.float32), {}, TypeError, "uint8 or uint16"),
        (np.zeros((2, 4), np.uint8), {}, ValueError, "three samples"),
        (np.zeros((2, 3), np.uint8), {"bits": 9}, ValueError, "bits 9 must be in 2..8"),
        (np.zeros((2, 3), np.uint16), {"bits": 6, "partial": True}, ValueError, "8..16"),
    ],
)
def test_refuses_what_it_cannot_convert(
    arr: Array, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        ybr_to_rgb(arr, **options)
    with pytest.raises(error, match=message):
        rgb_to_ybr(arr, **options)


# -- 4:2:2 --------------------------------------------------------------------------------
def test_upsample_422_matches_native_frames() -> None:
    info = FrameInfo(
        rows=3, columns=4, samples_per_pixel=3, photometric_interpretation="YBR_FULL_422"
    )
    data = np.arange(info.values_per_frame, dtype=np.uint8)
    expected = NativeFrame(data, info).array
    np.testing.assert_array_equal(upsample_422(data, 3, 4), expected)
    assert upsample_422(data, 3, 4)[0, 1].tolist() == [1, 2, 3]  # Y1 with the pair's Cb Cr


def test_subsample_422_inverts_upsample_and_averages_chroma() -> None:
    data = np.random.default_rng(2).integers(0, 256, 3 * 8 * 2).astype(np.uint8)
    np.testing.assert_array_equal(subsample_422(upsample_422(data, 3, 8)), data)
    pixels = np.array([[[10, 100, 200], [20, 101, 50]]], dtype=np.uint8)
    assert subsample_422(pixels).tolist() == [10, 20, 101, 125]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: upsample_422(np.zeros(12, np.uint8), 2, 3), "even number of columns"),
        (lambda: upsample_422(np.zeros(10, np.uint8), 2, 4), "two values per pixel"),
        (lambda: subsample_422(np.zeros((2, 3, 3), np.uint8)), "even columns"),
    ],
)
def test_422_refuses_bad_shapes(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
