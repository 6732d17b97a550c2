"""Lookup tables (descriptors, data, segmented expansion) against pydicom 3 and by hand.

Indirect segments of 16-bit segmented LUTs follow PS3.3 C.7.9.2.3 (a byte offset),
where pydicom reads an entry index: those are checked by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydicom.pixels.processing import (
    _expand_segmented_lut,
)

from dicomframe import rendering


@pytest.mark.parametrize(
    ("values", "signed", "expected"),
    [
        ([0, 0, 16], False, (65536, 0, 16)),
        ([256, 65535, 8], True, (256, -1, 8)),
        ([256, 65535, 8], False, (256, 65535, 8)),
        ([256, -1, 8], True, (256, -1, 8)),
        ([-32768, -32768, 16], True, (32768, -32768, 16)),
        ([4096, 32768, 12], False, (4096, 32768, 12)),
    ],
)
def test_lut_descriptor(values: list[int], signed: bool, expected: Any) -> None:
    assert rendering.lut_descriptor(values, signed=signed) == expected


def test_lut_descriptor_needs_three_values() -> None:
    with pytest.raises(ValueError, match="3 values"):
        rendering.lut_descriptor([256, 0], signed=False)


@pytest.mark.parametrize(
    ("data", "count", "little_endian", "expected"),
    [
        ([1, 2, 65535], 3, True, [1, 2, 65535]),
        (7, 1, True, [7]),
        (b"\x01\x00\x00\x01\xff\xff", 3, True, [1, 256, 65535]),
        (b"\x00\x01\x01\x00\xff\xff", 3, False, [1, 256, 65535]),
        (b"\x01\x02\x03\x04", 4, True, [1, 2, 3, 4]),  # 8 bits allocated: a byte an entry
        (b"\x02\x01\x04\x03", 4, False, [1, 2, 3, 4]),  # big endian OW swaps byte pairs
        (b"\x01\x02\x03\x00", 3, True, [1, 2, 3]),  # odd count, padded
        (b"\x01\x02\x03\x04\x05\x06\x07\x08", 3, True, [0x0201, 0x0403, 0x0605]),
    ],
)
def test_lut_entries(data: Any, count: int, little_endian: bool, expected: Any) -> None:
    entries = rendering.lut_entries(data, count, little_endian=little_endian)
    assert entries.tolist() == expected


@pytest.mark.parametrize(("data", "count"), [([1, 2], 3), (b"\x01\x02", 3)])
def test_lut_entries_too_short(data: Any, count: int) -> None:
    with pytest.raises(ValueError, match="the descriptor says 3"):
        rendering.lut_entries(data, count)


def test_lut_apply_clips_and_floors() -> None:
    lut = rendering.LUT(np.array([10, 20, 30], np.uint16), -1, 16)
    assert lut.apply(np.array([-5, -1, 0, 1, 2, 99])).tolist() == [10, 10, 20, 30, 30, 30]
    assert lut.apply(np.array([-1.5, -0.5, 0.99, np.nan, np.inf])).tolist() == [10, 10, 20, 10, 30]
    assert lut.apply(np.array([1], np.uint16)).dtype == np.uint16


SEGMENTED = {
    "discrete": ([0, 3, 10, 20, 5], 8),
    "linear-up": ([0, 1, 0, 1, 255, 255], 8),
    "linear-down": ([0, 1, 200, 1, 7, 3], 8),
    "linear-flat": ([0, 2, 9, 9, 1, 4, 9], 8),
    "indirect-8bit": ([0, 2, 1, 2, 1, 3, 50, 2, 2, 0, 0, 0, 0], 8),
    "indirect-8bit-offset": ([0, 1, 5, 0, 2, 6, 7, 1, 2, 9, 2, 1, 3, 0, 0, 0, 0], 8),
    "16bit": ([0, 2, 1000, 65535, 1, 100, 0, 1, 3, 40000], 16),
    "indirect-16bit-at-0": ([0, 1, 300, 1, 4, 900, 2, 2, 0, 0], 16),
    "trailing-pad": ([0, 1, 42, 1, 2, 44, 0], 8),
}


@pytest.mark.parametrize("name", SEGMENTED)
def test_segmented_lut_matches_pydicom(name: str) -> None:
    data, bits = SEGMENTED[name]
    fmt = f"<{len(data)}{'B' if bits == 8 else 'H'}"
    expected = _expand_segmented_lut(tuple(data), fmt)
    ours = rendering.expand_segmented_lut(data, bits)
    assert ours.tolist() == expected
    assert ours.dtype == (np.uint8 if bits == 8 else np.uint16)


def test_segmented_indirect_16bit_offset_is_in_bytes() -> None:
    # discrete [10, 20]; linear to 50 in 3; discrete [0]; indirect: 1 segment at byte 8 = entry 4,
    # the linear segment, re-expanded from the last value 0 (PS3.3 C.7.9.2.3).
    data = [0, 2, 10, 20, 1, 3, 50, 0, 1, 0, 2, 1, 8, 0]
    expected = [10, 20, 30, 40, 50, 0, 17, 33, 50]
    assert rendering.expand_segmented_lut(data, 16).tolist() == expected
    # pydicom 3.0 reads the offset as an entry index: it re-expands from entry 8 and fails.
    with pytest.raises(ValueError, match="first segment cannot be a linear"):
        _expand_segmented_lut(tuple(data), f"<{len(data)}H")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2, 5], "linear segment cannot come first"),
        ([2, 1, 0, 0], "indirect segment cannot come first"),
        ([0, 1, 5, 3, 1, 1], "unknown segment type 3"),
        ([0, 1, 5, 2, 1, 3, 0, 0, 0, 2, 1, 0, 0, 0, 0], "nest"),
    ],
)
def test_segmented_lut_errors(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rendering.expand_segmented_lut(data, 8)


def test_segmented_entries_byte_order() -> None:
    raw = bytes([0, 2, 7, 9])
    assert rendering.segmented_entries(raw, 8).tolist() == [0, 2, 7, 9]
    assert rendering.segmented_entries(bytes([2, 0, 9, 7]), 8, little_endian=False).tolist() == [
        0,
        2,
        7,
        9,
    ]
    assert rendering.segmented_entries(raw, 16).tolist() == [0x0200, 0x0907]
    assert rendering.segmented_entries(raw, 16, little_endian=False).tolist() == [0x0002, 0x0709]


def test_segmented_lut_expansion_is_bounded() -> None:
    # Two linear segments of 65535 entries: past any LUT Descriptor's 65536.
    with pytest.raises(ValueError, match="expands past 65536 entries"):
        rendering.expand_segmented_lut([0, 1, 5, 1, 65535, 9, 1, 65535, 7], 16)
    # Zero-length segments add nothing, and indirect ones could repeat them without end.
    zero_length = [0, 0] * 100_000
    data = [0, 1, 5, *zero_length, *([2, 65535, 6, 0] * 10)]  # byte 6: the first empty one
    with pytest.raises(ValueError, match="or 262144 segments"):
        rendering.expand_segmented_lut(data, 16)


def test_segmented_lut_cut_short_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="a linear segment at entry 3 needs 1 values"):
        rendering.expand_segmented_lut([0, 1, 5, 1, 4], 16)
    with pytest.raises(ValueError, match="an indirect segment at entry 3 needs 2 values"):
        rendering.expand_segmented_lut([0, 1, 5, 2, 1, 0], 16)
    assert rendering.expand_segmented_lut([0, 1, 5, 1, 0, 9], 16).tolist() == [5]  # length 0
