"""Convert many frames to another transfer syntax on every core: decode, encode, verify.

:func:`iter_converted` (and :func:`convert_frames`, its list) is what
:func:`dicomframe.transcode`, :func:`dicomframe.transcode_file`,
``Dataset.set_pixel_data`` and :func:`dicomframe.to_frame` run on many
frames. Each frame makes its whole way on one worker: decoded when it is
encapsulated in another syntax, encoded when the target is encapsulated
and, when asked, verified right after its encoding (:func:`verify_frame`:
decoded by another codec than its encoder and compared with its source).
Verifying inside the same step, not in a pass over every frame afterwards,
keeps each core busy with it, with the source frame still at hand.

Frame 0 is converted first, in the calling thread, through the registry
(``decoder=``, ``encoder=``, ``prefer=``, fallback): it names the codec of
each step. The others are done as :mod:`dicomframe.parallel` does frames,
with every codec of the conversion counted (:func:`~dicomframe.parallel.choose_mode`):
threads when all of them release the GIL; forked processes when one holds
it (pylibjpeg-openjpeg verifying what imagecodecs encoded) and frame 1 took
1 ms or more (results come back through shared memory); else the calling
thread. Later frames go to those codecs by name. A forked worker uses them
alone: a frame they fail on comes back undone and is redone in this process
through the registry, whose fallback warns
(:class:`~dicomframe.errors.CodecFallbackWarning`) and whose errors (a failed
verification) are raised here, as for one frame. With processes, this
process is one of the ``workers``: it forks one fewer and converts frames
itself, through the registry, whenever the next one is not back yet.

Results come back in order, with at most ``window`` frames handed out past
the one the caller waits for (:func:`dicomframe.executors.ordered_in_processes`):
:func:`dicomframe.transcode_file` writes each frame as it comes and holds a
few frames per worker whatever the size of the file. ``report=``
(:class:`~dicomframe.parallel.ParallelReport`) says what ran: the codec of
each step (``report.steps``), the mode, the workers, their threads and pids.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Generator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomframe.core.debug_log import debug
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.record import Record, record
from dicomframe.errors import CodecError, EncodingError
from dicomframe.executors import FAILED, Here, ordered_in_processes, ordered_in_threads
from dicomframe.parallel import (
    FrameSequence,
    Parallel,
    ParallelReport,
    choose_mode,
    resolve_workers,
    worth_forking,
)
from dicomframe.result_slots import room_for

if TYPE_CHECKING:
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.transfer_syntax import TransferSyntax
    from dicomframe.plugins.manager import CodecManager

__all__ = [
    "Converted",
    "Plan",
    "convert_frames",
    "encodable",
    "frames_match",
    "iter_converted",
    "verify_frame",
]

_VERIFIED = "dicomframe.transcoding"  # the logger verification was always logged on
Frame = NativeFrame | EncapsulatedFrame
# Frames handed out per worker past the one the caller waits for. More than a forked worker
# queues (four, executors._DEPTH): while the caller waits for a frame one worker still holds,
# the others go on with their next ones instead of idling at the window's edge (200 RLE frames
# from the command line: 4 a worker 0.98x-1.06x gdcmconv's time, 6 a worker 1.06x-1.10x).
_PER_WORKER = 6
# Fork for frames of 1 ms or more: converted frames come back through shared memory
# (dicomframe.result_slots), so a worker costs little more per frame than this process
# would. 200 RLE frames, 1.5 ms each with verification: 2 processes 0.25 s, one thread 0.37;
# 0.8 ms each (pylibjpeg-rle decoding): 0.21 s against 0.20, even.
_FORK_FRAME_SECONDS = 0.001


@record
class Plan(Record):
    """What a conversion does to each frame.

    Attributes
    ----------
    target
        The transfer syntax of the result.
    decoder, encoder
        The codec to decode and to encode with (``codec=``, no fallback), or
        None for the registry's choice.
    verify
        Decode each encoded frame with another codec and compare it with
        its source (:func:`verify_frame`).
    outcome
        How a verification error ends ("nothing was changed").
    options
        For the encoder (``quality=``..., and ``prefer=``, ``block=``).
    """

    target: TransferSyntax
    decoder: str | None = None
    encoder: str | None = None
    verify: bool = False
    outcome: str = "nothing was changed"
    options: Mapping[str, Any] = MappingProxyType({})  # read only: one default for all


@record
class Converted(Record):
    """One frame in the target syntax, and what it took.

    ``native_bytes`` is the size of the decoded frame (0 for a frame passed
    through byte for byte); ``encoder`` the codec that encoded it and
    ``verifier`` the one whose decoding verified it (None: not done).
    """

    frame: Frame
    native_bytes: int
    encoder: str | None = None
    verifier: str | None = None


def convert_frames(
    frames: FrameSequence[Frame],
    plan: Plan,
    /,
    *,
    codecs: CodecManager | None = None,
    workers: int | None = None,
    parallel: Parallel = "auto",
    report: ParallelReport | None = None,
) -> list[Converted]:
    """Every frame converted as ``plan`` says, in order (see the module docstring)."""
    return list(
        iter_converted(
            frames,
            plan,
            codecs=codecs,
            workers=workers,
            parallel=parallel,
            report=report,
            window=len(frames),
        )
    )


def iter_converted(  # noqa: PLR0913 - every option is keyword-only
    frames: FrameSequence[Frame],
    plan: Plan,
    /,
    *,
    codecs: CodecManager | None = None,
    workers: int | None = None,
    parallel: Parallel = "auto",
    report: ParallelReport | None = None,
    window: int | None = None,
    done: Callable[[int], None] | None = None,
) -> Generator[Converted, None, None]:
    """Yield each frame converted as ``plan`` says, in order.

    Parameters
    ----------
    frames
        Native or encapsulated frames; an encapsulated frame already in the
        target syntax is passed through byte for byte.
    plan
        What to do with each frame.
    codecs
        The registry (the default manager when None).
    workers, parallel
        How many frames are converted at once, and how (:mod:`dicomframe.parallel`).
    report
        Filled in with what the call did.
    window
        Frames handed out past the one the caller waits for (default: a few
        per worker); the memory a streaming caller holds.
    done
        Called with each frame's index in the worker that converted it,
        once its source is no longer needed (to drop its pages of the file).

    Raises
    ------
    EncodingError
        When a frame fails verification.
    NoCodecError
        When no codec decodes or encodes a frame.
    """
    from dicomframe.plugins.manager import default_manager

    count = len(frames)
    workers = resolve_workers(workers, max(1, count - 1))
    choose_mode(parallel, (), workers, count)  # a wrong option is refused before any frame
    if count == 0:
        return
    job = _Job(frames, plan, codecs or default_manager(), done)
    report = ParallelReport() if report is None else report
    yield job.convert(0)  # in this thread, through the registry: it names the codecs
    mode = choose_mode(parallel, job.codecs(), workers, count - 1)
    steps = job.steps
    report.start(steps.get("encode") or steps.get("decode", ""), mode, workers, steps)
    report.steps = steps  # the same dict: a step first met after frame 0 shows too
    job.report = report
    start = 1
    if mode == "processes" and parallel == "auto":
        started = time.perf_counter()
        second = job.convert(1)
        mode = worth_forking(time.perf_counter() - started, count - 2, _FORK_FRAME_SECONDS)
        report.mode, report.workers = mode, workers if mode != "serial" else 1
        start = 2
        yield second
    debug(__name__, "converting %d frames (%s) on %d %s", count, steps, workers, mode)
    rest = range(start, count)
    limit = max(1, workers * _PER_WORKER if window is None else window)
    if mode == "processes":  # this process is one of the workers
        slots = job.slot_bytes()
        for index, payload in ordered_in_processes(
            job.in_child, rest, workers, limit, slot_bytes=slots, here=job.convert
        ):
            if isinstance(payload, Here):
                yield payload.value
            else:
                yield job.redo(index) if payload is FAILED else job.rebuild(index, payload)
    elif mode == "threads":
        for _, converted in ordered_in_threads(job.convert, rest, workers, limit):
            yield converted
    else:
        for index in rest:
            yield job.convert(index)


class _Job:
    """One conversion: the frames, the plan, and the codec of each step once frame 0 chose."""

    def __init__(
        self,
        frames: FrameSequence[Frame],
        plan: Plan,
        manager: CodecManager,
        done: Callable[[int], None] | None,
    ) -> None:
        self.frames = frames
        self.plan = plan
        self.manager = manager
        self.done = done
        self.steps: dict[str, str] = {}  # step -> the codec that did it for the first frame
        self.report = ParallelReport()
        self.alone = False  # in a forked worker: the codecs of the steps only, no fallback
        self.lock = threading.Lock()
        self.sent: dict[FrameInfo, int] = {}  # in a worker: each info sent, by its number
        self.infos: dict[tuple[int, int], FrameInfo] = {}  # here: (pid, number) -> info

    def codecs(self) -> list[Any]:
        """The codecs of the steps frame 0 went through (none: nothing to run in parallel)."""
        return [self.manager.get(name) for name in dict.fromkeys(self.steps.values())]

    def convert(self, index: int) -> Converted:
        """Frame ``index`` converted in this process, falling back through the registry."""
        return self._convert(self.frames[index], index)

    def _convert(self, frame: Frame, index: int) -> Converted:
        self.report.threads.add(threading.get_ident())
        target = self.plan.target
        if isinstance(frame, EncapsulatedFrame) and frame.transfer_syntax.uid == target.uid:
            return Converted(frame, 0)  # unchanged syntax, not edited: byte for byte
        native = self._decode(frame, index) if isinstance(frame, EncapsulatedFrame) else frame
        result = Converted(native, native.data.nbytes)
        if target.is_encapsulated:
            encoded, encoder = self._encode(encodable(native), index)
            verifier = None
            if self.plan.verify:  # right after the encode, on the same worker
                verifier = verify_frame(
                    encoded,
                    native,
                    self.manager,
                    index=index,
                    outcome=self.plan.outcome,
                    encoder=encoder,
                )
                self._step("verify", verifier, None)
            result = Converted(encoded, native.data.nbytes, encoder, verifier)
        if self.done is not None:
            self.done(index)
        return result

    def _step(self, step: str, used: str, index: int | None) -> None:
        """Record the codec of ``step``: frame 0's names it; another is a fallback."""
        with self.lock:
            named = self.steps.setdefault(step, used)
            if named != used and index is not None and index not in self.report.fallbacks:
                self.report.fallbacks.append(index)

    def _decode(self, frame: EncapsulatedFrame, index: int) -> NativeFrame:
        chosen = self.steps.get("decode")
        codec = chosen if self.alone else self.plan.decoder
        native, used = self.manager.decode_with(
            frame, codec=codec, sticky=chosen, limits=frame.limits
        )
        self._step("decode", used, index)
        return native

    def _encode(self, native: NativeFrame, index: int) -> tuple[EncapsulatedFrame, str]:
        chosen = self.steps.get("encode")
        codec = chosen if self.alone else self.plan.encoder
        encoded, used = self.manager.encode_with(
            native, self.plan.target, codec=codec, sticky=chosen, **self.plan.options
        )
        self._step("encode", used, index)
        return encoded, used

    def slot_bytes(self) -> int:
        """Room for a converted frame in shared memory, from frame 0's native size."""
        return room_for(self.frames[0].info.bytes_per_frame)

    def in_child(self, index: int) -> tuple[Any, ...]:
        """In a forked worker: the codecs of the steps alone; what the parent rebuilds from.

        A frame's info is sent the first time only, then its number: the
        frames of a file share one, and pickling it each time (a dataclass of
        17 fields) cost both sides 40 us a frame.
        """
        self.alone = True
        source = self.frames[index]
        converted = self._convert(source, index)
        frame = converted.frame
        data = frame.data if isinstance(frame, NativeFrame) else bytes(frame.data)
        facts = (converted.native_bytes, converted.encoder, converted.verifier)
        number = self.sent.get(frame.info)
        info: FrameInfo | None = None
        if number is None:
            number = self.sent[frame.info] = len(self.sent)
            info = frame.info
        return data, (number, info), facts, source.index, os.getpid()

    def rebuild(self, index: int, payload: tuple[Any, ...]) -> Converted:
        """The frame a forked worker converted, made again in this process.

        The source frame's index comes back with it: making the source frame
        here only to read its index cost the parent 50 us a frame, time the
        workers need on a machine whose cores they fill.
        """
        data, (number, sent), (native_bytes, encoder, verifier), source_index, pid = payload
        self.report.processes.add(pid)
        if sent is not None:
            self.infos[pid, number] = sent
        info = self.infos[pid, number]
        frame: Frame
        if isinstance(data, np.ndarray):
            frame = NativeFrame(data.reshape(-1), info)
            frame.index = source_index
        else:
            frame = EncapsulatedFrame((data,), info, index=source_index)
        return Converted(frame, native_bytes, encoder, verifier)

    def redo(self, index: int) -> Converted:
        """A frame a forked worker did not convert: again here, through the registry."""
        with self.lock:
            self.report.fallbacks.append(index)
        return self.convert(index)


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
    have_values = decoded.array
    if have_values.shape != expected.shape:
        return False
    if have_values.dtype == expected.dtype and have_values.dtype.kind in "iub":
        # Integers are equal when their bytes are: compared 8 at a time, twice as fast
        return _same_bytes(have_values, expected)
    return bool(np.array_equal(have_values, expected))


def _same_bytes(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> bool:
    """Whether two arrays of one dtype and shape hold the same bytes."""
    if not (a.flags.c_contiguous and b.flags.c_contiguous) or a.nbytes % 8:
        return bool(np.array_equal(a, b))
    wide = np.dtype(np.uint64)
    return bool(np.array_equal(a.reshape(-1).view(wide), b.reshape(-1).view(wide)))


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
    name of the decoder that did, also logged at DEBUG level (logger
    ``dicomframe.transcoding``).

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
    verified = "frame %s encoded by %s: verified by decoding with %s"
    debug(_VERIFIED, verified, index, encoder, decoder)
    return decoder
