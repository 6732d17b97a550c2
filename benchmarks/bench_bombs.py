"""Hostile input: peak memory and time of each attack, dicomframe and pydicom side by side.

Run:  python benchmarks/bench_bombs.py [--cap-gib 4]

Each case is a small file built to make a reader allocate or walk far more
than it holds. Each library reads it in a fresh process under an address
space cap (``RLIMIT_AS``, ``--cap-gib``) so a reader that follows the file
ends in ``MemoryError`` at the cap instead of taking the machine. The table
gives the outcome (the exception type, or "read"), the wall time and the
peak resident memory of the process, default limits for dicomframe.
"""

from __future__ import annotations

import argparse
import json
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20

RUN = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
library, path, action = sys.argv[1:4]
start = time.perf_counter()
outcome = "read"
try:
    if library == "dicomframe":
        import dicomframe as dcf
        ds = dcf.read(path)
        if action == "pixels":
            ds.pixel_data[0].decode()
        else:
            ds.load()  # every sequence parsed, as pydicom's iterall walks them
    else:
        import pydicom
        ds = pydicom.dcmread(path, force=True)
        if action == "pixels":
            ds.pixel_array
        else:
            list(ds.iterall())
except BaseException as exc:
    outcome = type(exc).__name__
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"outcome": outcome, "seconds": seconds, "peak": peak}))
"""


def element(tag: int, vr: str, value: bytes, length: int | None = None) -> bytes:
    size = len(value) if length is None else length
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode()
    if vr in {"OB", "OW", "SQ", "UN", "UT"}:
        return head + b"\0\0" + struct.pack("<L", size) + value
    return head + struct.pack("<H", size) + value


def part10(body: bytes, syntax: str = "1.2.840.10008.1.2.1") -> bytes:
    uid = syntax.encode() + (b"\0" if len(syntax) % 2 else b"")
    meta = element(0x00020001, "OB", b"\0\1") + element(0x00020010, "UI", uid)
    return (
        b"\0" * 128
        + b"DICM"
        + element(0x00020000, "UL", struct.pack("<L", len(meta)))
        + meta
        + body
    )


def deflate_bomb() -> bytes:
    """The issue's recipe: two OB values of 3 GiB of zeros, raw-deflated (about 6 MB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = compressor.compress(element(0x00091010, "OB", b"", 3 << 30))
    head += compressor.flush(zlib.Z_FULL_FLUSH)
    zeros = compressor.compress(b"\0" * MIB) + compressor.flush(zlib.Z_FULL_FLUSH)
    return part10((head + zeros * 3072) * 2 + compressor.flush(), "1.2.840.10008.1.2.1.99")


def nested() -> bytes:
    """5,000 sequences nested in each other (undefined lengths)."""
    open_ = b"\x08\x00\x15\x11SQ\0\0\xff\xff\xff\xff\xfe\xff\x00\xe0\xff\xff\xff\xff"
    close = b"\xfe\xff\x0d\xe0\0\0\0\0\xfe\xff\xdd\xe0\0\0\0\0"
    return part10(open_ * 5000 + close * 5000)


def many_elements() -> bytes:
    """16 million empty elements with distinct private tags, in 128 MB."""
    import numpy as np

    count = 16 << 20
    index = np.arange(count, dtype=np.uint32)
    layout = np.dtype([("group", "<u2"), ("element", "<u2"), ("vr", "S2"), ("length", "<u2")])
    body = np.zeros(count, layout)
    body["group"] = 0x1001 + 2 * (index // 0xFF00)  # odd groups: private
    body["element"] = 0x0100 + index % 0xFF00
    body["vr"] = b"LO"
    return part10(body.tobytes())


def frame_attributes(rows: int, columns: int, syntax: str, pixel: bytes) -> bytes:
    body = (
        element(0x00280002, "US", struct.pack("<H", 1))
        + element(0x00280004, "CS", b"MONOCHROME2 ")
        + element(0x00280010, "US", struct.pack("<H", rows))
        + element(0x00280011, "US", struct.pack("<H", columns))
        + element(0x00280100, "US", struct.pack("<H", 16))
        + element(0x00280101, "US", struct.pack("<H", 16))
        + element(0x00280102, "US", struct.pack("<H", 15))
        + element(0x00280103, "US", struct.pack("<H", 0))
    )
    items = b"\xfe\xff\x00\xe0\0\0\0\0" + b"\xfe\xff\x00\xe0" + struct.pack("<L", len(pixel))
    pixels = b"\xe0\x7f\x10\x00OB\0\0\xff\xff\xff\xff" + items + pixel + b"\xfe\xff\xdd\xe0\0\0\0\0"
    return part10(body + pixels, syntax)


def j2k_bomb() -> bytes:
    """A J2K codestream whose SIZ and the dataset say 60000 x 60000 (16-bit)."""
    size = (60000, 60000, 0, 0, 60000, 60000, 0, 0)
    siz = struct.pack(">HHH8IHBBB", 0xFF51, 41, 0, *size, 1, 15, 1, 1)
    cod = bytes.fromhex("ff52000c00000001010504040001")
    qcd = bytes.fromhex("ff5c00044000")
    stream = b"\xff\x4f" + siz + cod + qcd + b"\xff\x90" + bytes(64 * 1024) + b"\xff\xd9"
    return frame_attributes(60000, 60000, "1.2.840.10008.1.2.4.90", stream)


def jpeg_lossless_bomb() -> bytes:
    """A JPEG lossless (SV1) stream whose SOF3 and the dataset say 60000 x 60000 (16-bit)."""
    sof = b"\xff\xc3" + struct.pack(">HBHHB", 11, 16, 60000, 60000, 1) + b"\x01\x11\x00"
    dht = b"\xff\xc4" + struct.pack(">H", 3 + 16 + 1) + b"\x00" + b"\x01" + b"\0" * 15 + b"\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x01\x00\x00"
    stream = b"\xff\xd8" + sof + dht + sos + bytes(64 * 1024) + b"\xff\xd9"
    return frame_attributes(60000, 60000, "1.2.840.10008.1.2.4.70", stream)


CASES: list[tuple[str, Callable[[], bytes], str]] = [
    ("deflate bomb (2 x 3 GiB of zeros)", deflate_bomb, "header"),
    ("5,000 nested sequences", nested, "header"),
    ("16 M empty elements", many_elements, "header"),
    ("J2K 60000 x 60000 frame", j2k_bomb, "pixels"),
    ("JPEG lossless 60000 x 60000 frame", jpeg_lossless_bomb, "pixels"),
]


def measure(library: str, path: Path, action: str, cap: int) -> dict[str, object]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUN, library, str(path), action],
        capture_output=True,
        text=True,
        preexec_fn=limit,  # the cap is set in the child before it starts
        timeout=600,
        cwd=ROOT,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if not lines:
        return {
            "outcome": f"died ({done.returncode})",
            "seconds": time.perf_counter() - start,
            "peak": 0,
        }
    result: dict[str, object] = json.loads(lines[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cap-gib", type=float, default=4.0)
    args = parser.parse_args()
    cap = int(args.cap_gib * (1 << 30))
    print(f"address space cap per process: {args.cap_gib:g} GiB\n")
    print("| case | file | library | outcome | time (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, build, action in CASES:
            path = Path(folder) / "bomb.dcm"
            path.write_bytes(build())
            size = f"{path.stat().st_size / MIB:.1f} MB"
            for library in ("dicomframe", "pydicom"):
                got = measure(library, path, action, cap)
                peak = int(got["peak"]) / MIB  # type: ignore[call-overload]
                seconds = float(got["seconds"])  # type: ignore[arg-type]
                row = (name, size, library, got["outcome"], f"{seconds:.2f}", f"{peak:.0f}")
                print("| " + " | ".join(map(str, row)) + " |")


if __name__ == "__main__":
    main()
