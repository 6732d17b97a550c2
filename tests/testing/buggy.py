"""Codecs with one seeded bug each, for check_codec to catch.

Each wraps a real codec (the numpy RLE codec, or a raw numpy codec for the
Encapsulated Uncompressed syntax written here) and breaks one thing, so a
failure can only come from that bug.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from dicomframe.codecs.rle import RLE
from dicomframe.color import ybr_to_rgb
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.plugins import Capabilities, Codec

UNCOMPRESSED = "1.2.840.10008.1.2.1.98"  # Encapsulated Uncompressed Explicit VR Little Endian
NATIVE = "1.2.840.10008.1.2.1"
MONOCHROME = Capabilities(
    bits_allocated=frozenset({8, 16, 32}),
    samples_per_pixel=frozenset({1}),
    photometric=frozenset({"MONOCHROME2"}),
)


def wrap_rle(name: str, **changes: Any) -> Codec:
    """The numpy RLE codec under another name, with some of its facts or functions replaced."""
    return dataclasses.replace(RLE, name=name, **changes)


def rle_decoded(frame: EncapsulatedFrame) -> NativeFrame:
    assert RLE.decode is not None
    return RLE.decode(frame)


# -- raw: one frame's bytes as they are ---------------------------------------------------------
def raw_encode(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
    data = np.ascontiguousarray(frame.array).tobytes()  # planar 1 becomes 0
    info = frame.info.replace(transfer_syntax_uid=syntax.uid, planar_configuration=0)
    return EncapsulatedFrame([data], info)


def raw_values(frame: EncapsulatedFrame) -> tuple[np.ndarray[Any, Any], Any]:
    info = frame.info.replace(transfer_syntax_uid=NATIVE)
    return np.frombuffer(bytes(frame.data), dtype=info.dtype).copy(), info


def masked(values: np.ndarray[Any, Any], bits_stored: int) -> np.ndarray[Any, Any]:
    shift = values.dtype.itemsize * 8 - bits_stored
    return (values << shift) >> shift


def raw_decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    values, info = raw_values(frame)
    return NativeFrame(masked(values, info.bits_stored), info)


def raw_codec(name: str, **changes: Any) -> Codec:
    """A correct codec of raw bytes (monochrome only), with some facts or functions replaced."""
    facts: dict[str, Any] = {
        "name": name,
        "transfer_syntaxes": frozenset({UNCOMPRESSED}),
        "decode": raw_decode,
        "encode": raw_encode,
        "decode_caps": MONOCHROME,
        "encode_caps": MONOCHROME,
    }
    return Codec(**(facts | changes))


# -- the seeded bugs ------------------------------------------------------------------------
def drop_low_bit(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    native = rle_decoded(frame)
    data = native.data - (native.data & 1)  # every odd value one lower
    return NativeFrame(data, native.info)


def truncate_above_8_bits(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """A backend that reads 12-bit samples as 8-bit ones: the high bits are lost."""
    native = rle_decoded(frame)
    if 8 < native.info.bits_stored < native.info.bits_allocated:
        return NativeFrame(native.data & native.data.dtype.type(0xFF), native.info)
    return native


def signed_as_unsigned(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    native = rle_decoded(frame)
    info = native.info.replace(pixel_representation=0)
    return NativeFrame(native.data.view(info.dtype), info)


def rgb_labelled_ybr(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Converts YBR_FULL to RGB, as a JPEG decoder does, but keeps saying YBR_FULL."""
    native = rle_decoded(frame)
    if native.info.photometric_interpretation != "YBR_FULL":
        return native
    rgb = ybr_to_rgb(native.array, bits=native.info.bits_stored)
    return NativeFrame(rgb.reshape(-1), native.info)


def returns_none(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    return None  # type: ignore[return-value]  # the bug


def swapped_at_32_bits(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Right for 8 and 16 bits; 32-bit values come back in the wrong byte order."""
    native = raw_decode(frame)
    if native.info.bits_allocated == 32:
        return NativeFrame(native.data.byteswap(), native.info)
    return native


def unmasked(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    """Passes the bits above Bits Stored through (values up to 4318 in a 12-bit frame)."""
    values, info = raw_values(frame)
    return NativeFrame(values, info)


def out_left_empty(
    frame: EncapsulatedFrame, /, *, out: np.ndarray[Any, Any] | None = None, **options: Any
) -> NativeFrame:
    """Says its data is ``out`` but never writes the values there."""
    native = raw_decode(frame)
    if out is None:
        return native
    return NativeFrame(out, native.info)


def inverted_encode(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """Its own decoder undoes it; no other RLE decoder does."""
    assert RLE.encode is not None
    flipped = NativeFrame(np.invert(np.ascontiguousarray(frame.data)), frame.info)
    return RLE.encode(flipped, syntax)


def inverted_decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    native = rle_decoded(frame)
    return NativeFrame(masked(np.invert(native.data), native.info.bits_stored), native.info)


def quantized_encode(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """A lossy encoder: the two low bits of every value dropped."""
    values = np.ascontiguousarray(frame.array).reshape(-1)
    return raw_encode(NativeFrame(values - (values & 3), frame.info), syntax)
