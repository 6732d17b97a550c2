"""get_image() and to_frame(): frames to Pillow images and back.

With no rendering option, ``get_image`` keeps the values in the Pillow mode that holds them
exactly, and ``to_frame`` is its inverse:

- Bits Allocated 1: "1"; uint8: "L"; uint16: "I;16"; float32: "F";
- int8/16/32, uint32, (u)int64: "I", when every value fits int32;
- float64: "F", when every value survives float32 (or with ``allow_precision_loss=True``);
- uint8 RGB: "RGB"; uint8 YBR_FULL and YBR_FULL_422: "YCbCr" (the raw values, which
  ``display=True`` converts to RGB with :func:`dicomframe.color.ybr_to_rgb`);
- PALETTE COLOR: "RGB" through the palette (``palette=False``: the indices, as above).

Anything else (colour above 8 bits, uint32 above 2**31 - 1, ...) raises ImageModeError
saying what to pass instead. The image records the frame's FrameInfo in
``image.info["dicomframe.frame_info"]``; while the image keeps its size and mode,
``to_frame`` uses it, so ``to_frame(get_image(f), syntax)`` gives back the same dtype,
Bits Stored and Photometric Interpretation.

A rendering option (``display=True``, ``modality_lut=True``, ``voi=``, ``window=``,
``voi_function=``) gives an 8-bit "L" or "RGB" display image through
:mod:`dicomframe.rendering`: Modality LUT, VOI, MONOCHROME1 inversion. The attributes come
from the dataset; only top-level ones are read (not enhanced objects' functional groups).
``display=True`` shows a PALETTE COLOR frame through its palette, as without it; the
Modality LUT and VOI options apply to monochrome frames only (ImageModeError otherwise).

``overlays=True`` burns the dataset's overlay planes (groups 6000-601E) into the
image, drawn as white: 255 on a display image, the end of Bits Stored's range on
a raw one (see :mod:`dicomframe.overlay_burn`).

What the file gets wrong is an :class:`~dicomframe.errors.InvalidDicomError` naming the
tag, never a bare ValueError, so a batch of files can be rendered with ``except
DicomError``: a Window Width or VOI LUT Function the window cannot use (pydicom refuses
them too), missing or bad LUTs, Samples per Pixel that contradicts Photometric
Interpretation, YBR samples no conversion takes, YBR_*_422 data with an odd number of
pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe import rendering
from dicomframe.core.dataset import Dataset
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.transfer_syntax import TransferSyntax, resolve
from dicomframe.errors import ImageModeError, InvalidDicomError

if TYPE_CHECKING:
    from PIL import Image

    from dicomframe.plugins.manager import CodecManager

__all__ = ["INFO_KEY", "ImageModeError", "get_image", "to_frame", "to_frames"]

Array = np.ndarray[Any, Any]
INFO_KEY = "dicomframe.frame_info"
_YCBCR = ("YBR_FULL", "YBR_FULL_422")
_INFO_FIELDS = frozenset(f.name for f in fields(FrameInfo)) - {"transfer_syntax_uid"}
_FLOAT_BITS = {"FloatPixelData": 32, "DoubleFloatPixelData": 64}
_INSTEAD = "display=True for an 8-bit display image, or use frame.array"
_COLUMNS, _PHOTOMETRIC, _STORED, _REPRESENTATION = 0x00280011, 0x00280004, 0x00280101, 0x00280103
# PS3.3 C.7.6.3.1.2: the samples per pixel of each Photometric Interpretation
_SAMPLES_OF = {"MONOCHROME1": 1, "MONOCHROME2": 1, "PALETTE COLOR": 1, "RGB": 3, "HSV": 3}
_SAMPLES_OF |= {"YBR_FULL": 3, "YBR_FULL_422": 3, "YBR_PARTIAL_422": 3, "YBR_PARTIAL_420": 3}
_SAMPLES_OF |= {"YBR_ICT": 3, "YBR_RCT": 3, "ARGB": 4, "CMYK": 4}
_DISPLAYED = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422")  # what render_color takes
# Pillow mode -> (dtype of its values, Photometric Interpretation)
_GRAY = {"1": "bool", "L": "u1", "I;16": "<u2", "I;16L": "<u2", "I;16B": "<u2", "I": "<i4"}
_FROM_MODE = {m: (d, "MONOCHROME2") for m, d in _GRAY.items()}
_FROM_MODE.update(F=("<f4", "MONOCHROME2"), RGB=("u1", "RGB"), YCbCr=("u1", "YBR_FULL"))


def get_image(  # noqa: PLR0913 - the options are keyword-only
    frame: NativeFrame | EncapsulatedFrame | Dataset,
    /,
    *,
    dataset: Dataset | None = None,
    frame_index: int | None = None,
    display: bool = False,
    modality_lut: bool | None = None,
    voi: int | None = None,
    window: tuple[float, float] | None = None,
    voi_function: str | None = None,
    palette: bool = True,
    allow_precision_loss: bool = False,
    overlays: bool = False,
    codecs: CodecManager | None = None,
    **decode_options: Any,
) -> Image.Image:
    """One frame as a Pillow image: its values kept, or rendered for display.

    Parameters
    ----------
    frame
        A NativeFrame, an EncapsulatedFrame (decoded through ``codecs``) or a Dataset
        (its frame ``frame_index``, default 0).
    dataset
        The frame's dataset, for the Modality LUT, VOI and palette (a Dataset frame's own);
        an enhanced multi-frame dataset's per-frame functional groups come first.
    display
        Render an 8-bit "L" or "RGB" image; implied by the four options below.
    modality_lut
        Apply the Modality LUT Sequence, else Rescale Slope/Intercept (PS3.3 C.11.1);
        None: when rendering with a dataset (without one, a window sees stored values).
    voi
        The dataset's VOI: VOI LUT Sequence item ``voi`` when there is a sequence (as
        pydicom prefers), else Window Center/Width pair ``voi``. Rendering without
        ``voi`` and ``window`` uses VOI 0, or the frame's min..max when there is none.
    window
        ``(center, width)`` in Modality LUT output units; wins over ``voi``.
    voi_function
        LINEAR, LINEAR_EXACT or SIGMOID (PS3.3 C.11.2.1); default the dataset's, else LINEAR.
    palette
        Apply a PALETTE COLOR frame's palette (8-bit RGB); False keeps the indices.
    allow_precision_loss
        Let float64 values that float32 cannot hold exactly become an "F" image.
    overlays
        Burn in the dataset's overlays that belong to this frame (Image Frame
        Origin), as white: 255 when rendered; on the kept values, the largest
        value Bits Stored holds (the smallest for MONOCHROME1). Needs the dataset.
    codecs
        The codec registry for an encapsulated frame; the default manager when None.
    **decode_options
        ``codec=``, ``prefer=``, ``block=`` and codec options (encapsulated frames only).

    Raises
    ------
    ImageModeError
        When no Pillow mode holds the values (the message says what to pass instead),
        or a rendering option does not apply to the frame's colour model.
    InvalidDicomError
        For attributes the file gets wrong, naming the tag: a Window Width or VOI
        LUT Function that cannot be used, missing or bad LUTs, Samples per Pixel
        that contradicts Photometric Interpretation, colour samples no conversion
        takes. Both are ValueErrors too.
    ValueError
        For options that need a dataset (or a window) the call does not give.
    """
    number = _frame_number(frame, frame_index)
    native, ds = _native(frame, dataset, frame_index, codecs, decode_options)
    image, kept = _made_image(
        native, ds, display, modality_lut, (voi, window, voi_function), palette,
        allow_precision_loss, number,
    )  # fmt: skip
    if overlays:
        from dicomframe.overlay_burn import burn_overlays

        ds = _require(ds, "overlays=True")
        if number is None and ds.pixel_data.info.number_of_frames != 1:
            message = "overlays=True needs the frame's number: pass the Dataset and "
            raise ValueError(message + "frame_index=, or a frame taken from ds.pixel_data")
        burn_overlays(image, ds, number or 0, native.info, kept=kept)
    return image


def _made_image(  # noqa: PLR0913, PLR0917 - get_image's options, passed on
    native: NativeFrame,
    ds: Dataset | None,
    display: bool,
    modality_lut: bool | None,
    voi_options: tuple[int | None, tuple[float, float] | None, str | None],
    palette: bool,
    allow_precision_loss: bool,
    number: int | None,
) -> tuple[Image.Image, bool]:
    """The image, and whether it holds the frame's values as stored (no rendering)."""
    info = native.info
    _check_pixel_pairs(info)
    adjusted = bool(modality_lut) or voi_options != (None, None, None)
    if info.photometric_interpretation == "PALETTE COLOR" and palette:
        return _palette_image(native, ds, adjusted=adjusted), False
    if not (display or adjusted):
        values, mode = _kept_values(native.array, info, allow_precision_loss)
        image = _image(values, mode)
        image.info[INFO_KEY] = info
        return image, True
    _check_samples(info)
    if info.samples_per_pixel == 1:
        return _gray_image(native, ds, modality_lut, voi_options, number), False
    if adjusted:
        message = "the Modality LUT and VOI apply to MONOCHROME1/2 frames, not "
        raise ImageModeError(message + info.photometric_interpretation, info=info)
    return _colour_image(native), False


def _frame_number(
    frame: NativeFrame | EncapsulatedFrame | Dataset, index: int | None
) -> int | None:
    """The frame's number in its dataset (for overlays), or None when a lone frame has none."""
    if not isinstance(frame, Dataset):
        return getattr(frame, "index", None)
    if index is None:
        return 0
    return index % len(frame.pixel_data) if index < 0 else index


def _native(
    frame: NativeFrame | EncapsulatedFrame | Dataset,
    dataset: Dataset | None,
    index: int | None,
    codecs: CodecManager | None,
    options: dict[str, Any],
) -> tuple[NativeFrame, Dataset | None]:
    """The decoded frame, and the dataset its attributes come from."""
    if isinstance(frame, Dataset):
        if dataset is not None:
            raise TypeError("pass a Dataset as the frame or as dataset=, not both")
        dataset, frame = frame, frame.pixel_data[0 if index is None else index]
    elif not isinstance(frame, NativeFrame | EncapsulatedFrame):
        raise TypeError(f"get_image() takes a frame or a Dataset, not {type(frame).__name__}")
    elif index is not None:
        raise TypeError("frame_index= selects a frame of a Dataset; a frame was given")
    if isinstance(frame, EncapsulatedFrame):
        return frame.decode(codecs=codecs, **options), dataset
    if options:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(sorted(options))}")
    return frame, dataset


def _require(ds: Dataset | None, what: str) -> Dataset:
    if ds is None:
        raise ValueError(f"{what} needs the dataset: pass dataset= or the Dataset itself")
    return ds


def _image(values: Array, mode: str | None = None) -> Image.Image:
    try:
        from PIL import Image
    except ImportError as exc:  # Pillow is optional (the `all` extra)
        raise ImportError("dicomframe images need Pillow: pip install pillow") from exc
    array = np.ascontiguousarray(values)
    if mode == "YCbCr":  # fromarray reads 3 x uint8 as RGB
        return Image.frombytes(mode, (array.shape[1], array.shape[0]), array.tobytes())
    # The dtype gives the mode ("1" given as a mode would read the bools as packed bits).
    return Image.fromarray(array)


# -- values kept ---------------------------------------------------------------------------
def _kept_mode(info: FrameInfo) -> str:
    """The Pillow mode that holds the frame's values, from its FrameInfo alone."""
    pi, dtype, samples = info.photometric_interpretation, info.dtype, info.samples_per_pixel
    if samples != 1:
        if dtype != np.uint8 or samples != 3 or pi not in ("RGB", *_YCBCR):
            message = f"Pillow has no mode for {samples} samples of {dtype} ({pi}); pass "
            raise ImageModeError(message + _INSTEAD, info=info)
        return "RGB" if pi == "RGB" else "YCbCr"
    if info.bits_allocated == 1:
        return "1"
    return "F" if dtype.kind == "f" else {"u1": "L", "u2": "I;16"}.get(dtype.str[1:], "I")


def _kept_values(array: Array, info: FrameInfo, allow_loss: bool) -> tuple[Array, str]:
    mode = _kept_mode(info)
    if mode == "1":
        return array.astype(bool), mode
    if mode == "F":
        single = array.astype(np.float32)
        if not (allow_loss or np.array_equal(single, array, equal_nan=True)):
            message = "float64 values do not all survive Pillow's float32 mode 'F'; pass "
            raise ImageModeError(f"{message}allow_precision_loss=True, {_INSTEAD}", info=info)
        return single, mode
    if mode != "I":
        return array, mode
    low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
    if low < -(2**31) or high > 2**31 - 1:
        message = f"{array.dtype} values {low}..{high} do not fit Pillow's int32 mode 'I'; pass "
        raise ImageModeError(message + _INSTEAD, info=info)
    return array.astype(np.int32), mode


# -- rendering -------------------------------------------------------------------------------
def _check_pixel_pairs(info: FrameInfo) -> None:
    """Refuse YBR_*_422 data with an odd number of pixels: it is stored in pixel pairs."""
    if info.is_subsampled and (info.rows * info.columns) % 2:
        raise InvalidDicomError(
            f"{info.photometric_interpretation} stores pixels in pairs (PS3.3 C.7.6.3.1.2); "
            f"{info.rows} Rows x {info.columns} Columns is odd",
            tag=_COLUMNS,
        )


def _check_samples(info: FrameInfo) -> None:
    """Refuse a Photometric Interpretation that contradicts Samples per Pixel (PS3.3 C.7.6.3.1)."""
    pi, samples = info.photometric_interpretation, info.samples_per_pixel
    needed = _SAMPLES_OF.get(pi)
    if needed is not None and samples != needed:
        raise InvalidDicomError(
            f"Photometric Interpretation {pi} has {needed} sample(s) per pixel; "
            f"Samples per Pixel (0028,0002) is {samples}",
            tag=_PHOTOMETRIC,
        )


def _palette_image(native: NativeFrame, ds: Dataset | None, *, adjusted: bool) -> Image.Image:
    """PALETTE COLOR through its palette: 8-bit RGB (what display shows of it)."""
    info = native.info
    if adjusted:
        message = "a PALETTE COLOR frame has no Modality LUT or VOI; pass palette=False"
        raise ImageModeError(message, info=info)
    _check_samples(info)
    luts = rendering.read_palette(
        _require(ds, "the palette"), signed=info.pixel_representation == 1
    )
    return _image(rendering.render_palette(native.array, *luts), "RGB")


def _gray_image(
    native: NativeFrame,
    ds: Dataset | None,
    modality_lut: bool | None,
    options: tuple[int | None, tuple[float, float] | None, str | None],
    number: int | None,
) -> Image.Image:
    """Modality LUT, VOI and MONOCHROME1 inversion: an 8-bit "L" image (frame ``number``'s)."""
    info = native.info
    if modality_lut and ds is None:
        raise ValueError("modality_lut=True needs the dataset: pass dataset= or the Dataset")
    values = native.array.astype(np.float64)
    if ds is not None and modality_lut is not False:
        rescale = rendering.frame_source(ds, number, rendering.PIXEL_VALUE_TRANSFORMATION)
        values = rendering.read_modality(rescale, values, signed=info.pixel_representation == 1)
    voi = None if ds is None else rendering.frame_source(ds, number, rendering.FRAME_VOI_LUT)
    return _image(_render_gray(values, voi, info, options))


def _colour_image(native: NativeFrame) -> Image.Image:
    """RGB or YBR samples as 8-bit RGB; refuses what no conversion takes, naming the tag."""
    info = native.info
    pi = info.photometric_interpretation
    if info.samples_per_pixel != 3 or info.dtype.kind == "f":
        raise ImageModeError(f"cannot display {pi} {info.dtype} data; use frame.array", info=info)
    if pi not in _DISPLAYED:
        raise InvalidDicomError(
            f"cannot display {pi} samples: Photometric Interpretation is none of "
            f"{', '.join(_DISPLAYED)}",
            tag=_PHOTOMETRIC,
        )
    if pi != "RGB":
        _check_ybr(info)
    return _image(rendering.render_color(native.array, pi, info.bits_stored), "RGB")


def _check_ybr(info: FrameInfo) -> None:
    """YBR converts from unsigned 8- or 16-bit samples of at least 2 (8 for PARTIAL) bits."""
    pi = info.photometric_interpretation
    if info.pixel_representation:
        raise InvalidDicomError(
            f"{pi} samples are unsigned; Pixel Representation is 1", tag=_REPRESENTATION
        )
    if info.dtype.itemsize > 2:
        raise ImageModeError(
            f"cannot convert {info.dtype} {pi} samples; use frame.array", info=info
        )
    lowest = 8 if "PARTIAL" in pi else 2
    if info.bits_stored < lowest:
        raise InvalidDicomError(
            f"{pi} needs at least {lowest} bits a sample; Bits Stored is {info.bits_stored}",
            tag=_STORED,
        )


def _render_gray(
    values: Array,
    ds: Dataset | None,
    info: FrameInfo,
    options: tuple[int | None, tuple[float, float] | None, str | None],
) -> Array:
    """The VOI the options and dataset ask for, then 8-bit display values (PS3.4 N.2.1.1).

    A window from the call meets the file's VOI LUT Function (unless ``voi_function=``
    is given); a window from the file is checked against the function it is used with.
    """
    voi, window, function = options
    chosen: rendering.LUT | tuple[float, float, str] | None = None
    if window is not None:
        name = function or (rendering.read_voi_function(ds) if ds is not None else "LINEAR")
        chosen = (float(window[0]), float(window[1]), name)
    elif ds is not None or voi is not None:
        signed = info.pixel_representation == 1
        ds = _require(ds, "voi=")
        chosen = rendering.read_voi(ds, voi or 0, signed=signed, function=function)
    if function is not None and not isinstance(chosen, tuple):
        raise ValueError("voi_function= needs a window: pass window=, or a dataset with one")
    invert = info.photometric_interpretation == "MONOCHROME1"
    return rendering.render_gray(values, chosen, invert=invert)


# -- to_frame ---------------------------------------------------------------------------------
def to_frame(
    image_or_array: Image.Image | Array | NativeFrame | EncapsulatedFrame,
    transfer_syntax: str | TransferSyntax,
    /,
    *,
    codecs: CodecManager | None = None,
    **info_and_options: Any,
) -> NativeFrame | EncapsulatedFrame:
    """A frame from a Pillow image, a numpy array or a frame: the inverse of get_image.

    Parameters
    ----------
    image_or_array
        A Pillow image (modes 1, L, I;16, I, F, RGB, YCbCr); an array ``(rows, columns)``
        or ``(rows, columns, 1 or 3)`` whose dtype gives Bits Allocated and Pixel
        Representation (bool: 1 bit; float32: Float, float64: Double Float Pixel Data);
        or a frame to re-encode. For many, :func:`to_frames`.
    transfer_syntax
        UID or keyword. Native: a NativeFrame whose FrameInfo records the syntax (the data
        stays in native order). Encapsulated: an EncapsulatedFrame encoded through ``codecs``.
    codecs
        The codec registry; the default manager when None.
    **info_and_options
        FrameInfo fields (``bits_stored=12``, ``photometric_interpretation="MONOCHROME1"``,
        ``planar_configuration=1``...): the values are converted to the dtype they call
        for and must fit Bits Stored; Bits Allocated alone implies integer Pixel Data, and
        High Bit follows Bits Stored. Other keywords go to the encoder (``codec=``...).

    Raises
    ------
    ImageModeError
        For an image mode, array shape or dtype with no DICOM equivalent.
    ValueError
        For values that do not fit the FrameInfo, or contradictory attributes.
    """
    syntax = resolve(transfer_syntax)
    overrides, options = _split_info(info_and_options)
    frame = _native_frame(image_or_array, overrides, codecs)
    if syntax.is_encapsulated:
        from dicomframe.plugins.manager import default_manager

        return (codecs or default_manager()).encode(frame, syntax, **options)
    if options:  # neither FrameInfo fields nor options for an encoder
        raise TypeError(f"unexpected keyword argument(s) {', '.join(sorted(options))}")
    return NativeFrame(frame.data, frame.info.replace(transfer_syntax_uid=syntax.uid))


def _split_info(info_and_options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The FrameInfo fields among the keywords, and the rest (options for the encoder)."""
    overrides = {k: v for k, v in info_and_options.items() if k in _INFO_FIELDS}
    return overrides, {k: v for k, v in info_and_options.items() if k not in _INFO_FIELDS}


def _native_frame(
    obj: Image.Image | Array | NativeFrame | EncapsulatedFrame,
    overrides: dict[str, Any],
    codecs: CodecManager | None,
) -> NativeFrame:
    """The frame ``obj`` holds, with the FrameInfo its values and ``overrides`` give."""
    if isinstance(obj, EncapsulatedFrame):
        obj = obj.decode(codecs=codecs)
    array, base = _source(obj)
    info = _frame_info(array, base, overrides)
    return NativeFrame(_flat(array, info), info)


def to_frames(
    sources: Sequence[Image.Image | Array | NativeFrame | EncapsulatedFrame],
    transfer_syntax: str | TransferSyntax,
    /,
    *,
    codecs: CodecManager | None = None,
    **info_and_options: Any,
) -> list[NativeFrame | EncapsulatedFrame]:
    """:func:`to_frame` for many: the frames, in order, decoded and encoded on every core.

    Each source is what :func:`to_frame` takes, and the keywords are its
    own (the FrameInfo fields apply to every frame), plus ``workers=``,
    ``parallel=`` and ``report=`` as for decoding (:mod:`dicomframe.parallel`).
    An encapsulated frame given without FrameInfo fields goes to the workers
    as it is, to be decoded there (:mod:`dicomframe.converting`); the others
    are made native here (a view or a copy) and encoded there.

    Raises
    ------
    ImageModeError
        For an image mode, array shape or dtype with no DICOM equivalent.
    ValueError
        For values that do not fit the FrameInfo, or contradictory attributes.
    """
    from dicomframe.converting import Plan, convert_frames

    syntax = resolve(transfer_syntax)
    overrides, options = _split_info(info_and_options)
    running = {k: options.pop(k) for k in ("workers", "parallel", "report") if k in options}
    if options and not syntax.is_encapsulated:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(sorted(options))}")
    frames: list[NativeFrame | EncapsulatedFrame] = []
    for index, obj in enumerate(sources):
        if isinstance(obj, EncapsulatedFrame) and not overrides:
            frames.append(obj)
            continue
        native = _native_frame(obj, overrides, codecs)
        native.index = index
        frames.append(native)
    converted = convert_frames(frames, Plan(syntax, options=options), codecs=codecs, **running)
    if syntax.is_encapsulated:
        return [c.frame for c in converted]
    return [
        NativeFrame(c.frame.data, c.frame.info.replace(transfer_syntax_uid=syntax.uid))
        for c in converted
        if isinstance(c.frame, NativeFrame)
    ]


def _source(obj: Image.Image | Array | NativeFrame) -> tuple[Array, dict[str, Any]]:
    """The values as ``(rows, columns[, samples])`` and the FrameInfo fields they imply."""
    if isinstance(obj, np.ndarray):
        return obj, _from_dtype(obj)
    if isinstance(obj, NativeFrame):
        return obj.array, _fields_of(obj.info)
    known = _FROM_MODE.get(obj.mode)
    if known is None:
        raise ImageModeError(
            f"no DICOM frame for Pillow mode {obj.mode!r}; convert the image to one of "
            f"{', '.join(_FROM_MODE)} (e.g. image.convert('RGB'))",
            mode=obj.mode,
        )
    array = np.asarray(obj).astype(known[0])
    base = dict(_from_dtype(array), photometric_interpretation=known[1])
    stashed = obj.info.get(INFO_KEY)  # used while the image keeps get_image's size and mode
    if isinstance(stashed, FrameInfo) and (*obj.size, obj.mode) == (
        stashed.columns,
        stashed.rows,
        _kept_mode(stashed),
    ):
        base.update(_fields_of(stashed), number_of_frames=1)
    return array, base


def _fields_of(info: FrameInfo) -> dict[str, Any]:
    """A FrameInfo's fields but the syntax; subsampled YBR is expanded in ``.array``."""
    base = {f: getattr(info, f) for f in _INFO_FIELDS}
    if info.is_subsampled:
        base["photometric_interpretation"] = "YBR_FULL"
    return base


def _from_dtype(array: Array) -> dict[str, Any]:
    dtype, kind = array.dtype, array.dtype.kind
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3)):
        raise ImageModeError(f"an array of shape {array.shape} is not (rows, columns[, 1 or 3])")
    if not (kind == "b" or (kind in "ui" and dtype.itemsize in (1, 2, 4, 8))) and not (
        kind == "f" and dtype.itemsize in (4, 8)
    ):
        raise ImageModeError(f"no DICOM pixel type for numpy dtype {dtype}")
    bits, samples = (
        1 if kind == "b" else dtype.itemsize * 8,
        1 if array.ndim == 2 else array.shape[2],
    )
    keyword = {32: "FloatPixelData", 64: "DoubleFloatPixelData"}[bits] if kind == "f" else None
    return {"rows": array.shape[0], "columns": array.shape[1], "samples_per_pixel": samples,
            "photometric_interpretation": "MONOCHROME2" if samples == 1 else "RGB",
            "pixel_representation": int(kind == "i"), "pixel_keyword": keyword or "PixelData",
            "bits_allocated": bits, "bits_stored": bits, "high_bit": bits - 1}  # fmt: skip


def _frame_info(array: Array, base: dict[str, Any], overrides: dict[str, Any]) -> FrameInfo:
    values = {**base, **overrides}
    keyword = overrides.get("pixel_keyword")
    if keyword in _FLOAT_BITS and "bits_allocated" not in overrides:
        values.update(bits_allocated=_FLOAT_BITS[keyword], pixel_representation=0)
    elif keyword is None and "bits_allocated" in overrides:
        values["pixel_keyword"] = "PixelData"  # Bits Allocated alone asks for integer data
    if {"bits_allocated", "pixel_keyword"} & overrides.keys() and "bits_stored" not in overrides:
        values["bits_stored"] = values["bits_allocated"]
    if "high_bit" not in overrides and values["bits_stored"] != base.get("bits_stored"):
        values["high_bit"] = values["bits_stored"] - 1
    info = FrameInfo(**values)
    samples, pi = 1 if array.ndim == 2 else array.shape[2], info.photometric_interpretation
    if info.samples_per_pixel != samples or (info.rows, info.columns) != array.shape[:2]:
        raise ValueError(
            f"the data is {array.shape[0]}x{array.shape[1]} with {samples} samples; the "
            f"FrameInfo says {info.rows}x{info.columns} with {info.samples_per_pixel}"
        )
    if info.is_subsampled or samples != (
        1 if pi in ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR") else 3
    ):
        raise ValueError(f"cannot make a {pi} frame from {samples}-sample data (YBR_*_422 "
                         "comes from codecs: use YBR_FULL)")  # fmt: skip
    return info


def _flat(array: Array, info: FrameInfo) -> Array:
    """The values as ONE flat array of ``info.dtype``, checked against Bits Stored."""
    if info.dtype.kind in "ui" and array.size:
        if array.dtype.kind == "f" and not np.array_equal(array, np.round(array)):
            raise ValueError(f"{info.dtype} pixel data needs whole numbers, not {array.dtype}")
        bits, signed = info.bits_stored, info.pixel_representation == 1
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        found = (array.min().item(), array.max().item())
        if found[0] < low or found[1] > high:
            raise ValueError(f"values {found[0]}..{found[1]} do not fit Bits Stored {bits} "
                             f"{'signed' if signed else 'unsigned'} ({low}..{high})")  # fmt: skip
    if array.ndim == 3 and info.planar_configuration == 1:
        array = array.transpose(2, 0, 1)
    return np.array(array, dtype=info.dtype, order="C").reshape(-1)
