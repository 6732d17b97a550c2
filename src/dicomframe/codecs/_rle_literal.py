"""RLE segments that PackBits cannot shrink, stored as literal runs with numpy.

The low byte of CT and MR values is close to noise: PackBits finds almost no
run of three equal bytes in it, and a byte-by-byte encoder spends as long
looking as on a plane it does compress (imagecodecs: 0.45 ms for a 512x512
plane, for an output of the plane's size plus 4 bytes a row). Such a plane
is written here as literal runs of 128 bytes, each row on its own (PS3.5
G.3.1), in one strided copy: about 0.1 ms with the check below.

:func:`incompressible` counts the places where three equal bytes follow one
another. A run of ``L`` equal bytes holds ``L - 2`` of them and a replicate
run saves at most ``L - 2`` bytes over literals, so literal runs cost at
most that count more than the best PackBits: a plane is stored only when
the count is at most 1/256 of its bytes. Every RLE decoder reads the result
(literal runs are the first half of PackBits); only the bytes differ from a
searching encoder's, by a fraction of a percent in size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["incompressible", "literal_segment"]

Array = np.ndarray[Any, Any]

_SHARE = 256  # stored when runs could save at most 1/_SHARE of the plane
_SAMPLE = 16  # rows looked at first: a plane of runs is told apart for a few microseconds
_RUN = 128  # the longest literal run (header byte 127)


def _triples(rows: Array) -> int:
    """How many bytes start three equal bytes in a row (over rows when ``rows`` is flat)."""
    same = rows[..., 1:] == rows[..., :-1]
    return int(np.count_nonzero(same[..., 1:] & same[..., :-1]))


def incompressible(plane: Array) -> bool:
    """True when PackBits could save at most 1/256 of ``plane`` (``(rows, columns)`` bytes).

    A sample of rows is looked at first, so that a plane full of runs (the
    high byte of most images) costs a few microseconds; the whole plane is
    counted as one line, which can only over-count (three equal bytes across
    the end of a row), never store a plane that PackBits would shrink more.
    """
    rows = plane.shape[0]
    step = rows // _SAMPLE
    if step > 1:
        sample = plane[::step]
        if _triples(sample) * _SHARE > sample.size:
            return False
    return _triples(np.ascontiguousarray(plane).reshape(-1)) * _SHARE <= plane.size


def literal_segment(plane: Array) -> memoryview:
    """``plane`` (``(rows, columns)`` bytes) as PackBits literal runs, each row on its own."""
    rows, columns = plane.shape
    full, rest = divmod(columns, _RUN)
    width = columns + full + (1 if rest else 0)  # a header byte before every run
    out = np.empty((rows, width), dtype=np.uint8)
    if full:
        runs = out[:, : full * (_RUN + 1)].reshape(rows, full, _RUN + 1)
        runs[:, :, 0] = _RUN - 1
        runs[:, :, 1:] = plane[:, : full * _RUN].reshape(rows, full, _RUN)
    if rest:
        out[:, full * (_RUN + 1)] = rest - 1
        out[:, full * (_RUN + 1) + 1 :] = plane[:, full * _RUN :]
    return out.reshape(-1).data
