"""JPEG 2000 (OpenJPEG) and HTJ2K (OpenJPH) through imagecodecs.

Decoding gives pixel-interleaved samples whatever the backend returns:
OpenJPH gives the components of a codestream without the multiple-component
transform as planes, which are interleaved here. Encoding writes a bare
codestream (PS3.5 A.4.4); RGB uses the multiple-component transform unless
``use_mct=False``, and the frame then says YBR_RCT (lossless) or YBR_ICT.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from dicomframe.codecs import _common
from dicomframe.codecs.imagecodecs.common import (
    HTJ2K_NAME,
    J2K_NAME,
    Array,
    buffer_size,
    decode_errors,
    encoder_failed,
    encoder_input,
    finish,
    full_size,
    narrow,
    samples,
)
from dicomframe.core.transfer_syntax import HTJ2KLosslessRPCL
from dicomframe.errors import EncodeError
from dicomframe.plugins.helpers import decode_target

if TYPE_CHECKING:
    from dicomframe.codecs._common import J2KParameters
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = ["decode_htj2k", "decode_j2k", "encode_htj2k", "encode_j2k"]

_RPCL = 2  # ISO/IEC 15444-1 Table A.16: progression order 2 is RPCL
_BASE_SIZE = 64  # PS3.5 10.18: the .202 base resolution is at most 64 wide and high


class _Backend(Protocol):
    def __call__(self, src: bytes, out: Array | None, stream: J2KParameters, /) -> Array: ...


def _decode_j2k_family(
    frame: EncapsulatedFrame, options: dict[str, Any], codec: str, decode: _Backend
) -> NativeFrame:
    info = frame.info
    src = bytes(frame.data)
    with decode_errors(frame, codec):
        stream = _common.j2k_parameters(src)
        _common.check_j2k(stream, info)
        backend = f"{'i' if stream.signed else 'u'}{_common.container_size(stream.precision)}"
        values = samples(decode(src, decode_target(options, info, backend), stream), info)
    _common.correct_j2k_sign(values, info, stream)
    colour_space = _common.j2k_colour_space(info.photometric_interpretation)
    return finish(frame, values, colour_space, options, codec)


def decode_j2k(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode a JPEG 2000 frame with OpenJPEG."""
    import imagecodecs

    def decode(src: bytes, out: Array | None, stream: J2KParameters) -> Array:
        return imagecodecs.jpeg2k_decode(src, out=out)

    return _decode_j2k_family(frame, options, J2K_NAME, decode)


def decode_htj2k(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Decode an HTJ2K frame with OpenJPH."""
    import imagecodecs

    def decode(src: bytes, out: Array | None, stream: J2KParameters) -> Array:
        _check_reversible(stream)
        if stream.components == 1 or stream.mct:
            return imagecodecs.htj2k_decode(src, out=out)
        # Without the colour transform OpenJPH gives the components as planes.
        planes = imagecodecs.htj2k_decode(src)
        if planes.shape[0] == stream.components and planes.shape[-1] == stream.columns:
            return np.moveaxis(planes, 0, -1)
        return planes

    return _decode_j2k_family(frame, options, HTJ2K_NAME, decode)


def _check_reversible(stream: J2KParameters) -> None:
    """Refuse an irreversible codestream, which OpenJPH through imagecodecs gets wrong.

    The 9-7 wavelet decodes to values slightly outside the sample range, and
    these come back wrapped at the container's edges (255 + 1 as 0, -1 as
    65535) instead of clipped; the registry then moves on to the next codec
    (pylibjpeg-openjpeg). Reversible (lossless) codestreams stay in range.
    """
    if not stream.reversible:
        raise ValueError(
            "a lossy (9-7 wavelet) codestream: OpenJPH through imagecodecs wraps samples "
            "the wavelet pushes out of range instead of clipping them; decode it with "
            "pylibjpeg-openjpeg"
        )


def _mct_photometric(
    info: FrameInfo, syntax: TransferSyntax, options: dict[str, Any]
) -> tuple[bool, str]:
    """Whether to use the multiple-component transform, and the photometric it gives."""
    photometric = full_size(info.photometric_interpretation)
    if photometric == "RGB" and options.get("use_mct", True):
        return True, "YBR_ICT" if syntax.is_lossy else "YBR_RCT"  # PS3.5 8.2.4
    return False, photometric


def encode_j2k(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
    """Encode a frame as a JPEG 2000 Part 1 codestream with OpenJPEG."""
    import imagecodecs

    info = frame.info
    values = encoder_input(frame, syntax, J2K_NAME)
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
            out=buffer_size(values),
            **kwargs,
        )
    except Exception as exc:  # imagecodecs.Jpeg2kError
        raise encoder_failed(J2K_NAME, exc) from exc
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
            codec=HTJ2K_NAME,
        )


def encode_htj2k(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """Encode a frame as an HTJ2K codestream with OpenJPH (RPCL order)."""
    import imagecodecs

    info = frame.info
    values = narrow(encoder_input(frame, syntax, HTJ2K_NAME), info)
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
                out=buffer_size(values),
                **kwargs,
            )
        )
    except Exception as exc:  # imagecodecs.Htj2kError
        raise encoder_failed(HTJ2K_NAME, exc) from exc
    if rpcl:
        _check_rpcl(data, info)
    return _common.encapsulated_frame(data, frame, syntax, photometric)
