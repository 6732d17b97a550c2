"""One file's job as every batch engine runs it, and the files handed out in batches.

The tree commands convert each file with a *job* (:data:`Job`), wherever it
runs: in this process, on the local pool of forked workers
(:mod:`dicomframe.batch`) or on the workers of a Dask cluster
(:mod:`dicomframe.cluster`). What a worker sends back for a file is a
:class:`Done`: the job's :class:`Outcome` and what was measured where the
file was converted (time, sizes, the output's SHA-256, which process), so
that the manifest (:mod:`dicomframe.manifest`) is the same whichever engine
ran. This module imports nothing of either engine, so each can use it.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dicomframe.core.record import Record, record
from dicomframe.core.signals import Terminated

__all__ = [
    "Done",
    "Feed",
    "Job",
    "Outcome",
    "attempt",
    "convert_many",
    "failed",
    "measure",
    "remove_temporaries",
    "sha256_of",
]


@record
class Outcome(Record):
    """What a job did with one file: its error (None: converted) and what it hands back."""

    error: str | None = None
    detail: Any = None  # sent from a worker to this process: it must pickle


# A job converts one file, input and output given as strings; it runs in forked workers
# or on a cluster's (so it must pickle: a module-level function, or a functools.partial of one).
Job = Callable[[str, str], Outcome]


@record
class Done(Record):
    """What one file's job did, measured where it ran; it travels back, so it pickles.

    ``sha256`` is only computed when a manifest asks for it (reading the
    output again costs time); ``worker`` is the Dask worker's address, None
    on the local engine, where ``pid`` alone tells the process.
    """

    outcome: Outcome
    seconds: float
    bytes_in: int | None
    bytes_out: int | None
    sha256: str | None
    pid: int
    worker: str | None = None

    @property
    def where(self) -> str:
        """The worker that converted the file: its address, or ``pid N`` on this machine."""
        return self.worker if self.worker is not None else f"pid {self.pid}"


def attempt(job: Job, source: str, target: str) -> Outcome:
    """Run ``job`` on one file; any exception is that file's failure (the batch goes on).

    A backend may raise anything on a corrupt file: it is reported with its
    type, on one line.
    """
    try:
        return job(source, target)
    except Exception as exc:
        return Outcome(f"{type(exc).__name__}: {exc}".replace("\n", " | "))


def measure(job: Job, source: str, target: str, *, digest: bool) -> Done:
    """Run ``job`` on one file and measure it: the seconds it took, both sizes, the digest."""
    started = time.perf_counter()
    outcome = attempt(job, source, target)
    seconds = time.perf_counter() - started
    bytes_out = sha256 = None
    if outcome.error is None:
        bytes_out = _size(target)
        if digest and bytes_out is not None:  # None: the job wrote no output, or not there
            sha256 = sha256_of(target)
    return Done(outcome, seconds, _size(source), bytes_out, sha256, os.getpid())


def failed(error: str, source: str) -> Done:
    """A file that no job finished (its worker died, or the cluster refused its task)."""
    return Done(Outcome(error), 0.0, _size(source), None, None, os.getpid())


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, in hexadecimal, read in blocks."""
    import hashlib  # here: only a manifest needs it, and it takes 4 ms to import

    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def convert_many(pairs: list[tuple[str, str]], job: Job, digest: bool = False) -> list[Done]:
    """Run in a local worker: several files a task, so small files do not pay a round trip each."""
    try:
        return [measure(job, source, target, digest=digest) for source, target in pairs]
    except Terminated:  # the file being written has removed its temporary file on the way
        os._exit(1)


def remove_temporaries(target: str | os.PathLike[str]) -> None:
    """Remove what a worker that died writing ``target`` left: ``atomic_file``'s temporaries."""
    path = Path(target)
    for temporary in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        temporary.unlink(missing_ok=True)


class Feed:
    """The files not handed out yet, in order: one at a time, or in shrinking chunks."""

    __slots__ = ("jobs", "position", "workers")

    def __init__(self, jobs: list[tuple[Path, Path]], workers: int, position: int = 0) -> None:
        self.jobs = jobs
        self.workers = workers
        self.position = position

    @property
    def remaining(self) -> int:
        """How many files are left."""
        return len(self.jobs) - self.position

    def take(self, size: int = 1) -> list[tuple[Path, Path]]:
        """The next ``size`` files (fewer at the end)."""
        chunk = self.jobs[self.position : self.position + size]
        self.position += len(chunk)
        return chunk

    def chunk(self) -> list[tuple[Path, Path]]:
        """A worker task: up to 16 files while many remain, fewer towards the end.

        Big enough that a task's round trip (pickling the paths, a pipe or a
        scheduler) costs little next to its files; small enough at the end
        that no worker waits long for the others to finish.
        """
        return self.take(max(1, min(CHUNK, self.remaining // (4 * max(1, self.workers)))))


CHUNK = 16
