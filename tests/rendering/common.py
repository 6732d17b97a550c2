"""Helpers for the rendering tests: files written by pydicom (the oracle), pixel access."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydicom
from pydicom.dataset import Dataset as PyDataset
from pydicom.dataset import FileMetaDataset
from pydicom.pixels.processing import (
    apply_windowing,
)
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

import dicomframe as dcf
from tests.reference import REFUSED, TESTDATA, pydicom_files

SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]


def make_file(arr: np.ndarray, syntax: str = ExplicitVRLittleEndian, **attrs: Any) -> bytes:
    """A Secondary Capture file written by pydicom (the oracle), 1 sample per pixel.

    ``arr`` is one frame ``(rows, columns)`` or several ``(frames, rows, columns)``.
    """
    ds = PyDataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(syntax)
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    ds.file_meta.MediaStorageSOPInstanceUID = UID("1.2.826.0.1.3680043.10.1234.99")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = arr.shape[-2:]
    if arr.ndim == 3:
        ds.NumberOfFrames = arr.shape[0]
    ds.SamplesPerPixel = 1
    ds.BitsAllocated = ds.BitsStored = arr.dtype.itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(arr.dtype.kind == "i")
    ds.PhotometricInterpretation = "MONOCHROME2"
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    order: Literal["<", ">"] = ">" if syntax == ExplicitVRBigEndian else "<"
    ds.PixelData = arr.astype(arr.dtype.newbyteorder(order)).tobytes()
    if arr.dtype.itemsize > 1:
        ds["PixelData"].VR = "OW"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def frame_at(ds: dcf.Dataset, index: int = 0) -> dcf.NativeFrame:
    frame = ds.pixel_data[index]
    assert isinstance(frame, dcf.NativeFrame)
    return frame


def pixels(ds: dcf.Dataset, index: int = 0) -> np.ndarray:
    return frame_at(ds, index).array


def both(data: bytes) -> tuple[Any, dcf.Dataset]:
    return pydicom.dcmread(io.BytesIO(data)), dcf.read(data)


def lut_item(descriptor: list[int], data: list[int] | bytes, *, vr: str = "US") -> PyDataset:
    item = PyDataset()
    item.LUTDescriptor = descriptor
    item["LUTDescriptor"].VR = "SS" if descriptor[1] < 0 else "US"
    item.LUTData = data
    item["LUTData"].VR = vr
    return item


def window_oracle(values: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """pydicom's apply_windowing with an 8-bit output range (0..255), rounded like ours."""
    ds = PyDataset()
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsStored = 8
    ds.PixelRepresentation = 0
    ds.WindowCenter = center
    ds.WindowWidth = width
    ds.VOILUTFunction = function
    with np.errstate(over="ignore"):
        y = apply_windowing(values, ds)
    out: np.ndarray = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return out


def scaled(values: np.ndarray, bits: int) -> np.ndarray:
    out: np.ndarray = np.rint(values.astype(np.float64) * 255 / (2**bits - 1)).astype(np.uint8)
    return out


def usable(path: Path) -> bool:
    """A native, single-sample monochrome file that both pydicom and dicomframe read."""
    if path.name in REFUSED:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcf.read(path)
            info = ds.pixel_data.info
    except (dcf.DicomError, KeyError, ValueError):
        return False
    return (
        not ds.pixel_data.is_encapsulated
        and info.samples_per_pixel == 1
        and info.photometric_interpretation in ("MONOCHROME1", "MONOCHROME2")
        and info.pixel_keyword == "PixelData"
    )


def oracle_files() -> list[Path]:
    files = [
        *pydicom_files(),
        *sorted(TESTDATA.glob("ct_*.dcm")),
        TESTDATA / "no_meta_implicit.dcm",
    ]
    return [p for p in files if usable(p)]


def windows(ds: dcf.Dataset) -> list[tuple[float, float]]:
    centers, widths = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centers is None or widths is None:
        return []
    centers = centers if isinstance(centers, list) else [centers]
    widths = widths if isinstance(widths, list) else [widths]
    return [(float(c), float(w)) for c, w in zip(centers, widths, strict=False)]


def first_frame(path: Path) -> tuple[Any, dcf.Dataset, np.ndarray]:
    with warnings.catch_warnings():  # e.g. MR_small_padded.dcm: pydicom warns of the padding
        warnings.simplefilter("ignore")
        py = pydicom.dcmread(path, force=True)
        arr = py.pixel_array
    if int(py.get("NumberOfFrames") or 1) > 1:
        arr = arr[0]
    return py, dcf.read(path), arr
