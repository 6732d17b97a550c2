"""De-identifying a tree: ``dicomframe deidentify`` beside pydicom/deid and a pydicom script.

Run:  python benchmarks/bench_deid.py [--files 1000] [--runs 2]
      (pydicom/deid is a separate package: ``pip install deid``; without it its rows are left out)

The tree: --files files in patient/study folders, copies of real scanners' files
from pydicom's and pydicom-data's test files (CT, MR, US, NM, RT Plan; native,
JPEG Lossless and JPEG 2000; 10 KB to 1 MB, about 280 KB on average), each with
its own patient, study, series and instance UIDs, written once to
``benchmarks/data/deid_<files>``.

Each case runs in a fresh process (imports included), on 1 and 2 worker
processes; the cases take turns and each row gives the best of --runs:

- **dicomframe**: ``dicomframe deidentify SRC DST --workers N`` (the Basic
  Profile, read-back verification of every file, atomic writes, the tree
  mirrored).
- **pydicom/deid**: ``deid.dicom.replace_identifiers`` with its default recipe
  and ``remove_private=True``, the files split into N chunks on a process pool
  (deid has no workers of its own).
- **pydicom script**: ``pydicom.dcmread``, then the Basic Profile actions of
  Table E.1-1 (the same table dicomframe uses: X removes, Z empties, D puts a
  dummy, U an HMAC-derived ``2.25.`` UID) at every depth with
  ``Dataset.walk``, ``remove_private_tags``, Patient Identity Removed, and
  ``save_as`` into the mirrored tree; N processes.

The three do not do the same amount of work: deid's recipe is shorter than
Table E.1-1 (73 actions, many by name pattern), the script does not verify
its output, and dicomframe reads every output back to verify it. The table
says files per second and the ratio to dicomframe on as many workers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
SOURCES = [  # (package, name): pydicom's bundled test files, or pydicom-data's
    ("pydicom", "CT_small.dcm"),
    ("pydicom", "MR_small.dcm"),
    ("pydicom", "rtplan.dcm"),
    ("data", "MR-SIEMENS-DICOM-WithOverlays.dcm"),
    ("data", "US1_UNCR.dcm"),
    ("data", "JPEG2000_UNC.dcm"),
    ("data", "OBXXXX1A.dcm"),
    ("data", "JPEG-LL.dcm"),
    ("pydicom", "JPEG2000.dcm"),
]

SCRIPT = r"""
import hashlib, hmac, multiprocessing, os, sys
from pathlib import Path
import pydicom
from dicomframe.deid import _table

SALT = b"benchmark"
DUMMY = {"DA": "19000101", "TM": "000000", "DT": "19000101000000", "AS": "000Y", "DS": "0",
         "IS": "0"}
ACTIONS = {}
for line in _table.TABLE.strip().splitlines():
    key, basic, *_ = line.split()
    if "/" not in key:
        ACTIONS[int(key, 16)] = basic


def new_uid(uid):
    digest = hmac.new(SALT, b"uid\0" + uid.encode(), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def act(ds, elem):
    code = ACTIONS.get(int(elem.tag))
    if code is None or code == "K":
        return
    choices = code.split("/")
    action = "U" if "U*" in choices else "D" if "D" in choices else "Z" if "Z" in choices else code
    if elem.VR == "UI" and action in ("U", "D"):
        elem.value = [new_uid(u) for u in elem.value] if elem.VM > 1 else new_uid(elem.value)
    elif action == "X":
        del ds[elem.tag]
    elif action == "Z" or elem.VR == "SQ":
        elem.value = [] if elem.VR == "SQ" else None
    elif action == "D":
        elem.value = DUMMY.get(elem.VR, "ANONYMOUS" if elem.VR in ("PN", "LO", "SH", "CS",
            "LT", "ST", "UT", "UC", "AE") else elem.value)


def one(pair):
    src, dst = pair
    ds = pydicom.dcmread(src)
    ds.remove_private_tags()
    ds.walk(act)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientIdentityRemoved = "YES"
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(dst)


if __name__ == "__main__":
    src, dst, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    pairs = [(str(p), str(dst / p.relative_to(src))) for p in sorted(src.rglob("*.dcm"))]
    if workers == 1:
        for pair in pairs:
            one(pair)
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(one, pairs, chunksize=16)
"""

DEID = r"""
import multiprocessing, sys
from pathlib import Path


def chunk(args):
    files, out = args
    from deid.dicom import replace_identifiers
    replace_identifiers(files, save=True, output_folder=out, overwrite=True, remove_private=True)


if __name__ == "__main__":
    src, dst, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    files = [str(p) for p in sorted(src.rglob("*.dcm"))]
    dst.mkdir(parents=True, exist_ok=True)
    parts = [(files[i::workers], str(dst)) for i in range(workers)]
    if workers == 1:
        chunk(parts[0])
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(chunk, parts)
"""


def source_path(package: str, name: str) -> Path:
    if package == "pydicom":
        import pydicom

        return Path(pydicom.__file__).parent / "data" / "test_files" / name
    import data_store  # pydicom-data

    return Path(data_store.__file__).parent / "data" / name


def make_tree(files: int) -> Path:
    """--files copies of the sources, each its own patient, study, series and instance."""
    import dicomframe as dcf

    tree = DATA / f"deid_{files}"
    if tree.is_dir() and len(list(tree.rglob("*.dcm"))) == files:
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    sources = [dcf.read(source_path(*s)) for s in SOURCES]
    for n in range(files):
        ds = sources[n % len(sources)]
        patient, study = n // 20, n // 5
        ds.PatientID = f"PID{patient:05d}"
        ds.PatientName = f"Doe^Patient{patient}"
        ds.StudyInstanceUID = f"1.2.826.0.1.3680043.10.1.{study}"
        ds.SeriesInstanceUID = f"1.2.826.0.1.3680043.10.2.{study}.{n % 2}"
        ds.SOPInstanceUID = f"1.2.826.0.1.3680043.10.3.{n}"
        target = tree / f"P{patient:05d}" / f"S{study:05d}" / f"IM{n:05d}.dcm"
        target.parent.mkdir(parents=True, exist_ok=True)
        dcf.write(ds, target)
    return tree


def timed(command: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    tree = make_tree(args.files)
    size = sum(p.stat().st_size for p in tree.rglob("*.dcm"))
    out = DATA / "deid_out"
    salt = DATA / "deid_salt"
    salt.write_bytes(b"benchmark")
    scripts = DATA / "deid_scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "pydicom_script.py").write_text(SCRIPT)
    (scripts / "deid_recipe.py").write_text(DEID)
    try:
        import deid  # noqa: F401

        has_deid = True
    except ImportError:
        has_deid = False
    cases: dict[tuple[str, int], list[str]] = {}
    for workers in (1, 2):
        cases["dicomframe", workers] = [
            sys.executable, "-m", "dicomframe.cli", "deidentify", str(tree), str(out),
            "--workers", str(workers), "--salt-file", str(salt), "--overwrite",
        ]  # fmt: skip
        if has_deid:
            cases["pydicom/deid", workers] = [
                sys.executable, str(scripts / "deid_recipe.py"), str(tree), str(out), str(workers)
            ]  # fmt: skip
        cases["pydicom script", workers] = [
            sys.executable, str(scripts / "pydicom_script.py"), str(tree), str(out), str(workers)
        ]  # fmt: skip
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(args.runs):
        for key, command in cases.items():
            best[key] = min(best[key], timed(command, out))
    shutil.rmtree(out, ignore_errors=True)
    print(f"{args.files} files, {size / 1e6:.0f} MB, best of {args.runs}, fresh processes\n")
    print("| tool | workers | seconds | files/s | dicomframe is |")
    print("|---|---|---|---|---|")
    for (tool, workers), seconds in best.items():
        ours = best["dicomframe", workers]
        ratio = "" if tool == "dicomframe" else f"{seconds / ours:.2f}x faster"
        print(f"| {tool} | {workers} | {seconds:.2f} | {args.files / seconds:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
