"""Source frames for ``check_codec``, and the values a decoder must give back.

A lossless source is made to catch the bugs codecs have: it holds the
extremes of the Bits Stored range (the lowest and highest value, so a
truncated or sign-lost value shows), a ramp through every bit, and noise
that a run-length or predictive coder cannot smooth over. A lossy source is
smooth (low-frequency waves), the kind of picture a lossy codec's default
settings are tuned for, so its PSNR floor is a fair promise.

Bits Stored below Bits Allocated: the source may have the bits above Bits
Stored set ("dirty"). What a decoder must return is the *clean* value: the
unused bits cleared (unsigned) or the value sign-extended from Bits Stored
(signed), as dicomframe reads native data (PS3.5 8.1.1, docs/pixel-data.md).

Every source frame is read-only, as a frame viewed on a file is: an encoder
that writes into its input fails here rather than on a user's mapped file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dicomframe.color import subsample_422
from dicomframe.core.frame import NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.testing.layouts import Layout

__all__ = ["clean", "clean_values", "source_frame", "value_range"]

Array = np.ndarray[Any, Any]
_STEP = 0x9E3779B97F4A7C15  # the golden ratio in 64 bits: consecutive values share few bits


def value_range(info: FrameInfo) -> tuple[int, int]:
    """The lowest and highest value Bits Stored and Pixel Representation allow."""
    bits = info.bits_stored
    if info.pixel_representation:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def clean_values(values: Array, info: FrameInfo) -> Array:
    """``values`` with the bits above Bits Stored cleared or sign-extended (a new array)."""
    out = np.array(values, dtype=info.dtype, copy=True)
    shift = out.dtype.itemsize * 8 - info.bits_stored
    if shift > 0:
        np.left_shift(out, shift, out=out)
        np.right_shift(out, shift, out=out)
    return out


def clean(frame: NativeFrame) -> NativeFrame:
    """``frame`` with its clean values, read-only: what a lossless codec must give back."""
    data = clean_values(frame.data, frame.info)
    data.flags.writeable = False
    return NativeFrame(data, frame.info)


def source_frame(layout: Layout, *, lossy: bool, seed: int) -> NativeFrame:
    """A read-only native frame of ``layout``: rich for lossless syntaxes, smooth for lossy."""
    info = layout.info
    rng = np.random.default_rng(seed)
    shape = (info.rows, info.columns, info.samples_per_pixel)
    image = _smooth(info, shape, rng) if lossy else _rich(info, shape, rng)
    data = _stored(image, info)
    if layout.dirty:
        data = _dirty(data, info, rng)
    data.flags.writeable = False
    return NativeFrame(data, info)


def _rich(info: FrameInfo, shape: tuple[int, int, int], rng: np.random.Generator) -> Array:
    """Extremes, a ramp through every bit, and noise, as Bits Stored-bit patterns."""
    count = int(np.prod(shape))
    unsigned = np.dtype(info.dtype.str.replace("i", "u"))
    top = int(np.iinfo(unsigned).max)
    # An odd multiplier (wrapping) walks the ramp through every bit; noise in between.
    ramp = np.arange(count, dtype=unsigned) * unsigned.type(_STEP & top | 1)
    noise = rng.integers(0, top, size=count, dtype=unsigned, endpoint=True)
    patterns = np.where(np.arange(count) % 3 == 0, noise, ramp)
    values = clean_values(patterns.view(info.dtype), info)
    low, high = value_range(info)
    extremes = np.repeat(np.array([low, high], dtype=info.dtype), shape[2])
    values[: extremes.size] = extremes[: values.size]  # the first two pixels
    return values.reshape(shape)


def _smooth(info: FrameInfo, shape: tuple[int, int, int], rng: np.random.Generator) -> Array:
    """Low-frequency waves spanning most of the range, one phase per sample."""
    rows, columns, samples = shape
    y = np.linspace(0, 1, rows)[:, None, None]
    x = np.linspace(0, 1, columns)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, size=samples)[None, None, :]
    # 0.1 to 0.9 of the range: no rounding past the ends, even for 64-bit values
    wave = 0.5 + 0.2 * np.sin(2 * np.pi * 0.6 * x + phase) + 0.2 * np.cos(2 * np.pi * 0.4 * y)
    low, high = value_range(info)
    values = np.rint(low + wave * (high - low))
    return np.clip(values, low, high).astype(info.dtype)


def _stored(image: Array, info: FrameInfo) -> Array:
    """The flat native data of ``image`` (rows, columns, samples) in ``info``'s layout."""
    if info.is_subsampled:
        return subsample_422(image)
    if info.planar_configuration == 1:
        return np.ascontiguousarray(image.transpose(2, 0, 1)).reshape(-1)
    return np.ascontiguousarray(image).reshape(-1)


def _dirty(data: Array, info: FrameInfo, rng: np.random.Generator) -> Array:
    """``data`` with random bits set above Bits Stored, the top bit in every other value."""
    unsigned = data.view(info.dtype.str.replace("i", "u")).copy()
    width = unsigned.dtype.itemsize * 8
    above = np.iinfo(unsigned.dtype).max >> info.bits_stored << info.bits_stored
    top = unsigned.dtype.type(1 << (width - 1))
    noise = rng.integers(0, np.iinfo(unsigned.dtype).max, size=data.size, dtype=unsigned.dtype)
    unsigned |= noise & unsigned.dtype.type(above)
    unsigned[::2] |= top
    return unsigned.view(info.dtype)
