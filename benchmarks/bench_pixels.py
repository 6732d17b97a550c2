"""Pixel data benchmarks: dicomframe side by side with pydicom and numpy.fromfile.

Run:  python benchmarks/bench_pixels.py [--frames 1000] [--repeat 3]

Generates (once) a multi-frame CT of 512x512 int16 frames in benchmarks/data/
and measures, each case in a fresh interpreter so peak memory is its own:

(a) read + whole pixel array   (b) one frame from the middle   (c) iterate every frame

Memory is reported two ways, both above the interpreter's baseline (numpy and
both libraries imported) and as a multiple of the pixel bytes (a, c) or of one
frame's bytes (b): the peak of Python/numpy allocations (tracemalloc), and the
peak resident set (VmHWM, reset before the case runs), which also counts pages
of a memory-mapped file while they are mapped in. "file pages" is the most
memory-mapped file data resident at once (sampled).
Times are the best of --repeat runs with the file in the page cache.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
ROWS = COLUMNS = 512


def make_file(frames: int) -> Path:
    """Write the benchmark file with dicomframe (header from testdata, random pixels)."""
    import numpy as np

    import dicomframe as dcf

    path = DATA / f"ct_{frames}frames.dcm"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    ds = dcf.read(ROOT / "testdata" / "ct_explicit_le.dcm")
    ds.Rows, ds.Columns, ds.NumberOfFrames = ROWS, COLUMNS, frames
    rng = np.random.default_rng(0)
    pixels = rng.integers(-1024, 3071, size=(frames, ROWS, COLUMNS), dtype="<i2")
    ds[0x7FE00010].value = pixels.tobytes()
    del pixels
    dcf.write(ds, path)
    return path


CASES = {
    "numpy.fromfile": """
import numpy as np
offset = {offset}
array = np.fromfile(PATH, dtype="<i2", offset=offset, count={count})
""",
    "dicomframe (a) pixel_array": """
import dicomframe as dcf
with dcf.read(PATH) as ds:
    array = ds.pixel_array
""",
    "pydicom (a) pixel_array": """
import pydicom
array = pydicom.dcmread(PATH).pixel_array
""",
    "dicomframe (b) one frame": """
import dicomframe as dcf
with dcf.read(PATH) as ds:
    frame = ds.pixel_data[{middle}].data  # a view on the mapped file
    total = int(frame.max())
""",
    "pydicom (b) one frame": """
from pydicom.pixels import pixel_array
frame = pixel_array(PATH, index={middle})
total = int(frame.max())
""",
    "dicomframe (c) iterate": """
import dicomframe as dcf
total = 0
with dcf.read(PATH) as ds:
    for frame in ds.pixel_data:
        total += int(frame.data.max())
        sample()
""",
    "pydicom (c) iterate": """
from pydicom.pixels import iter_pixels
total = 0
for frame in iter_pixels(PATH):
    total += int(frame.max())
    sample()
""",
}

RUNNER = """
import json, sys, time, tracemalloc, gc
PATH = sys.argv[1]
def status():
    fields = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
    return fields
PEAK = {"RssAnon": 0, "RssFile": 0}
def sample():
    now = status()
    for key in PEAK:
        PEAK[key] = max(PEAK[key], now[key])
# The baseline includes numpy and both libraries with the modules they import on
# first use, so that import time (no bytecode cache here) is not measured.
import numpy
import pydicom, pydicom.pixels, pydicom.pixels.decoders.base, pydicom.encaps
import dicomframe
import dicomframe.core.values, dicomframe.core.pixel_data, dicomframe.core.dictionary
dicomframe.core.dictionary.tag_for_keyword("PatientName")
gc.collect()
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # reset the peak RSS (VmHWM) to the current RSS
base = status()
tracemalloc.start()
started = time.perf_counter()
exec(compile(sys.argv[2], "case", "exec"))
elapsed = time.perf_counter() - started
sample()
_, peak = tracemalloc.get_traced_memory()
end = status()
print(json.dumps({"seconds": elapsed, "traced": peak, "hwm": end["VmHWM"] - base["VmRSS"],
                  "file": PEAK["RssFile"] - base["RssFile"]}))
"""


def run_case(code: str, path: Path, repeat: int) -> dict[str, float]:
    best: dict[str, float] | None = None
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", RUNNER, str(path), code],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = make_file(args.frames)
    import dicomframe as dcf

    with dcf.read(path) as ds:
        element = ds[0x7FE00010]
        offset = (element.offset or 0) + 12
        pixel_bytes = element.length
    frame_bytes = ROWS * COLUMNS * 2
    params = {"offset": offset, "count": pixel_bytes // 2, "middle": args.frames // 2}
    results = {}
    for name, template in CASES.items():
        code = template.format(**params)
        if "(c)" not in name:
            code = code + "\nsample()\n"
        results[name] = run_case(code, path, args.repeat)
        time.sleep(0.1)
    baseline = results["numpy.fromfile"]["seconds"]
    print(f"file: {path.name}, {pixel_bytes / 1e6:.0f} MB of pixels, {args.frames} frames\n")
    print("| case | time (s) | x numpy.fromfile | peak allocations | peak RSS | file pages |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        unit = frame_bytes if "(b)" in name else pixel_bytes
        label = "frame" if "(b)" in name else "pixels"
        print(
            f"| {name} | {r['seconds']:.3f} | {r['seconds'] / baseline:.2f} | "
            f"{r['traced'] / unit:.2f}x {label} | {r['hwm'] / unit:.2f}x {label} | "
            f"{r['file'] / 1e6:.0f} MB |"
        )


if __name__ == "__main__":
    main()
