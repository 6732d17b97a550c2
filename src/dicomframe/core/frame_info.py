"""FrameInfo: what one frame of pixel data is, built from the Image Pixel module.

Everything that turns bytes into pixels is here, once: the dtype that Bits
Allocated, Pixel Representation and the pixel element call for, how many
values and bytes a frame holds, and its shape. Building it from a dataset
checks the attributes and names the one that is missing or contradictory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian
from dicomframe.errors import InvalidDicomError

__all__ = ["PIXEL_KEYWORDS", "FrameInfo", "PixelAttributes"]


class PixelAttributes(Protocol):
    """What FrameInfo reads of a dataset (a Dataset is one), so it needs no dataset module."""

    @property
    def transfer_syntax(self) -> Any:
        """The syntax the dataset was read in, or None."""
        ...

    @property
    def _elements(self) -> Mapping[Any, Any]: ...

    def __contains__(self, key: object) -> bool:
        """Whether the dataset holds ``key``."""
        ...

    def get(self, key: int | str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        ...


# The three pixel elements (PS3.3 C.7.6.3, C.7.6.24): tag -> keyword.
PIXEL_KEYWORDS = {
    0x7FE00010: "PixelData",
    0x7FE00008: "FloatPixelData",
    0x7FE00009: "DoubleFloatPixelData",
}
_ROWS, _COLUMNS, _SAMPLES = 0x00280010, 0x00280011, 0x00280002
_ALLOCATED, _STORED, _HIGH_BIT, _REPRESENTATION = 0x00280100, 0x00280101, 0x00280102, 0x00280103
_PHOTOMETRIC, _PLANAR, _FRAMES = 0x00280004, 0x00280006, 0x00280008


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameInfo:
    """The layout of one frame of pixel data.

    Attributes
    ----------
    rows, columns, samples_per_pixel
        The frame's size (PS3.3 C.7.6.3.1).
    bits_allocated, bits_stored, high_bit, pixel_representation
        How each sample is stored; ``pixel_representation`` 1 means signed.
    photometric_interpretation, planar_configuration
        The colour model, and whether samples are interleaved (0) or planar (1).
    transfer_syntax_uid
        The syntax the frame is encoded in.
    number_of_frames
        How many frames the pixel data this frame belongs to holds.
    pixel_keyword
        ``"PixelData"``, ``"FloatPixelData"`` or ``"DoubleFloatPixelData"``.
    """

    rows: int
    columns: int
    samples_per_pixel: int = 1
    bits_allocated: int = 8
    bits_stored: int = 8
    high_bit: int = 7
    pixel_representation: int = 0
    photometric_interpretation: str = "MONOCHROME2"
    planar_configuration: int = 0
    transfer_syntax_uid: str = ExplicitVRLittleEndian.uid
    number_of_frames: int = 1
    pixel_keyword: str = "PixelData"

    def __post_init__(self) -> None:
        _check(self)

    @property
    def dtype(self) -> np.dtype[Any]:
        """The exact numpy dtype of the frame's values (little endian, native order)."""
        if self.pixel_keyword == "FloatPixelData":
            return np.dtype("<f4")
        if self.pixel_keyword == "DoubleFloatPixelData":
            return np.dtype("<f8")
        if self.bits_allocated == 1:
            return np.dtype("u1")
        kind = "i" if self.pixel_representation else "u"
        return np.dtype(f"<{kind}{self.bits_allocated // 8}")

    @property
    def is_subsampled(self) -> bool:
        """True for YBR_FULL_422 / YBR_PARTIAL_422 native data: two chroma values per pixel pair."""
        return self.photometric_interpretation in ("YBR_FULL_422", "YBR_PARTIAL_422") and (
            self.samples_per_pixel == 3
        )

    @property
    def values_per_frame(self) -> int:
        """How many values the flat ``NativeFrame.data`` of this frame holds."""
        pixels = self.rows * self.columns
        if self.is_subsampled:
            return pixels * 2  # PS3.5 8.2.1 / PS3.3 C.7.6.3.1.2: Y Y Cb Cr per 2 pixels
        return pixels * self.samples_per_pixel

    @property
    def bits_per_frame(self) -> int:
        """The frame's size in bits as stored natively."""
        return self.values_per_frame * self.bits_allocated

    @property
    def bytes_per_frame(self) -> int:
        """The frame's size in bytes as stored natively (1-bit frames rounded up)."""
        return (self.bits_per_frame + 7) // 8

    @property
    def shape(self) -> tuple[int, ...]:
        """``(rows, columns)`` or ``(rows, columns, samples)``."""
        if self.samples_per_pixel == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples_per_pixel)

    @property
    def needs_bit_correction(self) -> bool:
        """True when Bits Stored < Bits Allocated for integer data (PS3.5 8.1.1)."""
        return (
            self.pixel_keyword == "PixelData"
            and self.bits_allocated > 1
            and self.bits_stored < self.bits_allocated
        )

    def replace(self, **changes: Any) -> FrameInfo:
        """A copy with some attributes changed (checked again)."""
        return replace(self, **changes)

    @classmethod
    def from_dataset(
        cls, ds: PixelAttributes, *, transfer_syntax_uid: str | None = None
    ) -> FrameInfo:
        """Build the FrameInfo from a dataset's Image Pixel attributes.

        Raises
        ------
        InvalidDicomError
            Naming the attribute that is missing, empty or contradictory.
        """
        pixel_tag = next((t for t in PIXEL_KEYWORDS if t in ds), 0x7FE00010)
        keyword = PIXEL_KEYWORDS[pixel_tag]
        is_float = keyword != "PixelData"
        allocated = _required(ds, _ALLOCATED)
        if transfer_syntax_uid is None:
            syntax = ds.transfer_syntax
            transfer_syntax_uid = syntax.uid if syntax is not None else ExplicitVRLittleEndian.uid
        stored = _optional(ds, _STORED, allocated)
        return cls(
            rows=_required(ds, _ROWS),
            columns=_required(ds, _COLUMNS),
            samples_per_pixel=_optional(ds, _SAMPLES, 1),
            bits_allocated=allocated,
            bits_stored=allocated if is_float else stored,
            high_bit=allocated - 1 if is_float else _optional(ds, _HIGH_BIT, stored - 1),
            pixel_representation=0 if is_float else _optional(ds, _REPRESENTATION, 0),
            photometric_interpretation=str(ds.get(_PHOTOMETRIC) or "MONOCHROME2").strip(),
            planar_configuration=_optional(ds, _PLANAR, 0),
            transfer_syntax_uid=transfer_syntax_uid,
            number_of_frames=_frames(ds),
            pixel_keyword=keyword,
        )


def _number(ds: PixelAttributes, tag: int) -> Any:
    element = ds._elements.get(tag)
    if element is None:
        return None
    value = element.value
    if isinstance(value, list):
        value = value[0] if value else None
    return value


def _required(ds: PixelAttributes, tag: int) -> int:
    value = _number(ds, tag)
    if value is None or value == "":
        from dicomframe.core.dictionary import keyword_for

        raise InvalidDicomError(f"{keyword_for(tag)} is missing or empty", tag=tag)
    return _as_int(value, tag)


def _optional(ds: PixelAttributes, tag: int, default: int) -> int:
    value = _number(ds, tag)
    return default if value is None or value == "" else _as_int(value, tag)


def _as_int(value: Any, tag: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidDicomError(f"value {value!r} is not a number", tag=tag) from None


def _frames(ds: PixelAttributes) -> int:
    # Empty or 0 Number of Frames is read as 1, as pydicom and DCMTK read it.
    value = _number(ds, _FRAMES)
    if value is None or value == "":
        return 1
    frames = _as_int(value, _FRAMES)
    if frames < 0:
        raise InvalidDicomError(f"Number of Frames is {frames}", tag=_FRAMES)
    return frames or 1


def _check(info: FrameInfo) -> None:
    """Refuse contradictory attributes, naming the tag at fault."""
    problems = [
        (info.rows < 1, _ROWS, f"Rows is {info.rows}"),
        (info.columns < 1, _COLUMNS, f"Columns is {info.columns}"),
        (info.samples_per_pixel not in (1, 3, 4), _SAMPLES, "Samples per Pixel must be 1, 3 or 4"),
        (
            info.bits_allocated not in (1, 8, 16, 32, 64),
            _ALLOCATED,
            f"Bits Allocated {info.bits_allocated} is not 1, 8, 16, 32 or 64",
        ),
        (
            not 1 <= info.bits_stored <= info.bits_allocated,
            _STORED,
            f"Bits Stored {info.bits_stored} does not fit Bits Allocated {info.bits_allocated}",
        ),
        (info.pixel_representation not in (0, 1), _REPRESENTATION, "Pixel Representation not 0/1"),
        (info.planar_configuration not in (0, 1), _PLANAR, "Planar Configuration not 0 or 1"),
        (
            info.pixel_keyword == "FloatPixelData" and info.bits_allocated != 32,
            _ALLOCATED,
            "Float Pixel Data needs Bits Allocated 32",
        ),
        (
            info.pixel_keyword == "DoubleFloatPixelData" and info.bits_allocated != 64,
            _ALLOCATED,
            "Double Float Pixel Data needs Bits Allocated 64",
        ),
    ]
    for bad, tag, message in problems:
        if bad:
            raise InvalidDicomError(message, tag=tag)
