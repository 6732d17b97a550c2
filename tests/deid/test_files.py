"""De-identified files are valid: re-read by pydicom, dcmdump and dciodvfy (DCMTK, dicom3tools)."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import pytest

import dicomframe as dcf
from dicomframe.deid import Option, verify_deidentified
from tests.deid.helpers import SALT, pydicom_file, read
from tests.reference import require_tool

FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "rtstruct.dcm",
    "rtdose.dcm",
    "JPEG2000.dcm",
    "test-SR.dcm",
    "reportsi.dcm",
    "examples_overlay.dcm",
    "waveform_ecg.dcm",
    "ExplVR_BigEnd.dcm",
]
EVERY_OPTION = [o for o in Option if o is not Option.RETAIN_LONGITUDINAL_FULL_DATES]
OPTION_SETS = {"basic": [], "every-option": EVERY_OPTION}


def _dciodvfy_errors(path: Path) -> list[str]:
    run = subprocess.run([require_tool("dciodvfy"), str(path)], capture_output=True, check=False)
    text = (run.stdout + run.stderr).decode("latin-1")
    return [line for line in text.splitlines() if line.startswith("Error")]


def _dcmdump(path: Path) -> str:
    run = subprocess.run(
        [require_tool("dcmdump"), "-q", "+L", str(path)], capture_output=True, check=False
    )
    text = (run.stdout + run.stderr).decode("latin-1")
    problems = [line for line in text.splitlines() if line.startswith(("W:", "E:"))]
    assert run.returncode == 0
    assert problems == []
    return text


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
@pytest.mark.parametrize("name", FILES)
def test_written_output_is_read_back_by_peers(
    name: str, options: list[Option], tmp_path: Path
) -> None:
    ds = read(name)
    out = dcf.deidentify(ds, salt=SALT, options=options)
    target = tmp_path / name
    dcf.write(out, target)

    back = dcf.read(target)
    assert verify_deidentified(ds, back, salt=SALT, options=options) == []

    pydicom = pytest.importorskip("pydicom")
    with warnings.catch_warnings():  # pydicom warns of odd values the sources hold
        warnings.simplefilter("ignore", UserWarning)
        theirs = pydicom.dcmread(target)
        privates = [e.tag for e in theirs.iterall() if e.tag.is_private]
    assert theirs.PatientIdentityRemoved == "YES"
    assert privates == [] or Option.RETAIN_SAFE_PRIVATE in options
    if "SOPInstanceUID" in ds:
        assert theirs.SOPInstanceUID.startswith("2.25.") != (Option.RETAIN_UIDS in options)

    dump = _dcmdump(target)
    assert "(0012,0062) CS [YES]" in dump


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=OPTION_SETS.keys())
@pytest.mark.parametrize("name", FILES)
def test_dciodvfy_finds_no_more_errors_than_in_the_input(
    name: str, options: list[Option], tmp_path: Path
) -> None:
    source = pydicom_file(name)
    target = tmp_path / name
    dcf.write(dcf.deidentify(read(name), salt=SALT, options=options), target)
    # Counted, not compared line by line: an error about a UID names the new UID.
    assert len(_dciodvfy_errors(target)) <= len(_dciodvfy_errors(source))
