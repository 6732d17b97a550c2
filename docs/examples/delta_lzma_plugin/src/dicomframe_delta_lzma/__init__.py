"""dicomframe codec plugin: row differences compressed with LZMA, under a private syntax.

Each row of a frame's samples (colour-by-pixel) is replaced by the
differences between neighbours: the first sample, then each sample minus the
one before it, in the wrapping arithmetic of the unsigned container. Smooth
images become runs of small numbers that LZMA packs well. Decoding undoes it
with a cumulative sum in the same arithmetic, so every value of every Bits
Allocated (8 to 64), signed or not, comes back exactly.

Written against :mod:`dicomframe.plugins.helpers`, the helpers dicomframe's
own codecs use, so its frames obey the same rules as theirs:

- ``check_range``: a value with bits set above Bits Stored is refused with
  an EncodeError; storing it would store bits the dataset says mean nothing.
- ``interleaved``: samples colour-by-pixel, so a frame of planar
  configuration 1 decodes as 0 (and YBR_FULL_422 as YBR_FULL).
- ``decode_target``: when the registry offers the part of its output this
  frame fills (``out=``), the sum is written straight into it.
- ``sign_extend``: the values are re-read at Bits Stored, as native data is.
- ``native_frame`` and ``encapsulated_frame``: results whose FrameInfo says
  what they hold.

The backend (the standard library's lzma) is imported inside the codec
functions: the hooks run whenever dicomframe loads its plugins.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.errors import DecodeError, EncodeError
from dicomframe.plugins import Capabilities, Codec, helpers, hookimpl
from dicomframe.plugins.codec import Threading

__all__ = ["DELTA_LZMA", "DELTA_LZMA_SYNTAX", "decode", "encode"]

NAME = "delta-lzma-example"
DELTA_LZMA_SYNTAX = TransferSyntax(
    "1.2.826.0.1.3680043.10.1234.100", "ExampleDeltaLzmaFrames", is_encapsulated=True
)
Array = np.ndarray[Any, Any]


def _unsigned(info: FrameInfo) -> np.dtype[Any]:
    """The container as unsigned integers: differences wrap instead of overflowing."""
    return np.dtype(info.dtype.str.replace("i", "u"))


def encode(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
    """Compress one frame's row differences; ``preset`` is LZMA's (0 to 9, default 6)."""
    import lzma

    info = frame.info
    samples = helpers.interleaved(frame)
    try:
        helpers.check_range(samples, info)
    except ValueError as exc:
        raise EncodeError(f"{NAME}: {exc}", codec=NAME) from exc
    rows = samples.reshape(info.rows, -1).view(_unsigned(info))
    first = np.zeros((info.rows, 1), dtype=rows.dtype)
    differences = np.diff(rows, axis=1, prepend=first)
    data = lzma.compress(differences.tobytes(), preset=int(options.get("preset", 6)))
    photometric = "YBR_FULL" if info.is_subsampled else info.photometric_interpretation
    return helpers.encapsulated_frame(data, frame, syntax, photometric)


def decode(frame: EncapsulatedFrame, /, *, out: Array | None = None, **options: Any) -> NativeFrame:
    """Decompress one frame and sum its rows back, into ``out`` when it fits."""
    import lzma

    info = frame.info
    try:
        raw = lzma.decompress(bytes(frame.data))
    except lzma.LZMAError as exc:
        raise DecodeError(f"{NAME}: not an LZMA stream: {exc}", codec=NAME) from exc
    unsigned = _unsigned(info)
    differences = np.frombuffer(raw, dtype=unsigned)
    if differences.size != info.values_per_frame:
        raise DecodeError(
            f"{NAME}: the stream holds {differences.size} values; the frame needs "
            f"{info.values_per_frame}",
            codec=NAME,
        )
    # 4:2:2 data has two values a pixel, not the three of info.shape that out= is viewed as.
    target = None if info.is_subsampled else helpers.decode_target(out, info, unsigned)
    summed = np.empty(info.values_per_frame, unsigned) if target is None else target
    rows = summed.reshape(info.rows, -1)  # a view: the sum lands in out's memory
    np.cumsum(differences.reshape(info.rows, -1), axis=1, dtype=unsigned, out=rows)
    values = helpers.sign_extend(rows.reshape(-1).view(info.dtype), info.bits_stored)
    return helpers.native_frame(values, info, info.photometric_interpretation)


_EVERY_LAYOUT = Capabilities(
    bits_allocated=frozenset({8, 16, 32, 64}), samples_per_pixel=frozenset({1, 3, 4})
)

DELTA_LZMA = Codec(
    name=NAME,
    transfer_syntaxes=frozenset({DELTA_LZMA_SYNTAX.uid}),
    decode=decode,
    encode=encode,
    decode_caps=_EVERY_LAYOUT,
    encode_caps=_EVERY_LAYOUT,
    modules=("lzma",),
    # lzma releases the GIL while it (de)compresses, and numpy's diff and cumsum while they
    # run: frames decode side by side on threads.
    threading=Threading.RELEASES_GIL,
)


@hookimpl
def dicomframe_codecs() -> list[Codec]:
    """The codecs this plugin provides: built here, cheaply; lzma is imported on first use."""
    return [DELTA_LZMA]


@hookimpl
def dicomframe_transfer_syntaxes() -> list[TransferSyntax]:
    """The private transfer syntax the codec handles (the standard does not define it)."""
    return [DELTA_LZMA_SYNTAX]
