"""Transcode a dataset to another transfer syntax, with the bookkeeping done right.

``transcode(ds, syntax)`` returns a new dataset whose pixels are in
``syntax`` and whose attributes say so:

- the Image Pixel attributes, Photometric Interpretation and Planar
  Configuration follow what the codec produced (RGB <-> YBR_FULL_422 for JPEG
  Baseline, YBR_RCT/YBR_ICT for JPEG 2000 with the colour transform, RGB
  again when decoding to a native syntax), and the VR and transfer syntax
  follow the pixels (see :mod:`dicomframe.core.set_pixels`);
- a lossy target sets Lossy Image Compression (0028,2110) to "01" and appends
  to Lossy Image Compression Ratio (0028,2112) and Method (0028,2114), and
  gives the result a new SOP Instance UID (``keep_uid=True`` keeps it);
  transcoding data that was already lossy to a lossy syntax warns, or raises
  with ``allow_second_generation_lossy=False``;
- frames whose syntax does not change and were not edited are passed through
  byte for byte; other frames are decoded once and encoded once;
- ``verify`` (default: on for lossless targets) decodes every encoded frame
  and compares it with the source pixels; a difference is an error. The
  decoder is another codec than the one that encoded the frame whenever one
  can decode it, so that a codec never vouches for its own stream alone; the
  error names both, and the ``dicomframe.transcoding`` logger says at DEBUG
  level which decoder checked each frame;
- ``decoder=`` and ``encoder=`` name the codecs to use (``codec=`` is the
  encoder, as it always was); otherwise the registry chooses.
"""

from __future__ import annotations

import copy
import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import PIXEL_KEYWORDS
from dicomframe.core.set_pixels import set_pixel_data
from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian, TransferSyntax, resolve
from dicomframe.core.vr import VR
from dicomframe.errors import CodecError, DicomWarning, EncodingError

if TYPE_CHECKING:
    from dicomframe.core.pixel_data import PixelData
    from dicomframe.plugins.manager import CodecManager

__all__ = [
    "LOSSY_METHODS",
    "PIXEL_RANGE",
    "Choice",
    "check_lossy",
    "encodable",
    "frames_match",
    "keep_lossy_mark",
    "transcode",
    "verify_frame",
    "was_lossy",
]

_log = logging.getLogger(__name__)

_J = "1.2.840.10008.1.2.4."
# PS3.3 C.7.6.1.1.5.1: Lossy Image Compression Method defined terms, by syntax.
LOSSY_METHODS = {
    _J + "50": "ISO_10918_1",
    _J + "51": "ISO_10918_1",
    _J + "81": "ISO_14495_1",
    _J + "91": "ISO_15444_1",
    _J + "93": "ISO_15444_1",
    _J + "203": "ISO_15444_15",
    _J + "111": "ISO_18181_1",
    _J + "112": "ISO_18181_1",
    _J + "100": "ISO_13818_2",
    _J + "101": "ISO_13818_2",
    _J + "102": "ISO_14496_10",
    _J + "103": "ISO_14496_10",
    _J + "104": "ISO_14496_10",
    _J + "105": "ISO_14496_10",
    _J + "106": "ISO_14496_10",
    _J + "107": "ISO_23008_2",
    _J + "108": "ISO_23008_2",
}
LOSSY_COMPRESSION, LOSSY_RATIO, LOSSY_METHOD = 0x00282110, 0x00282112, 0x00282114
PIXEL_RANGE = (0x00280106, 0x00280107)  # Smallest / Largest Image Pixel Value


@dataclass(frozen=True, slots=True)
class Choice:
    """The codecs a transcode is asked to use; None leaves the choice to the registry."""

    decoder: str | None = None
    encoder: str | None = None

    @classmethod
    def of(cls, decoder: str | None, encoder: str | None, encode_options: dict[str, Any]) -> Choice:
        """The choice from ``decoder=``, ``encoder=`` and a ``codec=`` left in the options.

        ``codec=`` is the encoder, as before ``encoder=`` existed; it is taken
        out of ``encode_options``, which go to the encoder.
        """
        codec = encode_options.pop("codec", None)
        if codec is not None and encoder is not None and codec != encoder:
            raise ValueError(f"codec={codec!r} and encoder={encoder!r}: codec= is the encoder")
        return cls(decoder, encoder or codec)

    def check(self, target: TransferSyntax) -> None:
        """Refuse an encoder for a native target, which no codec encodes."""
        if self.encoder is not None and not target.is_encapsulated:
            raise ValueError(
                f"encoder {self.encoder!r}: {target.keyword} is native, no codec encodes it"
            )


def transcode(  # noqa: PLR0913 - every option is keyword-only
    ds: Dataset,
    transfer_syntax: str | TransferSyntax,
    /,
    *,
    codecs: CodecManager | None = None,
    decoder: str | None = None,
    encoder: str | None = None,
    keep_uid: bool = False,
    verify: bool | None = None,
    allow_second_generation_lossy: bool = True,
    offset_table: str = "auto",
    **encode_options: Any,
) -> Dataset:
    """Return a copy of ``ds`` with its pixels in ``transfer_syntax``.

    Parameters
    ----------
    ds
        The source dataset; it is not changed.
    transfer_syntax
        UID or keyword of the target.
    codecs
        The codec registry (the default manager when None).
    decoder, encoder
        The codec that decodes the source frames, and the one that encodes
        the result (as ``codec=`` does per call: no fallback to another);
        None lets the registry choose. ``codec=`` is accepted as the encoder.
    keep_uid
        Keep the SOP Instance UID even when the target is lossy.
    verify
        Decode the result and compare it with the source pixels; default on
        for lossless targets. A difference raises :class:`EncodingError`.
        The decoder is not the encoder's codec whenever another can decode
        the frame (:func:`verify_frame`).
    allow_second_generation_lossy
        When False, refuse to compress already lossy data lossily again.
    offset_table
        ``"auto"`` (Basic, Extended past 4 GiB), ``"basic"`` or ``"extended"``.
    **encode_options
        Passed to the encoder (``quality=``, ``level=`` ...).
    """
    target = resolve(transfer_syntax)
    if offset_table not in ("auto", "basic", "extended"):
        raise ValueError(f"offset_table must be auto, basic or extended, not {offset_table!r}")
    choice = Choice.of(decoder, encoder, encode_options)
    choice.check(target)
    source_syntax = ds.transfer_syntax or ExplicitVRLittleEndian
    result = _copy_without_pixels(ds)
    if not any(tag in ds for tag in PIXEL_KEYWORDS):
        _set_syntax_only(result, target)
        return result
    pixels = ds.pixel_data
    passed_through = pixels.is_encapsulated and source_syntax.uid == target.uid
    if target.is_lossy and not passed_through:  # refused before any frame is encoded
        check_lossy(ds, target, allow_second_generation_lossy=allow_second_generation_lossy)
    converted = _convert(pixels, source_syntax, target, codecs, choice, encode_options)
    frames, sources = converted.frames, converted.sources
    reencoded = any(name is not None for name in converted.encoders)
    if verify is None:
        verify = not target.is_lossy
    if verify and reencoded:
        _verify(converted, codecs)
    set_pixel_data(result, frames, target, codecs=codecs, offset_table=offset_table)
    if target.is_lossy and reencoded:
        _mark_lossy(result, target, _compressed_ratio(sources, frames), keep_uid=keep_uid)
        return result
    if not passed_through:
        keep_lossy_mark(result, source_syntax)
    for tag in PIXEL_RANGE:  # the values are unchanged, so their range still holds
        if tag in ds:
            result.add(copy.deepcopy(ds[tag]))
    return result


def check_lossy(
    ds: Dataset, target: TransferSyntax, *, allow_second_generation_lossy: bool
) -> None:
    """Refuse, or warn about, compressing the pixels of ``ds`` lossily in ``target``.

    Palette indices are refused: a changed index is another colour, not a
    nearby one. Data already lossy compressed warns, or is refused with
    ``allow_second_generation_lossy=False``.
    """
    if str(ds.get(0x00280004) or "").strip() == "PALETTE COLOR":
        raise EncodingError(
            f"PALETTE COLOR indices cannot be compressed lossily ({target.keyword}): "
            "a changed index is another colour; use a lossless syntax",
            tag=0x00280004,
        )
    if was_lossy(ds):
        _second_generation(target, allow=allow_second_generation_lossy)


def was_lossy(ds: Dataset) -> bool:
    """True when the pixels of ``ds`` have been lossy compressed (PS3.3 C.7.6.1.1.5)."""
    syntax = ds.transfer_syntax or ExplicitVRLittleEndian
    return str(ds.get(LOSSY_COMPRESSION) or "").strip() == "01" or syntax.is_lossy


def keep_lossy_mark(result: Dataset, source: TransferSyntax) -> None:
    """Pixels decoded from a lossy syntax stay marked lossy (PS3.3 C.7.6.1.1.5).

    Once "01", Lossy Image Compression is never reset; a source in a lossy
    syntax without the attribute gets it, as DCMTK's decoders do.
    """
    if source.is_lossy and not str(result.get(LOSSY_COMPRESSION) or "").strip():
        result.set(LOSSY_COMPRESSION, "01", VR.CS)


def _copy_without_pixels(ds: Dataset) -> Dataset:
    result = Dataset(
        copy.deepcopy(e)
        for e in ds
        if e.tag not in PIXEL_KEYWORDS and e.tag not in (0x7FE00001, 0x7FE00002)
    )
    result.meta = copy.deepcopy(ds.meta)
    result.preamble = ds.preamble
    result.transfer_syntax = ds.transfer_syntax
    return result


def _set_syntax_only(ds: Dataset, target: TransferSyntax) -> None:
    ds.transfer_syntax = target
    if ds.meta is not None:
        ds.meta.set(0x00020010, target.uid, VR.UI)


@dataclass
class _Converted:
    """Each frame in the target form, its native source (None: passed through) and encoder."""

    frames: list[Any]
    sources: list[NativeFrame | None]
    encoders: list[str | None]  # the codec that encoded each frame; None: not encoded


def _convert(
    pixels: PixelData,
    source: TransferSyntax,
    target: TransferSyntax,
    codecs: CodecManager | None,
    choice: Choice,
    options: dict[str, Any],
) -> _Converted:
    """Decode what must change, once; encode it, once, when the target is encapsulated."""
    from dicomframe.plugins.manager import default_manager

    manager = codecs or default_manager()
    out = _Converted([], [], [])
    decoded_by: str | None = None
    encoded_by: str | None = None
    for frame in pixels:
        if isinstance(frame, EncapsulatedFrame) and source.uid == target.uid:
            out.frames.append(frame)  # unchanged syntax, not edited: byte for byte
            out.sources.append(None)
            out.encoders.append(None)
            continue
        if isinstance(frame, EncapsulatedFrame):
            native, decoded_by = manager.decode_with(frame, codec=choice.decoder, sticky=decoded_by)
        else:
            native = frame
        result: NativeFrame | EncapsulatedFrame = native
        if target.is_encapsulated:
            result, encoded_by = manager.encode_with(
                encodable(native), target, codec=choice.encoder, sticky=encoded_by, **options
            )
        out.frames.append(result)
        out.sources.append(native)
        out.encoders.append(encoded_by if target.is_encapsulated else None)
    return out


def encodable(frame: NativeFrame) -> NativeFrame:
    """``frame`` in a layout encoders take: native YBR_FULL_422 becomes YBR_FULL.

    Native YBR_FULL_422 stores one chroma pair per two pixels (PS3.3
    C.7.6.3.1.2); giving each pixel its pair's chroma is exact, and lets a
    lossless encoder keep every value while a JPEG encoder subsamples again.
    """
    info = frame.info
    if info.photometric_interpretation != "YBR_FULL_422" or not info.is_subsampled:
        return frame
    full = NativeFrame(
        np.ascontiguousarray(frame.array).reshape(-1),
        info.replace(photometric_interpretation="YBR_FULL", planar_configuration=0),
    )
    full.index = frame.index
    return full


def frames_match(decoded: NativeFrame, source: NativeFrame) -> bool:
    """True when ``decoded`` holds exactly the pixels of ``source``.

    A decoder may give RGB for YBR_FULL data (the codec contract): the source
    is then compared in RGB, converted as the built-in decoders convert.
    """
    expected = source.array
    have = decoded.info.photometric_interpretation
    if have == "RGB" and source.info.photometric_interpretation in ("YBR_FULL", "YBR_FULL_422"):
        from dicomframe.color import ybr_to_rgb

        expected = ybr_to_rgb(expected, bits=source.info.bits_stored)
    return decoded.array.shape == expected.shape and bool(np.array_equal(decoded.array, expected))


def verify_frame(
    encoded: EncapsulatedFrame,
    source: NativeFrame,
    codecs: CodecManager | None,
    *,
    index: int | None,
    outcome: str,
    encoder: str | None = None,
) -> str:
    """Raise :class:`EncodingError` unless ``encoded`` decodes to exactly ``source``.

    ``encoder`` names the codec that encoded the frame: another decoder
    checks it whenever one can (``decode_with(avoid=encoder)``), since a
    codec's own decoder may share its encoder's mistake (a private byte
    order, a mislabelled colour model) and agree with it. Only when no other
    codec could even try does the encoder's own decoder check it. Returns the
    name of the decoder that did, also logged at DEBUG level.

    A stream that no codec can decode (a header that contradicts the frame,
    a backend that refuses it) fails verification as a wrong decode does,
    with the decoder's error chained: either way the encoder cannot be
    trusted with this frame. ``outcome`` ends the message ("nothing was
    changed", "nothing was written").
    """
    from dicomframe.plugins.manager import default_manager

    manager = codecs or default_manager()
    what = f"verification failed: frame {index} of {encoded.transfer_syntax.keyword}"
    by = f"encoded by {encoder!r}; " if encoder is not None else ""
    try:
        decoded, decoder = manager.decode_with(encoded, avoid=encoder)
    except CodecError as exc:
        raise EncodingError(
            f"{what} cannot be decoded: {str(exc).splitlines()[0]}; {by}{outcome}",
            tag=0x7FE00010,
        ) from exc
    if not frames_match(decoded, source):
        raise EncodingError(
            f"{what} does not decode to the source pixels: {by}decoded by {decoder!r}; {outcome}",
            tag=0x7FE00010,
        )
    _log.debug("frame %s encoded by %s: verified by decoding with %s", index, encoder, decoder)
    return decoder


def _verify(converted: _Converted, codecs: CodecManager | None) -> None:
    frames, sources, encoders = converted.frames, converted.sources, converted.encoders
    for index, (frame, source, encoder) in enumerate(zip(frames, sources, encoders, strict=True)):
        if source is None or encoder is None:
            continue
        verify_frame(
            frame, source, codecs, index=index, outcome="nothing was changed", encoder=encoder
        )


def _compressed_ratio(sources: list[NativeFrame | None], frames: list[Any]) -> float:
    native = sum(s.data.nbytes for s in sources if s is not None)
    compressed = sum(len(f) for f, s in zip(frames, sources, strict=True) if s is not None)
    return native / compressed if compressed else 0.0


def _second_generation(target: TransferSyntax, *, allow: bool) -> None:
    message = f"the source was already lossy compressed; {target.keyword} compresses it again"
    if not allow:
        raise EncodingError(
            message + " (allow_second_generation_lossy=False)", tag=LOSSY_COMPRESSION
        )
    warnings.warn(message, DicomWarning, stacklevel=4)


def _mark_lossy(result: Dataset, target: TransferSyntax, ratio: float, *, keep_uid: bool) -> None:
    """Set the lossy attributes (PS3.3 C.7.6.1.1.5) and, unless kept, a new SOP Instance UID."""
    ratios = _as_list(result.get(LOSSY_RATIO))
    methods = _as_list(result.get(LOSSY_METHOD))
    ratios.append(f"{ratio:.4g}"[:16])
    methods.append(LOSSY_METHODS.get(target.uid, target.keyword[:16].upper()))
    result.set(LOSSY_COMPRESSION, "01", VR.CS)
    result.add(DataElement(LOSSY_RATIO, VR.DS, [str(r) for r in ratios]))
    result.add(DataElement(LOSSY_METHOD, VR.CS, [str(m) for m in methods]))
    if not keep_uid:
        from dicomframe.core.uids import generate_uid

        uid = generate_uid()
        result.set(0x00080018, uid, VR.UI)
        if result.meta is not None:
            result.meta.set(0x00020003, uid, VR.UI)


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]
