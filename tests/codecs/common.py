"""What every codec test module shares: the reference files by syntax, backend checks."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

import dicomframe as dcf
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
