"""RLE Lossless (PS3.5 Annex G) with imagecodecs' PackBits, written in C: encoding and decoding.

Each segment (one byte of one sample, most significant first, PS3.5 G.2) is
handed to ``imagecodecs.packbits_encode`` as a ``(rows, columns)`` array of
bytes; imagecodecs encodes every row on its own, so no run crosses a row
(PS3.5 G.3.1). A segment PackBits cannot shrink (the low byte of CT
values, close to noise) is stored as literal runs with numpy instead
(:mod:`dicomframe.codecs._rle_segments`, which pylibjpeg-rle's encoder
shares): 0.12 ms where imagecodecs takes 0.45 ms to find no run.
pylibjpeg-rle encodes first (this codec's ``encode_priority`` is below its
``priority``): as fast, and a conversion that verifies then decodes with
imagecodecs, the faster decoder.

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

from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.codecs import rle
from dicomframe.codecs._rle_segments import encode_segments
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
        segments = encode_segments(frame, imagecodecs.packbits_encode)
    except (ValueError, RuntimeError) as exc:  # imagecodecs errors are RuntimeErrors
        raise encoder_failed(RLE_NAME, exc) from exc
    return rle.encapsulate_segments(segments, frame)


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
    # Segments are read in place, not copied out first: imagecodecs takes any buffer (its
    # stubs say bytes), and a 256 KB copy is a seventh of the decode.
    view: Any = memoryview(data)
    for index, (start, end) in enumerate(spans):
        segment = view[start:end]
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


def _cut_last_run(segment: Any, plane: np.ndarray[Any, Any], index: int, frame: int | None) -> int:
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
