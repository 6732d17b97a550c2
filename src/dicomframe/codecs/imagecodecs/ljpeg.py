"""Lossless JPEG (process 14) decoding with liblj92, through imagecodecs' ``ljpeg_decode``.

liblj92 is a lossless-only decoder written apart from libjpeg-turbo, so it
checks what libjpeg-turbo encodes without sharing its code: verification
after a JPEG Lossless encode takes it before pylibjpeg-libjpeg, which is
several times slower and holds the GIL. It reads predictors 1-7, 2 to 16
bits and 1 to 4 components. Streams with restart markers or a point
transform are declined with a :class:`~dicomframe.errors.DecodeError`, so
the next decoder reads them: liblj92 is not relied on for either.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from dicomframe.codecs import _common
from dicomframe.codecs._jpeg import within_bits_stored
from dicomframe.codecs.imagecodecs.common import LJPEG_NAME, decode_errors, finish, samples

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame

__all__ = ["decode_ljpeg", "unsupported"]

_SOI, _SOS, _DRI = 0xFFD8, 0xFFDA, 0xFFDD


def unsupported(data: bytes) -> str | None:
    """Why liblj92 is not trusted with this stream (restart markers, a point transform); or None.

    Walks the marker segments up to the first scan header (ISO/IEC 10918-1
    B.2.4): a DRI with a non-zero interval, or a scan whose Al (the point
    transform of a lossless scan, H.1.2.1) is not zero.
    """
    if len(data) < 4 or struct.unpack_from(">H", data)[0] != _SOI:
        return "no SOI marker"
    offset = 2
    while offset + 4 <= len(data):
        marker, length = struct.unpack_from(">2H", data, offset)
        if marker >> 8 != 0xFF or length < 2:
            return f"a damaged marker segment at byte {offset}"
        segment = data[offset + 4 : offset + 2 + length]
        if marker == _DRI and len(segment) >= 2 and struct.unpack_from(">H", segment)[0]:
            return "restart markers (a DRI interval)"
        if marker == _SOS:
            if not segment or segment[-1] & 0x0F:
                return "a point transform (Al) in the scan header"
            return None
        offset += 2 + length
    return "no scan header (SOS)"


def decode_ljpeg(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a lossless JPEG frame (.57, .70) with liblj92."""
    import imagecodecs

    info = frame.info
    src = bytes(frame.data)
    with decode_errors(frame, LJPEG_NAME):
        stream = _common.jpeg_parameters(src)
        _common.check_jpeg(stream, info)
        if not stream.lossless:
            raise ValueError("liblj92 reads lossless JPEG (process 14) only")
        reason = unsupported(src)
        if reason is not None:
            raise ValueError(f"declined: the stream has {reason}")
        colour_space = _common.jpeg_colour_space(stream, info.photometric_interpretation)
        values = samples(imagecodecs.ljpeg_decode(src), info)
    within_bits_stored(values, info, lossy=False)  # JPEG has no sign: extend from Bits Stored
    return finish(frame, values, colour_space, options, LJPEG_NAME)
