"""What every codec test module shares: the reference files by syntax, backend checks."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.frame import NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.plugins import Codec
from tests.reference import project_files, pydicom_files


def read_quietly(path: Path) -> Any:
    """Read a reference file; some are deliberately malformed and warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcf.read(path)


def _syntax(path: Path) -> str | None:
    try:
        ds = read_quietly(path)
    except dcf.DicomError:
        return None
    syntax = ds.transfer_syntax
    return syntax.uid if syntax is not None and 0x7FE00010 in ds else None


@functools.cache
def references() -> tuple[tuple[Path, str | None], ...]:
    """Every reference file with the transfer syntax of its pixel data (None: no pixels)."""
    return tuple((p, _syntax(p)) for p in [*pydicom_files(), *project_files()])


def case_id(value: object) -> str:
    """Test ids: codec and file names."""
    return value.name if isinstance(value, Codec | Path) else str(value)


def require_backend(codec: Codec) -> None:
    """Skip when the backend is missing; fail instead under DICOMFRAME_STRICT_BACKENDS=1."""
    if codec.is_available():
        return
    if os.environ.get("DICOMFRAME_STRICT_BACKENDS") == "1":
        pytest.fail(f"{codec.name} is required: {codec.install_hint()}")
    pytest.skip(codec.install_hint())


def noisy_rgb(shape: tuple[int, int] = (256, 256), sigma: float = 10.0) -> NativeFrame:
    """Smooth colour gradients with Gaussian noise of ``sigma`` in each channel, 8-bit RGB.

    The image the lossy defaults are measured on besides real files: independent noise in
    every channel is what 4:2:2 chroma subsampling and perceptual coders keep worst.
    """
    rng = np.random.default_rng(10)
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    planes = [128 + 80 * np.sin(x / 17), 128 + 80 * np.cos(y / 23), 128 + 60 * np.sin((x + y) / 31)]
    noisy = np.stack(planes, axis=-1) + rng.normal(0, sigma, (*shape, 3))
    values = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    info = FrameInfo(
        rows=shape[0], columns=shape[1], samples_per_pixel=3, photometric_interpretation="RGB"
    )
    return NativeFrame(values.reshape(-1), info)
