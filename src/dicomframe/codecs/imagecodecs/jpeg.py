"""JPEG (libjpeg-turbo 3) and JPEG-LS (CharLS) through imagecodecs.

JPEG Lossless writes 3-sample frames without a colour transform, and the
stream's markers say what the samples are, as DCMTK and GDCM write them:
component IDs R G B with an Adobe APP14 marker (transform 0) for RGB, and
IDs 1 2 3 with no APP14 marker for YBR_FULL, so a decoder neither converts
RGB nor takes YCbCr samples for RGB.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from dicomframe.codecs import _common
from dicomframe.codecs._jpeg import PROGRESSIVE_SYNTAXES, within_bits_stored
from dicomframe.codecs.imagecodecs.common import (
    JPEG_NAME,
    JPEGLS_NAME,
    Array,
    buffer_size,
    built_with,
    decode_errors,
    encoder_failed,
    encoder_input,
    finish,
    full_size,
    narrow,
    samples,
)
from dicomframe.codecs.jpegls import check_near, lossy_error
from dicomframe.core.transfer_syntax import (
    JPEGBaseline8Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGXLJPEGRecompression,
)
from dicomframe.errors import EncodeError
from dicomframe.plugins.helpers import decode_target

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = [
    "DEFAULT_QUALITY",
    "PROGRESSIVE_SYNTAXES",
    "decode_jpeg",
    "decode_jpegls",
    "encode_jpeg",
    "encode_jpegls",
    "jpeg_bytes",
    "jpeg_check",
]

_APP14, _SOS = 0xFFEE, 0xFFDA
# The lossy default keeps the documented 30 dB on 8-bit RGB (docs/transcoding.md): at 90, 4:2:2
# JPEG keeps 29.1 dB of a smooth RGB image with noise of sigma 10 in each channel and 30.6 dB of
# pydicom's ExplVR_BigEnd.dcm; at 95, 30.6 and 31.1 (benchmarks/lossy_defaults.py).
DEFAULT_QUALITY = 95


def jpeg_check(info: FrameInfo) -> str | None:
    """Decline without libjpeg-turbo, or above 8 bits without its 12/16-bit support."""
    import imagecodecs

    reason = built_with("JPEG8", "JPEG (libjpeg-turbo)")(info)
    if reason is None and info.bits_stored > 8 and not imagecodecs.JPEG8.all_precisions:
        reason = (
            f"Bits Stored {info.bits_stored} needs libjpeg-turbo 3 (12- and 16-bit); "
            f"imagecodecs has {imagecodecs.jpeg8_version()}"
        )
    return reason


def as_ycbcr(data: bytes) -> bytes:
    """Relabel a stream written as untransformed RGB as YCbCr samples.

    The component IDs become 1 2 3 in the frame header (SOF) and every scan
    header (SOS), and the Adobe APP14 marker goes: the samples are untouched,
    and a decoder reads them as YCbCr (ISO/IEC 10918-1 B.2.2 and B.2.3; T.872).
    libjpeg-turbo cannot write YCbCr losslessly above 8 bits itself.
    """
    out = bytearray(data[:2])
    offset, ids = 2, {}
    while offset + 4 <= len(data):
        marker, length = struct.unpack_from(">2H", data, offset)
        segment = bytearray(data[offset : offset + 2 + length])
        if marker in _common.SOF_MARKERS:
            for i in range(segment[9]):
                ids[segment[10 + 3 * i]] = i + 1
                segment[10 + 3 * i] = i + 1
        elif marker == _SOS:
            for i in range(segment[4]):
                segment[5 + 2 * i] = ids.get(segment[5 + 2 * i], segment[5 + 2 * i])
        if marker != _APP14:
            out += segment
        offset += 2 + length
        if marker == _SOS:  # entropy-coded data up to the next marker that is not RSTn
            end = _scan_end(data, offset)
            out += data[offset:end]
            offset = end
            if data[offset : offset + 2] == b"\xff\xd9":
                break
    return bytes(out + data[offset:])


def _scan_end(data: bytes, offset: int) -> int:
    """Where the entropy-coded segment starting at ``offset`` ends (B.1.1.5)."""
    while True:
        offset = data.find(b"\xff", offset)
        if offset < 0 or offset + 1 >= len(data):
            return len(data)
        following = data[offset + 1]
        if following != 0 and not 0xD0 <= following <= 0xD7 and following != 0xFF:
            return offset
        offset += 1


def decode_jpeg(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG frame with libjpeg-turbo, which makes YCbCr RGB row by row when asked.

    Every process libjpeg-turbo reads goes the same way: sequential, progressive
    (all scans are gathered before the output is made) and lossless.
    """
    import imagecodecs

    info = frame.info
    src = bytes(frame.data)
    with decode_errors(frame, JPEG_NAME):
        stream = _common.jpeg_parameters(src)
        _common.check_jpeg(stream, info)
        colour_space = _common.jpeg_colour_space(stream, info.photometric_interpretation)
        # libjpeg-turbo converts colour in the DCT processes only; a lossless stream's
        # YCbCr is converted by _finish instead.
        to_rgb = colour_space == "YBR_FULL" and options.get("as_rgb", True) and not stream.lossless
        space = ("YCbCr" if to_rgb else "RGB") if stream.components == 3 else None
        into = decode_target(options, info, f"u{_common.container_size(stream.precision)}")
        arr = imagecodecs.jpeg8_decode(
            src, colorspace=space, outcolorspace=space and "RGB", out=into
        )
        values, colour_space = samples(arr, info), "RGB" if to_rgb else colour_space
    within_bits_stored(values, info, lossy=not stream.lossless)
    return finish(frame, values, colour_space, options, JPEG_NAME)


def _jpeg_lossless(
    values: Array, info: FrameInfo, syntax: TransferSyntax, options: dict[str, Any], codec: str
) -> tuple[Array, dict[str, Any], str]:
    predictor = 1 if syntax.uid == JPEGLosslessSV1.uid else int(options.get("predictor", 1))
    if not 1 <= predictor <= 7:  # ISO/IEC 10918-1 Table H.1
        raise EncodeError(f"predictor must be 1..7, not {predictor}", codec=codec)
    # P is Bits Stored, but never 8 or less in a 16-bit frame: decoders size their samples
    # from P, and pydicom reads JPEG samples as Bits Allocated wide.
    precision = max(info.bits_stored, 2 if info.bits_allocated == 8 else 9)
    patterns = values.view(values.dtype.str.replace("i", "u"))
    if info.pixel_representation:  # JPEG has no sign: store P-bit two's complement patterns
        patterns = patterns & ((1 << precision) - 1)
    kwargs: dict[str, Any] = {
        "lossless": True,
        "predictor": predictor,
        "bitspersample": precision,  # ISO/IEC 10918-1 H.1: P is 2..16
    }
    if info.samples_per_pixel == 3:  # store the samples as they are: no colour transform
        kwargs.update(colorspace="RGB", outcolorspace="RGB")  # relabelled for YCbCr
    return patterns, kwargs, full_size(info.photometric_interpretation)


def _jpeg_lossy(
    values: Array, info: FrameInfo, syntax: TransferSyntax, options: dict[str, Any], codec: str
) -> tuple[Array, dict[str, Any], str]:
    # PS3.5 Table 8.2.1-1: Baseline is 8 bits in 8; Extended also 12 in 16. Decoders size
    # samples from P and pydicom reads them as Bits Allocated wide, so P follows the container.
    eight_only = syntax.uid in (JPEGBaseline8Bit.uid, JPEGXLJPEGRecompression.uid)
    limit = 8 if eight_only or info.bits_allocated == 8 else 12
    if info.bits_stored > limit or (eight_only and info.bits_allocated != 8):
        raise EncodeError(
            f"{syntax.keyword} holds {limit}-bit samples in {8 if limit == 8 else 16}-bit frames; "
            f"this frame has {info.bits_stored} bits stored in {info.bits_allocated}",
            codec=codec,
        )
    if info.pixel_representation:
        raise EncodeError(
            f"{syntax.keyword} is lossy: its DCT would wrap signed samples at zero; "
            "use a lossless syntax",
            codec=codec,
        )
    quality = int(options.get("quality", DEFAULT_QUALITY))
    if not 1 <= quality <= 100:
        raise EncodeError(f"quality must be 1..100, not {quality}", codec=codec)
    kwargs: dict[str, Any] = {"level": quality, "bitspersample": limit}
    photometric = info.photometric_interpretation
    if info.samples_per_pixel == 3:
        subsampling = str(options.get("subsampling", "422"))
        if subsampling not in ("422", "444"):
            raise EncodeError(
                f"subsampling must be '422' or '444', not {subsampling!r}", codec=codec
            )
        source = "RGB" if photometric == "RGB" else "YCbCr"
        kwargs.update(colorspace=source, outcolorspace="YCbCr", subsampling=subsampling)
        photometric = "YBR_FULL_422" if subsampling == "422" else _common.YBR_FULL
    return values, kwargs, photometric


def jpeg_bytes(
    frame: NativeFrame, syntax: TransferSyntax, options: dict[str, Any], codec: str
) -> tuple[bytes, str]:
    """A JPEG stream of the frame in ``syntax``'s process, and its photometric."""
    import imagecodecs

    info = frame.info
    values = encoder_input(frame, syntax, codec)
    lossless = syntax.uid in (JPEGLossless.uid, JPEGLosslessSV1.uid)
    make = _jpeg_lossless if lossless else _jpeg_lossy
    values, kwargs, photometric = make(values, info, syntax, options, codec)
    try:
        data = imagecodecs.jpeg8_encode(values, out=buffer_size(values), **kwargs)
    except Exception as exc:  # imagecodecs.Jpeg8Error and friends
        raise encoder_failed(codec, exc) from exc
    if lossless and info.samples_per_pixel == 3 and photometric != "RGB":
        return as_ycbcr(bytes(data)), photometric
    return bytes(data), photometric


def encode_jpeg(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
    """Encode a frame as JPEG (Baseline, Extended, Lossless or Lossless SV1)."""
    data, photometric = jpeg_bytes(frame, syntax, options, JPEG_NAME)
    return _common.encapsulated_frame(data, frame, syntax, photometric)


def decode_jpegls(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG-LS frame with CharLS."""
    import imagecodecs

    info = frame.info
    src = bytes(frame.data)
    with decode_errors(frame, JPEGLS_NAME):
        stream = _common.jpeg_parameters(src)
        _common.check_jpeg(stream, info)
        values = samples(imagecodecs.jpegls_decode(src), info)
    _common.sign_extend(values, stream.precision)  # JPEG-LS has no sign: read at P (pydicom)
    colour_space = _common.jpeg_colour_space(stream, info.photometric_interpretation)
    return finish(frame, values, colour_space, options, JPEGLS_NAME)


def encode_jpegls(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """Encode a frame as JPEG-LS (lossless, or near-lossless with ``lossy_error``)."""
    import imagecodecs

    info = frame.info
    error = lossy_error(syntax, options, JPEGLS_NAME)
    values = narrow(encoder_input(frame, syntax, JPEGLS_NAME), info)
    precision = 8 * values.dtype.itemsize  # CharLS through imagecodecs: P is the container
    check_near(values, info, error, precision, JPEGLS_NAME)
    patterns = values.view(values.dtype.str.replace("i", "u"))
    try:
        data = bytes(imagecodecs.jpegls_encode(patterns, level=error, out=buffer_size(values)))
        written = _common.jpeg_parameters(data).precision
    except Exception as exc:  # imagecodecs.JpeglsError
        raise encoder_failed(JPEGLS_NAME, exc) from exc
    if info.pixel_representation and written != precision:
        # A decoder sign-extends from P: P must be the width of the patterns written.
        raise EncodeError(
            f"CharLS wrote P={written} for {precision}-bit signed patterns", codec=JPEGLS_NAME
        )
    return _common.encapsulated_frame(data, frame, syntax, info.photometric_interpretation)
