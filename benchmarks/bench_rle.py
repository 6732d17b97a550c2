"""RLE Lossless: our numpy codec against pydicom's pure-Python one, in the same run.

Run:  python benchmarks/bench_rle.py [--frames 200] [--sample 10] [--repeat 3]

Data, generated once into benchmarks/data/rle/ with pydicom's default RLE
encoder, from the generators of ``bench_codecs.py``:

- ``ct16``: frames of 512x512 uint16, 12 bits stored (bench_codecs' CT: smooth
  tissue, a bone ring, Gaussian noise, air around the body), so both
  replicate and literal runs;
- ``ct8``: the same frames shifted right by 4 bits, as uint8;
- ``rgb``: frames of 512x512 RGB uint8 (bench_codecs' smooth colour + noise).

For each: decode with dicomframe's ``"rle"`` codec (``ds.pixel_data.pixel_array(
codec="rle", workers=1)``, the file opened each turn; then with the default
workers, one per core) against pydicom's ``iter_pixels(path,
decoding_plugin="pydicom")``, then encode with our ``"rle"`` encoder
(``dicomframe.parallel.encode_frames(..., workers=1)``, then the default)
against pydicom's ``Dataset.compress(..., encoding_plugin="pydicom")``.
pydicom's codec runs on the first --sample frames only; speeds are frames per
second, and ``x pydicom`` is ours over pydicom's. The cases take turns (best
of --repeat), so that a busy moment on a shared machine hits both alike. Last,
bench_codecs.py's section 2 on ``ct16``: the default path against
pylibjpeg-rle called in a loop.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_codecs as bc  # the data generators and the timing helpers

DATA = bc.ROOT / "benchmarks" / "data" / "rle"
RLE = "1.2.840.10008.1.2.5"
CT_CLASS = "1.2.840.10008.5.1.4.1.1.2.1"
SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"


def pixels(frames: int) -> dict[str, np.ndarray[Any, Any]]:
    bc.CT_FRAMES = frames
    ct = bc.ct_pixels()
    rgb = bc.colour_pixels(frames, bc.CT_SIZE, bc.CT_SIZE, 11)
    return {"ct16": ct, "ct8": (ct >> 4).astype(np.uint8), "rgb": rgb}


def make_data(arrays: dict[str, np.ndarray[Any, Any]]) -> dict[str, Path]:
    """Write (once) each array as an RLE Lossless file; return their paths."""
    DATA.mkdir(parents=True, exist_ok=True)
    frames = len(arrays["ct16"])
    paths = {name: DATA / f"{name}_{frames}.dcm" for name in arrays}
    for name, arr in arrays.items():
        if not paths[name].exists():
            sop = SC_CLASS if arr.ndim == 4 else CT_CLASS
            ds = bc.pydicom_dataset(arr, sop_class=sop)
            ds.compress(RLE, arr, generate_instance_uid=False)
            ds.save_as(paths[name], enforce_file_format=True)
    return paths


def decode_rows(paths: dict[str, Path], frames: int, sample: int, repeat: int) -> list[str]:
    rows = []
    for name, path in paths.items():
        theirs, ours, every = bc.race(
            bc.pd_decode(path, "pydicom", sample),
            bc.df_decode(path, codec="rle", workers=1),
            bc.df_decode(path, codec="rle"),
            repeat=repeat,
        )
        rows.append(_row(f"decode {name}", (sample, theirs), (frames, ours), (frames, every)))
    return rows


def _encoder(arr: np.ndarray[Any, Any], workers: int | None) -> Callable[[], object]:
    from dicomframe.core.frame import NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.parallel import encode_frames

    colour = arr.ndim == 4
    info = FrameInfo(
        rows=arr.shape[1],
        columns=arr.shape[2],
        samples_per_pixel=3 if colour else 1,
        photometric_interpretation="RGB" if colour else "MONOCHROME2",
        bits_allocated=arr.dtype.itemsize * 8,
        bits_stored=12 if arr.dtype.itemsize == 2 else 8,
        high_bit=11 if arr.dtype.itemsize == 2 else 7,
    )
    frames = [NativeFrame(f.reshape(-1), info) for f in arr]
    return lambda: encode_frames(frames, RLE, codec="rle", workers=workers)


def encode_rows(arrays: dict[str, np.ndarray[Any, Any]], sample: int, repeat: int) -> list[str]:
    rows = []
    for name, arr in arrays.items():
        sop = SC_CLASS if arr.ndim == 4 else CT_CLASS
        part = arr[:sample]

        def theirs(part: np.ndarray[Any, Any] = part, sop: str = sop) -> object:
            ds = bc.pydicom_dataset(part, sop_class=sop)
            ds.compress(RLE, part, encoding_plugin="pydicom", generate_instance_uid=False)
            return ds

        pd_time, df_time, every = bc.race(
            theirs, _encoder(arr, 1), _encoder(arr, None), repeat=repeat
        )
        rows.append(
            _row(f"encode {name}", (sample, pd_time), (len(arr), df_time), (len(arr), every))
        )
    return rows


def _row(
    case: str, theirs: tuple[int, float], ours: tuple[int, float], every: tuple[int, float]
) -> str:
    """A table row: pydicom's, ours on 1 worker and on all; ``(frames, seconds)`` each."""
    pd_fps = theirs[0] / theirs[1]
    one, all_ = ours[0] / ours[1] / pd_fps, every[0] / every[1] / pd_fps
    return (
        f"| {case} | {bc.fps(*theirs)} | {bc.fps(*ours)} | {one:.2f}x | "
        f"{bc.fps(*every)} | {all_:.2f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--sample", type=int, default=10, help="frames for pydicom's codec")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import pydicom

    import dicomframe

    arrays = pixels(args.frames)
    paths = make_data(arrays)
    started = time.perf_counter()
    print(
        f"dicomframe {dicomframe.__version__}, pydicom {pydicom.__version__}, "
        f"numpy {np.__version__}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at the start\n"
    )
    print(f"## RLE Lossless, 512x512, {args.frames} frames (frames/s)\n")
    workers = os.cpu_count()
    print(
        "| case | pydicom 'pydicom' | dicomframe 'rle', 1 worker | x pydicom | "
        f"dicomframe 'rle', {workers} workers | x pydicom |"
    )
    print("|---|---|---|---|---|---|")
    for row in decode_rows(paths, args.frames, args.sample, args.repeat):
        print(row)
    for row in encode_rows(arrays, args.sample, args.repeat):
        print(row)
    bc.rle_backend(paths["ct16"], args.repeat)  # the default path against pylibjpeg-rle
    print(
        f"\n{time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f} at the end"
    )


if __name__ == "__main__":
    main()
