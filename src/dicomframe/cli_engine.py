"""The tree commands' engine options: ``--scheduler`` (or ``DICOMFRAME_SCHEDULER``), ``--manifest``.

``transcode`` and ``deidentify`` share them. Without a scheduler the files
go to the local pool and Dask is never imported; with one, :func:`connected`
gives :func:`dicomframe.batch.run_jobs` a ``distributed.Client`` for the run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from typing import Any

__all__ = ["SCHEDULER_VARIABLE", "add_engine", "check_engine", "connected"]

SCHEDULER_VARIABLE = "DICOMFRAME_SCHEDULER"  # the scheduler the tree commands use by default


def add_engine(command: argparse.ArgumentParser) -> None:
    """Add the tree commands' ``--scheduler`` and ``--manifest`` options to ``command``."""
    command.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=os.environ.get(SCHEDULER_VARIABLE) or None,
        help=f"convert on the Dask cluster of this scheduler, tcp://HOST:PORT "
        f"(default: ${SCHEDULER_VARIABLE}; unset: this machine's processes)",
    )
    command.add_argument(
        "--manifest",
        metavar="FILE",
        help="write one JSON line per input here; run again, keep only the outputs it verifies",
    )


def check_engine(workers: int, scheduler: str | None) -> None:
    """Refuse before any file: ``--workers`` below 1, or with ``--scheduler``; a bad address."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, not {workers}")
    if scheduler and "://" not in scheduler:
        raise ValueError(
            f"--scheduler {scheduler!r}: give the scheduler's address, tcp://HOST:PORT"
        )
    if scheduler and workers > 1:
        raise ValueError(
            f"--workers {workers} with --scheduler: the cluster's workers convert the files"
        )


@contextlib.contextmanager
def connected(scheduler: str | None) -> Iterator[Any]:
    """A Dask client of ``scheduler`` (``tcp://HOST:PORT``) for a run, closed after it.

    None without an address: the run stays on the local pool, and Dask is not imported.
    """
    if not scheduler:
        yield None
        return
    try:
        from dicomframe.cluster import connect
    except ImportError as exc:
        raise ValueError(
            f"--scheduler needs Dask's distributed ({exc}): pip install 'dicomframe[distributed]'"
        ) from exc
    client: Any = connect(scheduler)
    try:
        yield client
    finally:
        client.close()
