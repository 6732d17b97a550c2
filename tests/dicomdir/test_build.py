"""write_dicomdir on trees of pydicom's files: read back by pydicom, dcmdump, and us; and
compared record by record with what DCMTK's dcmmkdir makes of the same tree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dicomframe.dicomdir import FileSet, read_dicomdir
from dicomframe.dicomdir.build import file_id, write_dicomdir
from tests.dicomdir.test_fileset import pydicom_fileset
from tests.reference import require_tool

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402

# File ID -> pydicom test file: images of several modalities and syntaxes, a report, a
# waveform, RT objects, one file big endian; MR_small and JPEG2000 share a study.
TREE = {
    "P1/CT1": "CT_small.dcm",
    "P1/SUB/MR1": "MR_small.dcm",
    "P1/SUB/BE": "ExplVR_BigEnd.dcm",
    "P1/SUB/US": "examples_rgb_color.dcm",
    "P2/SC": "SC_rgb_small_odd.dcm",
    "P2/SR": "test-SR.dcm",
    "P2/ECG": "waveform_ecg.dcm",
    "RT/DOSE": "rtdose.dcm",
    "RT/PLAN": "rtplan.dcm",
    "J2K": "JPEG2000.dcm",
}
# Keys the files lack, which dcmmkdir --invent and we invent differently.
INVENTED = {"PatientID", "StudyID", "SeriesNumber", "InstanceNumber"}


def make_tree(root: Path, names: dict[str, str] = TREE) -> Path:
    for target, name in names.items():
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(str(get_testdata_file(name)), root / target)
    return root


Summary = set[tuple[str, int, Path | None, tuple[tuple[str, str], ...]]]


def _records(fs: FileSet, ignore: set[str], root: Path) -> Summary:
    """Each record as its type, depth, file under ``root`` and keys (no offsets, no invented)."""
    out: Summary = set()
    for r in fs:
        keys = tuple(
            sorted(
                (e.keyword, str(e.value))
                for e in r.dataset
                if e.tag.group != 4 and e.keyword not in ignore
            )
        )
        out.add((r.record_type, r.depth, r.path and r.path.relative_to(root), keys))
    return out


def test_read_back_by_pydicom_and_us(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    report = write_dicomdir(root, fileset_id="TEST SET")
    assert report.output == root / "DICOMDIR"
    assert report.skipped == []
    assert sorted(report.added) == sorted(root / p for p in TREE)
    theirs = pydicom_fileset(root / "DICOMDIR")
    assert theirs.ID == "TEST SET"
    assert sorted(Path(i.path) for i in theirs) == sorted(report.added)
    for instance in theirs:
        ds = pydicom.dcmread(instance.path)
        assert instance.SOPInstanceUID == ds.SOPInstanceUID
        assert instance.ReferencedTransferSyntaxUIDInFile == ds.file_meta.TransferSyntaxUID
    ours = read_dicomdir(root / "DICOMDIR")
    assert ours.paths() == report.added
    types = {r.path.name: r.record_type for r in ours if r.path is not None}
    assert types == {
        "CT1": "IMAGE",
        "MR1": "IMAGE",
        "BE": "IMAGE",
        "US": "IMAGE",
        "SC": "IMAGE",
        "J2K": "IMAGE",
        "SR": "SR DOCUMENT",
        "ECG": "WAVEFORM",
        "DOSE": "RT DOSE",
        "PLAN": "RT PLAN",
    }
    be = next(r for r in ours if r.path == root / "P1/SUB/BE").dataset
    assert be.ReferencedTransferSyntaxUIDInFile == "1.2.840.10008.1.2.2"
    for record in ours.records("IMAGE"):  # each image under its own patient, study, series
        instance = pydicom.dcmread(record.path)
        series, study, patient = record.ancestors()
        assert series.dataset.SeriesInstanceUID == instance.SeriesInstanceUID
        assert study.dataset.StudyInstanceUID == instance.StudyInstanceUID
        assert patient.dataset.PatientID == instance.get("PatientID", "DCFPAT000000")


def test_dcmdump_reads_it(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    write_dicomdir(root)
    done = subprocess.run(
        [require_tool("dcmdump"), str(root / "DICOMDIR")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "E:" not in done.stderr
    assert "W:" not in done.stderr
    assert done.stdout.count('"Directory Record" PATIENT') == len(
        read_dicomdir(root / "DICOMDIR").patients()
    )


def test_same_records_as_dcmmkdir(tmp_path: Path) -> None:
    ours_root = make_tree(tmp_path / "ours")
    dcmtk_root = make_tree(tmp_path / "dcmtk")
    write_dicomdir(ours_root)
    done = subprocess.run(
        # --invent (+I) for the keys the test files lack, --no-xfer-check (-Nxc) for the
        # transfer syntaxes the General Purpose CD profile does not allow: we list any syntax.
        [require_tool("dcmmkdir"), "+r", "+I", "-Nxc", "+id", ".", "+D", "DICOMDIR"],
        cwd=dcmtk_root,
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    ours = read_dicomdir(ours_root / "DICOMDIR")
    theirs = read_dicomdir(dcmtk_root / "DICOMDIR")

    assert _records(ours, INVENTED, ours_root) == _records(theirs, INVENTED, dcmtk_root)
    assert len(ours) == len(theirs) > 30


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("ct.dcm", "'ct.dcm' is not a File ID component"),
        ("TOOLONGNAME", "'TOOLONGNAME' is not a File ID component"),
        ("A/B/C/D/E/F/G/H/I", "9 path components"),
    ],
)
def test_names_that_are_not_file_ids_skipped(tmp_path: Path, name: str, why: str) -> None:
    make_tree(tmp_path, {"OK/CT": "CT_small.dcm", name: "MR_small.dcm"})
    report = write_dicomdir(tmp_path)
    [(path, reason)] = report.skipped
    assert path == tmp_path / name
    assert why in reason
    assert read_dicomdir(tmp_path / "DICOMDIR").paths() == [tmp_path / "OK/CT"]
    assert isinstance(file_id(Path(name)), str)


def test_what_is_left_out(tmp_path: Path) -> None:
    make_tree(
        tmp_path, {"A/CT": "CT_small.dcm", "A/COPY": "CT_small.dcm", "A/NOMETA": "rtstruct.dcm"}
    )
    (tmp_path / "README").write_text("not DICOM")
    report = write_dicomdir(tmp_path)
    why = {path.name: reason for path, reason in report.skipped}
    assert set(why) == {"CT", "NOMETA", "README"}  # A/COPY comes first, and is kept
    assert "already in the DICOMDIR" in why["CT"]
    assert "not a DICOM Part 10 file" in why["NOMETA"]
    assert "not readable as DICOM" in why["README"]


def test_nothing_to_add_writes_nothing(tmp_path: Path) -> None:
    make_tree(tmp_path, {"lower/ct": "CT_small.dcm"})
    report = write_dicomdir(tmp_path)
    assert report.output is None
    assert not (tmp_path / "DICOMDIR").exists()


def test_existing_output_and_bad_ids(tmp_path: Path) -> None:
    make_tree(tmp_path, {"A/CT": "CT_small.dcm"})
    write_dicomdir(tmp_path)
    first = (tmp_path / "DICOMDIR").read_bytes()
    with pytest.raises(FileExistsError):
        write_dicomdir(tmp_path)
    assert (tmp_path / "DICOMDIR").read_bytes() == first
    write_dicomdir(tmp_path, overwrite=True, fileset_id="AGAIN")
    assert read_dicomdir(tmp_path / "DICOMDIR").file_set_id == "AGAIN"
    with pytest.raises(ValueError, match="File-set ID"):
        write_dicomdir(tmp_path, overwrite=True, fileset_id="lower case")
    with pytest.raises(ValueError, match="not under"):
        write_dicomdir(tmp_path, output=tmp_path / "A" / "DICOMDIR")


def test_invented_keys_are_warned(tmp_path: Path) -> None:
    make_tree(tmp_path, {"SR": "test-SR.dcm"})
    report = write_dicomdir(tmp_path)
    assert f"{tmp_path / 'SR'}: PatientID missing, writing DCFPAT000000" in report.warnings
    assert f"{tmp_path / 'SR'}: StudyDate missing, using ContentDate" in report.warnings
    fs = read_dicomdir(tmp_path / "DICOMDIR")
    assert fs.patients()[0].dataset.PatientID == "DCFPAT000000"
    report_record = fs.records("SR DOCUMENT")[0].dataset
    assert report_record.VerificationDateTime == "20010213184746"  # from the observer item
