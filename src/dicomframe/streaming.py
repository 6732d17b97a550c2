"""Transcode a file frame by frame: ``transcode_file(src, dst, syntax)``.

The source is read lazily (its Pixel Data stays in the mapped file). Frames
are decoded, encoded and verified on every core (:mod:`dicomframe.converting`:
threads, or forked processes that read the mapped file themselves) and
written in order as they come, with only a few frames per worker handed out
ahead of the one being written, so a file larger than memory transcodes in
the memory of a few frames. The header is
written first with room kept for what is only known at the end (the Basic
or Extended Offset Table, the Lossy Image Compression Ratio), which is filled
in before the temporary file is renamed over the destination. The
bookkeeping is the same as :func:`dicomframe.transcode`'s.

URLs (``s3://...``, ``https://...``): a source URL is downloaded whole to
a temporary file first (every frame is needed, and one transfer costs less
than a request per frame); a destination URL is written to a temporary file
and uploaded in one step once the transcode succeeded, so a failed one
uploads nothing (:mod:`dicomframe.core.remote_write`).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import numpy as np

from dicomframe.converting import Converted, iter_converted
from dicomframe.core.dataset import Dataset
from dicomframe.core.element import DataElement
from dicomframe.core.encoder import EncodeContext, encode_dataset
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import PIXEL_KEYWORDS
from dicomframe.core.reader import read
from dicomframe.core.remote import is_remote
from dicomframe.core.remote import target as remote_target
from dicomframe.core.remote_write import local_copy, uploading
from dicomframe.core.set_pixels import describe_pixels, frame_bytes, set_syntax
from dicomframe.core.transfer_syntax import ExplicitVRLittleEndian, TransferSyntax, resolve
from dicomframe.core.vr import VR
from dicomframe.core.writer import atomic_file, build_meta, encode_file
from dicomframe.errors import EncodingError
from dicomframe.transcoding import (
    LOSSY_RATIO,
    PIXEL_RANGE,
    Choice,
    _copy_without_pixels,
    check_lossy,
    keep_lossy_mark,
    mark_lossy,
    take_running,
    transcode,
)

if TYPE_CHECKING:
    from dicomframe.plugins.manager import CodecManager

__all__ = ["transcode_file"]

_ITEM = b"\xfe\xff\x00\xe0"
_RATIO_MARK = "7.77777777777777"  # 16 characters, overwritten with the real ratio at the end


class _Job:
    """One streaming transcode: the header to write, and the frames converted, in order."""

    __slots__ = ("first", "header", "pixels", "rest", "settings", "target")

    def __init__(
        self,
        header: Dataset,
        target: TransferSyntax,
        pixels: Any,
        first: Converted,
        rest: Generator[Converted, None, None],
        settings: dict[str, Any],
    ) -> None:
        self.header = header
        self.target = target
        self.pixels = pixels
        self.first = first
        self.rest = rest
        self.settings = settings

    def converted(self) -> Iterator[tuple[int, Converted]]:
        """Each frame in the target syntax, with its index, as the workers finish them."""
        yield 0, self.first
        yield from enumerate(self.rest, start=1)

    def written(self, index: int) -> None:
        """Frame ``index`` is in the file: drop its source pages (a native frame is a view)."""
        self.pixels.release(index)


class _Progress:
    """What the streaming writer has to fill in once every frame is written."""

    __slots__ = ("encoded_bytes", "lengths", "native_bytes", "offsets")

    def __init__(
        self,
        offsets: list[int] | None = None,
        lengths: list[int] | None = None,
        native_bytes: int = 0,
        encoded_bytes: int = 0,
    ) -> None:
        self.offsets: list[int] = [] if offsets is None else offsets
        self.lengths: list[int] = [] if lengths is None else lengths
        self.native_bytes = native_bytes
        self.encoded_bytes = encoded_bytes


def transcode_file(  # noqa: PLR0913 - every option is keyword-only
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
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
    storage_options: Mapping[str, Any] | None = None,
    **encode_options: Any,
) -> None:
    """Transcode the file ``src`` into ``dst``, one frame at a time.

    Options are those of :func:`dicomframe.transcode`, ``decoder=`` and
    ``encoder=`` (or ``codec=``) included; verification decodes each frame
    with another codec than its encoder's whenever one can
    (:func:`dicomframe.converting.verify_frame`), right after its encoding.
    ``workers=``, ``parallel=`` and ``report=`` say how many frames are
    converted at once and how, and record what ran (:mod:`dicomframe.converting`).
    ``dst`` is written atomically and may not be ``src``. Either may be a
    URL fsspec opens, with ``storage_options`` (see the module).
    """
    if is_remote(src) or is_remote(dst):
        if is_remote(src) and is_remote(dst) and remote_target(src).name == remote_target(dst).name:
            raise EncodingError(f"will not overwrite the input {remote_target(src).name}")
        options = storage_options or {}
        remote_src = local_copy(src, options) if is_remote(src) else _as_is(src)
        remote_dst = uploading(dst, options) if is_remote(dst) else _as_is(dst)
        with remote_src as local_src, remote_dst as local_dst:
            transcode_file(
                local_src,
                local_dst,
                transfer_syntax,
                codecs=codecs,
                decoder=decoder,
                encoder=encoder,
                keep_uid=keep_uid,
                verify=verify,
                allow_second_generation_lossy=allow_second_generation_lossy,
                offset_table=offset_table,
                **encode_options,
            )
        return
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise EncodingError(f"will not overwrite the input {os.fspath(src)}: choose another output")
    if offset_table not in ("auto", "basic", "extended"):
        raise ValueError(f"offset_table must be auto, basic or extended, not {offset_table!r}")
    target = resolve(transfer_syntax)
    running = take_running(encode_options)
    choice = Choice.of(decoder, encoder, encode_options)
    choice.check(target)
    with read(src) as ds:
        if not any(t in ds for t in PIXEL_KEYWORDS) or not _streamable(ds, target):
            result = transcode(
                ds,
                target,
                codecs=codecs,
                decoder=choice.decoder,
                encoder=choice.encoder,
                keep_uid=keep_uid,
                verify=verify,
                allow_second_generation_lossy=allow_second_generation_lossy,
                offset_table=offset_table,
                **encode_options,
                **running,
            )
            with atomic_file(dst) as handle:
                for chunk in encode_file(result, target):
                    handle.write(chunk)
            return
        # "auto": 32-bit Basic Offset Table offsets may not reach past 4 GiB (PS3.5 A.4).
        native_size = ds.pixel_data.info.bytes_per_frame * len(ds.pixel_data)
        _stream(ds, dst, target, codecs, {
            "keep_uid": keep_uid,
            "verify": (not target.is_lossy) if verify is None else verify,
            "allow": allow_second_generation_lossy,
            "extended": offset_table == "extended"
            or (offset_table == "auto" and native_size > 0xFFFFFFFF),
            "options": encode_options,
            "choice": choice,
            "running": running,
        })  # fmt: skip


@contextmanager
def _as_is(path: str | os.PathLike[str]) -> Iterator[str | os.PathLike[str]]:
    yield path


def _streamable(ds: Dataset, target: TransferSyntax) -> bool:
    """Frame-by-frame writing covers the common cases; others go through memory."""
    info = ds.pixel_data.info
    source = ds.transfer_syntax or ExplicitVRLittleEndian
    return (
        not target.is_deflated
        and info.bits_allocated != 1
        and not (source.is_encapsulated and source.uid == target.uid)
        and (target.is_encapsulated or target.is_little_endian or info.bits_allocated > 8)
    )


def _stream(
    ds: Dataset,
    dst: str | os.PathLike[str],
    target: TransferSyntax,
    codecs: CodecManager | None,
    settings: dict[str, Any],
) -> None:
    from dicomframe.plugins.manager import default_manager

    manager = codecs or default_manager()
    pixels = ds.pixel_data
    count = len(pixels)
    source = ds.transfer_syntax or ExplicitVRLittleEndian
    lossy = target.is_lossy and target.is_encapsulated
    if lossy:
        check_lossy(ds, target, allow_second_generation_lossy=settings["allow"])
    choice: Choice = settings["choice"]
    plan = choice.plan(
        target,
        verify=settings["verify"],
        outcome="nothing was written",
        options=settings["options"],
    )
    frames = iter_converted(
        pixels, plan, codecs=manager, done=pixels.release, **settings["running"]
    )
    first = next(frames)
    header = _copy_without_pixels(ds)
    describe_pixels(header, first.frame.info, count)
    set_syntax(header, target)
    if lossy:
        for tag in PIXEL_RANGE:  # the pixel values change: their range no longer holds
            header.pop(tag, None)
        mark_lossy(header, target, 1.0, keep_uid=settings["keep_uid"])
        ratios = header[LOSSY_RATIO].value
        ratios[-1] = _RATIO_MARK
        header[LOSSY_RATIO].value = ratios
    else:
        keep_lossy_mark(header, source)
    job = _Job(header, target, pixels, first, frames, settings)
    try:
        with atomic_file(dst) as handle:
            if target.is_encapsulated:
                _write_encapsulated(handle, job)
            else:
                _write_native(handle, job)
    finally:
        frames.close()  # a failure midway: stop the workers


def _header_bytes(header: Dataset, target: TransferSyntax, extra: list[DataElement]) -> bytes:
    """Preamble, meta and every element before Pixel Data, encoded."""
    body = Dataset(e for e in header if e.tag < 0x7FE00000)
    for element in extra:
        body.add(element)
    body.meta = build_meta(header, target)
    body.preamble = header.preamble
    body.transfer_syntax = target
    return b"".join(bytes(c) for c in encode_file(body, target))


def _trailer_bytes(header: Dataset, target: TransferSyntax) -> bytes:
    """Elements after Pixel Data (digital signatures, padding), encoded."""
    after = Dataset(e for e in header if e.tag > 0x7FE00010 and e.tag not in PIXEL_KEYWORDS)
    if len(after) == 0:
        return b""
    ctx = EncodeContext(explicit_vr=target.is_explicit_vr, little_endian=target.is_little_endian)
    return b"".join(bytes(c) for c in encode_dataset(after, ctx))


def _patch_ratio(handle: BinaryIO, head: bytes, progress: _Progress) -> None:
    position = head.rfind(_RATIO_MARK.encode())
    if position < 0:
        return
    ratio = progress.native_bytes / progress.encoded_bytes if progress.encoded_bytes else 0.0
    handle.seek(position)
    handle.write(f"{ratio:.4g}".ljust(16).encode()[:16])


def _write_encapsulated(handle: BinaryIO, job: _Job) -> None:
    header, target, pixels = job.header, job.target, job.pixels
    count = len(pixels)
    extended = job.settings["extended"]
    extra = []
    if extended:  # room for the Extended Offset Table, filled in at the end
        extra = [DataElement(t, VR.OV, b"\0" * 8 * count) for t in (0x7FE00001, 0x7FE00002)]
    head = _header_bytes(header, target, extra)
    handle.write(head)
    handle.write(b"\xe0\x7f\x10\x00OB\0\0\xff\xff\xff\xff")  # Pixel Data, undefined length
    table_at = handle.tell() + 8
    table = b"" if extended else b"\0" * 4 * count
    handle.write(_ITEM + struct.pack("<L", len(table)) + table)
    handle.flush()  # before any worker is forked: a child must not inherit unwritten bytes
    base = handle.tell()
    progress = _Progress()
    for index, converted in job.converted():
        assert isinstance(converted.frame, EncapsulatedFrame)  # an encapsulated target
        data = converted.frame.data
        progress.offsets.append(handle.tell() - base)
        progress.lengths.append(len(data))
        progress.encoded_bytes += len(data)
        progress.native_bytes += converted.native_bytes
        handle.write(_ITEM + struct.pack("<L", len(data) + len(data) % 2))
        handle.write(data)
        if len(data) % 2:
            handle.write(b"\0")  # PS3.5 A.4: fragments have even length
        job.written(index)
    handle.write(b"\xfe\xff\xdd\xe0\0\0\0\0")
    handle.write(_trailer_bytes(header, target))
    end = handle.tell()
    if not extended and progress.offsets[-1] > 0xFFFFFFFF:
        raise EncodingError("pixel data passes 4 GiB: use offset_table='extended'")
    if extended:
        _patch_extended(handle, head, progress)
    else:
        handle.seek(table_at)
        handle.write(np.asarray(progress.offsets, dtype="<u4").tobytes())
    _patch_ratio(handle, head, progress)
    handle.seek(end)


def _patch_extended(handle: BinaryIO, head: bytes, progress: _Progress) -> None:
    size = 8 * len(progress.offsets)
    for tag, values in (
        (b"\xe0\x7f\x01\x00OV", progress.offsets),
        (b"\xe0\x7f\x02\x00OV", progress.lengths),
    ):
        position = head.rfind(tag) + 12
        handle.seek(position)
        handle.write(np.asarray(values, dtype="<u8").tobytes()[:size])


def _write_native(handle: BinaryIO, job: _Job) -> None:
    header, target, pixels = job.header, job.target, job.pixels
    info = job.first.frame.info
    count = len(pixels)
    tag = next(t for t, k in PIXEL_KEYWORDS.items() if k == info.pixel_keyword)
    vr = {"FloatPixelData": VR.OF, "DoubleFloatPixelData": VR.OD}.get(
        info.pixel_keyword, VR.OW if info.bits_allocated > 8 else VR.OB
    )
    length = info.bytes_per_frame * count
    handle.write(_header_bytes(header, target, []))
    order: Literal["<", ">"] = "<" if target.is_little_endian else ">"
    element = struct.pack(f"{order}HH", tag >> 16, tag & 0xFFFF)
    if target.is_explicit_vr:
        element += vr.value.encode() + b"\0\0"
    handle.write(element + struct.pack(f"{order}L", length + length % 2))
    handle.flush()  # before any worker is forked: a child must not inherit unwritten bytes
    for index, converted in job.converted():  # big endian: swapped in the VR's unit, as in memory
        frame = converted.frame
        assert isinstance(frame, NativeFrame)  # a native target: decoded, never encoded
        handle.write(frame_bytes(frame, vr, little_endian=target.is_little_endian))
        job.written(index)
    if length % 2:
        handle.write(b"\0")
    handle.write(_trailer_bytes(header, target))
