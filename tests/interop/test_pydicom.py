"""from_pydicom and to_pydicom against both libraries reading the same file.

For every file pydicom bundles, every pydicom-data file and testdata/:
``from_pydicom(pydicom.dcmread(f))`` equals ``dcf.read(f)`` (elements, meta,
transfer syntax, preamble), ``to_pydicom(dcf.read(f))`` equals
``pydicom.dcmread(f)`` element by element (tag, VR, value as pydicom decodes
it), and each converted dataset, written by the other library, reads back in
the first one as the original file does.
"""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import dicomframe as dcf
from tests.reference import (
    REFUSED,
    dataset_differences,
    project_files,
    pydicom_data_files,
    pydicom_files,
)

pydicom = pytest.importorskip("pydicom")
from dicomframe.interop.pydicom import from_pydicom, to_pydicom  # noqa: E402

# dicomframe refuses these (a value or the encapsulated data runs past the end of the
# file: docs/differences.md); pydicom reads them leniently, and from_pydicom takes what
# pydicom holds, as pydicom repaired it.
DICOMFRAME_REFUSES = REFUSED | {"emri_small_jpeg_2k_lossless_too_short.dcm"}
FILES = [
    p
    for p in [*pydicom_files(), *pydicom_data_files(), *project_files()]
    if p.name not in DICOMFRAME_REFUSES
]


def _ids(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _pydicom_read(path: Path, **options: Any) -> tuple[Any, bool]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path, **options), False
        except Exception:
            return pydicom.dcmread(path, force=True, **options), True


def _read(path: Path, force: bool) -> dcf.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dcf.DicomWarning)
        return dcf.read(path, force=force)


def pydicom_differences(a: Any, b: Any, where: str = "") -> list[str]:
    """How two pydicom datasets differ: tags, VRs and values, recursively.

    Encapsulated Pixel Data is OB in dicomframe (PS3.5 A.4), where pydicom
    keeps a file's OW: the one VR difference allowed (docs/differences.md).
    Group length values are not compared: writers recompute them.
    """
    problems = []
    tags_a, tags_b = set(a.keys()), set(b.keys())
    if tags_a != tags_b:
        problems.append(f"{where}: tags {sorted(tags_a - tags_b)} != {sorted(tags_b - tags_a)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's complaints about the values it decodes
        for tag in sorted(tags_a & tags_b):
            x, y = a[tag], b[tag]
            if tag.element == 0:
                continue
            encapsulated = x.is_undefined_length and {x.VR, y.VR} == {"OB", "OW"}
            if x.VR != y.VR and not (tag == 0x7FE00010 and encapsulated):
                problems.append(f"{where}{tag}: VR {x.VR} != {y.VR}")
            elif x.VR == "SQ" and len(x.value) == len(y.value):
                for n, (i, j) in enumerate(zip(x.value, y.value, strict=True)):
                    problems += pydicom_differences(i, j, f"{where}{tag}[{n}]")
            elif x.value != y.value:
                problems.append(f"{where}{tag}: {x.value!r:.80} != {y.value!r:.80}")
    return problems


def _meta_differences(a: Any, b: Any) -> list[str]:
    return pydicom_differences(a.file_meta, b.file_meta, "meta")


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_from_pydicom_equals_read(path: Path) -> None:
    theirs, forced = _pydicom_read(path)
    ours = _read(path, forced)
    converted = from_pydicom(theirs)
    assert dataset_differences(converted, ours) == []
    assert converted.meta is not None
    assert ours.meta is not None
    assert dataset_differences(converted.meta, ours.meta) == []
    assert converted.transfer_syntax == ours.transfer_syntax
    assert converted.preamble == ours.preamble


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_to_pydicom_equals_dcmread(path: Path) -> None:
    theirs, forced = _pydicom_read(path)
    converted = to_pydicom(_read(path, forced))
    assert isinstance(converted, pydicom.FileDataset)
    assert pydicom_differences(converted, theirs) == []
    assert _meta_differences(converted, theirs) == []
    assert converted.preamble == theirs.preamble
    assert converted.original_encoding == theirs.original_encoding


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_written_by_dicomframe_as_read(path: Path, tmp_path: Path) -> None:
    """Written by dicomframe, the converted dataset is the file dcf.read(f) writes, byte for byte.

    So pydicom reads it as it reads what dicomframe writes of the file itself.
    """
    theirs, forced = _pydicom_read(path)
    dcf.write(from_pydicom(theirs), tmp_path / "converted.dcm")
    dcf.write(_read(path, forced), tmp_path / "read.dcm")
    written = (tmp_path / "converted.dcm").read_bytes()
    assert written == (tmp_path / "read.dcm").read_bytes()


def _pydicom_written(pds: Any) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pydicom.dcmwrite(out, pds, enforce_file_format=False)
    return out.getvalue()


def _without_group_lengths(ds: dcf.Dataset) -> dcf.Dataset:
    """``ds`` without (gggg,0000) past group 0006, at every depth, as pydicom writes it."""
    for path, element in ds.walk():
        if element.tag.element == 0 and element.tag.group > 6:
            owner = ds
            for step in path:
                owner = owner[step[0]].value[step[1]]
            del owner[element.tag]
    return ds


@pytest.mark.parametrize("path", FILES, ids=_ids)
def test_written_by_pydicom_reads_as_the_file(path: Path) -> None:
    """Written by pydicom, the converted dataset reads in dicomframe as the file pydicom
    writes of its own reading (pydicom drops group lengths and keeps explicit UN, say);
    where pydicom cannot write its own reading, as the file itself without group lengths.
    """
    theirs, forced = _pydicom_read(path)
    written = _pydicom_written(to_pydicom(_read(path, forced)))
    again = _read(io.BytesIO(written), forced)  # type: ignore[arg-type]
    try:
        expected = _read(io.BytesIO(_pydicom_written(theirs)), forced)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        expected = _without_group_lengths(_read(path, forced))
    assert dataset_differences(again, expected) == []
    assert again.transfer_syntax == expected.transfer_syntax


@pytest.mark.parametrize(
    "path",
    [p for p in [*pydicom_files(), *pydicom_data_files()] if p.name in DICOMFRAME_REFUSES],
    ids=_ids,
)
def test_what_pydicom_read_leniently_comes_across_as_pydicom_holds_it(path: Path) -> None:
    """dicomframe refuses these files; pydicom's lenient reading of them comes across as it is,
    except where what pydicom kept does not parse (an item longer than the data pydicom kept
    of its sequence), which is refused as dcf.read refuses the file."""
    with pytest.raises(dcf.InvalidDicomError):
        dcf.read(path, force=True)
    theirs, _ = _pydicom_read(path)
    if path.name == "rtplan_truncated.dcm":
        with pytest.raises(dcf.InvalidDicomError, match="item length 968 exceeds"):
            from_pydicom(theirs)
        return
    assert pydicom_differences(to_pydicom(from_pydicom(theirs)), theirs) == []


def test_values_set_on_either_side_go_across() -> None:
    path = next(p for p in pydicom_files() if p.name == "chrH32.dcm")  # ISO 2022 IR 87
    ours = dcf.read(path)
    ours.PatientName = "ヤマダ^タロウ=山田^太郎=やまだ^たろう"
    ours.set(0x00091001, [1, 2, 3], vr="US")
    theirs = to_pydicom(ours)
    assert str(theirs.PatientName) == "ヤマダ^タロウ=山田^太郎=やまだ^たろう"
    assert theirs[0x00091001].VR == "US"
    assert list(theirs[0x00091001].value) == [1, 2, 3]
    theirs.PatientName = "Yamada^Tarou=山田^太郎"
    theirs.add_new(0x00091002, "DS", ["1.5", "2"])
    back = from_pydicom(theirs)
    assert str(back.PatientName) == "Yamada^Tarou=山田^太郎"
    assert back[0x00091002].vr is dcf.VR.DS
    assert [float(v) for v in back[0x00091002].value] == [1.5, 2.0]
    assert back[0x00091001].value == [1, 2, 3]


def test_datasets_made_in_memory() -> None:
    ours = dcf.Dataset()
    ours.PatientID = "12345"
    ours.Rows = 2
    theirs = to_pydicom(ours)
    assert type(theirs) is pydicom.Dataset  # no file meta: not a FileDataset
    assert (theirs.PatientID, theirs.Rows, theirs["Rows"].VR) == ("12345", 2, "US")
    made = pydicom.Dataset()
    made.PatientID = "678"
    made.ReferencedImageSequence = [pydicom.Dataset()]
    made.ReferencedImageSequence[0].ReferencedSOPInstanceUID = "1.2.3"
    back = from_pydicom(made)
    assert back.meta is None
    assert back.transfer_syntax == dcf.TransferSyntax.resolve("ExplicitVRLittleEndian")
    assert back.PatientID == "678"
    assert back.ReferencedImageSequence[0].ReferencedSOPInstanceUID == "1.2.3"


def test_pixel_data_is_moved_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(pydicom.Dataset, "convert_pixel_data", refuse)
    monkeypatch.setattr("dicomframe.core.codecs.default_codecs", refuse)
    for name in ("JPEG2000.dcm", "MR_small.dcm", "SC_rgb_rle.dcm"):
        path = next(p for p in pydicom_files() if p.name == name)
        theirs = pydicom.dcmread(path)
        ours = from_pydicom(theirs)
        assert bytes(ours["PixelData"].raw or b"") == theirs.get_item(0x7FE00010).value
        back = to_pydicom(ours)
        assert back.get_item(0x7FE00010).value == theirs.get_item(0x7FE00010).value


def test_importing_dicomframe_does_not_import_pydicom() -> None:
    code = (
        "import sys, dicomframe, dicomframe.interop\n"
        "dicomframe.read('testdata/ct_explicit_le.dcm').pixel_array\n"
        "assert 'pydicom' not in sys.modules, 'pydicom imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_pydicom_the_error_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['pydicom'] = None\n"
        "try:\n"
        "    import dicomframe.interop.pydicom\n"
        "except ImportError as exc:\n"
        "    assert 'dicomframe[pydicom]' in str(exc), exc\n"
        "else:\n"
        "    raise SystemExit('imported without pydicom')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
