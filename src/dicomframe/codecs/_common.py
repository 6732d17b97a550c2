"""Helpers shared by the codec modules: syntax groups, stream headers, output frames.

The header parsers live in :mod:`dicomframe.plugins.codestream` (the registry reads the
same headers before any codec runs) and are re-exported here.

Nothing here imports a codec backend. The rules a decoder follows to make its
:class:`NativeFrame` tell the truth live here once:

- **Container and dtype.** A backend gives each sample in the smallest
  container that holds the stream's precision (1, 2 or 4 bytes). The bytes
  are read with the signedness Pixel Representation calls for, then widened
  to the frame's dtype (Bits Allocated), as pydicom does.
- **Sign and precision** (:func:`correct_j2k_sign`, :func:`sign_extend`).
  JPEG 2000 records each component's signedness and precision (SIZ, ISO/IEC
  15444-1 A.5.1); when the signedness disagrees with Pixel Representation the
  stream's ``precision``-bit patterns are re-read with the dataset's
  signedness: shifting left by ``container bits - precision`` and back
  sign-extends them (signed) or clears the bits above them (unsigned).
  JPEG-LS records no signedness, so its samples are always re-read that way
  at the stream's precision; JPEG (ISO/IEC 10918) the same at Bits Stored.
- **Colour** (:func:`jpeg_colour_space`, :func:`finish_colour`). A decoded
  frame says what its samples are. JPEG components are taken as the
  Photometric Interpretation says, unless the codestream says otherwise:
  component IDs ``R G B`` mean RGB, an Adobe APP14 transform flag of 1 means
  the encoder converted to YCbCr, and a JFIF APP0 means YCbCr. With
  ``as_rgb`` (the default, as in pydicom) YCbCr becomes RGB through
  :mod:`dicomframe.color`; otherwise it is reported as YBR_FULL: the decoder
  has already upsampled any 4:2:2 chroma, so the result is never
  YBR_FULL_422. Studio-range YBR_PARTIAL is always converted: no
  Photometric Interpretation describes it with full-resolution chroma.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import (
    HTJ2K,
    JPEG2000,
    JPEG2000MC,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    JPEG2000Lossless,
    JPEG2000MCLossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
)
from dicomframe.plugins.codestream import (
    SOF_MARKERS,
    J2KParameters,
    JPEGParameters,
    j2k_parameters,
    jpeg_parameters,
)

if TYPE_CHECKING:
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = [
    "HTJ2K_SYNTAXES",
    "J2K_SYNTAXES",
    "JPEG_LS_SYNTAXES",
    "JPEG_SYNTAXES",
    "SOF_MARKERS",
    "YBR_FULL",
    "J2KParameters",
    "JPEGParameters",
    "check_j2k",
    "check_jpeg",
    "check_range",
    "container_size",
    "correct_j2k_sign",
    "encapsulated_frame",
    "finish_colour",
    "interleaved",
    "j2k_colour_space",
    "j2k_parameters",
    "jpeg_colour_space",
    "jpeg_parameters",
    "native_frame",
    "read_samples",
    "sign_extend",
]

Array = np.ndarray[Any, Any]

# ISO/IEC 10918-1 (PS3.5 A.4.1) processes that pylibjpeg-libjpeg and Pillow's libjpeg decode.
JPEG_SYNTAXES = frozenset(
    ts.uid for ts in (JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1)
)
JPEG_LS_SYNTAXES = frozenset(ts.uid for ts in (JPEGLSLossless, JPEGLSNearLossless))
J2K_SYNTAXES = frozenset(
    ts.uid for ts in (JPEG2000Lossless, JPEG2000, JPEG2000MCLossless, JPEG2000MC)
)
HTJ2K_SYNTAXES = frozenset(ts.uid for ts in (HTJ2KLossless, HTJ2KLosslessRPCL, HTJ2K))

YBR_FULL = "YBR_FULL"
_YBR_RGB = ("YBR_FULL", "YBR_FULL_422")
_YBR_PARTIAL = ("YBR_PARTIAL_422", "YBR_PARTIAL_420")
_RGB_IDS = ((0x52, 0x47, 0x42), (0x72, 0x67, 0x62))  # "RGB" / "rgb" (ASCII component IDs)


# -- samples, sign and precision ------------------------------------------------------
def container_size(precision: int) -> int:
    """Bytes per sample a backend uses for ``precision``-bit samples: 1, 2 or 4."""
    if precision <= 8:
        return 1
    if precision <= 16:
        return 2
    return 4


def read_samples(raw: Any, itemsize: int, info: FrameInfo) -> Array:
    """Decoded bytes of ``itemsize``-byte samples as a flat array of ``info.dtype``.

    The bytes are read with the signedness Pixel Representation calls for, then
    widened to Bits Allocated (pydicom does the same).

    Raises
    ------
    ValueError
        When the samples are wider than Bits Allocated, or too few or many.
    """
    dtype = info.dtype
    if itemsize > dtype.itemsize:
        raise ValueError(
            f"the stream holds {itemsize * 8}-bit samples; Bits Allocated is {info.bits_allocated}"
        )
    kind = "i" if info.pixel_representation else "u"
    values = np.frombuffer(raw, dtype=f"<{kind}{itemsize}")
    # One value per sample: decoders upsample subsampled (YBR_FULL_422) chroma.
    needed = info.rows * info.columns * info.samples_per_pixel
    if values.size != needed:
        raise ValueError(
            f"the backend gave {values.size} samples; "
            f"{info.rows}x{info.columns}x{info.samples_per_pixel} needs {needed}"
        )
    if values.dtype != dtype:
        return values.astype(dtype)
    return values if values.flags.writeable else values.copy()


def sign_extend(values: Array, precision: int) -> Array:
    """Re-read ``precision``-bit patterns in ``values``' own signedness, in place.

    Signed values are sign-extended from bit ``precision - 1``; unsigned ones
    lose every bit above ``precision``.
    """
    shift = values.dtype.itemsize * 8 - precision
    if shift > 0:
        np.left_shift(values, shift, out=values)
        np.right_shift(values, shift, out=values)
    return values


def correct_j2k_sign(values: Array, info: FrameInfo, stream: J2KParameters) -> Array:
    """Apply the JPEG 2000 sign rule (module docstring) to decoded ``values``, in place."""
    if stream.signed != bool(info.pixel_representation):
        sign_extend(values, stream.precision)
    return values


def check_j2k(stream: J2KParameters, info: FrameInfo) -> None:
    """Refuse a codestream whose size or components contradict the dataset."""
    if (stream.rows, stream.columns) != (info.rows, info.columns):
        raise ValueError(
            f"the codestream is {stream.columns}x{stream.rows}; "
            f"the dataset says {info.columns}x{info.rows}"
        )
    if stream.components != info.samples_per_pixel:
        raise ValueError(
            f"the codestream has {stream.components} components; "
            f"Samples per Pixel is {info.samples_per_pixel}"
        )
    if container_size(stream.precision) > info.dtype.itemsize:
        raise ValueError(
            f"the codestream's precision {stream.precision} exceeds Bits Allocated "
            f"{info.bits_allocated}"
        )


def check_jpeg(stream: JPEGParameters, info: FrameInfo) -> None:
    """Refuse a JPEG stream whose size or components contradict the dataset."""
    if (stream.rows, stream.columns) != (info.rows, info.columns) and stream.rows:
        raise ValueError(
            f"the JPEG stream is {stream.columns}x{stream.rows}; "
            f"the dataset says {info.columns}x{info.rows}"
        )
    if stream.components != info.samples_per_pixel:
        raise ValueError(
            f"the JPEG stream has {stream.components} components; "
            f"Samples per Pixel is {info.samples_per_pixel}"
        )


# -- colour -----------------------------------------------------------------------------
def jpeg_colour_space(stream: JPEGParameters, photometric: str) -> str:
    """What a JPEG or JPEG-LS stream's decoded components are (module docstring).

    Returns the Photometric Interpretation of the components as the decoder
    gives them, before any conversion: ``"RGB"``, ``"YBR_FULL"``, one of
    the YBR_PARTIAL terms, or ``photometric`` unchanged.
    """
    if stream.components != 3:
        return photometric
    if stream.component_ids in _RGB_IDS:
        return "RGB"
    if stream.adobe_transform == 1 or (stream.jfif and "YBR" not in photometric):
        return YBR_FULL
    if photometric in _YBR_RGB:
        return YBR_FULL
    return photometric


def j2k_colour_space(photometric: str) -> str:
    """What a JPEG 2000 decoder's output is: the MCT is undone, every component is full size."""
    if photometric in ("YBR_ICT", "YBR_RCT"):
        return "RGB"
    if photometric == "YBR_FULL_422":
        return YBR_FULL
    return photometric


def finish_colour(
    values: Array, info: FrameInfo, colour_space: str, *, as_rgb: bool
) -> tuple[Array, str]:
    """Convert decoded YCbCr to RGB when asked (always for YBR_PARTIAL).

    Returns the (possibly new) flat values and the Photometric Interpretation
    they are in.
    """
    partial = colour_space in _YBR_PARTIAL
    if info.samples_per_pixel != 3 or not (partial or (as_rgb and colour_space == YBR_FULL)):
        return values, colour_space
    if values.dtype.kind != "u":
        raise ValueError(f"cannot convert signed {colour_space} samples to RGB")
    from dicomframe.color import ybr_to_rgb

    shaped = values.reshape(info.rows, info.columns, 3)
    bits = max(info.bits_stored, 8) if partial else info.bits_stored
    return ybr_to_rgb(shaped, partial=partial, bits=bits).reshape(-1), "RGB"


# -- frames -----------------------------------------------------------------------------
def native_frame(values: Array, info: FrameInfo, photometric: str) -> NativeFrame:
    """The decoded frame: pixel-interleaved, Explicit VR Little Endian, ``photometric``."""
    out = info.replace(
        photometric_interpretation=photometric,
        planar_configuration=0,
        transfer_syntax_uid=ExplicitVRLittleEndian.uid,
    )
    return NativeFrame(values, out)


def interleaved(frame: NativeFrame) -> Array:
    """A native frame's samples as a C-contiguous ``(rows, columns[, samples])`` array."""
    return np.ascontiguousarray(frame.array)


def check_range(values: Array, info: FrameInfo) -> None:
    """Refuse values outside the Bits Stored range: an encoder would change them."""
    bits = info.bits_stored
    low, high = (
        (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        if info.pixel_representation
        else (0, (1 << bits) - 1)
    )
    if values.size and (int(values.min()) < low or int(values.max()) > high):
        raise ValueError(
            f"values {values.min()}..{values.max()} do not fit Bits Stored {bits} "
            f"({low}..{high}); mask them first"
        )


def encapsulated_frame(
    data: bytes, frame: NativeFrame, syntax: TransferSyntax, photometric: str
) -> EncapsulatedFrame:
    """The encoded frame: one fragment, ``syntax``, ``photometric``, planar configuration 0."""
    info = frame.info.replace(
        photometric_interpretation=photometric,
        planar_configuration=0,
        transfer_syntax_uid=syntax.uid,
    )
    return EncapsulatedFrame((bytes(data),), info, index=frame.index)
