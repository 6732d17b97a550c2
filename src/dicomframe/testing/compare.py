"""Whether a decoded frame gives its source back, in the colour model its FrameInfo names.

The decoded frame is compared with the source's *clean* values (see
:mod:`.pixels`), taken into the colour model the decoded FrameInfo claims
with an independent reference conversion (:mod:`dicomframe.color`, exact
integer arithmetic after ITU-T T.871). A decoder that converts YBR_FULL to
RGB and says RGB passes; one that converts and still says YBR_FULL fails, as
does one that says RGB without converting. No other change of model keeps
the pixels' meaning (MONOCHROME1 stays MONOCHROME1, PALETTE COLOR stays
PALETTE COLOR), so any other relabelling fails.

Lossless syntaxes are held to exact equality. Only where the decoder
changed the colour model is a difference of 1 allowed, since a backend's
own YBR to RGB conversion may round differently from the reference (T.871
fixes the equations, not the arithmetic); a sample mislabelled by its colour
model is off by far more. Lossy syntaxes are held to a PSNR floor, with the
peak 2^Bits Stored - 1.

When a frame fails, the message says what the wrong values look like (the
other colour model, the source's low bits, the unsigned patterns of signed
values, swapped bytes) so that a codec author sees the bug, not just a
count of differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from dicomframe.color import rgb_to_ybr, ybr_to_rgb
from dicomframe.core.frame import NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.testing.pixels import clean_values, value_range

__all__ = ["Verdict", "difference", "in_model", "judge", "out_of_range", "psnr"]

Array = np.ndarray[Any, Any]
_YBR = ("YBR_FULL", "YBR_FULL_422")  # one model: 4:2:2 only stores the chroma at half width
_CONVERSION_TOLERANCE = 1


def psnr(got: Array, wanted: Array, bits: int) -> float:
    """Peak signal-to-noise ratio in dB, the peak being 2^bits - 1 (inf when equal)."""
    error = np.mean((got.astype(np.float64) - wanted.astype(np.float64)) ** 2)
    if error == 0:
        return math.inf
    return float(10 * np.log10(((1 << bits) - 1) ** 2 / error))


def out_of_range(frame: NativeFrame) -> str | None:
    """Why ``frame``'s values break its own Bits Stored, or None when they are clean."""
    info, data = frame.info, frame.data
    if data.dtype.kind == "f" or data.size == 0:
        return None
    low, high = value_range(info)
    if int(data.min()) >= low and int(data.max()) <= high:
        return None
    return (
        f"values {data.min()}..{data.max()} are outside {low}..{high}, the range its FrameInfo "
        f"declares (Bits Stored {info.bits_stored}, "
        f"{'signed' if info.pixel_representation else 'unsigned'}): the bits above Bits Stored "
        "must be cleared, or the sign extended from them (PS3.5 8.1.1)"
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a decoded frame gave its source back: the problem (None: it did), and its PSNR."""

    problem: str | None
    psnr: float | None = None


def judge(decoded: NativeFrame, source: NativeFrame, *, floor: float | None) -> Verdict:
    """Whether ``decoded`` gives ``source`` back.

    ``floor`` is the PSNR in dB a lossy result must keep; None holds the
    result to exactness (a lossless syntax).
    """
    wanted = NativeFrame(clean_values(source.data, source.info), source.info).array
    problem = out_of_range(decoded)
    verdict = Verdict(problem) if problem else _compare(decoded, wanted, source.info, floor)
    if verdict.problem is None:
        return verdict
    return Verdict(verdict.problem + _diagnosis(decoded, wanted, source.info, floor), verdict.psnr)


def _compare(decoded: NativeFrame, wanted: Array, info: FrameInfo, floor: float | None) -> Verdict:
    claimed = decoded.info.photometric_interpretation
    model = info.photometric_interpretation
    expected = in_model(wanted, model, claimed, info.bits_stored)
    if expected is None:
        return Verdict(
            f"FrameInfo says {claimed}, the source is {model}: no conversion between them "
            "keeps the pixels' meaning, so the label is wrong"
        )
    tolerance = 0 if _same_model(model, claimed) else _CONVERSION_TOLERANCE
    got = decoded.array
    problem = difference(got, expected, floor=floor, tolerance=tolerance, bits=info.bits_stored)
    quality = None
    if floor is not None and got.shape == expected.shape:
        quality = psnr(got, expected, info.bits_stored)
    return Verdict(problem, quality)


def in_model(wanted: Array, model: str, target: str, bits: int) -> Array | None:
    """``wanted`` (in ``model``) as ``target`` says, or None when no conversion exists."""
    if _same_model(model, target):
        return wanted
    if wanted.dtype not in (np.uint8, np.uint16):
        return None  # dicomframe.color converts 8- and 16-bit samples only
    if model in _YBR and target == "RGB":
        return ybr_to_rgb(wanted, bits=bits)
    if model == "RGB" and target in _YBR:
        return rgb_to_ybr(wanted, bits=bits)
    return None


def _same_model(one: str, other: str) -> bool:
    return one == other or (one in _YBR and other in _YBR)


def difference(
    got: Array, wanted: Array, *, floor: float | None, tolerance: int, bits: int
) -> str | None:
    """How ``got`` differs from ``wanted`` beyond what is allowed, or None.

    ``floor`` None: exact, or within ``tolerance``; else PSNR (peak 2^bits - 1) >= floor.
    """
    if got.shape != wanted.shape:
        return f"decoded to shape {got.shape}, the source is {wanted.shape}"
    if floor is not None:
        quality = psnr(got, wanted, bits)
        return None if quality >= floor else f"PSNR {quality:.1f} dB, under the {floor:g} dB floor"
    if tolerance:
        wrong = np.abs(got.astype(np.int64) - wanted.astype(np.int64)) > tolerance
    else:
        wrong = got != wanted
    if not wrong.any():
        return None
    where = tuple(int(i) for i in np.argwhere(wrong)[0])
    return (
        f"{int(wrong.sum())} of {wrong.size} values differ"
        f"{f' by more than {tolerance}' if tolerance else ''}; the first at {where}: "
        f"{got[where]} where the source has {wanted[where]}"
    )


def _diagnosis(decoded: NativeFrame, wanted: Array, info: FrameInfo, floor: float | None) -> str:
    """What the wrong values look like, when one of the usual bugs explains them."""
    got = decoded.array
    for explain in (_colour_model, _low_bits, _sign, _byte_order):
        found = explain(got, wanted, info, decoded.info, floor)
        if found is not None:
            return f"; {found}"
    return ""


def _colour_model(
    got: Array, wanted: Array, info: FrameInfo, claimed: FrameInfo, floor: float | None
) -> str | None:
    if info.samples_per_pixel != 3:
        return None
    label = claimed.photometric_interpretation
    for actual in ("RGB", "YBR_FULL"):
        if _same_model(actual, label):
            continue
        expected = in_model(wanted, info.photometric_interpretation, actual, info.bits_stored)
        if expected is None:
            continue
        converted = not _same_model(actual, info.photometric_interpretation)
        tolerance = _CONVERSION_TOLERANCE if converted else 0
        found = difference(got, expected, floor=floor, tolerance=tolerance, bits=info.bits_stored)
        if found is None:
            return f"the samples are {actual}, but the decoded FrameInfo says {label}"
    return None


def _low_bits(
    got: Array, wanted: Array, info: FrameInfo, _claimed: FrameInfo, floor: float | None
) -> str | None:
    if floor is not None or got.dtype != wanted.dtype:
        return None
    for bits in range(info.bits_stored - 1, 0, -1):
        narrower = info.replace(bits_stored=bits, high_bit=bits - 1)
        if np.array_equal(got, clean_values(wanted, narrower)):
            return f"they are the source's low {bits} bits: the bits above were lost"
    return None


def _sign(
    got: Array, wanted: Array, info: FrameInfo, _claimed: FrameInfo, floor: float | None
) -> str | None:
    if floor is not None or not info.pixel_representation or got.shape != wanted.shape:
        return None
    patterns = wanted.view(wanted.dtype.str.replace("i", "u")) & ((1 << info.bits_stored) - 1)
    if np.array_equal(got.astype(np.int64), patterns.astype(np.int64)):
        return "negative values came back as their unsigned patterns: the sign was lost"
    return None


def _byte_order(
    got: Array, wanted: Array, _info: FrameInfo, _claimed: FrameInfo, floor: float | None
) -> str | None:
    if floor is not None or wanted.dtype.itemsize == 1 or got.dtype != wanted.dtype:
        return None
    if np.array_equal(got, wanted.byteswap()):
        return "each value has its bytes swapped (the byte order is wrong)"
    return None
