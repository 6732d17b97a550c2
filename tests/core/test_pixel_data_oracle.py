"""Pixel data as frames agrees with pydicom, file by file.

Native files: ``ds.pixel_array`` equals pydicom's ``pixel_array`` (values and
dtype, in native byte order; pydicom is asked not to convert YBR to RGB, since
a native frame keeps the values as stored), and every frame equals its slice.
Encapsulated files: each frame's bytes equal what pydicom's
``generate_frames`` yields.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from tests.reference import REFUSED, project_files, pydicom_files

pydicom = pytest.importorskip("pydicom")
from pydicom.encaps import generate_frames  # noqa: E402
from pydicom.pixels import pixel_array as pydicom_pixel_array  # noqa: E402

PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)


def _read_both(path: Path) -> tuple[dcf.Dataset, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = pydicom.dcmread(path)
            ours = dcf.read(path)
        except Exception:
            theirs = pydicom.dcmread(path, force=True)
            ours = dcf.read(path, force=True)
    return ours, theirs


def _with_pixels(encapsulated: bool) -> list[Path]:
    found = []
    for path in pydicom_files() + project_files():
        if path.name in REFUSED:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = dcf.read(path, stop_before_pixels=False, defer_size=1 << 40)
            except dcf.InvalidDicomError:
                ds = dcf.read(path, force=True)
        element = next((ds[t] for t in PIXEL_TAGS if t in ds), None)
        if element is not None and 0x00280010 in ds and element.undefined_length == encapsulated:
            found.append(path)
    return found


NATIVE = _with_pixels(False)
ENCAPSULATED = _with_pixels(True)


def _pydicom_array(path: Path, ours: dcf.Dataset) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom_pixel_array(str(path), as_rgb=False)
        except AttributeError:  # a bare dataset: tell pydicom the syntax dicomframe detected
            ds = pydicom.dcmread(path, force=True)
            ds.file_meta = pydicom.dataset.FileMetaDataset()
            assert ours.transfer_syntax is not None
            ds.file_meta.TransferSyntaxUID = ours.transfer_syntax.uid
            return ds.pixel_array


def test_reference_sets_are_not_empty() -> None:
    assert len(NATIVE) >= 25
    assert len(ENCAPSULATED) >= 20


@pytest.mark.parametrize("path", NATIVE, ids=lambda p: p.name)
def test_pixel_array_matches_pydicom(path: Path) -> None:
    ours, _ = _read_both(path)
    try:
        expected = _pydicom_array(path, ours)
    except ValueError:  # pydicom cannot build the array; dicomframe must refuse clearly too
        with pytest.raises(dcf.DicomError):
            _ = ours.pixel_array
        return
    array = ours.pixel_array
    frames = len(ours.pixel_data)
    assert array.shape[0] == frames
    if frames == 1 and expected.shape != array.shape:
        expected = expected[np.newaxis]
    assert array.dtype == expected.dtype.newbyteorder("=")
    np.testing.assert_array_equal(array, expected)
    for index, frame in enumerate(ours.pixel_data):
        assert isinstance(frame, dcf.NativeFrame)
        assert frame.data.ndim == 1
        assert frame.data.dtype == frame.info.dtype
        np.testing.assert_array_equal(frame.array, array[index])


@pytest.mark.parametrize("path", ENCAPSULATED, ids=lambda p: p.name)
def test_encapsulated_frames_match_pydicom(path: Path) -> None:
    ours, theirs = _read_both(path)
    extended = None
    if "ExtendedOffsetTable" in theirs:
        extended = (theirs.ExtendedOffsetTable, theirs.ExtendedOffsetTableLengths)
    number = int(theirs.get("NumberOfFrames", 1) or 1)
    expected = list(
        generate_frames(theirs.PixelData, number_of_frames=number, extended_offsets=extended)
    )
    pixels = ours.pixel_data
    assert pixels.is_encapsulated
    assert len(pixels) == len(expected)
    for frame, data in zip(pixels, expected, strict=True):
        assert isinstance(frame, dcf.EncapsulatedFrame)
        assert bytes(frame.data) == data
        assert frame.transfer_syntax == ours.transfer_syntax
