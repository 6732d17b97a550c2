"""RLE Lossless (PS3.5 Annex G) with imagecodecs' PackBits, written in C: encoding and decoding.

Each segment (one byte of one sample, most significant first, PS3.5 G.2) is
handed to ``imagecodecs.packbits_encode`` as a ``(rows, columns)`` array of
bytes; imagecodecs encodes every row on its own, so no run crosses a row
(PS3.5 G.3.1). A segment PackBits cannot shrink (the low byte of CT
values, close to noise) is stored as literal runs with numpy instead
(:mod:`dicomframe.codecs._rle_literal`): 0.12 ms where imagecodecs takes
0.45 ms to find no run, for the same bytes or a fraction of a percent more.
:func:`dicomframe.codecs.rle.encapsulate_segments` pads the segments and
writes the header. 512x512 int16 CT: 0.9-1.8 ms a frame, where
pylibjpeg-rle's encoder takes 7.4-10.6 ms and the numpy encoder 2.5-4.3 ms
(``benchmarks/bench_startup.py``, section 5, on a shared machine).

Its PackBits is the common one, not pydicom's: a run of two equal bytes
inside literal bytes stays literal. Both are valid PackBits, which every
RLE decoder reads (pydicom's, DCMTK's, pylibjpeg-rle, ours); only the bytes
differ. imagecodecs loads only its ``_imcd`` extension for PackBits (its
package imports lazily), so the first encode costs a few milliseconds of
imports. The backend releases the GIL while it encodes.

Decoding unpacks each segment straight into its row of one
``(segments, pixels)`` byte array, which is never larger than the frame:
a segment that would decode past its plane (a PackBits bomb, or a damaged
stream) is refused rather than allocated, and a short one is named. The
byte planes are then shifted into values as the numpy decoder does. 512x512
int16 CT: 0.6 ms a frame, against 1.8 ms for pylibjpeg-rle, whose import
also loads ``importlib.metadata``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.codecs import rle
from dicomframe.codecs._rle_literal import incompressible, literal_segment
from dicomframe.codecs.imagecodecs.common import RLE_NAME, encoder_failed
from dicomframe.errors import DecodeError
from dicomframe.plugins.helpers import decode_target

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["decode_rle", "encode_rle"]


def encode_rle(frame: NativeFrame, syntax: TransferSyntax, /, **_options: Any) -> EncapsulatedFrame:
    """Encode a frame as RLE Lossless, segment by segment, with imagecodecs' PackBits."""
    import imagecodecs

    rle.check_encodable(frame, RLE_NAME)
    try:
        segments = [
            literal_segment(plane) if incompressible(plane) else imagecodecs.packbits_encode(plane)
            for plane in _byte_planes(frame)
        ]
    except (ValueError, RuntimeError) as exc:  # imagecodecs errors are RuntimeErrors
        raise encoder_failed(RLE_NAME, exc) from exc
    return rle.encapsulate_segments(segments, frame)


def _byte_planes(frame: NativeFrame) -> Iterator[np.ndarray[Any, Any]]:
    """Each segment's bytes as a ``(rows, columns)`` array, in the order of PS3.5 G.2.

    Sample by sample, most significant byte first. A byte is cut from the
    values with a shift and a narrowing cast (4x faster than a transposed
    copy of the frame's bytes: 50 us for 512x512 16-bit); 8-bit grey is
    encoded in place.
    """
    info = frame.info
    width = info.bits_allocated // 8
    # Little endian, samples interleaved (YBR_FULL_422 chroma already upsampled)
    values = np.ascontiguousarray(frame.array).reshape(info.rows, info.columns, -1)
    unsigned = values.view(np.dtype(f"<u{width}"))
    for sample in range(unsigned.shape[2]):
        plane = unsigned[:, :, sample]
        for shift in range(8 * (width - 1), -1, -8):
            if width == 1:  # a copy of its own strides: imagecodecs checks them, even for 1x1
                yield plane if unsigned.shape[2] == 1 else plane.copy()
            else:
                yield (plane >> shift if shift else plane).astype(np.uint8)


def decode_rle(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode an RLE Lossless frame with imagecodecs' PackBits (into ``out=`` when it fits)."""
    import imagecodecs

    info = frame.info
    data = frame.data if isinstance(frame.data, bytes) else bytes(frame.data)
    pixels = info.rows * info.columns
    try:
        spans = rle.parse_header(data, info)
    except ValueError as exc:
        raise DecodeError(str(exc), codec=RLE_NAME, frame_index=frame.index) from exc
    planes = np.empty((len(spans), pixels), dtype=np.uint8)
    for index, (start, end) in enumerate(spans):
        segment = data[start:end]
        try:
            got = len(imagecodecs.packbits_decode(segment, out=planes[index]))
        except (ValueError, RuntimeError):  # ImcdError: the segment runs past its plane
            got = _cut_last_run(segment, planes[index], index, frame.index)
        if got != pixels:
            raise DecodeError(
                f"RLE segment {index} decodes to {got} bytes; the frame's "
                f"{info.rows}x{info.columns} pixels need {pixels}",
                codec=RLE_NAME,
                frame_index=frame.index,
            )
    pieces = [(index, 0, plane) for index, plane in enumerate(planes)]
    out = decode_target(options, rle.decoded_info(info), f"<u{info.bits_allocated // 8}")
    return rle.native_frame(rle.segments_to_values(pieces, info, out), info)


def _cut_last_run(
    segment: bytes, plane: np.ndarray[Any, Any], index: int, frame: int | None
) -> int:
    """A segment whose last run overshoots its plane is cut there, as the other decoders do.

    Only one run's worth (at most 128 bytes) past the plane is tolerated: more
    is damage, or a bomb, and is refused without being allocated.
    """
    import imagecodecs

    pixels = plane.size
    try:
        decoded = imagecodecs.packbits_decode(segment, out=pixels + 128)
    except (ValueError, RuntimeError) as exc:
        raise DecodeError(
            f"RLE segment {index} decodes to more than the {pixels} bytes of its plane",
            codec=RLE_NAME,
            frame_index=frame,
        ) from exc
    got = min(len(decoded), pixels)
    plane[:got] = np.frombuffer(decoded, dtype=np.uint8, count=got)
    return got
