"""What a codec author needs to make a decoder tell the truth: the built-in codecs' own helpers.

Every built-in codec uses these; a third-party codec imports them from here,
the one public home, so that its frames obey the same rules as ours. Nothing
here imports a codec backend.

**Decoding into the registry's output** (:func:`decode_target`). When many
frames are decoded into one array, the registry offers each decoder the part
of it that one frame fills, as ``out=`` (see :class:`~.codec.DecodeFn`).

**Container and dtype** (:func:`container_size`, :func:`read_samples`). A
backend gives each sample in the smallest container that holds the stream's
precision (1, 2 or 4 bytes). The bytes are read with the signedness Pixel
Representation calls for, then widened to the frame's dtype (Bits
Allocated), as pydicom does.

**Sign and precision** (:func:`sign_extend`, :func:`correct_j2k_sign`). JPEG
2000 records each component's signedness and precision (SIZ, ISO/IEC 15444-1
A.5.1); when the signedness disagrees with Pixel Representation the stream's
``precision``-bit patterns are re-read with the dataset's signedness:
shifting left by ``container bits - precision`` and back sign-extends them
(signed) or clears the bits above them (unsigned). JPEG-LS records no
signedness, so its samples are always re-read that way at the stream's
precision; JPEG (ISO/IEC 10918) the same at Bits Stored.

**Codestream headers** (:func:`j2k_parameters`, :func:`jpeg_parameters`,
:func:`rle_parameters`, :func:`frame_problem`), from
:mod:`dicomframe.plugins.codestream`: the registry reads the same headers and
calls no codec on a frame whose header contradicts its dataset.

**Colour** (:func:`jpeg_colour_space`, :func:`j2k_colour_space`,
:func:`finish_colour`). A decoded frame says what its samples are. JPEG
components are taken as the Photometric Interpretation says, unless the
codestream says otherwise: component IDs ``R G B`` mean RGB, an Adobe APP14
transform flag of 1 means the encoder converted to YCbCr, and a JFIF APP0
means YCbCr. With ``as_rgb`` (the default, as in pydicom) YCbCr becomes RGB
through :mod:`dicomframe.color`; otherwise it is reported as YBR_FULL: the
decoder has already upsampled any 4:2:2 chroma, so the result is never
YBR_FULL_422. Studio-range YBR_PARTIAL is always converted: no Photometric
Interpretation describes it with full-resolution chroma.

**Encoding** (:func:`interleaved`, :func:`check_range`): the samples an
encoder compresses, colour-by-pixel, and the refusal of values an encoder
would silently change.

**Frames** (:func:`native_frame`, :func:`encapsulated_frame`): the results,
with a FrameInfo that says what they are.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.color import ybr_to_rgb
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian
from dicomframe.plugins.codec import Array
from dicomframe.plugins.codestream import (
    J2KParameters,
    JPEGParameters,
    RLEParameters,
    frame_problem,
    j2k_parameters,
    jpeg_parameters,
    rle_parameters,
)

if TYPE_CHECKING:
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

__all__ = [
    "YBR_FULL",
    "Array",
    "J2KParameters",
    "JPEGParameters",
    "RLEParameters",
    "check_range",
    "container_size",
    "correct_j2k_sign",
    "decode_target",
    "encapsulated_frame",
    "finish_colour",
    "frame_problem",
    "interleaved",
    "j2k_colour_space",
    "j2k_parameters",
    "jpeg_colour_space",
    "jpeg_parameters",
    "native_frame",
    "read_samples",
    "rle_parameters",
    "sign_extend",
]

YBR_FULL = "YBR_FULL"
_YBR_RGB = ("YBR_FULL", "YBR_FULL_422")
_YBR_PARTIAL = ("YBR_PARTIAL_422", "YBR_PARTIAL_420")
_RGB_IDS = ((0x52, 0x47, 0x42), (0x72, 0x67, 0x62))  # "RGB" / "rgb" (ASCII component IDs)


# -- the registry's output ------------------------------------------------------------------
def decode_target(
    out: Array | Mapping[str, Any] | None, info: FrameInfo, backend: str | np.dtype[Any]
) -> Array | None:
    """The ``out`` buffer as ``backend`` samples of ``info``'s shape, if a backend can fill it.

    Parameters
    ----------
    out
        The ``out=`` a decoder was given, or the ``**options`` mapping that
        holds it (a decoder that takes ``**options`` passes them as they are).
    info
        The decoded frame's FrameInfo: ``out`` must be of its dtype.
    backend
        The dtype the backend writes (``"u2"``, say): its items must be as
        wide as ``info.dtype``'s, since the bytes are reinterpreted, not converted.

    Returns
    -------
    numpy.ndarray or None
        A view of ``out``'s memory, shaped ``info.shape``, of dtype
        ``backend``: decode into it, and the frame whose data is that memory
        (:func:`read_samples` of it, say) is copied nowhere. None when
        ``out`` is missing or does not fit (not a writable, C-contiguous
        array of ``info.dtype`` with ``info.values_per_frame`` values, flat
        or shaped ``info.shape``): decode into a new array, which the caller copies.
    """
    if isinstance(out, Mapping):
        out = out.get("out")
    if not isinstance(out, np.ndarray) or out.dtype != info.dtype:
        return None
    if out.shape not in ((info.values_per_frame,), info.shape):
        return None
    fits = out.flags.c_contiguous and out.flags.writeable
    if not fits or np.dtype(backend).itemsize != out.itemsize:
        return None
    return out.reshape(info.shape).view(backend)


# -- samples, sign and precision ------------------------------------------------------------
def container_size(precision: int) -> int:
    """Bytes per sample a backend uses for ``precision``-bit samples: 1, 2 or 4."""
    if precision <= 8:
        return 1
    if precision <= 16:
        return 2
    return 4


def read_samples(raw: Any, itemsize: int, info: FrameInfo) -> Array:
    """Decoded bytes of ``itemsize``-byte samples as a flat array of ``info.dtype``.

    The bytes are read with the signedness Pixel Representation calls for,
    then widened to Bits Allocated (pydicom does the same). When ``raw`` is
    already of the frame's dtype and writable, the result is a view of it:
    decoded into ``out``, it stays there.

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
    lose every bit above ``precision`` (a backend may leave them set, and a
    dataset's Bits Stored says they mean nothing). Returns ``values``.
    """
    shift = values.dtype.itemsize * 8 - precision
    if shift > 0:
        np.left_shift(values, shift, out=values)
        np.right_shift(values, shift, out=values)
    return values


def correct_j2k_sign(values: Array, info: FrameInfo, stream: J2KParameters) -> Array:
    """Re-read decoded JPEG 2000 ``values`` in place when SIZ's sign disagrees with the dataset.

    A stream that says unsigned for a signed dataset (or the other way round)
    gives ``stream.precision``-bit patterns in the wrong signedness; they are
    re-read with the dataset's (module docstring). Returns ``values``.
    """
    if stream.signed != bool(info.pixel_representation):
        sign_extend(values, stream.precision)
    return values


# -- colour ---------------------------------------------------------------------------------
def jpeg_colour_space(stream: JPEGParameters, photometric: str) -> str:
    """What a JPEG or JPEG-LS stream's decoded components are (module docstring).

    Returns the Photometric Interpretation of the components as the decoder
    gives them, before any conversion: ``"RGB"``, ``"YBR_FULL"``, one of
    the YBR_PARTIAL terms, or ``photometric`` unchanged.
    """
    if stream.components != 3:  # colour
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
    values: Array,
    info: FrameInfo,
    colour_space: str,
    *,
    as_rgb: bool,
    precision: int | None = None,
) -> tuple[Array, str]:
    """Convert decoded YCbCr to RGB when asked (always for YBR_PARTIAL).

    ``colour_space`` is what the decoder produced (:func:`jpeg_colour_space`,
    :func:`j2k_colour_space`). ``precision`` is the bits the YCbCr was made
    at, whose half-range centres the chroma: a JPEG stream's P (ISO/IEC
    10918-1, ITU-T T.871), which an 8-bit stream of 6-bit samples keeps at 8;
    by default Bits Stored, as for the dataset's own YCbCr. Returns the
    (possibly new) flat values and the Photometric Interpretation they are
    in, for :func:`native_frame`.

    Raises
    ------
    ValueError
        When signed samples would have to be converted.
    """
    partial = colour_space in _YBR_PARTIAL
    if info.samples_per_pixel != 3 or not (partial or (as_rgb and colour_space == YBR_FULL)):
        return values, colour_space
    if values.dtype.kind != "u":
        raise ValueError(f"cannot convert signed {colour_space} samples to RGB")
    shaped = values.reshape(info.rows, info.columns, 3)
    bits = max(info.bits_stored, 8) if partial else info.bits_stored
    bits = bits if precision is None else precision
    return ybr_to_rgb(shaped, partial=partial, bits=bits).reshape(-1), "RGB"


# -- encoding -------------------------------------------------------------------------------
def interleaved(frame: NativeFrame) -> Array:
    """A native frame's samples as a C-contiguous ``(rows, columns[, samples])`` array.

    Whatever the frame's planar configuration: encoders take colour-by-pixel.
    """
    return np.ascontiguousarray(frame.array)


def check_range(values: Array, info: FrameInfo) -> None:
    """Refuse values outside the Bits Stored range: an encoder would change them.

    Raises
    ------
    ValueError
        Naming the values found and the range Bits Stored allows.
    """
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


# -- frames ---------------------------------------------------------------------------------
def native_frame(values: Array, info: FrameInfo, photometric: str) -> NativeFrame:
    """The decoded frame: pixel-interleaved, Explicit VR Little Endian, ``photometric``.

    ``info`` is the encapsulated frame's; ``photometric`` what the values are
    (:func:`finish_colour`'s second result).
    """
    out = info.replace(
        photometric_interpretation=photometric,
        planar_configuration=0,
        transfer_syntax_uid=ExplicitVRLittleEndian.uid,
    )
    return NativeFrame(values, out)


def encapsulated_frame(
    data: bytes, frame: NativeFrame, syntax: TransferSyntax, photometric: str
) -> EncapsulatedFrame:
    """The encoded frame: one fragment, ``syntax``, ``photometric``, planar configuration 0.

    ``photometric`` is what was encoded (YBR_FULL_422 for RGB written as
    subsampled YCbCr, say); the frame keeps ``frame``'s index.
    """
    info = _encoded_info(frame.info, syntax.uid, photometric)
    return EncapsulatedFrame((bytes(data),), info, index=frame.index)


@functools.lru_cache(maxsize=64)
def _encoded_info(info: FrameInfo, uid: str, photometric: str) -> FrameInfo:
    """An encoded frame's info (the frames of a file share it: made once, not 30 us a frame)."""
    return info.replace(
        photometric_interpretation=photometric, planar_configuration=0, transfer_syntax_uid=uid
    )
