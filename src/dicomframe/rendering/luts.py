"""Lookup tables: the LUT value, its descriptor and data, segmented tables (PS3.3 C.11, C.7.9.2).

A :class:`LUT` is what the Modality LUT, VOI LUT and Palette Color LUT modules all
describe: ``entries[i]`` for input ``first_mapped + i``, inputs outside the table
taking its first or last entry. The functions here turn a LUT Descriptor and LUT Data,
as read from any transfer syntax and VR, into one; they take numbers and bytes, never a
dataset, and raise ValueError for data they cannot use (the readers name the tag).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "LUT",
    "expand_segmented_lut",
    "lut_descriptor",
    "lut_entries",
    "segmented_entries",
]

Array = np.ndarray[Any, Any]

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
