"""Conformance checks a codec plugin can run in its own test suite.

``check_codec(codec)`` exercises a :class:`~dicomframe.plugins.Codec` the way
the registry will: it builds native frames for every layout the codec's
Capabilities accept, encodes them (when the codec encodes) and decodes them
(when it decodes), and checks the contract: frames in, frames out; flat data
of the exact dtype and length; a FrameInfo that says which syntax and colour
model the result is in; lossless syntaxes bit-exact. A codec that decodes
only can pass its own encoded samples with ``samples=``.

Usage in a plugin's tests::

    from dicomframe.testing import check_codec
    from my_plugin import MY_CODEC

    def test_conformance():
        check_codec(MY_CODEC)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.transfer_syntax import TransferSyntax, resolve
from dicomframe.plugins.codec import Codec

__all__ = ["CodecReport", "check_codec", "sample_frames"]

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass
class CodecReport:
    """What :func:`check_codec` exercised."""

    codec: str
    round_trips: list[str] = field(default_factory=list)
    decoded: list[str] = field(default_factory=list)
    declined: list[str] = field(default_factory=list)


def sample_frames(
    syntax: TransferSyntax, *, bits: Iterable[int] = (8, 16), samples: Iterable[int] = (1, 3)
) -> list[NativeFrame]:
    """Native frames of varied layouts (odd sizes, signed and unsigned) to encode."""
    frames = []
    rng = np.random.default_rng(1234)
    sizes = ((13, 7), (40, 33))  # odd sizes; the larger one passes backends' minimum sizes
    for (rows, columns), bits_allocated, spp, signed in itertools.product(
        sizes, bits, samples, (0, 1)
    ):
        if spp == 3 and signed:
            continue  # colour data is unsigned (PS3.3 C.7.6.3.1.1)
        info = FrameInfo(
            rows=rows,
            columns=columns,
            samples_per_pixel=spp,
            bits_allocated=bits_allocated,
            bits_stored=bits_allocated,
            high_bit=bits_allocated - 1,
            pixel_representation=signed,
            photometric_interpretation="RGB" if spp == 3 else "MONOCHROME2",
            transfer_syntax_uid="1.2.840.10008.1.2.1",
        )
        info_dtype = info.dtype
        low, high = np.iinfo(info_dtype).min, np.iinfo(info_dtype).max
        gradient = np.linspace(low, high, info.values_per_frame).astype(info_dtype)
        noise = rng.integers(low, high, size=info.values_per_frame, dtype=info_dtype, endpoint=True)
        data = np.where(np.arange(info.values_per_frame) % 5 == 0, noise, gradient)
        frames.append(NativeFrame(np.ascontiguousarray(data), info))
    return frames


def _check_native(result: object, what: str) -> NativeFrame:
    if not isinstance(result, NativeFrame):
        raise AssertionError(f"{what}: returned {type(result).__name__}, not a NativeFrame")  # noqa: TRY004 - a failed check, as pytest reports it
    info = result.info
    data = result.data
    if data.ndim != 1 or data.dtype != info.dtype or data.size != info.values_per_frame:
        raise AssertionError(
            f"{what}: data is {data.dtype} {data.shape}; FrameInfo says {info.dtype} "
            f"({info.values_per_frame},)"
        )
    if info.planar_configuration != 0:
        raise AssertionError(f"{what}: decoded frames must be planar configuration 0")
    if resolve(info.transfer_syntax_uid).is_encapsulated:
        raise AssertionError(f"{what}: decoded frame still says {info.transfer_syntax_uid}")
    return result


def _check_encoded(result: object, syntax: TransferSyntax, what: str) -> EncapsulatedFrame:
    if not isinstance(result, EncapsulatedFrame):
        message = f"{what}: returned {type(result).__name__}, not an EncapsulatedFrame"
        raise AssertionError(message)  # noqa: TRY004 - a failed check, as pytest reports it
    if result.info.transfer_syntax_uid != syntax.uid:
        raise AssertionError(
            f"{what}: encoded frame says {result.info.transfer_syntax_uid}, not {syntax.uid}"
        )
    if len(result) == 0:
        raise AssertionError(f"{what}: encoded frame is empty")
    return result


def _check_facts(codec: Codec) -> list[TransferSyntax]:
    if not codec.name or set(codec.name) - _NAME_CHARS:
        raise AssertionError(f"codec name {codec.name!r} must be kebab-case: a-z, 0-9 and -")
    if codec.decode is None and codec.encode is None:
        raise AssertionError(f"{codec.name}: neither decodes nor encodes")
    syntaxes = [_resolve(uid, codec) for uid in sorted(codec.transfer_syntaxes)]
    if not syntaxes:
        raise AssertionError(f"{codec.name}: handles no transfer syntax")
    return syntaxes


def _resolve(uid: str, codec: Codec) -> TransferSyntax:
    """A syntax of the standard, or a private one a plugin declares (plugins are loaded)."""
    from dicomframe.errors import UnknownTransferSyntaxError
    from dicomframe.plugins.manager import default_manager

    try:
        return resolve(uid)
    except UnknownTransferSyntaxError:
        default_manager().load()
    try:
        return resolve(uid)
    except UnknownTransferSyntaxError:
        raise AssertionError(
            f"{codec.name}: transfer syntax {uid} is not known; a private syntax must be "
            "returned by the plugin's dicomframe_transfer_syntaxes hook"
        ) from None


def check_codec(
    codec: Codec,
    *,
    samples: Sequence[EncapsulatedFrame] = (),
    options: dict[str, Any] | None = None,
) -> CodecReport:
    """Check ``codec`` against the contract; raise AssertionError on the first breach.

    Parameters
    ----------
    codec
        The codec to check; its backend must be installed.
    samples
        Encoded frames to decode (for decode-only codecs).
    options
        Keyword options passed to ``encode``.
    """
    syntaxes = _check_facts(codec)
    if not codec.is_available():
        raise AssertionError(f"{codec.name}: backend not installed ({codec.install_hint()})")
    report = CodecReport(codec.name)
    for sample in samples:
        assert codec.decode is not None, f"{codec.name}: samples given but it cannot decode"
        what = f"{codec.name} decode {sample!r}"
        _check_native(codec.decode(sample), what)
        report.decoded.append(what)
    if codec.encode is None:
        return report
    encodable = [s for s in syntaxes if codec.handles(s.uid, encoding=True)]
    for syntax, frame in itertools.product(encodable, sample_frames(syntaxes[0])):
        what = f"{codec.name} {syntax.keyword} {frame!r} signed={frame.info.pixel_representation}"
        if codec.why_not(frame.info, encoding=True, syntax=syntax) is not None:
            report.declined.append(what)
            continue
        encoded = _check_encoded(codec.encode(frame, syntax, **(options or {})), syntax, what)
        if codec.decode is None or codec.why_not(encoded.info) is not None:
            continue
        decoded = _check_native(codec.decode(encoded), what + " decoded")
        if not syntax.is_lossy:
            if not np.array_equal(decoded.array.reshape(frame.array.shape), frame.array):
                raise AssertionError(f"{what}: lossless round trip changed the pixels")
        elif decoded.data.size != frame.data.size:
            raise AssertionError(f"{what}: lossy round trip changed the frame's size")
        report.round_trips.append(what)
    return report
