"""PSNR of every lossy encoder at its default settings, on 8-bit RGB images.

Run:  python benchmarks/lossy_defaults.py [FILE ...]

Sources: testdata/rgb_planar*.dcm, the 8-bit colour files bundled with pydicom, those of the
pydicom-data package when it is installed (``SC_rgb.dcm``, ``US1_UNCR.dcm``, ``color-px.dcm``,
``SC_rgb_2frame.dcm``: never downloaded), any FILE given, and ``noisy_rgb()`` of
tests/codecs/common.py (smooth colour gradients with Gaussian noise of sigma 10 in each channel).
Each source is decoded, made RGB, encoded by each lossy encoder with no options, decoded by the
registry's choice, and compared in RGB: PSNR over all frames and samples, peak 255, then the
compression ratio. docs/transcoding.md gives the floors these defaults are chosen to keep.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.codecs.common: the synthetic image the tests use too

import dicomframe as dcf  # noqa: E402
from dicomframe.color import ybr_to_rgb  # noqa: E402
from dicomframe.core.frame import NativeFrame  # noqa: E402
from dicomframe.plugins import CodecManager  # noqa: E402
from tests.codecs.common import noisy_rgb  # noqa: E402

Array = np.ndarray[Any, Any]

ENCODERS = [  # (codec, target syntax): every lossy encoder of the built-ins
    ("imagecodecs-jpeg", "JPEGBaseline8Bit"),
    ("pillow", "JPEGBaseline8Bit"),
    ("imagecodecs-jpeg", "JPEGExtended12Bit"),
    ("imagecodecs-jpegxl", "JPEGXLJPEGRecompression"),
    ("imagecodecs-jpegxl", "JPEGXL"),
    ("imagecodecs-j2k", "JPEG2000"),
    ("pylibjpeg-openjpeg", "JPEG2000"),
    ("imagecodecs-htj2k", "HTJ2K"),
]
BUNDLED = [
    "examples_rgb_color.dcm",
    "ExplVR_BigEnd.dcm",
    "SC_rgb_jpeg_dcmd.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "GDCMJ2K_TextGBR.dcm",
    "examples_jpeg2k.dcm",
]
PYDICOM_DATA = ["SC_rgb.dcm", "US1_UNCR.dcm", "color-px.dcm", "SC_rgb_2frame.dcm"]


def sources(extra: list[str]) -> dict[str, list[NativeFrame]]:
    """Every source as RGB frames, the synthetic image last."""
    from pydicom.data import get_testdata_file

    paths = sorted((ROOT / "testdata").glob("rgb_*.dcm"))
    for name in [*BUNDLED, *PYDICOM_DATA]:
        found = get_testdata_file(name, download=False)
        if isinstance(found, str):
            paths.append(Path(found))
    paths += [Path(p) for p in extra]
    chosen = {p.name: rgb_frames(p) for p in paths}
    chosen["noisy_rgb (sigma 10)"] = [noisy_rgb()]
    return chosen


def as_rgb(frame: NativeFrame) -> NativeFrame:
    """The frame's samples in RGB, colour-by-pixel, as a native frame."""
    array = frame.array
    if frame.info.photometric_interpretation.startswith("YBR_FULL"):
        array = ybr_to_rgb(array)
    info = frame.info.replace(
        photometric_interpretation="RGB",
        planar_configuration=0,
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )
    return NativeFrame(np.ascontiguousarray(array).reshape(-1), info)


def rgb_frames(path: Path) -> list[NativeFrame]:
    frames = dcf.read(path, force=True).pixel_data
    return [as_rgb(f.decode() if isinstance(f, dcf.EncapsulatedFrame) else f) for f in frames]


def measure(manager: CodecManager, frames: list[NativeFrame], codec: str, syntax: str) -> str:
    """'PSNR/ratio' of one source through one encoder, or why it was refused."""
    errors, raw, packed = [], 0, 0
    try:
        for frame in frames:
            encoded = manager.encode(frame, syntax, codec=codec)
            back = as_rgb(manager.decode(encoded))
            difference = back.array.astype(np.float64) - frame.array.astype(np.float64)
            errors.append(difference.reshape(-1) ** 2)
            raw, packed = raw + frame.info.bytes_per_frame, packed + len(encoded)
    except dcf.DicomError as exc:
        return type(exc).__name__
    mse = float(np.mean(np.concatenate(errors)))
    value = math.inf if mse == 0 else 10 * math.log10(255**2 / mse)
    return f"{value:.1f} / {raw / packed:.1f}"


def main() -> None:
    warnings.simplefilter("ignore")
    manager = CodecManager()
    table = sources(sys.argv[1:])
    print("PSNR (dB) / compression ratio at default settings, RGB, peak 255\n")
    print("| source | " + " | ".join(f"{c} {s}" for c, s in ENCODERS) + " |")
    print("|---" * (len(ENCODERS) + 1) + "|")
    for name, frames in table.items():
        cells = [measure(manager, frames, codec, syntax) for codec, syntax in ENCODERS]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
