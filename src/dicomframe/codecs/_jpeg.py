"""What the JPEG decoders of several backends share: the progressive syntaxes, Bits Stored.

Used by ``imagecodecs-jpeg``, ``imagecodecs-jpegxl`` (.111 holds a JPEG), ``pillow`` and
``pylibjpeg-libjpeg``; nothing here imports a backend.

Bits Stored. A JPEG stream has no sign and its precision P may exceed Bits Stored (6-bit
samples are coded at P = 8), so decoded samples are brought into Bits Stored here. Those of a
lossless process are the exact patterns that were coded: they are re-read at Bits Stored with
the signedness Pixel Representation gives (pydicom's rule). Those of a lossy (DCT) process
come back near the coded values, and an unsigned one may come back a step above the largest
value Bits Stored holds (64 for 6 bits); re-reading it at Bits Stored would wrap it to 0, the
far end of the range, so unsigned lossy samples are clipped to the range instead.

Colour. The YCbCr of a DCT process is centred on 2**(P-1) (ITU-T T.871), whatever Bits
Stored says: 6-bit RGB coded at P = 8 becomes YCbCr around 128, as libjpeg-turbo converts it
back. A decoder that converts it itself does so at P (:func:`at_precision`), then clips the
RGB result to Bits Stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.codecs import _common

if TYPE_CHECKING:
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.plugins.codestream import JPEGParameters

__all__ = ["PROGRESSIVE_SYNTAXES", "at_precision", "within_bits_stored"]

# The retired DCT processes that libjpeg-turbo and libjpeg decode and nothing here encodes:
# spectral selection (.53, processes 6 and 8) and full progression (.55, processes 10 and 12),
# Huffman coded and non-hierarchical, 8 or 12 bits (PS3.5 A.4.1; ISO/IEC 10918-1 Annex G).
PROGRESSIVE_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55"})


def within_bits_stored(
    values: np.ndarray[Any, Any], info: FrameInfo, *, lossy: bool
) -> np.ndarray[Any, Any]:
    """Bring decoded JPEG samples into Bits Stored, in place (module docstring)."""
    if lossy and not info.pixel_representation:
        np.minimum(values, (1 << info.bits_stored) - 1, out=values)
        return values
    return _common.sign_extend(values, info.bits_stored)


def at_precision(info: FrameInfo, stream: JPEGParameters) -> FrameInfo:
    """``info`` as colour conversion of a DCT stream's samples needs it: Bits Stored = P."""
    if stream.lossless or stream.components != 3 or stream.precision <= info.bits_stored:
        return info
    return info.replace(bits_stored=stream.precision, high_bit=stream.precision - 1)
