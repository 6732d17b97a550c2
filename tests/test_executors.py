"""ordered_in_processes with ``here``: the calling process is one of the workers (2: one forked)."""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any

import pytest

from dicomframe import executors, parallel

forking = pytest.mark.skipif(not parallel.can_fork(), reason="needs os.fork")


def slow(index: int) -> tuple[str, int, int]:
    """A forked worker's work: long enough that this process always gets a turn."""
    time.sleep(0.005)
    return ("forked", index, os.getpid())


def value(result: Any) -> Any:
    return result.value if isinstance(result, executors.Here) else result


@forking
@pytest.mark.parametrize(("count", "window"), [(2, 4), (12, 4), (12, 1), (30, 6)])
def test_this_process_works_too_in_order_within_the_window(count: int, window: int) -> None:
    yielded: list[int] = []
    taken: list[tuple[int, int]] = []  # (index done here, how many were yielded then)

    def here(index: int) -> tuple[str, int, int]:
        taken.append((index, len(yielded)))
        return ("here", index, os.getpid())

    for index, result in executors.ordered_in_processes(slow, range(count), 2, window, here=here):
        side, made, pid = value(result)
        assert made == index
        assert (side == "here") == isinstance(result, executors.Here)
        assert (pid == os.getpid()) == (side == "here")
        yielded.append(index)
    assert yielded == list(range(count))
    mine = {index for index, _ in taken}
    if window > 1:  # the first index goes to the worker; this process takes the next
        assert 1 in mine
    assert 0 not in mine
    # never past the window: an index done here was at most window - 1 past the one waited for
    assert all(index < given + window for index, given in taken)


@forking
def test_an_error_here_is_raised_at_its_turn() -> None:
    taken: list[int] = []

    def here(index: int) -> int:
        taken.append(index)
        raise ValueError(f"this process refuses {index}")

    got: list[int] = []

    def consume() -> None:
        for index, result in executors.ordered_in_processes(slow, range(10), 2, 10, here=here):
            assert value(result)[1] == index
            got.append(index)

    with pytest.raises(ValueError, match="refuses") as caught:
        consume()
    assert str(caught.value) == f"this process refuses {taken[0]}"
    assert got == list(range(taken[0]))  # everything before it, done by the worker, came first


@forking
def test_an_interruption_here_is_not_held_back() -> None:
    calls: list[int] = []

    def here(index: int) -> int:
        calls.append(index)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(executors.ordered_in_processes(slow, range(100), 2, 10, here=here))
    assert calls == [1]  # raised at once: not kept for its turn while this process went on


@forking
def test_a_dead_worker_leaves_failed_and_this_process_goes_on() -> None:
    def dying(index: int) -> int:
        if index == 0:
            os._exit(1)
        return index

    results = dict(executors.ordered_in_processes(dying, range(8), 2, 8, here=lambda i: -i))
    assert results[0] is executors.FAILED
    for index, result in results.items():
        if isinstance(result, executors.Here):
            assert result.value == -index
        else:
            assert result is executors.FAILED  # what the worker held when it died
    assert any(isinstance(result, executors.Here) for result in results.values())


class _Conn:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, message: object) -> None:
        self.sent.append(message)


class _Idle:
    """A worker as the parent sees it: alive, with a queue, and a pipe that takes indices."""

    def __init__(self) -> None:
        self.alive, self.told = True, False
        self.queued: deque[int] = deque()
        self.conn = _Conn()


@pytest.mark.parametrize(("count", "here", "queued"), [(6, True, 3), (6, False, 4), (100, True, 4)])
def test_a_worker_queues_no_more_than_its_share_when_this_process_works(
    count: int, here: bool, queued: int
) -> None:
    job = executors._Ordered(range(count), count, None, 4, here=(lambda i: i) if here else None)
    worker = _Idle()
    job.workers.append(worker)  # type: ignore[arg-type]
    job.feed()
    assert list(worker.queued) == list(range(queued))


def test_only_looking_for_results_marks_nothing_failed() -> None:
    job = executors._Ordered(range(6), 6, None, 4, here=lambda i: i)
    worker = _Idle()  # alive, nothing queued: nothing to look at, nothing lost
    job.workers.append(worker)  # type: ignore[arg-type]
    job.collect(timeout=0)
    assert (job.done, job.handed) == ({}, 0)
    worker.alive = False  # and when every worker is gone, a wait gives the rest back undone
    job.collect()
    assert job.done == dict.fromkeys(range(6), executors.FAILED)
