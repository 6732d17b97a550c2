"""Overlay planes (PS3.3 C.9.2, C.9.3): repeating groups 6000-601E as arrays of 0/1.

An overlay is a one-bit plane drawn over an image: graphics or text (Overlay
Type G) or a region of interest (R). Up to sixteen live in the even groups
0x6000 to 0x601E, each described by its own attributes (``60xx`` below):

- Overlay Data (60xx,3000) holds the bits, packed eight a byte from the least
  significant bit (PS3.5 8.1.2). Several overlay frames form ONE continuous bit
  stream: a frame of 10 x 10 pixels ends in the middle of a byte and the next
  starts there, with no padding between frames.
- Overlay Rows/Columns (60xx,0010/0011) give each plane's size, which need not
  be the image's; Overlay Origin (60xx,0050) places it, row 1 column 1 being the image's
  top left pixel.
- Number of Frames in Overlay (60xx,0015) and Image Frame Origin (60xx,0051)
  make a multi-frame overlay: plane ``k`` belongs to image frame ``origin + k``
  (numbered from 1). Without Number of Frames in Overlay one plane serves every
  frame (:meth:`OverlayLayout.plane_of`).
- Overlay Bits Allocated/Bit Position (60xx,0100/0102): old files (before the
  2004 standard retired it) kept the overlay in an unused high bit of each
  pixel instead of in Overlay Data. When Overlay Data is absent and Overlay Bits
  Allocated is above 1, the plane is bit ``Bit Position`` of each stored pixel
  value, frame by frame, read from native (uncompressed) Pixel Data only. Pixel
  frames mask those bits away (``frame.array`` keeps Bits Stored), so they are
  read here from the Pixel Data bytes. Such an overlay lives in the frames it
  is drawn on, so Image Frame Origin does not move it: its planes are image
  frames 1 to Number of Frames in Overlay, as DCMTK reads them.

Every size comes from the file, so each is checked before anything is
allocated: a length the Overlay Data cannot back, or rows, columns or frames
that are zero or negative, is an :class:`~dicomframe.errors.InvalidDicomError`
naming the tag; a plausible but large overlay is then held to the dataset's
:class:`~dicomframe.core.limits.Limits` (one plane against ``max_frame_bytes``,
all of them against ``max_object_bytes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.limits import resolve_limits
from dicomframe.core.pixel_data import swap_unit, swap_units
from dicomframe.errors import InvalidDicomError

if TYPE_CHECKING:
    from dicomframe.core.dataset import Dataset

__all__ = [
    "OVERLAY_GROUPS",
    "OverlayLayout",
    "overlay_array",
    "overlay_groups",
    "overlay_layout",
    "overlay_plane",
]

OVERLAY_GROUPS = tuple(range(0x6000, 0x6020, 2))
_ROWS, _COLUMNS, _FRAMES, _TYPE = 0x0010, 0x0011, 0x0015, 0x0040
_ORIGIN, _FRAME_ORIGIN, _BITS, _BIT_POSITION, _DATA = 0x0050, 0x0051, 0x0100, 0x0102, 0x3000
_PIXEL_DATA = 0x7FE00010


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlayLayout:
    """What one overlay group says about its planes, checked.

    Attributes
    ----------
    group
        The repeating group, 0x6000 to 0x601E.
    rows, columns
        Overlay Rows/Columns: the size of each plane.
    frames
        Number of Frames in Overlay; 1 when absent.
    first_frame
        The index (from 0) of the image frame the first plane belongs to:
        Image Frame Origin minus 1 (0 for an overlay embedded in the pixels).
    per_frame
        Number of Frames in Overlay is present: plane ``k`` belongs to image
        frame ``first_frame + k`` only. False: the one plane serves every frame.
    origin
        Overlay Origin (row, column): where the plane's top left pixel falls,
        the image's top left being (1, 1); values below 1 are above or left.
    overlay_type
        Overlay Type: "G" (graphics) or "R" (region of interest); "" if absent.
    bit_position
        For an overlay embedded in Pixel Data, the bit of each pixel that holds
        it; None when the bits are in Overlay Data.
    """

    group: int
    rows: int
    columns: int
    frames: int
    first_frame: int
    per_frame: bool
    origin: tuple[int, int]
    overlay_type: str
    bit_position: int | None

    def plane_of(self, frame_index: int) -> int | None:
        """The plane that belongs to image frame ``frame_index`` (from 0), or None."""
        if not self.per_frame:
            return 0
        plane = frame_index - self.first_frame
        return plane if 0 <= plane < self.frames else None


def _tag(group: int, element: int) -> int:
    return (group << 16) | element


def _check_group(group: int) -> None:
    if group not in OVERLAY_GROUPS:
        raise ValueError(
            f"overlay group 0x{group:04X} is not one of the even groups 0x6000 to 0x601E"
        )


def overlay_groups(ds: Dataset) -> list[int]:
    """The overlay groups ``ds`` has, in order: those with Overlay Data, or embedded in pixels.

    A group counts when it holds Overlay Data (60xx,3000), or, without it,
    Overlay Bits Allocated above 1 (an overlay in the pixels' high bits).
    """
    found = []
    for group in OVERLAY_GROUPS:
        if _tag(group, _DATA) in ds:
            found.append(group)
        elif _tag(group, _BITS) in ds:
            bits = ds.get(_tag(group, _BITS))
            if isinstance(bits, int) and bits > 1:
                found.append(group)
    return found


def _integer(ds: Dataset, tag: int, default: int | None = None) -> int:
    """One integer value (US, SS, IS), or ``default`` when absent; else InvalidDicomError."""
    if tag not in ds:
        if default is None:
            raise InvalidDicomError(f"the overlay has no {_name(tag)}", tag=tag)
        return default
    value: Any = ds.get(tag)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidDicomError(f"{_name(tag)} is {value!r}, not one integer", tag=tag)
    return int(value)


_NAMES = {
    _ROWS: "Overlay Rows",
    _COLUMNS: "Overlay Columns",
    _FRAMES: "Number of Frames in Overlay",
    _FRAME_ORIGIN: "Image Frame Origin",
    _BITS: "Overlay Bits Allocated",
    _BIT_POSITION: "Overlay Bit Position",
    _DATA: "Overlay Data",
    _ORIGIN: "Overlay Origin",
}


def _name(tag: int) -> str:
    return _NAMES.get(tag & 0xFFFF, "attribute")


def _positive(ds: Dataset, tag: int, default: int | None = None) -> int:
    value = _integer(ds, tag, default)
    if value < 1:
        raise InvalidDicomError(f"{_name(tag)} is {value}; it must be at least 1", tag=tag)
    return value


def overlay_layout(ds: Dataset, group: int = 0x6000) -> OverlayLayout:
    """The checked attributes of overlay ``group``.

    Raises
    ------
    ValueError
        For a group that is not an even one from 0x6000 to 0x601E.
    InvalidDicomError
        Naming the attribute that is missing, not an integer, or out of range.
    """
    _check_group(group)
    rows = _positive(ds, _tag(group, _ROWS))
    columns = _positive(ds, _tag(group, _COLUMNS))
    per_frame = _tag(group, _FRAMES) in ds
    frames = _positive(ds, _tag(group, _FRAMES), 1)
    first = _positive(ds, _tag(group, _FRAME_ORIGIN), 1) - 1
    origin = ds.get(_tag(group, _ORIGIN))
    if origin is None:
        origin = [1, 1]
    if not (isinstance(origin, list) and len(origin) == 2):
        raise InvalidDicomError(
            f"Overlay Origin is {origin!r}, not row\\column", tag=_tag(group, _ORIGIN)
        )
    kind = ds.get(_tag(group, _TYPE))
    position = None
    if _tag(group, _DATA) not in ds:
        first = 0  # embedded: the overlay is in the frames themselves
        bits = _integer(ds, _tag(group, _BITS), 1)
        if bits <= 1:
            raise InvalidDicomError(
                f"overlay 0x{group:04X} has no Overlay Data, and Overlay Bits Allocated {bits} "
                "puts it in none of the pixels' bits",
                tag=_tag(group, _DATA),
            )
        position = _integer(ds, _tag(group, _BIT_POSITION))
    return OverlayLayout(
        group=group,
        rows=rows,
        columns=columns,
        frames=frames,
        first_frame=first,
        per_frame=per_frame,
        origin=(int(origin[0]), int(origin[1])),
        overlay_type=str(kind).strip() if isinstance(kind, str) else "",
        bit_position=position,
    )


def overlay_array(ds: Dataset, group: int = 0x6000) -> Any:
    """The overlay planes of ``group`` as a uint8 array of 0 and 1.

    Shape ``(rows, columns)``, or ``(frames, rows, columns)`` when Number of
    Frames in Overlay is above 1: the same as pydicom's ``overlay_array``,
    which reads Overlay Data only; an overlay embedded in the pixels' high
    bits is read from native Pixel Data here as well.

    Raises
    ------
    ValueError
        For a group that is not an even one from 0x6000 to 0x601E.
    InvalidDicomError
        Naming the tag: a missing or bad attribute, Overlay Data shorter than
        rows x columns x frames bits, an embedded overlay whose size, bits or
        frames contradict the Pixel Data.
    LimitError
        When the planes would exceed the dataset's limits (nothing allocated).
    """
    layout = overlay_layout(ds, group)
    planes = _planes(ds, layout, 0, layout.frames)
    if layout.frames > 1:
        return planes.reshape(layout.frames, layout.rows, layout.columns)
    return planes.reshape(layout.rows, layout.columns)


def overlay_plane(ds: Dataset, layout: OverlayLayout, plane: int) -> Any:
    """Plane ``plane`` (from 0) of an overlay, ``(rows, columns)`` uint8 of 0 and 1.

    One plane is unpacked, not the whole overlay: what drawing overlays on
    one frame of many needs. ``layout`` is :func:`overlay_layout`'s; the
    checks are :func:`overlay_array`'s.
    """
    if not 0 <= plane < layout.frames:
        raise IndexError(f"overlay plane {plane} out of range: the overlay has {layout.frames}")
    return _planes(ds, layout, plane, 1).reshape(layout.rows, layout.columns)


def _planes(ds: Dataset, layout: OverlayLayout, first: int, count: int) -> Any:
    """Planes ``first`` to ``first + count`` as one flat array, checked before allocating."""
    if layout.bit_position is None:
        return _unpacked(ds, layout, first, count)
    return _embedded(ds, layout, first, count)


def _check_limits(ds: Dataset, layout: OverlayLayout, count: int) -> None:
    """Hold the unpacked planes (a byte a pixel) to the dataset's limits before allocating."""
    limits = resolve_limits(ds.limits)
    plane = layout.rows * layout.columns
    what = f"overlay 0x{layout.group:04X}"
    limits.check("max_frame_bytes", plane, what=f"{what} plane", tag=_tag(layout.group, _ROWS))
    limits.check("max_object_bytes", plane * count, what=what, tag=_tag(layout.group, _FRAMES))


def _unpacked(ds: Dataset, layout: OverlayLayout, first: int, count: int) -> Any:
    """Overlay Data's bits, LSB first, one continuous stream over every frame."""
    tag = _tag(layout.group, _DATA)
    element = ds[tag]
    size = layout.rows * layout.columns
    total = size * layout.frames
    data = element.value if element.value is not None else b""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidDicomError(f"Overlay Data is {type(data).__name__}, not bytes", tag=tag)
    if len(data) * 8 < total:
        raise InvalidDicomError(
            f"Overlay Data holds {len(data)} bytes; {layout.frames} frame(s) of "
            f"{layout.rows}x{layout.columns} overlay pixels need {(total + 7) // 8}",
            tag=tag,
            offset=element.offset,
        )
    _check_limits(ds, layout, count)
    start, stop = first * size, (first + count) * size
    # Big endian (PS3.5 7.3): OW is stored in swapped 16-bit words, OB as it is.
    unit = swap_unit(element.vr, little_endian=element.little_endian)
    low, high = start // 8 - start // 8 % unit, -(-stop // 8 // unit) * unit
    stream = memoryview(data)[low:high]
    packed = swap_units(stream, unit) if unit > 1 else np.frombuffer(stream, np.uint8)
    skip = start - low * 8
    bits = np.unpackbits(packed, count=skip + stop - start, bitorder="little")
    return bits[skip:]


def _embedded(ds: Dataset, layout: OverlayLayout, first: int, count: int) -> Any:
    """Bit ``bit_position`` of each stored pixel, over the overlay's image frames."""
    group = layout.group
    assert layout.bit_position is not None
    info = FrameInfo.from_dataset(ds)
    bits = _integer(ds, _tag(group, _BITS))
    if bits != info.bits_allocated or info.samples_per_pixel != 1:
        raise InvalidDicomError(
            f"an overlay in the pixels' bits needs one sample of Bits Allocated {bits}; "
            f"the pixels have {info.samples_per_pixel} of {info.bits_allocated}",
            tag=_tag(group, _BITS),
        )
    if not 0 <= layout.bit_position < bits:
        raise InvalidDicomError(
            f"Overlay Bit Position {layout.bit_position} is not a bit of {bits}",
            tag=_tag(group, _BIT_POSITION),
        )
    if (layout.rows, layout.columns) != (info.rows, info.columns):
        raise InvalidDicomError(
            f"an overlay in the pixels' bits is {layout.rows}x{layout.columns}; the pixels "
            f"are {info.rows}x{info.columns}",
            tag=_tag(group, _ROWS),
        )
    last = layout.first_frame + layout.frames
    if last > info.number_of_frames:
        raise InvalidDicomError(
            f"Number of Frames in Overlay {layout.frames} goes past the image's "
            f"{info.number_of_frames} frame(s)",
            tag=_tag(group, _FRAMES),
        )
    _check_limits(ds, layout, count)
    element = ds.pixel_data.element  # checks the Pixel Data's length against the frames
    if element.undefined_length:
        raise InvalidDicomError(
            "dicomframe reads an overlay in the pixels' bits from native Pixel Data only; "
            "this Pixel Data is encapsulated",
            tag=_tag(group, _BITS),
        )
    size = info.bytes_per_frame
    start = (layout.first_frame + first) * size
    raw = memoryview(element.value)[start : start + count * size]
    unit = swap_unit(element.vr, little_endian=element.little_endian)
    stored = np.frombuffer(swap_units(raw, unit) if unit > 1 else raw, f"<u{bits // 8}")
    return ((stored >> layout.bit_position) & 1).astype(np.uint8)
