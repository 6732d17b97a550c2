"""One-shot tasks in a fresh process: open a file, read a few attributes, get one frame or tile.

Run:  python benchmarks/bench_open.py [--repeat 5] [--growth 100,1000,10000,50000]

A user who opens one file pays for the interpreter, the imports and the first
use of everything, not only for the parse. Each case therefore runs in a new
interpreter, dicomframe and pydicom alternating, and reports the median of
``--repeat`` runs three ways:

- *total*: import + task, timed inside the child (what a script waits for);
- *task*: the task alone, after the import;
- *warm*: the task repeated in the same process (best of 5), nothing left to load.

Children run with bytecode caches on (a pip install compiles them; this
machine's ``PYTHONDONTWRITEBYTECODE`` would otherwise recompile dicomframe in
every child).

Cases (generated once under benchmarks/data/open, with pydicom as the writer):

1. ``enhanced CT``: 1000 frames of 256x256 int16, 1000 Per-frame Functional
   Groups items of 3 nested items each; ``stop_before_pixels``, 3 attributes.
2. the same file, frame 500 as an array (pydicom: ``pixel_array(path, index=500)``).
3. the same file, frame 500's Image Position (Patient) from its functional groups.
4. ``slide``: 64 tiles of 1024x1024 JPEG baseline, tile 27 decoded.
5. growth: opening a header with N per-frame items (2 nested items each) and
   reading 2 attributes, warm, best of 5, for each N of ``--growth``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data" / "open"
sys.path.insert(0, str(Path(__file__).resolve().parent))

CT_FRAMES, CT_SIZE = 1000, 256
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
WSI = "1.2.840.10008.5.1.4.1.1.77.1.6"
JPEG = "1.2.840.10008.1.2.4.50"
TILE_INDEX = 27

# -- data -----------------------------------------------------------------------------------------


def _item(**attributes: Any) -> Any:
    from pydicom.dataset import Dataset

    item = Dataset()
    for keyword, value in attributes.items():
        setattr(item, keyword, value)
    return item


def per_frame_items(count: int, nested: int) -> list[Any]:
    """Per-frame functional group items, ``nested`` sequences of one item each."""
    items = []
    for index in range(count):
        groups: dict[str, Any] = {
            "FrameContentSequence": [
                _item(
                    FrameAcquisitionNumber=index,
                    DimensionIndexValues=[1, index + 1],
                    StackID="1",
                    InStackPositionNumber=index + 1,
                )
            ],
            "PlanePositionSequence": [
                _item(ImagePositionPatient=[-120.0, -120.0, round(-300.0 + 0.625 * index, 3)])
            ],
            "CTPixelValueTransformationSequence": [
                _item(RescaleIntercept=-1024, RescaleSlope=1, RescaleType="HU")
            ],
        }
        items.append(_item(**dict(list(groups.items())[:nested])))
    return items


def enhanced_dataset(frames: int, nested: int, pixels: np.ndarray[Any, Any] | None) -> Any:
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = _item(
        SOPClassUID=ENHANCED_CT,
        SOPInstanceUID=generate_uid(),
        PatientName="Bench^Open",
        PatientID="OPEN-1",
        Modality="CT",
        StudyInstanceUID=generate_uid(),
        SeriesInstanceUID=generate_uid(),
        NumberOfFrames=frames,
        Rows=CT_SIZE,
        Columns=CT_SIZE,
        SamplesPerPixel=1,
        PhotometricInterpretation="MONOCHROME2",
        BitsAllocated=16,
        BitsStored=16,
        HighBit=15,
        PixelRepresentation=1,
    )
    ds.SharedFunctionalGroupsSequence = [
        _item(
            PixelMeasuresSequence=[_item(PixelSpacing=[0.5, 0.5], SliceThickness=0.625)],
            PlaneOrientationSequence=[_item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])],
        )
    ]
    ds.PerFrameFunctionalGroupsSequence = per_frame_items(frames, nested)
    if pixels is not None:
        ds.PixelData = pixels.tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ENHANCED_CT
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def make_enhanced_ct() -> Path:
    path = DATA / "enhanced_ct_1000.dcm"
    if not path.exists():
        rng = np.random.default_rng(11)
        pixels = rng.integers(-1024, 2000, (CT_FRAMES, CT_SIZE, CT_SIZE), dtype=np.int16)
        enhanced_dataset(CT_FRAMES, 3, pixels).save_as(path, enforce_file_format=True)
    return path


def make_growth(count: int) -> Path:
    path = DATA / f"functional_groups_{count}.dcm"
    if not path.exists():
        enhanced_dataset(count, 2, None).save_as(path, enforce_file_format=True)
    return path


def make_slide() -> Path:
    path = DATA / "slide_64_jpeg.dcm"
    if path.exists():
        return path
    import imagecodecs
    from bench_codecs import colour_pixels, pydicom_dataset, save_encapsulated

    tiles = colour_pixels(64, 1024, 1024, 5)
    ds = pydicom_dataset(tiles[:1], sop_class=WSI)
    ds.NumberOfFrames, ds.ImageType = 64, ["DERIVED", "PRIMARY", "VOLUME", "NONE"]
    ds.TotalPixelMatrixColumns = ds.TotalPixelMatrixRows = 8 * 1024
    ds.DimensionOrganizationType, ds.LossyImageCompression = "TILED_FULL", "01"
    frames = [
        bytes(imagecodecs.jpeg8_encode(t, level=90, outcolorspace="YCbCr", subsampling="422"))
        for t in tiles
    ]
    save_encapsulated(ds, frames, JPEG, path, PhotometricInterpretation="YBR_FULL_422")
    return path


# -- tasks: (import line, task body) run in the child; {path} is filled in ---------------------

TASKS: dict[str, dict[str, tuple[str, str]]] = {
    "header": {
        "dicomframe": (
            "import dicomframe as dcf",
            "ds = dcf.read(path, stop_before_pixels=True)\n"
            "_ = (ds.PatientID, ds.StudyInstanceUID, ds.Modality)",
        ),
        "pydicom": (
            "import pydicom",
            "ds = pydicom.dcmread(path, stop_before_pixels=True)\n"
            "_ = (ds.PatientID, ds.StudyInstanceUID, ds.Modality)",
        ),
    },
    "frame": {
        "dicomframe": (
            "import dicomframe as dcf",
            "with dcf.read(path) as ds:\n    a = ds.pixel_data[500].decode().array\n"
            "assert a.shape == (256, 256)",
        ),
        "pydicom": (
            "import pydicom\nfrom pydicom.pixels import pixel_array",
            "a = pixel_array(path, index=500)\nassert a.shape == (256, 256)",
        ),
    },
    "position": {
        "dicomframe": (
            "import dicomframe as dcf",
            "ds = dcf.read(path, stop_before_pixels=True)\n"
            "p = ds.frame_functional_groups(500).PlanePositionSequence[0].ImagePositionPatient",
        ),
        "pydicom": (
            "import pydicom",
            "ds = pydicom.dcmread(path, stop_before_pixels=True)\n"
            "p = ds.PerFrameFunctionalGroupsSequence[500].PlanePositionSequence[0]"
            ".ImagePositionPatient",
        ),
    },
    "tile": {
        "dicomframe": (
            "import dicomframe as dcf",
            f"with dcf.read(path) as ds:\n    a = ds.pixel_data[{TILE_INDEX}].decode().array\n"
            "assert a.shape == (1024, 1024, 3)",
        ),
        "pydicom": (
            "import pydicom\nfrom pydicom.pixels import pixel_array",
            f"a = pixel_array(path, index={TILE_INDEX})\nassert a.shape == (1024, 1024, 3)",
        ),
    },
}

CHILD = """
import time
started = time.perf_counter()
{imports}
imported = time.perf_counter()
path = {path!r}
{task}
done = time.perf_counter()
def again():
{indented}
warm = []
for _ in range({warm}):
    t = time.perf_counter(); again(); warm.append(time.perf_counter() - t)
import json
print(json.dumps([imported - started, done - imported, min(warm) if warm else 0.0]))
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_child(library: str, case: str, path: Path, warm: int) -> tuple[float, float, float]:
    imports, task = TASKS[case][library]
    indented = "\n".join("    " + line for line in task.splitlines())
    code = CHILD.format(imports=imports, path=str(path), task=task, indented=indented, warm=warm)
    out = subprocess.run(
        [sys.executable, "-c", code], env=child_env(), capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise RuntimeError(f"{library} {case} failed:\n{out.stderr}")
    first, second, third = json.loads(out.stdout)
    return float(first), float(second), float(third)


def fresh(case: str, path: Path, repeat: int) -> dict[str, tuple[float, float, float]]:
    """Median import, task and best warm time per library, runs alternating."""
    runs: dict[str, list[tuple[float, float, float]]] = {"dicomframe": [], "pydicom": []}
    for index in range(repeat):
        for library in ("dicomframe", "pydicom") if index % 2 else ("pydicom", "dicomframe"):
            runs[library].append(run_child(library, case, path, warm=5 if index == 0 else 0))
    result = {}
    for library, rows in runs.items():
        imports = statistics.median(r[0] for r in rows)
        task = statistics.median(r[1] for r in rows)
        result[library] = (imports + task, task, rows[0][2])
    return result


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}" if seconds >= 0.01 else f"{seconds * 1e3:.2f}"


def ratio(theirs: float, ours: float) -> str:
    return f"{theirs / ours:.2f}x" if ours else "-"


def one_shot(paths: dict[str, Path], repeat: int) -> None:
    labels = {
        "header": "enhanced CT (1000 frames, 1000 per-frame items): open + 3 attributes",
        "frame": "the same file: frame 500 as an array",
        "position": "the same file: frame 500's Image Position (Patient)",
        "tile": "64-tile JPEG slide: open + decode one 1024x1024 tile",
    }
    print(f"## One-shot tasks, fresh process (median of {repeat}), and warm\n")
    print(
        "| case | dicomframe total | pydicom total | x | dicomframe task | pydicom task | x "
        "| dicomframe warm | pydicom warm | x |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case, label in labels.items():
        r = fresh(case, paths["tile" if case == "tile" else "ct"], repeat)
        (dt, dk, dw), (pt, pk, pw) = r["dicomframe"], r["pydicom"]
        print(
            f"| {label} | {ms(dt)} | {ms(pt)} | {ratio(pt, dt)} | {ms(dk)} | {ms(pk)} | "
            f"{ratio(pk, dk)} | {ms(dw)} | {ms(pw)} | {ratio(pw, dw)} |"
        )
    print("\n(ms; x = pydicom / dicomframe, above 1 is dicomframe faster)\n")


def best(run: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def growth(counts: list[int]) -> None:
    import pydicom

    import dicomframe as dcf

    def two(ds: Any) -> object:
        return ds.PatientID, ds.Rows

    def ours(path: Path) -> Callable[[], object]:
        return lambda: two(dcf.read(path))

    def theirs(path: Path) -> Callable[[], object]:
        return lambda: two(pydicom.dcmread(path, stop_before_pixels=True))

    def one_item(path: Path) -> Callable[[], object]:
        return lambda: dcf.read(path).frame_functional_groups(len_of(path) // 2)

    sizes = {count: make_growth(count) for count in counts}

    def len_of(path: Path) -> int:
        return next(count for count, p in sizes.items() if p == path)

    print("## Opening cost against the number of per-frame items (warm, best of 5)\n")
    print("| items | " + " | ".join(f"{c:,}" for c in counts) + " |")
    print("|---|" + "---|" * len(counts))
    rows = (
        ("dicomframe `read` + 2 attributes", ours),
        ("pydicom `dcmread(stop_before_pixels=True)` + 2 attributes", theirs),
        ("dicomframe `read` + `frame_functional_groups(n // 2)`", one_item),
    )
    for label, make in rows:
        cells = [ms(best(make(sizes[count]))) for count in counts]
        print(f"| {label} | " + " | ".join(f"{c} ms" for c in cells) + " |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--growth", default="100,1000,10000,50000")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True, env=child_env()
    )
    import pydicom

    import dicomframe as dcf

    print(f"dicomframe {dcf.__version__}, pydicom {pydicom.__version__}, load {os.getloadavg()}\n")
    paths = {"ct": make_enhanced_ct(), "tile": make_slide()}
    one_shot(paths, args.repeat)
    growth([int(c) for c in args.growth.split(",")])
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
