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
"""

from __future__ import annotations

import glob
import os
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal, TextIO

from dicomframe.core.signals import Terminated, unwind
from dicomframe.core.source import file_kind

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


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a job did with one file: its error (None: converted) and what it hands back."""

    error: str | None = None
    detail: Any = None  # sent from a worker to this process: it must pickle


# A job converts one file, input and output given as strings; it runs in forked workers
# (so it must pickle: a module-level function, or a functools.partial of one).
Job = Callable[[str, str], Outcome]


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
) -> BatchResult:
    """Transcode ``src`` (file or tree) into ``dst``; see the module docstring.

    ``overwrite`` replaces outputs that exist (never an input); ``report`` is
    called with each failed file and its error as soon as it is known.
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
) -> BatchResult:
    """Run ``job`` on each file of ``src`` (file or tree), its output under ``dst``.

    ``pool_job`` is what forked workers run instead (default ``job``);
    ``collect`` is called with each converted file and its :class:`Outcome`
    detail (when not None) as soon as it is known, so that a long run's
    details need not be held; the other arguments are :func:`run`'s.
    """
    started = time.perf_counter()
    result = BatchResult()
    jobs = _jobs(src, dst, result, overwrite=overwrite)
    if report is not None:
        for source, error in result.failed:
            report(source, error)
    finished = _Tally(result, len(jobs), report, progress, collect)
    if workers <= 1 or len(jobs) <= 1:
        for source, target in jobs:
            finished(source, _attempt(job, str(source), str(target)))
    else:
        result.workers = _run_pool(jobs, pool_job or job, workers, finished)
    if progress is not None:
        progress.write("\n")
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class _Tally:
    """Counts each file as it finishes, reports its error and redraws the progress bar."""

    result: BatchResult
    total: int
    report: Callable[[Path, str], None] | None
    progress: TextIO | None
    collect: Callable[[Path, Any], None] | None
    done: int = 0

    def __call__(self, source: Path, outcome: Outcome) -> None:
        self.done += 1
        if outcome.error is None:
            self.result.converted += 1
            if outcome.detail is not None and self.collect is not None:
                self.collect(source, outcome.detail)
        else:
            self.result.failed.append((source, outcome.error))
            if self.report is not None:
                self.report(source, outcome.error)
        if self.progress is not None:
            _draw(self.progress, self.done, self.total, len(self.result.failed))


def _attempt(job: Job, source: str, target: str) -> Outcome:
    """Run ``job`` on one file; any exception is that file's failure (the batch goes on)."""
    try:
        return job(source, target)
    except Exception as exc:
        return Outcome(f"{type(exc).__name__}: {exc}".replace("\n", " | "))


def _jobs(src: Path, dst: Path, result: BatchResult, *, overwrite: bool) -> list[tuple[Path, Path]]:
    """The files to convert; the others go to ``result`` as skipped, existing or failed."""
    jobs = []
    walked = src.is_dir()
    for source, target in plan(src, dst):
        where, why = _triage(source, target, walked=walked, overwrite=overwrite)
        if where == "skipped":
            result.skipped.append((source, why))
        elif where == "existing":
            result.existing.append(source)
        elif where == "failed":
            result.failed.append((source, why))
        else:
            jobs.append((source, target))
    return jobs


_Where = Literal["convert", "skipped", "existing", "failed"]


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
        return "failed", f"{target} exists: give --overwrite to replace it"
    return "convert", ""


def _same_file(source: Path, target: Path) -> bool:
    """Whether ``target`` is ``source`` (a hard or symbolic link to it, or the same path)."""
    try:
        return os.path.samefile(source, target)
    except OSError:  # no target yet
        return False


def _convert_many(pairs: list[tuple[str, str]], job: Job) -> list[Outcome]:
    """Run in a worker: several files per task, so small files do not pay a round trip each."""
    try:
        return [_attempt(job, source, target) for source, target in pairs]
    except Terminated:  # the file being written has removed its temporary file on the way
        os._exit(1)


def _start_worker() -> None:
    """Run in each new worker: SIGTERM unwinds (removing temporary files) instead of killing.

    The pool stops its workers with SIGTERM when one of them has died.
    """
    signal.signal(signal.SIGTERM, unwind)


@dataclass
class _Feed:
    """The files not handed out yet, in order: one at a time, or in shrinking chunks."""

    jobs: list[tuple[Path, Path]]
    workers: int
    position: int = 0

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

        Big enough that a task's round trip (pickling the paths, a pipe)
        costs little next to its files; small enough at the end that no
        process waits long for the others to finish.
        """
        return self.take(max(1, min(_CHUNK, self.remaining // (4 * self.workers))))


_CHUNK = 16
_WARM_UP = 8  # files converted here before forking, at most, when they keep failing


def _run_pool(
    jobs: list[tuple[Path, Path]],
    job: Job,
    workers: int,
    finished: Callable[[Path, Outcome], None],
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
    feed = _Feed(jobs, workers)

    def here() -> bool:
        ((source, target),) = feed.take()
        outcome = _attempt(job, str(source), str(target))
        finished(source, outcome)
        return outcome.error is None

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
    """Forked worker processes, each with up to two tasks queued so none waits for work."""

    def __init__(
        self,
        children: int,
        job: Job,
        finished: Callable[[Path, Outcome], None],
    ) -> None:
        import multiprocessing  # here: a run on one process does not need it
        from concurrent.futures import ProcessPoolExecutor

        from dicomframe.parallel import can_fork

        # Fork where it is safe: the workers start with everything this process loaded.
        context = multiprocessing.get_context("fork") if can_fork() else None
        self._executor = ProcessPoolExecutor(
            max_workers=children, mp_context=context, initializer=_start_worker
        )
        self._children = children
        self._job, self._finished = job, finished
        self._pending: dict[Future[list[Outcome]], list[tuple[Path, Path]]] = {}
        self._broken = False
        self._lost: list[Path] = []

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        for target in self._lost:  # a worker stopped as it created one leaves it behind
            for temporary in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
                temporary.unlink(missing_ok=True)  # atomic_file's temporary file name

    def fill(self, feed: _Feed) -> None:
        """Hand out chunks until every worker has two queued."""
        while not self._broken and feed.remaining and len(self._pending) < 2 * self._children:
            chunk = feed.chunk()
            pairs = [(str(source), str(target)) for source, target in chunk]
            try:
                future = self._executor.submit(_convert_many, pairs, self._job)
            except BrokenExecutor:  # a worker died: a new pool takes this chunk
                feed.position -= len(chunk)
                self._broken = True
                return
            self._pending[future] = chunk

    def collect(self) -> bool:
        """Wait for a task, report its files; False once no task is left."""
        if not self._pending:
            return False
        ready, _ = futures_wait(self._pending, return_when=FIRST_COMPLETED)
        for future in ready:
            chunk = self._pending.pop(future)
            try:
                outcomes = future.result()
            except Exception as exc:  # a worker that died: report its files, go on
                outcomes = [Outcome(f"{type(exc).__name__}: {exc}")] * len(chunk)
                self._lost.extend(target for _, target in chunk)
            for (source, _), outcome in zip(chunk, outcomes, strict=True):
                self._finished(source, outcome)
        return True


def _draw(stream: TextIO, done: int, total: int, failed: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    stream.write(f"\r[{bar}] {done}/{total} files, {failed} failed")
    stream.flush()


def default_progress() -> TextIO | None:
    """Stderr when it is a terminal, so pipes and logs get no progress bar."""
    return sys.stderr if sys.stderr.isatty() else None
