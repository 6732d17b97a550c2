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
- the frames are decoded, encoded and verified on every core, each frame's
  verification right after its encoding on the same worker
  (:mod:`dicomframe.converting`); ``workers=``, ``parallel=`` and
  ``report=`` are those of :func:`dicomframe.parallel.decode_frames`;
- ``decoder=`` and ``encoder=`` name the codecs to use (``codec=`` is the
  encoder, as it always was); otherwise the registry chooses.
"""

from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING, Any

from dicomframe.converting import (
    Converted,
    Plan,
    convert_frames,
    encodable,
    frames_match,
    verify_frame,
)
from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement
from dicomframe.core.frame import EncapsulatedFrame
from dicomframe.core.frame_info import PIXEL_KEYWORDS
from dicomframe.core.record import Record, record
from dicomframe.core.set_pixels import set_pixel_data
from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian, TransferSyntax, resolve
from dicomframe.core.vr import VR
from dicomframe.errors import DicomWarning, EncodingError

if TYPE_CHECKING:
    from dicomframe.plugins.manager import CodecManager

__all__ = [
    "LOSSY_METHODS",
    "PIXEL_RANGE",
    "Choice",
    "check_lossy",
    "encodable",
    "frames_match",
    "keep_lossy_mark",
    "mark_lossy",
    "take_running",
    "transcode",
    "verify_frame",
    "was_lossy",
]

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


@record
class Choice(Record):
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

    def plan(
        self, target: TransferSyntax, *, verify: bool, outcome: str, options: dict[str, Any]
    ) -> Plan:
        """What each frame goes through: these codecs, ``verify``, the encoder's ``options``."""
        return Plan(target, self.decoder, self.encoder, verify, outcome, options)

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
        Passed to the encoder (``quality=``, ``level=`` ...), but ``workers=``,
        ``parallel=`` and ``report=``: how many frames are converted at once,
        how, and what ran (:mod:`dicomframe.converting`).
    """
    target = resolve(transfer_syntax)
    running = take_running(encode_options)
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
    if verify is None:
        verify = not target.is_lossy
    plan = choice.plan(target, verify=verify, outcome="nothing was changed", options=encode_options)
    converted = convert_frames(pixels, plan, codecs=codecs, **running)
    frames: list[Any] = [c.frame for c in converted]  # all native, or all encapsulated
    reencoded = any(c.encoder is not None for c in converted)
    set_pixel_data(result, frames, target, codecs=codecs, offset_table=offset_table)
    if target.is_lossy and reencoded:
        mark_lossy(result, target, _compressed_ratio(converted), keep_uid=keep_uid)
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


def take_running(options: dict[str, Any]) -> dict[str, Any]:
    """Take ``workers=``, ``parallel=`` and ``report=`` out of ``options`` (not the encoder's)."""
    return {k: options.pop(k) for k in ("workers", "parallel", "report") if k in options}


def _compressed_ratio(converted: list[Converted]) -> float:
    native = sum(c.native_bytes for c in converted if c.encoder is not None)
    compressed = sum(
        len(c.frame) for c in converted if isinstance(c.frame, EncapsulatedFrame) and c.encoder
    )
    return native / compressed if compressed else 0.0


def _second_generation(target: TransferSyntax, *, allow: bool) -> None:
    message = f"the source was already lossy compressed; {target.keyword} compresses it again"
    if not allow:
        raise EncodingError(
            message + " (allow_second_generation_lossy=False)", tag=LOSSY_COMPRESSION
        )
    warnings.warn(message, DicomWarning, stacklevel=4)


def mark_lossy(result: Dataset, target: TransferSyntax, ratio: float, *, keep_uid: bool) -> None:
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
