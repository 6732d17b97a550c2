"""Overlay test files: made with pydicom (not dicomframe), so its writer is the reference.

Each file has Pixel Data and the overlay groups asked for, either in Overlay Data
(packed LSB first, one continuous stream over every overlay frame) or embedded in
a high bit of each pixel (the retired way), with the planes known to the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid  # noqa: E402

Array = np.ndarray[Any, Any]


@dataclass
class Overlay:
    """One overlay group: its planes (frames, rows, columns) of 0/1 and how it is stored."""

    group: int
    planes: Array
    origin: tuple[int, int] = (1, 1)
    frame_origin: int | None = None
    number_of_frames: bool = True  # write Number of Frames in Overlay
    bit_position: int | None = None  # embedded in the pixels' bit, else Overlay Data
    vr: str = "OW"
    overlay_type: str = "G"


def random_planes(seed: int, frames: int, rows: int, columns: int, p: float = 0.3) -> Array:
    """Planes of 0/1, about ``p`` of them set."""
    rng = np.random.default_rng(seed)
    return (rng.random((frames, rows, columns)) < p).astype(np.uint8)


def packed(planes: Array) -> bytes:
    """PS3.5 8.1.2 packing: LSB first, frames one after another, padded to even length."""
    data = np.packbits(planes.reshape(-1), bitorder="little").tobytes()
    return data + b"\0" * (len(data) % 2)


def make_file(
    path: Path,
    *,
    pixels: Array,
    overlays: list[Overlay],
    bits_stored: int = 12,
    photometric: str = "MONOCHROME2",
    signed: bool = False,
    syntax: str = ExplicitVRLittleEndian,
) -> Path:
    """Write ``pixels`` (frames, rows, columns; uint16 or uint8) with ``overlays`` to ``path``."""
    frames, rows, columns = pixels.shape
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")  # Secondary Capture
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = UID(syntax)
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows, columns
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = int(signed)
    data = np.ascontiguousarray(pixels).tobytes()
    ds.PixelData = data + b"\0" * (len(data) % 2)
    ds["PixelData"].VR = "OW" if pixels.dtype.itemsize > 1 else "OB"
    for overlay in overlays:
        _add(ds, overlay, bits_allocated=ds.BitsAllocated)
    ds.save_as(path, enforce_file_format=True)
    return path


def _add(ds: Dataset, overlay: Overlay, *, bits_allocated: int) -> None:
    g = overlay.group << 16
    frames, rows, columns = overlay.planes.shape
    ds.add_new(g | 0x0010, "US", rows)
    ds.add_new(g | 0x0011, "US", columns)
    if overlay.number_of_frames:
        ds.add_new(g | 0x0015, "IS", str(frames))
    ds.add_new(g | 0x0040, "CS", overlay.overlay_type)
    ds.add_new(g | 0x0050, "SS", list(overlay.origin))
    if overlay.frame_origin is not None:
        ds.add_new(g | 0x0051, "US", overlay.frame_origin)
    if overlay.bit_position is None:
        ds.add_new(g | 0x0100, "US", 1)
        ds.add_new(g | 0x0102, "US", 0)
        ds.add_new(g | 0x3000, overlay.vr, packed(overlay.planes))
    else:
        ds.add_new(g | 0x0100, "US", bits_allocated)
        ds.add_new(g | 0x0102, "US", overlay.bit_position)


def embed(pixels: Array, overlay: Overlay) -> Array:
    """``pixels`` with ``overlay``'s planes set in its bit, from frame ``frame_origin``."""
    assert overlay.bit_position is not None
    out = pixels.copy()
    first = (overlay.frame_origin or 1) - 1
    frames = overlay.planes.shape[0]
    bit = pixels.dtype.type(1 << overlay.bit_position)
    target = out[first : first + frames]
    target[overlay.planes.astype(bool)] |= bit
    return out
