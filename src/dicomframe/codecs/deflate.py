"""Frame-by-frame uncompressed and deflated Pixel Data: two encapsulated syntaxes.

Codec ``"deflate"``: Deflated Image Frame Compression (1.2.840.10008.1.2.8.1,
PS3.5 8.2.16 and A.4.13). Each frame's native byte stream, as Explicit VR
Little Endian would store that frame alone, is compressed with the Deflate
algorithm of RFC 1951 (raw deflate: no zlib header or Adler-32 trailer, as
for the Deflated Explicit VR Little Endian data set, A.5) into one fragment,
followed by a NUL when its length is odd. pydicom 3.1 decodes it the same
way (``zlib.decompress(src, wbits=-15)``).

Codec ``"encapsulated-uncompressed"``: Encapsulated Uncompressed Explicit VR
Little Endian (1.2.840.10008.1.2.1.98, PS3.5 A.4.11). Each frame's native
byte stream is one fragment, followed by a NUL when its length is odd.

The frame's byte stream: values little endian; 1-bit frames packed eight
pixels a byte, first pixel in the least significant bit (PS3.5 8.1.1), each
frame starting in a byte of its own and its last byte padded with zero bits
(a fragment holds whole bytes, so frames cannot share one as they do in
native Pixel Data); YBR_FULL_422 as two values per pixel (Y Y Cb Cr).

Both apply to Pixel Data (7FE0,0010) only: Float and Double Float Pixel Data
cannot be encapsulated, so those frames are declined. Any Bits Allocated
(1, 8, 16, 32, 64) and Samples per Pixel (1, 3, 4), signed or not.

Decoding gives samples interleaved (planar configuration 0: a planar stream
is interleaved), Explicit VR Little Endian, photometric unchanged, with the
unused high bits masked or sign-extended as for native data (PS3.5 8.1.1).
An encapsulated-uncompressed frame without that correction stays a view on
the file. Encoding writes samples interleaved and refuses values outside the
Bits Stored range (decoding would change them).

Options: encode (``"deflate"``) ``level: int = 6``, the zlib compression
level (0-9; -1 is zlib's default). Decoding takes none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.codecs import _common
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import (
    DeflatedImageFrameCompression,
    EncapsulatedUncompressedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
)
from dicomframe.errors import DecodeError, EncodeError
from dicomframe.plugins import Capabilities, Codec, hookimpl
from dicomframe.plugins.codec import Threading

if TYPE_CHECKING:
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["DEFLATE", "ENCAPSULATED_UNCOMPRESSED", "dicomframe_codecs", "frame_bytes"]

Array = np.ndarray[Any, Any]
_DEFLATE = "deflate"
_UNCOMPRESSED = "encapsulated-uncompressed"
_RAW_DEFLATE = -15  # zlib wbits: an RFC 1951 stream without zlib header or trailer
_LEVEL = 6


def _why_not(info: FrameInfo) -> str | None:
    if info.pixel_keyword != "PixelData":
        return f"{info.pixel_keyword} cannot be encapsulated (PS3.5 A.4): Pixel Data only"
    return None


# -- the frame's byte stream ------------------------------------------------------------
def _padded(data: bytes) -> bytes:
    """PS3.5 A.4.11, A.4.13: an odd-length frame gets a trailing NUL."""
    return data + b"\0" if len(data) % 2 else data


def frame_bytes(frame: NativeFrame) -> bytes:
    """The frame's native byte stream, samples interleaved, 1-bit frames packed.

    Raises
    ------
    ValueError
        When a value does not fit Bits Stored (or a 1-bit value is not 0 or 1).
    """
    info = frame.info
    if info.bits_allocated == 1:
        if frame.data.size and int(frame.data.max()) > 1:
            raise ValueError("1-bit frame holds values other than 0 and 1")
        return np.packbits(frame.data, bitorder="little").tobytes()
    if info.needs_bit_correction:
        _common.check_range(frame.data, info)
    if info.samples_per_pixel == 1 or info.is_subsampled or info.planar_configuration == 0:
        return frame.data.tobytes()
    return np.ascontiguousarray(frame.array).tobytes()  # planar 1 -> interleaved


def _values(raw: bytes | memoryview, info: FrameInfo) -> Array:
    """A frame's byte stream (at least ``info.bytes_per_frame`` long) as its flat values."""
    count = info.values_per_frame
    if info.bits_allocated == 1:
        packed = np.frombuffer(raw, dtype=np.uint8, count=info.bytes_per_frame)
        return np.unpackbits(packed, count=count, bitorder="little")
    values = np.frombuffer(raw, dtype=info.dtype, count=count)
    if info.needs_bit_correction:
        values = _common.sign_extend(values.copy(), info.bits_stored)  # PS3.5 8.1.1
    if info.samples_per_pixel > 1 and info.planar_configuration == 1 and not info.is_subsampled:
        planes = values.reshape(info.samples_per_pixel, info.rows, info.columns)
        values = planes.transpose(1, 2, 0).reshape(-1)  # a copy, interleaved
    return values


def _check_length(got: int, info: FrameInfo, what: str) -> None:
    needed = info.bytes_per_frame
    if got not in (needed, needed + needed % 2):
        raise ValueError(
            f"{what} {got} bytes; a {info.columns}x{info.rows} frame of "
            f"{info.samples_per_pixel} sample(s) at {info.bits_allocated} bits needs {needed}"
        )


def _native(values: Array, info: FrameInfo) -> NativeFrame:
    out = info.replace(planar_configuration=0, transfer_syntax_uid=ExplicitVRLittleEndian.uid)
    return NativeFrame(values, out)


def _encapsulated(data: bytes, frame: NativeFrame, syntax: TransferSyntax) -> EncapsulatedFrame:
    info = frame.info.replace(planar_configuration=0, transfer_syntax_uid=syntax.uid)
    return EncapsulatedFrame((_padded(data),), info, index=frame.index)


# -- Deflated Image Frame Compression ---------------------------------------------------
def _inflate(src: bytes | memoryview, info: FrameInfo) -> bytes:
    """Inflate a raw deflate stream, refusing one that is cut short or too long."""
    import zlib

    limit = info.bytes_per_frame + info.bytes_per_frame % 2
    inflater = zlib.decompressobj(_RAW_DEFLATE)
    try:
        # One byte more than a frame can hold: enough to tell "too long", never a bomb.
        out = inflater.decompress(src, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"the deflate stream is invalid: {exc}") from exc
    if len(out) > limit:
        raise ValueError(f"the deflate stream inflates to more than {limit} bytes")
    if not inflater.eof:
        raise ValueError(f"the deflate stream is truncated: it ends after {len(out)} bytes")
    _check_length(len(out), info, "the deflate stream inflates to")
    return out


def _decode_deflate(frame: EncapsulatedFrame, /, **_options: Any) -> NativeFrame:
    """Decode a Deflated Image Frame Compression frame."""
    try:
        values = _values(_inflate(frame.data, frame.info), frame.info)
    except ValueError as exc:
        raise DecodeError(str(exc), codec=_DEFLATE, frame_index=frame.index) from exc
    return _native(values, frame.info)


def _encode_deflate(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """Encode a frame as Deflated Image Frame Compression (option ``level``)."""
    import zlib

    level = int(options.get("level", _LEVEL))
    if not -1 <= level <= 9:
        raise EncodeError(f"level must be -1..9, not {level}", codec=_DEFLATE)
    try:
        raw = frame_bytes(frame)
    except ValueError as exc:
        raise EncodeError(str(exc), codec=_DEFLATE) from exc
    deflater = zlib.compressobj(level, zlib.DEFLATED, _RAW_DEFLATE)
    return _encapsulated(deflater.compress(raw) + deflater.flush(), frame, syntax)


# -- Encapsulated Uncompressed Explicit VR Little Endian --------------------------------
def _decode_uncompressed(frame: EncapsulatedFrame, /, **_options: Any) -> NativeFrame:
    """Decode an Encapsulated Uncompressed frame: a view on its bytes where possible."""
    data = frame.data
    try:
        _check_length(len(data), frame.info, "the fragment holds")
        values = _values(data, frame.info)
    except ValueError as exc:
        raise DecodeError(str(exc), codec=_UNCOMPRESSED, frame_index=frame.index) from exc
    return _native(values, frame.info)


def _encode_uncompressed(
    frame: NativeFrame, syntax: TransferSyntax, /, **_options: Any
) -> EncapsulatedFrame:
    """Encode a frame as Encapsulated Uncompressed Explicit VR Little Endian."""
    try:
        return _encapsulated(frame_bytes(frame), frame, syntax)
    except ValueError as exc:
        raise EncodeError(str(exc), codec=_UNCOMPRESSED) from exc


_CAPS = Capabilities(
    bits_allocated=frozenset({1, 8, 16, 32, 64}), samples_per_pixel=frozenset({1, 3, 4})
)

DEFLATE = Codec(
    name=_DEFLATE,
    transfer_syntaxes=frozenset({DeflatedImageFrameCompression.uid}),
    decode=_decode_deflate,
    encode=_encode_deflate,
    decode_caps=_CAPS,
    encode_caps=_CAPS,
    modules=("zlib",),
    extra_check=_why_not,
    threading=Threading.RELEASES_GIL,  # zlib releases the GIL while it inflates and deflates
)

ENCAPSULATED_UNCOMPRESSED = Codec(
    name=_UNCOMPRESSED,
    transfer_syntaxes=frozenset({EncapsulatedUncompressedExplicitVRLittleEndian.uid}),
    decode=_decode_uncompressed,
    encode=_encode_uncompressed,
    decode_caps=_CAPS,
    encode_caps=_CAPS,
    extra_check=_why_not,
    threading=Threading.RELEASES_GIL,  # a view, or numpy copies and shifts, which release it
)


@hookimpl
def dicomframe_codecs() -> list[Codec]:
    """The deflated and uncompressed encapsulated codecs (zlib is imported on first use)."""
    return [DEFLATE, ENCAPSULATED_UNCOMPRESSED]
