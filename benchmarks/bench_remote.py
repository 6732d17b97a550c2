"""One frame of a large file over HTTP: bytes transferred and time, against downloading it.

Run:  python benchmarks/bench_remote.py [--size-mib 500] [--frames N] [--repeat 3]

A native multi-frame file of about ``--size-mib`` MiB (512 x 512 x 16-bit
frames) and the same pixels RLE-encoded with a Basic Offset Table are
written to a temporary folder and served by the tests' HTTP server with
Range support (``tests/servers.py``) on 127.0.0.1. For each file the table
gives: the header alone (``stop_before_pixels``), one frame from the middle
(header + frame), and downloading the whole file, with the requests and
bytes the server counted and the best wall time of ``--repeat`` runs. The
numbers measure the work done, not a network: on a real link the bytes
column is what decides.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dicomframe as dcf  # noqa: E402
from tests.servers import RangeServer  # noqa: E402

MIB = 1 << 20
SIDE = 512


def _make(folder: Path, size_mib: float) -> list[Path]:
    frames = max(2, round(size_mib * MIB / (SIDE * SIDE * 2)))
    ds = dcf.read(ROOT / "testdata" / "mr_multiframe_uint16.dcm")
    ramp = np.arange(SIDE * SIDE, dtype=np.uint16).reshape(SIDE, SIDE) % 4096
    ds.set_pixel_data(np.stack([ramp + i % 16 for i in range(frames)]))
    native = folder / "native.dcm"
    dcf.write(ds, native)
    rle = folder / "rle.dcm"
    dcf.transcode_file(native, rle, "RLELossless", offset_table="basic")
    return [native, rle]


def _measure(
    server: RangeServer, work: Callable[[], object], repeat: int
) -> tuple[int, int, float]:
    best = float("inf")
    requests = sent = 0
    for _ in range(repeat):
        server.reset()
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
        requests, sent = len(server.requests), server.bytes_sent
    return requests, sent, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=500.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import fsspec  # type: ignore[import-untyped]

    with tempfile.TemporaryDirectory() as tmp, RangeServer(Path(tmp)) as server:
        files = _make(Path(tmp), args.size_mib)
        http = fsspec.filesystem("http")
        print("| file | size | what | requests | bytes sent | time (ms) |")
        print("|---|---:|---|---:|---:|---:|")
        for path in files:
            url = f"{server.url}/{path.name}"
            count = int(dcf.read(path, stop_before_pixels=True).NumberOfFrames)
            middle = count // 2

            def header(url: str = url) -> object:
                return dcf.read(url, stop_before_pixels=True)

            def one_frame(url: str = url, index: int = middle) -> object:
                with dcf.read(url) as ds:
                    return ds.pixel_data[index].decode()

            def download(url: str = url) -> object:
                return http.cat_file(url)

            for what, work in (
                ("header", header),
                ("one frame", one_frame),
                ("download", download),
            ):
                requests, sent, seconds = _measure(server, work, args.repeat)
                print(
                    f"| {path.name} | {path.stat().st_size / MIB:.1f} MiB | {what} | {requests} "
                    f"| {sent:,} | {seconds * 1000:.1f} |"
                )


if __name__ == "__main__":
    main()
