"""A tree of small files to RLE: the local pool (1 and 2 workers) against a Dask cluster of 2.

Run:  python benchmarks/bench_cluster.py [--files 2000]

The tree holds ``--files`` copies of a small CT slice (testdata/ct_explicit_le.dcm,
about 10 KB), which makes the per-file cost of each engine visible: handing a
file out, sending its result back. Each engine runs in a fresh process, as
``dicomframe transcode`` would, into a fresh output directory:

- ``local, 1 worker``: this process converts every file;
- ``local, 2 workers``: the process converts the first file, then forks two;
- ``LocalCluster, 2 workers``: two Dask worker processes (one thread each) on
  this machine, the client handing out batches; the cluster's start is timed
  apart, since a long-lived cluster pays it once.

The table gives the wall time of the run (from the first file to the last
result), files per second and, for the cluster, its overhead per file: its
run time minus the local pool's with as many workers, divided by the files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "testdata" / "ct_explicit_le.dcm"
RLE = "1.2.840.10008.1.2.5"

RUN = """
import json, sys, time
from pathlib import Path
engine, workers, syntax = sys.argv[1], int(sys.argv[2]), sys.argv[5]
src, dst = Path(sys.argv[3]), Path(sys.argv[4])
from dicomframe.batch import run
start_seconds = 0.0
if engine == "cluster":
    started = time.perf_counter()
    import distributed
    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    start_seconds = time.perf_counter() - started
    result = run(src, dst, syntax, executor=client)
    client.close()
    cluster.close()
else:
    result = run(src, dst, syntax, workers=workers)
assert result.ok and result.converted == len(list(src.iterdir())), result.summary()
used = len(result.ran_on)
print(json.dumps({"seconds": result.seconds, "start": start_seconds, "workers": used}))
"""


def make_tree(root: Path, files: int) -> Path:
    tree = root / "in"
    tree.mkdir()
    for index in range(files):
        shutil.copy(SOURCE, tree / f"im{index:05d}.dcm")
    return tree


def measure(engine: str, workers: int, tree: Path, out: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, engine, str(workers), str(tree), str(out), RLE],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="small files in the tree")
    files = parser.parse_args().files
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        tree = make_tree(root, files)
        runs = [("local", 1), ("local", 2), ("cluster", 2)]
        results = {}
        for number, (engine, workers) in enumerate(runs):
            results[engine, workers] = measure(engine, workers, tree, root / f"out{number}")
    print(f"{files} files of {SOURCE.stat().st_size:,} bytes to RLE Lossless\n")
    print("| engine | workers | run (s) | files/s | start (s) | overhead per file |")
    print("| --- | --- | --- | --- | --- | --- |")
    local = results["local", 2]["seconds"]
    for (engine, workers), found in results.items():
        seconds = found["seconds"]
        name = "LocalCluster" if engine == "cluster" else "local pool"
        start = f"{found['start']:.1f}" if engine == "cluster" else "-"
        overhead = f"{(seconds - local) / files * 1000:+.2f} ms" if engine == "cluster" else "-"
        print(
            f"| {name} | {workers} | {seconds:.2f} | {files / seconds:.0f} | {start} | {overhead} |"
        )


if __name__ == "__main__":
    main()
