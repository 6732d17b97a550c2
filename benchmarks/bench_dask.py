"""Summing a series with dicomframe.dask.frames against a numpy loop over the files.

Run:  python benchmarks/bench_dask.py [--files 200] [--source FILE] [--chunks 8]
                                      [--workers 2] [--runs 3]

A series of --files copies of --source (default: pydicom-data's
emri_small_jpeg_2k_lossless.dcm, ten 64x64 JPEG 2000 frames; any file
works) is written to a temporary directory, each copy under its own name.
Then the sum of every stored value is computed four ways, taking turns, best
of --runs:

- numpy loop: ``sum(dcf.read(p).pixel_array.sum() for p in paths)`` in this
  process (pixel_array decodes a file's frames on every core);
- dask threads: ``frames(paths, chunks=...).sum().compute(scheduler="threads")``;
- dask processes: the same with ``scheduler="processes"``;
- distributed: the same on a ``LocalCluster`` of --workers processes
  (started before timing; its start-up is reported apart).

Each result is checked against the numpy loop's before any time is reported.
Graph construction (headers only) is timed on its own.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import dicomframe as dcf
from dicomframe.dask import frames


def default_source() -> Path:
    """pydicom-data's ten-frame JPEG 2000 file."""
    import data_store  # pydicom-data

    return Path(data_store.__file__).parent / "data" / "emri_small_jpeg_2k_lossless.dcm"


def make_series(source: Path, count: int, folder: Path) -> list[Path]:
    """``count`` copies of ``source`` in ``folder``."""
    paths = [folder / f"{number:05d}.dcm" for number in range(count)]
    for path in paths:
        shutil.copyfile(source, path)
    return paths


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The least wall time of ``runs`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def numpy_loop(paths: list[Path]) -> int:
    """The sum over files, one file after another."""
    total = 0
    for path in paths:
        with dcf.read(path) as ds:
            total += int(ds.pixel_array.sum(dtype=np.int64))
    return total


def main() -> None:
    """Run the benchmark on the command line's arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    source = args.source or default_source()
    from distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        paths = make_series(source, args.files, Path(tmp))
        graph_time, array = best_of(args.runs, lambda: frames(paths, chunks=args.chunks))
        total = array.sum(dtype=np.int64)
        shape = f"{array.shape} {array.dtype}"
        print(f"{args.files} files of {source.name}: {shape}, chunks of {args.chunks}")
        print(f"graph from headers: {graph_time * 1000:9.1f} ms")
        start = time.perf_counter()
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
        print(f"LocalCluster start: {(time.perf_counter() - start) * 1000:9.1f} ms")
        cases: dict[str, Callable[[], int]] = {
            "numpy loop": lambda: numpy_loop(paths),
            "dask threads": lambda: int(total.compute(scheduler="threads")),
            "dask processes": lambda: int(total.compute(scheduler="processes")),
            f"distributed ({args.workers} workers)": lambda: int(client.compute(total).result()),
        }
        try:
            times = {name: float("inf") for name in cases}
            results: dict[str, int] = {}
            for _ in range(args.runs):  # the cases take turns
                for name, work in cases.items():
                    elapsed, results[name] = best_of(1, work)
                    times[name] = min(times[name], elapsed)
        finally:
            client.close()
            cluster.close()
        expected = results["numpy loop"]
        wrong = {name: value for name, value in results.items() if value != expected}
        if wrong:
            raise SystemExit(f"results differ from the numpy loop's {expected}: {wrong}")
        for name, elapsed in times.items():
            print(f"{name:<28} {elapsed * 1000:9.1f} ms   sum {results[name]}")


if __name__ == "__main__":
    main()
