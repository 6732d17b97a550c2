"""PixelData: a dataset's pixels as a sequence of frames, read only when asked for.

``ds.pixel_data[i]`` builds frame ``i`` from its own bytes and nothing else:
for a dataset read from a path, those bytes are a view on the memory-mapped
file, so frame 5,000 of a 10 GB file costs that frame's pages. Native frames
are :class:`NativeFrame` views where the layout allows (little endian, Bits
Stored bits clean); encapsulated frames are :class:`EncapsulatedFrame`
fragments located through the offset tables.

``pixel_array`` fills ONE output array: native data is read straight into it
from the file (``preadv``), then byte-swapped and corrected in place. The
dataset's limits (``dcf.read(..., limits=...)``) bound it: its size is checked
against ``Limits.max_object_bytes`` before it is allocated, and each
encapsulated frame against ``max_frame_bytes`` before it is decoded.

Big endian (PS3.5 7.3): each value is byte-swapped in the unit of its VR, as
DCMTK and GDCM read and write it: 16-bit words for OW, 32 bits for OL and
OF, 64 bits for OD, nothing for OB. Undoing that swap gives the same bytes
as little endian, so every layout is then read as little-endian data; a
32-bit pixel in OW therefore has its low word first. Big-endian frames that
need a swap are private, writable copies.

Bits Stored < Bits Allocated (PS3.5 8.1.1): the unused high bits are masked
and signed values sign-extended, by a left then right shift on the exact
dtype, as pydicom does; a frame whose unused bits are already clean stays a
view on the file, and only a frame that needs it is copied.

Editing: a frame edited with ``set_pixel`` (or ``make_writable``) reports
back here; the Pixel Data element then writes the edited frames in place of
their original bytes and leaves every other byte as it was.

Frames fetched on demand: :func:`provide_frames` gives a dataset a function
that returns frame ``i``'s bytes as stored (a codestream for an encapsulated
transfer syntax, the little-endian pixels of one frame for a native one),
for a dataset whose Pixel Data lies elsewhere, e.g. on a DICOMweb server.
The frames are then built from what the function returns, with the same
info, registry and limits as frames read from a file; the Pixel Data element
itself holds no bytes. The core only calls the function: whoever fetches
(``dicomframe.dicomweb``) passes it in, so the core imports nothing above it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from dicomframe.core.codecs import FrameCodecs, decode_many
from dicomframe.core.element import DataElement
from dicomframe.core.encapsulation import Span, frame_spans
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import PIXEL_KEYWORDS, FrameInfo
from dicomframe.core.limits import Limits, resolve_limits
from dicomframe.core.source import Located, Patched, Unparsed
from dicomframe.core.vr import SWAP_SIZE, VR
from dicomframe.errors import InvalidDicomError

if TYPE_CHECKING:
    from dicomframe.core.dataset import Dataset

__all__ = ["FrameFetcher", "PixelData", "provide_frames", "swap_unit", "swap_units"]

Frame = NativeFrame | EncapsulatedFrame
FrameFetcher = Callable[[int], bytes | memoryview]  # frame index -> its bytes as stored
_FETCHER = "_frame_fetcher"  # where provide_frames keeps (element, fetcher) on a dataset


class PixelData:
    """The frames of a dataset's Pixel Data (or Float / Double Float Pixel Data).

    Supports ``len()``, indexing, slicing and iteration; a frame is built
    when it is asked for.
    """

    def __init__(self, ds: Dataset) -> None:
        tag = next((t for t in PIXEL_KEYWORDS if t in ds), None)
        if tag is None:
            raise InvalidDicomError("the dataset has no Pixel Data", tag=0x7FE00010)
        self.element: DataElement = ds[tag]
        self.info = FrameInfo.from_dataset(ds)
        self.is_encapsulated = self.element.undefined_length
        self._fetch = _fetcher_for(ds, self.element)
        self._edited: dict[int, NativeFrame] = {}
        self._spans: Sequence[list[Span]] | None = None
        self._extended = _extended_table(ds) if self.is_encapsulated else None
        self._dataset = weakref.ref(ds)  # for its limits, without keeping it alive
        # ... and as they were, for pixel data that outlives its dataset (read(...).pixel_data)
        self._as_read: tuple[FrameCodecs | None, Limits | None] = (ds.codecs, ds.limits)
        # Encapsulated data is little endian by definition (PS3.5 A.4): never swapped.
        self._unit = (
            1
            if self.is_encapsulated
            else swap_unit(self.element.vr, little_endian=self.element.little_endian)
        )
        if not self.is_encapsulated and self._fetch is None:
            self._check_length()

    @property
    def codecs(self) -> FrameCodecs | None:
        """The registry its frames decode with: the dataset's (``ds.codecs``); None: the default."""
        ds = self._dataset()
        return self._as_read[0] if ds is None else ds.codecs

    @property
    def limits(self) -> Limits:
        """The limits decoding keeps to: the dataset's (``ds.limits``), else the default ones.

        Read when asked for, so limits set on the dataset after its pixel
        data was first used still count.
        """
        ds = self._dataset()
        return resolve_limits(self._as_read[1] if ds is None else ds.limits)

    # -- sequence protocol --------------------------------------------------
    def __len__(self) -> int:
        if self.is_encapsulated and self._fetch is None:
            return len(self._frame_spans())
        return self.info.number_of_frames

    @overload
    def __getitem__(self, index: int) -> Frame: ...
    @overload
    def __getitem__(self, index: slice) -> list[Frame]: ...
    def __getitem__(self, index: int | slice) -> Frame | list[Frame]:
        if isinstance(index, slice):
            return [self.frame(i) for i in range(*index.indices(len(self)))]
        return self.frame(index)

    def __iter__(self) -> Iterator[Frame]:
        for index in range(len(self)):
            yield self.frame(index)
            self.release(index)  # done with this frame's pages: drop them (views stay valid)

    def release(self, index: int) -> None:
        """Drop frame ``index``'s mapped file pages from the process.

        Frames already built stay valid (their pages fault back in when
        read); this only keeps a pass over a large file from keeping it all
        resident.
        """
        raw = self.element._raw
        if not isinstance(raw, Located):
            return
        if self.is_encapsulated:
            for offset, length in self._frame_spans()[index]:
                raw.source.release(raw.offset + offset, length)
        else:
            size = self.info.bytes_per_frame
            raw.source.release(raw.offset + index * size, size)

    def frame(self, index: int) -> Frame:
        """Frame ``index`` (negative counts from the end)."""
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(f"frame {index} out of range: the pixel data has {count} frames")
        if self.is_encapsulated:
            return self._encapsulated_frame(index)
        edited = self._edited.get(index)
        if edited is not None:
            return edited
        frame = NativeFrame(self._native_data(index), self.info)
        frame.index = index
        frame._on_edit = self._record_edit
        return frame

    # -- native -----------------------------------------------------------------
    def _raw_length(self) -> int:
        return self.element.length

    def _check_length(self) -> None:
        info = self.info
        needed_bits = info.bits_per_frame * info.number_of_frames
        have = self._raw_length()
        if have * 8 < needed_bits:
            raise InvalidDicomError(
                f"{info.pixel_keyword} holds {have} bytes; {info.number_of_frames} frame(s) of "
                f"{info.rows}x{info.columns}x{info.samples_per_pixel} at {info.bits_allocated} "
                f"bits need {(needed_bits + 7) // 8}",
                tag=self.element.tag,
                offset=self.element.offset,
            )

    def _view(self, offset: int, length: int) -> memoryview:
        """Bytes ``[offset, offset + length)`` in little-endian order.

        Big-endian data is swapped back over the whole VR units that hold
        the range (a copy); little-endian data and OB are the bytes as stored.
        """
        unit = self._unit
        if unit == 1:
            return self._raw_view(offset, length)
        first = offset - offset % unit
        last = min(-(-(offset + length) // unit) * unit, self._raw_length())
        swapped = swap_units(self._raw_view(first, last - first), unit)
        return swapped.data[offset - first : offset - first + length]

    def _raw_view(self, offset: int, length: int) -> memoryview:
        raw = self.element._raw
        if isinstance(raw, Located):
            return raw.source.view(raw.offset + offset, length)
        if isinstance(raw, Patched):
            return raw.view(offset, length)
        if raw is None or isinstance(raw, Unparsed):  # assigned (Unparsed: never, for pixels)
            return memoryview(self.element.value)[offset : offset + length]
        return memoryview(raw)[offset : offset + length]

    def _native_data(self, index: int) -> np.ndarray[Any, Any]:
        info = self.info
        if self._fetch is not None:
            return self._fetched_native(index)
        if info.bits_allocated == 1:
            return self._bits_frame(index)
        size = info.bytes_per_frame
        data = np.frombuffer(self._view(index * size, size), dtype=info.dtype)
        if info.needs_bit_correction and not _bits_clean(data, info):
            data = data.copy() if not data.flags.writeable else data
            _correct_bits(data, info)
        return data

    def _fetched_native(self, index: int) -> np.ndarray[Any, Any]:
        """A native frame from the fetcher: exactly one frame's bytes, little endian."""
        assert self._fetch is not None
        info = self.info
        data = memoryview(self._fetch(index)).cast("B")
        size = info.bytes_per_frame
        if len(data) != size:
            raise InvalidDicomError(
                f"frame {index} was fetched as {len(data)} bytes; one {info.rows}x{info.columns}"
                f"x{info.samples_per_pixel} frame at {info.bits_allocated} bits is {size}",
                tag=self.element.tag,
            )
        if info.bits_allocated == 1:
            bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
            return bits[: info.values_per_frame]
        frame = np.frombuffer(data, dtype=info.dtype)
        if info.needs_bit_correction and not _bits_clean(frame, info):
            frame = frame.copy()
            _correct_bits(frame, info)
        return frame

    def _bits_frame(self, index: int) -> np.ndarray[Any, Any]:
        """1-bit frames: pixels packed LSB first, frames starting mid-byte (PS3.5 8.1.1)."""
        count = self.info.values_per_frame
        start = index * count
        first, last = start // 8, (start + count + 7) // 8
        packed = np.frombuffer(self._view(first, last - first), np.uint8)
        shift = start % 8
        return np.unpackbits(packed, bitorder="little")[shift : shift + count]

    def pixel_array(
        self,
        *,
        codecs: FrameCodecs | None = None,
        limits: Limits | None = None,
        **options: Any,
    ) -> np.ndarray[Any, Any]:
        """Every frame as ``(frames, rows, columns[, samples])`` in one allocation.

        Encapsulated frames are decoded through ``codecs`` (else the
        dataset's, else the default manager) with ``options`` (``codec=``, ``prefer=``,
        ``workers=``, default the number of cores, ``parallel=``, ...; see
        :mod:`dicomframe.parallel`); the codec that decodes frame 0 decodes
        the others, and the registry falls back for a frame it fails on.

        ``limits`` (the dataset's when None, see :attr:`limits`) bound the
        output and each decoded frame, checked before anything is allocated
        or decoded.

        Raises
        ------
        LimitError
            When the output would exceed ``limits.max_object_bytes``, or a
            decoded frame ``limits.max_frame_bytes``.
        """
        limits = self.limits if limits is None else limits
        count = len(self)
        if self.is_encapsulated:
            return self._decode_all(count, codecs or self.codecs, {**options, "limits": limits})
        info = self.info
        shape = (count, info.rows, info.columns, 3) if info.is_subsampled else (count, *info.shape)
        limits.check(
            "max_object_bytes",
            int(np.prod(shape)) * info.dtype.itemsize,
            what=f"pixel_array of {count} frames",
            tag=self.element.tag,
        )
        out = np.empty(shape, dtype=info.dtype)
        one_by_one = info.bits_allocated == 1 or info.is_subsampled or out.nbytes % self._unit
        if one_by_one or self._fetch is not None:
            for index in range(count):
                out[index] = self.frame(index).decode().array
            return out
        self._read_native_into(out)
        return out

    def _decode_all(
        self, count: int, codecs: FrameCodecs | None, options: dict[str, Any]
    ) -> np.ndarray[Any, Any]:
        """Decode every frame into one array, on every core (:mod:`dicomframe.parallel`).

        Frame 0 chooses the codec; the others are decoded by it straight into
        the output, on threads when the backend releases the GIL, in forked
        processes when it holds it; ``workers=1`` decodes in this thread only.
        ``decode_frames`` checks the output and each frame against the limits
        in ``options`` before it allocates or decodes anything.
        """
        decoded: np.ndarray[Any, Any] = decode_many(
            _EncapsulatedFrames(self, count), codecs=codecs, **options
        )
        return decoded

    def _read_native_into(self, out: np.ndarray[Any, Any]) -> None:
        """Read every frame into ``out`` as stored, then swap, correct and de-plane in place."""
        info = self.info
        flat = out.reshape(-1)
        target = flat.view(np.uint8).data
        raw = self.element._raw
        if isinstance(raw, Located):
            raw.source.readinto(raw.offset, target)
        else:
            target[:] = self._raw_view(0, len(target))
        if self._unit > 1:
            flat.view(np.uint8).view(f"<u{self._unit}").byteswap(inplace=True)
        if info.needs_bit_correction:
            _correct_bits(flat, info)
        if info.samples_per_pixel > 1 and info.planar_configuration == 1:
            for index in range(out.shape[0]):
                planes = out[index].reshape(info.samples_per_pixel, info.rows, info.columns)
                out[index] = planes.transpose(1, 2, 0).copy()
        for index, frame in self._edited.items():
            out[index] = frame.array

    # -- encapsulated ----------------------------------------------------------
    def _frame_spans(self) -> Sequence[list[Span]]:
        if self._spans is None:
            raw = self.element._raw
            if isinstance(raw, Located):  # the source finds them: one at a URL fetches little
                self._spans = raw.source.frame_spans(
                    raw.offset, raw.length, self.info.number_of_frames, self._extended
                )
            else:
                view = self._view(0, self._raw_length())
                self._spans = frame_spans(view, self.info.number_of_frames, extended=self._extended)
        return self._spans

    def _encapsulated_frame(self, index: int) -> EncapsulatedFrame:
        if self._fetch is not None:
            fragments = [self._fetch(index)]  # one codestream per frame as fetched
        else:
            spans = self._frame_spans()[index]
            fragments = [self._view(offset, length) for offset, length in spans]
        return EncapsulatedFrame(
            fragments, self.info, index=index, codecs=self.codecs, limits=self.limits
        )

    @property
    def fragments_per_frame(self) -> list[int]:
        """How many fragments each encapsulated frame has (a fetched frame: one)."""
        if self._fetch is not None:
            return [1] * len(self)
        return [len(spans) for spans in self._frame_spans()]

    # -- editing -----------------------------------------------------------------
    def _record_edit(self, frame: NativeFrame) -> None:
        if frame.index is None or frame.index in self._edited:
            return
        self._edited[frame.index] = frame
        if self._fetch is not None:
            return  # no stored bytes to patch: the edited frame is served from _edited
        raw = self.element._raw
        size = self.info.bytes_per_frame
        if self.info.bits_allocated == 1 or size % self._unit:
            # Frames share bytes (1-bit) or VR units (8-bit OW, big endian): patch the whole value.
            offset, patch = 0, self._whole_patch
        else:
            offset = frame.index * size

            def patch() -> bytes:
                return self._stored_bytes(frame)

        if isinstance(raw, Patched):
            raw.patches[offset] = patch
        else:
            assert raw is not None
            assert not isinstance(raw, Unparsed)  # pixel data is never a sequence
            self.element._raw = Patched(raw, {offset: patch})

    def _stored_bytes(self, frame: NativeFrame) -> bytes:
        """An edited frame's bytes as stored (big endian: swapped in the unit of the VR)."""
        if self._unit == 1:
            return frame.data.tobytes()
        return swap_units(frame.data, self._unit).tobytes()

    def _whole_patch(self) -> bytes:
        """The whole value with every edited frame in it, for layouts where frames share bytes."""
        raw = self.element._raw
        assert isinstance(raw, Patched)
        logical = swap_units(raw._base_view(), self._unit)
        info = self.info
        if info.bits_allocated == 1:
            bits = np.unpackbits(logical, bitorder="little")
            for index, frame in self._edited.items():
                start = index * info.values_per_frame
                bits[start : start + info.values_per_frame] = frame.data
            logical = np.packbits(bits, bitorder="little")[: len(logical)]
        else:
            for index, frame in self._edited.items():
                start = index * info.bytes_per_frame
                logical[start : start + info.bytes_per_frame] = _as_bytes(frame.data)
        return swap_units(logical, self._unit).tobytes()


class _EncapsulatedFrames:
    """The encapsulated frames of a PixelData, each built when asked for."""

    def __init__(self, pixels: PixelData, count: int) -> None:
        self._pixels = pixels
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> EncapsulatedFrame:
        return self._pixels._encapsulated_frame(index)


def provide_frames(ds: Dataset, fetch: FrameFetcher) -> None:
    """Serve ``ds``'s frames from ``fetch(index)`` rather than from its Pixel Data bytes.

    ``fetch`` returns frame ``index``'s bytes as stored: one codestream when
    the Pixel Data element has undefined length (encapsulated), else exactly
    one frame of little-endian pixels. It is called when a frame is first
    asked for, every time: caching is the fetcher's job. The fetcher belongs
    to the dataset's current Pixel Data element; once that is replaced
    (``ds.set_pixel_data``), the frames come from the new element's bytes.

    Raises
    ------
    InvalidDicomError
        When the dataset has no Pixel Data element to serve.
    """
    tag = next((t for t in PIXEL_KEYWORDS if t in ds), None)
    if tag is None:
        raise InvalidDicomError("the dataset has no Pixel Data to serve frames for", tag=0x7FE00010)
    object.__setattr__(ds, _FETCHER, (ds[tag], fetch))


def _fetcher_for(ds: Dataset, element: DataElement) -> FrameFetcher | None:
    """The fetcher :func:`provide_frames` gave ``ds``, while ``element`` is still its Pixel Data."""
    given: tuple[DataElement, FrameFetcher] | None = ds.__dict__.get(_FETCHER)
    if given is None or given[0] is not element:
        return None
    return given[1]


def swap_unit(vr: VR, *, little_endian: bool) -> int:
    """How many bytes each byte-swapped number of a native pixel value holds, as stored.

    1 (nothing swapped) for little endian and for OB; else the unit of the
    VR (PS3.5 7.3), as DCMTK and GDCM swap it: OW 2, OL and OF 4, OD 8.
    The pixel's own size does not count: a 32-bit pixel in OW is two words.
    """
    return 1 if little_endian else SWAP_SIZE.get(vr, 1)


def swap_units(data: bytes | memoryview | np.ndarray[Any, Any], unit: int) -> np.ndarray[Any, Any]:
    """A writable uint8 copy of ``data`` with each whole ``unit``-byte number reversed.

    Its own inverse: it turns big-endian stored bytes into little-endian
    ones and back. A last, partial unit is kept as it is.
    """
    out = _as_bytes(data).copy()
    whole = len(out) - len(out) % unit
    if unit > 1:
        out[:whole].view(f"<u{unit}").byteswap(inplace=True)
    return out


def _as_bytes(data: bytes | memoryview | np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``data`` as a flat uint8 array: a view when it is contiguous."""
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    return np.frombuffer(data, dtype=np.uint8)


def _bits_clean(data: np.ndarray[Any, Any], info: FrameInfo) -> bool:
    """True when values already fit Bits Stored, so masking would change nothing."""
    if info.pixel_representation:
        limit = 1 << (info.bits_stored - 1)
        return bool(data.size == 0 or (data.min() >= -limit and data.max() < limit))
    return bool(data.size == 0 or data.max() < (1 << info.bits_stored))


def _correct_bits(data: np.ndarray[Any, Any], info: FrameInfo) -> None:
    """Mask unused high bits, sign-extending signed values, in place."""
    shift = info.bits_allocated - info.bits_stored
    np.left_shift(data, shift, out=data)
    np.right_shift(data, shift, out=data)


def _extended_table(ds: Dataset) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None:
    if 0x7FE00001 not in ds:
        return None
    if 0x7FE00002 not in ds:
        raise InvalidDicomError(
            "Extended Offset Table without Extended Offset Table Lengths", tag=0x7FE00002
        )
    tables = []
    for tag in (0x7FE00001, 0x7FE00002):
        data = bytes(ds[tag].raw or ds[tag].value)
        if len(data) % 8:
            raise InvalidDicomError(
                f"{len(data)} bytes is not a whole number of 64-bit offsets", tag=tag
            )
        tables.append(np.frombuffer(data, dtype="<u8"))
    return tables[0], tables[1]
