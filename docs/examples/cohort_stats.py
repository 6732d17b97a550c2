"""Per-series statistics of a cohort on a Dask cluster: mean, std, min and max of modality values.

    python docs/examples/cohort_stats.py DIR_OR_FILE [...] [--workers 2] [--json]
    python docs/examples/cohort_stats.py /data/cohort --scheduler tcp://10.0.0.5:8786

The files' headers are read here, to group them by Series Instance UID
(in Instance Number order); each series becomes one lazy array with
``dicomframe.dask.frames(paths, modality=True)`` (float64 modality values,
e.g. Hounsfield units for CT), and the statistics of every series are
computed together on the cluster: a ``distributed.LocalCluster`` of
--workers processes on this machine, or the scheduler given. The pixels are
decoded on the workers, and only four numbers per series come back.

Files that are not DICOM are skipped, and so is a series whose files do not
share one frame shape (said on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dicomframe as dcf
from dicomframe.dask import frames


def series_of(sources: Iterable[Path]) -> dict[str, list[Path]]:
    """The DICOM files under ``sources``, grouped by Series Instance UID, by Instance Number."""
    found: dict[str, list[tuple[int, str, Path]]] = defaultdict(list)
    for source in sources:
        files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        for path in files:
            try:
                with dcf.read(path, stop_before_pixels=True) as ds:
                    if "PixelData" not in ds and "Rows" not in ds:
                        continue
                    uid = str(ds.get("SeriesInstanceUID") or "(no series UID)")
                    number = int(ds.get("InstanceNumber") or 0)
            except dcf.DicomError as exc:
                print(f"skipped {path}: {exc}", file=sys.stderr)
                continue
            found[uid].append((number, str(path), path))
    return {uid: [path for *_, path in sorted(entries)] for uid, entries in found.items()}


def cohort_stats(groups: dict[str, list[Path]]) -> list[dict[str, Any]]:
    """Each series' file and frame counts, and mean, std, min, max, computed together."""
    from dask.base import compute

    arrays, rows = [], []
    for uid, paths in sorted(groups.items()):
        try:
            array = frames(paths, modality=True, chunks=8)
        except (ValueError, dcf.DicomError) as exc:
            print(f"skipped series {uid}: {exc}", file=sys.stderr)
            continue
        arrays.append((array.mean(), array.std(), array.min(), array.max()))
        rows.append({"series": uid, "files": len(paths), "frames": int(array.shape[0])})
    for row, values in zip(rows, compute(*arrays), strict=True):
        row.update(zip(("mean", "std", "min", "max"), map(float, values), strict=True))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """Run the example on the command line's arguments."""
    from distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="files or directories")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--scheduler", help="address of a running scheduler instead")
    parser.add_argument("--json", action="store_true", help="one JSON object per series")
    args = parser.parse_args(argv)
    groups = series_of(args.sources)
    if args.scheduler:
        with Client(args.scheduler):
            rows = cohort_stats(groups)
    else:
        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            Client(cluster),
        ):
            rows = cohort_stats(groups)
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            print(
                f"{row['series']:<66} {row['files']:>5} files {row['frames']:>6} frames  "
                f"mean {row['mean']:10.3f}  std {row['std']:10.3f}  "
                f"min {row['min']:10.3f}  max {row['max']:10.3f}"
            )


if __name__ == "__main__":
    main()
