"""Every lossy encoder, called with no options, keeps the PSNR floor docs/transcoding.md gives.

Floors (dB, RGB, peak 255): JPEG Baseline, Extended, JPEG XL JPEG Recompression and JPEG XL
30; JPEG 2000 45; HTJ2K 30. Sources: pydicom's 8-bit colour files, made RGB, and
``noisy_rgb()`` (smooth gradients with Gaussian noise of sigma 10 in each channel), on which
the former defaults kept 29.1 dB (JPEG quality 90), 28.7 dB (JPEG XL distance 1.0) and 30.0
dB (OpenJPEG's 10:1 ratio). benchmarks/lossy_defaults.py prints the same numbers with the
compression ratios.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.color import ybr_to_rgb
from dicomframe.core.frame import NativeFrame
from dicomframe.plugins import CodecManager
from tests.codecs.common import noisy_rgb, read_quietly, references, require_backend

Array = np.ndarray[Any, Any]

FLOORS = {
    "JPEGBaseline8Bit": 30.0,
    "JPEGExtended12Bit": 30.0,
    "JPEGXLJPEGRecompression": 30.0,
    "JPEGXL": 30.0,
    "JPEG2000": 45.0,
    "HTJ2K": 30.0,
}
ENCODERS = [
    ("imagecodecs-jpeg", "JPEGBaseline8Bit"),
    ("pillow", "JPEGBaseline8Bit"),
    ("imagecodecs-jpeg", "JPEGExtended12Bit"),
    ("imagecodecs-jpegxl", "JPEGXLJPEGRecompression"),
    ("imagecodecs-jpegxl", "JPEGXL"),
    ("imagecodecs-j2k", "JPEG2000"),
    ("pylibjpeg-openjpeg", "JPEG2000"),
    ("imagecodecs-htj2k", "HTJ2K"),
]
FILES = [
    "examples_rgb_color.dcm",
    "ExplVR_BigEnd.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
    "GDCMJ2K_TextGBR.dcm",
]
NOISY = "noisy_rgb"


@pytest.fixture(scope="module")
def registry() -> CodecManager:
    """Every installed codec, as a user's default registry has them."""
    return CodecManager()


def as_rgb(frame: NativeFrame) -> NativeFrame:
    array = frame.array
    if frame.info.photometric_interpretation.startswith("YBR_FULL"):
        array = ybr_to_rgb(array)
    info = frame.info.replace(
        photometric_interpretation="RGB",
        planar_configuration=0,
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )
    return NativeFrame(np.ascontiguousarray(array).reshape(-1), info)


def source(name: str) -> NativeFrame:
    if name == NOISY:
        return noisy_rgb()
    path = next(p for p, _ in references() if p.name == name)
    frame = read_quietly(path).pixel_data[0]
    native = frame.decode() if isinstance(frame, dcf.EncapsulatedFrame) else frame
    return as_rgb(native)


def psnr(expected: Array, actual: Array) -> float:
    mse = float(np.mean((expected.astype(np.float64) - actual.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


@pytest.mark.parametrize("name", [*FILES, NOISY])
@pytest.mark.parametrize(("codec", "syntax"), ENCODERS, ids=str)
def test_defaults_keep_the_documented_floor(
    registry: CodecManager, codec: str, syntax: str, name: str
) -> None:
    require_backend(registry.get(codec))
    native = source(name)
    assert native.info.bits_stored == 8
    assert native.info.samples_per_pixel == 3
    encoded = registry.encode(native, syntax, codec=codec)
    decoded = as_rgb(registry.decode(encoded))
    assert psnr(native.array, decoded.array) >= FLOORS[syntax]
