"""Forked worker processes and the pipes to them, without :mod:`multiprocessing`.

Importing :mod:`multiprocessing` and its connection module takes about 20 ms
in a fresh process (they bring ``socket``, ``selectors``, ``tempfile``,
``shutil``, ``bz2``, ``lzma`` and ``subprocess``): a twentieth of a
200-frame RLE transcode from the command line. A converting worker needs
less: :func:`os.fork`, a pipe each way carrying pickled messages with their
length in front (:class:`Channel`), :func:`ready` to wait on several with
``poll``, and :func:`os.waitpid`. ``pickle`` is loaded by numpy anyway.

A worker ends with :func:`os._exit`: it never runs the parent's ``atexit``
handlers, nor flushes buffers it inherited (this process flushes its own
streams before forking, so nothing is written twice). An interruption
(Ctrl-C, SIGTERM) ends it quietly; any other error that escapes its target
is printed to stderr, and its exit status is 1. Interruptions are held while
the process forks, and raised in this process right after.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from dicomframe.core import signals

__all__ = ["Channel", "Worker", "ready"]

_LENGTH = 8  # bytes of the little-endian length in front of each message


class Channel:
    """One side of a worker's pair of pipes: pickled messages in and out, in order."""

    __slots__ = ("_in", "_out")

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._in = read_fd
        self._out = write_fd
        _open.add(self)

    def fileno(self) -> int:
        """The descriptor to wait on for the next message."""
        return self._in

    def send(self, message: object) -> None:
        """Pickle ``message`` and write it whole (OSError: the other side is gone)."""
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(self._out, len(data).to_bytes(_LENGTH, "little") + data)

    def recv(self) -> Any:
        """The next message, waiting for it (EOFError: the other side is gone)."""
        size = int.from_bytes(_read_exactly(self._in, _LENGTH), "little")
        return pickle.loads(_read_exactly(self._in, size))

    def waiting(self) -> bool:
        """Whether a message (or the end) can be read now, without waiting."""
        return bool(ready((self,), timeout=0))

    def close(self) -> None:
        """Close both pipes (again: nothing)."""
        _open.discard(self)
        for fd in (self._in, self._out):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._in = self._out = -1


# This process's channels to its workers. A new worker closes its copies at once: a worker
# that kept the write end of an older one's pipe would keep that one from ever reading EOF.
# Any forked child starts with none of its own: one forked by other code (a process pool)
# keeps the copies it inherited, as it would have, but never closes them by number later.
_open: set[Channel] = set()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_open.clear)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = os.readv(fd, [view[got:]])
        if count == 0:
            raise EOFError("the worker's pipe was closed")
        got += count
    return buffer


def ready(channels: Sequence[Channel], timeout: int | None = None) -> list[Channel]:
    """The channels with a message (or an end) to read, waiting until there is one.

    ``timeout`` (milliseconds) bounds the wait; 0 only looks.
    """
    poller = select.poll()
    by_fd = {channel.fileno(): channel for channel in channels}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    return [by_fd[fd] for fd, _ in poller.poll(timeout)]


class Worker:
    """A forked process running ``target(channel, *args)``, and this process's channel to it."""

    channel: Channel
    pid: int

    def __init__(self, target: Callable[..., object], args: Sequence[Any] = ()) -> None:
        """Fork now; the child closes its copies of this process's other channels."""
        inherited = list(_open)  # cleared in the child by the fork
        to_child = os.pipe()
        from_child = os.pipe()
        for stream in (sys.stdout, sys.stderr):  # written once, here, not again by the child
            with contextlib.suppress(Exception):
                stream.flush()
        held = signals.hold()  # see core.signals: none is lost in an at-fork handler
        try:
            pid = os.fork()
        except OSError:  # no process to be had (EAGAIN, ENOMEM): no pipe left open either
            for fd in (*to_child, *from_child):
                os.close(fd)
            signals.release(held)
            raise
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            _run(target, args, held, (to_child, from_child), inherited)
        os.close(to_child[0])
        os.close(from_child[1])
        self.pid = pid
        self.channel = Channel(from_child[0], to_child[1])
        self._status: int | None = None
        try:
            signals.release(held)  # a signal that came during the fork is raised now, here
        except BaseException:
            self.terminate()
            self.join()
            self.channel.close()
            raise

    def is_alive(self) -> bool:
        """Whether the process still runs (a finished one is reaped here)."""
        if self._status is not None:
            return False
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere
            pid, status = self.pid, 0
        if pid == 0:
            return True
        self._status = status
        return False

    def terminate(self) -> None:
        """Send SIGTERM (nothing if it has ended)."""
        if self.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)

    def join(self) -> None:
        """Wait for the process to end, and reap it."""
        if self._status is None:
            try:
                _, self._status = os.waitpid(self.pid, 0)
            except ChildProcessError:  # reaped elsewhere
                self._status = 0


def _run(
    target: Callable[..., object],
    args: Sequence[Any],
    held: set[int] | None,
    pipes: tuple[tuple[int, int], tuple[int, int]],
    inherited: Sequence[Channel],
) -> NoReturn:
    """In the child: run ``target``, then end the process without the parent's clean-up.

    Everything from the fork on happens inside this ``try``: the interruptions
    are still held when it starts, so one that comes early (the parent ending
    its workers) ends this process here, never in the parent's code.
    """
    code = 1
    try:
        signals.release(held)
        (to_child, from_child) = pipes
        os.close(to_child[1])
        os.close(from_child[0])
        for channel in inherited:
            channel.close()
        target(Channel(to_child[0], from_child[1]), *args)
        code = 0
    except (KeyboardInterrupt, SystemExit):  # interrupted, or SIGTERM (core.signals): quietly
        pass
    except BaseException:
        with contextlib.suppress(Exception):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)
