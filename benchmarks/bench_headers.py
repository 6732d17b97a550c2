"""Header benchmarks: scanning many small files, and opening a large one without its pixels.

Run:  python benchmarks/bench_headers.py [--files 5000] [--repeat 3]
          [--cases realistic,copies,large] [--rows 256]

(realistic) --files generated CT headers of about 100 elements each (a
    proper file meta, the usual patient/study/series/equipment/image
    attributes in a mix of VRs, a private block with an OB value, three
    sequences of defined and undefined length, one nested) with their own
    UIDs, names and positions per file, and a small Pixel Data
    (``--rows``, default 256x256 16-bit, so the file is larger than the
    64 KiB defer size as most images are). Each read with
    ``stop_before_pixels=True``, touching PatientID, StudyInstanceUID and
    Modality. dicomframe and pydicom alternate in the same process, each
    timed --repeat times; the median is reported, with the files in the
    page cache (read once before timing), and the median of the ratios of
    the two libraries' times in each repeat (back to back, so the machine's
    drift between repeats cancels).
(copies) 2,000 copies of testdata/ct_explicit_le.dcm with their own UIDs,
    the same way.
(large) The 500 MB multi-frame file of bench_pixels.py read without
    touching the pixels: time and peak memory above the interpreter, as a
    fraction of the file's size, each library in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
UNDEFINED = 0xFFFFFFFF
_LONG = {"OB", "OW", "OF", "OD", "OL", "OV", "SQ", "UN", "UC", "UR", "UT", "SV", "UV"}
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"


# -- a small Explicit VR Little Endian encoder, so the headers are exactly as described --
def element(tag: int, vr: str, value: bytes | str) -> bytes:
    """One element; text is padded to even length (NUL for UI, space otherwise)."""
    data = value.encode("latin-1") if isinstance(value, str) else value
    if len(data) % 2:
        data += b"\0" if vr in ("UI", "OB") else b" "
    head = struct.pack("<HH2s", tag >> 16, tag & 0xFFFF, vr.encode())
    if vr in _LONG:
        return head + struct.pack("<HL", 0, len(data)) + data
    return head + struct.pack("<H", len(data)) + data


def item(body: bytes, *, undefined: bool) -> bytes:
    if undefined:
        return struct.pack("<HHL", 0xFFFE, 0xE000, UNDEFINED) + body + b"\xfe\xff\x0d\xe0\0\0\0\0"
    return struct.pack("<HHL", 0xFFFE, 0xE000, len(body)) + body


def sequence(tag: int, items: list[bytes], *, undefined: bool) -> bytes:
    body = b"".join(items)
    head = struct.pack(
        "<HH2sHL", tag >> 16, tag & 0xFFFF, b"SQ", 0, UNDEFINED if undefined else len(body)
    )
    return head + body + (b"\xfe\xff\xdd\xe0\0\0\0\0" if undefined else b"")


def us(value: int) -> bytes:
    return struct.pack("<H", value)


def code(value: str, scheme: str, meaning: str) -> bytes:
    return (
        element(0x00080100, "SH", value)
        + element(0x00080102, "SH", scheme)
        + element(0x00080104, "LO", meaning)
    )


def realistic_file(index: int, rows: int) -> bytes:
    """A CT image of about 100 elements; UIDs, names and positions depend on ``index``."""
    study, series = index // 500, index // 100
    root = "1.2.826.0.1.3680043.8.498"
    sop = f"{root}.1.{index + 1}.{1_000_000 + index * 7919}"
    study_uid = f"{root}.2.{study + 1}.20240611"
    series_uid = f"{root}.3.{series + 1}.{study + 1}.7"
    z = -250.0 + 1.25 * (index % 100)
    date = f"202406{11 + study % 18:02d}"
    clock = f"{8 + index % 10:02d}{index % 60:02d}{(index * 7) % 60:02d}.{index % 1000:03d}"
    e = element
    parts = [
        e(0x00080005, "CS", "ISO_IR 100"),
        e(0x00080008, "CS", "ORIGINAL\\PRIMARY\\AXIAL"),
        e(0x00080012, "DA", date),
        e(0x00080013, "TM", clock),
        e(0x00080016, "UI", CT_IMAGE),
        e(0x00080018, "UI", sop),
        e(0x00080020, "DA", date),
        e(0x00080021, "DA", date),
        e(0x00080022, "DA", date),
        e(0x00080023, "DA", date),
        e(0x00080030, "TM", "081500"),
        e(0x00080031, "TM", "082010.250"),
        e(0x00080032, "TM", clock),
        e(0x00080033, "TM", clock),
        e(0x00080050, "SH", f"ACC{study:07d}"),
        e(0x00080060, "CS", "CT"),
        e(0x00080070, "LO", "ACME Medical Systems"),
        e(0x00080080, "LO", "General Hospital of Somewhere"),
        e(0x00080081, "ST", "1 Hospital Road, Somewhere"),
        e(0x00080090, "PN", "Referrer^Rita^^Dr"),
        e(0x00080201, "SH", "+0100"),
        e(0x00081010, "SH", "CTSCAN01"),
        e(0x00081030, "LO", "CT CHEST ABDOMEN PELVIS W CONTRAST"),
        sequence(
            0x00081032,
            [item(code("CTCAP", "99ACME", "CT chest abdomen pelvis"), undefined=True)],
            undefined=True,
        ),
        e(0x0008103E, "LO", f"Axial 1.25mm series {series}"),
        e(0x00081040, "LO", "Radiology"),
        e(0x00081090, "LO", "ScanMaster 64"),
        sequence(
            0x00081140,
            [
                item(
                    e(0x00081150, "UI", CT_IMAGE) + e(0x00081155, "UI", f"{root}.4.{index}.{n}"),
                    undefined=False,
                )
                for n in range(2)
            ],
            undefined=False,
        ),
        e(0x00090010, "LO", "ACME CT PRIVATE 1.0"),
        e(0x00091001, "LO", "recon-v7"),
        e(0x00091002, "OB", bytes((index + k) % 256 for k in range(256))),
        e(0x00091003, "DS", "0.75"),
        e(0x00100010, "PN", f"Doe^Jane{study:04d}^^Ms"),
        e(0x00100020, "LO", f"PID{study:08d}"),
        e(0x00100030, "DA", "19650412"),
        e(0x00100040, "CS", "F"),
        e(0x00101010, "AS", "059Y"),
        e(0x00101020, "DS", "1.68"),
        e(0x00101030, "DS", "71.5"),
        e(0x00180015, "CS", "CHEST"),
        e(0x00180022, "CS", "HELICAL MODE"),
        e(0x00180050, "DS", "1.25"),
        e(0x00180060, "DS", "120"),
        e(0x00180088, "DS", "1.25"),
        e(0x00180090, "DS", "500"),
        e(0x00181000, "LO", f"SN{4000 + study}"),
        e(0x00181020, "LO", "VX 12.4.2"),
        e(0x00181030, "LO", "Chest/Abdomen/Pelvis"),
        e(0x00181100, "DS", "380"),
        e(0x00181120, "DS", "0"),
        e(0x00181130, "DS", "152.5"),
        e(0x00181140, "CS", "CW"),
        e(0x00181150, "IS", "500"),
        e(0x00181151, "IS", str(180 + index % 40)),
        e(0x00181152, "IS", "9"),
        e(0x00181160, "SH", "BODY FILTER"),
        e(0x00181170, "IS", "36"),
        e(0x00181190, "DS", "0.7"),
        e(0x00181210, "SH", "STANDARD"),
        e(0x00185100, "CS", "FFS"),
        e(0x00189345, "FD", struct.pack("<d", 11.2 + index % 5)),
        e(0x0020000D, "UI", study_uid),
        e(0x0020000E, "UI", series_uid),
        e(0x00200010, "SH", f"{study}"),
        e(0x00200011, "IS", str(series % 100 + 1)),
        e(0x00200012, "IS", "1"),
        e(0x00200013, "IS", str(index % 100 + 1)),
        e(0x00200032, "DS", f"-187.5\\-187.5\\{z}"),
        e(0x00200037, "DS", "1\\0\\0\\0\\1\\0"),
        e(0x00200052, "UI", f"{root}.5.{study + 1}"),
        e(0x00201040, "LO", "IC"),
        e(0x00201041, "DS", f"{z}"),
        e(0x00280002, "US", us(1)),
        e(0x00280004, "CS", "MONOCHROME2"),
        e(0x00280010, "US", us(rows)),
        e(0x00280011, "US", us(rows)),
        e(0x00280030, "DS", "0.742188\\0.742188"),
        e(0x00280100, "US", us(16)),
        e(0x00280101, "US", us(12)),
        e(0x00280102, "US", us(11)),
        e(0x00280103, "US", us(0)),
        e(0x00281050, "DS", "40\\400"),
        e(0x00281051, "DS", "400\\1500"),
        e(0x00281052, "DS", "-1024"),
        e(0x00281053, "DS", "1"),
        e(0x00281054, "LO", "HU"),
        e(0x00321060, "LO", "CT CHEST ABDOMEN PELVIS"),
        e(0x00400244, "DA", date),
        e(0x00400245, "TM", "081500"),
        e(0x00400253, "SH", f"PPS{study}"),
        e(0x00400254, "LO", "CT CAP"),
        sequence(
            0x00400275,
            [
                item(
                    e(0x00400007, "LO", "CT chest abdomen pelvis with contrast")
                    + sequence(
                        0x00400008,
                        [item(code("P1", "99ACME", "Routine CAP"), undefined=False)],
                        undefined=False,
                    )
                    + e(0x00400009, "SH", f"SPS{study}")
                    + e(0x00401001, "SH", f"RP{study}"),
                    undefined=True,
                )
            ],
            undefined=True,
        ),
        e(0x7FE00010, "OW", bytes(rows * rows * 2)),
    ]
    dataset = b"".join(parts)
    meta_body = b"".join(
        [
            e(0x00020001, "OB", b"\0\1"),
            e(0x00020002, "UI", CT_IMAGE),
            e(0x00020003, "UI", sop),
            e(0x00020010, "UI", EXPLICIT_LE),
            e(0x00020012, "UI", f"{root}.9"),
            e(0x00020013, "SH", "BENCH_1"),
            e(0x00020016, "AE", "CTSCAN01"),
        ]
    )
    meta = e(0x00020000, "UL", struct.pack("<L", len(meta_body))) + meta_body
    return b"\0" * 128 + b"DICM" + meta + dataset


def make_realistic(count: int, rows: int) -> list[Path]:
    folder = DATA / f"realistic_{count}_{rows}"
    files = [folder / f"{index:05d}.dcm" for index in range(count)]
    if folder.exists() and all(f.exists() for f in files):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(files):
        path.write_bytes(realistic_file(index, rows))
    return files


def make_copies(count: int) -> list[Path]:
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


def scan(files: list[Path], repeat: int, title: str) -> None:
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

    for path in files:  # the page cache holds every file before timing
        with open(path, "rb") as handle:
            handle.read()
    runs: dict[str, Callable[[], None]] = {"dicomframe": ours, "pydicom": theirs}
    for run in runs.values():
        run()  # warm: lazy imports and the dictionary are loaded once per process
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):  # alternate, so a noisy neighbour hits both alike
        for name, run in runs.items():
            spent_wall, spent_cpu = _timed(run)
            wall[name].append(spent_wall)
            cpu[name].append(spent_cpu)
    rates = {name: len(files) / statistics.median(spent) for name, spent in wall.items()}
    cpu_rates = {name: len(files) / statistics.median(spent) for name, spent in cpu.items()}
    size = sum(f.stat().st_size for f in files) / len(files)
    print(f"\n({title}) {len(files)} files of {size / 1024:.0f} KiB, stop_before_pixels,")
    print(f"3 attributes each, median of {repeat}; CPU: the process's CPU time (user + system)\n")
    print("| library | files/s | x pydicom | files/s of CPU | x pydicom (CPU) |")
    print("|---|---|---|---|---|")
    for name, rate in rates.items():
        print(
            f"| {name} | {rate:.0f} | {rate / rates['pydicom']:.2f} | {cpu_rates[name]:.0f} | "
            f"{cpu_rates[name] / cpu_rates['pydicom']:.2f} |"
        )
    # Each repeat times both back to back: its ratio cancels the machine's drift between repeats.
    paired = sorted(t / o for o, t in zip(wall["dicomframe"], wall["pydicom"], strict=True))
    print(f"\npaired ratios, repeat by repeat: median {statistics.median(paired):.2f}x "
          f"(from {paired[0]:.2f}x to {paired[-1]:.2f}x)")  # fmt: skip


def _timed(run: Callable[[], None]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run (CPU time is steadier on a shared machine)."""
    started, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - started, time.process_time() - cpu


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
    # Children run with .pyc files, as a real install has them.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    print(f"\n(large) {path.name} ({size / 1e6:.0f} MB) read without touching the pixels\n")
    print("| library | time (ms) | peak memory | of the file's size |")
    print("|---|---|---|---|")
    for name, (imports, code) in CASES.items():
        out = subprocess.run(
            [sys.executable, "-c", LARGE.format(imports=imports, code=code), str(path)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"| {name} | {result['seconds'] * 1000:.1f} | {result['peak'] / 1e6:.1f} MB | "
            f"{100 * result['peak'] / size:.2f}% |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000, help="realistic headers to scan")
    parser.add_argument("--copies", type=int, default=2000, help="copies of the small CT")
    parser.add_argument("--rows", type=int, default=256, help="rows and columns of each image")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default="realistic,copies,large")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    if "realistic" in cases:
        scan(make_realistic(args.files, args.rows), args.repeat, "realistic")
    if "copies" in cases:
        scan(make_copies(args.copies), args.repeat, "copies")
    if "large" in cases:
        large()


if __name__ == "__main__":
    main()
