"""The Dask engine of the tree commands: files converted on the workers of a cluster.

:func:`dicomframe.batch.run_jobs` comes here when given a
``distributed.Client``; nothing else imports this module, so dicomframe and
its local pool never import Dask. The client walks the tree, hands the files
out in batches (up to 16 files a task, fewer towards the end, two tasks
queued per worker thread), and collects each file's :class:`Done`: progress,
errors and the manifest stay with the client, while each output is written
atomically by the worker that converts it. Inputs and outputs must be on
storage every worker and the client see at the same paths.

A worker that dies while it converts (a codec crashing its process, a
machine lost) does not lose the batch: the scheduler hands the task to
another worker, and a batch that the scheduler gives up on
(``KilledWorker``) is sent again by the client. To tell a file that kills
every worker from the bad luck of a lost machine, a worker leaves a marker
beside each output while converting it (``.NAME.dicomframe-attempt``,
holding the run's id and the attempt's number) and removes it when the job
returns, whatever the outcome: a marker still there means that a worker died
on that file. A file is tried twice (:data:`ATTEMPTS`); a third worker that
finds the marker at 2 reports the file failed without converting it, and
goes on with the rest of its batch. The worker that tries a file again
removes the temporary file the dead one was writing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import distributed
from distributed.scheduler import KilledWorker

from dicomframe.batch_work import Done, Feed, Job, failed, measure, remove_temporaries
from dicomframe.core.record import replace

__all__ = ["ATTEMPTS", "connect", "convert_on_worker", "run_on_cluster"]

ATTEMPTS = 2  # the workers a file may take down before it is reported failed

# distributed ships without complete type information: its calls go through Any.
_dask: Any = distributed


CONNECT_TIMEOUT = 10.0  # seconds the commands wait for a scheduler before they give up


def connect(address: str, *, timeout: float | None = None) -> distributed.Client:
    """A client of the scheduler at ``address``, ``tcp://HOST:PORT``; OSError if it is not there."""
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    _reachable(address, timeout)
    if "://" not in address:
        raise ValueError(f"--scheduler {address!r}: give the scheduler's address, tcp://HOST:PORT")
    client: distributed.Client = _dask.Client(address, timeout=timeout, set_as_default=False)
    return client


def _reachable(address: str, timeout: float) -> None:
    """Fail at once, with OSError, when nothing listens at a ``tcp://`` address.

    A client that cannot connect would wait out its timeout, and leave its
    event loop's thread running in this process.
    """
    scheme, _, rest = address.partition("://")
    if scheme != "tcp":
        return
    host, _, port = rest.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"--scheduler {address!r}: give the scheduler's port, tcp://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise OSError(f"cannot reach the scheduler at {address}: {exc.strerror or exc}") from exc


def run_on_cluster(
    client: distributed.Client,
    jobs: list[tuple[Path, Path]],
    job: Job,
    finished: Callable[[Path, Path, Done], None],
    *,
    digest: bool,
) -> None:
    """Convert ``jobs`` on the cluster, calling ``finished`` with each file as its batch returns."""
    run = _Run(client, job, finished, digest)
    try:
        run.go(Feed(jobs, _threads(client)))
    finally:
        run.cancel()


class _Run:
    """One run's tasks in flight, and what to do with each when it comes back."""

    def __init__(
        self,
        client: distributed.Client,
        job: Job,
        finished: Callable[[Path, Path, Done], None],
        digest: bool,
    ) -> None:
        self._client: Any = client
        self._job, self._finished, self._digest = job, finished, digest
        self._id = uuid.uuid4().hex
        self._pending: dict[Any, tuple[list[tuple[Path, Path]], int]] = {}
        self._done: Any = _dask.as_completed()
        self._count = 0

    def go(self, feed: Feed) -> None:
        self._fill(feed)
        for future in self._done:
            chunk, sent = self._pending.pop(future)
            try:
                # A batch whose worker died after finishing it has lost its result (status
                # "lost", no error): the scheduler runs it again, and this waits for that.
                results = future.result()
            except Exception as exc:  # the task's error, KilledWorker, or its cancelling
                self._failed(exc, chunk, sent)
            else:
                for (source, target), done in zip(chunk, results, strict=True):
                    self._finished(source, target, done)
            self._fill(feed)

    def _fill(self, feed: Feed) -> None:
        """Keep two tasks queued for each worker thread the cluster has now."""
        threads = _threads(self._client)
        feed.workers = threads
        while feed.remaining and len(self._pending) < 2 * threads:
            self._submit(feed.chunk(), 0)

    def _submit(self, chunk: list[tuple[Path, Path]], sent: int) -> None:
        self._count += 1
        pairs = [(str(source), str(target)) for source, target in chunk]
        future = self._client.submit(
            convert_on_worker,
            pairs,
            self._job,
            self._digest,
            self._id,
            key=f"dicomframe-{self._id}-{self._count}",
            pure=False,
        )
        self._pending[future] = (chunk, sent)
        self._done.add(future)

    def _failed(self, exc: BaseException, chunk: list[tuple[Path, Path]], sent: int) -> None:
        """A task the cluster gave up on: sent again after a death, else its files fail."""
        # Each death raises some file's attempt count, so resending ends: 2 per file at most.
        if isinstance(exc, KilledWorker) and sent < ATTEMPTS * len(chunk):
            self._submit(chunk, sent + 1)
            return
        error = f"{type(exc).__name__}: {exc}".replace("\n", " | ")
        for source, target in chunk:
            remove_temporaries(target)
            _Marker(str(target), self._id).remove()
            self._finished(source, target, failed(error, str(source)))

    def cancel(self) -> None:
        """Cancel what is still in flight (the client was interrupted, or a callback raised)."""
        if self._pending:
            self._client.cancel(list(self._pending))
            self._pending.clear()


def convert_on_worker(
    pairs: list[tuple[str, str]], job: Job, digest: bool, run_id: str
) -> list[Done]:
    """Run on a Dask worker: one batch of files, each tried at most :data:`ATTEMPTS` times."""
    address = _dask.get_worker().address
    dones = []
    for source, target in pairs:
        marker = _Marker(target, run_id)
        tries = marker.read()
        if tries:  # a worker died converting it: remove what it was writing
            remove_temporaries(target)
        if tries >= ATTEMPTS:
            marker.remove()
            error = f"KilledWorker: the worker converting it died, {tries} times"
            done = failed(error, source)
        else:
            marker.write(tries + 1)
            try:
                done = measure(job, source, target, digest=digest)
            finally:
                marker.remove()
        dones.append(replace(done, worker=address))
    return dones


def _threads(client: Any) -> int:
    """The worker threads the cluster has now (at least 1: workers may still be starting)."""
    threads: dict[str, int] = client.nthreads()
    return max(1, sum(threads.values()))


class _Marker:
    """The file beside an output that tells how many workers started on it in this run."""

    def __init__(self, target: str, run_id: str) -> None:
        directory, name = os.path.split(target)
        self.path = os.path.join(directory, f".{name}.dicomframe-attempt")
        self.run_id = run_id

    def read(self) -> int:
        """The attempts made in this run (a marker from another run counts for none)."""
        try:
            with open(self.path, encoding="ascii") as handle:
                run_id, _, count = handle.read().partition(" ")
        except (OSError, ValueError):
            return 0
        return int(count) if run_id == self.run_id and count.strip().isdigit() else 0

    def write(self, count: int) -> None:
        """Note one more attempt; the page cache keeps it when the process dies at once after."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with open(self.path, "w", encoding="ascii") as handle:
            handle.write(f"{self.run_id} {count}")

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
