"""What the built-in codec modules share beyond the public helpers: syntax groups, header checks.

The rules a decoder follows to make its :class:`NativeFrame` tell the truth
(container and dtype, sign and precision, colour, the frames it returns) are
the public :mod:`dicomframe.plugins.helpers`, which third-party codecs use
too; they are re-exported here so that the codec modules name one module.
What is left here is ours alone: which syntaxes each family of codecs
handles, and the checks that refuse a parsed header contradicting the dataset
(the registry makes the same checks before any codec runs,
:mod:`dicomframe.plugins.codestream`; these also guard a codec called directly).
Nothing here imports a codec backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dicomframe.core.transfer_syntax import (
    HTJ2K,
    JPEG2000,
    JPEG2000MC,
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
from dicomframe.plugins.codestream import SOF_MARKERS
from dicomframe.plugins.helpers import (
    YBR_FULL,
    Array,
    J2KParameters,
    JPEGParameters,
    check_range,
    container_size,
    correct_j2k_sign,
    encapsulated_frame,
    finish_colour,
    interleaved,
    j2k_colour_space,
    j2k_parameters,
    jpeg_colour_space,
    jpeg_parameters,
    native_frame,
    read_samples,
    sign_extend,
)

if TYPE_CHECKING:
    from dicomframe.core.frame_info import FrameInfo

__all__ = [
    "HTJ2K_SYNTAXES",
    "J2K_SYNTAXES",
    "JPEG_LS_SYNTAXES",
    "JPEG_SYNTAXES",
    "SOF_MARKERS",
    "YBR_FULL",
    "Array",
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

# ISO/IEC 10918-1 (PS3.5 A.4.1) processes that pylibjpeg-libjpeg and Pillow's libjpeg decode.
JPEG_SYNTAXES = frozenset(
    ts.uid for ts in (JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1)
)
JPEG_LS_SYNTAXES = frozenset(ts.uid for ts in (JPEGLSLossless, JPEGLSNearLossless))
J2K_SYNTAXES = frozenset(
    ts.uid for ts in (JPEG2000Lossless, JPEG2000, JPEG2000MCLossless, JPEG2000MC)
)
HTJ2K_SYNTAXES = frozenset(ts.uid for ts in (HTJ2KLossless, HTJ2KLosslessRPCL, HTJ2K))


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
