"""De-identifying real scanners' files (pydicom-data): GE, Philips, Siemens, Fuji, Aloka, SonoSite.

Each output is read back and verified, read by pydicom and ``dcmdump`` without
complaint, checked by ``dciodvfy`` (no more errors than the input), and keeps
its pixel data byte for byte unless a mask is asked for; a mask is judged by
pydicom decoding both files.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

import dicomframe as dcf
from dicomframe.deid import Option, deidentify_with_report, verify_deidentified
from tests.deid.helpers import SALT
from tests.reference import pydicom_data_file, require_tool

# name -> the vendor the file says made it (Manufacturer)
VENDOR_FILES = {
    "JPEG-LL.dcm": "GE Medical Systems",  # NM, JPEG Lossless, 65 private elements
    "US1_J2KR.dcm": "G.E. Medical Systems",  # US, JPEG 2000 lossless, YBR_RCT
    "JPGLosslessP14SV1_1s_1f_8b.dcm": "Philips Medical Systems",  # US, JPEG Lossless
    "OBXXXX1A_rle_2frame.dcm": "Philips Medical Systems",  # US, RLE, PALETTE COLOR
    "MR2_UNCR.dcm": "Philips",  # MR 1024x1024
    "MR-SIEMENS-DICOM-WithOverlays.dcm": "SIEMENS",  # MR with overlays, private CSA
    "bad_sequence.dcm": "SIEMENS",  # CT, JPEG Lossless, a malformed sequence
    "RG3_J2KR.dcm": "FUJI PHOTO FILM CO. LTD.",  # CR, JPEG 2000 lossless, MONOCHROME1
    "gdcm-US-ALOKA-16.dcm": "ALOKA CO., LTD.",  # US, implicit VR, 16-bit palette
    "color3d_jpeg_baseline.dcm": "SonoSite, Inc.",  # US, 120 JPEG baseline frames
}
EVERY_OPTION = [o for o in Option if o is not Option.RETAIN_LONGITUDINAL_FULL_DATES]
OPTION_SETS = {"basic": [], "every-option": EVERY_OPTION}


def _dciodvfy_errors(path: Path, *, mended_media_uid: bool) -> list[str]:
    run = subprocess.run([require_tool("dciodvfy"), str(path)], capture_output=True, check=False)
    lines = (run.stdout + run.stderr).decode("latin-1").splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    if mended_media_uid:
        # The input's Media Storage SOP Instance UID disagreed with its SOP Instance UID;
        # the writer makes them one, so the input's invalid SOP Instance UID (kept under
        # Retain UIDs) is reported twice in the output: counted once.
        errors = [e for e in errors if "Media Storage SOP Instance UID" not in e]
    return errors


def _output(name: str, options: list[Option], tmp_path: Path) -> tuple[dcf.Dataset, Path]:
    ds = dcf.read(pydicom_data_file(name))
    target = tmp_path / name
    dcf.write(dcf.deidentify(ds, salt=SALT, options=options), target)
    return ds, target


def _pydicom(path: Path) -> Any:
    with warnings.catch_warnings():  # vendors' odd values: pydicom warns, that is not ours
        warnings.simplefilter("ignore", UserWarning)
        return pydicom.dcmread(path)


@pytest.mark.parametrize("name", VENDOR_FILES)
def test_the_files_are_the_vendors(name: str) -> None:
    assert (
        dcf.read(pydicom_data_file(name), stop_before_pixels=True).Manufacturer
        == (VENDOR_FILES[name])
    )


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
@pytest.mark.parametrize("name", VENDOR_FILES)
def test_output_is_verified_and_read_by_peers(
    name: str, options: list[Option], tmp_path: Path
) -> None:
    ds, target = _output(name, options, tmp_path)
    back = dcf.read(target)
    assert verify_deidentified(ds, back, salt=SALT, options=options) == []

    theirs = _pydicom(target)
    with warnings.catch_warnings():  # bad_sequence.dcm's own SOP Instance UID is invalid
        warnings.simplefilter("ignore", UserWarning)
        uid = str(theirs.SOPInstanceUID)
        name = str(theirs.get("PatientName", ""))
        privates = [e.tag for e in theirs.iterall() if e.tag.is_private]
    assert theirs.PatientIdentityRemoved == "YES"
    assert privates == [] or Option.RETAIN_SAFE_PRIVATE in options
    assert uid.startswith("2.25.") != (Option.RETAIN_UIDS in options)
    assert name in ("", "ANONYMOUS")

    run = subprocess.run(
        [require_tool("dcmdump"), "-q", "+L", str(target)], capture_output=True, check=False
    )
    text = (run.stdout + run.stderr).decode("latin-1")
    assert run.returncode == 0
    assert [line for line in text.splitlines() if line.startswith(("W:", "E:"))] == []


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
@pytest.mark.parametrize("name", VENDOR_FILES)
def test_dciodvfy_finds_no_more_errors_than_in_the_input(
    name: str, options: list[Option], tmp_path: Path
) -> None:
    ds, target = _output(name, options, tmp_path)
    mended = ds.meta.get("MediaStorageSOPInstanceUID") != ds.get("SOPInstanceUID")
    before = _dciodvfy_errors(pydicom_data_file(name), mended_media_uid=mended)
    after = _dciodvfy_errors(target, mended_media_uid=mended)
    assert len(after) <= len(before), sorted(set(after) - set(before))


def test_type3_reference_sequences_go_rather_than_stay_empty(tmp_path: Path) -> None:
    """The IOD decides X/Z: Referenced Study Sequence is Type 3 in an US image, so it goes."""
    ds, target = _output("JPGLosslessP14SV1_1s_1f_8b.dcm", [], tmp_path)
    assert "ReferencedStudySequence" in ds
    assert "ReferencedPerformedProcedureStepSequence" in ds
    theirs = _pydicom(target)
    assert "ReferencedStudySequence" not in theirs
    assert "ReferencedPerformedProcedureStepSequence" not in theirs
    assert theirs.PatientID == ""  # Type 2 in the Patient module: emptied, kept


@pytest.mark.parametrize("name", VENDOR_FILES)
def test_pixel_data_is_kept_byte_for_byte(name: str, tmp_path: Path) -> None:
    _, target = _output(name, [], tmp_path)
    source = _pydicom(pydicom_data_file(name))
    assert _pydicom(target).PixelData == source.PixelData


@pytest.mark.parametrize(
    ("name", "rect"),
    [
        ("OBXXXX1A_rle_2frame.dcm", (40, 30, 200, 24)),  # Philips US, RLE, palette indexes
        ("US1_J2KR.dcm", (0, 0, 160, 40)),  # GE US, JPEG 2000 lossless colour
        ("JPEG-LL.dcm", (10, 100, 60, 50)),  # GE NM, JPEG Lossless
    ],
)
def test_a_mask_on_a_vendor_file_is_exact_outside(
    name: str, rect: tuple[int, int, int, int], tmp_path: Path
) -> None:
    path = pydicom_data_file(name)
    before = _pydicom(path)
    result = deidentify_with_report(dcf.read(path), salt=SALT, mask=[rect])
    target = tmp_path / name
    dcf.write(result.dataset, target)
    back = _pydicom(target)
    assert back.file_meta.TransferSyntaxUID == before.file_meta.TransferSyntaxUID
    source, masked = before.pixel_array, back.pixel_array
    where = np.zeros(masked.shape[: masked.ndim - (before.SamplesPerPixel > 1)], bool)
    x, y, w, h = rect
    where[..., y : y + h, x : x + w] = True
    assert np.array_equal(masked[~where], source[~where])
    black = -(1 << (before.BitsStored - 1)) if before.PixelRepresentation else 0
    assert (masked[where] == black).all()
    assert (source[where] != black).any()  # the mask hid something
    assert back.BurnedInAnnotation == "NO"
