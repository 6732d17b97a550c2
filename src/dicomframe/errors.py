"""The exceptions and warnings dicomframe raises, in one tree.

Every error a caller can meet derives from :class:`DicomError`, and each one
also keeps the builtin base a caller would expect (``ValueError`` for bad
input, ``OSError`` for a failed write), so ``except ValueError`` still works::

    DicomError(Exception)
    ├── InvalidDicomError(DicomError, ValueError)       .tag .offset
    ├── UnknownTransferSyntaxError(DicomError, ValueError)  .value .suggestions
    ├── CodecError(DicomError)                           .codec
    │   ├── DecodeError(CodecError, ValueError)          .frame_index
    │   ├── EncodeError(CodecError, ValueError)
    │   ├── CodecUnavailableError(CodecError, ImportError)  .requires
    │   └── NoCodecError(CodecError, NotImplementedError)   .syntax .attempts
    ├── LimitError(DicomError, ValueError)               .limit .value .maximum .tag .offset
    ├── SourceChangedError(DicomError, OSError)          .path
    ├── PluginError(DicomError)                          .plugin
    ├── EncodingError(DicomError, ValueError)            .tag
    ├── ImageModeError(DicomError, ValueError)           .info .mode
    ├── WriteError(DicomError, OSError)                  .path
    ├── DeidentificationError(DicomError, ValueError)
    └── MissingDependencyError(DicomError, ImportError)  .requires (an optional package)
    DicomWarning(UserWarning) → CodecFallbackWarning, CharsetWarning,
                                RepairWarning (.tag .offset .action), PluginWarning

Messages say what went wrong, where (tag and byte offset) and, where it
helps, what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CharsetWarning",
    "CodecError",
    "CodecFallbackWarning",
    "CodecUnavailableError",
    "DecodeError",
    "DeidentificationError",
    "DicomError",
    "DicomWarning",
    "EncodeError",
    "EncodingError",
    "ImageModeError",
    "InvalidDicomError",
    "LimitError",
    "MissingDependencyError",
    "NoCodecError",
    "PluginError",
    "PluginWarning",
    "RepairWarning",
    "SourceChangedError",
    "UnknownTransferSyntaxError",
    "WriteError",
    "require",
]


def _format_tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _where(tag: int | None, offset: int | None) -> str:
    """``(0008,1115) at offset 1784 (0x6F8)``: the place a message starts with, or ""."""
    where = []
    if tag is not None:
        where.append(_format_tag(tag))
    if offset is not None:
        where.append(f"at offset {offset} (0x{offset:X})")
    return " ".join(where)


class DicomError(Exception):
    """Base class of every error dicomframe raises."""


class InvalidDicomError(DicomError, ValueError):
    """Malformed or truncated input.

    Parameters
    ----------
    message
        What is wrong.
    tag
        The tag of the element being read, when known.
    offset
        The byte offset in the source where the problem lies, when known.
    """

    def __init__(self, message: str, *, tag: int | None = None, offset: int | None = None) -> None:
        self.tag = tag
        self.offset = offset
        prefix = _where(tag, offset)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class UnknownTransferSyntaxError(DicomError, ValueError):
    """A transfer syntax UID or keyword that dicomframe does not know."""

    def __init__(self, value: str, suggestions: Sequence[str] = ()) -> None:
        self.value = value
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown transfer syntax {value!r}{hint}")


class CodecError(DicomError):
    """A codec could not do its job."""

    def __init__(self, message: str, *, codec: str | None = None) -> None:
        self.codec = codec
        super().__init__(message)


class DecodeError(CodecError, ValueError):
    """A backend rejected a compressed stream, or returned something malformed."""

    def __init__(
        self, message: str, *, codec: str | None = None, frame_index: int | None = None
    ) -> None:
        self.frame_index = frame_index
        super().__init__(message, codec=codec)


class EncodeError(CodecError, ValueError):
    """A frame could not be encoded."""


class CodecUnavailableError(CodecError, ImportError):
    """The codec asked for is not installed."""

    def __init__(
        self, message: str, *, codec: str | None = None, requires: Sequence[str] = ()
    ) -> None:
        self.requires = tuple(requires)
        super().__init__(message, codec=codec)


class NoCodecError(CodecError, NotImplementedError):
    """No codec could decode or encode a frame; ``attempts`` says why each one failed."""

    def __init__(self, message: str, *, syntax: Any = None, attempts: Sequence[Any] = ()) -> None:
        self.syntax = syntax
        self.attempts = tuple(attempts)
        super().__init__(message)


class LimitError(DicomError, ValueError):
    """Input asked for more than a :class:`~dicomframe.Limits` allows; raised before allocating.

    Parameters
    ----------
    limit
        The name of the :class:`~dicomframe.Limits` field that was exceeded.
    value
        What the input asked for (bytes, levels or elements).
    maximum
        The limit in force.
    what
        What asked for it, in words ("decoded frame 3", "deflated dataset").
    tag, offset
        Where in the source, when known.
    """

    def __init__(
        self,
        limit: str,
        value: int,
        maximum: int,
        *,
        what: str = "",
        tag: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.limit = limit
        self.value = value
        self.maximum = maximum
        self.tag = tag
        self.offset = offset
        prefix = _where(tag, offset)
        prefix = f"{prefix}: " if prefix else ""
        subject = f"{what} needs" if what else "needs"
        super().__init__(
            f"{prefix}{subject} {value:,} but Limits.{limit} is {maximum:,}; if the input is "
            f"trusted, raise it: dcf.read(..., limits=dcf.Limits({limit}=...)) or the "
            f"environment variable DICOMFRAME_LIMITS='{limit}=...'"
        )


class SourceChangedError(DicomError, OSError):
    """The file a dataset reads its values from lazily changed after it was opened."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class PluginError(DicomError):
    """A plugin misbehaved: bad hook return value, duplicate codec name, failed import."""

    def __init__(self, message: str, *, plugin: str | None = None) -> None:
        self.plugin = plugin
        super().__init__(message)


class EncodingError(DicomError, ValueError):
    """A value cannot be encoded in its VR or character set."""

    def __init__(self, message: str, *, tag: int | None = None) -> None:
        self.tag = tag
        super().__init__(f"{_format_tag(tag)}: {message}" if tag is not None else message)


class ImageModeError(DicomError, ValueError):
    """No Pillow mode holds a frame's values (``.info``), or no frame fits an image (``.mode``)."""

    def __init__(self, message: str, *, info: Any = None, mode: str = "") -> None:
        self.info = info
        self.mode = mode
        super().__init__(message)


class WriteError(DicomError, OSError):
    """Writing a file failed; nothing was left at the destination."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class DeidentificationError(DicomError, ValueError):
    """A de-identified output failed its check (see dicomframe.deid.verify); nothing was written."""


class MissingDependencyError(DicomError, ImportError):
    """A feature needs an optional package that is not installed; the message says which extra."""

    def __init__(self, message: str, *, requires: str = "") -> None:
        super().__init__(message)
        self.requires = requires


def require(module: str, feature: str, extra: str) -> Any:
    """Import ``module`` for ``feature``, or raise :class:`MissingDependencyError` (``extra``)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".", 1)[0]
        raise MissingDependencyError(
            f"{feature} needs {package}, which is not installed: pip install 'dicomframe[{extra}]'",
            requires=package,
        ) from exc


class DicomWarning(UserWarning):
    """Base class of the warnings dicomframe emits."""


class CodecFallbackWarning(DicomWarning):
    """A different codec than the one used for earlier frames had to be used."""


class CharsetWarning(DicomWarning):
    """A Specific Character Set was unknown or a value did not decode cleanly."""


class RepairWarning(DicomWarning):
    """A lenient read repaired damaged input; ``tag``, ``offset`` and ``action`` say how."""

    def __init__(
        self, message: str, *, tag: int | None = None, offset: int | None = None, action: str = ""
    ) -> None:
        self.tag = tag
        self.offset = offset
        self.action = action
        prefix = _where(tag, offset)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class PluginWarning(DicomWarning):
    """A codec plugin failed to load, or a codec cannot be used as declared.

    A warning cannot chain an exception when it is shown, so the original
    one travels as ``error`` (and ``__cause__``); ``plugin`` names the plugin.
    """

    def __init__(
        self, message: str, *, plugin: str | None = None, error: BaseException | None = None
    ) -> None:
        self.plugin = plugin
        self.error = error
        super().__init__(message)
        self.__cause__ = error
