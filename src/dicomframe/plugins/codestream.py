"""Codestream headers: what a compressed frame says about itself, read before any backend runs.

A compressed frame states its own size: JPEG 2000 and HTJ2K in SIZ (ISO/IEC
15444-1 A.5.1), JPEG in its frame header SOFn (ISO/IEC 10918-1 B.2.2; the
DHP of a hierarchical stream, B.3.2), JPEG-LS in SOF55 (ISO/IEC 14495-1
C.2.2), RLE in its 64-byte header (PS3.5 G.5). A hostile or damaged frame can
state a size the dataset does not, and a backend would allocate what the
codestream says. :func:`frame_problem` compares the two, and the registry
(:mod:`.dispatch`) calls no codec on a frame that contradicts its dataset:
it raises :class:`CodestreamError`, a
:class:`~dicomframe.errors.DecodeError` naming both values. The decoded
frame is always allocated as the dataset says.

What must agree, and what may not:

- rows, columns and components must equal Rows, Columns and Samples per
  Pixel. A JPEG SOF that states 0 lines (leaving them to a DNL marker after
  the first scan), or a JPEG-LS SOF55 with 0 lines or columns (leaving them
  to an LSE marker), is refused too: libjpeg-turbo and CharLS refuse such
  streams, and pylibjpeg-libjpeg allocates without bound on them, so no
  installed decoder can be trusted with one.
- precision must fit Bits Allocated (at most 8 bits a byte of the frame's
  dtype), as the built-in codecs require. It may be below Bits Stored or
  above it: real files have 8-bit JPEG Baseline streams of 12-bit data,
  16-bit JPEG 2000 streams of 12-bit data and JPEG-LS streams at the
  precision of the values actually present, and every decoder accepts them.
- an RLE header must give one segment per byte of each sample (Samples per
  Pixel x Bits Allocated / 8), with offsets that increase and stay within
  the frame.

A header that cannot be parsed is left to the codecs, which may know a
variant, unless the frame is too short to hold one at all (fewer bytes than
the fixed part of SOC + SIZ, SOI + SOF, or the RLE header).
:func:`j2k_parameters` and :func:`jpeg_parameters` are also what the
built-in codecs read the colour, sign and wavelet facts from; codec authors
import the parsers and :func:`frame_problem` from
:mod:`dicomframe.plugins.helpers`, their public home.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from dicomframe.core.record import Record, record
from dicomframe.core.transfer_syntax import (
    HTJ2K,
    JPEG2000,
    JPEG2000MC,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    JPEG2000Lossless,
    JPEG2000MCLossless,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from dicomframe.errors import DecodeError, NoCodecError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dicomframe.core.frame import EncapsulatedFrame
    from dicomframe.core.frame_info import FrameInfo

__all__ = [
    "SOF_MARKERS",
    "CodestreamError",
    "Header",
    "J2KParameters",
    "JPEGParameters",
    "RLEParameters",
    "frame_problem",
    "header",
    "j2k_parameters",
    "jpeg_parameters",
    "problem",
    "rle_parameters",
]

# PS3.5 A.4.1 and Table A-1: the JPEG processes (Baseline 50 to Lossless SV1 70, the
# retired ones between), JPEG-LS, JPEG 2000 and HTJ2K.
_JPEG_PREFIX = "1.2.840.10008.1.2.4."
JPEG_FAMILY = frozenset(_JPEG_PREFIX + str(n) for n in (*range(50, 67), 70))
JPEG_LS_FAMILY = frozenset(ts.uid for ts in (JPEGLSLossless, JPEGLSNearLossless))
J2K_FAMILY = frozenset(
    ts.uid
    for ts in (
        JPEG2000Lossless,
        JPEG2000,
        JPEG2000MCLossless,
        JPEG2000MC,
        HTJ2KLossless,
        HTJ2KLosslessRPCL,
        HTJ2K,
    )
)

# The fewest bytes that can hold each header: SOC + SIZ of one component (2 + 2 + 41);
# SOI + SOFn of one component (2 + 2 + 11); the RLE header (16 uint32).
_MIN_J2K, _MIN_JPEG, _RLE_HEADER = 45, 15, 64
_MAX_RLE_SEGMENTS = 15  # PS3.5 G.5: the header has room for 15 offsets
# A header lies within the first bytes of a frame; APPn segments (ICC profiles) and JP2
# boxes before it are at most this long in practice. A longer one is left to the codecs.
_HEAD_BYTES = 1 << 20


# -- the parsers ------------------------------------------------------------------------------
@record
class J2KParameters(Record):
    """What a JPEG 2000 codestream's main header says (ISO/IEC 15444-1 A.5.1, A.6.1)."""

    rows: int
    columns: int
    components: int
    precision: int
    signed: bool
    mct: bool
    jp2: bool
    reversible: bool = True  # COD's wavelet: 5-3 reversible (1) or 9-7 irreversible (0)


@record
class JPEGParameters(Record):
    """What a JPEG or JPEG-LS frame header says (ISO/IEC 10918-1 B.2.2, 14495-1 C.2.2)."""

    precision: int
    rows: int
    columns: int
    components: int
    component_ids: tuple[int, ...] = ()
    jfif: bool = False
    adobe_transform: int | None = None
    is_jpeg_ls: bool = False
    lossless: bool = False  # SOF3/7/11/15: a decoder can make no colour conversion


@record
class RLEParameters(Record):
    """What an RLE Lossless frame's header says (PS3.5 G.5): the segments and their offsets."""

    segments: int
    offsets: tuple[int, ...]


def _j2k_start(data: bytes | memoryview) -> tuple[int, bool]:
    """The offset of the codestream, skipping a JP2 file wrapper (15444-1 Annex I)."""
    if data[:2] == b"\xff\x4f":
        return 0, False
    if data[4:8] != b"jP  ":
        raise ValueError("not a JPEG 2000 codestream: no SOC marker (FF4F)")
    offset = 0
    while offset + 8 <= len(data):
        length, kind = struct.unpack_from(">L4s", data, offset)
        header = 8
        if length == 1:  # XLBox: 64-bit length follows
            length = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        if kind == b"jp2c":
            return offset + header, True
        if length < header:
            break
        offset += length
    raise ValueError("JP2 file without a contiguous codestream box (jp2c)")


def j2k_parameters(data: bytes | memoryview) -> J2KParameters:
    """Parse SIZ and COD from a JPEG 2000 codestream (a JP2 wrapper is skipped).

    Raises
    ------
    ValueError
        When the stream is not a JPEG 2000 codestream or its header is cut short.
    """
    start, jp2 = _j2k_start(data)
    try:
        if data[start : start + 4] != b"\xff\x4f\xff\x51":
            raise ValueError("JPEG 2000 codestream without SIZ after SOC")
        siz = start + 4
        length = struct.unpack_from(">H", data, siz)[0]
        xsiz, ysiz, xosiz, yosiz = struct.unpack_from(">4L", data, siz + 4)
        components = struct.unpack_from(">H", data, siz + 36)[0]
        ssiz = data[siz + 38]
        mct, reversible = _j2k_cod(data, siz + length)
    except (struct.error, IndexError) as exc:
        raise ValueError(f"JPEG 2000 header is truncated: {exc}") from exc
    return J2KParameters(
        rows=ysiz - yosiz,
        columns=xsiz - xosiz,
        components=components,
        precision=(ssiz & 0x7F) + 1,
        signed=bool(ssiz & 0x80),
        mct=mct,
        jp2=jp2,
        reversible=reversible,
    )


def _j2k_cod(data: bytes | memoryview, offset: int) -> tuple[bool, bool]:
    """COD's multiple component transform and wavelet, from the markers after SIZ."""
    while offset + 4 <= len(data):
        marker, size = struct.unpack_from(">2H", data, offset)
        if marker == 0xFF52:  # COD: Lcod, Scod, SGcod (order, layers, MCT), SPcod
            # SPcod: levels, xcb, ycb, style, wavelet
            return data[offset + 8] == 1, data[offset + 13] == 1
        if marker in (0xFF90, 0xFF93):  # SOT/SOD: the main header has ended
            break
        offset += 2 + size
    return False, True


SOF_MARKERS = frozenset(range(0xFFC0, 0xFFD0)) - {0xFFC4, 0xFFC8, 0xFFCC} | {0xFFF7}
_DHP = 0xFFDE  # ISO/IEC 10918-1 B.3.2: a hierarchical stream's whole image, before its frames
_LOSSLESS_SOF = frozenset({0xFFC3, 0xFFC7, 0xFFCB, 0xFFCF})  # ISO/IEC 10918-1 Table B.1


def jpeg_parameters(data: bytes | memoryview) -> JPEGParameters:
    """Parse the markers before SOF, and SOF itself, of a JPEG or JPEG-LS stream.

    A hierarchical stream's DHP is read instead of its first SOF: the first
    frame of a hierarchy may be a smaller image than the one decoded.

    Raises
    ------
    ValueError
        When the stream does not start with SOI or ends before a SOF marker.
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG stream: no SOI marker (FFD8)")
    offset, jfif, adobe = 2, False, None
    try:
        while True:
            marker, length = struct.unpack_from(">2H", data, offset)
            if marker == 0xFFE0:
                jfif = jfif or bytes(data[offset + 4 : offset + 9]) == b"JFIF\x00"
            elif marker == 0xFFEE:
                body = bytes(data[offset + 4 : offset + 2 + length])
                if body.startswith(b"Adobe") and len(body) >= 12:
                    adobe = body[11]  # "Adobe", version (2), flags0 (2), flags1 (2), transform
            if marker in SOF_MARKERS or marker == _DHP:
                precision, rows, columns, count = struct.unpack_from(">BHHB", data, offset + 4)
                ids = tuple(data[offset + 10 + 3 * i] for i in range(count))
                return JPEGParameters(
                    precision=precision,
                    rows=rows,
                    columns=columns,
                    components=count,
                    component_ids=ids,
                    jfif=jfif,
                    adobe_transform=adobe,
                    is_jpeg_ls=marker == 0xFFF7,
                    lossless=marker in _LOSSLESS_SOF,
                )
            offset += 2 + length
    except (struct.error, IndexError) as exc:
        raise ValueError(f"JPEG stream ends before its frame header (SOF): {exc}") from exc


def rle_parameters(data: bytes | memoryview) -> RLEParameters:
    """Parse the header of an RLE Lossless frame (PS3.5 G.5).

    Raises
    ------
    ValueError
        When the frame is shorter than the 64-byte header.
    """
    if len(data) < _RLE_HEADER:
        raise ValueError(f"RLE header is truncated: the frame has {len(data)} bytes, the header 64")
    count, *offsets = struct.unpack_from("<16L", data)
    return RLEParameters(count, tuple(offsets[: min(count, _MAX_RLE_SEGMENTS)]))


# -- the header in the dataset's terms --------------------------------------------------------
@record
class Header(Record):
    """What a frame's codestream says about the decoded frame, as the dataset would say it.

    ``rows`` or ``columns`` 0: the header leaves it to a later marker (JPEG DNL,
    JPEG-LS LSE).
    """

    kind: str  # what says so, for messages: "JPEG 2000 codestream" (SIZ), "JPEG stream" (SOF)
    rows: int
    columns: int
    components: int
    precision: int


def header(uid: str, data: bytes | memoryview) -> Header | RLEParameters | None:
    """The header of a frame of transfer syntax ``uid``; None when it has none known here.

    Raises
    ------
    ValueError
        When the header cannot be parsed.
    """
    if uid in J2K_FAMILY:
        j2k = j2k_parameters(data)
        return Header("JPEG 2000 codestream", j2k.rows, j2k.columns, j2k.components, j2k.precision)
    if uid in JPEG_FAMILY or uid in JPEG_LS_FAMILY:
        jpeg = jpeg_parameters(data)
        kind = "JPEG-LS stream" if jpeg.is_jpeg_ls else "JPEG stream"
        return Header(kind, jpeg.rows, jpeg.columns, jpeg.components, jpeg.precision)
    if uid == RLELossless.uid:
        return rle_parameters(data)
    return None


def _minimum(uid: str) -> tuple[str, int] | None:
    """The kind of header a syntax's frames start with, and the fewest bytes that hold it."""
    if uid in J2K_FAMILY:
        return "JPEG 2000", _MIN_J2K
    if uid in JPEG_FAMILY or uid in JPEG_LS_FAMILY:
        return "JPEG", _MIN_JPEG
    if uid == RLELossless.uid:
        return "RLE", _RLE_HEADER
    return None


def problem(
    uid: str, data: bytes | memoryview, info: FrameInfo, *, size: int | None = None
) -> str | None:
    """How a frame's codestream header contradicts ``info``, or None when it does not.

    ``data`` is the frame's bytes (or its first ones); ``size`` the frame's
    whole length when ``data`` is only its start. None also when the syntax
    has no header known here or the header cannot be parsed (the codecs
    decide then), unless the frame is too short to hold one.
    """
    size = len(data) if size is None else size
    expected = _minimum(uid)
    if expected is None:
        return None
    if size < expected[1]:
        return (
            f"the {expected[0]} header is truncated: the frame has {size} bytes, "
            f"the header needs {expected[1]} at least"
        )
    try:
        found = header(uid, data)
    except ValueError:
        return None
    if isinstance(found, RLEParameters):
        return _rle_problem(found, info, size)
    if found is None:
        return None
    return _size_problem(found, info) or _precision_problem(found, info)


def _size_problem(found: Header, info: FrameInfo) -> str | None:
    if 0 in (found.rows, found.columns):
        return (
            f"the {found.kind} gives {found.columns}x{found.rows}: a size left to a later "
            "marker (DNL, LSE) is not decoded, as no installed decoder reads it safely"
        )
    if found.rows != info.rows or found.columns != info.columns:
        return (
            f"the {found.kind} is {found.columns}x{found.rows}; the dataset says "
            f"{info.columns}x{info.rows} (Columns x Rows)"
        )
    if found.components != info.samples_per_pixel:
        return (
            f"the {found.kind} has {found.components} components; "
            f"Samples per Pixel is {info.samples_per_pixel}"
        )
    return None


def _precision_problem(found: Header, info: FrameInfo) -> str | None:
    room = max(8, info.bits_allocated)  # the bits of the frame's dtype (1-bit: a byte)
    if found.precision > room:
        return (
            f"the {found.kind}'s precision {found.precision} exceeds Bits Allocated "
            f"{info.bits_allocated} ({room}-bit samples at most)"
        )
    return None


def _rle_problem(found: RLEParameters, info: FrameInfo, size: int) -> str | None:
    if info.bits_allocated % 8:
        return None  # no segment per byte of a sample to count: the codecs decline
    needed = info.samples_per_pixel * info.bits_allocated // 8  # PS3.5 G.2
    if needed > _MAX_RLE_SEGMENTS:
        return None  # no RLE frame can hold it: the codecs decline and say why
    if found.segments != needed:
        return (
            f"the RLE header gives {found.segments} segments; {info.samples_per_pixel} "
            f"sample(s) of {info.bits_allocated} bits need {needed} (PS3.5 G.2)"
        )
    previous: int | None = None
    for index, offset in enumerate(found.offsets):
        if not _RLE_HEADER <= offset < size:
            return (
                f"RLE segment {index} offset {offset} is outside the frame's data "
                f"({_RLE_HEADER}..{size - 1})"
            )
        if previous is not None and offset <= previous:
            return f"RLE segment {index} offset {offset} is not after {previous}"
        previous = offset
    return None


def _head(frame: EncapsulatedFrame) -> bytes | memoryview:
    """The first bytes of a frame, as far as a header can reach: a view when one fragment."""
    if len(frame.fragments) == 1:
        return memoryview(frame.fragments[0])[:_HEAD_BYTES]
    parts, total = [], 0
    for fragment in frame.fragments:
        parts.append(bytes(fragment[: _HEAD_BYTES - total]))
        total += len(parts[-1])
        if total >= _HEAD_BYTES:
            break
    return b"".join(parts)


def frame_problem(frame: EncapsulatedFrame) -> str | None:
    """How ``frame``'s codestream header contradicts its FrameInfo, or None (module docstring).

    Reads at most the frame's first MiB: a header further in is left to the codecs.
    """
    return problem(frame.info.transfer_syntax_uid, _head(frame), frame.info, size=len(frame))


class CodestreamError(DecodeError, NoCodecError):
    """A frame's codestream header contradicts its dataset; no codec was called.

    A :class:`~dicomframe.errors.DecodeError` (the stream is at fault, and
    ``frame_index`` says which), and a :class:`~dicomframe.errors.NoCodecError`
    as a frame no codec decodes has always been: ``attempts`` lists each codec
    that would have been called as ``failed``, with the contradiction as its
    reason and a DecodeError of its own, so code that branches on the
    attempts keeps working.
    """

    def __init__(
        self,
        message: str,
        *,
        frame_index: int | None = None,
        syntax: object = None,
        attempts: Sequence[object] = (),
    ) -> None:
        # The two bases' initialisers take different keywords: set both sets of attributes.
        self.codec = None
        self.frame_index = frame_index
        self.syntax = syntax
        self.attempts = tuple(attempts)
        Exception.__init__(self, message)
