"""Codecs backed by imagecodecs (BSD-3-Clause; its libraries are BSD, MIT, IJG or zlib).

Five codecs, priority 1 each (after the single-purpose pyjpegls at 5, before
pylibjpeg's at 0 and -10). imagecodecs may be built without some of its
libraries, so each codec's ``extra_check`` asks whether the one it needs is
there (``imagecodecs.JPEG8.available`` and so on) and declines with a reason
when it is not.

``imagecodecs-jpeg`` (libjpeg-turbo 3 through ``jpeg8_*``)
    Decodes and encodes JPEG Baseline (.50), Extended (.51: 8 or 12 bits),
    Lossless (.57) and Lossless SV1 (.70). Lossless encodes 2 to 16 bits, 1 or
    3 samples, signed or unsigned, with the first-order predictor for .70 and
    ``predictor`` (1-7, default 1) for .57, at P = Bits Stored (at least 9 in a
    16-bit frame: decoders size samples from P, and pydicom reads them as Bits
    Allocated wide). Lossy encodes unsigned samples only
    (a DCT of two's complement patterns would wrap at zero); RGB and YBR_FULL
    become YCbCr with ``subsampling`` ``"422"`` (default, YBR_FULL_422) or
    ``"444"`` (YBR_FULL); ``quality`` 1-100 (default 90). 12 and 16 bits need
    libjpeg-turbo 3 (``JPEG8.all_precisions``).
``imagecodecs-jpegls`` (CharLS)
    JPEG-LS (.80, .81) decode and encode; ``lossy_error`` as for ``pyjpegls``.
    imagecodecs sets P from the container (8 or 16 bits), so signed samples
    are written as full-container two's complement patterns: any decoder
    that follows pydicom's rule (sign-extend from P) reads them back.
``imagecodecs-j2k`` (OpenJPEG)
    JPEG 2000 (.90, .91, .92, .93) decode and encode; .92/.93 are written as
    Part 1 codestreams (Part 2 decoders read them; no Part 2 transform is
    used). RGB is encoded with the multiple-component transform unless
    ``use_mct=False``, and the frame then says YBR_RCT (lossless) or YBR_ICT.
    Lossy: irreversible 9-7 wavelet, ``psnr`` (dB) to aim for a quality,
    otherwise no rate control.
``imagecodecs-htj2k`` (OpenJPH)
    HTJ2K (.201, .202, .203) decode and encode. OpenJPH writes RPCL progression;
    for .202 the codec also writes TLM markers and enough decompositions for a
    base resolution of at most 64x64, and checks the codestream says so (PS3.5
    10.18). Lossy (.203): ``qstep``, the quantisation step (smaller is better).
    OpenJPH sets the precision from the container (8 or 16 bits).
``imagecodecs-jpegxl`` (libjxl)
    JPEG XL Lossless (.110), JPEG Recompression (.111) and JPEG XL (.112)
    decode and encode, unsigned samples only. .112 uses ``distance``
    (Butteraugli, default 1.0); both take ``effort`` (1-10). .111 is made by
    encoding 8-bit samples as a baseline JPEG (``quality``, ``subsampling``)
    and recompressing that stream losslessly with ``jpegxl_encode_jpeg``; the
    frame keeps the JPEG's YBR_FULL_422 / YBR_FULL. Decoding .111 gives RGB.

Decoding follows :mod:`dicomframe.codecs._common`; libjpeg-turbo makes JPEG YCbCr RGB (T.871 in
fixed point, within 1 of numpy's exact result), and ``out`` is used (``parallel.decode_target``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.codecs import _common
from dicomframe.codecs.jpegls import JPEGLS_PHOTOMETRIC, check_near, lossy_error
from dicomframe.core.transfer_syntax import (
    JPEGXL,
    HTJ2KLosslessRPCL,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGXLJPEGRecompression,
    JPEGXLLossless,
)
from dicomframe.errors import DecodeError, EncodeError
from dicomframe.parallel import decode_target
from dicomframe.plugins import Capabilities, Codec, hookimpl

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["HTJ2K", "J2K", "JPEG", "JPEGLS", "JPEGXL_CODEC", "dicomframe_codecs"]

Array = np.ndarray[Any, Any]
_REQUIRES = ("imagecodecs>=2024.1.1",)
_JPEG, _JPEGLS, _J2K, _HTJ2K, _JPEGXL = (
    "imagecodecs-jpeg",
    "imagecodecs-jpegls",
    "imagecodecs-j2k",
    "imagecodecs-htj2k",
    "imagecodecs-jpegxl",
)
_JPEGXL_SYNTAXES = frozenset(ts.uid for ts in (JPEGXLLossless, JPEGXLJPEGRecompression, JPEGXL))
_MONO_COLOUR = frozenset({"MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL"})
_RPCL = 2  # ISO/IEC 15444-1 Table A.16: progression order 2 is RPCL
_BASE_SIZE = 64  # PS3.5 10.18: the .202 base resolution is at most 64 wide and high


def _buffer_size(values: Array) -> int:
    # Room for incompressible data plus headers: some imagecodecs encoders write into a
    # preallocated buffer that is otherwise too small for tiny or noisy frames.
    return 2 * values.nbytes + 8192


def _built_with(feature: str, what: str) -> Callable[[FrameInfo], str | None]:
    """An ``extra_check`` declining when imagecodecs was built without ``feature``."""

    def check(info: FrameInfo) -> str | None:
        import imagecodecs

        if not getattr(getattr(imagecodecs, feature, None), "available", False):
            return f"the installed imagecodecs was built without {what}"
        return None

    check.__doc__ = f"Decline when imagecodecs has no {what}."
    return check


def _jpeg_check(info: FrameInfo) -> str | None:
    """Decline without libjpeg-turbo, or above 8 bits without its 12/16-bit support."""
    import imagecodecs

    reason = _built_with("JPEG8", "JPEG (libjpeg-turbo)")(info)
    if reason is None and info.bits_stored > 8 and not imagecodecs.JPEG8.all_precisions:
        reason = (
            f"Bits Stored {info.bits_stored} needs libjpeg-turbo 3 (12- and 16-bit); "
            f"imagecodecs has {imagecodecs.jpeg8_version()}"
        )
    return reason


@contextmanager
def _decode_errors(frame: EncapsulatedFrame, codec: str) -> Iterator[None]:
    """Translate a backend's or a header check's exception into a DecodeError."""
    try:
        yield
    except (ValueError, RuntimeError) as exc:  # imagecodecs errors are RuntimeErrors
        raise DecodeError(f"{codec}: {exc}", codec=codec, frame_index=frame.index) from exc


def _finish(
    frame: EncapsulatedFrame, values: Array, colour_space: str, options: dict[str, Any], codec: str
) -> NativeFrame:
    """Convert YCbCr to RGB when asked and wrap the values as the decoded frame."""
    try:
        values, photometric = _common.finish_colour(
            values, frame.info, colour_space, as_rgb=options.get("as_rgb", True)
        )
    except ValueError as exc:
        raise DecodeError(str(exc), codec=codec, frame_index=frame.index) from exc
    return _common.native_frame(values, frame.info, photometric)


def _samples(arr: Array, info: FrameInfo) -> Array:
    """The decoded array as flat values of the frame's dtype."""
    arr = np.ascontiguousarray(arr)
    return _common.read_samples(arr, arr.dtype.itemsize, info)


def _input(frame: NativeFrame, syntax: TransferSyntax, codec: str) -> Array:
    """The frame's samples, colour-by-pixel, after the checks every encoder needs."""
    info = frame.info
    if syntax.is_lossy and info.photometric_interpretation == "PALETTE COLOR":
        raise EncodeError(
            f"{syntax.keyword} is lossy: palette indices must be stored losslessly", codec=codec
        )
    values = _common.interleaved(frame)
    try:
        _common.check_range(values, info)
    except ValueError as exc:
        raise EncodeError(str(exc), codec=codec) from exc
    return values


def _narrow(values: Array, info: FrameInfo) -> Array:
    """Samples of at most 8 bits stored in a 16-bit container, as 8-bit samples."""
    if info.bits_stored <= 8 and values.dtype.itemsize > 1:
        return values.astype(values.dtype.kind + "1")
    return values


def _encoder_failed(codec: str, exc: Exception) -> EncodeError:
    return EncodeError(f"{codec}: {type(exc).__name__}: {exc}", codec=codec)


def _full_size(photometric: str) -> str:
    # frame.array has already upsampled YBR_FULL_422 chroma: the samples are YBR_FULL.
    return _common.YBR_FULL if photometric == "YBR_FULL_422" else photometric


# -- JPEG (ISO/IEC 10918) ----------------------------------------------------------------
def _decode_jpeg(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG frame with libjpeg-turbo, which makes YCbCr RGB row by row when asked."""
    import imagecodecs

    info = frame.info
    src = bytes(frame.data)
    with _decode_errors(frame, _JPEG):
        stream = _common.jpeg_parameters(src)
        _common.check_jpeg(stream, info)
        colour_space = _common.jpeg_colour_space(stream, info.photometric_interpretation)
        to_rgb = colour_space == "YBR_FULL" and options.get("as_rgb", True)
        space = ("YCbCr" if to_rgb else "RGB") if stream.components == 3 else None
        into = decode_target(options, info, f"u{_common.container_size(stream.precision)}")
        arr = imagecodecs.jpeg8_decode(
            src, colorspace=space, outcolorspace=space and "RGB", out=into
        )
        values, colour_space = _samples(arr, info), "RGB" if to_rgb else colour_space
    _common.sign_extend(values, info.bits_stored)  # pydicom: JPEG re-read at Bits Stored
    return _finish(frame, values, colour_space, options, _JPEG)


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
        kwargs.update(colorspace="RGB", outcolorspace="RGB")
    return patterns, kwargs, _full_size(info.photometric_interpretation)


def _lossy_check(info: FrameInfo, syntax: TransferSyntax) -> str | None:
    """Target-syntax limits, declared so the registry declines up front (encoders check too)."""
    if not syntax.is_lossy:
        return None
    if info.photometric_interpretation == "PALETTE COLOR":
        return f"{syntax.keyword} is lossy: palette indices must be stored losslessly"
    if syntax.uid not in (JPEGBaseline8Bit.uid, JPEGExtended12Bit.uid, JPEGXLJPEGRecompression.uid):
        return None
    eight_only = syntax.uid != JPEGExtended12Bit.uid
    limit = 8 if eight_only or info.bits_allocated == 8 else 12
    if info.bits_stored > limit or (eight_only and info.bits_allocated != 8):
        return f"{syntax.keyword} holds {limit}-bit samples; this frame has {info.bits_stored}"
    return "signed samples cannot be lossy JPEG" if info.pixel_representation else None


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
    quality = int(options.get("quality", 90))
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


def _jpeg_bytes(
    frame: NativeFrame, syntax: TransferSyntax, options: dict[str, Any], codec: str
) -> tuple[bytes, str]:
    """A JPEG stream of the frame in ``syntax``'s process, and its photometric."""
    import imagecodecs

    info = frame.info
    values = _input(frame, syntax, codec)
    lossless = syntax.uid in (JPEGLossless.uid, JPEGLosslessSV1.uid)
    make = _jpeg_lossless if lossless else _jpeg_lossy
    values, kwargs, photometric = make(values, info, syntax, options, codec)
    try:
        data = imagecodecs.jpeg8_encode(values, out=_buffer_size(values), **kwargs)
    except Exception as exc:  # imagecodecs.Jpeg8Error and friends
        raise _encoder_failed(codec, exc) from exc
    return bytes(data), photometric


def _encode_jpeg(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """Encode a frame as JPEG (Baseline, Extended, Lossless or Lossless SV1)."""
    data, photometric = _jpeg_bytes(frame, syntax, options, _JPEG)
    return _common.encapsulated_frame(data, frame, syntax, photometric)


# -- JPEG-LS ---------------------------------------------------------------------------------
def _decode_jpegls(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG-LS frame with CharLS."""
    import imagecodecs

    info = frame.info
    src = bytes(frame.data)
    with _decode_errors(frame, _JPEGLS):
        stream = _common.jpeg_parameters(src)
        _common.check_jpeg(stream, info)
        values = _samples(imagecodecs.jpegls_decode(src), info)
    _common.sign_extend(values, stream.precision)  # JPEG-LS has no sign: read at P (pydicom)
    colour_space = _common.jpeg_colour_space(stream, info.photometric_interpretation)
    return _finish(frame, values, colour_space, options, _JPEGLS)


def _encode_jpegls(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """Encode a frame as JPEG-LS (lossless, or near-lossless with ``lossy_error``)."""
    import imagecodecs

    info = frame.info
    error = lossy_error(syntax, options, _JPEGLS)
    values = _narrow(_input(frame, syntax, _JPEGLS), info)
    precision = 8 * values.dtype.itemsize  # CharLS through imagecodecs: P is the container
    check_near(values, info, error, precision, _JPEGLS)
    patterns = values.view(values.dtype.str.replace("i", "u"))
    try:
        data = bytes(imagecodecs.jpegls_encode(patterns, level=error, out=_buffer_size(values)))
        written = _common.jpeg_parameters(data).precision
    except Exception as exc:  # imagecodecs.JpeglsError
        raise _encoder_failed(_JPEGLS, exc) from exc
    if info.pixel_representation and written != precision:
        # A decoder sign-extends from P: P must be the width of the patterns written.
        raise EncodeError(
            f"CharLS wrote P={written} for {precision}-bit signed patterns", codec=_JPEGLS
        )
    return _common.encapsulated_frame(data, frame, syntax, info.photometric_interpretation)


# -- JPEG 2000 and HTJ2K ---------------------------------------------------------------------
def _j2k_colour_space(photometric: str) -> str:
    """The colour space OpenJPEG/OpenJPH output is in: MCT undone, chroma full size."""
    if photometric in ("YBR_ICT", "YBR_RCT"):
        return "RGB"
    return _full_size(photometric)


def _decode_j2k_family(
    frame: EncapsulatedFrame, options: dict[str, Any], codec: str, decode: Callable[..., Array]
) -> NativeFrame:
    info = frame.info
    src = bytes(frame.data)
    with _decode_errors(frame, codec):
        stream = _common.j2k_parameters(src)
        _common.check_j2k(stream, info)
        backend = f"{'i' if stream.signed else 'u'}{_common.container_size(stream.precision)}"
        values = _samples(decode(src, out=decode_target(options, info, backend)), info)
    _common.correct_j2k_sign(values, info, stream)
    colour_space = _j2k_colour_space(info.photometric_interpretation)
    return _finish(frame, values, colour_space, options, codec)


def _decode_j2k(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG 2000 frame with OpenJPEG."""
    import imagecodecs

    return _decode_j2k_family(frame, options, _J2K, imagecodecs.jpeg2k_decode)


def _decode_htj2k(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode an HTJ2K frame with OpenJPH."""
    import imagecodecs

    return _decode_j2k_family(frame, options, _HTJ2K, imagecodecs.htj2k_decode)


def _mct_photometric(
    info: FrameInfo, syntax: TransferSyntax, options: dict[str, Any]
) -> tuple[bool, str]:
    """Whether to use the multiple-component transform, and the photometric it gives."""
    photometric = _full_size(info.photometric_interpretation)
    if photometric == "RGB" and options.get("use_mct", True):
        return True, "YBR_ICT" if syntax.is_lossy else "YBR_RCT"  # PS3.5 8.2.4
    return False, photometric


def _encode_j2k(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
    """Encode a frame as a JPEG 2000 Part 1 codestream with OpenJPEG."""
    import imagecodecs

    info = frame.info
    values = _input(frame, syntax, _J2K)
    mct, photometric = _mct_photometric(info, syntax, options)
    kwargs: dict[str, Any] = {"reversible": not syntax.is_lossy}
    if syntax.is_lossy and options.get("psnr") is not None:
        kwargs["level"] = float(options["psnr"])
    try:
        data = imagecodecs.jpeg2k_encode(
            values,
            codecformat="J2K",  # a bare codestream, not a JP2 file (PS3.5 A.4.4)
            colorspace="SRGB" if info.samples_per_pixel == 3 else "GRAY",
            mct=mct,
            bitspersample=info.bits_stored,
            out=_buffer_size(values),
            **kwargs,
        )
    except Exception as exc:  # imagecodecs.Jpeg2kError
        raise _encoder_failed(_J2K, exc) from exc
    return _common.encapsulated_frame(bytes(data), frame, syntax, photometric)


def _decompositions(info: FrameInfo) -> int:
    """Enough wavelet levels for a base resolution of at most 64x64, and at least 5."""
    largest = max(info.rows, info.columns, _BASE_SIZE)
    return max(5, math.ceil(math.log2(largest / _BASE_SIZE)))


def _main_header(data: bytes) -> tuple[int, int, bool]:
    """Progression order, decompositions and TLM presence from a codestream's main header."""
    offset, order, levels, tlm = 2, -1, -1, False
    while offset + 4 <= len(data):
        marker = int.from_bytes(data[offset : offset + 2], "big")
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        if marker == 0xFF52:  # COD: Lcod, Scod, order, layers (2), MCT, decompositions
            order, levels = data[offset + 5], data[offset + 9]
        elif marker == 0xFF55:  # TLM
            tlm = True
        elif marker in (0xFF90, 0xFF93):  # SOT/SOD: the main header has ended
            break
        offset += 2 + length
    return order, levels, tlm


def _check_rpcl(data: bytes, info: FrameInfo) -> None:
    """Refuse a .202 codestream that lacks what PS3.5 10.18 requires."""
    order, levels, tlm = _main_header(data)
    base = max(math.ceil(info.rows / 2**levels), math.ceil(info.columns / 2**levels))
    if order != _RPCL or not tlm or base > _BASE_SIZE:
        raise EncodeError(
            f"OpenJPH wrote progression order {order}, TLM {tlm}, {levels} decompositions; "
            f"{HTJ2KLosslessRPCL.keyword} needs RPCL (2), TLM and a base resolution of at "
            f"most {_BASE_SIZE}",
            codec=_HTJ2K,
        )


def _encode_htj2k(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """Encode a frame as an HTJ2K codestream with OpenJPH (RPCL order)."""
    import imagecodecs

    info = frame.info
    values = _narrow(_input(frame, syntax, _HTJ2K), info)
    mct, photometric = _mct_photometric(info, syntax, options)
    rpcl = syntax.uid == HTJ2KLosslessRPCL.uid
    kwargs: dict[str, Any] = {"reversible": not syntax.is_lossy}
    if syntax.is_lossy and options.get("qstep") is not None:
        kwargs["level"] = float(options["qstep"])
    try:
        data = bytes(
            imagecodecs.htj2k_encode(
                values,
                rgb=mct,
                resolutions=_decompositions(info),  # imagecodecs: the number of DWT levels
                tlm=rpcl or bool(options.get("tlm", False)),
                out=_buffer_size(values),
                **kwargs,
            )
        )
    except Exception as exc:  # imagecodecs.Htj2kError
        raise _encoder_failed(_HTJ2K, exc) from exc
    if rpcl:
        _check_rpcl(data, info)
    return _common.encapsulated_frame(data, frame, syntax, photometric)


# -- JPEG XL -------------------------------------------------------------------------------
def _decode_jpegxl(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG XL frame with libjxl (a recompressed JPEG decodes to RGB)."""
    import imagecodecs

    info = frame.info
    with _decode_errors(frame, _JPEGXL):
        arr = imagecodecs.jpegxl_decode(bytes(frame.data))
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.shape != info.shape or arr.dtype.kind not in "ui":
            raise ValueError(f"the image is {arr.dtype} {arr.shape}; the dataset {info.shape}")
        values = _samples(arr, info)
    _common.sign_extend(values, info.bits_stored)  # no sign in JPEG XL: as pydicom does JPEG
    recompressed = info.transfer_syntax_uid == JPEGXLJPEGRecompression.uid
    if recompressed and info.samples_per_pixel == 3:
        colour_space = "RGB"  # libjxl converts the JPEG's YCbCr itself
    else:
        colour_space = _full_size(info.photometric_interpretation)
    return _finish(frame, values, colour_space, options, _JPEGXL)


def _encode_jpegxl(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """Encode a frame as JPEG XL (lossless, lossy, or a recompressed baseline JPEG)."""
    import imagecodecs

    info = frame.info
    if syntax.uid == JPEGXLJPEGRecompression.uid:
        jpeg, photometric = _jpeg_bytes(frame, syntax, options, _JPEGXL)
        try:
            data = imagecodecs.jpegxl_encode_jpeg(jpeg)
        except Exception as exc:  # imagecodecs.JpegxlError
            raise _encoder_failed(_JPEGXL, exc) from exc
        return _common.encapsulated_frame(bytes(data), frame, syntax, photometric)
    values = _narrow(_input(frame, syntax, _JPEGXL), info)
    kwargs: dict[str, Any] = {"lossless": not syntax.is_lossy, "bitspersample": info.bits_stored}
    if syntax.is_lossy:
        kwargs["distance"] = float(options.get("distance", 1.0))
    if options.get("effort") is not None:
        kwargs["effort"] = int(options["effort"])
    try:
        data = imagecodecs.jpegxl_encode(values, **kwargs)
    except Exception as exc:  # imagecodecs.JpegxlError
        raise _encoder_failed(_JPEGXL, exc) from exc
    return _common.encapsulated_frame(
        bytes(data), frame, syntax, _full_size(info.photometric_interpretation)
    )


# -- the codecs -------------------------------------------------------------------------------
_imagecodecs = functools.partial(Codec, modules=("imagecodecs",), requires=_REQUIRES, priority=1)
_UP_TO_16 = Capabilities(max_bits_stored=16)
_ENCODE_CAPS = Capabilities(max_bits_stored=16, photometric=JPEGLS_PHOTOMETRIC)

JPEG = _imagecodecs(
    name=_JPEG,
    transfer_syntaxes=_common.JPEG_SYNTAXES,
    decode=_decode_jpeg,
    encode=_encode_jpeg,
    decode_caps=_UP_TO_16,
    encode_caps=Capabilities(
        max_bits_stored=16, photometric=frozenset({*JPEGLS_PHOTOMETRIC, "YBR_FULL_422"})
    ),
    extra_check=_jpeg_check,
    encode_check=_lossy_check,
)
JPEGLS = _imagecodecs(
    name=_JPEGLS,
    transfer_syntaxes=_common.JPEG_LS_SYNTAXES,
    decode=_decode_jpegls,
    encode=_encode_jpegls,
    decode_caps=_UP_TO_16,
    encode_caps=_ENCODE_CAPS,
    extra_check=_built_with("JPEGLS", "JPEG-LS (CharLS)"),
)
J2K = _imagecodecs(
    name=_J2K,
    transfer_syntaxes=_common.J2K_SYNTAXES,
    decode=_decode_j2k,
    encode=_encode_j2k,
    decode_caps=Capabilities(bits_allocated=frozenset({8, 16, 32})),
    encode_caps=_ENCODE_CAPS,
    extra_check=_built_with("JPEG2K", "JPEG 2000 (OpenJPEG)"),
)
HTJ2K = _imagecodecs(
    name=_HTJ2K,
    transfer_syntaxes=_common.HTJ2K_SYNTAXES,
    decode=_decode_htj2k,
    encode=_encode_htj2k,
    decode_caps=Capabilities(bits_allocated=frozenset({8, 16, 32})),
    encode_caps=_ENCODE_CAPS,
    extra_check=_built_with("HTJ2K", "HTJ2K (OpenJPH)"),
)
JPEGXL_CODEC = _imagecodecs(
    name=_JPEGXL,
    transfer_syntaxes=_JPEGXL_SYNTAXES,
    decode=_decode_jpegxl,
    encode=_encode_jpegxl,
    decode_caps=_UP_TO_16,
    encode_caps=Capabilities(max_bits_stored=16, signed=False, photometric=_MONO_COLOUR),
    extra_check=_built_with("JPEGXL", "JPEG XL (libjxl)"),
    encode_check=_lossy_check,
)


@hookimpl
def dicomframe_codecs() -> list[Codec]:
    """The imagecodecs codecs (imagecodecs is imported on first use)."""
    return [JPEG, JPEGLS, J2K, HTJ2K, JPEGXL_CODEC]
