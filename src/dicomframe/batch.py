"""Convert a file or a directory tree: the engine behind ``transcode`` and ``deidentify``.

A directory is walked recursively and mirrored under the destination; every
file goes through one job (:func:`run` transcodes with
:func:`dicomframe.streaming.transcode_file`; :func:`run_jobs` takes any job,
such as de-identification's) that writes its output atomically, never over
its input, in a pool of worker processes. A file that fails is reported
with its error while the others go on.

Only regular files are opened: a FIFO in a tree would block the open until
some process writes to it, and a device (``/dev/zero``) never ends, so
FIFOs, sockets, devices and symbolic links that lead nowhere are skipped,
with what they are, found by ``stat`` alone. Files that are not DICOM are
skipped too. An output that already exists is kept unless ``overwrite`` is
given, so running a tree again resumes it. A file named on its own is always
tried: a non-regular one, or one whose output exists, fails instead.

Two engines run the jobs, both on the worker functions of
:mod:`dicomframe.batch_work`: by default the local pool (this process, or
processes it forks), and with ``executor=`` a ``concurrent.futures.Executor``
or a Dask ``distributed.Client`` (:mod:`dicomframe.cluster`, imported only
then). ``manifest=`` writes one JSON line per input and, run again, keeps only
the outputs it can verify (:mod:`dicomframe.manifest`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from dicomframe.batch_work import (
    Done,
    Feed,
    Job,
    Outcome,
    convert_many,
    failed,
    measure,
    remove_temporaries,
)
from dicomframe.core.signals import unwind
from dicomframe.core.source import file_kind

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from dicomframe.manifest import Previous, Writer

__all__ = ["NOT_DICOM", "BatchResult", "Job", "Outcome", "plan", "run", "run_jobs"]

NOT_DICOM = "not DICOM"  # the reason a skipped file was skipped, when it is not DICOM


@dataclass
class BatchResult:
    """What a batch did; every list holds input paths."""

    converted: int = 0
    # Inputs left alone, and why: NOT_DICOM, or what they are ("a FIFO, not a regular file").
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    existing: list[Path] = field(default_factory=list)  # their output was there and was kept
    failed: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1  # the processes that converted files: this one and those it forked
    # Which worker converted how many files: a Dask worker's address, or "pid N" here.
    ran_on: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    def summary(self, done: str = "converted") -> str:
        """The tree commands' last line: what happened to every file, by outcome."""
        not_dicom = sum(why == NOT_DICOM for _, why in self.skipped)
        return (
            f"{self.converted} {done}, {len(self.failed)} failed, "
            f"{not_dicom} skipped (not DICOM), "
            f"{len(self.skipped) - not_dicom} skipped (not a regular file), "
            f"{len(self.existing)} kept (output exists) in {self.seconds:.1f} s\n"
        )


def _not_regular(path: Path) -> str | None:
    """What ``path`` is when it is not a regular file (after symbolic links), else None.

    Only ``stat`` is called, never ``open``: opening a FIFO waits for a writer.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        if os.path.islink(path):  # to nothing, or a loop
            return "a symbolic link that leads to no file"
        return None  # gone, or unreadable: opening it says why
    if stat.S_ISREG(mode):
        return None
    return f"{file_kind(mode)}, not a regular file"


def _looks_like_dicom(path: Path) -> bool:
    """DICM after the preamble, or a .dcm/.dicom name; only called on regular files."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM" or path.suffix.lower() in (".dcm", ".dicom")


def plan(src: Path, dst: Path) -> Iterator[tuple[Path, Path]]:
    """The (input, output) pairs: one file, or a tree mirrored under ``dst``.

    A destination inside the source tree is not walked: a second run does not
    transcode the first run's output.
    """
    if not src.is_dir():  # a file, or something that is not one: it is tried and reported
        yield src, (dst / src.name if dst.is_dir() else dst)
        return
    if src.resolve() == dst.resolve():
        raise ValueError(f"{dst} is the source directory: choose another output directory")
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if (Path(root) / d).resolve() != dst.resolve())
        for name in sorted(files):
            source = Path(root) / name
            yield source, dst / source.relative_to(src)


def _convert_one(source: str, target: str, syntax: str, options: dict[str, Any]) -> str | None:
    """Run in a worker: transcode one file; return an error line, or None on success.

    Any exception is this file's failure, reported with its type while the
    batch goes on: a backend may raise anything on a corrupt file.
    """
    from dicomframe.streaming import transcode_file

    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        transcode_file(source, target, syntax, **options)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".replace("\n", " | ")
    return None


def _transcode_job(source: str, target: str, *, syntax: str, options: dict[str, Any]) -> Outcome:
    """The transcode job: :func:`_convert_one`, looked up when called."""
    return Outcome(_convert_one(source, target, syntax, options))


def run(  # noqa: PLR0913 - every option is keyword-only
    src: Path,
    dst: Path,
    syntax: str,
    *,
    workers: int = 1,
    overwrite: bool = False,
    options: dict[str, Any] | None = None,
    report: Callable[[Path, str], None] | None = None,
    progress: TextIO | None = None,
    executor: Any = None,
    manifest: str | os.PathLike[str] | None = None,
) -> BatchResult:
    """Transcode ``src`` (file or tree) into ``dst``; see the module docstring.

    ``overwrite`` replaces outputs that exist (never an input); ``report`` is
    called with each failed file and its error as soon as it is known;
    ``executor`` and ``manifest`` are :func:`run_jobs`'s.
    """
    options = options or {}
    # Files already fill the workers: each one's frames convert in its own worker
    # only, not on further processes forked per file (2 x 2 on 2 cores thrashes).
    return run_jobs(
        src,
        dst,
        partial(_transcode_job, syntax=syntax, options=options),
        pool_job=partial(_transcode_job, syntax=syntax, options={**options, "workers": 1}),
        workers=workers,
        overwrite=overwrite,
        report=report,
        progress=progress,
        executor=executor,
        manifest=manifest,
        syntax=syntax,
    )


def run_jobs(  # noqa: PLR0913 - every option is keyword-only
    src: Path,
    dst: Path,
    job: Job,
    *,
    pool_job: Job | None = None,
    workers: int = 1,
    overwrite: bool = False,
    report: Callable[[Path, str], None] | None = None,
    progress: TextIO | None = None,
    collect: Callable[[Path, Any], None] | None = None,
    executor: Any = None,
    manifest: str | os.PathLike[str] | None = None,
    syntax: str | None = None,
) -> BatchResult:
    """Run ``job`` on each file of ``src`` (file or tree), its output under ``dst``.

    ``pool_job`` is what workers run instead (default ``job``); ``collect``
    is called with each converted file and its :class:`Outcome` detail (when
    not None) as soon as it is known, so that a long run's details need not
    be held. ``executor``, a ``concurrent.futures.Executor`` or a
    ``distributed.Client``, runs the files instead of the local pool
    (``workers`` is then the executor's business). ``manifest`` is the JSON
    lines file written, and read first to resume (:mod:`dicomframe.manifest`);
    ``syntax``, the transfer syntax of the outputs, is what an output kept
    without a manifest line must be in. The other arguments are :func:`run`'s.
    """
    started = time.perf_counter()
    result = BatchResult()
    with contextlib.ExitStack() as stack:
        writer, previous = _open_manifest(stack, manifest, overwrite=overwrite)
        triage = _Triage(result, writer, previous, syntax, overwrite=overwrite)
        jobs = triage.walk(src, dst)
        if report is not None:
            for source, error in result.failed:
                report(source, error)
        finished = _Tally(result, len(jobs), report, progress, collect, writer)
        if executor is not None:
            result.workers = _run_elsewhere(executor, jobs, pool_job or job, finished)
        elif workers <= 1 or len(jobs) <= 1:
            for source, target in jobs:
                finished(
                    source, target, measure(job, str(source), str(target), digest=finished.digest)
                )
        else:
            result.workers = _run_pool(jobs, pool_job or job, workers, finished)
        if progress is not None:
            progress.write("\n")
    result.seconds = time.perf_counter() - started
    return result


def _open_manifest(
    stack: contextlib.ExitStack, manifest: str | os.PathLike[str] | None, *, overwrite: bool
) -> tuple[Writer | None, Previous | None]:
    """The manifest's writer, and the previous one's lines (read first: it is replaced)."""
    if manifest is None:
        return None, None
    from dicomframe.core.writer import atomic_file
    from dicomframe.manifest import Previous, Writer

    previous = None if overwrite else Previous.load(manifest)
    Path(manifest).parent.mkdir(parents=True, exist_ok=True)
    return Writer(stack.enter_context(atomic_file(manifest))), previous


def _run_elsewhere(executor: Any, jobs: list[tuple[Path, Path]], job: Job, finished: _Tally) -> int:
    """Run on a Dask client or a caller's executor; return how many workers converted files."""
    from concurrent.futures import Executor  # here: one file on one process never needs it

    if type(executor).__module__.split(".")[0] == "distributed":
        from dicomframe.cluster import run_on_cluster

        run_on_cluster(executor, jobs, job, finished, digest=finished.digest)
    elif isinstance(executor, Executor):
        workers = getattr(executor, "_max_workers", None) or os.cpu_count() or 1
        feed = Feed(jobs, workers)
        with _Pool(workers, job, finished, executor=executor) as pool:
            pool.fill(feed)
            while pool.collect():
                pool.fill(feed)
    else:
        raise TypeError(
            f"executor must be a concurrent.futures.Executor or a distributed.Client, "
            f"not {type(executor).__name__}"
        )
    return len(finished.result.ran_on)


class _Tally:
    """Counts each file as it finishes, reports its error and redraws the progress bar."""

    __slots__ = ("collect", "done", "progress", "report", "result", "total", "writer")

    def __init__(
        self,
        result: BatchResult,
        total: int,
        report: Callable[[Path, str], None] | None,
        progress: TextIO | None,
        collect: Callable[[Path, Any], None] | None,
        writer: Writer | None = None,
    ) -> None:
        self.result = result
        self.total = total
        self.report = report
        self.progress = progress
        self.collect = collect
        self.writer = writer
        self.done = 0

    @property
    def digest(self) -> bool:
        """Whether workers compute each output's SHA-256: a manifest records it."""
        return self.writer is not None

    def __call__(self, source: Path, target: Path, done: Done) -> None:
        self.done += 1
        outcome = done.outcome
        if outcome.error is None:
            self.result.converted += 1
            self.result.ran_on[done.where] = self.result.ran_on.get(done.where, 0) + 1
            if outcome.detail is not None and self.collect is not None:
                self.collect(source, outcome.detail)
        else:
            self.result.failed.append((source, outcome.error))
            if self.report is not None:
                self.report(source, outcome.error)
        if self.writer is not None:
            from dicomframe.manifest import record_of

            self.writer.write(record_of(source, target, done))
        if self.progress is not None:
            _draw(self.progress, self.done, self.total, len(self.result.failed))


_Where = Literal["convert", "skipped", "existing", "failed"]


class _Triage:
    """Sorts the files: those to convert, the others to ``result`` (and the manifest)."""

    __slots__ = ("overwrite", "previous", "result", "syntax", "writer")

    def __init__(
        self,
        result: BatchResult,
        writer: Writer | None,
        previous: Previous | None,
        syntax: str | None,
        overwrite: bool,
    ) -> None:
        self.result = result
        self.writer = writer
        self.previous = previous  # with a manifest: an existing output is kept only if verified
        self.syntax = syntax
        self.overwrite = overwrite

    def walk(self, src: Path, dst: Path) -> list[tuple[Path, Path]]:
        """The (input, output) pairs to convert."""
        jobs = []
        walked = src.is_dir()
        for source, target in plan(src, dst):
            where, why = _triage(source, target, walked=walked, overwrite=self.overwrite)
            if where == "existing" or (where == "failed" and why.endswith(_EXISTS)):
                where = self._existing(source, target, walked=walked)
                if where == "failed":
                    self._failed(source, target, f"{target}{_EXISTS}")
            elif where == "skipped":
                self.result.skipped.append((source, why))
                self._line(source, None, "skipped", why)
            elif where == "failed":
                self._failed(source, target, why)
            if where == "convert":
                jobs.append((source, target))
        return jobs

    def _existing(self, source: Path, target: Path, *, walked: bool) -> _Where:
        """Kept (a tree, without a manifest; or verified), converted again, or failed."""
        if self.previous is None:
            if not walked:
                return "failed"
            self.result.existing.append(source)
            return "existing"
        sha256 = self.previous.verified(source, target, self.syntax)
        if sha256 is None:
            return "convert"  # not verified: converted again, atomically
        self.result.existing.append(source)
        if self.writer is not None:
            from dicomframe.manifest import kept

            self.writer.write(kept(source, target, sha256))
        return "existing"

    def _failed(self, source: Path, target: Path, why: str) -> None:
        self.result.failed.append((source, why))
        self._line(source, target, "failed", why)

    def _line(self, source: Path, target: Path | None, status: Any, why: str) -> None:
        if self.writer is not None:
            from dicomframe.manifest import untouched

            self.writer.write(untouched(source, target, status, why))


_EXISTS = " exists: give --overwrite to replace it"


def _triage(source: Path, target: Path, *, walked: bool, overwrite: bool) -> tuple[_Where, str]:
    """Where one file goes, and why: converted, skipped, existing (output kept) or failed.

    What a tree walk skips, a file named on its own fails with, so that it is
    reported rather than passed over.
    """
    irregular = _not_regular(source)
    if irregular is not None:
        return ("skipped" if walked else "failed"), irregular
    if walked and not _looks_like_dicom(source):
        return "skipped", NOT_DICOM
    if _same_file(source, target):
        return "failed", "refusing to overwrite the input"
    if os.path.lexists(target) and not overwrite:
        if walked:
            return "existing", ""
        return "failed", f"{target}{_EXISTS}"
    return "convert", ""


def _same_file(source: Path, target: Path) -> bool:
    """Whether ``target`` is ``source`` (a hard or symbolic link to it, or the same path)."""
    try:
        return os.path.samefile(source, target)
    except OSError:  # no target yet
        return False


def _start_worker() -> None:
    """Run in each new worker: SIGTERM unwinds (removing temporary files) instead of killing.

    The pool stops its workers with SIGTERM when one of them has died.
    """
    signal.signal(signal.SIGTERM, unwind)


_WARM_UP = 8  # files converted here before forking, at most, when they keep failing


def _run_pool(
    jobs: list[tuple[Path, Path]],
    job: Job,
    workers: int,
    finished: _Tally,
) -> int:
    """Convert on up to ``workers`` forked processes; return how many there were.

    This process converts the first file itself (the next ones too while
    they fail, up to a few): what a conversion loads on first use (plugins,
    codec backends) is then loaded once, here, and the workers forked
    afterwards start with it. This process then only hands out files and
    collects results, so every error is reported as soon as it is known; a
    worker that dies (a backend crashing on a file) fails the files the
    workers held then, and new workers convert the rest.
    """
    feed = Feed(jobs, workers)

    def here() -> bool:
        ((source, target),) = feed.take()
        done = measure(job, str(source), str(target), digest=finished.digest)
        finished(source, target, done)
        return done.outcome.error is None

    while feed.remaining and not here() and feed.position < _WARM_UP:
        pass
    used = 1
    while feed.remaining:  # a pool breaks when a worker dies: the next one takes the rest
        used = max(used, min(workers, feed.remaining))
        with _Pool(min(workers, feed.remaining), job, finished) as pool:
            pool.fill(feed)
            while pool.collect():
                pool.fill(feed)
    return used


class _Pool:
    """Worker processes, each with up to two tasks queued so none waits for work.

    Forked here by default; or a caller's executor, which is neither shut
    down nor replaced: once it breaks, the files not handed out fail.
    """

    def __init__(
        self,
        children: int,
        job: Job,
        finished: _Tally,
        executor: Executor | None = None,
    ) -> None:
        self._owned = executor is None
        if executor is None:
            executor = _fork_pool(children)
        self._executor = executor
        self._children = children
        self._job, self._finished = job, finished
        self._pending: dict[Future[list[Done]], list[tuple[Path, Path]]] = {}
        self._broken = False
        self._lost: list[Path] = []

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self._executor.shutdown(wait=True, cancel_futures=True)
        for target in self._lost:  # a worker stopped as it created one leaves it behind
            remove_temporaries(target)

    def fill(self, feed: Feed) -> None:
        """Hand out chunks until every worker has two queued."""
        from concurrent.futures import BrokenExecutor

        while not self._broken and feed.remaining and len(self._pending) < 2 * self._children:
            chunk = feed.chunk()
            pairs = [(str(source), str(target)) for source, target in chunk]
            try:
                future = self._executor.submit(
                    convert_many, pairs, self._job, self._finished.digest
                )
            except BrokenExecutor as exc:  # a worker died: a new pool takes this chunk
                self._broken = True
                if self._owned:
                    feed.position -= len(chunk)
                    return
                for source, target in [*chunk, *feed.take(feed.remaining)]:
                    error = f"{type(exc).__name__}: {exc}"
                    self._finished(source, target, failed(error, str(source)))
                return
            self._pending[future] = chunk

    def collect(self) -> bool:
        """Wait for a task, report its files; False once no task is left."""
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as futures_wait

        if not self._pending:
            return False
        ready, _ = futures_wait(self._pending, return_when=FIRST_COMPLETED)
        for future in ready:
            chunk = self._pending.pop(future)
            try:
                dones = future.result()
            except Exception as exc:  # a worker that died: report its files, go on
                error = f"{type(exc).__name__}: {exc}"
                dones = [failed(error, str(source)) for source, _ in chunk]
                self._lost.extend(target for _, target in chunk)
            for (source, target), done in zip(chunk, dones, strict=True):
                self._finished(source, target, done)
        return True


def _fork_pool(children: int) -> Executor:
    """A process pool, forked where that is safe: the workers start with what this one loaded."""
    import multiprocessing  # here: a run on one process does not need it
    from concurrent.futures import ProcessPoolExecutor

    from dicomframe.parallel import can_fork

    context = multiprocessing.get_context("fork") if can_fork() else None
    return ProcessPoolExecutor(max_workers=children, mp_context=context, initializer=_start_worker)


def _draw(stream: TextIO, done: int, total: int, failed: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    stream.write(f"\r[{bar}] {done}/{total} files, {failed} failed")
    stream.flush()


def default_progress() -> TextIO | None:
    """Stderr when it is a terminal, so pipes and logs get no progress bar."""
    return sys.stderr if sys.stderr.isatty() else None
