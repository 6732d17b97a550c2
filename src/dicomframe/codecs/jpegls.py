"""JPEG-LS through pyjpegls (CharLS, BSD-3-Clause): Lossless and Near-Lossless.

Codec ``"pyjpegls"``, priority 5 (a permissive licence: tried before the GPL
pylibjpeg-libjpeg codec at -10), decodes and encodes JPEG-LS Lossless
(1.2.840.10008.1.2.4.80) and Near-Lossless (1.2.840.10008.1.2.4.81) frames
of 1 or 3 samples, 8 or 16 bits allocated, up to 16 bits stored, signed or
unsigned.

Decoding follows :mod:`dicomframe.codecs._common`, as pydicom 3 does:
JPEG-LS records no signedness, so samples are re-read at the stream's
precision P in the signedness Pixel Representation calls for (pydicom's
``_apply_sign_correction``); the result is colour-by-pixel (planar
configuration 0) whatever the stream's interleave mode; CharLS undoes its
own colour transforms, and YBR_FULL samples become RGB unless ``as_rgb=False``.

Encoding takes the frame's shaped array (planar configuration 1 is
interleaved first) and writes a colour-by-pixel (ILV 2) stream with
P = Bits Stored (at least 2). Signed values are stored as their Bits
Stored-bit two's complement patterns, which is what a decoder that follows
pydicom's rule expects; the photometric interpretation is unchanged.

Options
-------
decode
    ``as_rgb: bool = True``.
encode
    ``lossy_error: int`` (alias ``near``): the JPEG-LS NEAR parameter, the
    largest absolute error allowed per sample. It must be 0 for Lossless and
    defaults to 0 (exact) for Near-Lossless too, as in pydicom. A signed frame
    encoded near-lossless must keep ``lossy_error`` away from both ends of its
    range, or a value could wrap to the other sign (pydicom refuses the same).

Known limit of pyjpegls 1.5: it allots twice the input's size for the output,
with no room reserved for the headers, so frames of a few bytes (1x1) and
small noisy ones (13x7 random 8-bit) fail with "destination buffer is too
small"; the registry then tries the next codec (``imagecodecs-jpegls``).
The public pyjpegls API offers no way to give it a larger buffer.

:func:`lossy_error` and :func:`check_near` are shared with the imagecodecs
JPEG-LS codec.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.codecs import _common
from dicomframe.core.transfer_syntax import JPEGLSLossless, JPEGLSNearLossless
from dicomframe.errors import DecodeError, EncodeError
from dicomframe.plugins import Capabilities, Codec, hookimpl
from dicomframe.plugins.codec import Threading

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["JPEGLS_PHOTOMETRIC", "PYJPEGLS", "check_near", "dicomframe_codecs", "lossy_error"]

Array = np.ndarray[Any, Any]
_NAME = "pyjpegls"
# PS3.5 Table 8.2.3-1: the photometric interpretations a JPEG-LS stream may carry.
JPEGLS_PHOTOMETRIC = frozenset({"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL"})
_TOO_SMALL_HINT = (
    " (pyjpegls allots twice the frame's size for the stream: frames of a few bytes, or "
    "small noisy ones, need another JPEG-LS codec such as imagecodecs-jpegls)"
)


def lossy_error(syntax: TransferSyntax, options: dict[str, Any], codec: str) -> int:
    """The NEAR parameter asked for (``lossy_error`` or ``near``), checked against ``syntax``.

    Raises
    ------
    EncodeError
        When it is negative, or not 0 for JPEG-LS Lossless.
    """
    error = int(options.get("lossy_error", options.get("near", 0)) or 0)
    if error < 0:
        raise EncodeError(f"lossy_error must be 0 or more, not {error}", codec=codec)
    if error and syntax.uid == JPEGLSLossless.uid:
        raise EncodeError(
            f"lossy_error={error} asks for loss, but JPEGLSLossless ({JPEGLSLossless.uid}) is "
            f"lossless: use JPEGLSNearLossless ({JPEGLSNearLossless.uid})",
            codec=codec,
        )
    return error


def check_near(values: Array, info: FrameInfo, error: int, precision: int, codec: str) -> None:
    """Refuse signed values within ``error`` of either end of the ``precision``-bit range.

    JPEG-LS clamps reconstructed samples to 0..2^P-1, and a signed sample is
    stored as its P-bit two's complement pattern: an error pushing the largest
    positive value up, or the most negative one down, would flip its sign.

    Raises
    ------
    EncodeError
        Naming the range that can be encoded.
    """
    if not (error and info.pixel_representation and values.size):
        return
    low, high = -(1 << (precision - 1)) + error, (1 << (precision - 1)) - 1 - error
    if int(values.min()) < low or int(values.max()) > high:
        raise EncodeError(
            f"signed values {values.min()}..{values.max()} with lossy_error={error}: JPEG-LS "
            f"near-lossless can encode {low}..{high} at {precision} bits without a sign flip",
            codec=codec,
        )


def _decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG-LS frame with CharLS."""
    import jpeg_ls

    info = frame.info
    src = bytes(frame.data)
    try:
        stream = _common.jpeg_parameters(src)
        _common.check_jpeg(stream, info)
        raw, meta = jpeg_ls.decode_pixel_data(src)
        itemsize = _common.container_size(stream.precision)
        if stream.components > 1 and meta["interleave_mode"] == 0:
            # Colour-by-plane: interleave the planes (planar configuration 0 out).
            planes = np.frombuffer(raw, dtype=f"<u{itemsize}")
            raw = planes.reshape(stream.components, -1).T.copy()
        values = _common.read_samples(raw, itemsize, info)
    except Exception as exc:  # CharLS reports a bad stream as a bare RuntimeError
        raise DecodeError(f"pyjpegls: {exc}", codec=_NAME, frame_index=frame.index) from exc
    _common.sign_extend(values, stream.precision)  # JPEG-LS has no sign: read at P (pydicom)
    colour_space = _common.jpeg_colour_space(stream, info.photometric_interpretation)
    try:
        values, photometric = _common.finish_colour(
            values, info, colour_space, as_rgb=options.get("as_rgb", True)
        )
    except ValueError as exc:
        raise DecodeError(str(exc), codec=_NAME, frame_index=frame.index) from exc
    return _common.native_frame(values, info, photometric)


def _encode(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
    """Encode a frame as JPEG-LS (lossless, or near-lossless with ``lossy_error``)."""
    import jpeg_ls

    info = frame.info
    error = lossy_error(syntax, options, _NAME)
    values = _common.interleaved(frame)
    try:
        _common.check_range(values, info)
    except ValueError as exc:
        raise EncodeError(str(exc), codec=_NAME) from exc
    check_near(values, info, error, info.bits_stored, _NAME)
    patterns = values.view(values.dtype.str.replace("i", "u"))
    if info.pixel_representation:
        # The Bits Stored-bit two's complement patterns: decoders sign-extend from P.
        patterns = patterns & ((1 << info.bits_stored) - 1)
    try:
        data = jpeg_ls.encode_buffer(
            np.ascontiguousarray(patterns).tobytes(),
            info.rows,
            info.columns,
            info.samples_per_pixel,
            max(info.bits_stored, 2),  # ISO/IEC 14495-1 C.2.2: P is 2..16
            error,
            2 if info.samples_per_pixel > 1 else 0,  # colour-by-pixel
        )
    except Exception as exc:  # CharLS reports failures as bare RuntimeError/ValueError
        hint = _TOO_SMALL_HINT if "too small" in str(exc) else ""
        raise EncodeError(f"pyjpegls: {exc}{hint}", codec=_NAME) from exc
    return _common.encapsulated_frame(data, frame, syntax, info.photometric_interpretation)


PYJPEGLS = Codec(
    name=_NAME,
    transfer_syntaxes=_common.JPEG_LS_SYNTAXES,
    decode=_decode,
    encode=_encode,
    decode_caps=Capabilities(max_bits_stored=16),
    encode_caps=Capabilities(max_bits_stored=16, photometric=JPEGLS_PHOTOMETRIC),
    modules=("jpeg_ls",),
    requires=("pyjpegls>=1.4",),
    priority=5,  # BSD-3-Clause: before pylibjpeg-libjpeg (GPL-3.0, priority -10)
    threading=Threading.HOLDS_GIL,  # no nogil block in its bindings: 2 threads 0.8x-1.1x
    psnr_floor=math.inf,  # Near-Lossless defaults to NEAR 0: exact
)


@hookimpl
def dicomframe_codecs() -> list[Codec]:
    """The pyjpegls JPEG-LS codec (its backend is imported on first use)."""
    return [PYJPEGLS]
