"""What the core asks of a codec registry, and the registry the package's face wires in.

The core knows no codec: it imports nothing from ``dicomframe.plugins``,
``dicomframe.codecs`` or ``dicomframe.parallel``. Frames and pixel data are
handed the registry to use (``dcf.read(..., codecs=manager)``, kept as
``ds.codecs``, passed on to each frame), typed by :class:`FrameCodecs`;
a :class:`~dicomframe.plugins.CodecManager` is one. When none was given, the
core asks this module for the default, which ``dicomframe/__init__.py``
installs with :func:`install` when the package is imported: the default
manager, the many-frame decoder and encoder that keep every core busy, and
the lookup of transfer syntaxes that plugins declare. Tests and embedders
may install their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from dicomframe.errors import DicomError

__all__ = [
    "FrameCodecs",
    "decode_many",
    "default_codecs",
    "encode_many",
    "find_syntax",
    "install",
]


class FrameCodecs(Protocol):
    """A codec registry as the core uses it: one frame in, one frame out."""

    def decode(self, frame: Any, /, **options: Any) -> Any:
        """Decode an ``EncapsulatedFrame`` to a ``NativeFrame`` (options: ``limits=``, ...)."""
        ...

    def encode(self, frame: Any, syntax: Any, /, **options: Any) -> Any:
        """Encode a ``NativeFrame`` in a transfer syntax to an ``EncapsulatedFrame``."""
        ...


ManyFrames = Callable[..., Any]  # (frames, /, *, codecs, limits, **options) -> ndarray
EncodeMany = Callable[..., Any]  # (frames, syntax, /, *, codecs, **options) -> list of frames
SyntaxFinder = Callable[[str, "FrameCodecs | None"], Any]  # (uid, codecs) -> TransferSyntax | None


class _Runtime:
    __slots__ = ("decode_frames", "default", "encode_frames", "find_syntax")

    def __init__(
        self,
        default: Callable[[], FrameCodecs] | None = None,
        decode_frames: ManyFrames | None = None,
        find_syntax: SyntaxFinder | None = None,
        encode_frames: EncodeMany | None = None,
    ) -> None:
        self.default = default
        self.decode_frames = decode_frames
        self.find_syntax = find_syntax
        self.encode_frames = encode_frames


_runtime = _Runtime()


def install(
    *,
    default: Callable[[], FrameCodecs],
    decode_frames: ManyFrames,
    find_syntax: SyntaxFinder,
    encode_frames: EncodeMany | None = None,
) -> None:
    """Wire in the default registry, the many-frame decoder and encoder, the syntax lookup."""
    _runtime.default = default
    _runtime.decode_frames = decode_frames
    _runtime.find_syntax = find_syntax
    _runtime.encode_frames = encode_frames


def default_codecs() -> FrameCodecs:
    """The registry used when a call names none."""
    if _runtime.default is None:
        raise DicomError("no codec registry installed: pass codecs=, or import dicomframe")
    return _runtime.default()


def decode_many(frames: Any, /, *, codecs: FrameCodecs | None, **options: Any) -> Any:
    """Decode a sequence of encapsulated frames into one array, on every core when wired in."""
    if _runtime.decode_frames is None:
        raise DicomError("no many-frame decoder installed: import dicomframe")
    return _runtime.decode_frames(frames, codecs=codecs, **options)


def encode_many(frames: Any, syntax: Any, /, *, codecs: FrameCodecs | None, **options: Any) -> Any:
    """Encode frames in ``syntax``, on every core when wired in; the encoded frames, in order.

    ``frames`` are ``NativeFrame`` or ``EncapsulatedFrame`` (decoded first,
    unless already in ``syntax``: passed through); ``options`` go to the
    many-frame encoder (``workers=``, ``parallel=``, ``report=``). Without
    one, each frame is encoded in turn through the registry.
    """
    if _runtime.encode_frames is not None:
        return _runtime.encode_frames(frames, syntax, codecs=codecs, **options)
    return encode_one_by_one(frames, syntax, codecs or default_codecs())


def encode_one_by_one(frames: Any, syntax: Any, codecs: FrameCodecs) -> list[Any]:
    """Each frame encoded in turn through ``codecs``; one already in ``syntax`` as it is."""
    return [
        frame
        if frame.info.transfer_syntax_uid == syntax.uid
        else codecs.encode(frame.decode(codecs=codecs), syntax)
        for frame in frames
    ]


def find_syntax(uid: str, codecs: FrameCodecs | None) -> Any:
    """A transfer syntax that a codec plugin declares (not a standard one), or None."""
    if _runtime.find_syntax is None:
        return None
    return _runtime.find_syntax(uid, codecs)
