"""The face wires the default codec registry into the core, which knows no codec.

:mod:`dicomframe.core.codecs` asks for four things it cannot import
itself: the default registry (the process-wide
:class:`~dicomframe.plugins.CodecManager`), the decoder of many frames at
once (:func:`dicomframe.parallel.decode_frames`, threads or processes), their
encoder (:func:`dicomframe.converting.convert_frames`, which
``Dataset.set_pixel_data`` runs) and the lookup of transfer syntaxes that
plugins declare. Each is imported on
first use, so importing dicomframe still loads no plugin and no backend.
"""

from __future__ import annotations

from typing import Any

from dicomframe.core import codecs as core_codecs
from dicomframe.core.codecs import FrameCodecs
from dicomframe.core.transfer_syntax import TransferSyntax, resolve
from dicomframe.errors import UnknownTransferSyntaxError

__all__ = ["wire"]


def _default() -> FrameCodecs:
    from dicomframe.plugins.manager import default_manager

    return default_manager()


def _decode_frames(frames: Any, /, **options: Any) -> Any:
    from dicomframe.parallel import decode_frames

    return decode_frames(frames, **options)


def _encode_frames(frames: Any, syntax: TransferSyntax, /, **options: Any) -> list[Any]:
    """Encode on every core through a CodecManager; one by one through another registry."""
    from dicomframe.converting import Plan, convert_frames
    from dicomframe.plugins.manager import CodecManager, default_manager

    codecs = options.pop("codecs", None)
    manager = default_manager() if codecs is None else codecs
    if not isinstance(manager, CodecManager):  # a registry of its own: the protocol only
        return core_codecs.encode_one_by_one(frames, syntax, manager)
    return [c.frame for c in convert_frames(frames, Plan(syntax), codecs=manager, **options)]


def _find_syntax(uid: str, codecs: FrameCodecs | None) -> TransferSyntax | None:
    """A syntax the registry's plugins declare: they are loaded to learn it."""
    from dicomframe.plugins.manager import CodecManager, default_manager

    manager = codecs if isinstance(codecs, CodecManager) else default_manager()
    lookup = getattr(manager, "transfer_syntax", None)
    if lookup is not None:
        found: TransferSyntax | None = lookup(uid)
        return found
    manager.load()
    try:
        return resolve(uid)
    except UnknownTransferSyntaxError:
        return None


def wire() -> None:
    """Install the default registry, many-frame decoder and encoder, syntax lookup in the core."""
    core_codecs.install(
        default=_default,
        decode_frames=_decode_frames,
        find_syntax=_find_syntax,
        encode_frames=_encode_frames,
    )
