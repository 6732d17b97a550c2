"""The display pipeline's arithmetic: one function a step, arrays and numbers in and out.

The grayscale pipeline of PS3.3 C.11 and PS3.4 N.2.1.1::

    stored values -> Modality LUT  rescale() or LUT.apply()            (C.11.1)
                  -> VOI           window(), LUT.apply() or stretch()  (C.11.2)
                  -> 8-bit display to_display(..., invert=MONOCHROME1) (C.7.6.3.1.2)

:func:`render_gray` chains the last two; :func:`render_palette` shows PALETTE COLOR
and :func:`render_color` RGB and YBR samples as 8-bit RGB.

The contract: these functions never look at a dataset, never modify their input and say
what dtype they return. ``window`` returns float64 in ``[y_min, y_max]`` (0 to 255 by
default) and ``stretch`` in ``[0, y_max]``; :func:`to_display` rounds to uint8 (half to
even, as :func:`numpy.rint`). They raise ValueError for parameters they cannot use.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dicomframe.rendering.luts import LUT

__all__ = [
    "VOI_FUNCTIONS",
    "render_color",
    "render_gray",
    "render_palette",
    "rescale",
    "scale_to_8bit",
    "stretch",
    "to_display",
    "window",
    "window_problem",
]

Array = np.ndarray[Any, Any]

# PS3.3 C.11.2.1.3: the defined terms of VOI LUT Function (0028,1056).
VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")
CENTER, WIDTH, FUNCTION = 0x00281050, 0x00281051, 0x00281056


def rescale(values: Array, slope: float, intercept: float) -> Array:
    """The Rescale Slope/Intercept modality transform (PS3.3 C.11.1): float64."""
    out = np.asarray(values).astype(np.float64) * slope
    out += intercept
    return out


def window(
    values: Array,
    center: float,
    width: float,
    *,
    function: str = "LINEAR",
    y_min: float = 0.0,
    y_max: float = 255.0,
) -> Array:
    """Apply a VOI window: float64 values in ``[y_min, y_max]`` (NaN stays NaN).

    ``function`` is LINEAR (PS3.3 C.11.2.1.2.1, with its ``center - 0.5`` and
    ``width - 1``), LINEAR_EXACT (C.11.2.1.3.2) or SIGMOID (C.11.2.1.3.1). Raises
    ValueError for another function, a width below 1 (LINEAR) or not above 0, or a
    center or width that is not a finite number.
    """
    problem = window_problem(center, width, function)
    if problem is not None:
        raise ValueError(problem[1])
    x = np.asarray(values).astype(np.float64)
    function = function.strip().upper()
    y_range = y_max - y_min
    if function == "SIGMOID":
        with np.errstate(over="ignore"):  # exp overflow -> inf -> y = y_min, as intended
            out: Array = y_range / (1 + np.exp(-4 * (x - center) / width)) + y_min
        return out
    if function == "LINEAR":
        center, width = center - 0.5, width - 1
    above = x > center + width / 2
    between = ~(x <= center - width / 2) & ~above  # NaN is between: it stays NaN
    out = np.full_like(x, y_min)
    out[above] = y_max
    # Only the values between the edges are divided: LINEAR width 1 leaves none but NaN.
    out[between] = ((x[between] - center) / width + 0.5) * y_range + y_min
    return out


def window_problem(center: float, width: float, function: str) -> tuple[int, str] | None:
    """Why a window cannot be applied, and the tag at fault; None when it can.

    PS3.3 C.11.2.1.2: LINEAR needs a Window Width of at least 1; C.11.2.1.3:
    LINEAR_EXACT and SIGMOID need one above 0.
    """
    name = function.strip().upper()
    if name not in VOI_FUNCTIONS:
        return FUNCTION, f"VOI LUT Function {function!r} is not one of {', '.join(VOI_FUNCTIONS)}"
    if not math.isfinite(center):
        return CENTER, f"Window Center {center} is not a finite number"
    if name == "LINEAR" and not width >= 1:  # NaN too
        return WIDTH, f"Window Width {width} must be at least 1 for LINEAR"
    if not 0 < width < math.inf:
        return WIDTH, f"Window Width {width} must be above 0 (and finite) for {name}"
    return None


def stretch(values: Array, low: float, high: float, *, y_max: float = 255.0) -> Array:
    """Map ``low .. high`` linearly onto ``0 .. y_max``, clipped (float64; 0 when equal)."""
    x = np.asarray(values).astype(np.float64)
    if high <= low:
        return np.zeros_like(x)
    return np.clip((x - low) / (high - low) * y_max, 0.0, y_max)


def to_display(values: Array, *, invert: bool = False) -> Array:
    """Round ``[0, 255]`` values to uint8; ``invert`` for MONOCHROME1 (its 0 shows white).

    PS3.3 C.7.6.3.1.2: the inversion follows the VOI. NaN shows as 0 before inversion.
    """
    y = np.clip(np.rint(np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)), 0, 255)
    out = y.astype(np.uint8)
    return 255 - out if invert else out


def scale_to_8bit(values: Array, bits: int) -> Array:
    """Scale ``0 .. 2**bits - 1`` to ``0 .. 255``, rounded: uint8 (8-bit uint8 unchanged)."""
    values = np.asarray(values)
    if bits == 8 and values.dtype == np.uint8:
        return values
    return to_display(values.astype(np.float64) * (255.0 / ((1 << bits) - 1)))


def render_gray(
    values: Array, voi: LUT | tuple[float, float, str] | None, *, invert: bool = False
) -> Array:
    """VOI then 8-bit display values (uint8) from the Modality LUT output.

    ``voi`` is a VOI LUT (entries scaled from their bits to 8), a ``(center, width,
    function)`` window, or None for the values' own finite min..max.
    """
    if isinstance(voi, LUT):
        out = scale_to_8bit(voi.apply(values), voi.bits)
        return 255 - out if invert else out
    if voi is not None:
        return to_display(window(values, voi[0], voi[1], function=voi[2]), invert=invert)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return to_display(stretch(values, low, high), invert=invert)


def render_color(values: Array, photometric: str, bits: int) -> Array:
    """RGB, YBR_FULL(_422) or YBR_PARTIAL_422 samples ``(..., 3)`` as 8-bit RGB (uint8).

    YBR converts with :func:`dicomframe.color.ybr_to_rgb` at ``bits`` precision, then
    ``0 .. 2**bits - 1`` scales to ``0 .. 255``. Raises ValueError for other models.
    """
    if photometric != "RGB":
        from dicomframe.color import ybr_to_rgb

        partial = {"YBR_FULL": False, "YBR_FULL_422": False, "YBR_PARTIAL_422": True}
        if photometric not in partial:
            raise ValueError(f"cannot render {photometric} as RGB")
        values = ybr_to_rgb(values, partial=partial[photometric], bits=bits)
    return scale_to_8bit(values, bits)


def render_palette(indices: Array, *luts: LUT) -> Array:
    """PALETTE COLOR for display: each index looked up in each table, (..., len(luts)) uint8.

    Entries are scaled to 8 bits by their descriptor's bits (16: ``round(v * 255 / 65535)``).
    """
    channels = [scale_to_8bit(lut.apply(indices), lut.bits) for lut in luts]
    return np.stack(channels, axis=-1)
