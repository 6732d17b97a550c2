"""Startup: what a fresh process pays before its first frame, per backend, and RLE encoding.

Run:  python benchmarks/bench_startup.py [--runs 7] [--dists 300] [--rle-frames 200]

Every case runs in a fresh interpreter with .pyc files, as a real install has
them (``src`` is compiled first; the children run without
PYTHONDONTWRITEBYTECODE). Cases take turns; best and median of --runs.

1. The registry: ``CodecManager().load()`` and every available codec's version
   check (``Codec.too_old``), with the entry-point cache off
   (``DICOMFRAME_PLUGIN_CACHE=0``), cold (an empty cache directory: the run
   that makes it) and warm; then the same with --dists more distributions on
   ``sys.path`` (fake dist-info folders, as in a large environment). Says
   whether the process imported importlib.metadata.
2. The pieces of an uncached scan: importing importlib.metadata, reading the
   group's entry points, each plugin's distribution and version.
3. The first frame, per codec: ``dcf.read`` then ``pixel_data[0].decode(codec=...)``
   (registry with a warm cache, backend import, decode), and the second frame
   (the steady cost), on 2-frame files made here from one 512x512 image (12-bit
   grey, or RGB for JPEG Baseline). pydicom side by side:
   ``pydicom.pixels.pixel_array(path, index=0)`` (read and decode), its default
   plugin, after ``import pydicom.pixels``.
4. Importing a backend: the whole package against the one module that does
   the job (after ``import numpy``, which dicomframe imports anyway).
5. With --rle-frames: RLE Lossless encoding of that many 512x512 int16 frames,
   in-process per encoder (ms a frame), then whole files: ``dicomframe
   transcode --to RLELossless`` (with and without verification) against
   DCMTK's ``dcmcrle`` and GDCM's ``gdcmconv --rle`` where installed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "startup"
_FRESH = itertools.count()  # names of empty cache directories
CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"
SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

REGISTRY = """
import json, sys, time
import dicomframe
from dicomframe.plugins.manager import CodecManager
started = time.perf_counter()
manager = CodecManager()
manager.load()
for status in manager.codecs():
    if status.available:
        status.codec.too_old()
print(json.dumps({"ms": 1e3 * (time.perf_counter() - started),
                  "metadata": "importlib.metadata" in sys.modules}))
"""

PIECES = """
import json, sys, time
t0 = time.perf_counter()
import importlib.metadata
t1 = time.perf_counter()
found = importlib.metadata.entry_points(group="dicomframe.codecs")
t2 = time.perf_counter()
origins = [(e.dist.name, e.dist.version) for e in found]
t3 = time.perf_counter()
print(json.dumps({"import": 1e3 * (t1 - t0), "scan": 1e3 * (t2 - t1),
                  "versions": 1e3 * (t3 - t2), "plugins": len(origins)}))
"""

FIRST = """
import json, sys, time
t0 = time.perf_counter()
import dicomframe as dcf
t1 = time.perf_counter()
ds = dcf.read(sys.argv[1])
codec = sys.argv[2] or None
ds.pixel_data[0].decode(codec=codec)
t2 = time.perf_counter()
ds.pixel_data[1].decode(codec=codec)
t3 = time.perf_counter()
print(json.dumps({"import": 1e3 * (t1 - t0), "first": 1e3 * (t2 - t1),
                  "second": 1e3 * (t3 - t2)}))
"""

PYDICOM = """
import json, sys, time
t0 = time.perf_counter()
import pydicom, pydicom.pixels
t1 = time.perf_counter()
try:
    pydicom.pixels.pixel_array(sys.argv[1], index=0)
except Exception as exc:  # a syntax pydicom does not decode
    print(json.dumps({"error": type(exc).__name__}))
    raise SystemExit
t2 = time.perf_counter()
pydicom.pixels.pixel_array(sys.argv[1], index=1)
t3 = time.perf_counter()
print(json.dumps({"import": 1e3 * (t1 - t0), "first": 1e3 * (t2 - t1),
                  "second": 1e3 * (t3 - t2)}))
"""

IMPORT = """
import json, time
import numpy
started = time.perf_counter()
{statement}
print(json.dumps({{"ms": 1e3 * (time.perf_counter() - started)}}))
"""

# codec -> file (made by make_data); "" is the default dispatch
FIRST_CASES = [
    ("rle", "RLELossless"),
    ("pylibjpeg-rle", "RLELossless"),
    ("imagecodecs-jpeg", "JPEGBaseline8Bit"),
    ("pillow", "JPEGBaseline8Bit"),
    ("pylibjpeg-libjpeg", "JPEGBaseline8Bit"),
    ("imagecodecs-jpeg", "JPEGLosslessSV1"),
    ("imagecodecs-j2k", "JPEG2000Lossless"),
    ("pylibjpeg-openjpeg", "JPEG2000Lossless"),
    ("pillow", "JPEG2000Lossless"),
    ("imagecodecs-htj2k", "HTJ2KLossless"),
    ("pyjpegls", "JPEGLSLossless"),
    ("imagecodecs-jpegls", "JPEGLSLossless"),
    ("deflate", "DeflatedImageFrameCompression"),
]

IMPORTS = [
    "import imagecodecs; imagecodecs.jpeg8_decode",
    "import imagecodecs._jpeg8",
    "import imagecodecs; imagecodecs.packbits_encode",
    "import imagecodecs._imcd",
    "import rle.utils  # pylibjpeg-rle",
    "import openjpeg.utils  # pylibjpeg-openjpeg",
    "import libjpeg.utils  # pylibjpeg-libjpeg",
    "import pylibjpeg",
    "import jpeg_ls  # pyjpegls",
    "from PIL import Image; Image.preinit()",
    "from PIL import Image, Jpeg2KImagePlugin",
    "from PIL import Image; Image.init()  # every plugin",
    "import importlib.metadata",
    "import importlib.metadata as m; m.version('imagecodecs')",
]


def child(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        env=env or ENV,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def taking_turns(
    cases: dict[str, Callable[[], dict[str, Any]]], runs: int
) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, run in cases.items():
            results[name].append(run())
    return results


def best_median(values: list[float]) -> str:
    """One table cell: the best, and the median in brackets."""
    return f"{min(values):.1f} ({statistics.median(values):.1f})"


def fake_site(folder: Path, count: int) -> Path:
    """``count`` installed-looking distributions, a third with console scripts."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        info = folder / f"fakepkg{index}-1.{index}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: fakepkg{index}\nVersion: 1.{index}\n\nAbout it.\n"
        )
        if index % 3 == 0:
            (info / "entry_points.txt").write_text(
                f"[console_scripts]\nfake{index} = fakepkg{index}:main\n"
            )
    return folder


# -- 1 and 2 -------------------------------------------------------------------------------------
def registry(runs: int, dists: int, scratch: Path) -> None:
    print("\n(1) Registry load and version checks in a fresh process (ms)\n")
    print("| distributions on sys.path | cache | best (median) | imported importlib.metadata |")
    print("|---|---|---|---|")
    count = len(list(_installed()))
    sites = [("", count)]
    if dists:
        sites.append((str(fake_site(scratch / "fake-site", dists)), count + dists))
    for site, total in sites:
        env = {**ENV, "PYTHONPATH": site} if site else dict(ENV)
        warm = {**env, "XDG_CACHE_HOME": str(scratch / f"warm{total}")}
        child(REGISTRY, env=warm)  # makes the warm cache

        def cold(env: dict[str, str] = env) -> dict[str, Any]:
            folder = str(scratch / f"cold{next(_FRESH)}")  # an empty cache: it is made
            return child(REGISTRY, env={**env, "XDG_CACHE_HOME": folder})

        cases = {
            "off": lambda env=env: child(REGISTRY, env={**env, "DICOMFRAME_PLUGIN_CACHE": "0"}),
            "cold (made)": cold,
            "warm": lambda warm=warm: child(REGISTRY, env=warm),
        }
        for name, results in taking_turns(cases, runs).items():
            imported = {r["metadata"] for r in results}
            print(
                f"| {total} | {name} | {best_median([r['ms'] for r in results])} | "
                f"{'yes' if imported == {True} else 'no' if imported == {False} else imported} |"
            )

    print("\n(2) The pieces of an uncached scan (ms, best | median)\n")
    print("| distributions | import importlib.metadata | entry_points(group=) | dist + version |")
    print("|---|---|---|---|")
    for site, total in sites:
        env = {**ENV, "PYTHONPATH": site} if site else dict(ENV)
        results = [child(PIECES, env=env) for _ in range(runs)]
        plugins = results[0]["plugins"]
        print(
            f"| {total} | {best_median([r['import'] for r in results])} | "
            f"{best_median([r['scan'] for r in results])} | "
            f"{best_median([r['versions'] for r in results])} ({plugins} plugins) |"
        )


def _installed() -> list[str]:
    import importlib.metadata

    return [d.metadata["Name"] for d in importlib.metadata.distributions()]


# -- 3 -------------------------------------------------------------------------------------------
def make_data() -> dict[str, Path]:
    """2-frame files, one per syntax, from one 512x512 image (made once)."""
    import dicomframe as dcf

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_codecs as bc

    DATA.mkdir(parents=True, exist_ok=True)
    paths = {syntax: DATA / f"{syntax}.dcm" for _, syntax in FIRST_CASES}
    if all(p.exists() for p in paths.values()):
        return paths
    bc.CT_FRAMES = 2
    grey = bc.ct_pixels()
    rgb = bc.colour_pixels(2, 512, 512, 11)
    sources = {}
    for name, arr, sop in (("grey", grey, CT_CLASS), ("rgb", rgb, SC_CLASS)):
        path = DATA / f"native_{name}.dcm"
        bc.pydicom_dataset(arr, sop_class=sop).save_as(path, enforce_file_format=True)
        sources[name] = dcf.read(path)
    for syntax, path in paths.items():
        source = sources["rgb" if syntax == "JPEGBaseline8Bit" else "grey"]
        dcf.write(dcf.transcode(source, syntax), path)
    return paths


def first_frames(runs: int, scratch: Path) -> None:
    paths = make_data()
    env = {**ENV, "XDG_CACHE_HOME": str(scratch / "first")}
    child(REGISTRY, env=env)  # a warm cache, as after the first run
    cases: dict[str, Callable[[], dict[str, Any]]] = {}
    for codec, syntax in FIRST_CASES:
        path = str(paths[syntax])
        cases[f"{syntax} | {codec}"] = lambda path=path, codec=codec: child(
            FIRST, path, codec, env=env
        )
    for syntax in sorted({s for _, s in FIRST_CASES}):
        path = str(paths[syntax])
        cases[f"{syntax} | default"] = lambda path=path: child(FIRST, path, "", env=env)
        cases[f"{syntax} | pydicom"] = lambda path=path: child(PYDICOM, path)
    results = taking_turns(cases, runs)
    print("\n(3) First frame in a fresh process, ms, best (median). import: `import dicomframe`")
    print("    or `import pydicom, pydicom.pixels`; read + first frame: the registry, the")
    print("    backend's import and the decode; the second frame is the steady cost.\n")
    print("| syntax | codec | import | read + first frame | both | second frame |")
    print("|---|---|---|---|---|---|")
    for name in sorted(results):
        rows = results[name]
        if "error" in rows[0]:
            print(f"| {name} | {rows[0]['error']} | | | |")
            continue
        print(
            f"| {name} | {best_median([r['import'] for r in rows])} | "
            f"{best_median([r['first'] for r in rows])} | "
            f"{best_median([r['import'] + r['first'] for r in rows])} | "
            f"{best_median([r['second'] for r in rows])} |"
        )


# -- 4 -------------------------------------------------------------------------------------------
def imports(runs: int) -> None:
    cases = {s: lambda s=s: child(IMPORT.format(statement=s)) for s in IMPORTS}
    results = taking_turns(cases, runs)
    print("\n(4) Importing a backend in a fresh process, after numpy (ms)\n")
    print("| statement | best (median) |")
    print("|---|---|")
    for statement, rows in results.items():
        print(f"| `{statement}` | {best_median([r['ms'] for r in rows])} |")


# -- 5 -------------------------------------------------------------------------------------------
def rle_encode(frames: int, runs: int, scratch: Path) -> None:
    import dicomframe as dcf
    from dicomframe.plugins.manager import default_manager

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_codecs as bc

    bc.CT_FRAMES = frames
    arr = (bc.ct_pixels().astype(np.int32) - 1024).astype(np.int16)
    source = scratch / f"ct_int16_{frames}.dcm"
    ds = bc.pydicom_dataset(arr, sop_class=CT_CLASS)
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 15, 1
    ds.save_as(source, enforce_file_format=True)
    native = list(dcf.read(source).pixel_data)
    manager = default_manager()
    print(
        f"\n(5) RLE Lossless encode, {frames} frames of 512x512 int16 (CT-like, noise sigma 12)\n"
    )
    print("| encoder, in-process, one thread | ms a frame (best) | output bytes |")
    print("|---|---|---|")
    for codec in ("imagecodecs-rle", "pylibjpeg-rle", "rle"):
        if not manager.get(codec).is_available():
            continue
        best, size = float("inf"), 0
        for _ in range(max(1, runs // 2)):
            started = time.perf_counter()
            size = sum(len(manager.encode(f, "RLELossless", codec=codec).data) for f in native)
            best = min(best, time.perf_counter() - started)
        print(f"| {codec} | {1e3 * best / frames:.2f} | {size:,} |")
    commands = {
        "dicomframe transcode (verifies)": [
            "dicomframe",
            "transcode",
            str(source),
            "{out}",
            "--to",
            "RLELossless",
            "--overwrite",
        ],
        "dicomframe transcode --no-verify": [
            "dicomframe",
            "transcode",
            str(source),
            "{out}",
            "--to",
            "RLELossless",
            "--overwrite",
            "--no-verify",
        ],
        "dcmcrle (DCMTK)": ["dcmcrle", str(source), "{out}"],
        "gdcmconv --rle (GDCM)": ["gdcmconv", "--rle", str(source), "{out}"],
    }
    found = {k: v for k, v in commands.items() if shutil.which(v[0])}
    times: dict[str, list[float]] = {name: [] for name in found}
    for _ in range(runs):
        for name, command in found.items():
            out = scratch / "out.dcm"
            started = time.perf_counter()
            subprocess.run(
                [part.replace("{out}", str(out)) for part in command],
                check=True,
                capture_output=True,
                env=ENV,
            )
            times[name].append(time.perf_counter() - started)
            decoded = dcf.read(out).pixel_array
            if not np.array_equal(decoded, arr):
                raise SystemExit(f"{name}: the RLE file does not decode to the source")
    print("\n| whole file, fresh process | seconds (best) | median |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {min(values):.2f} | {statistics.median(values):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dists", type=int, default=300, help="fake distributions for (1)")
    parser.add_argument("--rle-frames", type=int, default=200, help="0: skip section 5")
    parser.add_argument("--skip", default="", help="sections to skip, e.g. 3,4")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    print(f"load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        scratch = Path(folder)
        if "1" not in skip:
            registry(args.runs, args.dists, scratch)
        if "3" not in skip:
            first_frames(args.runs, scratch)
        if "4" not in skip:
            imports(args.runs)
        if args.rle_frames and "5" not in skip:
            rle_encode(args.rle_frames, args.runs, scratch)
    print(f"\nload average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
