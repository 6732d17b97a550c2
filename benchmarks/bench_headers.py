"""Header benchmarks: scanning many small files, and opening a large one without its pixels.

Run:  python benchmarks/bench_headers.py [--files 2000] [--repeat 3]

(a) 2,000 generated files (copies of testdata/ct_explicit_le.dcm with their
    own UIDs) read with ``stop_before_pixels=True``, touching three attributes
    each: files per second, dicomframe and pydicom in the same run.
(b) The 500 MB multi-frame file of bench_pixels.py read without touching the
    pixels: time and peak memory above the interpreter, as a fraction of the
    file's size, each library in a fresh process.
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


def make_files(count: int) -> list[Path]:
    import dicomframe as dcf

    folder = DATA / f"headers_{count}"
    files = [folder / f"{index:05d}.dcm" for index in range(count)]
    if folder.exists() and all(f.exists() for f in files):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    ds = dcf.read(ROOT / "testdata" / "ct_explicit_le.dcm")
    for index, path in enumerate(files):
        ds.SOPInstanceUID = f"2.25.{7_000_000 + index}"
        dcf.write(ds, path)
    return files


def scan(files: list[Path], repeat: int) -> None:
    import pydicom

    import dicomframe as dcf

    def ours() -> None:
        for path in files:
            ds = dcf.read(path, stop_before_pixels=True)
            _ = (ds.PatientID, ds.StudyInstanceUID, ds.Modality)

    def theirs() -> None:
        for path in files:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            _ = (ds.PatientID, ds.StudyInstanceUID, ds.Modality)

    ours()  # warm: lazy imports and the dictionary are loaded once per process
    theirs()
    rates = {}
    for name, run in (("dicomframe", ours), ("pydicom", theirs)):
        best = min(_timed(run) for _ in range(repeat))
        rates[name] = len(files) / best
    print(f"(a) {len(files)} files, stop_before_pixels, 3 attributes each\n")
    print("| library | files/s | x pydicom |")
    print("|---|---|---|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:.0f} | {rate / rates['pydicom']:.2f} |")


def _timed(run: object) -> float:
    started = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - started


LARGE = """
import json, sys, time
{imports}
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
base = status("VmRSS")
started = time.perf_counter()
{code}
print(json.dumps({{"seconds": time.perf_counter() - started, "peak": status("VmHWM") - base}}))
"""
CASES = {
    "dicomframe": (
        "import dicomframe as dcf, dicomframe.core.values, dicomframe.core.dictionary",
        "ds = dcf.read(sys.argv[1])\nrows = ds.Rows, ds.NumberOfFrames, ds.PatientID",
    ),
    "pydicom": (
        "import pydicom",
        "ds = pydicom.dcmread(sys.argv[1])\nrows = ds.Rows, ds.NumberOfFrames, ds.PatientID",
    ),
}


def large() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_pixels import make_file

    path = make_file(1000)
    size = path.stat().st_size
    print(f"\n(b) {path.name} ({size / 1e6:.0f} MB) read without touching the pixels\n")
    print("| library | time (ms) | peak memory | of the file's size |")
    print("|---|---|---|---|")
    for name, (imports, code) in CASES.items():
        out = subprocess.run(
            [sys.executable, "-c", LARGE.format(imports=imports, code=code), str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"| {name} | {result['seconds'] * 1000:.1f} | {result['peak'] / 1e6:.1f} MB | "
            f"{100 * result['peak'] / size:.2f}% |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scan(make_files(args.files), args.repeat)
    large()


if __name__ == "__main__":
    main()
