"""Small real codecs for testing dispatch: they transform data, they are not stubs."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.errors import DecodeError
from dicomframe.plugins import Capabilities, Codec, hookimpl

PRIVATE = TransferSyntax("1.2.826.0.1.3680043.10.1234.1", "ExampleZlibFrames", is_encapsulated=True)
RLE_UID = "1.2.840.10008.1.2.5"


def zlib_decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    try:
        data = zlib.decompress(bytes(frame.data))
    except zlib.error as exc:
        raise DecodeError(f"not a zlib stream: {exc}", codec="zlib-frames") from exc
    info = frame.info.replace(transfer_syntax_uid="1.2.840.10008.1.2.1")
    return NativeFrame(np.frombuffer(data, dtype=info.dtype).copy(), info)


def zlib_encode(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
    level = int(options.get("level", 6))
    data = zlib.compress(np.ascontiguousarray(frame.data).tobytes(), level)
    return EncapsulatedFrame([data], frame.info.replace(transfer_syntax_uid=syntax.uid))


def always_fails(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    raise DecodeError("this backend rejects every stream", codec="broken")


ZLIB = Codec(
    name="zlib-frames",
    transfer_syntaxes=frozenset({PRIVATE.uid}),
    decode=zlib_decode,
    encode=zlib_encode,
    decode_caps=Capabilities(bits_allocated=frozenset({8, 16, 32})),
    encode_caps=Capabilities(bits_allocated=frozenset({8, 16, 32})),
    modules=("zlib",),
)


class Plugin:
    """A plugin object with both hooks."""

    def __init__(self, *codecs: Codec) -> None:
        self.codecs = list(codecs)

    @hookimpl
    def dicomframe_codecs(self) -> list[Codec]:
        return self.codecs

    @hookimpl
    def dicomframe_transfer_syntaxes(self) -> list[TransferSyntax]:
        return [PRIVATE]
