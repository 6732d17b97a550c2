"""Forked workers and their pipes: messages of any size, ends, errors and termination."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pytest

from dicomframe import forked, parallel
from dicomframe.forked import Channel, Worker, ready

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="needs os.fork")


def echo(channel: Channel) -> None:
    """Send back each message until the pipe ends."""
    while True:
        try:
            message = channel.recv()
        except EOFError:
            return
        channel.send((os.getpid(), message))


def ended(worker: Worker, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while worker.is_alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.parametrize(
    "message",
    [None, 7, "short", b"x" * (1 << 20), np.arange(300_000, dtype="<i2")],
    ids=["none", "int", "str", "1MiB-bytes", "array-past-the-pipe-buffer"],
)
def test_a_message_comes_back_whole_whatever_its_size(message: Any) -> None:
    worker = Worker(echo)
    try:
        worker.channel.send(message)
        pid, back = worker.channel.recv()
        assert pid == worker.pid != os.getpid()
        if isinstance(message, np.ndarray):
            np.testing.assert_array_equal(back, message)
        else:
            assert back == message
    finally:
        worker.channel.close()
        worker.join()
    assert not worker.is_alive()


def test_the_end_of_a_worker_reads_as_eof_and_a_send_to_it_fails() -> None:
    worker = Worker(lambda channel: None)  # ends at once
    worker.join()
    with pytest.raises(EOFError):
        worker.channel.recv()
    with pytest.raises(BrokenPipeError):  # nobody reads: a broken pipe, never a hang
        worker.channel.send(b"x" * (1 << 17))
    worker.channel.close()
    worker.channel.close()  # again: nothing


def test_ready_names_only_the_channels_with_something_to_read() -> None:
    quiet, talking = Worker(echo), Worker(echo)
    try:
        talking.channel.send("hello")
        assert ready([quiet.channel, talking.channel]) == [talking.channel]
        assert talking.channel.recv()[1] == "hello"
    finally:
        for worker in (quiet, talking):
            worker.channel.close()
            worker.join()


def test_terminate_ends_a_waiting_worker() -> None:
    worker = Worker(echo)
    worker.terminate()
    worker.join()
    assert not worker.is_alive()
    worker.terminate()  # ended: nothing to do
    worker.channel.close()


def test_a_worker_does_not_hold_its_siblings_pipes_open() -> None:
    first = Worker(echo)
    second = Worker(echo)  # forked later: it closed its copy of first's ends
    try:
        first.channel.close()  # first reads EOF only if no other process holds the write end
        assert ended(first)
    finally:
        second.channel.close()
        second.join()


def run_script(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def test_an_error_in_a_worker_is_printed_and_its_status_is_1() -> None:
    code = (
        "import os\n"
        "from dicomframe.forked import Worker\n"
        "def fail(channel):\n"
        "    raise RuntimeError('the worker broke')\n"
        "worker = Worker(fail)\n"
        "_, status = os.waitpid(worker.pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status))\n"
    )
    done = run_script(code)
    assert done.stdout.strip() == "1"
    assert "RuntimeError: the worker broke" in done.stderr


def test_an_interrupted_worker_ends_quietly() -> None:
    code = (
        "import os\n"
        "from dicomframe.forked import Worker\n"
        "def stop(channel):\n"
        "    raise KeyboardInterrupt\n"
        "worker = Worker(stop)\n"
        "worker.join()\n"
        "print(worker.is_alive())\n"
    )
    done = run_script(code)
    assert done.stdout.strip() == "False"
    assert done.stderr == ""


def test_output_buffered_before_the_fork_is_written_once() -> None:
    code = (
        "import sys\n"
        "from dicomframe.forked import Worker\n"
        "sys.stdout.write('before the fork;')\n"  # a pipe: block-buffered, not yet written
        "def child(channel):\n"
        "    pass\n"
        "Worker(child).join()\n"
        "sys.stdout.write('after')\n"
    )
    assert run_script(code).stdout == "before the fork;after"


def test_a_child_forked_by_other_code_owns_no_channel() -> None:
    """A pool's child keeps the pipe copies it inherited, but never closes them by number."""
    worker = Worker(echo)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - its status says it
            os._exit(len(forked._open))
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert worker.channel in forked._open  # this process still owns it
    finally:
        worker.channel.close()
        worker.join()
    assert worker.channel not in forked._open


def test_a_fork_that_fails_leaves_no_pipe_open(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    before = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()
    monkeypatch.setattr(os, "fork", refuse)
    with pytest.raises(BlockingIOError):
        Worker(echo)
    if before:
        assert set(os.listdir("/proc/self/fd")) <= before


class StoppedError(Exception):
    """What the test's SIGTERM handler raises (the command line raises Terminated)."""


_SIGNAL_AFTER_FORK: list[bool] = []  # on while one test runs: at-fork hooks cannot be removed


def _signal_self_after_fork() -> None:
    if _SIGNAL_AFTER_FORK:
        os.kill(os.getpid(), signal.SIGTERM)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_parent=_signal_self_after_fork)


def test_a_signal_during_the_fork_is_raised_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Raised in an at-fork handler (as logging's are), it would be printed and ignored."""

    def stop(signum: int, frame: object) -> None:
        raise StoppedError(signum)

    pids: list[int] = []
    fork = os.fork

    def recorded() -> int:
        pid = fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recorded)
    previous = signal.signal(signal.SIGTERM, stop)
    _SIGNAL_AFTER_FORK.append(True)
    try:
        with pytest.raises(StoppedError):
            Worker(echo)
    finally:
        _SIGNAL_AFTER_FORK.clear()
        signal.signal(signal.SIGTERM, previous)
    assert len(pids) == 1
    with pytest.raises(ChildProcessError):  # the worker it forked was ended and reaped
        os.waitpid(pids[0], os.WNOHANG)
    assert not forked._open


def test_a_signal_that_reaches_the_child_at_once_ends_only_the_child() -> None:
    """It comes while the child is still in Worker(): it must not run on as the parent."""
    code = (
        "import os, signal\n"
        "from dicomframe.forked import Worker\n"
        "def stop(signum, frame):\n"
        "    raise SystemExit(128 + signum)  # as the command line's handler does\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "os.register_at_fork(after_in_child=lambda: os.kill(os.getpid(), signal.SIGTERM))\n"
        "def work(channel):\n"
        "    print('the target ran', flush=True)\n"
        "worker = Worker(work)\n"
        "worker.join()\n"
        "print('status', os.waitstatus_to_exitcode(worker._status))\n"
    )
    done = run_script(code)
    assert done.stdout == "status 1\n"  # ended in the child's own try, quietly
    assert done.stderr == ""


def test_waiting_looks_without_waiting() -> None:
    worker = Worker(echo)
    try:
        started = time.monotonic()
        assert not worker.channel.waiting()  # nothing sent yet: False at once
        assert time.monotonic() - started < 5
        worker.channel.send("ping")
        assert ready([worker.channel], timeout=10_000) == [worker.channel]
        assert worker.channel.waiting()
        assert worker.channel.recv()[1] == "ping"
        assert not worker.channel.waiting()
    finally:
        worker.channel.close()  # the end: the worker returns
        worker.join()
