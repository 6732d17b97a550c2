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


def _run_pool(
    jobs: list[tuple[Path, Path]],
    syntax: str,
    options: dict[str, Any],
    workers: int,
    finished: Callable[[Path, str | None], None],
) -> None:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: dict[Future[str | None], Path] = {}
        queue = iter(jobs)
        for source, target in queue:
            pending[pool.submit(_convert_one, str(source), str(target), syntax, options)] = source
            if len(pending) >= workers * 4:
                break
        while pending:
            ready, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in ready:
                source = pending.pop(future)
                try:
                    finished(source, future.result())
                except Exception as exc:  # a worker that died: report, go on
                    finished(source, f"{type(exc).__name__}: {exc}")
                following = next(queue, None)
                if following is not None:
                    job = pool.submit(
                        _convert_one, str(following[0]), str(following[1]), syntax, options
                    )
                    pending[job] = following[0]


def _draw(stream: TextIO, done: int, total: int, failed: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    stream.write(f"\r[{bar}] {done}/{total} files, {failed} failed")
    stream.flush()


def default_progress() -> TextIO | None:
    """Stderr when it is a terminal, so pipes and logs get no progress bar."""
    return sys.stderr if sys.stderr.isatty() else None
