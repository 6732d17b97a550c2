"""Codec benchmarks: dicomframe side by side with pydicom, in the same run.

Run:  python benchmarks/bench_codecs.py [--repeat 2] [--wsi-repeat 30]

Data, generated once into benchmarks/data/codecs/ (pydicom writes every file;
the compressed frames come from pydicom's own encoders where it has one, else
from imagecodecs):

- ``ct``: 200 frames of 512x512 uint16, 12 bits stored: a body of smooth
  tissue with a moving bone ring, plus Gaussian noise (sigma 12), in JPEG 2000
  Lossless, HTJ2K Lossless, RLE Lossless and JPEG-LS Lossless;
- ``cine``: 300 frames of 640x480 RGB, JPEG Baseline YBR_FULL_422, quality 90;
- ``wsi``: a VL Whole Slide Microscopy-like image, 8x8 tiles of 1024x1024
  RGB (TILED_FULL), JPEG Baseline YBR_FULL_422, quality 90, Basic Offset Table.

Sections (markdown tables; times are the best of --repeat turns, more for cheap cases):

1. CT decode and encode, frames per second: pydicom and dicomframe on the same
   backend with one worker (``decoding_plugin=`` / ``encoding_plugin=`` and
   ``codec=``, ``workers=1``: the cost of dispatch), then each library's
   default (dicomframe: ``workers`` = the cores, :mod:`dicomframe.parallel`,
   whose DEBUG log says what it ran on). Decoding opens the file;
   dicomframe encodes with ``dicomframe.parallel.encode_frames`` and pydicom
   with ``Dataset.compress``. pydicom's pure-Python RLE codec runs on the
   first 10 frames only. Compared cases take turns, best of --repeat.
2. RLE against pylibjpeg-rle's own speed (its decoder called in a loop).
3. The cine, each case in a fresh interpreter: decode speed and the peak
   resident memory above the interpreter's baseline (libraries and backends
   already imported), as a multiple of the output array's size.
4. One tile of the whole-slide image, opening the file included:
   ``dcf.read(path).pixel_data[i].decode()`` against pydicom's
   ``pixel_array(path, index=i)``; best and median over --wsi-repeat tiles.
5. Which backends release the GIL: each codec on 24 frames, on 1 thread then
   2 (a speed-up near 2x on 2 cores means it releases the GIL), and what
   ``parallel="auto"`` decodes on. pylibjpeg-openjpeg is not run on two
   threads: it is not thread-safe (two threads on JPEG 2000 frames crash).

This machine is shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "codecs"
CT_FRAMES, CT_SIZE = 200, 512
CINE_FRAMES, CINE_ROWS, CINE_COLUMNS = 300, 480, 640
TILE, GRID = 1024, 8
PYDICOM_NUMPY_FRAMES = 10  # pydicom's pure-Python RLE codec is slow: a sample of frames
GIL_FRAMES = 24

J2K, HTJ2K = "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.201"
RLE, JLS, JPEG = "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.50"
# syntax: label, file, [(pydicom plugin, dicomframe codec)], dicomframe-only codecs
CT_SYNTAXES = {
    J2K: ("JPEG 2000 Lossless", [("pylibjpeg", "pylibjpeg-openjpeg")], ["imagecodecs-j2k"]),
    HTJ2K: ("HTJ2K Lossless", [("pylibjpeg", "pylibjpeg-openjpeg")], ["imagecodecs-htj2k"]),
    RLE: ("RLE Lossless", [("pylibjpeg", "pylibjpeg-rle"), ("pydicom", "rle")], []),
    JLS: (
        "JPEG-LS Lossless",
        [("pylibjpeg", "pylibjpeg-libjpeg"), ("pyjpegls", "pyjpegls")],
        ["imagecodecs-jpegls"],
    ),
}
ENCODERS = {  # pydicom has no HTJ2K encoder, and libjpeg decodes only
    J2K: ([("pylibjpeg", "pylibjpeg-openjpeg")], ["imagecodecs-j2k"]),
    HTJ2K: ([], ["imagecodecs-htj2k"]),
    RLE: ([("pylibjpeg", "pylibjpeg-rle"), ("pydicom", "rle")], []),
    JLS: ([("pyjpegls", "pyjpegls")], ["imagecodecs-jpegls"]),
}


# -- data ----------------------------------------------------------------------------------------
def ct_pixels() -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:CT_SIZE, 0:CT_SIZE].astype(np.float32)
    radius = np.hypot(x - CT_SIZE / 2, y - CT_SIZE / 2)
    out = np.empty((CT_FRAMES, CT_SIZE, CT_SIZE), np.uint16)
    for i in range(CT_FRAMES):
        tissue = 1000 + 60 * np.sin(x / 37 + i / 9) + 40 * np.cos(y / 23)
        body = np.where(radius < CT_SIZE * 0.42, tissue, 0)
        bone = np.where(np.abs(radius - CT_SIZE * 0.3 - 8 * np.sin(i / 11)) < 6, 700, 0)
        noise = rng.normal(0, 12, (CT_SIZE, CT_SIZE))
        out[i] = np.clip(body + bone + noise + 24, 0, 4095)
    return out


def colour_pixels(count: int, rows: int, columns: int, seed: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
    out = np.empty((count, rows, columns, 3), np.uint8)
    for i in range(count):
        red = 200 + 40 * np.sin(x / 40 + i / 7)
        green = 120 + 80 * np.cos(y / 30 - i / 11) * np.sin(x / 90)
        blue = 170 + 60 * np.sin((x + y) / 55 + i / 5)
        noise = rng.normal(0, 4, (rows, columns, 3))
        out[i] = np.clip(np.stack([red, green, blue], -1) + noise, 0, 255)
    return out


def pydicom_dataset(arr: np.ndarray[Any, Any], *, sop_class: str, **attributes: Any) -> Any:
    """A native pydicom dataset holding ``arr`` (frames first)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Bench^Codecs", "BENCH", "OT"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    colour = arr.ndim == 4
    ds.NumberOfFrames, ds.Rows, ds.Columns = arr.shape[:3]
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = "RGB" if colour else "MONOCHROME2"
    if colour:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored = 12 if arr.dtype.itemsize == 2 else 8
    ds.HighBit, ds.PixelRepresentation = ds.BitsStored - 1, 0
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = arr.tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def save_encapsulated(ds: Any, frames: list[bytes], uid: str, path: Path, **attrs: Any) -> None:
    from pydicom.encaps import encapsulate

    ds.PixelData = encapsulate(frames, has_bot=True)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = uid
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


def make_data() -> dict[str, Path]:
    """Generate (once) and return every benchmark file."""
    DATA.mkdir(parents=True, exist_ok=True)
    names = {J2K: "ct_j2k", HTJ2K: "ct_htj2k", RLE: "ct_rle", JLS: "ct_jpegls"}
    paths = {uid: DATA / f"{name}.dcm" for uid, name in names.items()}
    paths |= {"cine": DATA / "cine_jpeg.dcm", "wsi": DATA / "wsi_jpeg.dcm"}
    if all(p.exists() for p in paths.values()):
        return paths
    import imagecodecs

    print("generating benchmark data (once) ...", file=sys.stderr)
    ct = ct_pixels()
    ct_class = "1.2.840.10008.5.1.4.1.1.2.1"  # Enhanced CT
    for uid in (J2K, RLE, JLS):
        ds = pydicom_dataset(ct, sop_class=ct_class)
        ds.compress(uid, ct, generate_instance_uid=False)  # pydicom's default encoder
        ds.save_as(paths[uid], enforce_file_format=True)
    htj2k = [bytes(imagecodecs.htj2k_encode(f, reversible=True)) for f in ct]
    save_encapsulated(pydicom_dataset(ct, sop_class=ct_class), htj2k, HTJ2K, paths[HTJ2K])

    def jpeg(rgb: np.ndarray[Any, Any]) -> bytes:
        return bytes(
            imagecodecs.jpeg8_encode(
                rgb, level=90, colorspace="RGB", outcolorspace="YCbCr", subsampling="422"
            )
        )

    cine = colour_pixels(CINE_FRAMES, CINE_ROWS, CINE_COLUMNS, 3)
    ds = pydicom_dataset(cine[:1], sop_class="1.2.840.10008.5.1.4.1.1.77.1.4.1")
    ds.NumberOfFrames, ds.CineRate, ds.FrameTime = CINE_FRAMES, 30, 33.3
    frames = [jpeg(f) for f in cine]
    save_encapsulated(ds, frames, JPEG, paths["cine"], PhotometricInterpretation="YBR_FULL_422")
    tiles = colour_pixels(GRID * GRID, TILE, TILE, 5)
    ds = pydicom_dataset(tiles[:1], sop_class="1.2.840.10008.5.1.4.1.1.77.1.6")
    ds.NumberOfFrames, ds.ImageType = GRID * GRID, ["DERIVED", "PRIMARY", "VOLUME", "NONE"]
    ds.TotalPixelMatrixColumns = ds.TotalPixelMatrixRows = TILE * GRID
    ds.DimensionOrganizationType, ds.LossyImageCompression = "TILED_FULL", "01"
    frames = [jpeg(f) for f in tiles]
    save_encapsulated(ds, frames, JPEG, paths["wsi"], PhotometricInterpretation="YBR_FULL_422")
    return paths


# -- measuring --------------------------------------------------------------------------------
def best(run: Callable[[], object], repeat: int) -> float:
    return race(run, repeat=repeat)[0]


def race(*runs: Callable[[], object], repeat: int, budget: float = 1.5) -> list[float]:
    """The best time of each run, taking turns so that a busy moment hits them alike.

    At least ``repeat`` turns; cheap runs get more, up to ``budget`` seconds or 10 turns.
    """
    times: list[list[float]] = [[] for _ in runs]
    started = time.perf_counter()
    for turn in range(10):
        if turn >= repeat and time.perf_counter() - started > budget:
            break
        for run, spent in zip(runs, times, strict=True):
            begin = time.perf_counter()
            run()
            spent.append(time.perf_counter() - begin)
    return [min(spent) for spent in times]


def df_decode(path: Path, **options: Any) -> Callable[[], object]:
    import dicomframe as dcf

    def run() -> object:
        with dcf.read(path) as ds:
            return ds.pixel_data.pixel_array(**options)

    return run


def pd_decode(path: Path, plugin: str = "", frames: int | None = None) -> Callable[[], object]:
    from pydicom.pixels import iter_pixels, pixel_array

    if frames is None:
        return lambda: pixel_array(path, decoding_plugin=plugin)

    def some() -> object:
        pixels = iter_pixels(path, decoding_plugin=plugin)
        return [next(pixels) for _ in range(frames)]

    return some


def df_encode(ct: np.ndarray[Any, Any], uid: str, **options: Any) -> Callable[[], object]:
    from dicomframe.core.frame import NativeFrame
    from dicomframe.core.frame_info import FrameInfo
    from dicomframe.parallel import encode_frames

    info = FrameInfo(rows=CT_SIZE, columns=CT_SIZE, bits_allocated=16, bits_stored=12, high_bit=11)
    frames = [NativeFrame(f.reshape(-1), info) for f in ct]
    return lambda: encode_frames(frames, uid, **options)


def pd_encode(ct: np.ndarray[Any, Any], uid: str, plugin: str = "") -> Callable[[], object]:
    def run() -> object:
        ds = pydicom_dataset(ct, sop_class="1.2.840.10008.5.1.4.1.1.2.1")
        ds.compress(uid, ct, encoding_plugin=plugin, generate_instance_uid=False)
        return ds

    return run


def fps(frames: int, seconds: float) -> str:
    return f"{frames / seconds:,.0f}" if frames / seconds >= 100 else f"{frames / seconds:.1f}"


class HowRun(logging.Handler):
    """Keeps dicomframe.parallel's last word on how it ran the frames."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.last = ""
        log = logging.getLogger("dicomframe.parallel")
        log.setLevel(logging.DEBUG)
        log.addHandler(self)
        log.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage().split(" with ", 1)[-1]


HOW = HowRun()


TABLE = (
    "| syntax | backend | pydicom | dicomframe, 1 worker | 1 worker / pydicom | "
    "dicomframe, all workers | run on |\n|---|---|---|---|---|---|---|"
)


def _row(
    label: str, backend: str, theirs: tuple[int, float] | None, one: float, every: float
) -> str:
    """A row of tables 1a and 1c (``theirs`` is pydicom's frames and seconds)."""
    how = HOW.last.split(" on ", 1)[-1]
    if theirs is None:
        pydicom, ratio = "-", "-"
    else:
        pydicom = fps(*theirs)
        ratio = f"{(CT_FRAMES / one) / (theirs[0] / theirs[1]):.2f}x"
    return (
        f"| {label} | {backend} | {pydicom} | {fps(CT_FRAMES, one)} | {ratio} | "
        f"{fps(CT_FRAMES, every)} | {how} |"
    )


def ct_decode(paths: dict[str, Path], repeat: int) -> None:
    from dicomframe.parallel import default_workers

    print("\n## 1a. CT decode, 200 frames of 512x512 uint16 (frames/s), backend by backend\n")
    print(TABLE)
    defaults = []
    for uid, (label, pairs, ours) in CT_SYNTAXES.items():
        path = paths[uid]
        for plugin, codec in pairs:
            count = PYDICOM_NUMPY_FRAMES if plugin == "pydicom" else CT_FRAMES
            theirs, one = race(
                pd_decode(path, plugin, None if count == CT_FRAMES else count),
                df_decode(path, codec=codec, workers=1),
                repeat=repeat,
            )
            every = best(df_decode(path, codec=codec), 1)
            print(_row(label, f"{codec} / pydicom {plugin!r}", (count, theirs), one, every))
        for codec in ours:
            one = best(df_decode(path, codec=codec, workers=1), 1)  # no pydicom to compare
            every = best(df_decode(path, codec=codec), 1)
            print(_row(label, codec, None, one, every))
        theirs, mine = race(pd_decode(path), df_decode(path), repeat=repeat)
        defaults.append((label, theirs, mine, HOW.last))
    print(f"\n## 1b. CT decode, each library's default ({default_workers()} workers)\n")
    print("| syntax | pydicom default | dicomframe default | dicomframe ran | x pydicom |")
    print("|---|---|---|---|---|")
    for label, theirs, mine, how in defaults:
        print(
            f"| {label} | {fps(CT_FRAMES, theirs)} | {fps(CT_FRAMES, mine)} | {how} | "
            f"{theirs / mine:.2f}x |"
        )


def ct_encode(repeat: int) -> None:
    from dicomframe.parallel import default_workers

    ct = ct_pixels()
    sample = ct[:PYDICOM_NUMPY_FRAMES]
    print("\n## 1c. CT encode, 200 frames of 512x512 uint16 (frames/s), backend by backend\n")
    print(TABLE)
    defaults = []
    for uid, (pairs, ours) in ENCODERS.items():
        label = CT_SYNTAXES[uid][0]
        for plugin, codec in pairs:
            frames = sample if plugin == "pydicom" else ct
            theirs, one = race(
                pd_encode(frames, uid, plugin),
                df_encode(ct, uid, codec=codec, workers=1),
                repeat=repeat,
            )
            every = best(df_encode(ct, uid, codec=codec), 1)
            print(_row(label, f"{codec} / pydicom {plugin!r}", (len(frames), theirs), one, every))
        for codec in ours:
            one = best(df_encode(ct, uid, codec=codec, workers=1), 1)
            every = best(df_encode(ct, uid, codec=codec), 1)
            print(_row(label, codec, None, one, every))
        if pairs:
            theirs, mine = race(pd_encode(ct, uid), df_encode(ct, uid), repeat=repeat)
        else:
            theirs, mine = None, best(df_encode(ct, uid), repeat)
        defaults.append((label, theirs, mine, HOW.last))
    print(f"\n## 1d. CT encode, each library's default ({default_workers()} workers)\n")
    print("| syntax | pydicom default | dicomframe default | dicomframe ran | x pydicom |")
    print("|---|---|---|---|---|")
    for label, theirs, mine, how in defaults:
        pydicom = "no encoder" if theirs is None else fps(CT_FRAMES, theirs)
        ratio = "-" if theirs is None else f"{theirs / mine:.2f}x"
        print(f"| {label} | {pydicom} | {fps(CT_FRAMES, mine)} | {how} | {ratio} |")


def rle_backend(path: Path, repeat: int) -> None:
    from pydicom import dcmread
    from pydicom.encaps import generate_frames
    from rle.utils import decode_pixel_data

    ds = dcmread(path)
    frames = list(generate_frames(ds.PixelData, number_of_frames=CT_FRAMES))

    def raw() -> object:
        out = np.empty((CT_FRAMES, CT_SIZE, CT_SIZE), np.uint16)
        for index, frame in enumerate(frames):
            decoded = decode_pixel_data(
                frame, version=2, rows=CT_SIZE, columns=CT_SIZE, bits_allocated=16
            )
            out[index] = np.frombuffer(decoded, "<u2").reshape(CT_SIZE, CT_SIZE)
        return out

    cases = {
        "dicomframe default": df_decode(path),
        "dicomframe pylibjpeg-rle, 1 worker": df_decode(path, codec="pylibjpeg-rle", workers=1),
    }
    own, *mine = race(raw, *cases.values(), repeat=repeat)
    print("\n## 2. RLE Lossless against pylibjpeg-rle's own speed (200 frames)\n")
    print("| case | frames/s | time / pylibjpeg-rle's |")
    print("|---|---|---|")
    print(f"| pylibjpeg-rle called in a loop | {fps(CT_FRAMES, own)} | 1.00 |")
    for name, seconds in zip(cases, mine, strict=True):
        print(f"| {name} | {fps(CT_FRAMES, seconds)} | {seconds / own:.2f} |")


CINE_RUNNER = """
import gc, json, sys, time
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
PATH = sys.argv[1]
import numpy, pydicom, pydicom.pixels, libjpeg, imagecodecs, PIL.Image
import dicomframe as dcf
from dicomframe.plugins.manager import default_manager
default_manager().load()
import dicomframe.parallel, dicomframe.codecs.imagecodecs, pydicom.pixels.decoders.pylibjpeg
gc.collect()
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # reset the peak RSS (VmHWM) to the current RSS
base = status("VmRSS")
started = time.perf_counter()
exec(compile(sys.argv[2], "case", "exec"))
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "peak": status("VmHWM") - base, "nbytes": array.nbytes}))
"""
CINE_CASES = {
    "pydicom default (dcmread().pixel_array)": "array = pydicom.dcmread(PATH).pixel_array",
    "pydicom 'pillow'": "array = pydicom.pixels.pixel_array(PATH, decoding_plugin='pillow')",
    "dicomframe default": "ds = dcf.read(PATH)\narray = ds.pixel_array",
    "dicomframe, 1 worker": "ds = dcf.read(PATH)\narray = ds.pixel_data.pixel_array(workers=1)",
}


def cine(path: Path, repeat: int) -> None:
    results = {}
    for name, code in CINE_CASES.items():
        runs = []
        for _ in range(1 if name.startswith("pydicom") else repeat):
            done = subprocess.run(
                [sys.executable, "-c", CINE_RUNNER, str(path), code],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        results[name] = min(runs, key=lambda r: r["seconds"])
    baseline = results["pydicom default (dcmread().pixel_array)"]["seconds"]
    print(
        f"\n## 3. Cine, {CINE_FRAMES} frames of 640x480 RGB, JPEG Baseline (fresh process each)\n"
    )
    print("| case | frames/s | x pydicom default | peak RSS / output |")
    print("|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {fps(CINE_FRAMES, r['seconds'])} | {baseline / r['seconds']:.1f}x | "
            f"{r['peak'] / r['nbytes']:.2f}x |"
        )


def wsi(path: Path, repeat: int) -> None:
    from pydicom.pixels import pixel_array

    import dicomframe as dcf

    def ours(index: int) -> float:
        started = time.perf_counter()
        with dcf.read(path) as ds:
            ds.pixel_data[index].decode()
        return time.perf_counter() - started

    def theirs(index: int) -> float:
        started = time.perf_counter()
        pixel_array(path, index=index)
        return time.perf_counter() - started

    print(f"\n## 4. One {TILE}x{TILE} tile of a {GRID * GRID}-tile JPEG whole-slide image\n")
    print("| case | best (ms) | median (ms) |")
    print("|---|---|---|")
    for name, run in (("pydicom pixel_array(path, index=i)", theirs), ("dicomframe", ours)):
        run(0)  # imports and plugin loading are not the tile's cost
        times = [run((7 * i + 3) % (GRID * GRID)) * 1e3 for i in range(repeat)]
        print(f"| {name} | {min(times):.1f} | {statistics.median(times):.1f} |")


def gil(paths: dict[str, Path], repeat: int) -> None:
    import dicomframe as dcf
    from dicomframe.plugins.manager import default_manager

    manager = default_manager()
    print(f"\n## 5. GIL: each codec on {GIL_FRAMES} frames, 2 threads against 1\n")
    print(
        "| codec | syntax | decode ms/frame | decode, 2 threads | encode ms/frame | "
        "encode, 2 threads | releases the GIL | auto decodes on |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for source in (J2K, HTJ2K, RLE, JLS, "cine"):
        with dcf.read(paths[source]) as ds:
            encoded = [ds.pixel_data[i] for i in range(GIL_FRAMES)]
            for status in manager.codecs():
                codec = status.codec
                uid = encoded[0].info.transfer_syntax_uid
                usable = status.available and codec.handles(uid, encoding=False)
                if usable and codec.why_not(encoded[0].info) is None:
                    print(_gil_row(codec, encoded, repeat))


def _gil_row(codec: Any, encoded: list[Any], repeat: int) -> str:
    from dicomframe.parallel import _FORK_FRAME_SECONDS, can_fork, releases_gil, thread_safe

    syntax = encoded[0].transfer_syntax
    natives = [codec.decode(frame) for frame in encoded]
    threads = 2 if thread_safe(codec) else 1  # two threads in pylibjpeg-openjpeg crash
    cells = list(_speedup(codec.decode, encoded, repeat, threads))
    if codec.handles(syntax.uid, encoding=True):
        cells += _speedup(_encoder(codec, syntax), natives, repeat, threads)
    else:
        cells += ["-", "-"]
    declared = releases_gil(codec)
    if declared is not False and threads == 2:
        mode = "threads"
    elif can_fork() and float(cells[0]) / 1e3 >= _FORK_FRAME_SECONDS:
        mode = "processes"
    else:
        mode = "one thread"
    said = {True: "yes", False: "no", None: "not known"}[declared]
    said += "" if threads == 2 else ", not thread-safe"
    return f"| {codec.name} | {syntax.keyword} | {' | '.join(cells)} | {said} | {mode} |"


def _encoder(codec: Any, syntax: Any) -> Callable[[Any], object]:
    return lambda frame: codec.encode(frame, syntax)


def _speedup(
    work: Callable[[Any], object], items: list[Any], repeat: int, threads: int
) -> tuple[str, str]:
    """Milliseconds per item on one thread, and the speed-up on two ("-" when not tried)."""
    one = race(lambda: [work(item) for item in items], repeat=repeat, budget=0.25)[0]
    if threads < 2:
        return f"{one / len(items) * 1e3:.2f}", "not run"
    with ThreadPoolExecutor(2) as pool:
        two = race(lambda: list(pool.map(work, items)), repeat=repeat, budget=0.25)[0]
    return f"{one / len(items) * 1e3:.2f}", f"{one / two:.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--wsi-repeat", type=int, default=30)
    parser.add_argument("--skip", nargs="*", default=(), help="sections to skip: 1 2 3 4 5")
    args = parser.parse_args()
    paths = make_data()
    import imagecodecs
    import pydicom

    import dicomframe

    started = time.perf_counter()
    print(
        f"dicomframe {dicomframe.__version__}, pydicom {pydicom.__version__}, "
        f"imagecodecs {imagecodecs.__version__}, numpy {np.__version__}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start"
    )
    sections = {
        "1": lambda: (ct_decode(paths, args.repeat), ct_encode(args.repeat)),
        "2": lambda: rle_backend(paths[RLE], args.repeat),
        "3": lambda: cine(paths["cine"], args.repeat),
        "4": lambda: wsi(paths["wsi"], args.wsi_repeat),
        "5": lambda: gil(paths, 1),
    }
    spent = []
    for name, section in sections.items():
        if name not in args.skip:
            begin = time.perf_counter()
            section()
            spent.append(f"{name}: {time.perf_counter() - begin:.0f} s")
    print(
        f"\n{time.perf_counter() - started:.0f} s ({', '.join(spent)}); "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )


if __name__ == "__main__":
    main()
