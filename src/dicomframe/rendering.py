"""Rendering: the grayscale and colour display pipelines, step by step.

The grayscale pipeline of PS3.3 C.11 and PS3.4 N.2.1.1, one function a step::

    stored values -> Modality LUT  rescale() or LUT.apply()            (C.11.1)
                  -> VOI           window(), LUT.apply() or stretch()  (C.11.2)
                  -> 8-bit display to_display(..., invert=MONOCHROME1) (C.7.6.3.1.2)

:func:`render_gray` chains the last two; :func:`apply_palette` renders PALETTE COLOR
(C.7.6.3.1.5-6, segmented data C.7.9.2). YBR to RGB is :mod:`dicomframe.color`'s.

The contract: the pipeline functions take arrays and numbers, never modify their input
and say what dtype they return. ``window`` and ``stretch`` return float64 in
``[0, y_max]`` (255 by default); :func:`to_display` rounds to uint8 (half to even, as
:func:`numpy.rint`). They raise ValueError for parameters they cannot use. Only the
readers at the end (``read_*``) look at a dataset: they turn its attributes into these
functions' parameters, import nothing for it, and refuse what the file gets wrong with
:class:`~dicomframe.errors.InvalidDicomError` naming the tag, before any of it is used:
a Window Width below 1 (LINEAR) or not above 0 (LINEAR_EXACT, SIGMOID; PS3.3
C.11.2.1.2-3, as pydicom refuses it), an unknown VOI LUT Function, a LUT Descriptor
whose bits are not 1 to 16, LUT Data that is short, empty or expands past 65536
entries, a sequence that is not one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.errors import InvalidDicomError

if TYPE_CHECKING:
    from dicomframe.core.dataset import Dataset

__all__ = [
    "LUT",
    "VOI_FUNCTIONS",
    "apply_palette",
    "expand_segmented_lut",
    "lut_descriptor",
    "lut_entries",
    "read_modality",
    "read_palette",
    "read_voi",
    "read_voi_function",
    "render_color",
    "render_gray",
    "rescale",
    "scale_to_8bit",
    "segmented_entries",
    "stretch",
    "to_display",
    "window",
    "window_problem",
]

Array = np.ndarray[Any, Any]

# PS3.3 C.11.2.1.3: the defined terms of VOI LUT Function (0028,1056).
VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")
_CENTER, _WIDTH, _FUNCTION = 0x00281050, 0x00281051, 0x00281056
_MAX_ENTRIES = 65536  # a LUT Descriptor's first value counts at most 2**16 entries
_MAX_SEGMENTS = 4 * _MAX_ENTRIES  # every useful segment adds an entry: room for padding


@dataclass(frozen=True, slots=True)
class LUT:
    """A lookup table: ``entries[i]`` is the output for the input ``first_mapped + i``.

    ``entries`` is 1-D uint8 or uint16; ``bits`` the nominal bits per entry (the
    descriptor's third value), so outputs lie in ``0 .. 2**bits - 1``.
    """

    entries: Array
    first_mapped: int
    bits: int

    def apply(self, values: Array) -> Array:
        """Look ``values`` up, in the entries' dtype (PS3.3 C.11.1.1.1, C.11.2.1.1).

        Inputs below the first mapped value give the first entry, inputs past the
        table the last; float inputs are truncated towards minus infinity.
        """
        values = np.asarray(values)
        if values.dtype.kind == "f":
            index = np.floor(values - self.first_mapped)
            index = np.nan_to_num(index, nan=0.0, posinf=len(self.entries), neginf=0.0)
        else:
            index = values.astype(np.int64) - self.first_mapped
        clipped = np.clip(index, 0, len(self.entries) - 1).astype(np.intp)
        out: Array = self.entries[clipped]
        return out


def lut_descriptor(values: Sequence[int], *, signed: bool) -> tuple[int, int, int]:
    """``(entries, first_mapped, bits)`` from a LUT Descriptor, whichever VR it was read with.

    A first value 0 means 65536 entries; the second is signed when ``signed``
    (Pixel Representation 1 or VR SS; PS3.3 C.11.1.1.1, C.7.6.3.1.5).
    """
    if len(values) != 3:
        raise ValueError(f"a LUT Descriptor has 3 values, not {values!r}")
    entries = int(values[0]) % 65536 or 65536
    first = int(values[1]) % 65536
    if signed and first >= 32768:
        first -= 65536
    return entries, first, int(values[2])


def lut_entries(
    data: bytes | memoryview | Sequence[int] | int, count: int, *, little_endian: bool = True
) -> Array:
    """The first ``count`` entries of LUT Data (VR US numbers, or OW bytes as stored).

    OW data shorter than two bytes an entry holds one byte an entry (8 bits
    allocated, PS3.3 C.7.6.3.1.6), else one 16-bit word an entry. Returns uint8 or uint16.
    """
    if isinstance(data, int):
        data = [data]
    if not isinstance(data, bytes | bytearray | memoryview):
        words = np.asarray(data, dtype=np.int64)
        if words.size < count:
            raise ValueError(f"LUT Data holds {words.size} entries, the descriptor says {count}")
        return (words[:count] & 0xFFFF).astype(np.uint16)
    raw = bytes(data)
    if len(raw) >= 2 * count:
        return np.frombuffer(raw, dtype="<u2" if little_endian else ">u2")[:count].astype(np.uint16)
    if len(raw) < count:
        raise ValueError(f"LUT Data holds {len(raw)} bytes, the descriptor says {count} entries")
    return _le_bytes(raw, little_endian)[:count]


def _le_bytes(raw: bytes, little_endian: bool) -> Array:
    """OW bytes in little-endian word order (big endian OW swaps each byte pair, PS3.5 7.3)."""
    data = np.frombuffer(raw, dtype=np.uint8)
    if little_endian or len(raw) < 2:
        return data
    even = len(raw) - len(raw) % 2
    return np.concatenate([data[:even].reshape(-1, 2)[:, ::-1].reshape(-1), data[even:]])


def segmented_entries(raw: bytes | memoryview, bits: int, *, little_endian: bool = True) -> Array:
    """Segmented Palette Color LUT Data (OW) as entries: bytes for 8-bit tables, else words."""
    if bits <= 8:
        return _le_bytes(bytes(raw), little_endian)
    return np.frombuffer(bytes(raw), dtype="<u2" if little_endian else ">u2").astype(np.uint16)


def expand_segmented_lut(data: Sequence[int] | Array, bits: int) -> Array:
    """Expand segmented LUT data (PS3.3 C.7.9.2), one number an entry, into a table.

    Discrete segments copy their values; linear ones connect the previous entry to
    their end value (rounded half to even, as pydicom does); indirect ones re-expand
    earlier segments. The indirect offset is a *byte* offset from the start of the
    data, as C.7.9.2.3 says (pydicom 3.0 reads it as an entry index, which differs
    for 16-bit tables unless it is 0). Returns uint8 for ``bits <= 8``, else uint16.

    Raises
    ------
    ValueError
        For a segment cut short, of an unknown type, or in the wrong place, and for
        a table that grows past 65536 entries (a LUT Descriptor's most): a few
        hundred bytes of linear segments could otherwise ask for gigabytes.
    """
    values = [int(v) for v in np.asarray(data).tolist()]
    out: list[int] = []
    _expand(values, 0, None, bits, out)
    return np.asarray(out, dtype=np.uint8 if bits <= 8 else np.uint16)


def _expand(data: list[int], start: int, limit: int | None, bits: int, out: list[int]) -> int:
    """Expand segments from entry ``start``; at most ``limit`` of them (indirect copies).

    Returns how many segments were expanded, copies included, so that the work stays
    bounded: zero-length segments add no entries, and indirect ones could repeat them.
    """
    offset, done, visited = start, 0, 0
    # offset + 1: a trailing pad entry cannot start a segment (every segment is 2+ entries).
    while offset + 1 < len(data) and (limit is None or done < limit):
        opcode, length = data[offset], data[offset + 1]
        offset += 2
        if opcode == 0:  # C.7.9.2.1 discrete (cut short: what remains, as pydicom reads it)
            out.extend(data[offset : offset + length])
            offset += length
        elif opcode == 1:  # C.7.9.2.2 linear, from the previous entry to y1
            if not out:
                raise ValueError("segmented LUT: a linear segment cannot come first")
            _need(data, offset, 1, "a linear")
            _linear(out, data[offset], length)
            offset += 1
        elif opcode == 2:  # C.7.9.2.3 indirect: copy `length` segments from a byte offset
            offset, copied = _indirect(data, offset, length, bits, out, nested=limit is not None)
            visited += copied
        else:
            raise ValueError(f"segmented LUT: unknown segment type {opcode} at entry {offset - 2}")
        done, visited = done + 1, visited + 1
        if len(out) > _MAX_ENTRIES or visited > _MAX_SEGMENTS:
            raise ValueError(
                f"segmented LUT: expands past {_MAX_ENTRIES} entries or {_MAX_SEGMENTS} segments"
            )
    return visited


def _indirect(
    data: list[int], offset: int, length: int, bits: int, out: list[int], *, nested: bool
) -> tuple[int, int]:
    """Re-expand ``length`` segments from the byte offset at ``offset``.

    Returns the offset after the segment and how many segments were copied.
    """
    if nested or not out:
        raise ValueError("segmented LUT: an indirect segment cannot come first or nest")
    if bits <= 8:
        _need(data, offset, 4, "an indirect")
        byte_offset = int.from_bytes(bytes(data[offset : offset + 4]), "little")
        offset += 4
    else:
        _need(data, offset, 2, "an indirect")
        byte_offset = data[offset] | data[offset + 1] << 16
        offset += 2
    return offset, _expand(data, byte_offset // (1 if bits <= 8 else 2), length, bits, out)


def _need(data: list[int], offset: int, count: int, kind: str) -> None:
    """Refuse a segment whose values run past the end of the data."""
    if offset + count > len(data):
        raise ValueError(
            f"segmented LUT: {kind} segment at entry {offset - 2} needs {count} values; "
            f"{max(len(data) - offset, 0)} remain"
        )


def _linear(out: list[int], y1: int, length: int) -> None:
    if length == 0:  # nothing to connect: no entries
        return
    y0 = out[-1]
    if y0 == y1:
        out.extend([y1] * length)
        return
    step = (y1 - y0) / length
    out.extend(int(v) for v in np.around(np.linspace(y0 + step, y1, length)))


def rescale(values: Array, slope: float, intercept: float) -> Array:
    """The Rescale Slope/Intercept modality transform (PS3.3 C.11.1): float64."""
    out = np.asarray(values).astype(np.float64) * slope
    out += intercept
    return out


def window(
    values: Array, center: float, width: float, *, function: str = "LINEAR", y_max: float = 255.0
) -> Array:
    """Apply a VOI window: float64 values in ``[0, y_max]``.

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
    if function == "SIGMOID":
        with np.errstate(over="ignore"):  # exp overflow -> inf -> y = 0, as intended
            return y_max / (1 + np.exp(-4 * (x - center) / width)) + 0.0
    if function == "LINEAR":
        center, width = center - 0.5, width - 1
    above = x > center + width / 2
    between = (x > center - width / 2) & ~above  # NaN is neither: it shows as 0
    out = np.zeros_like(x)
    out[above] = y_max
    # Only the values between the edges are divided: LINEAR width 1 leaves none (w - 1 = 0).
    out[between] = ((x[between] - center) / width + 0.5) * y_max + 0.0
    return out


def window_problem(center: float, width: float, function: str) -> tuple[int, str] | None:
    """Why a window cannot be applied, and the tag at fault; None when it can.

    PS3.3 C.11.2.1.2: LINEAR needs a Window Width of at least 1; C.11.2.1.3:
    LINEAR_EXACT and SIGMOID need one above 0.
    """
    name = function.strip().upper()
    if name not in VOI_FUNCTIONS:
        return _FUNCTION, f"VOI LUT Function {function!r} is not one of {', '.join(VOI_FUNCTIONS)}"
    if not math.isfinite(center):
        return _CENTER, f"Window Center {center} is not a finite number"
    if name == "LINEAR" and not width >= 1:  # NaN too
        return _WIDTH, f"Window Width {width} must be at least 1 for LINEAR"
    if not 0 < width < math.inf:
        return _WIDTH, f"Window Width {width} must be above 0 (and finite) for {name}"
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


def apply_palette(indices: Array, red: LUT, green: LUT, blue: LUT) -> Array:
    """PALETTE COLOR: look each index up in the three tables, (..., 3) uint8.

    Entries are scaled to 8 bits by their descriptor's bits (16: ``round(v * 255 / 65535)``).
    """
    channels = [scale_to_8bit(lut.apply(indices), lut.bits) for lut in (red, green, blue)]
    return np.stack(channels, axis=-1)


# -- reading the parameters from a dataset (top-level attributes only) -------------------------
def read_modality(ds: Dataset, values: Array, *, signed: bool) -> Array:
    """PS3.3 C.11.1: the Modality LUT Sequence's first item, else Rescale Slope/Intercept.

    Returns float64, or ``values`` unchanged when the dataset has neither.
    """
    items = _items(ds, 0x00283000)
    if items:
        return read_lut(items[0], 0x00283002, 0x00283006, signed=signed).apply(values) * 1.0
    slope, intercept = _numbers(ds, 0x00281053), _numbers(ds, 0x00281052)
    if not (slope or intercept):
        return values
    return rescale(values, (slope or [1.0])[0], (intercept or [0.0])[0])


def read_voi(
    ds: Dataset, index: int, *, signed: bool, function: str | None = None
) -> LUT | tuple[float, float, str] | None:
    """VOI ``index``: a VOI LUT, a ``(center, width, function)`` window, or None.

    VOI LUT Sequence item ``index`` when there is a sequence (as pydicom prefers
    it), else Window Center/Width pair ``index`` with the VOI LUT Function
    (``function`` instead, when given); None for index 0 of a dataset with neither.

    Raises
    ------
    InvalidDicomError
        For a window the file gets wrong (:func:`window_problem`), naming the tag.
    ValueError
        For an ``index`` the dataset has no VOI for, or an unknown ``function``.
    """
    sequence = _items(ds, 0x00283010)
    if sequence:
        count, what = len(sequence), "VOI LUT Sequence items"
    else:
        centers, widths = _numbers(ds, _CENTER), _numbers(ds, _WIDTH)
        count, what = min(len(centers), len(widths)), "Window Center/Width pairs"
        if count == 0 and index == 0:
            return None
    if not 0 <= index < count:
        raise ValueError(f"voi={index}: the dataset has {count} {what}")
    if sequence:
        return read_lut(sequence[index], 0x00283002, 0x00283006, signed=signed)
    if function is not None and function.strip().upper() not in VOI_FUNCTIONS:
        raise ValueError(f"VOI LUT Function {function!r} is not one of {', '.join(VOI_FUNCTIONS)}")
    name = read_voi_function(ds) if function is None else function.strip().upper()
    problem = window_problem(centers[index], widths[index], name)
    if problem is not None:
        tag, message = problem
        raise InvalidDicomError(f"{message}; pass window=(center, width) to choose one", tag=tag)
    return centers[index], widths[index], name


def read_voi_function(ds: Dataset) -> str:
    """VOI LUT Function (0028,1056) in upper case; LINEAR when absent or empty.

    Raises
    ------
    InvalidDicomError
        For a term PS3.3 C.11.2.1.3 does not define.
    """
    value = ds.get(_FUNCTION)
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("latin-1")
    name = str(value or "").strip(" \x00").upper() or "LINEAR"
    if name not in VOI_FUNCTIONS:
        raise InvalidDicomError(
            f"VOI LUT Function {name!r} is not one of {', '.join(VOI_FUNCTIONS)}", tag=_FUNCTION
        )
    return name


def read_palette(ds: Dataset, *, signed: bool) -> tuple[LUT, LUT, LUT]:
    """The Red, Green, Blue Palette Color LUTs, plain or segmented (PS3.3 C.7.6.3.1.5, C.7.9)."""
    luts = []
    for channel in range(3):
        plain, segmented = 0x00281201 + channel, 0x00281221 + channel
        use_segmented = plain not in ds and segmented in ds
        data_tag = segmented if use_segmented else plain
        luts.append(
            read_lut(ds, 0x00281101 + channel, data_tag, signed=signed, segmented=use_segmented)
        )
    return luts[0], luts[1], luts[2]


def read_lut(
    ds: Dataset, descriptor_tag: int, data_tag: int, *, signed: bool, segmented: bool = False
) -> LUT:
    """A LUT from its Descriptor and (Segmented) Data elements; InvalidDicomError if bad."""
    if descriptor_tag not in ds or data_tag not in ds:
        raise InvalidDicomError("a LUT Descriptor or its LUT Data is missing", tag=descriptor_tag)
    descriptor, data = ds[descriptor_tag], ds[data_tag]
    try:
        entries, first, bits = lut_descriptor(
            descriptor.value, signed=signed or descriptor.vr == "SS"
        )
    except (TypeError, ValueError) as exc:
        raise InvalidDicomError(str(exc), tag=descriptor_tag) from exc
    if not 1 <= bits <= 16:  # PS3.3 C.11.1.1.1, C.11.2.1.1, C.7.6.3.1.5: 8 to 16 in practice
        raise InvalidDicomError(
            f"LUT Descriptor gives {bits} bits an entry, not 1 to 16", tag=descriptor_tag
        )
    try:
        if segmented:
            raw = segmented_entries(data.value, bits, little_endian=data.little_endian)
            table = expand_segmented_lut(raw, bits)
        else:
            table = lut_entries(data.value, entries, little_endian=data.little_endian)
    except (TypeError, ValueError) as exc:
        raise InvalidDicomError(str(exc), tag=data_tag) from exc
    if table.size == 0:
        raise InvalidDicomError("the LUT Data gives no entries", tag=data_tag)
    return LUT(table, first, bits)


def _items(ds: Dataset, tag: int) -> list[Dataset]:
    """A sequence's items ([] when absent or empty); InvalidDicomError when it is no sequence."""
    from dicomframe.core.dataset import Dataset

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
