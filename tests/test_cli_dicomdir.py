"""``dicomframe dicomdir``: the command's options, what it tells, and its exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomframe.cli import main
from dicomframe.dicomdir import read_dicomdir
from tests.dicomdir.test_build import make_tree
from tests.dicomdir.test_fileset import pydicom_fileset


def test_writes_and_tells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_tree(
        tmp_path, {"A/CT": "CT_small.dcm", "A/SR": "test-SR.dcm", "A/bad.dcm": "MR_small.dcm"}
    )
    assert main(["dicomdir", str(tmp_path), "--fileset-id", "CLI_SET"]) == 0
    out, err = capsys.readouterr()
    assert out == f"{tmp_path / 'DICOMDIR'}: 2 files listed, 1 skipped\n"
    assert f"dicomframe dicomdir: {tmp_path / 'A/bad.dcm'}: skipped: 'bad.dcm'" in err
    assert f"warning: {tmp_path / 'A/SR'}: PatientID missing, writing DCFPAT000000" in err
    theirs = pydicom_fileset(tmp_path / "DICOMDIR")
    assert theirs.ID == "CLI_SET"
    assert sorted(Path(i.path).name for i in theirs) == ["CT", "SR"]


def test_output_elsewhere_and_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_tree(tmp_path / "DATA", {"CT": "CT_small.dcm"})
    output = tmp_path / "DICOMDIR"
    assert main(["dicomdir", str(tmp_path / "DATA"), "--output", str(output)]) == 0
    assert read_dicomdir(output).paths() == [tmp_path / "DATA" / "CT"]
    capsys.readouterr()
    assert main(["dicomdir", str(tmp_path / "DATA"), "--output", str(output)]) == 1
    assert "exists (--overwrite" in capsys.readouterr().err
    args = ["dicomdir", str(tmp_path / "DATA"), "--output", str(output), "--overwrite"]
    assert main([*args, "--fileset-id", "NEW"]) == 0
    assert read_dicomdir(output).file_set_id == "NEW"


def test_nothing_added_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_tree(tmp_path, {"ct.dcm": "CT_small.dcm"})
    assert main(["dicomdir", str(tmp_path)]) == 1
    assert "no file could be added; nothing written" in capsys.readouterr().err
    assert not (tmp_path / "DICOMDIR").exists()


def test_bad_fileset_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_tree(tmp_path, {"CT": "CT_small.dcm"})
    assert main(["dicomdir", str(tmp_path), "--fileset-id", "lower"]) == 1
    assert "File-set ID 'lower'" in capsys.readouterr().err
