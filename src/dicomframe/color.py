"""Colour-space conversions between RGB and the YBR photometric interpretations.

The equations are those of PS3.3 C.7.6.3.1.2, written exactly as in ITU-T
T.871 section 7 (of which the standard's four-decimal coefficients are
roundings):

``YBR_FULL`` (and ``YBR_FULL_422`` once its chroma is upsampled)::

    Y  =  0.299 R + 0.587 G + 0.114 B
    Cb = (B - Y) / 1.772 + 2^(n-1)
    Cr = (R - Y) / 1.402 + 2^(n-1)

``YBR_PARTIAL_422`` / ``YBR_PARTIAL_420`` (BT.601 studio range): luma is
scaled to 219 and chroma to 224 of every 255 steps, then offset by
``16 * 2^(n-8)`` and ``2^(n-1)``; for n = 8 these are the standard's
``.2568 R + .5041 G + .0979 B + 16`` and so on.

``n`` is the sample precision: the dtype's width by default (8 for
``uint8``, 16 for ``uint16``), or ``bits`` (Bits Stored) when given. Results
are rounded half up and clamped to ``0 .. 2^n - 1``, as T.871 says, and keep
the input's dtype. The arithmetic is exact (integer numerators over a common
denominator), so no floating-point error decides a rounding: pydicom's
float32 conversion differs from it by 1 in 28 (YBR to RGB) and 481 (RGB to
YBR) of the 2^24 8-bit inputs, and never by more. Every function takes the
samples in the last axis: ``(..., 3)``, so one frame ``(rows, columns, 3)``
or many ``(frames, rows, columns, 3)`` convert alike.

This module imports nothing but numpy; the codecs use it for JPEG's YCbCr.
"""

from __future__ import annotations

import functools
from math import lcm
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from fractions import Fraction

    Matrix = tuple[tuple[Fraction, ...], ...]

__all__ = ["rgb_to_ybr", "subsample_422", "upsample_422", "ybr_to_rgb"]

Array = np.ndarray[Any, Any]


def _full() -> Matrix:
    """T.871 section 7 (PS3.3 C.7.6.3.1.2): rows give Y, Cb, Cr from R, G, B, exactly.

    Made on first use: ``fractions`` takes 2 ms to import, and most commands
    convert no colour.
    """
    from fractions import Fraction

    return (
        (Fraction(299, 1000), Fraction(587, 1000), Fraction(114, 1000)),
        (Fraction(-299, 1772), Fraction(-587, 1772), Fraction(886, 1772)),
        (Fraction(701, 1402), Fraction(-587, 1402), Fraction(-114, 1402)),
    )


@functools.cache
def _conversion(bits: int, *, partial: bool, inverse: bool) -> tuple[Array, Array, Array, Array]:
    """Integer numerators, offsets before and after, and each row's denominator.

    The conversion is exact rational arithmetic: ``out_i = round(sum_j
    (N_ij / D_i) (x_j - before_j) + after_i / D_i)``, so no floating-point
    error decides a rounding (T.871's equations have exact halves, e.g.
    ``1.772 * 125``). Every intermediate fits int64 up to 16 bits.
    """
    from fractions import Fraction

    full = _full()
    half = Fraction(1 << (bits - 1))
    matrix = full
    offsets = (Fraction(0), half, half)
    if partial:
        step = Fraction(1 << bits, 256)
        top = (1 << bits) - 1
        scale = (219 * step / top, 224 * step / top, 224 * step / top)
        matrix = tuple(tuple(v * s for v in row) for row, s in zip(full, scale, strict=True))
        offsets = (16 * step, half, half)
    before, after = (offsets, (Fraction(0),) * 3) if inverse else ((Fraction(0),) * 3, offsets)
    if inverse:
        matrix = _inverse(matrix)
    denominators = [
        lcm(*(v.denominator for v in (*row, a))) for row, a in zip(matrix, after, strict=True)
    ]
    numerators = [[int(v * d) for v in row] for row, d in zip(matrix, denominators, strict=True)]
    return (
        np.array(numerators, dtype=np.int64),
        np.array([int(b) for b in before], dtype=np.int64),
        np.array([int(a * d) for a, d in zip(after, denominators, strict=True)], dtype=np.int64),
        np.array(denominators, dtype=np.int64),
    )


def _inverse(m: Matrix) -> Matrix:
    """The exact inverse of a 3x3 matrix of fractions (adjugate over determinant)."""

    def cofactor(i: int, j: int) -> Fraction:
        r1, r2 = (i + 1) % 3, (i + 2) % 3
        c1, c2 = (j + 1) % 3, (j + 2) % 3
        return m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]

    from fractions import Fraction

    det = sum((m[0][j] * cofactor(0, j) for j in range(3)), Fraction(0))
    return tuple(tuple(cofactor(j, i) / det for j in range(3)) for i in range(3))


def _precision(arr: Array, bits: int | None, *, partial: bool) -> int:
    if arr.dtype.kind != "u" or arr.dtype.itemsize > 2:
        raise TypeError(f"colour conversion needs uint8 or uint16 samples, not {arr.dtype}")
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ValueError(f"expected three samples in the last axis, not shape {arr.shape}")
    width = arr.dtype.itemsize * 8
    precision = width if bits is None else bits
    low = 8 if partial else 2
    if not low <= precision <= width:
        raise ValueError(f"bits {precision} must be in {low}..{width} for {arr.dtype}")
    return precision


@functools.lru_cache(maxsize=8)
def _tables(bits: int, *, partial: bool, inverse: bool) -> tuple[list[list[Array]], Array, Array]:
    """Per output and input channel, ``2 * N_ij * (level - before_j)`` for every level.

    Looking the terms up is twice as fast as multiplying (at 16 bits, 4.5 MB).
    """
    numerators, before, after, denominators = _conversion(bits, partial=partial, inverse=inverse)
    levels = np.arange(1 << bits, dtype=np.int64)
    tables = [[2 * numerators[i, j] * (levels - before[j]) for j in range(3)] for i in range(3)]
    return tables, 2 * after + denominators, 2 * denominators


def _convert(arr: Array, bits: int, *, partial: bool, inverse: bool) -> Array:
    tables, offsets, divisors = _tables(bits, partial=partial, inverse=inverse)
    # Samples above ``bits`` would index past the tables: clamp them first.
    top = (1 << bits) - 1
    source = arr if bits == arr.dtype.itemsize * 8 else np.minimum(arr, top)
    channels = [source[..., j] for j in range(3)]
    out = np.empty(arr.shape, dtype=arr.dtype)
    for i in range(3):
        total = tables[i][0][channels[0]]
        total += tables[i][1][channels[1]]
        total += tables[i][2][channels[2]]
        # floor(x + 1/2) with x = total / (2 D): round half up (T.871 section 7), then clamp.
        total += offsets[i]
        total //= divisors[i]
        out[..., i] = np.clip(total, 0, top)
    return out


def rgb_to_ybr(arr: Array, /, *, partial: bool = False, bits: int | None = None) -> Array:
    """Convert RGB samples to YBR_FULL (or YBR_PARTIAL with ``partial=True``).

    Parameters
    ----------
    arr
        ``uint8`` or ``uint16`` samples, R G B in the last axis: ``(..., 3)``.
    partial
        Give studio-range YBR_PARTIAL values instead of full-range YBR_FULL.
    bits
        The sample precision (Bits Stored); the dtype's width when None.

    Returns
    -------
    numpy.ndarray
        A new array of the same shape and dtype, Y Cb Cr in the last axis.

    Raises
    ------
    TypeError
        When the samples are not ``uint8`` or ``uint16``.
    ValueError
        When the last axis does not hold three samples, or ``bits`` does not fit.
    """
    precision = _precision(arr, bits, partial=partial)
    return _convert(arr, precision, partial=partial, inverse=False)


def ybr_to_rgb(arr: Array, /, *, partial: bool = False, bits: int | None = None) -> Array:
    """Convert YBR_FULL samples (or YBR_PARTIAL with ``partial=True``) to RGB.

    YBR_FULL_422 data converts the same way once each pixel has its own
    chroma (see :func:`upsample_422`); JPEG decoders upsample it themselves.

    Parameters
    ----------
    arr
        ``uint8`` or ``uint16`` samples, Y Cb Cr in the last axis: ``(..., 3)``.
    partial
        The input is studio-range YBR_PARTIAL rather than full-range YBR_FULL.
    bits
        The sample precision (Bits Stored); the dtype's width when None.

    Returns
    -------
    numpy.ndarray
        A new array of the same shape and dtype, R G B in the last axis.

    Raises
    ------
    TypeError
        When the samples are not ``uint8`` or ``uint16``.
    ValueError
        When the last axis does not hold three samples, or ``bits`` does not fit.
    """
    precision = _precision(arr, bits, partial=partial)
    return _convert(arr, precision, partial=partial, inverse=True)


def upsample_422(data: Array, /, rows: int, columns: int) -> Array:
    """Expand native YBR_FULL_422 data to one Y Cb Cr triple per pixel.

    PS3.3 C.7.6.3.1.2: each horizontal pair of pixels is stored as
    ``Y0 Y1 Cb Cr``; both pixels of the pair take the pair's chroma.

    Parameters
    ----------
    data
        The flat native frame: ``rows * columns * 2`` values (columns even).
    rows, columns
        The frame's size.

    Returns
    -------
    numpy.ndarray
        ``(rows, columns, 3)`` in the input's dtype.

    Raises
    ------
    ValueError
        When the size of ``data`` does not match ``rows`` and ``columns``.
    """
    if columns % 2 or data.size != rows * columns * 2:
        raise ValueError(
            f"{data.size} values are not YBR_FULL_422 data for {rows}x{columns} "
            "(two values per pixel, an even number of columns)"
        )
    pairs = data.reshape(-1, 4)
    out = np.empty((pairs.shape[0], 2, 3), dtype=data.dtype)
    out[:, :, 0] = pairs[:, 0:2]
    out[:, :, 1] = pairs[:, 2:3]
    out[:, :, 2] = pairs[:, 3:4]
    return out.reshape(rows, columns, 3)


def subsample_422(arr: Array, /) -> Array:
    """Pack ``(rows, columns, 3)`` Y Cb Cr samples as native YBR_FULL_422 data.

    The inverse of :func:`upsample_422`: each horizontal pixel pair keeps both
    Y values and the mean of its two Cb and two Cr values (rounded half up).

    Parameters
    ----------
    arr
        Unsigned integer samples ``(rows, columns, 3)``, columns even.

    Returns
    -------
    numpy.ndarray
        The flat frame, ``Y0 Y1 Cb Cr`` per pixel pair, in the input's dtype.

    Raises
    ------
    ValueError
        When the shape is not ``(rows, columns, 3)`` with an even number of columns.
    """
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[1] % 2:
        raise ValueError(f"expected (rows, even columns, 3), not shape {arr.shape}")
    pairs = arr.reshape(-1, 2, 3).astype(np.uint32)
    out = np.empty((pairs.shape[0], 4), dtype=arr.dtype)
    out[:, 0:2] = pairs[:, :, 0]
    out[:, 2:4] = (pairs[:, 0, 1:3] + pairs[:, 1, 1:3] + 1) // 2
    return out.reshape(-1)
