"""RLE Lossless (1.2.840.10008.1.2.5, PS3.5 Annex G): our numpy codec and pylibjpeg-rle.

Codec ``"rle"``, priority 0, needs only numpy; it decodes and encodes.
Codec ``"pylibjpeg-rle"`` (a compiled backend, preferred when installed)
works through its compiled module, loaded without the package's
``__init__``, which imports ``importlib.metadata``. It decodes with
``decode_frame`` (its output, sample by sample as planar configuration 1,
is interleaved here), priority 9: after ``"imagecodecs-rle"`` (priority 10,
:mod:`dicomframe.codecs.imagecodecs.packbits`), which decodes 1.8x as fast.
It encodes first (imagecodecs-rle's ``encode_priority`` is 8): segment by segment with
``encode_segment`` (:mod:`dicomframe.codecs._rle_segments`, shared with
imagecodecs-rle; its own ``encode_frame`` is 10x slower), about as fast as
imagecodecs, so that a conversion that verifies decodes with the faster
decoder: 1.1 ms a 512x512 int16 frame to encode and verify, against 1.5 the
other way round. Both share this module's checks and header (:func:`why_not`,
:func:`check_encodable`, :func:`encapsulate_segments`).

The stream (PS3.5 G.2, G.5): a 64-byte header of 16 little-endian uint32,
the number of segments then their offsets (unused ones 0), then one segment
per byte of each sample: sample by sample, most significant byte first, each
segment a PackBits byte stream of ``rows * columns`` bytes padded to an even
length. At most 15 segments fit the header, so 64-bit frames of 3 samples,
and 1-bit frames (whose bytes are not per-pixel), are declined.

Decoded frames are Explicit VR Little Endian, samples interleaved (planar
configuration 0) whatever the dataset says, photometric unchanged except
that YBR_FULL_422 becomes YBR_FULL (the segments hold every sample of every
pixel); unused high bits are masked, or sign-extended for signed pixels, as
for native data (PS3.5 8.1.1) and as pydicom does. A segment whose runs go
past ``rows * columns`` bytes is cut there, as other decoders do (its padding
may decode to a byte).

The numpy decoder (:mod:`dicomframe.codecs._rle_numpy`) has no Python loop
over bytes or runs: it follows the chain of PackBits headers through the
whole frame in C with ``np.take`` (checked, with pointer doubling to fall
back on), expands every segment with ``np.repeat`` and shifts the segments'
bytes into the values, most significant first. The encoder finds runs with
a comparison of neighbours, never across a row (PS3.5 G.3.1), splits them
into runs of at most 128 and lays out the whole frame at once. Its output
is byte for byte pydicom's: runs of two or more bytes are replicate runs, a
lone byte left after 128-byte replicate runs is a literal run of one.
Encoding refuses values outside the Bits Stored range (decoding would mask
them). The numpy decoder writes into ``out=`` when it fits
(:func:`dicomframe.plugins.helpers.decode_target`); no other options.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.codecs import _common
from dicomframe.codecs._rle_numpy import decode_pieces
from dicomframe.codecs._rle_segments import encode_segments
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian, RLELossless
from dicomframe.errors import DecodeError, EncodeError
from dicomframe.plugins import Capabilities, Codec, hookimpl
from dicomframe.plugins.codec import Threading
from dicomframe.plugins.helpers import decode_target
from dicomframe.plugins.modules import load as load_module
from dicomframe.plugins.modules import standalone

if TYPE_CHECKING:
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = [
    "CAPABILITIES",
    "PYLIBJPEG_RLE",
    "RLE",
    "check_encodable",
    "decoded_info",
    "dicomframe_codecs",
    "encapsulate_segments",
    "native_frame",
    "parse_header",
    "segments_to_values",
    "why_not",
]

Array = np.ndarray[Any, Any]
_HEADER = 64
_MAX_SEGMENTS = 15  # PS3.5 G.5: the header holds 15 offsets
_RLE = "rle"
_PYLIBJPEG_RLE = "pylibjpeg-rle"
_PARTIAL = ("YBR_PARTIAL_422", "YBR_PARTIAL_420")


# -- checks -----------------------------------------------------------------------------
def _segments(info: FrameInfo) -> int:
    return info.samples_per_pixel * (info.bits_allocated // 8)  # PS3.5 G.2


def why_not(info: FrameInfo) -> str | None:
    """Why no RLE codec can handle ``info`` (every RLE codec's ``extra_check``), or None."""
    if info.pixel_keyword != "PixelData":
        return f"{info.pixel_keyword} cannot be encapsulated (PS3.5 A.4): Pixel Data only"
    if info.photometric_interpretation in _PARTIAL:
        return (
            f"{info.photometric_interpretation} is subsampled, but RLE segments hold every "
            "sample of every pixel (PS3.5 G.2): no Photometric Interpretation says so"
        )
    if _segments(info) > _MAX_SEGMENTS:
        return (
            f"{info.samples_per_pixel} samples of {info.bits_allocated} bits need "
            f"{_segments(info)} segments; RLE allows {_MAX_SEGMENTS} (PS3.5 G.5)"
        )
    return None


def parse_header(data: bytes | memoryview, info: FrameInfo) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each segment of an RLE frame, checked against ``info``.

    Raises
    ------
    ValueError
        When the header is short, its segment count does not match ``info``,
        or an offset points outside the data or backwards.
    """
    size = len(data)
    if size < _HEADER:
        raise ValueError(f"RLE header is truncated: the frame has {size} bytes, the header 64")
    count, *offsets = struct.unpack_from("<16L", data)
    expected = _segments(info)
    if count != expected:
        raise ValueError(
            f"RLE header gives {count} segments; {info.samples_per_pixel} sample(s) of "
            f"{info.bits_allocated} bits need {expected} (PS3.5 G.2)"
        )
    starts = offsets[:count]
    ends = [*starts[1:], size]
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if not _HEADER <= start < size:
            raise ValueError(
                f"RLE segment {index} offset {start} is outside the frame's data "
                f"({_HEADER}..{size - 1})"
            )
        if end <= start:
            raise ValueError(f"RLE segment {index + 1} offset {end} is not after {start}")
    return list(zip(starts, ends, strict=True))


# -- numpy decoding ---------------------------------------------------------------------
def _typed(values: Array, info: FrameInfo) -> Array:
    """Little-endian unsigned values -> flat values of the frame's dtype, bits corrected."""
    kind = "i" if info.pixel_representation else "u"
    flat = values.reshape(-1).view(f"<{kind}{info.bits_allocated // 8}")
    if not info.needs_bit_correction:
        return flat
    if info.pixel_representation:  # PS3.5 8.1.1, as pydicom does
        return _common.sign_extend(flat, info.bits_stored)
    np.bitwise_and(flat, (1 << info.bits_stored) - 1, out=flat)  # one pass, not two shifts
    return flat


def segments_to_values(
    pieces: list[tuple[int, int, Array]], info: FrameInfo, out: Array | None
) -> Array:
    """Segments' bytes (sample by sample, most significant first) shifted into the values.

    Into ``out`` (unsigned, C-contiguous, the frame's shape) when given.
    """
    width = info.bits_allocated // 8
    unsigned = np.dtype(f"<u{width}")
    shape = (info.rows * info.columns, info.samples_per_pixel)
    values = np.empty(shape, dtype=unsigned) if out is None else out.reshape(shape)
    for segment, offset, piece in pieces:
        sample, byte = divmod(segment, width)
        into = values[offset : offset + piece.size, sample]
        shift = 8 * (width - 1 - byte)
        if byte == 0:  # the most significant byte comes first: it sets the value
            np.left_shift(piece, shift, out=into, dtype=unsigned)
        elif shift:
            np.bitwise_or(into, np.left_shift(piece, shift, dtype=unsigned), out=into)
        else:
            np.bitwise_or(into, piece, out=into)
    return _typed(values, info)


def _planes_to_values(planes: Array, info: FrameInfo) -> Array:
    """``(pixels, samples, bytes)`` little-endian bytes -> flat values, bits corrected."""
    return _typed(planes, info)


def _full(photometric: str) -> str:
    """RLE segments hold every sample of every pixel: YBR_FULL_422 data is YBR_FULL."""
    return "YBR_FULL" if photometric == "YBR_FULL_422" else photometric


@functools.lru_cache(maxsize=32)
def decoded_info(info: FrameInfo) -> FrameInfo:
    """What a decoded frame of ``info`` is (the frames of a file share it: made once)."""
    return info.replace(
        photometric_interpretation=_full(info.photometric_interpretation),
        planar_configuration=0,
        transfer_syntax_uid=ExplicitVRLittleEndian.uid,
    )


def native_frame(values: Array, info: FrameInfo) -> NativeFrame:
    """The decoded frame of flat ``values``, its info as :func:`decoded_info` says."""
    return NativeFrame(values, decoded_info(info))


def _decode_rle(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode an RLE Lossless frame with numpy (into ``out=`` when it fits)."""
    info = frame.info
    data = frame.data if isinstance(frame.data, bytes) else bytes(frame.data)
    try:
        pieces = decode_pieces(data, parse_header(data, info), info.rows, info.columns)
    except ValueError as exc:
        raise DecodeError(str(exc), codec=_RLE, frame_index=frame.index) from exc
    out = decode_target(options, decoded_info(info), f"<u{info.bits_allocated // 8}")
    return native_frame(segments_to_values(pieces, info, out), info)


# -- numpy encoding ---------------------------------------------------------------------
def _byte_planes(frame: NativeFrame) -> Array:
    """The frame as ``(segments, rows, columns)`` bytes in segment order (PS3.5 G.2)."""
    info = frame.info
    width = info.bits_allocated // 8
    # NativeFrame data is little endian (FrameInfo.dtype), so its bytes are in LSB order.
    arr = np.ascontiguousarray(frame.array).reshape(info.rows, info.columns, -1)
    raw = arr.view(np.uint8).reshape(info.rows, info.columns, -1, width)
    # sample by sample, most significant byte first
    return np.ascontiguousarray(raw[..., ::-1].transpose(2, 3, 0, 1)).reshape(
        -1, info.rows, info.columns
    )


def _runs(flat: Array, columns: int) -> tuple[Array, Array, Array]:
    """Start and length of each run, and which bytes are lone (make up literal runs)."""
    size = flat.size
    new = np.ones(size + 1, dtype=bool)  # a new group of equal bytes starts here
    np.not_equal(flat[1:], flat[:-1], out=new[1:size])
    new[:size:columns] = True  # PS3.5 G.3.1: each row is encoded separately
    lone = new[:size] & new[1:]  # a group of one byte: part of a literal run
    start = new[:size].copy()
    # A literal run takes the lone bytes in a row; a replicate run is one group.
    start[1:] &= ~lone[1:] | ~lone[:-1]
    start[::columns] = True
    starts = np.flatnonzero(start)
    return starts, np.diff(starts, append=size), lone


def _chunks(starts: Array, lengths: Array, literal: Array) -> tuple[Array, Array, Array]:
    """Runs cut to at most 128 bytes (PS3.5 G.3.1), full ones first: start, count, literal."""
    pieces = (lengths + 127) // 128
    if pieces.size == 0 or pieces.max() == 1:
        return starts, lengths, literal | (lengths == 1)
    run = np.repeat(np.arange(starts.size), pieces)
    nth = np.arange(run.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    count = np.minimum(128, lengths[run] - 128 * nth)
    # A replicate run's last byte alone is a literal run of one (as pydicom writes it).
    return starts[run] + 128 * nth, count, literal[run] | (count == 1)


def _encode_planes(planes: Array) -> tuple[Array, Array]:
    """PackBits-encode every segment at once: the segments' bytes and their lengths."""
    segments, rows, columns = planes.shape
    flat = planes.reshape(-1)
    starts, lengths, lone = _runs(flat, columns)
    position, count, literal = _chunks(starts, lengths, lone[starts])
    header = np.where(literal, count - 1, 257 - count).astype(np.uint8)
    size = np.where(literal, count + 1, 2)  # header and payload
    # Chunks never cross a row, so never a segment: find each segment's first chunk.
    first = np.searchsorted(position, np.arange(segments) * (rows * columns))
    seg_lengths = np.add.reduceat(size, first)
    padding = seg_lengths & 1  # PS3.5 G.5: segments have even length (a trailing 0)
    ends = np.cumsum(seg_lengths + padding)
    shift = np.repeat(np.cumsum(padding) - padding, np.diff(first, append=position.size))
    out_at = np.cumsum(size) - size + shift
    out = np.zeros(int(ends[-1]), dtype=np.uint8)
    out[out_at] = header
    payload = np.ones(out.size, dtype=bool)
    payload[out_at] = False
    payload[ends[padding == 1] - 1] = False
    copied = lone.copy()  # literal bytes, and the first byte of each replicate run
    copied[position] = True
    out[payload] = flat[copied]
    return out, seg_lengths + padding


def _header(lengths: Array) -> bytes:
    table = np.zeros(16, dtype="<u4")  # PS3.5 G.5: count, offsets, unused offsets 0
    table[0] = lengths.size
    table[1 : 1 + lengths.size] = _HEADER + np.cumsum(lengths) - lengths
    return table.tobytes()


def _encoded(data: bytes, frame: NativeFrame) -> EncapsulatedFrame:
    photometric = _full(frame.info.photometric_interpretation)  # frame.array is upsampled
    return _common.encapsulated_frame(data, frame, RLELossless, photometric)


def encapsulate_segments(
    segments: Sequence[bytes | bytearray | memoryview], frame: NativeFrame
) -> EncapsulatedFrame:
    """The RLE frame holding ``segments`` (PackBits bytes, in segment order) of ``frame``.

    Pads each segment to an even length and writes the header (PS3.5 G.5):
    what an encoder that compresses segment by segment leaves to this module.
    """
    lengths = np.fromiter((len(s) + (len(s) & 1) for s in segments), np.int64, len(segments))
    parts: list[bytes | bytearray | memoryview] = [_header(lengths)]
    for segment in segments:
        parts.append(segment)
        if len(segment) & 1:
            parts.append(b"\0")
    return _encoded(b"".join(parts), frame)


def check_encodable(frame: NativeFrame, codec: str) -> None:
    """Refuse values outside Bits Stored: decoding would mask them (every RLE encoder)."""
    if frame.info.needs_bit_correction:
        try:
            _common.check_range(frame.data, frame.info)
        except ValueError as exc:
            raise EncodeError(str(exc), codec=codec) from exc


def _encode_rle(
    frame: NativeFrame, syntax: TransferSyntax, /, **_options: Any
) -> EncapsulatedFrame:
    """Encode a frame as RLE Lossless with numpy."""
    check_encodable(frame, _RLE)
    data, lengths = _encode_planes(_byte_planes(frame))
    return _encoded(_header(lengths) + data.tobytes(), frame)


# -- pylibjpeg-rle ----------------------------------------------------------------------
def _extension() -> Any:
    """pylibjpeg-rle's compiled module ``rle.rle``, loaded without its package's ``__init__``.

    The package's ``__init__`` asks ``importlib.metadata`` for its version:
    20-40 ms of imports in a fresh process, more than the frames of a short
    job take to verify. The compiled module does the work (``decode_frame``,
    ``encode_frame``: what ``rle.utils`` calls); see :mod:`dicomframe.plugins.modules`.
    """
    return load_module("rle.rle")


def _decode_pylibjpeg(frame: EncapsulatedFrame, /, **_options: Any) -> NativeFrame:
    """Decode an RLE Lossless frame with pylibjpeg-rle."""
    info = frame.info
    src = bytes(frame.data)
    pixels = info.rows * info.columns
    width = info.bits_allocated // 8
    try:
        parse_header(src, info)  # it infers the samples from the segment count: check first
        raw = _extension().decode_frame(src, pixels, info.bits_allocated, "<")
    except ValueError as exc:
        raise DecodeError(str(exc), codec=_PYLIBJPEG_RLE, frame_index=frame.index) from exc
    expected = pixels * info.samples_per_pixel * width
    if len(raw) != expected:
        raise DecodeError(
            f"pylibjpeg-rle gave {len(raw)} bytes; the frame needs {expected}",
            codec=_PYLIBJPEG_RLE,
            frame_index=frame.index,
        )
    # Its output (a new bytearray) is sample by sample (planar configuration 1), each value
    # little endian: interleave the samples; one sample is already in place.
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(info.samples_per_pixel, pixels, width)
    if info.samples_per_pixel > 1:
        planes = planes.transpose(1, 0, 2).copy()
    return native_frame(_planes_to_values(planes, info), info)


def _encode_pylibjpeg(
    frame: NativeFrame, syntax: TransferSyntax, /, **_options: Any
) -> EncapsulatedFrame:
    """Encode a frame as RLE Lossless, segment by segment, with pylibjpeg-rle's PackBits."""
    check_encodable(frame, _PYLIBJPEG_RLE)
    pack = _extension().encode_segment  # one segment's bytes and its row length

    def segment(plane: Array) -> bytes:
        return bytes(pack(plane.tobytes(), plane.shape[1]))

    try:
        segments = encode_segments(frame, segment)
    except ValueError as exc:
        raise EncodeError(f"pylibjpeg-rle: {exc}", codec=_PYLIBJPEG_RLE) from exc
    return encapsulate_segments(segments, frame)


CAPABILITIES = Capabilities(bits_allocated=frozenset({8, 16, 32, 64}))

RLE = Codec(
    name=_RLE,
    transfer_syntaxes=frozenset({RLELossless.uid}),
    decode=_decode_rle,
    encode=_encode_rle,
    decode_caps=CAPABILITIES,
    encode_caps=CAPABILITIES,
    modules=("numpy",),
    extra_check=why_not,
    # Most of its time is np.repeat, which holds the GIL: 2 threads 1.0x-1.2x, 2 processes 1.7x.
    threading=Threading.HOLDS_GIL,
)

PYLIBJPEG_RLE = Codec(
    name=_PYLIBJPEG_RLE,
    transfer_syntaxes=frozenset({RLELossless.uid}),
    decode=_decode_pylibjpeg,
    encode=_encode_pylibjpeg,
    decode_caps=CAPABILITIES,
    encode_caps=CAPABILITIES,
    modules=(standalone("rle.rle"),),  # without the package's __init__
    requires=("pylibjpeg-rle>=2.0",),
    priority=9,  # decodes after imagecodecs-rle (10), encodes before it (its encode_priority 8)
    extra_check=why_not,
    threading=Threading.HOLDS_GIL,  # PyO3 without allow_threads: 2 threads 0.8x-1.1x
)


@hookimpl
def dicomframe_codecs() -> list[Codec]:
    """The RLE Lossless codecs (pylibjpeg-rle is imported on first use)."""
    return [RLE, PYLIBJPEG_RLE]
