"""The shape of what a codec returns: the contract's structural half.

Frames in, frames out (:mod:`dicomframe.plugins.codec`). A decoder returns a
:class:`NativeFrame` whose data is flat, of exactly its FrameInfo's dtype
and length, in a native little-endian syntax, planar configuration 0, with
the rows, columns and samples of the frame it was given and the dtype the
dataset calls for (Bits Allocated and Pixel Representation unchanged: the
caller sized its output from them). An encoder returns a non-empty
:class:`EncapsulatedFrame` in the syntax it was asked for, describing the
same pixels.

These are checked here independently of the registry's own checks
(:mod:`dicomframe.plugins.dispatch`), so a change there cannot hide a breach.
"""

from __future__ import annotations

from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.transfer_syntax import TransferSyntax, resolve
from dicomframe.errors import UnknownTransferSyntaxError

__all__ = ["decoded_problem", "encoded_problem"]

# What a decoder may not change: the caller allocated the output from these.
_KEPT = ("rows", "columns", "samples_per_pixel", "bits_allocated", "pixel_representation")


def decoded_problem(result: object, asked: FrameInfo) -> str | None:
    """Why ``result`` is not a decoded frame of ``asked``, or None."""
    if not isinstance(result, NativeFrame):
        return f"returned {type(result).__name__}, not a NativeFrame"
    data, info = result.data, result.info
    if data.ndim != 1 or data.dtype != info.dtype or data.size != info.values_per_frame:
        return (
            f"returned {data.size} values of {data.dtype} in {data.ndim} dimension(s); "
            f"its FrameInfo needs {info.values_per_frame} of {info.dtype}, flat"
        )
    problem = _changed(info, asked)
    if problem is None and info.planar_configuration != 0:
        problem = "returned planar configuration 1; a decoded frame is interleaved (0)"
    return problem or _native_syntax(info.transfer_syntax_uid)


def encoded_problem(result: object, syntax: TransferSyntax, source: FrameInfo) -> str | None:
    """Why ``result`` is not an encoding of a ``source`` frame in ``syntax``, or None."""
    if not isinstance(result, EncapsulatedFrame):
        return f"returned {type(result).__name__}, not an EncapsulatedFrame"
    if result.info.transfer_syntax_uid != syntax.uid:
        return f"returned a frame of {result.info.transfer_syntax_uid}, not {syntax.uid}"
    if len(result) == 0:
        return "returned an empty frame"
    return _changed(result.info, source)


def _changed(info: FrameInfo, asked: FrameInfo) -> str | None:
    for name in _KEPT:
        got, wanted = getattr(info, name), getattr(asked, name)
        if got != wanted:
            return f"returned a FrameInfo with {name} {got}; the frame's is {wanted}"
    return None


def _native_syntax(uid: str) -> str | None:
    try:
        syntax = resolve(uid)
    except UnknownTransferSyntaxError:
        return f"returned a frame of transfer syntax {uid}, which is not known"
    if syntax.is_encapsulated or not syntax.is_little_endian:
        return (
            f"returned a frame still in {syntax.keyword}; a decoded frame is native "
            "little endian (Explicit VR Little Endian)"
        )
    return None
