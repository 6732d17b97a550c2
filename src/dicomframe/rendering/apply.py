"""Modality LUT, VOI LUT and windowing on arrays, at full precision (PS3.3 C.11, PS3.4 N.2.1.1).

These give the values the display pipeline works with before anything is rounded to 8
bits: what a viewer, a measurement or a model needs. They take the same arguments and
return the same values and dtypes as pydicom 3's ``apply_modality_lut``,
``apply_voi_lut`` and ``apply_windowing``, except where the standard says otherwise
(docs/rendering.md lists those cases), and read the dataset through dicomframe's API:

- :func:`apply_modality_lut`: float64 for a rescale, the LUT's uint8/uint16 for a
  Modality LUT, the input itself when the dataset has neither;
- :func:`apply_voi_lut`: the LUT's uint8/uint16 for a VOI LUT, float64 for a window
  (onto its input's own range, :func:`~dicomframe.rendering.read_window_range`), the
  input itself when the dataset has neither. MONOCHROME1 is *not* inverted here:
  inversion follows the VOI (PS3.3 C.7.6.3.1.2) and is a display step;
- :func:`apply_windowing`: one window from numbers, onto a range you choose.

``arr`` may be one frame ``(rows, columns)`` or a stack ``(frames, rows, columns)``:
every value is transformed alike. For enhanced multi-frame objects, whose Pixel Value
Transformation and Frame VOI LUT live in per-frame or shared functional groups, pass
``frame=i``: ``arr`` is then frame ``i`` and its own functional groups are used.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from dicomframe.core.dataset import Dataset
from dicomframe.rendering.luts import LUT
from dicomframe.rendering.pipeline import rescale, window
from dicomframe.rendering.readers import (
    FRAME_VOI_LUT,
    PIXEL_VALUE_TRANSFORMATION,
    frame_source,
    read_modality_transform,
    read_voi,
    read_window_range,
)

__all__ = ["apply_modality_lut", "apply_voi_lut", "apply_windowing"]

Array = np.ndarray[Any, Any]

_PHOTOMETRIC, _REPRESENTATION = 0x00280004, 0x00280103
_MONOCHROME = ("MONOCHROME1", "MONOCHROME2")


def apply_modality_lut(arr: Array, ds: Dataset, /, *, frame: int | None = None) -> Array:
    """Stored values to modality values: the Modality LUT, or Rescale Slope and Intercept.

    Parameters
    ----------
    arr
        Stored values, one frame or a stack (any shape).
    ds
        The image's dataset: its Modality LUT Sequence (first item; PS3.3 C.11.1),
        else Rescale Slope (0028,1053) and Intercept (0028,1052).
    frame
        The index of the frame ``arr`` holds (0-based, negative from the last): its
        Pixel Value Transformation (shared or per-frame functional groups, PS3.3
        C.7.6.16.2.9) replaces the top-level attributes when it has one.

    Returns
    -------
    numpy.ndarray
        float64 for a rescale (whatever the slope); for a Modality LUT its entries:
        uint8 for 8-bit entries, uint16 for 9 to 16 bits, inputs outside the table
        taking its first or last entry. ``arr`` itself when there is neither.

    Raises
    ------
    InvalidDicomError
        For a bad LUT, a sequence that is not one, a rescale that is not a number.
    ValueError
        For a ``frame`` the dataset does not have.
    """
    source = frame_source(ds, frame, PIXEL_VALUE_TRANSFORMATION)
    transform = read_modality_transform(source, signed=_signed(ds))
    if transform is None:
        return arr
    if isinstance(transform, LUT):
        return _nominal(transform).apply(arr)
    return rescale(arr, *transform)


def apply_voi_lut(
    arr: Array,
    ds: Dataset,
    /,
    *,
    index: int = 0,
    prefer_lut: bool = True,
    frame: int | None = None,
) -> Array:
    """Modality values to VOI values: a VOI LUT, or a window (PS3.3 C.11.2).

    Apply :func:`apply_modality_lut` first, as the standard's pipeline does.

    Parameters
    ----------
    arr
        Modality LUT output values, one frame or a stack (any shape).
    ds
        The image's dataset: its VOI LUT Sequence (0028,3010), Window Center
        (0028,1050) and Width (0028,1051), VOI LUT Function (0028,1056).
    index
        Which VOI: VOI LUT Sequence item ``index``, or Window Center/Width pair ``index``.
    prefer_lut
        When the dataset has both a VOI LUT Sequence and windows, use the LUT (True,
        as pydicom does) or the windows (False).
    frame
        The index of the frame ``arr`` holds (0-based, negative from the last): its
        Frame VOI LUT (functional groups, PS3.3 C.7.6.16.2.10) replaces the top-level
        VOI, and its Pixel Value Transformation gives the window's output range.

    Returns
    -------
    numpy.ndarray
        For a VOI LUT its entries (uint8 for 8-bit entries, else uint16); for a
        window float64 in the range :func:`~dicomframe.rendering.read_window_range`
        gives (the modality output's own range); ``arr`` itself when the dataset
        has neither.

    Raises
    ------
    InvalidDicomError
        For what the file gets wrong, naming the tag: a Window Width below 1 (LINEAR)
        or not above 0 (LINEAR_EXACT, SIGMOID), an unknown VOI LUT Function, a bad LUT.
    ValueError
        For an ``index`` or ``frame`` the dataset has no VOI for, or a window on
        other than MONOCHROME1/MONOCHROME2 data.
    """
    voi = read_voi(
        frame_source(ds, frame, FRAME_VOI_LUT), index, signed=_signed(ds), prefer_lut=prefer_lut
    )
    if voi is None:
        return arr
    if isinstance(voi, LUT):
        return _nominal(voi).apply(arr)
    photometric = str(ds.get(_PHOTOMETRIC) or "MONOCHROME2").strip()
    if photometric not in _MONOCHROME:
        raise ValueError(f"a window applies to MONOCHROME1 or MONOCHROME2 data, not {photometric}")
    output = read_window_range(ds, frame_source(ds, frame, PIXEL_VALUE_TRANSFORMATION))
    center, width, function = voi
    return apply_windowing(arr, center, width, function=function, output_range=output)


def apply_windowing(  # noqa: PLR0913 - the options are keyword-only
    arr: Array,
    center: float,
    width: float,
    /,
    *,
    function: str = "LINEAR",
    output_range: tuple[float, float] | None = None,
    bits_stored: int | None = None,
    signed: bool = False,
) -> Array:
    """One window (PS3.3 C.11.2.1.2-3) from numbers: float64 in the output range.

    Parameters
    ----------
    arr
        Modality LUT output values, any shape.
    center, width
        Window Center and Width, in ``arr``'s units.
    function
        LINEAR (C.11.2.1.2.1), LINEAR_EXACT (C.11.2.1.3.2) or SIGMOID (C.11.2.1.3.1);
        case and surrounding spaces do not matter.
    output_range
        ``(y_min, y_max)``: what the window maps onto.
    bits_stored, signed
        Instead of ``output_range``: the range of stored values of that many bits,
        ``0 .. 2**bits - 1``, or ``-2**(bits-1) .. 2**(bits-1) - 1`` when ``signed``.
        With neither, the output is ``0 .. 255``, for 8-bit display.

    Returns
    -------
    numpy.ndarray
        float64: ``y_min`` at and below the window's lower edge, ``y_max`` above its
        upper one; NaN stays NaN.

    Raises
    ------
    ValueError
        For an unknown function, a width below 1 (LINEAR) or not above 0, a center or
        width that is not finite, both ``output_range`` and ``bits_stored``, or
        ``bits_stored`` below 1.
    """
    if output_range is not None and bits_stored is not None:
        raise ValueError("pass output_range or bits_stored, not both")
    if bits_stored is not None:
        if bits_stored < 1:
            raise ValueError(f"bits_stored={bits_stored} is below 1")
        bits = int(bits_stored)
        output_range = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    y_min, y_max = output_range if output_range is not None else (0.0, 255.0)
    return window(arr, center, width, function=function, y_min=y_min, y_max=y_max)


def _nominal(lut: LUT) -> LUT:
    """The table in its nominal dtype: uint8 for entries of 8 bits or fewer, else uint16.

    US LUT Data reads as 16-bit words whatever the bits; entries a file stores past
    ``2**bits - 1`` keep 16 bits rather than wrap.
    """
    entries = lut.entries
    if lut.bits <= 8 and entries.dtype != np.uint8 and int(entries.max()) <= 0xFF:
        return dataclasses.replace(lut, entries=entries.astype(np.uint8))
    if lut.bits > 8 and entries.dtype != np.uint16:  # 8-bit OW data under a wider descriptor
        return dataclasses.replace(lut, entries=entries.astype(np.uint16))
    return lut


def _signed(ds: Dataset) -> bool:
    """Pixel Representation 1: the stored values, and LUT first-mapped values, are signed."""
    return bool(ds.get(_REPRESENTATION) == 1)
