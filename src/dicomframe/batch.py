"""Transcode a file or a directory tree: the engine behind ``dicomframe transcode``.

A directory is walked recursively and mirrored under the destination; every
file is transcoded with :func:`dicomframe.streaming.transcode_file`
(atomically, never over its input) in a pool of worker processes. A file
that fails is reported with its error while the others go on; the summary
counts converted, failed and skipped (not DICOM) files.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = ["BatchResult", "plan", "run"]


@dataclass
class BatchResult:
    """What a batch did."""

    converted: int = 0
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed


def _looks_like_dicom(path: Path) -> bool:
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
    if src.is_file():
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


def run(  # noqa: PLR0913 - every option is keyword-only
    src: Path,
    dst: Path,
    syntax: str,
    *,
    workers: int = 1,
    options: dict[str, Any] | None = None,
    report: Callable[[Path, str], None] | None = None,
    progress: TextIO | None = None,
) -> BatchResult:
    """Transcode ``src`` (file or tree) into ``dst``; see the module docstring."""
    started = time.perf_counter()
    result = BatchResult()
    jobs = _jobs(src, dst, result)
    if report is not None:
        for source, error in result.failed:
            report(source, error)
    options = options or {}
    done = 0

    def finished(source: Path, error: str | None) -> None:
        nonlocal done
        done += 1
        if error is None:
            result.converted += 1
        else:
            result.failed.append((source, error))
            if report is not None:
                report(source, error)
        if progress is not None:
            _draw(progress, done, len(jobs), len(result.failed))

    if workers <= 1 or len(jobs) <= 1:
        for source, target in jobs:
            finished(source, _convert_one(str(source), str(target), syntax, options))
    else:
        _run_pool(jobs, syntax, options, workers, finished)
    if progress is not None:
        progress.write("\n")
    result.seconds = time.perf_counter() - started
    return result


def _jobs(src: Path, dst: Path, result: BatchResult) -> list[tuple[Path, Path]]:
    """The files to convert; non-DICOM files in a tree are skipped, inputs never overwritten.

    A file named on its own is always tried, so a bad one is reported, not skipped.
    """
    jobs = []
    walked = not src.is_file()
    for source, target in plan(src, dst):
        if walked and not _looks_like_dicom(source):
            result.skipped.append(source)
        elif target.exists() and target.resolve() == source.resolve():
            result.failed.append((source, "refusing to overwrite the input"))
        else:
            jobs.append((source, target))
    return jobs


def _convert_many(
    pairs: list[tuple[str, str]], syntax: str, options: dict[str, Any]
) -> list[str | None]:
    """Run in a worker: several files per task, so small files do not pay a round trip each."""
    return [_convert_one(source, target, syntax, options) for source, target in pairs]


def _run_pool(
    jobs: list[tuple[Path, Path]],
    syntax: str,
    options: dict[str, Any],
    workers: int,
    finished: Callable[[Path, str | None], None],
) -> None:
    # Chunks small enough to balance the workers and show progress, large enough that the
    # per-task cost of a process pool (pickling, a pipe round trip) stays small.
    size = max(1, min(16, len(jobs) // (workers * 8)))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    # Load the plugins once here: forked workers inherit them instead of each loading its own.
    import dicomframe.streaming  # noqa: F401
    from dicomframe.plugins.manager import default_manager

    default_manager().load()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: dict[Future[list[str | None]], list[tuple[Path, Path]]] = {}
        queue = iter(chunks)

        def submit(chunk: list[tuple[Path, Path]]) -> None:
            pairs = [(str(source), str(target)) for source, target in chunk]
            pending[pool.submit(_convert_many, pairs, syntax, options)] = chunk

        for chunk in queue:
            submit(chunk)
            if len(pending) >= workers * 2:
                break
        while pending:
            ready, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in ready:
                chunk = pending.pop(future)
                try:
                    errors = future.result()
                except Exception as exc:  # a worker that died: report its files, go on
                    errors = [f"{type(exc).__name__}: {exc}"] * len(chunk)
                for (source, _), error in zip(chunk, errors, strict=True):
                    finished(source, error)
                following = next(queue, None)
                if following is not None:
                    submit(following)


def _draw(stream: TextIO, done: int, total: int, failed: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    stream.write(f"\r[{bar}] {done}/{total} files, {failed} failed")
    stream.flush()


def default_progress() -> TextIO | None:
    """Stderr when it is a terminal, so pipes and logs get no progress bar."""
    return sys.stderr if sys.stderr.isatty() else None
