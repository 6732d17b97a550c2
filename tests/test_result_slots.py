"""Large results of forked workers come back through shared memory slots, not the pipe."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

from dicomframe import executors, parallel
from dicomframe.result_slots import InSlot, ResultSlots

forking = pytest.mark.skipif(not parallel.can_fork(), reason="needs os.fork")
BIG = 1 << 17  # above the size worth a slot


def payload(index: int) -> tuple[Any, ...]:
    """What a converting worker sends: a frame's buffer, then small facts."""
    if index % 2:
        data: Any = np.arange(BIG // 2, dtype="<i2").reshape(256, -1) + index
    else:
        data = bytes([index % 256]) * BIG + index.to_bytes(4, "little")
    return data, {"index": index}, os.getpid()


def same(got: tuple[Any, ...], want: tuple[Any, ...]) -> bool:
    if isinstance(want[0], np.ndarray):
        ok = got[0].dtype == want[0].dtype and np.array_equal(got[0], want[0])
    else:
        ok = isinstance(got[0], bytes) and got[0] == want[0]
    return ok and got[1:] == want[1:]


@pytest.mark.parametrize("index", [0, 1])
def test_a_buffer_goes_through_a_slot_and_comes_back_equal(index: int) -> None:
    slots = ResultSlots(workers=2, count=3, size=2 * BIG)
    sent = slots.put(1, payload(index))
    assert isinstance(sent[0], InSlot)  # only where it lies travels
    assert sent[1:] == payload(index)[1:]
    assert same(slots.take(1, sent), payload(index))
    slots.close()


def test_slots_are_taken_in_turn_and_each_worker_has_its_own() -> None:
    slots = ResultSlots(workers=2, count=3, size=2 * BIG)
    firsts = [slots.put(0, payload(0))[0].slot for _ in range(4)]
    assert firsts == [0, 1, 2, 0]
    other = slots.put(1, payload(2))
    assert other[0].slot == 0
    assert same(slots.take(1, other), payload(2))  # worker 0's writes did not touch it
    slots.close()


def test_what_does_not_fit_or_is_small_stays_in_the_message() -> None:
    slots = ResultSlots(workers=1, count=3, size=BIG)
    big = (b"x" * (BIG + 1), 1)
    assert slots.put(0, big) == big  # larger than a slot: through the pipe
    small = (b"x" * 100, 2)
    assert slots.put(0, small) == small
    strided = (np.zeros((512, 512), np.uint8)[:, ::2], 3)
    assert slots.put(0, strided)[0] is strided[0]
    assert slots.put(0, b"not a tuple" * BIG) == b"not a tuple" * BIG
    slots.close()


@forking
@pytest.mark.parametrize("slot_bytes", [0, 2 * BIG], ids=["pipe", "slots"])
def test_ordered_processes_give_the_same_results_either_way(
    slot_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[bool] = []
    take = ResultSlots.take

    def spied(self: ResultSlots, worker: int, result: Any) -> Any:
        received.append(isinstance(result[0], InSlot))
        return take(self, worker, result)

    monkeypatch.setattr(ResultSlots, "take", spied)
    results = list(executors.ordered_in_processes(payload, range(12), 2, 4, slot_bytes=slot_bytes))
    assert [index for index, _ in results] == list(range(12))
    assert all(same(got, (*payload(index)[:2], got[2])) for index, got in results)
    assert os.getpid() not in {got[2] for _, got in results}  # made in the workers
    assert received == ([True] * 12 if slot_bytes else [])


def test_slots_past_256_mib_are_not_made() -> None:
    """Frames so large that a few per worker pass the bound go through the pipe."""
    assert ResultSlots.make(2, 3, 1 << 20) is not None
    assert ResultSlots.make(2, 3, 50 << 20) is None  # 300 MiB
    assert ResultSlots.make(2, 3, 0) is None


@pytest.mark.parametrize(
    ("slot_bytes", "depth", "slotted"),
    [
        (1 << 20, 4, True),  # a 512x512 frame: four queued, five slots each
        (30 << 20, 2, True),  # five slots each would pass 256 MiB, three do not
        (60 << 20, 4, False),  # not even three: the pipe, which bounds nothing
        (0, 4, False),
    ],
)
def test_workers_queue_fewer_indices_rather_than_lose_the_slots(
    slot_bytes: int, depth: int, slotted: bool
) -> None:
    slots, got = executors.slots_and_depth(2, slot_bytes)
    try:
        assert got == depth
        assert (slots is not None) == slotted
        if slots is not None:
            assert slots.count == depth + 1  # a slot is never written while the parent reads it
    finally:
        if slots is not None:
            slots.close()
