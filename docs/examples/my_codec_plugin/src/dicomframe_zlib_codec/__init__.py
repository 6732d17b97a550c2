"""dicomframe codec plugin: zlib-compressed frames under a private transfer syntax.

Registered through the ``dicomframe.codecs`` entry point in pyproject.toml.
The backend (zlib) is imported inside the codec functions, as every plugin
should: the hooks run whenever dicomframe loads its plugins.

What the codec contract asks of it, and where it does it:

- A decoded frame is interleaved (planar configuration 0): the encoder
  compresses colour-by-pixel samples, so planar configuration 1 comes out as
  0, and YBR_FULL_422 comes out as YBR_FULL with one chroma pair per pixel.
- The bits above Bits Stored mean nothing (PS3.5 8.1.1): the encoder keeps
  them as they are, and the decoder clears them (or extends the sign from
  Bits Stored), so the values that come back are the Bits Stored values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.errors import DecodeError
from dicomframe.plugins import Capabilities, Codec, hookimpl
from dicomframe.plugins.helpers import interleaved, sign_extend

EXAMPLE_SYNTAX = TransferSyntax(
    "1.2.826.0.1.3680043.10.1234.99", "ExampleZlibFrames", is_encapsulated=True
)
NATIVE = "1.2.840.10008.1.2.1"  # what a decoded frame is: Explicit VR Little Endian


def decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Inflate one frame; the FrameInfo says it is native now."""
    import zlib

    try:
        data = zlib.decompress(bytes(frame.data))
    except zlib.error as exc:
        raise DecodeError(f"frame {frame.index} is not a zlib stream: {exc}") from exc
    info = frame.info.replace(transfer_syntax_uid=NATIVE, planar_configuration=0)
    values = np.frombuffer(data, dtype=info.dtype)
    if values.size != info.values_per_frame:
        raise DecodeError(
            f"frame {frame.index} inflates to {values.size} values, not {info.values_per_frame}"
        )
    return NativeFrame(sign_extend(values.copy(), info.bits_stored), info)


def encode(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
    """Deflate one frame's samples, colour-by-pixel; ``level`` is zlib's."""
    import zlib

    data = zlib.compress(interleaved(frame).tobytes(), int(options.get("level", 6)))
    photometric = frame.info.photometric_interpretation
    if frame.info.is_subsampled:  # interleaved() gave each pixel its own chroma
        photometric = "YBR_FULL"
    info = frame.info.replace(
        transfer_syntax_uid=syntax.uid,
        planar_configuration=0,
        photometric_interpretation=photometric,
    )
    return EncapsulatedFrame([data], info)


ZLIB_EXAMPLE = Codec(
    name="zlib-example",
    transfer_syntaxes=frozenset({EXAMPLE_SYNTAX.uid}),
    decode=decode,
    encode=encode,
    decode_caps=Capabilities(bits_allocated=frozenset({8, 16, 32})),
    encode_caps=Capabilities(bits_allocated=frozenset({8, 16, 32})),
    modules=("zlib",),
)


@hookimpl
def dicomframe_codecs() -> list[Codec]:
    """The codecs this plugin provides."""
    return [ZLIB_EXAMPLE]


@hookimpl
def dicomframe_transfer_syntaxes() -> list[TransferSyntax]:
    """The private transfer syntax the codec handles."""
    return [EXAMPLE_SYNTAX]
