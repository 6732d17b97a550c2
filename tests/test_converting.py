"""dicomframe.converting: decode, encode and verify each frame in one step, on every core.

The codecs are zlib on a private syntax, under two names: ``zlib-a`` encodes (its
priority) and ``zlib-b`` verifies (another decoder than the encoder's). Each call is
written to a trace file with the step, the frame, the pid and the thread, so that the
tests see where each step ran, also in forked workers: verification must run in the
same worker as its frame's encoding, right after it, not in a pass afterwards.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

from dicomframe import converting, executors, parallel
from dicomframe.converting import Plan, convert_frames, iter_converted
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.core.transfer_syntax import TransferSyntax, resolve
from dicomframe.errors import CodecFallbackWarning, EncodeError, EncodingError
from dicomframe.parallel import ParallelReport
from dicomframe.plugins import Codec, CodecManager
from dicomframe.plugins.codec import Threading
from tests.plugins.fakes import PRIVATE, ZLIB, Plugin, zlib_decode, zlib_encode

forking = pytest.mark.skipif(not parallel.can_fork(), reason="needs os.fork")
NATIVE = "1.2.840.10008.1.2.1"
INFO = FrameInfo(rows=6, columns=5, bits_allocated=16, bits_stored=16, high_bit=15,
                 transfer_syntax_uid=NATIVE)  # fmt: skip


class Call(NamedTuple):
    step: str
    codec: str
    frame: int
    pid: int
    thread: int


def natives(count: int = 8) -> list[NativeFrame]:
    frames = []
    for index in range(count):
        values = np.random.default_rng(index).integers(0, 65535, 30, dtype="<u2")
        values[0] = index  # the frame says which it is, encoded or not
        frame = NativeFrame(values, INFO)
        frame.index = index
        frames.append(frame)
    return frames


def traced(name: str, trace: Path, *, threading_: Threading, priority: int = 0,
           lie_on: int | None = None, fail_on: int | None = None) -> Codec:  # fmt: skip
    """zlib under ``name``, writing each call to ``trace``; it may lie or fail on one frame."""

    def record(step: str, frame: int) -> None:
        with open(trace, "a") as handle:
            handle.write(f"{step} {name} {frame} {os.getpid()} {threading.get_ident()}\n")

    def encode(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
        index = int(frame.data[0])
        record("encode", index)
        if index == fail_on:
            raise EncodeError(f"{name} refuses frame {index}", codec=name)
        if index == lie_on:  # a stream of other pixels: only verification can tell
            frame = NativeFrame(frame.data[::-1].copy(), frame.info)
        return zlib_encode(frame, syntax, **options)

    def decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
        native = zlib_decode(frame)
        record("decode", int(native.data[-1] if lie_on is not None else native.data[0]))
        return native

    return dataclasses.replace(ZLIB, name=name, encode=encode, decode=decode,
                               threading=threading_, priority=priority)  # fmt: skip


def calls(trace: Path) -> list[Call]:
    if not trace.exists():
        return []
    rows = [line.split() for line in trace.read_text().splitlines()]
    return [Call(s, c, int(f), int(p), int(t)) for s, c, f, p, t in rows]


def pair(manager: CodecManager, trace: Path, kind: Threading, **encoder: Any) -> CodecManager:
    manager.register(
        Plugin(
            traced("zlib-a", trace, threading_=kind, priority=5, **encoder),
            traced("zlib-b", trace, threading_=kind),
        ),
        "traced",
    )
    return manager


def decoded(frame: Any) -> np.ndarray[Any, Any]:
    return zlib_decode(frame).data


# -- where each step runs -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "asked", "ran"),
    [
        (Threading.RELEASES_GIL, "threads", "threads"),
        (Threading.RELEASES_GIL, "auto", "threads"),
        pytest.param(Threading.HOLDS_GIL, "processes", "processes", marks=forking),
        pytest.param(Threading.PROCESS_ONLY, "threads", "processes", marks=forking),
        (Threading.HOLDS_GIL, "serial", "serial"),
    ],
)
def test_verification_runs_in_the_worker_right_after_each_encode(
    manager: CodecManager, tmp_path: Path, kind: Threading, asked: str, ran: str
) -> None:
    trace = tmp_path / "trace"
    frames = natives()
    report = ParallelReport()
    plan = Plan(PRIVATE, verify=True)
    converted = convert_frames(frames, plan, codecs=pair(manager, trace, kind), workers=2,
                               parallel=asked, report=report)  # type: ignore[arg-type]  # fmt: skip
    for frame, result in zip(frames, converted, strict=True):
        np.testing.assert_array_equal(decoded(result.frame), frame.data)
        assert (result.encoder, result.verifier) == ("zlib-a", "zlib-b")
        assert result.native_bytes == frame.data.nbytes
    assert report.mode == ran
    assert report.steps == {"encode": "zlib-a", "verify": "zlib-b"}
    assert report.codec == "zlib-a"
    done = calls(trace)
    for worker in {(c.pid, c.thread) for c in done}:  # each worker: encode i, verify i, ...
        steps = [(c.step, c.codec, c.frame) for c in done if (c.pid, c.thread) == worker]
        encodes = [s for s in steps if s[0] == "encode"]
        expected = [[e, ("decode", "zlib-b", e[2])] for e in encodes]
        assert steps == [step for pair in expected for step in pair]
        assert all(codec == "zlib-a" for _, codec, _ in encodes)
    assert sorted(c.frame for c in done if c.step == "decode") == list(range(len(frames)))
    later = [c for c in done if c.frame >= 1]
    if ran == "processes":  # one forked worker, and this process converting too
        assert len(report.processes) == 1
        assert os.getpid() not in report.processes
        assert {c.pid for c in later} == report.processes | {os.getpid()}
        assert threading.get_ident() in report.threads
    elif ran == "threads":
        assert {c.thread for c in later} == report.threads
        assert threading.get_ident() not in report.threads  # the pool's threads, not this one
    else:
        assert {(c.pid, c.thread) for c in later} == {(os.getpid(), threading.get_ident())}


def test_threads_convert_at_once(manager: CodecManager) -> None:
    barrier = threading.Barrier(2, timeout=10)  # passes only when two encodes run together

    def encode(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
        if frame.index in (1, 2):
            barrier.wait()
        return zlib_encode(frame, syntax)

    codec = dataclasses.replace(ZLIB, encode=encode, threading=Threading.RELEASES_GIL)
    manager.register(Plugin(codec), "barrier")
    report = ParallelReport()
    convert_frames(natives(3), Plan(PRIVATE), codecs=manager, workers=2, parallel="threads",
                   report=report)  # fmt: skip
    assert report.mode == "threads"
    assert len(report.threads) == 2


@forking
def test_a_verifier_that_holds_the_gil_makes_it_processes(
    manager: CodecManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(converting, "_FORK_FRAME_SECONDS", 0.0)  # every frame is worth forking
    monkeypatch.setattr(parallel, "_FORK_TOTAL_SECONDS", 0.0)
    trace = tmp_path / "trace"
    manager.register(
        Plugin(
            traced("zlib-a", trace, threading_=Threading.RELEASES_GIL, priority=5),
            traced("zlib-b", trace, threading_=Threading.PROCESS_ONLY),
        ),
        "traced",
    )
    report = ParallelReport()
    convert_frames(natives(), Plan(PRIVATE, verify=True), codecs=manager, workers=2,
                   report=report)  # fmt: skip
    assert report.mode == "processes"
    report = ParallelReport()
    convert_frames(natives(), Plan(PRIVATE), codecs=manager, workers=2, report=report)
    assert report.mode == "threads"  # the encoder alone releases the GIL


@forking
def test_decode_encode_and_verify_in_one_step(manager: CodecManager, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    pair(manager, trace, Threading.HOLDS_GIL)
    source = convert_frames(natives(), Plan(PRIVATE), codecs=manager, workers=1)
    trace.unlink()
    report = ParallelReport()
    rle = resolve("RLELossless")
    from dicomframe.codecs import rle as rle_plugin

    manager.register(rle_plugin, "rle")
    manager.block("pylibjpeg-rle")
    frames = [c.frame for c in source]
    converted = convert_frames(frames, Plan(rle, verify=True), codecs=manager, workers=2,
                               parallel="processes", report=report)  # fmt: skip
    assert report.steps == {"decode": "zlib-a", "encode": "rle", "verify": "rle"}
    assert report.mode == "processes"
    decodes = [c for c in calls(trace) if c.frame >= 1]
    # the source frames decoded where they were converted: the worker, and this process
    assert {c.pid for c in decodes} == report.processes | {os.getpid()}
    for result, frame in zip(converted, natives(), strict=True):
        assert isinstance(result.frame, EncapsulatedFrame)
        assert result.frame.transfer_syntax.uid == rle.uid
        np.testing.assert_array_equal(manager.decode(result.frame).data, frame.data)


def test_a_native_target_only_decodes(manager: CodecManager, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    pair(manager, trace, Threading.RELEASES_GIL)
    encoded = [c.frame for c in convert_frames(natives(), Plan(PRIVATE), codecs=manager)]
    report = ParallelReport()
    converted = convert_frames(encoded, Plan(resolve(NATIVE), verify=True), codecs=manager,
                               workers=2, parallel="threads", report=report)  # fmt: skip
    assert report.steps == {"decode": "zlib-a"}
    for result, frame in zip(converted, natives(), strict=True):
        assert isinstance(result.frame, NativeFrame)
        np.testing.assert_array_equal(result.frame.data, frame.data)
        assert result.encoder is None


def test_frames_already_in_the_target_pass_through(manager: CodecManager, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    pair(manager, trace, Threading.RELEASES_GIL)
    encoded = [c.frame for c in convert_frames(natives(), Plan(PRIVATE), codecs=manager)]
    trace.unlink()
    again = convert_frames(encoded, Plan(PRIVATE, verify=True), codecs=manager, workers=2)
    assert [c.frame for c in again] == encoded  # the same objects, byte for byte
    assert all(c.native_bytes == 0 and c.encoder is None for c in again)
    assert calls(trace) == []


# -- failures -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["serial", "threads", pytest.param("processes", marks=forking)])
def test_a_failed_verification_is_raised_here(
    manager: CodecManager, tmp_path: Path, mode: str
) -> None:
    pair(manager, tmp_path / "trace", Threading.HOLDS_GIL, lie_on=5)
    with pytest.raises(EncodingError, match=r"frame 5 .* encoded by 'zlib-a'; decoded by 'zlib-b'"):
        convert_frames(natives(), Plan(PRIVATE, verify=True), codecs=manager, workers=2,
                       parallel=mode)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize("mode", ["threads", pytest.param("processes", marks=forking)])
def test_a_frame_the_encoder_fails_on_falls_back_with_a_warning(
    manager: CodecManager, tmp_path: Path, mode: str
) -> None:
    trace = tmp_path / "trace"
    pair(manager, trace, Threading.HOLDS_GIL, fail_on=4)
    report = ParallelReport()
    with pytest.warns(CodecFallbackWarning, match="zlib-a"):
        converted = convert_frames(natives(), Plan(PRIVATE, verify=True), codecs=manager,
                                   workers=2, parallel=mode, report=report)  # type: ignore[arg-type]  # fmt: skip
    assert report.fallbacks == [4]
    assert converted[4].encoder == "zlib-b"
    assert converted[4].verifier == "zlib-a"  # not the codec that encoded it
    np.testing.assert_array_equal(decoded(converted[4].frame), natives()[4].data)


@forking
def test_a_worker_that_dies_leaves_its_frames_to_this_process(manager: CodecManager) -> None:
    def encode(frame: NativeFrame, syntax: TransferSyntax, /, **options: Any) -> EncapsulatedFrame:
        if frame.index == 3 and os.getpid() != parent:
            os._exit(3)  # a backend that takes the process down
        return zlib_encode(frame, syntax)

    parent = os.getpid()
    manager.register(Plugin(dataclasses.replace(ZLIB, encode=encode)), "dies")
    report = ParallelReport()
    converted = convert_frames(natives(), Plan(PRIVATE), codecs=manager, workers=2,
                               parallel="processes", report=report)  # fmt: skip
    assert 3 in report.fallbacks
    for result, frame in zip(converted, natives(), strict=True):
        np.testing.assert_array_equal(decoded(result.frame), frame.data)


# -- the bounded window -------------------------------------------------------------------------
def started(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


@pytest.mark.parametrize(
    "run",
    [executors.ordered_in_threads, pytest.param(executors.ordered_in_processes, marks=forking)],
)
def test_results_come_in_order_and_never_far_ahead(tmp_path: Path, run: Any) -> None:
    log = tmp_path / "started"

    def work(index: int) -> int:
        with open(log, "a") as handle:
            handle.write(f"{index}\n")
        return index * index

    window = 3
    seen = []
    for index, result in run(work, range(40), 2, window):
        assert result == index * index
        assert max(started(log)) < index + window + 1  # nothing handed out past the window
        seen.append(index)
    assert seen == list(range(40))


def _state(pid: int) -> str:
    """A process's state letter from /proc: Z once it has ended and waits to be reaped."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@forking
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states in /proc")
def test_workers_end_as_soon_as_every_index_is_handed_out() -> None:
    def work(index: int) -> tuple[int, int]:
        return index, os.getpid()

    results = executors.ordered_in_processes(work, range(12), 2, 4)
    pids = set()
    for index, (done, pid) in results:
        assert done == index
        pids.add(pid)
        if index == 11:  # the caller holds the last result: the workers need not wait for it
            deadline = time.monotonic() + 10
            while {_state(p) for p in pids} != {"Z"} and time.monotonic() < deadline:
                time.sleep(0.01)
            assert {_state(p) for p in pids} == {"Z"}
    assert len(pids) == 2


@forking
def test_a_worker_told_to_end_sends_what_it_held_first() -> None:
    # Indices come faster than results: a worker holds one while the next is queued, and the
    # end is already queued behind the last index when it finishes it.
    assert dict(executors.ordered_in_processes(lambda i: i * 3, range(9), 2, 9)) == {
        i: i * 3 for i in range(9)
    }


@forking
def test_ordered_processes_give_failed_for_what_a_worker_did_not_do() -> None:
    def work(index: int) -> int:
        if index == 2:
            raise ValueError("refused")
        if index == 5:
            os._exit(1)
        return index

    results = dict(executors.ordered_in_processes(work, range(10), 2, 4))
    failed = {i for i, result in results.items() if result is executors.FAILED}
    assert {2, 5} <= failed
    # and what the worker that died held: queued behind 5, or done and not yet sent
    assert len(failed) <= 1 + executors._DEPTH
    assert all(results[i] == i for i in range(10) if i not in failed)


@forking
def test_stopping_early_ends_the_workers(manager: CodecManager, tmp_path: Path) -> None:
    pair(manager, tmp_path / "trace", Threading.HOLDS_GIL)
    report = ParallelReport()
    results = iter_converted(natives(20), Plan(PRIVATE), codecs=manager, workers=2,
                             parallel="processes", report=report)  # fmt: skip
    next(results), next(results)
    results.close()
    assert len(report.processes) >= 1
    for pid in report.processes:  # reaped: no such process any more
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_done_is_called_for_each_converted_frame(manager: CodecManager, tmp_path: Path) -> None:
    pair(manager, tmp_path / "trace", Threading.RELEASES_GIL)
    released: list[int] = []
    list(iter_converted(natives(), Plan(PRIVATE), codecs=manager, done=released.append,
                        workers=2, parallel="threads"))  # fmt: skip
    assert sorted(released) == list(range(8))


def test_no_frames_is_nothing(manager: CodecManager) -> None:
    assert convert_frames([], Plan(PRIVATE), codecs=manager) == []


def test_wrong_options_are_refused_before_any_frame(manager: CodecManager, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    pair(manager, trace, Threading.RELEASES_GIL)
    with pytest.raises(ValueError, match="workers must be 1 or more"):
        next(iter_converted(natives(), Plan(PRIVATE), codecs=manager, workers=0))
    with pytest.raises(ValueError, match="parallel must be one of"):
        next(iter_converted(natives(), Plan(PRIVATE), codecs=manager, parallel="fibers"))  # type: ignore[arg-type]
    assert calls(trace) == []


def _native(values: np.ndarray[Any, Any], bits: int, signed: bool) -> NativeFrame:
    info = FrameInfo(
        rows=1,
        columns=values.size,
        samples_per_pixel=1,
        bits_allocated=bits,
        bits_stored=bits,
        pixel_representation=int(signed),
        photometric_interpretation="MONOCHROME2",
    )
    return NativeFrame(values.reshape(-1), info)


@pytest.mark.parametrize("dtype", ["u1", "i2", "u2", "i4", "u4"])
@pytest.mark.parametrize("size", [1, 7, 8, 64, 4099])  # whole words, and a short tail
def test_frames_match_finds_any_one_changed_value(dtype: str, size: int) -> None:
    rng = np.random.default_rng(size)
    kind = np.dtype(dtype)
    values = rng.integers(np.iinfo(kind).min, np.iinfo(kind).max, size, dtype=kind, endpoint=True)
    source = _native(values, kind.itemsize * 8, kind.kind == "i")
    assert converting.frames_match(
        _native(values.copy(), kind.itemsize * 8, kind.kind == "i"), source
    )
    for at in {0, size // 2, size - 1}:  # first, middle and last value, one bit each
        changed = values.copy()
        changed[at] ^= 1
        decoded = _native(changed, kind.itemsize * 8, kind.kind == "i")
        assert not converting.frames_match(decoded, source)


def test_frames_match_compares_values_of_different_dtypes() -> None:
    unsigned = np.array([1, 65535, 3, 4], dtype=np.uint16)
    signed = unsigned.view(np.int16)  # the same bytes, other values: -1 for 65535
    assert not converting.frames_match(_native(unsigned, 16, False), _native(signed, 16, True))


def test_same_bytes_reads_strided_arrays_by_value() -> None:
    values = np.arange(64, dtype=np.int16)
    assert converting._same_bytes(values[::2], values[::2].copy())
    assert not converting._same_bytes(values[::2], values[1::2])
