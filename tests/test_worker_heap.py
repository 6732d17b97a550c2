"""Forked workers keep frame-sized buffers in their heap: fewer page faults, same results."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from dicomframe import executors, parallel, worker_heap
from dicomframe.core.frame import NativeFrame
from dicomframe.core.frame_info import FrameInfo

forking = pytest.mark.skipif(not parallel.can_fork(), reason="needs os.fork")
glibc = pytest.mark.skipif(not worker_heap._glibc(), reason="tunes glibc's malloc only")
MIB = 1 << 20


def faults_reusing_buffers(tune: bool) -> int:
    """In a fresh process: page faults while 4 buffers of 1 MiB are made and freed, 8 times.

    A fresh process, not a fork of this one: a long-lived heap (a whole test
    run) may hold enough free memory that nothing is given back either way.
    """
    code = (
        "import resource, numpy as np\n"
        "from dicomframe import worker_heap\n"
        f"if {tune}:\n"
        "    worker_heap.keep_buffers(1 << 20)\n"
        "kept = [np.ones(1 << 20, np.uint8) for _ in range(4)]  # the first round maps them\n"
        "del kept\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(8):\n"
        "    kept = [np.ones(1 << 20, np.uint8) for _ in range(4)]\n"
        "    del kept\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return int(done.stdout)


@glibc
def test_freed_frames_stay_in_the_heap_for_the_next_one() -> None:
    untuned = faults_reusing_buffers(tune=False)
    tuned = faults_reusing_buffers(tune=True)
    # Untuned, glibc gives the 4 MiB back at each round and faults it in again: 1024 pages
    # a round. Tuned, the next round reuses them.
    assert untuned > 8 * 512
    assert tuned < untuned // 8


@glibc
def test_tuning_reports_success_on_glibc() -> None:
    pid = os.fork() if parallel.can_fork() else None
    if pid == 0:  # pragma: no cover - the child's status says it
        os._exit(0 if worker_heap.keep_buffers(3 * MIB) else 1)
    assert pid is not None
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_nothing_is_tuned_off_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_heap, "_glibc", lambda: False)
    assert worker_heap.keep_buffers(MIB) is False


@forking
@pytest.mark.parametrize(("slot_bytes", "expected"), [(3 * MIB, (3 * MIB,)), (0, ())])
def test_ordered_workers_tune_their_heap_to_the_slot_size(
    monkeypatch: pytest.MonkeyPatch, slot_bytes: int, expected: tuple[int, ...]
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(executors, "keep_buffers", calls.append)  # seen by the forked workers

    def work(index: int) -> tuple[Any, ...]:
        return index, tuple(calls), os.getpid()

    results = list(executors.ordered_in_processes(work, range(6), 2, 4, slot_bytes=slot_bytes))
    assert [index for index, _ in results] == list(range(6))
    assert all(payload[1] == expected for _, payload in results)
    assert os.getpid() not in {payload[2] for _, payload in results}  # done in the workers
    assert calls == []  # this process's allocator is left alone


@forking
def test_unordered_workers_tune_their_heap_to_the_frame_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(executors, "keep_buffers", calls.append)  # seen by the forked workers
    done = executors.in_processes(lambda index: tuple(calls), range(4), 2, block=5 * MIB)
    assert sorted(done) == [0, 1, 2, 3]
    assert set(done.values()) == {(5 * MIB,)}
    assert calls == []


@forking
def test_parallel_decoding_workers_are_told_the_frame_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, int] = {}
    real = executors.in_processes

    def spied(work: Any, indices: range, workers: int, *, block: int = 0, **more: Any) -> Any:
        seen["block"] = block
        seen["slot_bytes"] = more.get("slot_bytes", 0)
        return real(work, indices, workers, block=block, **more)

    monkeypatch.setattr(parallel, "in_processes", spied)
    info = FrameInfo(rows=48, columns=64, bits_allocated=16, bits_stored=16, high_bit=15)
    frames = [NativeFrame(np.full(64 * 48, i, "<u2"), info) for i in range(6)]
    encoded = parallel.encode_frames(frames, "RLELossless", codec="rle", parallel="processes")
    assert seen["block"] == info.bytes_per_frame == 64 * 48 * 2
    # encoded frames come back through shared memory: a worker whose result waited in a
    # full pipe would stop while this process encodes a frame of its own
    assert seen["slot_bytes"] > info.bytes_per_frame
    seen.clear()
    decoded = parallel.decode_frames(encoded, codec="rle", parallel="processes")
    assert seen["block"] == info.bytes_per_frame
    assert [int(frame[0, 0]) for frame in decoded] == list(range(6))
