"""What every imagecodecs codec shares: names, backend checks, input checks, error translation.

The codec modules (:mod:`.jpeg`, :mod:`.j2k`, :mod:`.jpegxl`) import the
backend inside their functions; nothing here imports imagecodecs at import time.
The sample, colour and frame rules come from :mod:`dicomframe.plugins.helpers`,
as for every codec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.core.transfer_syntax import (
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGXLJPEGRecompression,
)
from dicomframe.errors import DecodeError, EncodeError
from dicomframe.plugins import helpers

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax

JPEG_NAME, JPEGLS_NAME, J2K_NAME, HTJ2K_NAME, JPEGXL_NAME, RLE_NAME, LJPEG_NAME = (
    "imagecodecs-jpeg",
    "imagecodecs-jpegls",
    "imagecodecs-j2k",
    "imagecodecs-htj2k",
    "imagecodecs-jpegxl",
    "imagecodecs-rle",
    "imagecodecs-ljpeg",
)
Array = helpers.Array  # the codec modules name it from here


def buffer_size(values: Array) -> int:
    """Room for incompressible data plus headers.

    Some imagecodecs encoders write into a preallocated buffer that is
    otherwise too small for tiny or noisy frames.
    """
    return 2 * values.nbytes + 8192


def built_with(feature: str, what: str) -> Callable[[FrameInfo], str | None]:
    """An ``extra_check`` declining when imagecodecs was built without ``feature``."""

    def check(info: FrameInfo) -> str | None:
        import imagecodecs

        if not getattr(getattr(imagecodecs, feature, None), "available", False):
            return f"the installed imagecodecs was built without {what}"
        return None

    check.__doc__ = f"Decline when imagecodecs has no {what}."
    return check


@contextmanager
def decode_errors(frame: EncapsulatedFrame, codec: str) -> Iterator[None]:
    """Translate a backend's or a header check's exception into a DecodeError."""
    try:
        yield
    except (ValueError, RuntimeError) as exc:  # imagecodecs errors are RuntimeErrors
        raise DecodeError(f"{codec}: {exc}", codec=codec, frame_index=frame.index) from exc


def finish(
    frame: EncapsulatedFrame, values: Array, colour_space: str, options: dict[str, Any], codec: str
) -> NativeFrame:
    """Convert YCbCr to RGB when asked and wrap the values as the decoded frame."""
    try:
        values, photometric = helpers.finish_colour(
            values, frame.info, colour_space, as_rgb=options.get("as_rgb", True)
        )
    except ValueError as exc:
        raise DecodeError(str(exc), codec=codec, frame_index=frame.index) from exc
    return helpers.native_frame(values, frame.info, photometric)


def samples(arr: Array, info: FrameInfo) -> Array:
    """The decoded array as flat values of the frame's dtype."""
    arr = np.ascontiguousarray(arr)
    return helpers.read_samples(arr, arr.dtype.itemsize, info)


def encoder_input(frame: NativeFrame, syntax: TransferSyntax, codec: str) -> Array:
    """The frame's samples, colour-by-pixel, after the checks every encoder needs."""
    info = frame.info
    if syntax.is_lossy and info.photometric_interpretation == "PALETTE COLOR":
        raise EncodeError(
            f"{syntax.keyword} is lossy: palette indices must be stored losslessly", codec=codec
        )
    values = helpers.interleaved(frame)
    try:
        helpers.check_range(values, info)
    except ValueError as exc:
        raise EncodeError(str(exc), codec=codec) from exc
    return values


def narrow(values: Array, info: FrameInfo) -> Array:
    """Samples of at most 8 bits stored in a 16-bit container, as 8-bit samples."""
    if info.bits_stored <= 8 and values.dtype.itemsize > 1:
        return values.astype(values.dtype.kind + "1")
    return values


def encoder_failed(codec: str, exc: Exception) -> EncodeError:
    """The EncodeError for a backend's exception, naming its type."""
    return EncodeError(f"{codec}: {type(exc).__name__}: {exc}", codec=codec)


def full_size(photometric: str) -> str:
    """The photometric of ``frame.array``'s samples: YBR_FULL_422 chroma is already upsampled."""
    return helpers.YBR_FULL if photometric == "YBR_FULL_422" else photometric


def lossy_check(info: FrameInfo, syntax: TransferSyntax) -> str | None:
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
