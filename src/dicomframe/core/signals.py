"""SIGTERM and SIGHUP that unwind, as SIGINT does: no temporary file left behind.

By default SIGTERM and SIGHUP end a Python process on the spot: no
``finally`` block runs, so a file being written through
:func:`~dicomframe.core.writer.atomic_file` leaves its temporary file
behind. Inside :func:`unwinding` they raise :class:`Terminated` in the main
thread instead, the way SIGINT raises ``KeyboardInterrupt``, and every
``finally`` block and context manager on the way out cleans up.

Only a signal whose action is still the default (end the process) is taken
over: one that is ignored (``nohup`` ignores SIGHUP) or that the application
handles itself is left as it is. Handlers are only installed from the main
thread, the only one Python runs them in, and the previous ones come back
when the block ends.

A few steps must not be cut in two: creating a temporary file and keeping
its name, removing it. Inside :func:`deferred` a signal is noted rather than
raised, and raised when the block ends. Forking a worker needs more: Python
runs at-fork handlers (logging's) in which an exception is printed and
ignored, and the child inherits the parent's handlers, so :func:`hold` blocks
SIGINT, SIGTERM and SIGHUP in the kernel (the child inherits the block too)
until :func:`release`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["TERMINATING", "Terminated", "deferred", "hold", "release", "unwind", "unwinding"]

# SIGHUP does not exist on Windows.
TERMINATING: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Terminated(SystemExit):
    """A termination signal, raised in the main thread so that clean-up code runs.

    A ``SystemExit``, not an ``Exception``: code that reports one file's
    failure and goes on (``except Exception``) lets it through, as codec
    dispatch does. Its ``code`` is 128 + the signal number, the exit status a
    shell shows for a process that a signal ended.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(128 + signum)

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}"


class _Deferral:
    """The main thread's deferral state: how deep in :func:`deferred`, and what arrived."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending: int | None = None


_STATE = _Deferral()


def unwind(signum: int, frame: FrameType | None) -> None:
    """The signal handler: raise :class:`Terminated`, or note it inside :func:`deferred`."""
    if _STATE.depth:
        _STATE.pending = signum
        return
    raise Terminated(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def unwinding() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` (module docstring).

    A no-op outside the main thread, and for a signal that is ignored or
    already handled.
    """
    previous = {}
    if _in_main_thread():
        for signum in TERMINATING:
            if signal.getsignal(signum) == signal.SIG_DFL:
                previous[signum] = signal.signal(signum, unwind)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold a termination signal until the block ends, then raise it.

    Signal handlers run only in the main thread, so other threads are never
    interrupted and need no deferring: there the block is a no-op.
    """
    if not _in_main_thread():
        yield
        return
    _STATE.depth += 1
    try:
        yield
    finally:
        _STATE.depth -= 1
        if not _STATE.depth and _STATE.pending is not None:
            signum, _STATE.pending = _STATE.pending, None
            raise Terminated(signum)  # the signal that arrived within the block


_INTERRUPTING = frozenset((signal.SIGINT, *TERMINATING))


def hold() -> set[int] | None:
    """Block SIGINT, SIGTERM and SIGHUP in this thread: they wait, pending, until :func:`release`.

    Returns the mask to give :func:`release` (None where there is no
    ``pthread_sigmask``: nothing is held there). The mask is this thread's: a
    signal sent to the process may be taken by another thread that does not
    block it (numpy's OpenBLAS pool, a native thread), and Python then runs
    its handler in the main thread at once. The ``dicomframe`` program forks
    with no other thread (it starts no OpenBLAS pool, and workers are forked
    only when no other Python thread runs), where the hold is complete.
    """
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTING))


def release(held: set[int] | None) -> None:
    """Restore the mask :func:`hold` returned; a signal that came meanwhile is handled in this call.

    ``pthread_sigmask`` runs the Python handlers of the signals it unblocks
    before it returns, so their exception (``Terminated``, ``KeyboardInterrupt``)
    is raised here.
    """
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
