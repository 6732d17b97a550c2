"""Where many frames are worked on: threads of this process, or forked processes.

:func:`in_threads` runs a function over frame indices on threads (the calling
thread is one of them) and re-raises the first error; :func:`in_processes`
forks workers (:mod:`dicomframe.forked`) that are handed indices and send back
what they made, so that an index that failed, or whose process died, is simply
missing and the caller redoes it through the registry. :func:`shared_empty` is an output array
the forked workers write into. :mod:`dicomframe.parallel` decides which to use.

:func:`ordered_in_threads` and :func:`ordered_in_processes` do the same for a
caller that consumes results as they come, in order, and must not hold them
all (a file transcoded frame by frame): at most ``window`` indices are handed
out past the one the caller waits for, so memory holds a few frames per
worker whatever the file's size. A forked worker's failed index comes back as
:data:`FAILED`, for the caller to redo. Given ``here``, the calling process
does indices too, whenever it would otherwise wait for the next result.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from dicomframe.forked import Channel, Worker, ready
from dicomframe.plugins.codec import INTERRUPTIONS
from dicomframe.result_slots import ResultSlots
from dicomframe.worker_heap import keep_buffers

__all__ = [
    "FAILED",
    "in_processes",
    "in_threads",
    "ordered_in_processes",
    "ordered_in_threads",
    "shared_empty",
    "slots_and_depth",
]

Array = np.ndarray[Any, Any]
_DEPTH = 4  # indices queued at a forked worker: the next are there while results go back
_SHALLOW = 2  # the depth when slots for four would pass their bound (large frames)
_BATCH = 2  # results sent back in one message at most (see _serve)


class _Failed:
    """The type of :data:`FAILED`."""

    def __repr__(self) -> str:
        return "FAILED"


FAILED = _Failed()  # what ordered_in_processes gives for an index a worker did not do


class Here:
    """What the calling process made itself for an index (``ordered_in_processes(here=)``)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Raised:
    """An error of ``here`` for an index: raised when that index's turn comes."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def in_threads(work: Callable[[int], object], indices: range, workers: int) -> None:
    """Run ``work`` over ``indices`` on ``workers`` threads; re-raise the first error.

    Each worker keeps what ``work`` returned for one index alive while it does
    the next: backends allocate and free a frame-sized buffer or two per call,
    and with nothing else live at the top of the heap glibc's malloc gives that
    memory back to the kernel each time (heap trimming), so every frame would
    fault in and zero fresh pages: for pylibjpeg-rle that doubles the time.
    """
    pending = iter(indices)  # next() on a range iterator is atomic under the GIL
    errors: list[BaseException] = []

    def run() -> None:
        kept: object = None  # the previous result, alive during the next call
        for index in pending:
            if errors:
                return
            try:
                kept = work(index)
            except BaseException as exc:  # re-raised in the caller's thread
                errors.append(exc)
                return
        del kept

    threads = [threading.Thread(target=run, daemon=True) for _ in range(workers - 1)]
    for thread in threads:
        thread.start()
    run()  # the calling thread is a worker too
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def shared_empty(shape: tuple[int, ...], dtype: np.dtype[Any]) -> Array:
    """An uninitialised array in anonymous shared memory, which forked children write into."""
    import mmap

    count = math.prod(shape)
    buffer = mmap.mmap(-1, max(count * dtype.itemsize, 1))
    return np.frombuffer(buffer, dtype=dtype, count=count).reshape(shape)


def in_processes(
    work: Callable[[int], Any],
    indices: range,
    workers: int,
    *,
    block: int = 0,
    slot_bytes: int = 0,
    here: Callable[[int], Any] | None = None,
) -> dict[int, Any]:
    """Run ``work`` over ``indices`` in ``workers`` processes (with ``here``, this one among them).

    Returns what ``work`` returned for each index it completed, and a
    :class:`Here` for each index this process did; an index that raised in a
    worker, or whose process died, is missing, for the caller to redo. The
    workers are those of :func:`ordered_in_processes`, with no window;
    ``block`` is the size of a frame, which they keep in their heap, and
    ``slot_bytes`` the room for a large result in shared memory. A worker
    whose result goes through the pipe waits while this process works on a
    frame of its own and does not read it: results of more than a pipe's
    64 KiB belong in the slots.
    """
    done = ordered_in_processes(
        work,
        indices,
        workers,
        max(1, len(indices)),
        block=block,
        slot_bytes=slot_bytes,
        here=here,
    )
    return {index: result for index, result in done if result is not FAILED}


def ordered_in_threads(
    work: Callable[[int], Any], indices: Sequence[int], workers: int, window: int
) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, work(index))`` in order, ``work`` running on ``workers`` threads.

    At most ``window`` indices are submitted past the one being waited for;
    the threads go on while the caller handles a result. An error is raised
    when its index's turn comes, and the indices not started are dropped.
    """
    from concurrent.futures import ThreadPoolExecutor  # here: one frame never needs it

    pending = iter(indices)
    with ThreadPoolExecutor(workers, thread_name_prefix="dicomframe") as pool:
        queue = deque(
            (i, pool.submit(work, i)) for _, i in zip(range(window), pending, strict=False)
        )
        try:
            while queue:
                index, future = queue.popleft()
                result = future.result()
                following = next(pending, None)
                if following is not None:
                    queue.append((following, pool.submit(work, following)))
                yield index, result
        finally:
            for _, future in queue:
                future.cancel()


class _Worker:
    """A forked worker of ordered_in_processes: its process, its channel, its queue."""

    __slots__ = ("alive", "conn", "number", "process", "queued", "told")

    def __init__(self, process: Worker, number: int) -> None:
        self.process = process
        self.conn = process.channel
        self.number = number  # which of the slots are its own
        self.queued: deque[int] = deque()
        self.alive = True
        self.told = False  # told to end once its queue is done


class _Ordered:
    """The parent's side of ordered_in_processes: hand out indices, collect, keep the order."""

    def __init__(
        self,
        indices: Sequence[int],
        window: int,
        slots: ResultSlots | None,
        depth: int,
        here: Callable[[int], Any] | None = None,
    ) -> None:
        self.here = here  # this process's own work, done instead of waiting
        self.indices = indices
        self.depth = depth  # indices queued at a worker at most
        self.window = window
        self.slots = slots
        self.handed = 0  # positions in ``indices`` handed out so far
        self.given = 0  # positions yielded so far
        self.done: dict[int, Any] = {}
        self.workers: list[_Worker] = []

    def feed(self, depth: int | None = None) -> None:
        """Queue indices at the workers, up to ``depth`` each (default theirs), within the window.

        One at a time to the worker with the fewest queued, so that a short
        run of indices is shared out rather than queued at the first worker.
        When this process works too, a worker queues no more than its share
        of what is left: at the end of a job of slow frames (40 ms of JPEG
        2000) four queued at a worker would leave this process idle, waiting
        for them.
        """
        depth = self.depth if depth is None else depth
        if self.here is not None:  # handing out moves an index from left to queued: one share
            depth = min(depth, self._share())
        while self._can_hand():
            room = [w for w in self.workers if w.alive and len(w.queued) < depth]
            if not room:
                return
            worker = min(room, key=lambda w: len(w.queued))
            index = self.indices[self.handed]
            try:
                worker.conn.send(index)
            except OSError:  # it died: collect() learns it from the pipe
                return
            worker.queued.append(index)
            self.handed += 1
        if self.handed == len(self.indices):
            self.tell_to_end()

    def _can_hand(self) -> bool:
        """Whether an index is left to hand out within the window."""
        return self.handed < min(len(self.indices), self.given + self.window)

    def _share(self) -> int:
        """What is left (not handed out, or queued) shared by the live workers and this process."""
        alive = [w for w in self.workers if w.alive]
        left = len(self.indices) - self.handed + sum(len(w.queued) for w in alive)
        return max(1, left // (len(alive) + 1))

    def tell_to_end(self) -> None:
        """Every index is handed out: each worker ends once it has sent its last result.

        Told now rather than once the caller has every result, a worker
        leaves (unmapping what it used takes a few ms) while this process
        writes the last frames, instead of after.
        """
        for worker in self.workers:
            if worker.alive and not worker.told:
                worker.told = True
                with contextlib.suppress(OSError):  # it died: collect() learns it from the pipe
                    worker.conn.send(None)

    def work_here(self) -> bool:
        """Do the next index not handed out in this process, if the window allows.

        An error (but an interruption) is kept and raised at that index's turn,
        as a result is yielded at its turn.
        """
        if self.here is None or not self._can_hand():
            return False
        index = self.indices[self.handed]
        self.handed += 1
        if self.handed == len(self.indices):
            self.tell_to_end()
        try:
            self.done[index] = Here(self.here(index))
        except INTERRUPTIONS:
            raise
        except BaseException as exc:
            self.done[index] = _Raised(exc)
        return True

    def collect(self, timeout: int | None = None) -> None:
        """Wait for at least one result (or death) from the busy workers (0: only look)."""
        busy = {w.conn: w for w in self.workers if w.alive and w.queued}
        if not busy and timeout == 0:  # nothing to look at; a wait finds out why
            return
        if not busy:  # every worker died: the caller does what is left
            for index in self.indices[self.handed :]:
                self.done[index] = FAILED
            self.handed = len(self.indices)
            return
        for channel in ready(list(busy), timeout):
            worker = busy[channel]
            try:
                batch = worker.conn.recv()
            except (EOFError, OSError):
                worker.alive = False
                for lost in worker.queued:
                    self.done[lost] = FAILED
                worker.queued.clear()
                continue
            for index, ok, sent in batch:
                worker.queued.remove(index)
                if not ok:
                    self.done[index] = FAILED
                elif self.slots is not None:
                    self.done[index] = self.slots.take(worker.number, sent)
                else:
                    self.done[index] = sent

    def results(self) -> Iterator[tuple[int, Any]]:
        """Each index's result, in order, as soon as it is in.

        While the next one is not in, this process does an index of its own
        (:meth:`work_here`) rather than wait, and then only looks for what
        came meanwhile.
        """
        while self.given < len(self.indices):
            index = self.indices[self.given]
            if index not in self.done:
                self.collect(timeout=0 if self.work_here() else None)
                self.feed()
                continue
            self.given += 1
            self.feed()
            result = self.done.pop(index)
            if isinstance(result, _Raised):
                raise result.error
            yield index, result


def ordered_in_processes(  # noqa: PLR0913 - the options are keyword-only
    work: Callable[[int], Any],
    indices: Sequence[int],
    workers: int,
    window: int,
    *,
    slot_bytes: int = 0,
    block: int | None = None,
    here: Callable[[int], Any] | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, result)`` in order, ``work`` running in ``workers`` processes.

    Without ``here`` all of them are forked; with it, this process is the
    last of the ``workers`` and ``workers - 1`` are forked.

    Each worker is sent one index at a time (four queued; two when slots for
    four would pass their bound) and sends back what ``work`` returned, two
    results in a message when the next index is already there
    (:func:`_serve`); no index is handed out more than ``window`` past the
    one being waited for. An index whose ``work`` raised, or whose worker
    died, is yielded with :data:`FAILED` for the caller to redo. With
    ``slot_bytes``, a large buffer of a tuple result (``bytes``, an array) of
    at most that size comes back through shared memory, not the pipe, while
    the slots take 256 MiB or less (:mod:`dicomframe.result_slots`). Buffers
    of up to ``block`` bytes (default ``slot_bytes``; 0: none) stay in each
    worker's heap from one index to the next (:mod:`dicomframe.worker_heap`).

    With ``here``, this process is one of the workers: whenever the next result is
    not in yet, it calls ``here`` on the next index not handed out (within the
    window) instead of waiting, and yields that result as :class:`Here`; an
    error ``here`` raises is raised at its index's turn. On two cores, one
    forked worker and this process then do the frames: this process's own
    frames need no fork, no copy through shared memory and no message, and
    no third process competes for the cores with the two that convert (200
    RLE frames from the command line: 1.07x-1.11x ``gdcmconv``'s time with
    two forked workers, 1.15x with one and this process).
    """
    forked = workers - 1 if here is not None else workers
    slots, depth = slots_and_depth(forked, slot_bytes)
    job = _Ordered(indices, max(1, window), slots, depth, here)
    finished = False
    try:
        for number in range(forked):
            process = Worker(_serve, (work, slots, number, slot_bytes if block is None else block))
            job.workers.append(_Worker(process, number))
            job.feed(depth=1)  # it starts now; the next is forked meanwhile
        if here is None:  # else this process takes the next index first: a share of a short run
            job.feed()
        yield from job.results()
        finished = True
    finally:
        for worker in job.workers:
            _stop(worker, finished=finished)
        if slots is not None:
            slots.close()


def slots_and_depth(workers: int, slot_bytes: int) -> tuple[ResultSlots | None, int]:
    """The result slots of ``workers`` workers, and how many indices each may have queued.

    A worker has at most ``depth`` results not yet received, so it needs
    ``depth + 1`` slots. Four queued, unless their slots would pass the
    slots' bound (frames of tens of MB): then two, which need fewer.
    """
    for depth in (_DEPTH, _SHALLOW):
        slots = ResultSlots.make(workers, depth + 1, slot_bytes)
        if slots is not None:
            return slots, depth
    return None, _DEPTH  # through the pipe: nothing bounds the depth


def _stop(worker: _Worker, *, finished: bool) -> None:
    """Tell a worker to end (or end it, when the caller stopped early); reap it."""
    if finished and worker.alive:
        if not worker.told:
            with contextlib.suppress(OSError):  # it died: nothing to tell
                worker.conn.send(None)
    elif worker.process.is_alive():
        worker.process.terminate()
    worker.process.join()
    worker.conn.close()


def _serve(
    conn: Channel,
    work: Callable[[int], Any],
    slots: ResultSlots | None,
    number: int,
    block: int,
) -> None:
    """A forked worker of ordered_in_processes: do each index sent until told to stop.

    Results go back in batches (a list of ``(index, ok, result)``): one is
    held while the next index is already waiting, up to ``_BATCH``, and
    everything held is sent before the worker would wait. Each message wakes
    the parent on another core, which costs both sides more than the message
    itself (75 us a frame here, of which pickling is 11); two a message halve
    that, and the parent, which writes frames in order, loses nothing.

    With ``block`` (a frame's size), buffers of up to a frame stay in the
    worker's heap from one frame to the next (:mod:`dicomframe.worker_heap`).
    """
    if block:
        keep_buffers(block)
    held: list[tuple[int, bool, Any]] = []
    try:
        while (index := conn.recv()) is not None:
            try:
                result = work(index)
                held.append((index, True, result if slots is None else slots.put(number, result)))
            except INTERRUPTIONS:
                raise
            except BaseException:  # the parent does it again and reports what happened
                held.append((index, False, None))
            if len(held) >= _BATCH or not conn.waiting():
                conn.send(held)
                held = []
        if held:  # told to end: what is held goes back first
            conn.send(held)
    except EOFError:  # the parent is gone
        pass
    finally:
        conn.close()
