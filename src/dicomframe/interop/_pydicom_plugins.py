"""dicomframe's codec registry as a pydicom 3 decoding and encoding plugin named "dicomframe".

pydicom 3 finds a plugin by module and function name
(``Decoder.add_plugin(label, (module, function))``) and asks the module two
things first: ``is_available(uid)`` and, when that is False,
``DECODER_DEPENDENCIES`` / ``ENCODER_DEPENDENCIES``. So the registry a plugin
decodes with cannot be an argument: it is kept here, set by
:func:`register`, and read by :mod:`._pydicom_decoder` and
:mod:`._pydicom_encoder` on every frame. Registering again (with the same or
another registry) only changes which registry the plugin uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pydicom.pixels.decoders
import pydicom.pixels.encoders
from pydicom.pixels.decoders.base import Decoder
from pydicom.pixels.encoders.base import Encoder

from dicomframe.core.codecs import default_codecs
from dicomframe.errors import DicomError
from dicomframe.plugins.manager import CodecManager

__all__ = ["LABEL", "register", "registry", "syntaxes"]

LABEL = "dicomframe"


@dataclass(slots=True)
class _Plugin:
    """The registry the plugin uses and the syntaxes it can decode and encode with it."""

    registry: CodecManager | None = None
    decodes: set[str] = field(default_factory=set)
    encodes: set[str] = field(default_factory=set)


_plugin = _Plugin()


def registry() -> CodecManager:
    """The registry the plugin decodes and encodes with."""
    if _plugin.registry is None:
        raise DicomError(
            "the dicomframe pydicom plugin is not registered: call "
            "dicomframe.interop.pydicom.register_pydicom_plugins()"
        )
    return _plugin.registry


def syntaxes(*, encoding: bool) -> set[str]:
    """The UIDs the registry can encode (``encoding``) or decode with an available codec."""
    return _plugin.encodes if encoding else _plugin.decodes


def _usable(manager: CodecManager, *, encoding: bool) -> set[str]:
    found: set[str] = set()
    for status in manager.codecs():
        function = status.codec.encode if encoding else status.codec.decode
        if status.available and function is not None:
            found |= status.codec.transfer_syntaxes
    return found


def register(codecs: CodecManager | None = None) -> tuple[list[str], list[str]]:
    """Make "dicomframe" a pydicom plugin for every syntax both sides know; see the module.

    Returns the UIDs registered for decoding and for encoding.
    """
    manager = codecs if codecs is not None else default_codecs()
    if not isinstance(manager, CodecManager):
        raise TypeError(f"codecs must be a CodecManager, not {type(manager).__name__}")
    _plugin.registry = manager
    _plugin.decodes = _usable(manager, encoding=False)
    _plugin.encodes = _usable(manager, encoding=True)
    decoders, encoders = _pydicom_coders()
    decoding = []
    for uid in sorted(_plugin.decodes & decoders.keys()):
        decoder = decoders[uid]
        if not decoder.is_encapsulated:
            continue  # native data: pydicom reads it itself, there is nothing to decode
        if LABEL not in decoder.available_plugins:
            decoder.add_plugin(LABEL, ("dicomframe.interop._pydicom_decoder", "decode_frame"))
        decoding.append(uid)
    encoding = sorted(_plugin.encodes & encoders.keys())
    for uid in encoding:
        if LABEL not in encoders[uid].available_plugins:
            encoders[uid].add_plugin(LABEL, ("dicomframe.interop._pydicom_encoder", "encode_frame"))
    return decoding, encoding


def _pydicom_coders() -> tuple[dict[str, Decoder], dict[str, Encoder]]:
    """The decoders and encoders pydicom's ``pixels`` packages publish, by UID."""
    decoders = {
        str(d.UID): d for d in vars(pydicom.pixels.decoders).values() if isinstance(d, Decoder)
    }
    encoders = {
        str(e.UID): e for e in vars(pydicom.pixels.encoders).values() if isinstance(e, Encoder)
    }
    return decoders, encoders
