"""The ``dicomframe`` program's own process: set up for converting frames, ended quickly.

:func:`dicomframe.cli.run`, the console script (``dicomframe``, and ``python
-m dicomframe.cli``), runs :func:`dicomframe.cli.main` in a process that is
the program's alone, set up by :func:`own_process` and ended by
:func:`leave`. A program that calls ``cli.main(argv)`` itself keeps its own
settings; none of this happens to it.

- OpenBLAS gets no thread pool, unless numpy is loaded already or the user
  chose (``OPENBLAS_NUM_THREADS``). The commands do no linear algebra, but
  numpy's OpenBLAS starts a thread per core when numpy is imported, and each
  spins for a while looking for work: 0.1 s of CPU taken from the workers
  that convert frames on a small machine. Processes the command starts
  inherit the setting.
- Frame-sized buffers (up to 8 MiB) stay in the heap from one frame to the
  next, as in the forked workers (:mod:`dicomframe.worker_heap`): the frames
  converted in this process (the first ones, and all of them on threads) do
  not fault in fresh pages each time.
- The cyclic garbage collector is paused while the command sets itself up.
  Importing numpy, the codec registry and the codecs makes some 200,000
  objects that live as long as the process; every young collection in the
  meantime walks the newest of them, in all 10-15 ms of a 0.4 s conversion.
  A command that goes on to many files calls :func:`start_up_over` once set
  up: what start-up made is frozen (no collection walks it again, here or
  in a forked worker, whose collections would otherwise write to those
  pages and copy them) and collecting resumes. A command on one file
  (``dump``, ``extract``) ends before it would matter.
- When the command is done, the standard streams are flushed and the process
  ends with the command's exit status (:func:`leave`, the last ``atexit``
  handler), skipping the interpreter's teardown: 20 ms of freeing modules
  and objects one by one.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys

__all__ = ["leave", "own_process", "start_up_over"]

_FRAME_BUFFER = 4 << 20  # buffers of up to twice this stay in the program's heap
_paused: list[bool] = []  # [True] while own_process() holds the collector for the set-up


def start_up_over() -> None:
    """The command is set up: freeze what start-up made and collect cycles again.

    Does nothing unless :func:`own_process` paused the collector (once).
    """
    if _paused:
        _paused.clear()
        gc.freeze()
        gc.enable()


def own_process() -> None:
    """Set the process up as the module docstring says."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from dicomframe.worker_heap import keep_buffers

    keep_buffers(_FRAME_BUFFER)
    if gc.isenabled():
        gc.disable()
        _paused.append(True)


def leave(status: list[int]) -> None:
    """End the process now, with ``status[0]`` (registered with ``atexit`` before the command)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(status[0])
