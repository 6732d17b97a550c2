"""Where many frames are worked on: threads of this process, or forked processes.

:func:`in_threads` runs a function over frame indices on threads (the calling
thread is one of them) and re-raises the first error; :func:`in_processes`
forks workers that take chunks of indices and send back what they made, so
that an index that failed, or whose process died, is simply missing and the
caller redoes it through the registry. :func:`shared_empty` is an output array
the forked workers write into. :mod:`dicomframe.parallel` decides which to use.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from dicomframe.plugins.codec import INTERRUPTIONS

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["in_processes", "in_threads", "shared_empty"]

Array = np.ndarray[Any, Any]


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


def in_processes(work: Callable[[int], Any], indices: range, workers: int) -> dict[int, Any]:
    """Run ``work`` over ``indices`` in ``workers`` forked processes.

    Returns what ``work`` returned for each index it completed; an index that
    raised, or whose process died, is missing, for the caller to redo.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("fork")
    claimed = context.Value("q", 0)  # how many of ``indices`` the children have taken
    chunk = max(1, len(indices) // (workers * 8))
    processes, readers = [], []
    for _ in range(workers):
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(
            target=_child, args=(writer, claimed, indices, chunk, work), daemon=True
        )
        process.start()
        writer.close()
        processes.append(process)
        readers.append(reader)
    results: dict[int, Any] = {}
    try:
        while readers:
            for ready in wait(readers):
                reader = cast("Connection", ready)
                try:
                    index, payload = reader.recv()
                except EOFError:
                    readers.remove(reader)
                    reader.close()
                    continue
                results[index] = payload
    finally:
        for process in processes:
            if process.is_alive() and readers:  # interrupted: stop the others
                process.terminate()
            process.join()
    return results


def _child(
    conn: Connection, claimed: Any, indices: range, chunk: int, work: Callable[[int], Any]
) -> None:
    """A forked worker: take chunks of ``indices`` until none is left; send each result."""
    try:
        while True:
            with claimed.get_lock():
                start = claimed.value
                claimed.value = start + chunk
            if start >= len(indices):
                return
            for index in indices[start : start + chunk]:
                try:
                    payload = work(index)
                except INTERRUPTIONS:
                    raise
                except BaseException:  # the parent does it again and reports what happened
                    continue
                conn.send((index, payload))
    finally:
        conn.close()
