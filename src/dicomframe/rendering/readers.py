"""Reading the pipeline's parameters from a dataset: Modality LUT, VOI, output ranges.

The pipeline functions take numbers and tables; these readers find them in a dataset,
through dicomframe's Dataset API, and refuse what the file gets wrong with
:class:`~dicomframe.errors.InvalidDicomError` naming the tag, before any of it is used:
a Window Width below 1 (LINEAR) or not above 0 (LINEAR_EXACT, SIGMOID; PS3.3
C.11.2.1.2-3), an unknown VOI LUT Function, a LUT Descriptor whose bits are not 1 to
16, LUT Data that is short, empty or expands past 65536 entries, a sequence that is
not one. What the *caller* asks for that the dataset lacks (a VOI index past the
last, a frame past the last) is a plain ValueError.

Where the attributes are: an image's own top-level Modality LUT and VOI LUT modules,
or, for frame ``i`` of an enhanced multi-frame object, its functional groups (PS3.3
C.7.6.16.2.9 Pixel Value Transformation, C.7.6.16.2.10 Frame VOI LUT), shared or
per-frame. :func:`frame_source` picks the dataset that holds them for a frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dicomframe.core.dataset import Dataset
from dicomframe.errors import InvalidDicomError
from dicomframe.rendering.luts import (
    LUT,
    expand_segmented_lut,
    lut_descriptor,
    lut_entries,
    segmented_entries,
)
from dicomframe.rendering.pipeline import (
    CENTER,
    FUNCTION,
    VOI_FUNCTIONS,
    WIDTH,
    rescale,
    window_problem,
)

__all__ = [
    "FRAME_VOI_LUT",
    "PIXEL_VALUE_TRANSFORMATION",
    "frame_source",
    "read_lut",
    "read_modality",
    "read_modality_transform",
    "read_voi",
    "read_voi_function",
    "read_window_range",
]

Array = np.ndarray[Any, Any]

MODALITY_LUT, VOI_LUT = 0x00283000, 0x00283010  # Modality / VOI LUT Sequence
LUT_DESCRIPTOR, LUT_DATA = 0x00283002, 0x00283006
SLOPE, INTERCEPT = 0x00281053, 0x00281052
PIXEL_VALUE_TRANSFORMATION = 0x00289145  # PS3.3 C.7.6.16.2.9: a frame's rescale
FRAME_VOI_LUT = 0x00289132  # PS3.3 C.7.6.16.2.10: a frame's windows (or VOI LUTs)
_BITS_ALLOCATED, _BITS_STORED, _REPRESENTATION = 0x00280100, 0x00280101, 0x00280103

Transform = LUT | tuple[float, float] | None


def frame_source(ds: Dataset, frame: int | None, sequence: int) -> Dataset:
    """The dataset that holds frame ``frame``'s ``sequence`` attributes: an item, or ``ds``.

    ``sequence`` is :data:`PIXEL_VALUE_TRANSFORMATION` or :data:`FRAME_VOI_LUT`. With
    ``frame`` None, or when the frame's functional groups (shared or per-frame) have no
    such sequence, the top-level attributes describe the frame: ``ds`` itself.

    Raises
    ------
    ValueError
        For a frame the dataset does not have (negative counts from the last).
    InvalidDicomError
        For functional groups the file gets wrong (too few items, not a sequence).
    """
    if frame is None:
        return ds
    try:
        groups = ds.frame_functional_groups(frame)
    except KeyError:  # no functional groups: the top-level modules describe every frame
        count = _frame_count(ds)
        if not -count <= frame < count:
            raise ValueError(f"frame={frame}: the dataset has {count} frames") from None
        return ds
    except IndexError as exc:
        raise ValueError(f"frame={frame}: {exc}") from exc
    items = _items(groups, sequence)
    return items[0] if items else ds


def read_modality_transform(ds: Dataset, *, signed: bool) -> Transform:
    """PS3.3 C.11.1: the Modality LUT Sequence's first item as a LUT, else ``(slope, intercept)``.

    None when the dataset has neither. A Rescale Slope without an Intercept (or the
    reverse), which the standard does not allow, counts with the other's identity value.
    """
    items = _items(ds, MODALITY_LUT)
    if items:
        return read_lut(items[0], LUT_DESCRIPTOR, LUT_DATA, signed=signed)
    slope, intercept = _numbers(ds, SLOPE), _numbers(ds, INTERCEPT)
    if not (slope or intercept):
        return None
    return (slope or [1.0])[0], (intercept or [0.0])[0]


def read_modality(ds: Dataset, values: Array, *, signed: bool) -> Array:
    """The Modality LUT or rescale of :func:`read_modality_transform` applied: float64.

    Returns ``values`` unchanged when the dataset has neither.
    """
    transform = read_modality_transform(ds, signed=signed)
    if transform is None:
        return values
    if isinstance(transform, LUT):
        return transform.apply(values) * 1.0
    return rescale(values, *transform)


def read_window_range(image: Dataset, modality: Dataset) -> tuple[float, float]:
    """The ``(y_min, y_max)`` a window from a dataset maps onto: its input's own range.

    The window's input is the Modality LUT's output (``modality``: the image, or a
    frame's Pixel Value Transformation item), so its range is the output range: a
    Modality LUT's ``0 .. 2**bits - 1`` (PS3.3 C.11.1.1.1), else the stored values'
    range (``image``'s Bits Stored, else Bits Allocated, and Pixel Representation),
    rescaled when there is a rescale. This is the range pydicom's ``apply_windowing``
    gives, so that a window keeps the units and depth of its input.
    """
    signed = _integer(image, _REPRESENTATION) == 1
    transform = read_modality_transform(modality, signed=signed)
    if isinstance(transform, LUT):
        return 0, 2**transform.bits - 1
    bits = _integer(image, _BITS_STORED) or _integer(image, _BITS_ALLOCATED)
    if not bits:
        raise InvalidDicomError(
            "Bits Stored is missing or 0: no range to window to", tag=_BITS_STORED
        )
    y_min: float
    y_max: float
    y_min, y_max = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if transform is not None:
        slope, intercept = transform
        y_min, y_max = y_min * slope + intercept, y_max * slope + intercept
    return y_min, y_max


def read_voi(
    ds: Dataset,
    index: int,
    *,
    signed: bool,
    function: str | None = None,
    prefer_lut: bool = True,
) -> LUT | tuple[float, float, str] | None:
    """VOI ``index``: a VOI LUT, a ``(center, width, function)`` window, or None.

    VOI LUT Sequence item ``index`` when there is a sequence and ``prefer_lut`` (or no
    window), else Window Center/Width pair ``index`` with the VOI LUT Function
    (``function`` instead, when given); None for index 0 of a dataset with neither.

    Raises
    ------
    InvalidDicomError
        For a window the file gets wrong (:func:`~dicomframe.rendering.window_problem`)
        or a bad LUT, naming the tag.
    ValueError
        For an ``index`` the dataset has no VOI for, or an unknown ``function``.
    """
    sequence = _items(ds, VOI_LUT)
    centers, widths = _numbers(ds, CENTER), _numbers(ds, WIDTH)
    windows = min(len(centers), len(widths))
    if sequence and (prefer_lut or not windows):
        if not 0 <= index < len(sequence):
            raise ValueError(f"voi={index}: the dataset has {len(sequence)} VOI LUT Sequence items")
        return read_lut(sequence[index], LUT_DESCRIPTOR, LUT_DATA, signed=signed)
    if windows == 0 and index == 0:
        return None
    if not 0 <= index < windows:
        raise ValueError(f"voi={index}: the dataset has {windows} Window Center/Width pairs")
    if function is not None and function.strip().upper() not in VOI_FUNCTIONS:
        raise ValueError(f"VOI LUT Function {function!r} is not one of {', '.join(VOI_FUNCTIONS)}")
    name = read_voi_function(ds) if function is None else function.strip().upper()
    problem = window_problem(centers[index], widths[index], name)
    if problem is not None:
        tag, message = problem
        raise InvalidDicomError(message, tag=tag)
    return centers[index], widths[index], name


def read_voi_function(ds: Dataset) -> str:
    """VOI LUT Function (0028,1056) in upper case; LINEAR when absent or empty.

    Raises
    ------
    InvalidDicomError
        For a term PS3.3 C.11.2.1.3 does not define.
    """
    value = ds.get(FUNCTION)
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("latin-1")
    name = str(value or "").strip(" \x00").upper() or "LINEAR"
    if name not in VOI_FUNCTIONS:
        raise InvalidDicomError(
            f"VOI LUT Function {name!r} is not one of {', '.join(VOI_FUNCTIONS)}", tag=FUNCTION
        )
    return name


def read_lut(
    ds: Dataset, descriptor_tag: int, data_tag: int, *, signed: bool, segmented: bool = False
) -> LUT:
    """A LUT from its Descriptor and (Segmented) Data elements; InvalidDicomError if bad."""
    if data_tag not in ds:
        raise InvalidDicomError("a LUT Descriptor or its LUT Data is missing", tag=descriptor_tag)
    entries, first, bits = _descriptor(ds, signed=signed, tag=descriptor_tag)
    data = ds[data_tag]
    try:
        if segmented:
            raw = segmented_entries(data.value, bits, little_endian=data.little_endian)
            # The descriptor counts the entries (C.7.6.3.1.5): extra ones are never looked up.
            table = expand_segmented_lut(raw, bits)[:entries]
        else:
            table = lut_entries(data.value, entries, little_endian=data.little_endian)
    except (TypeError, ValueError) as exc:
        raise InvalidDicomError(str(exc), tag=data_tag) from exc
    if table.size == 0:
        raise InvalidDicomError("the LUT Data gives no entries", tag=data_tag)
    return LUT(table, first, bits)


def _descriptor(ds: Dataset, *, signed: bool, tag: int = LUT_DESCRIPTOR) -> tuple[int, int, int]:
    """A LUT Descriptor's ``(entries, first_mapped, bits)``, checked (PS3.3 C.11.1.1.1)."""
    if tag not in ds:
        raise InvalidDicomError("a LUT Descriptor or its LUT Data is missing", tag=tag)
    descriptor = ds[tag]
    try:
        entries, first, bits = lut_descriptor(
            descriptor.value, signed=signed or descriptor.vr == "SS"
        )
    except (TypeError, ValueError) as exc:
        raise InvalidDicomError(str(exc), tag=tag) from exc
    if not 1 <= bits <= 16:  # PS3.3 C.11.1.1.1, C.11.2.1.1, C.7.6.3.1.5: 8 to 16 in practice
        raise InvalidDicomError(f"LUT Descriptor gives {bits} bits an entry, not 1 to 16", tag=tag)
    return entries, first, bits


def _items(ds: Dataset, tag: int) -> list[Dataset]:
    """A sequence's items ([] when absent or empty); InvalidDicomError when it is no sequence."""
    value = ds.get(tag)
    if isinstance(value, list) and all(isinstance(item, Dataset) for item in value):
        return value
    if value is None or (isinstance(value, str | bytes | bytearray | memoryview) and not value):
        return []
    raise InvalidDicomError(f"expected a sequence of items, not {type(value).__name__}", tag=tag)


def _numbers(ds: Dataset, tag: int) -> list[float]:
    value = ds.get(tag)
    if value is None or value == "":
        return []
    try:
        return [float(v) for v in (value if isinstance(value, list) else [value])]
    except (TypeError, ValueError):
        raise InvalidDicomError(f"value {value!r} is not a number", tag=tag) from None


def _integer(ds: Dataset, tag: int) -> int | None:
    numbers = _numbers(ds, tag)
    return int(numbers[0]) if numbers else None


def _frame_count(ds: Dataset) -> int:
    return _integer(ds, 0x00280008) or 1
