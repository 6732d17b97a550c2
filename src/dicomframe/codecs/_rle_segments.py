"""An RLE frame segment by segment, for the encoders whose backend packs one segment at a time.

imagecodecs-rle and pylibjpeg-rle both encode a frame here
(:func:`encode_segments`): the byte planes are cut from the values with
numpy (:func:`byte_planes`), each plane is handed to the backend's PackBits,
and :func:`dicomframe.codecs.rle.encapsulate_segments` writes the header.

A plane PackBits cannot shrink is not handed over but stored as literal runs
(:func:`literal_segment`). The low byte of CT and MR values is close to
noise: PackBits finds almost no run of three equal bytes in it, and a
byte-by-byte encoder spends as long looking as on a plane it does compress
(imagecodecs 0.45 ms, pylibjpeg-rle 0.9 ms for a 512x512 plane, for an
output of the plane's size plus 4 bytes a row). Literal runs of 128 bytes,
each row on its own (PS3.5 G.3.1), take one strided copy: about 0.1 ms with
the check below.

:func:`incompressible` counts the places where three equal bytes follow one
another. A run of ``L`` equal bytes holds ``L - 2`` of them and a replicate
run saves at most ``L - 2`` bytes over literals, so literal runs cost at
most that count more than the best PackBits: a plane is stored only when
the count is at most 1/256 of its bytes. Every RLE decoder reads the result
(literal runs are the first half of PackBits); only the bytes differ from a
searching encoder's, by a fraction of a percent in size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from dicomframe.core.frame import NativeFrame

__all__ = ["byte_planes", "encode_segments", "incompressible", "literal_segment"]

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


def byte_planes(frame: NativeFrame) -> Iterator[Array]:
    """Each segment's bytes as a C-contiguous ``(rows, columns)`` array, in the order of PS3.5 G.2.

    Sample by sample, most significant byte first. A byte is cut from the
    values with a shift and a narrowing cast (4x faster than a transposed
    copy of the frame's bytes: 50 us for 512x512 16-bit); 8-bit grey is
    handed over in place.
    """
    info = frame.info
    width = info.bits_allocated // 8
    # Little endian, samples interleaved (YBR_FULL_422 chroma already upsampled)
    values = np.ascontiguousarray(frame.array).reshape(info.rows, info.columns, -1)
    unsigned = values.view(np.dtype(f"<u{width}"))
    for sample in range(unsigned.shape[2]):
        plane = unsigned[:, :, sample]
        for shift in range(8 * (width - 1), -1, -8):
            if width == 1:  # a copy of its own strides: backends check them, even for 1x1
                yield plane if unsigned.shape[2] == 1 else plane.copy()
            else:
                yield (plane >> shift if shift else plane).astype(np.uint8)


def encode_segments(
    frame: NativeFrame, pack: Callable[[Array], bytes | bytearray]
) -> list[bytes | bytearray | memoryview]:
    """The frame's segments, in order: ``pack`` (a backend's PackBits) or stored as literals."""
    return [
        literal_segment(plane) if incompressible(plane) else pack(plane)
        for plane in byte_planes(frame)
    ]
