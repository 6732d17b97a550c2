"""A value read lazily after its file changed raises SourceChangedError, never other bytes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import dicomframe as dcf
from tests.reference import TESTDATA

SOURCE = TESTDATA / "mr_multiframe_uint16.dcm"


@pytest.fixture
def lazy(tmp_path: Path) -> tuple[Path, dcf.Dataset]:
    path = tmp_path / "mr.dcm"
    shutil.copyfile(SOURCE, path)
    ds = dcf.read(path, defer_size=1024)
    assert ds.source is not None  # the pixel data stays in the file
    return path, ds


def rewrite_in_place(path: Path) -> None:
    """Change bytes in the middle of the file, keeping its size (an editor's save in place)."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xff" * 64)
    stamp = path.stat()
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))


def append(path: Path) -> None:
    with open(path, "ab") as handle:
        handle.write(b"\0" * 16)


def replace_file(path: Path) -> None:
    fresh = path.with_suffix(".new")
    shutil.copyfile(SOURCE, fresh)
    os.replace(fresh, path)


def truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)  # read through the map, this would be SIGBUS


@pytest.mark.parametrize("change", [rewrite_in_place, append, replace_file, truncate])
def test_a_lazy_read_after_a_change_raises(
    lazy: tuple[Path, dcf.Dataset], change: Callable[[Path], None]
) -> None:
    path, ds = lazy
    change(path)
    with pytest.raises(dcf.SourceChangedError, match="changed after it was read") as info:
        ds.pixel_data[1].decode()
    assert info.value.path == str(path)
    with pytest.raises(dcf.SourceChangedError):
        _ = ds.pixel_array
    ds.close()


def test_an_unchanged_file_reads_lazily(lazy: tuple[Path, dcf.Dataset]) -> None:
    path, ds = lazy
    eager = dcf.read(SOURCE, defer_size=None).pixel_array
    np.testing.assert_array_equal(ds.pixel_array, eager)
    os.utime(path)  # touched with the same content still counts: the time is the signal
    with pytest.raises(dcf.SourceChangedError):
        ds.pixel_data[0].decode()
    ds.close()


def test_values_loaded_before_the_change_stay_valid(lazy: tuple[Path, dcf.Dataset]) -> None:
    path, ds = lazy
    ds.load()  # everything copied out of the file
    before = ds.pixel_array.copy()
    rewrite_in_place(path)
    np.testing.assert_array_equal(ds.pixel_array, before)
