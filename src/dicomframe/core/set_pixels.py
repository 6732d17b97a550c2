"""Replace a dataset's Pixel Data and everything that describes it.

:func:`set_pixel_data` is what ``Dataset.set_pixel_data`` runs. Given frames
(native or encapsulated) or an array, it writes the pixel element and brings
every attribute that describes the pixels in line, so nothing is left
contradicting them: the Image Pixel attributes (Rows ... Planar
Configuration), Number of Frames, the element's VR (OB or OW), the transfer
syntax (dataset and file meta), and it removes what no longer holds: offset
tables, the other pixel elements, Smallest/Largest Image Pixel Value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.core.codecs import FrameCodecs, encode_many
from dicomframe.core.element import DataElement
from dicomframe.core.encapsulation import encapsulate
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import PIXEL_KEYWORDS, FrameInfo
from dicomframe.core.pixel_data import swap_unit, swap_units
from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian, TransferSyntax, resolve
from dicomframe.core.vr import VR
from dicomframe.errors import EncodingError

if TYPE_CHECKING:
    from dicomframe.core.dataset import Dataset

__all__ = [
    "describe_pixels",
    "frames_from_array",
    "interleaved",
    "native_value",
    "set_pixel_data",
    "set_syntax",
]

Frames = Sequence[NativeFrame] | Sequence[EncapsulatedFrame]
_PIXEL_DESCRIPTION = {
    "Rows": 0x00280010,
    "Columns": 0x00280011,
    "SamplesPerPixel": 0x00280002,
    "BitsAllocated": 0x00280100,
    "BitsStored": 0x00280101,
    "HighBit": 0x00280102,
    "PixelRepresentation": 0x00280103,
}
_NO_LONGER_TRUE = (0x00280106, 0x00280107, 0x7FE00001, 0x7FE00002)  # pixel range, offset tables


def frames_from_array(array: np.ndarray[Any, Any], **info: Any) -> list[NativeFrame]:
    """Split ``(frames, rows, columns[, samples])`` or one frame into NativeFrames.

    A 2-D array is one monochrome frame; a 3-D array whose last axis is 3 and
    that is not given ``samples_per_pixel=1`` is one colour frame; any other
    3-D array is frames of monochrome. ``info`` overrides what the dtype
    implies (``bits_stored=12``, ``bits_allocated=1`` for 0/1 values packed
    eight to a byte, ``photometric_interpretation=...``).

    Raises
    ------
    ValueError
        When the shape or dtype cannot be stored, or a value does not fit
        Bits Stored and Pixel Representation (it would not read back).
    """
    array = np.asarray(array)
    spp = info.get("samples_per_pixel")
    if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4) and spp != 1):
        array = array[np.newaxis]
    if array.ndim not in (3, 4):
        raise ValueError(f"pixel array must be 2-D to 4-D, not shape {array.shape}")
    frame_info = FrameInfo(**{**_array_defaults(array, info), **_completed(info)})
    _check_array(array, frame_info)
    native = array.astype(frame_info.dtype, copy=False)
    return [_native(native[i], frame_info, i) for i in range(array.shape[0])]


def _array_defaults(array: np.ndarray[Any, Any], info: dict[str, Any]) -> dict[str, Any]:
    """The FrameInfo that the array's shape and dtype imply."""
    frames, rows, columns = array.shape[:3]
    samples = array.shape[3] if array.ndim == 4 else 1
    if samples not in (1, 3) and "photometric_interpretation" not in info:
        raise ValueError(
            f"{samples} samples per pixel: give photometric_interpretation (1 or 3 samples "
            "are MONOCHROME2 or RGB)"
        )
    bits = array.dtype.itemsize * 8
    return {
        "rows": rows,
        "columns": columns,
        "samples_per_pixel": samples,
        "bits_allocated": bits,
        "bits_stored": bits,
        "high_bit": bits - 1,
        "pixel_representation": int(array.dtype.kind == "i"),
        "photometric_interpretation": "RGB" if samples == 3 else "MONOCHROME2",
        "number_of_frames": frames,
        "pixel_keyword": _pixel_keyword(array.dtype),
        "transfer_syntax_uid": ExplicitVRLittleEndian.uid,
        "planar_configuration": 0,
    }


def _completed(info: dict[str, Any]) -> dict[str, Any]:
    """The overrides, with what follows from them: Bits Stored from Bits Allocated, High Bit."""
    info = {**info, "planar_configuration": 0}
    if "bits_allocated" in info and "bits_stored" not in info:
        info["bits_stored"] = info["bits_allocated"]
    if "bits_stored" in info and "high_bit" not in info:
        info["high_bit"] = int(info["bits_stored"]) - 1
    return info


def _check_array(array: np.ndarray[Any, Any], info: FrameInfo) -> None:
    """Refuse what would not read back as given (PS3.3 C.7.6.3, C.7.6.24)."""
    if info.pixel_keyword != "PixelData":
        if info.samples_per_pixel != 1:
            raise ValueError(
                "float pixels are monochrome (Float Pixel Data has 1 sample per pixel), "
                f"not {info.samples_per_pixel} samples"
            )
        return
    if info.is_subsampled:
        raise ValueError(
            f"{info.photometric_interpretation} native data is stored two values per pixel; "
            "give the samples as YBR_FULL (one Y Cb Cr triple per pixel) instead"
        )
    if array.size == 0:
        return
    bits, signed = info.bits_stored, info.pixel_representation == 1
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    least, most = int(array.min()), int(array.max())
    if least < low or most > high:
        raise ValueError(
            f"values {least}..{most} do not fit Bits Stored {bits} "
            f"({'signed' if signed else 'unsigned'}: {low}..{high})"
        )


def _native(array: np.ndarray[Any, Any], info: FrameInfo, index: int) -> NativeFrame:
    frame = NativeFrame(np.ascontiguousarray(array).reshape(-1), info)
    frame.index = index
    return frame


def _pixel_keyword(dtype: np.dtype[Any]) -> str:
    if dtype.kind == "f":
        if dtype.itemsize not in (4, 8):
            raise ValueError(f"float pixels must be float32 or float64, not {dtype}")
        return "FloatPixelData" if dtype.itemsize == 4 else "DoubleFloatPixelData"
    if dtype.kind not in "uib":
        raise ValueError(f"pixels of dtype {dtype} cannot be stored in DICOM")
    return "PixelData"


def set_pixel_data(  # noqa: PLR0913 - every option is keyword-only
    ds: Dataset,
    frames_or_array: Frames | np.ndarray[Any, Any],
    transfer_syntax: str | TransferSyntax | None = None,
    *,
    codecs: FrameCodecs | None = None,
    offset_table: str = "auto",
    workers: int | None = None,
    parallel: str = "auto",
    report: Any = None,
    **info: Any,
) -> None:
    """Replace the pixel data of ``ds`` and the attributes that describe it.

    Parameters
    ----------
    ds
        The dataset to change.
    frames_or_array
        NativeFrames, EncapsulatedFrames (all of one syntax), or an array.
    transfer_syntax
        The syntax to store the pixels in; defaults to the frames' own for
        encapsulated frames, else the dataset's when native, else Explicit VR
        Little Endian. Native frames are encoded through ``codecs`` when it
        is an encapsulated syntax.
    codecs
        The codec registry; else the dataset's (``ds.codecs``), else the
        default one.
    offset_table
        For encapsulated data: ``"auto"``, ``"basic"`` or ``"extended"``.
    workers, parallel, report
        How many frames are encoded at once and how, as for decoding
        (:mod:`dicomframe.parallel`), and a ``ParallelReport`` to fill in with
        what ran: the many-frame encoder wired into :mod:`dicomframe.core.codecs`.
    **info
        FrameInfo overrides for an array (``bits_stored=12``, ...).
    """
    frames: list[NativeFrame] | list[EncapsulatedFrame]
    if isinstance(frames_or_array, np.ndarray):
        frames = frames_from_array(frames_or_array, **info)
    else:
        frames = list(frames_or_array)  # type: ignore[assignment]
    if not frames:
        raise ValueError("no frames given")
    target = _target_syntax(ds, frames, transfer_syntax)
    codecs = codecs or ds.codecs
    if target.is_encapsulated:
        running = {"workers": workers, "parallel": parallel}
        if report is not None:
            running["report"] = report
        encoded = _encoded(frames, target, codecs, running)
        _store_encapsulated(ds, encoded, offset_table)
        described = encoded[0].info
    else:
        natives = _natives(frames, codecs)
        _store_native(ds, natives, target.is_little_endian)
        described = natives[0].info
    describe_pixels(ds, described, len(frames))
    set_syntax(ds, target)


def _target_syntax(
    ds: Dataset, frames: Sequence[Any], syntax: str | TransferSyntax | None
) -> TransferSyntax:
    if syntax is not None:
        return resolve(syntax)
    if isinstance(frames[0], EncapsulatedFrame):
        return frames[0].transfer_syntax
    current = ds.transfer_syntax
    if current is not None and not current.is_encapsulated:
        return current
    return ExplicitVRLittleEndian


def _encoded(
    frames: Sequence[Any],
    target: TransferSyntax,
    codecs: FrameCodecs | None,
    running: dict[str, Any],
) -> list[EncapsulatedFrame]:
    """Each frame in ``target``: those in it already as they are, the others encoded at once."""
    out: list[EncapsulatedFrame] = list(frames)
    if not all(
        isinstance(f, EncapsulatedFrame) and f.info.transfer_syntax_uid == target.uid
        for f in frames
    ):
        out = encode_many(frames, target, codecs=codecs, **running)
    uids = {f.info.photometric_interpretation for f in out}
    if len(uids) > 1:
        raise EncodingError(
            f"frames were encoded with different photometric interpretations {uids}"
        )
    return out


def _natives(frames: Sequence[Any], codecs: FrameCodecs | None) -> list[NativeFrame]:
    natives = [f if isinstance(f, NativeFrame) else f.decode(codecs=codecs) for f in frames]
    first = natives[0].info
    for frame in natives[1:]:
        if (frame.info.shape, frame.info.dtype, frame.info.photometric_interpretation) != (
            first.shape,
            first.dtype,
            first.photometric_interpretation,
        ):
            raise ValueError(
                "all frames must have the same size, dtype and photometric interpretation"
            )
    return natives


def _clear_pixels(ds: Dataset) -> None:
    for tag in (*PIXEL_KEYWORDS, *_NO_LONGER_TRUE):
        ds.pop(tag, None)


def _store_native(ds: Dataset, frames: list[NativeFrame], little_endian: bool) -> None:
    info = frames[0].info
    tag = next(t for t, k in PIXEL_KEYWORDS.items() if k == info.pixel_keyword)
    vr = {"FloatPixelData": VR.OF, "DoubleFloatPixelData": VR.OD}.get(info.pixel_keyword)
    if vr is None:
        vr = VR.OW if info.bits_allocated > 8 else VR.OB
    value = native_value(frames, vr, little_endian=little_endian)
    _clear_pixels(ds)
    ds.add(DataElement(tag, vr, raw=value, little_endian=little_endian))


def native_value(frames: Sequence[NativeFrame], vr: VR, *, little_endian: bool) -> bytes:
    """The native pixel value that holds ``frames``, as stored with ``vr`` in that byte order.

    Frames are stored colour-by-pixel (a planar frame's shaped view is
    interleaved); 1-bit frames are packed on without padding between them
    (PS3.5 8.1.1). Big endian swaps each number in the unit of the VR, not
    of the pixel (PS3.5 7.3), as DCMTK and GDCM do: a 32-bit pixel in OW is
    two 16-bit words, low word first, each big endian.
    """
    info = frames[0].info
    if info.bits_allocated == 1:
        bits = np.concatenate([f.data for f in frames])
        logical = np.packbits(bits, bitorder="little")
    else:
        values = [np.ascontiguousarray(interleaved(f), info.dtype).reshape(-1) for f in frames]
        logical = np.concatenate(values).view(np.uint8)
    unit = swap_unit(vr, little_endian=little_endian)
    return (swap_units(logical, unit) if unit > 1 else logical).tobytes()


def frame_bytes(frame: NativeFrame, vr: VR, *, little_endian: bool) -> bytes | memoryview:
    """One frame's bytes as :func:`native_value` stores them, for the streaming writer.

    A view on the frame's data, not a copy, where neither byte swapping nor
    bit packing is needed.
    """
    info = frame.info
    if info.bits_allocated == 1 or swap_unit(vr, little_endian=little_endian) > 1:
        return native_value([frame], vr, little_endian=little_endian)
    values = np.ascontiguousarray(interleaved(frame), info.dtype).reshape(-1)
    return memoryview(values.view(np.uint8))  # type: ignore[arg-type] # numpy is a Buffer


def interleaved(frame: NativeFrame) -> np.ndarray[Any, Any]:
    """The frame's values colour-by-pixel (its flat data unless it is planar)."""
    info = frame.info
    if info.samples_per_pixel > 1 and info.planar_configuration == 1:
        return frame.array
    return frame.data


def _store_encapsulated(ds: Dataset, frames: list[EncapsulatedFrame], offset_table: str) -> None:
    packed = encapsulate([f.data for f in frames], offset_table=offset_table)
    _clear_pixels(ds)
    if packed.extended_offsets is not None and packed.extended_lengths is not None:
        ds.add(DataElement(0x7FE00001, VR.OV, raw=packed.extended_offsets))
        ds.add(DataElement(0x7FE00002, VR.OV, raw=packed.extended_lengths))
    ds.add(DataElement(0x7FE00010, VR.OB, raw=packed.value, undefined_length=True))


def describe_pixels(ds: Dataset, info: FrameInfo, count: int) -> None:
    """Set the Image Pixel attributes and Number of Frames for ``count`` frames of ``info``."""
    for keyword, tag in _PIXEL_DESCRIPTION.items():
        attribute = "".join("_" + c.lower() if c.isupper() else c for c in keyword).lstrip("_")
        ds.set(tag, int(getattr(info, attribute)), VR.US)
    ds.set(0x00280004, info.photometric_interpretation, VR.CS)
    if info.samples_per_pixel > 1:
        ds.set(0x00280006, 0, VR.US)  # frames are stored interleaved (PS3.3 C.7.6.3.1.3)
    else:
        ds.pop(0x00280006, None)
    if count > 1 or 0x00280008 in ds:
        ds.set(0x00280008, str(count), VR.IS)
    if info.pixel_keyword != "PixelData":
        for tag in (0x00280101, 0x00280102, 0x00280103):
            ds.pop(tag, None)  # Float pixel data has no stored bits or representation


def set_syntax(ds: Dataset, syntax: TransferSyntax) -> None:
    """Record ``syntax`` on the dataset and in its file meta."""
    ds.transfer_syntax = syntax
    if ds.meta is not None:
        ds.meta.set(0x00020010, syntax.uid, VR.UI)
    ds.__dict__.pop("_pixels", None)
