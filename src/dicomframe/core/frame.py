"""Frames: NativeFrame (one flat typed array) and EncapsulatedFrame (compressed bytes).

A :class:`NativeFrame` keeps its pixels in ONE flat 1-D numpy array of the
exact dtype its :class:`FrameInfo` calls for, usually a read-only view on the
file's bytes. ``array`` is the shaped view; :meth:`NativeFrame.set_pixel`
copies the data on first write (copy-on-write) and tells the pixel data it
came from, so :func:`dicomframe.write` writes the edit.

An :class:`EncapsulatedFrame` holds one frame's compressed bytes and its
transfer syntax; :meth:`EncapsulatedFrame.decode` goes through the codec
registry it was given (a frame of a dataset: the dataset's) or the default
one (:mod:`dicomframe.core.codecs`), keeping to its dataset's limits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dicomframe.core.codecs import FrameCodecs, default_codecs
from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.limits import Limits
from dicomframe.core.transfer_syntax import TransferSyntax, resolve

__all__ = ["EncapsulatedFrame", "NativeFrame"]

EditHook = Callable[["NativeFrame"], None]


class NativeFrame:
    """One uncompressed frame: ``data`` is a flat array of ``info.dtype``.

    Parameters
    ----------
    data
        A 1-D array of exactly ``info.values_per_frame`` values of
        ``info.dtype`` (1-bit data: one uint8 0/1 per pixel).
    info
        The frame's layout.
    """

    __slots__ = ("_data", "_on_edit", "index", "info")

    def __init__(self, data: np.ndarray[Any, Any], info: FrameInfo, /) -> None:
        if data.ndim != 1:
            raise ValueError(f"frame data must be 1-D, not shape {data.shape}")
        if data.dtype != info.dtype:
            raise TypeError(f"frame data is {data.dtype}, FrameInfo says {info.dtype}")
        if data.size != info.values_per_frame:
            raise ValueError(
                f"frame data holds {data.size} values, FrameInfo needs {info.values_per_frame}"
            )
        self._data = data
        self.info = info
        self._on_edit: EditHook | None = None
        self.index: int | None = None

    @property
    def data(self) -> np.ndarray[Any, Any]:
        """The pixels: ONE flat 1-D array of the exact dtype (read-only when a file view)."""
        return self._data

    @property
    def array(self) -> np.ndarray[Any, Any]:
        """The shaped view: ``(rows, columns)`` or ``(rows, columns, samples)``.

        Planar configuration 1 is a transposed view, still without a copy.
        YBR_FULL_422 native data is expanded to three samples per pixel
        (a copy, since its stored layout has two values per pixel).
        """
        info = self.info
        if info.is_subsampled:
            return _expand_422(self._data, info)
        if info.samples_per_pixel == 1:
            return self._data.reshape(info.rows, info.columns)
        if info.planar_configuration == 1:
            planes = self._data.reshape(info.samples_per_pixel, info.rows, info.columns)
            return planes.transpose(1, 2, 0)
        return self._data.reshape(info.rows, info.columns, info.samples_per_pixel)

    @property
    def transfer_syntax(self) -> TransferSyntax:
        """The transfer syntax the frame is in."""
        from dicomframe.core.transfer_syntax import resolve

        return resolve(self.info.transfer_syntax_uid)

    @property
    def is_writable(self) -> bool:
        """False while ``data`` is a read-only view on the file."""
        return bool(self._data.flags.writeable)

    def decode(self, **_options: Any) -> NativeFrame:
        """A native frame is already decoded: return it."""
        return self

    def _check_xy(self, x: int, y: int) -> None:
        if not (0 <= x < self.info.columns and 0 <= y < self.info.rows):
            raise IndexError(
                f"pixel ({x}, {y}) is outside the {self.info.columns}x{self.info.rows} frame"
            )

    def get_pixel(self, x: int, y: int) -> Any:
        """The value at column ``x``, row ``y``: a number, or a tuple of samples."""
        self._check_xy(x, y)
        value = self.array[y, x]
        if np.ndim(value):
            return tuple(v.item() for v in value)
        return value.item()

    def set_pixel(self, x: int, y: int, value: float | Sequence[float]) -> None:
        """Set the value at column ``x``, row ``y``.

        The data is copied on the first edit when it is a read-only view on
        the file; the pixel data it came from then writes the edited frame.

        Raises
        ------
        ValueError
            When the value does not fit the dtype or the Bits Stored range.
        """
        self._check_xy(x, y)
        if self.info.is_subsampled:
            raise ValueError("YBR_FULL_422 frames store chroma per pixel pair; edit .array")
        samples = np.atleast_1d(np.asarray(value))
        if samples.size != self.info.samples_per_pixel:
            raise ValueError(
                f"{samples.size} values given for {self.info.samples_per_pixel} samples per pixel"
            )
        checked = [_checked(v, self.info) for v in samples.tolist()]
        self.make_writable()
        target = self.array
        target[y, x] = checked[0] if self.info.samples_per_pixel == 1 else checked

    def make_writable(self) -> None:
        """Copy the data if it is a read-only view, and report the edit to its owner."""
        if not self._data.flags.writeable:
            self._data = self._data.copy()
        if self._on_edit is not None:
            self._on_edit(self)

    def __repr__(self) -> str:
        info = self.info
        return (
            f"NativeFrame({info.rows}x{info.columns}x{info.samples_per_pixel}, "
            f"{self._data.dtype}, {info.photometric_interpretation})"
        )


def _checked(value: float, info: FrameInfo) -> float:
    """Refuse a value that Bits Stored and Pixel Representation cannot hold."""
    if info.dtype.kind == "f":
        return float(value)
    if float(value) != int(value):
        raise ValueError(f"{value!r} is not an integer")
    bits = info.bits_stored
    low, high = (
        (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        if info.pixel_representation
        else (
            0,
            (1 << bits) - 1,
        )
    )
    if not low <= int(value) <= high:
        raise ValueError(f"{value} is outside {low}..{high} (Bits Stored {bits})")
    return int(value)


def _expand_422(data: np.ndarray[Any, Any], info: FrameInfo) -> np.ndarray[Any, Any]:
    """Y0 Y1 Cb Cr per pixel pair -> (rows, columns, 3) (PS3.3 C.7.6.3.1.2)."""
    pairs = data.reshape(-1, 4)
    out = np.empty((pairs.shape[0], 2, 3), dtype=data.dtype)
    out[:, 0, 0] = pairs[:, 0]
    out[:, 1, 0] = pairs[:, 1]
    out[:, :, 1] = pairs[:, 2:3]
    out[:, :, 2] = pairs[:, 3:4]
    return out.reshape(info.rows, info.columns, 3)


class EncapsulatedFrame:
    """One compressed frame: its bytes, its transfer syntax and its FrameInfo.

    Parameters
    ----------
    fragments
        The frame's fragments (PS3.5 A.4), views on the file where possible.
    info
        The layout of the frame once decoded, as the dataset describes it.
    index
        The frame's number in its pixel data, for error messages.
    codecs
        The registry that decodes it when :meth:`decode` names none; None:
        the default one.
    limits
        The limits its decoding keeps to when :meth:`decode` gives none;
        None: the default limits.
    """

    __slots__ = ("codecs", "fragments", "index", "info", "limits")

    def __init__(
        self,
        fragments: Sequence[bytes | memoryview],
        info: FrameInfo,
        /,
        *,
        index: int | None = None,
        codecs: FrameCodecs | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.fragments = tuple(fragments)
        self.info = info
        self.index = index
        self.codecs = codecs
        self.limits = limits

    @property
    def data(self) -> bytes | memoryview:
        """The compressed bytes: a view when the frame is one fragment, else joined."""
        if len(self.fragments) == 1:
            return self.fragments[0]
        return b"".join(self.fragments)

    @property
    def transfer_syntax(self) -> TransferSyntax:
        """The transfer syntax the frame is encoded in."""
        return resolve(self.info.transfer_syntax_uid)

    def decode(
        self,
        *,
        codecs: FrameCodecs | None = None,
        limits: Limits | None = None,
        **options: Any,
    ) -> NativeFrame:
        """Decode through the codec registry (see :mod:`dicomframe.plugins`).

        Parameters
        ----------
        codecs
            The registry to use; else the frame's own (its dataset's), else
            the default manager.
        limits
            What the decoded frame may take, checked before any codec runs;
            else the frame's own (its dataset's), else the default limits.
        **options
            ``codec=``, ``prefer=``, ``block=`` and options for the codec.

        Raises
        ------
        LimitError
            When the decoded frame would exceed ``limits.max_frame_bytes``.
        DecodeError
            When the frame's codestream header contradicts its FrameInfo.
        NoCodecError
            When no installed codec can decode the frame; the error lists what
            was tried and what to install.
        """
        registry = codecs or self.codecs or default_codecs()
        decoded: NativeFrame = registry.decode(
            self, limits=limits if limits is not None else self.limits, **options
        )
        return decoded

    def __len__(self) -> int:
        return sum(len(f) for f in self.fragments)

    def __repr__(self) -> str:
        syntax = self.transfer_syntax.keyword
        return f"EncapsulatedFrame({syntax}, {len(self)} bytes in {len(self.fragments)} fragments)"
