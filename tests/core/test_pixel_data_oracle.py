"""Pixel data as frames agrees with pydicom, file by file.

Native files: ``ds.pixel_array`` equals pydicom's ``pixel_array`` (values and
dtype, in native byte order; pydicom is asked not to convert YBR to RGB, since
a native frame keeps the values as stored), and every frame equals its slice.
Big-endian files whose pixels are swapped in a unit other than their own size
(32-bit pixels in OW) are read as DCMTK and GDCM read them, not as pydicom
does (docs/differences.md): for those the oracle is pydicom reading the file
that ``dcmconv +te`` made from them.
Encapsulated files: each frame's bytes equal what pydicom's
``generate_frames`` yields.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.pixel_data import swap_unit
from tests.reference import REFUSED, project_files, pydicom_files, require_tool

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


def _swapped_in_words(ds: dcf.Dataset) -> bool:
    """True for big-endian pixels wider than a byte swapped in a unit other than their size.

    pydicom swaps such pixels whole (a 32-bit pixel in OW as one 32-bit
    number); 8-bit pixels in OW it swaps in pairs, as DCMTK does.
    """
    try:
        pixels = ds.pixel_data
    except dcf.DicomError:  # broken pixel attributes: refused before any swapping
        return False
    if pixels.element.little_endian or pixels.info.bits_allocated <= 8:
        return False
    return swap_unit(pixels.element.vr, little_endian=False) != pixels.info.dtype.itemsize


def _pydicom_after_dcmconv(path: Path, tmp_path: Path) -> np.ndarray:
    """pydicom's pixels of the Explicit VR Little Endian file DCMTK converts ``path`` to."""
    out = tmp_path / "dcmtk_le.dcm"
    subprocess.run([require_tool("dcmconv"), "+te", str(path), str(out)], check=True)
    return _pydicom_array(out, dcf.read(out))


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
    swapped = {path.name for path in NATIVE if _swapped_in_words(_read_both(path)[0])}
    assert swapped == {"rtdose_expb.dcm", "rtdose_expb_1frame.dcm"}


@pytest.mark.parametrize("path", NATIVE, ids=lambda p: p.name)
def test_pixel_array_matches_pydicom(path: Path, tmp_path: Path) -> None:
    ours, _ = _read_both(path)
    try:
        expected = _pydicom_array(path, ours)
        if _swapped_in_words(ours):
            assert not np.array_equal(ours.pixel_array, expected)  # the difference is real
            expected = _pydicom_after_dcmconv(path, tmp_path)
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
