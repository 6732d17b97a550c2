"""Many frames at once: decode or encode them on every core.

:func:`decode_frames` decodes encapsulated frames into ONE output array
(``PixelData.pixel_array`` runs it); :func:`encode_frames` encodes native
frames. The first frame goes through the registry's dispatch (``codec=``,
``prefer=``, ``block=``, fallback); the codec that handled it is then called
directly for the others, with no dispatch per frame. A frame that codec
fails on goes back through the registry, which tries the next codec and
warns :class:`~dicomframe.errors.CodecFallbackWarning`, as for one frame.
A frame the codec returns something other than a valid frame for goes back
to the registry the same way.

Before anything is decoded or allocated, the whole output (frames x a
frame's bytes, from the dataset) is checked against
:attr:`~dicomframe.Limits.max_object_bytes`, and frame 0 against
``max_frame_bytes`` by the registry. Every frame's codestream header is
checked as the registry checks it (:mod:`dicomframe.plugins.codestream`),
on the direct path too: no codec runs on a frame that contradicts the dataset.

``workers`` (default: the cores this process may run on) say how many
frames are in flight, and ``parallel`` how:

``"threads"``
    For backends that release the GIL while they work (imagecodecs, zlib):
    the threads decode straight into the output array.
``"processes"``
    For backends that hold the GIL (pylibjpeg-openjpeg, pylibjpeg-libjpeg,
    pylibjpeg-rle, pyjpegls, Pillow, our numpy RLE decoder's ``np.repeat``),
    on which threads would take turns: ``workers - 1`` processes are forked
    for the call, and the calling process is the last worker (it does a
    frame whenever it would otherwise wait for one). They inherit the frames
    (a view on a memory-mapped file is shared, not copied) and decode into
    an output array in shared memory (an anonymous shared mapping, which
    the returned array keeps alive), or send back what they encoded.
``"auto"`` (default)
    Threads for a codec that declares its backend releases the GIL
    (:attr:`Codec.threading <dicomframe.plugins.codec.Codec.threading>`
    :attr:`~dicomframe.plugins.codec.Threading.RELEASES_GIL`); otherwise
    processes when frame 1, timed in this thread, took 2 ms or more and the
    process can fork safely (a POSIX system other than macOS, and no other
    thread running: a forked child has only the calling thread, and a lock
    another thread held stays locked in it); else this thread alone, since
    forking costs more than it saves on fast frames.
``"serial"``
    Everything in the calling thread; also what one worker, or one frame
    after the first, comes to.

A codec that is not thread-safe (``Threading.PROCESS_ONLY``) is never run
on threads: ``"threads"`` then means processes, or the calling thread alone.

Decoding into the output: each decoder is given ``out=``, its frame's part
of the output, flat (the rule is :class:`~dicomframe.plugins.codec.DecodeFn`'s);
a frame whose data is that memory is not copied again. A codec that ignores
``out`` costs one copy per frame; one that fails with it and succeeds
without is not given it again.

Pass ``report=ParallelReport()`` to learn what a call did: which codec,
which mode and how many workers, and which threads and processes did the
frames after the first (the tests assert it: a mode nobody checks can
quietly become another).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast

import numpy as np

from dicomframe.core.debug_log import debug
from dicomframe.core.limits import resolve_limits
from dicomframe.errors import DecodeError, EncodeError
from dicomframe.executors import Here, in_processes, in_threads, shared_empty
from dicomframe.plugins.codec import INTERRUPTIONS, Array, Threading
from dicomframe.plugins.codestream import frame_problem
from dicomframe.plugins.dispatch import decoded_bytes, decoded_problem
from dicomframe.result_slots import room_for

if TYPE_CHECKING:
    from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.core.limits import Limits
    from dicomframe.core.transfer_syntax import TransferSyntax
    from dicomframe.plugins.codec import Codec
    from dicomframe.plugins.manager import CodecManager

__all__ = [
    "FrameSequence",
    "ParallelReport",
    "choose_mode",
    "decode_frames",
    "default_workers",
    "encode_frames",
    "releases_gil",
    "resolve_workers",
    "thread_safe",
    "worth_forking",
]

Parallel = Literal["auto", "threads", "processes", "serial"]
Mode = Literal["threads", "processes", "serial"]
_MODES = ("auto", "threads", "processes", "serial")
_DISPATCH = ("codec", "prefer", "block", "limits")  # options for the registry, not for a codec
_FORK_FRAME_SECONDS = 0.002
_FORK_TOTAL_SECONDS = 0.1
_T_co = TypeVar("_T_co", covariant=True)


@dataclass
class ParallelReport:
    """What one :func:`decode_frames` or :func:`encode_frames` call did (pass one as ``report=``).

    Attributes
    ----------
    codec
        The codec that handled frame 0, called directly for the others.
    mode
        How the frames after the first were done: ``"threads"``,
        ``"processes"`` or ``"serial"`` (the calling thread alone).
    workers
        How many threads or processes were at work (1 for ``"serial"``); with
        ``"processes"``, this process is one of them and ``workers - 1`` were forked.
    threads
        The ident of each thread of this process that did a frame after the
        first (with ``"processes"``: the calling thread, which converts frames too).
    processes
        The pid of each forked worker that did a frame.
    fallbacks
        The frames that went back through the registry: the chosen codec
        failed on them, or gave something other than a valid frame.
    steps
        For a conversion (:mod:`dicomframe.converting`): the codec of each
        step that ran on every frame, ``"decode"``, ``"encode"`` and
        ``"verify"``; ``codec`` is then the encoder, else the decoder.
    """

    codec: str = ""
    mode: Mode = "serial"
    workers: int = 1
    threads: set[int] = field(default_factory=set)
    processes: set[int] = field(default_factory=set)
    fallbacks: list[int] = field(default_factory=list)
    steps: dict[str, str] = field(default_factory=dict)

    def _start(self, codec: str, mode: Mode, workers: int) -> None:
        self.codec, self.mode = codec, mode
        self.workers = workers if mode != "serial" else 1
        self.threads, self.processes, self.fallbacks, self.steps = set(), set(), [], {}

    def start(self, codec: str, mode: Mode, workers: int, steps: dict[str, str]) -> None:
        """Begin the record of a call: its codec, mode, workers and steps; nothing done yet."""
        self._start(codec, mode, workers)
        self.steps = dict(steps)


class FrameSequence(Protocol[_T_co]):
    """What the functions here read frames from: a list, or anything indexable with a length."""

    def __len__(self) -> int:
        """How many frames."""
        ...

    def __getitem__(self, index: int, /) -> _T_co:
        """Frame ``index``."""
        ...


def default_workers() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def releases_gil(codec: Codec) -> bool:
    """Whether ``codec`` declares that its backend releases the GIL (``Codec.threading``)."""
    return codec.threading is Threading.RELEASES_GIL


def thread_safe(codec: Codec) -> bool:
    """False for a codec that two threads must not call at once (``Threading.PROCESS_ONLY``)."""
    return codec.threading is not Threading.PROCESS_ONLY


def can_fork() -> bool:
    """True where :func:`os.fork` is available and safe enough to use for workers."""
    return hasattr(os, "fork") and sys.platform != "darwin"


def _mode(parallel: str, codec: Codec, workers: int, jobs: int) -> Mode:
    return choose_mode(parallel, (codec,), workers, jobs)


def choose_mode(parallel: str, codecs: Sequence[Codec], workers: int, jobs: int) -> Mode:
    """How ``jobs`` frames are done when each goes through every codec of ``codecs``.

    The rules of the module docstring, with every codec counted: threads only
    when each releases the GIL (``"auto"``) and none is process-only; a
    conversion whose verifying decoder holds the GIL runs on processes
    even when its encoder releases it. For ``"auto"``, ``"processes"`` here
    means "if a frame is worth forking for" (:func:`worth_forking`).
    """
    if parallel not in _MODES:
        raise ValueError(f"parallel must be one of {', '.join(_MODES)}, not {parallel!r}")
    if workers <= 1 or jobs <= 1 or parallel == "serial" or not codecs:
        return "serial"
    if parallel == "processes" and not can_fork():
        raise ValueError("parallel='processes' needs os.fork (a POSIX system other than macOS)")
    if parallel == "processes":
        return "processes"
    if parallel == "auto" and not all(releases_gil(c) for c in codecs):
        return "processes" if _forkable() else "serial"  # threads would take turns
    if not all(thread_safe(c) for c in codecs):  # "threads" asked for a codec two must not share
        return "processes" if _forkable() else "serial"
    return "threads"


# Threads that make forking safe themselves: fsspec resets its IO loop in a forked child
# (os.register_at_fork), so a process that read a URL still forks its workers.
_FORK_AWARE_THREADS = frozenset({"fsspecIO"})


def _forkable() -> bool:
    """Whether forking workers is safe here: no other thread, and not a daemonic worker."""
    if not can_fork():
        return False
    current = threading.current_thread()
    if any(t is not current and t.name not in _FORK_AWARE_THREADS for t in threading.enumerate()):
        return False
    # A daemonic multiprocessing worker (which may not have children) was started by
    # multiprocessing, so it has the module loaded; importing it only to ask costs 10 ms.
    process = sys.modules.get("multiprocessing.process")
    return process is None or not process.current_process().daemon


def _log(doing: str, count: int, codec: str, mode: str, workers: int) -> None:
    """Say how the frames are being done (logger ``dicomframe.parallel``, level DEBUG)."""
    on = f"{workers} {mode}" if mode in ("threads", "processes") else "this thread"
    debug(__name__, "%s %d frames with %s on %s", doing, count, codec, on)


def worth_forking(seconds: float, remaining: int, frame_seconds: float | None = None) -> Mode:
    """Processes for the ``remaining`` frames when one took ``seconds``, else this thread.

    Forking costs tens of milliseconds (and filling shared memory costs more
    than private memory): for a backend that takes well under a millisecond
    a frame (pylibjpeg-rle) one thread is as fast, so forking is kept for
    frames of ``frame_seconds`` (2 ms) or more when there are at least 0.1 s
    of them.
    """
    least = _FORK_FRAME_SECONDS if frame_seconds is None else frame_seconds
    worth = seconds >= least and seconds * remaining >= _FORK_TOTAL_SECONDS
    return "processes" if worth else "serial"


def resolve_workers(workers: int | None, jobs: int) -> int:
    """``workers`` (the cores when None), checked, and no more than ``jobs``."""
    count = default_workers() if workers is None else int(workers)
    if count < 1:
        raise ValueError(f"workers must be 1 or more, not {count}")
    return max(1, min(count, jobs))


# -- decoding ---------------------------------------------------------------------------------
def decode_frames(
    frames: FrameSequence[EncapsulatedFrame],
    /,
    *,
    codecs: CodecManager | None = None,
    workers: int | None = None,
    parallel: Parallel = "auto",
    limits: Limits | None = None,
    report: ParallelReport | None = None,
    **options: Any,
) -> Array:
    """Decode every frame into one array ``(frames, rows, columns[, samples])``.

    Parameters
    ----------
    frames
        The encapsulated frames of one object (one FrameInfo).
    codecs
        The registry (the default manager when None).
    workers, parallel
        How many frames are decoded at once, and how (module docstring).
    limits
        What the output and each frame may take (the default limits when
        None): checked before anything is decoded or allocated.
    report
        Filled in with what the call did (:class:`ParallelReport`).
    **options
        ``codec=``, ``prefer=``, ``block=`` for the registry; the rest for the codec.

    Raises
    ------
    LimitError
        When all frames (``len(frames)`` x a frame's bytes) would exceed
        ``limits.max_object_bytes``, or one frame ``limits.max_frame_bytes``.
    NoCodecError
        When no codec decodes a frame.
    DecodeError
        When a frame's codestream header contradicts the dataset, or a frame
        decodes to another shape, dtype or colour than the first.
    """
    from dicomframe.plugins.manager import default_manager

    count = len(frames)
    if count == 0:
        raise ValueError("no frames to decode")
    options["limits"] = _check_object(frames[0].info, count, resolve_limits(limits))
    manager = codecs or default_manager()
    first, used = manager.decode_with(frames[0], **options)
    workers = resolve_workers(workers, count - 1)
    mode = _mode(parallel, manager.get(used), workers, count - 1)
    report = ParallelReport() if report is None else report
    report._start(used, mode, workers)
    job = _Decoding(frames, manager, used, first, options, report)
    decoded = [first]
    if mode == "processes" and parallel == "auto":
        started = time.perf_counter()
        decoded.append(job.decode_frame(1))
        mode = worth_forking(time.perf_counter() - started, count - 2)
        report.mode, report.workers = mode, workers if mode != "serial" else 1
    shape, dtype = (count, *first.info.shape), first.info.dtype
    out = shared_empty(shape, dtype) if mode == "processes" else np.empty(shape, dtype)
    job.out = out
    _log("decoding", count, used, mode, workers)
    for index, native in enumerate(decoded):
        job.store(index, native)
    rest = range(len(decoded), count)
    if mode == "processes":  # this process is one of the workers
        done = in_processes(job.decode_in_child, rest, workers,
                            block=first.info.bytes_per_frame, here=job.decode)  # fmt: skip
        report.processes.update(pid for pid in done.values() if not isinstance(pid, Here))
        for index in rest:
            if index not in done:  # it failed in a child, or the child died: again, here
                job.decode(index)
    else:
        in_threads(job.decode, rest, workers if mode == "threads" else 1)
    return out


def _check_object(info: FrameInfo, count: int, limits: Limits) -> Limits:
    """Refuse an output of ``count`` frames over ``limits.max_object_bytes``; the limits."""
    total = count * decoded_bytes(info)
    limits.check("max_object_bytes", total, what=f"{count} decoded frames of {info.rows}x"
                 f"{info.columns}x{info.samples_per_pixel}")  # fmt: skip
    return limits


class _Decoding:
    """One decode_frames call: the codec chosen for frame 0, and the output array."""

    def __init__(
        self,
        frames: FrameSequence[EncapsulatedFrame],
        manager: CodecManager,
        used: str,
        first: NativeFrame,
        options: dict[str, Any],
        report: ParallelReport,
    ) -> None:
        self.frames = frames
        self.manager = manager
        self.used = used
        self.report = report
        decode = manager.get(used).decode
        assert decode is not None
        self.function = decode
        self.out: Array | None = None  # set once the executor is chosen
        self.info = first.info
        self.options = options
        self.codec_options = {k: v for k, v in options.items() if k not in _DISPATCH}
        self.into = True  # offer out=, until the codec fails with it but not without it

    def _direct(self, index: int) -> NativeFrame | None:
        """Frame ``index`` decoded by the chosen codec (into the output if it can), or None.

        A frame whose codestream header contradicts the dataset is given to
        no codec here either: None, and the registry refuses it as it does
        any frame. A result that is not a valid frame is None too, for the
        registry to try the next codec.
        """
        frame = self.frames[index]
        if frame_problem(frame) is not None:
            return None
        if self.into and self.out is not None:
            flat = self.out[index].reshape(-1)  # a view: the output is C-contiguous
            try:
                into: object = self.function(frame, out=flat, **self.codec_options)
            except INTERRUPTIONS:
                raise
            except BaseException:  # tried again without out=, then through the registry
                pass
            else:
                return self._valid(into, frame)
        try:
            result: object = self.function(frame, **self.codec_options)
        except INTERRUPTIONS:
            raise
        except BaseException:  # the registry tries it again and reports what happened
            return None
        native = self._valid(result, frame)
        if native is not None:
            self.into = False  # it fails with out= only: stop offering it
        return native

    @staticmethod
    def _valid(result: object, frame: EncapsulatedFrame) -> NativeFrame | None:
        """``result`` when it is a valid decoding of ``frame`` (as dispatch checks), else None."""
        if decoded_problem(result, frame) is not None:
            return None
        return cast("NativeFrame", result)

    def decode_frame(self, index: int) -> NativeFrame:
        """Decode frame ``index`` (into the output if there is one), falling back."""
        self.report.threads.add(threading.get_ident())
        native = self._direct(index)
        if native is None:
            self.report.fallbacks.append(index)
            native, _ = self.manager.decode_with(
                self.frames[index], sticky=self.used, **self.options
            )
        return native

    def decode(self, index: int) -> NativeFrame:
        """Decode frame ``index`` into the output, falling back through the registry."""
        native = self.decode_frame(index)
        self.store(index, native)
        return native

    def decode_in_child(self, index: int) -> int:
        """In a forked worker: the chosen codec only (the parent does any fallback); its pid."""
        native = self._direct(index)
        if native is None:
            raise DecodeError(f"{self.used} did not decode frame {index}", codec=self.used)
        self.store(index, native)
        self.kept = native  # see executors.in_threads: the previous frame stays alive
        return os.getpid()

    def store(self, index: int, native: NativeFrame) -> None:
        """Put a decoded frame in the output, unless the codec decoded it there."""
        assert self.out is not None
        info = native.info
        if (info.shape, info.dtype, info.photometric_interpretation) != (
            self.info.shape,
            self.info.dtype,
            self.info.photometric_interpretation,
        ):
            raise DecodeError(
                f"frame {index} decoded to {info.shape} {info.dtype} "
                f"{info.photometric_interpretation}, frame 0 to {self.info.shape} "
                f"{self.info.dtype} {self.info.photometric_interpretation}",
                frame_index=index,
            )
        target = self.out[index]
        data = native.data
        if data.ctypes.data != target.ctypes.data or data.nbytes != target.nbytes:
            target[...] = native.array  # the codec did not decode into the output


# -- encoding ---------------------------------------------------------------------------------
def encode_frames(
    frames: FrameSequence[NativeFrame],
    syntax: str | TransferSyntax,
    /,
    *,
    codecs: CodecManager | None = None,
    workers: int | None = None,
    parallel: Parallel = "auto",
    report: ParallelReport | None = None,
    **options: Any,
) -> list[EncapsulatedFrame]:
    """Encode every frame in ``syntax``; the encoded frames, in order.

    Parameters
    ----------
    frames
        The native frames.
    syntax
        The target transfer syntax (UID or keyword).
    codecs
        The registry (the default manager when None).
    workers, parallel
        How many frames are encoded at once, and how (module docstring).
    report
        Filled in with what the call did (:class:`ParallelReport`).
    **options
        ``codec=``, ``prefer=``, ``block=`` for the registry; the rest for the codec.

    Raises
    ------
    NoCodecError
        When no codec encodes a frame.
    """
    from dicomframe.core.frame import EncapsulatedFrame
    from dicomframe.core.transfer_syntax import resolve
    from dicomframe.plugins.manager import default_manager

    count = len(frames)
    if count == 0:
        return []
    manager = codecs or default_manager()
    target = resolve(syntax)
    first, used = manager.encode_with(frames[0], target, **options)
    workers = resolve_workers(workers, count - 1)
    mode = _mode(parallel, manager.get(used), workers, count - 1)
    report = ParallelReport() if report is None else report
    report._start(used, mode, workers)
    job = _Encoding(frames, target, manager, used, options, report)
    job.results[0] = first
    start = 1
    if mode == "processes" and parallel == "auto":
        started = time.perf_counter()
        job.encode(1)
        mode, start = worth_forking(time.perf_counter() - started, count - 2), 2
        report.mode, report.workers = mode, workers if mode != "serial" else 1
    rest = range(start, count)
    _log("encoding", count, used, mode, workers)
    if mode == "processes":
        native = frames[0].info.bytes_per_frame
        made = in_processes(job.encode_in_child, rest, workers, block=native,
                            slot_bytes=room_for(native), here=job.encode)  # fmt: skip
        for index, payload in made.items():
            if isinstance(payload, Here):  # encoded in this process: already in the results
                continue
            data, info, pid = payload
            job.results[index] = EncapsulatedFrame((data,), info, index=frames[index].index)
            report.processes.add(pid)
        for index in rest:
            if job.results[index] is None:  # it failed in a child, or the child died
                job.encode(index)
    else:
        in_threads(job.encode, rest, workers if mode == "threads" else 1)
    return [frame for frame in job.results if frame is not None]


class _Encoding:
    """One encode_frames call: the codec chosen for frame 0, and the results so far."""

    def __init__(
        self,
        frames: FrameSequence[NativeFrame],
        target: TransferSyntax,
        manager: CodecManager,
        used: str,
        options: dict[str, Any],
        report: ParallelReport,
    ) -> None:
        self.frames = frames
        self.target = target
        self.manager = manager
        self.used = used
        self.report = report
        encode = manager.get(used).encode
        assert encode is not None
        self.function = encode
        self.options = options
        self.codec_options = {k: v for k, v in options.items() if k not in _DISPATCH}
        self.info = frames[0].info
        self.results: list[EncapsulatedFrame | None] = [None] * len(frames)

    def _direct(self, index: int) -> EncapsulatedFrame | None:
        from dicomframe.core.frame import EncapsulatedFrame

        frame = self.frames[index]
        if frame.info != self.info:  # another layout: the registry chooses again
            return None
        try:
            result: object = self.function(frame, self.target, **self.codec_options)
        except INTERRUPTIONS:
            raise
        except BaseException:  # the registry tries it again and reports what happened
            return None
        return result if isinstance(result, EncapsulatedFrame) else None

    def encode(self, index: int) -> EncapsulatedFrame:
        """Encode frame ``index``, falling back through the registry."""
        self.report.threads.add(threading.get_ident())
        result = self._direct(index)
        if result is None:
            self.report.fallbacks.append(index)
            result, _ = self.manager.encode_with(
                self.frames[index], self.target, sticky=self.used, **self.options
            )
        self.results[index] = result
        return result

    def encode_in_child(self, index: int) -> tuple[bytes, FrameInfo, int]:
        """In a forked worker: the chosen codec only; what the parent needs to rebuild it."""
        result = self._direct(index)
        if result is None:
            raise EncodeError(f"{self.used} did not encode frame {index}", codec=self.used)
        return bytes(result.data), result.info, os.getpid()
