"""Frames served by a fetcher (core.pixel_data.provide_frames), the mechanism read_dicomweb uses.

No server: the fetcher hands out a local file's frames as stored, and the
dataset built from the file's header alone must give the same frames and
pixels, fetching only the frames asked for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.element import DataElement
from dicomframe.core.pixel_data import provide_frames
from dicomframe.errors import InvalidDicomError
from tests.reference import TESTDATA, pydicom_data_file

FILES = [
    TESTDATA / "rle_multiframe.dcm",
    TESTDATA / "j2k_lossless.dcm",
    TESTDATA / "mr_multiframe_uint16.dcm",
    TESTDATA / "rgb_planar1.dcm",
    TESTDATA / "bits1_3frames.dcm",
]


class Fetcher:
    """A local file's frames as stored, counting what is asked for."""

    def __init__(self, path: Path) -> None:
        self.full = dcf.read(path)
        self.asked: list[int] = []

    def __call__(self, index: int) -> bytes:
        self.asked.append(index)
        frame = self.full.pixel_data[index]
        if isinstance(frame, dcf.EncapsulatedFrame):
            return bytes(frame.data)
        if frame.info.bits_allocated == 1:
            return np.packbits(frame.data, bitorder="little").tobytes()
        return frame.data.tobytes()


def header_only(path: Path, fetch: Fetcher) -> dcf.Dataset:
    ds = dcf.read(path, stop_before_pixels=True)
    assert ds.transfer_syntax is not None
    ds.add(
        DataElement(
            0x7FE00010, "OB", raw=b"", undefined_length=fetch.full.pixel_data.is_encapsulated
        )
    )
    provide_frames(ds, fetch)
    return ds


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_same_frames_as_the_file(path: Path) -> None:
    fetch = Fetcher(path)
    ds = header_only(path, fetch)
    assert fetch.asked == []
    assert len(ds.pixel_data) == len(fetch.full.pixel_data)
    last = ds.pixel_data[-1]
    assert fetch.asked == [len(ds.pixel_data) - 1]
    assert type(last) is type(fetch.full.pixel_data[-1])
    np.testing.assert_array_equal(last.decode().array, fetch.full.pixel_data[-1].decode().array)
    np.testing.assert_array_equal(ds.pixel_array, fetch.full.pixel_array)


def test_pydicom_oracle_multiframe_jpeg2000() -> None:
    pydicom = pytest.importorskip("pydicom")
    path = pydicom_data_file("emri_small_jpeg_2k_lossless.dcm")
    ds = header_only(path, Fetcher(path))
    np.testing.assert_array_equal(ds.pixel_array, pydicom.dcmread(path).pixel_array)


def test_edits_are_kept() -> None:
    path = TESTDATA / "mr_multiframe_uint16.dcm"
    ds = header_only(path, Fetcher(path))
    frame = ds.pixel_data[2]
    assert isinstance(frame, dcf.NativeFrame)
    frame.set_pixel(1, 1, 7)
    again = ds.pixel_data[2]
    assert isinstance(again, dcf.NativeFrame)
    assert again.get_pixel(1, 1) == 7
    assert ds.pixel_array[2, 1, 1] == 7


def test_replaced_pixel_data_no_longer_fetched() -> None:
    path = TESTDATA / "rle_multiframe.dcm"
    fetch = Fetcher(path)
    ds = header_only(path, fetch)
    ds.set_pixel_data(list(ds.pixel_data))
    fetch.asked.clear()
    np.testing.assert_array_equal(ds.pixel_array, fetch.full.pixel_array)
    assert fetch.asked == []


def test_wrong_length_native_frame_raises() -> None:
    path = TESTDATA / "mr_multiframe_uint16.dcm"
    ds = dcf.read(path, stop_before_pixels=True)
    ds.add(DataElement(0x7FE00010, "OW", raw=b""))
    provide_frames(ds, lambda index: b"\0" * 10)
    with pytest.raises(InvalidDicomError, match="frame 0 was fetched as 10 bytes"):
        ds.pixel_data[0]


def test_no_pixel_data_raises() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm", stop_before_pixels=True)
    with pytest.raises(InvalidDicomError, match="no Pixel Data"):
        provide_frames(ds, lambda index: b"")
