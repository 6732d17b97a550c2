"""read_dicomdir on pydicom's DICOMDIRs, judged by pydicom's FileSet and DCMTK's dcmdump.

Hostile offsets (past the end, inside a record, loops), inactive records and
file IDs that leave the folder are made by patching copies of pydicom's file.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import warnings
from pathlib import Path

import pytest

import dicomframe as dcf
from dicomframe.dicomdir import FileSet, read_dicomdir
from dicomframe.errors import InvalidDicomError, RepairWarning
from tests.reference import require_tool

pydicom = pytest.importorskip("pydicom")
from pydicom.fileset import FileSet as PydicomFileSet  # noqa: E402

FOLDER = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests"
DICOMDIRS = sorted([*FOLDER.glob("DICOMDIR*"), FOLDER / "TINY_ALPHA" / "DICOMDIR"])
# pydicom refuses this one (a record of type UNKNOWN); dcmdump reads it.
PYDICOM_REFUSES = {"DICOMDIR-nopatient"}
# Its last item claims 24 bytes more than its sequence holds: read as DCMTK and pydicom do.
REPAIRED = {"DICOMDIR-nooffset"}


def _name(path: Path) -> str:
    return path.relative_to(FOLDER).as_posix()


def _read(path: Path) -> FileSet:
    if path.name in REPAIRED:
        with pytest.warns(RepairWarning, match="item length 248"):
            return read_dicomdir(path)
    return read_dicomdir(path)


def pydicom_fileset(path: Path) -> PydicomFileSet:
    """pydicom's FileSet of ``path``, its staging folder removed (else a ResourceWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # big endian and implicit DICOMDIRs are warned of
        fs = PydicomFileSet(pydicom.dcmread(path))
    fs._stage["t"].cleanup()
    return fs


def _pydicom_tree(path: Path) -> list[tuple[int, str, int, Path | None]]:
    fs = pydicom_fileset(path)
    out: list[tuple[int, str, int, Path | None]] = []

    def walk(node: object) -> None:
        for child in node.children:  # type: ignore[attr-defined]
            referenced = child._record.get("ReferencedFileID")
            where = None
            if referenced is not None:
                parts = [referenced] if isinstance(referenced, str) else list(referenced)
                where = path.parent.joinpath(*parts)
            out.append((child.depth, child.record_type, child._offset, where))
            walk(child)

    walk(fs._tree)
    return out


def _dcmdump_records(path: Path) -> dict[int, str]:
    """Every item of the Directory Record Sequence as dcmdump lists it: offset -> type."""
    text = subprocess.run(
        [require_tool("dcmdump"), str(path)], capture_output=True, text=True, check=True
    ).stdout
    found = re.findall(r"offset=\$(\d+).*?\(0004,1430\) CS \[(.*?)\]", text, re.DOTALL)
    return {int(offset): kind for offset, kind in found}


@pytest.mark.parametrize("path", [p for p in DICOMDIRS if p.name not in PYDICOM_REFUSES], ids=_name)
def test_tree_matches_pydicom(path: Path) -> None:
    fs = _read(path)
    ours = [(r.depth, r.record_type, r.offset, r.path) for r in fs]
    assert ours == _pydicom_tree(path)
    assert fs.unreachable == ()


@pytest.mark.parametrize("path", DICOMDIRS, ids=_name)
def test_every_record_is_dcmdumps(path: Path) -> None:
    fs = _read(path)
    listed = {r.offset: r.record_type for r in (*fs, *fs.unreachable)}
    assert listed == _dcmdump_records(path)


def test_links_agree() -> None:
    fs = read_dicomdir(FOLDER / "DICOMDIR")
    for record in fs:
        assert all(child.parent is record for child in record.children)
        assert all(child.depth == record.depth + 1 for child in record.children)
        assert record.depth == sum(1 for _ in record.ancestors())
    assert [r.record_type for r in fs.roots] == ["PATIENT"] * len(fs.roots)
    assert len(fs) == 52
    assert fs.file_set_id == "PYDICOM_TEST"


def test_root_record_that_is_an_image() -> None:
    # The root's first record is an IMAGE with no next one: the other 51 are out of reach.
    fs = read_dicomdir(FOLDER / "DICOMDIR-nopatient")
    assert [(r.record_type, r.offset) for r in fs] == [("IMAGE", 396)]
    assert len(fs.unreachable) == 51
    assert [r.offset for r in fs.unreachable] == sorted(r.offset for r in fs.unreachable)
    assert all(r.parent is None and r.children == () for r in fs.unreachable)


def test_damaged_item_refused_when_strict() -> None:
    with pytest.raises(InvalidDicomError, match="item length 248"):
        read_dicomdir(FOLDER / "DICOMDIR-nooffset", lenient=False)


def test_lookups_match_pydicom() -> None:
    path = FOLDER / "DICOMDIR"
    fs = read_dicomdir(path)
    theirs = pydicom_fileset(path)
    assert [p.dataset.PatientID for p in fs.patients()] == ["77654033", "98890234"]
    for patient in fs.patients():
        pid = patient.dataset.PatientID
        studies = fs.studies(pid)
        assert {s.dataset.StudyInstanceUID for s in studies} == {
            i.StudyInstanceUID for i in theirs.find(PatientID=pid)
        }
        for study in studies:
            uid = study.dataset.StudyInstanceUID
            series = fs.series(uid)
            assert {s.dataset.SeriesInstanceUID for s in series} == {
                i.SeriesInstanceUID for i in theirs.find(StudyInstanceUID=uid)
            }
            for one in series:
                images = fs.find(
                    "IMAGE", PatientID=pid, SeriesInstanceUID=one.dataset.SeriesInstanceUID
                )
                expected = theirs.find(SeriesInstanceUID=one.dataset.SeriesInstanceUID)
                assert sorted(str(i.path) for i in images) == sorted(i.path for i in expected)
    assert len(fs.find("IMAGE")) == len(theirs) == 31
    assert fs.find(SeriesNumber=2, Modality="CR")[0].record_type == "SERIES"


def test_paths_resolve_against_the_folder(tmp_path: Path) -> None:
    fs = read_dicomdir(FOLDER / "DICOMDIR")
    assert fs.paths()[0] == FOLDER / "77654033" / "CR1" / "6154"
    assert all(p.is_file() for p in fs.paths())
    assert all(r.path is None for r in fs if r.record_type != "IMAGE")
    shutil.copy(FOLDER / "DICOMDIR", tmp_path / "DICOMDIR")  # the DICOMDIR without its files
    alone = read_dicomdir(tmp_path / "DICOMDIR")
    assert alone.paths() == [tmp_path / p.relative_to(FOLDER) for p in fs.paths()]
    assert not any(p.exists() for p in alone.paths())


# -- hostile and odd offsets, on patched copies --------------------------------------------


def _copy(tmp_path: Path, name: str = "DICOMDIR") -> tuple[Path, bytearray, dcf.Dataset]:
    target = tmp_path / "DICOMDIR"
    shutil.copy(FOLDER / name, target)
    return target, bytearray(target.read_bytes()), dcf.read(target)


def _value_at(ds: dcf.Dataset, record: int, tag: int) -> int:
    """Where the value of ``tag`` in the record at item offset ``record`` lies (explicit VR LE)."""
    for item in ds.DirectoryRecordSequence:
        elements = list(item)
        if min(e.offset for e in elements) - 8 == record:
            return int(next(e.offset for e in elements if e.tag == tag)) + 8
    raise AssertionError(f"no record at {record}")


def _patch(path: Path, data: bytearray, where: int, value: int, fmt: str = "<L") -> None:
    struct.pack_into(fmt, data, where, value)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("bad", [11116, 11116 + 1000, 2**32 - 1, 400, 3], ids=str)
def test_offset_to_nowhere(tmp_path: Path, bad: int) -> None:
    path, data, ds = _copy(tmp_path)
    _patch(path, data, _value_at(ds, 510, 0x00041420), bad)
    with pytest.raises(InvalidDicomError, match=f"record at offset 510 points at offset {bad},"):
        read_dicomdir(path)


def test_root_offset_to_nowhere(tmp_path: Path) -> None:
    path, data, ds = _copy(tmp_path)
    _patch(path, data, (ds[0x00041200].offset or 0) + 8, 99999)
    with pytest.raises(InvalidDicomError, match="the root points at offset 99999"):
        read_dicomdir(path)


@pytest.mark.parametrize(
    ("record", "tag", "target"),
    [
        (856, 0x00041400, 856),  # an IMAGE whose next record is itself
        (856, 0x00041420, 396),  # an IMAGE whose children start at the PATIENT above it
        (3126, 0x00041400, 396),  # the second PATIENT's next is the first
    ],
    ids=["self", "ancestor", "sibling"],
)
def test_loops_raise(tmp_path: Path, record: int, tag: int, target: int) -> None:
    path, data, ds = _copy(tmp_path)
    _patch(path, data, _value_at(ds, record, tag), target)
    with pytest.raises(InvalidDicomError, match=f"offset {target}, which is already in the tree"):
        read_dicomdir(path)


def test_inactive_record_skipped_with_its_children(tmp_path: Path) -> None:
    path, data, ds = _copy(tmp_path)
    full = read_dicomdir(FOLDER / "DICOMDIR")
    study = next(r for r in full if r.record_type == "STUDY")  # offset 510, 3 series below
    _patch(path, data, _value_at(ds, study.offset, 0x00041410), 0, "<H")
    fs = read_dicomdir(path)
    gone = {r.offset for r in study.walk()}
    assert [r.offset for r in fs] == [r.offset for r in full if r.offset not in gone]
    assert fs.unreachable == ()  # below an inactive record is inactive, not unreachable
    assert fs.patients()[0].children[0].offset == 1814  # the study after it still follows


def test_in_use_flag_other_values_are_in_use(tmp_path: Path) -> None:
    path, data, ds = _copy(tmp_path)
    _patch(path, data, _value_at(ds, 510, 0x00041410), 1, "<H")
    assert len(read_dicomdir(path)) == 52


@pytest.mark.parametrize("component", [b"..", b"A/B"], ids=["dotdot", "slash"])
def test_file_id_leaving_the_folder(tmp_path: Path, component: bytes) -> None:
    path, data, ds = _copy(tmp_path)
    where = _value_at(ds, 856, 0x00041500)  # "77654033\CR1\6154"
    data[where : where + 18] = b"77654033\\" + component.ljust(3, b" ") + b"\\6154 "[:6]
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidDicomError, match="record at offset 856 references"):
        read_dicomdir(path)


def test_not_a_dicomdir(tmp_path: Path) -> None:
    plain = pydicom.data.get_testdata_file("CT_small.dcm")
    with pytest.raises(InvalidDicomError, match="no Directory Record Sequence"):
        read_dicomdir(plain)


def test_big_endian_offsets_read() -> None:
    big = read_dicomdir(FOLDER / "DICOMDIR-bigEnd")
    little = read_dicomdir(FOLDER / "DICOMDIR")
    assert big.dataset.transfer_syntax is not None
    assert big.dataset.transfer_syntax.keyword == "ExplicitVRBigEndian"
    assert [(r.offset, r.record_type, r.path) for r in big] == [
        (r.offset, r.record_type, r.path) for r in little
    ]
