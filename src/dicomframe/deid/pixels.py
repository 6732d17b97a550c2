"""Masking the pixels of a de-identified dataset, in the transfer syntax they came in.

Native pixels are edited in place in the new dataset (its frames copy on
first edit, the input is untouched). Encapsulated pixels are decoded, masked
and encoded again in the original syntax, so a lossless syntax stays lossless
and every pixel outside the masks keeps its value bit for bit. A lossy syntax
loses again: the result is marked as :func:`dicomframe.transcode` marks a
lossy encoding (Lossy Image Compression "01", the ratio and method appended).
The SOP Instance UID is the de-identified one already, so it is kept. A
lossless re-encoding is decoded again and compared with the masked frames (by
another codec than the encoder's where one can), as ``transcode`` verifies.
Smallest and Largest Image Pixel Value are removed: black may lie outside them.
"""

from __future__ import annotations

from collections.abc import Sequence

from dicomframe.core.dataset import Dataset
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian
from dicomframe.deid.masks import Rect, blacken
from dicomframe.plugins.manager import CodecManager
from dicomframe.transcoding import PIXEL_RANGE, keep_lossy_mark, mark_lossy, verify_frame

__all__ = ["apply_masks"]


def apply_masks(out: Dataset, rects: Sequence[Rect]) -> str:
    """Black out ``rects`` on every frame of ``out``; return a note for the report.

    Raises
    ------
    ValueError
        A rectangle outside the image (named), or a dataset without pixels.
    """
    if not rects:
        return ""
    columns, rows = int(out.get(0x00280011) or 0), int(out.get(0x00280010) or 0)
    for rect in rects:
        rect.check(columns, rows)
    if 0x7FE00010 not in out:
        raise ValueError("a mask was given but the dataset has no Pixel Data")
    syntax = out.transfer_syntax or ExplicitVRLittleEndian
    pixels = out.pixel_data
    count = len(pixels)
    for tag in PIXEL_RANGE:
        out.pop(tag, None)
    if not syntax.is_encapsulated:
        for index in range(count):
            frame = pixels[index]
            assert isinstance(frame, NativeFrame)
            blacken(frame, rects)
        return f"{_counted(len(rects), count)}, native"
    decoded: list[NativeFrame] = []
    compressed_before = 0
    for index in range(count):
        encoded = pixels[index]
        assert isinstance(encoded, EncapsulatedFrame)
        compressed_before += len(encoded)
        frame = encoded.decode(codecs=out.codecs)
        frame.make_writable()
        blacken(frame, rects)
        decoded.append(frame)
    native_bytes = sum(f.data.nbytes for f in decoded)
    out.set_pixel_data(decoded, syntax)
    if syntax.is_lossy:
        after = out.pixel_data
        compressed = sum(len(f) for f in after if isinstance(f, EncapsulatedFrame))
        mark_lossy(out, syntax, native_bytes / compressed if compressed else 0.0, keep_uid=True)
        return f"{_counted(len(rects), count)}, re-encoded lossy in {syntax.keyword}"
    registry = out.codecs if isinstance(out.codecs, CodecManager) else None
    for index, (frame, masked) in enumerate(zip(out.pixel_data, decoded, strict=True)):
        assert isinstance(frame, EncapsulatedFrame)
        verify_frame(frame, masked, registry, index=index, outcome="no file was written")
    keep_lossy_mark(out, syntax)
    return f"{_counted(len(rects), count)}, re-encoded in {syntax.keyword}"


def _counted(masks: int, frames: int) -> str:
    return f"{masks} mask{'s' * (masks != 1)} on {frames} frame{'s' * (frames != 1)}"
