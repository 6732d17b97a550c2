"""``dicomframe deidentify``: files and trees, the salt, workers, verification and the report."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.cli import main
from dicomframe.deid import files as deid_files
from dicomframe.deid import verify_deidentified
from tests.deid.helpers import expected_uid, pydicom_file
from tests.reference import TESTDATA, require_tool
from tests.test_cli_transcode import summary as transcode_summary

SALT = b"cli test salt"
PYDICOM = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtstruct.dcm", "test-SR.dcm"]
OURS = sorted(p.name for p in TESTDATA.glob("*.dcm") if p.name != "truncated.dcm")
SERIES = ["series/im1.dcm", "series/im2.dcm", "series/im3.dcm"]
# Every file but the corrupt one (ours/truncated.dcm) has an output.
DONE = sorted([*(f"pydicom/{n}" for n in PYDICOM), *(f"ours/{n}" for n in OURS), *SERIES])


def summary(out: str) -> tuple[int, ...]:
    return transcode_summary(out, "de-identified")


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def read_any(path: Path) -> dcf.Dataset:
    try:
        return dcf.read(path)
    except dcf.InvalidDicomError:
        return dcf.read(path, force=True)  # rtstruct.dcm and no_meta_implicit.dcm: bare datasets


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """pydicom's files, ours, a series of three CT slices, a corrupt file and a text file."""
    root = tmp_path / "in"
    for folder in ("pydicom", "ours", "series"):
        (root / folder).mkdir(parents=True)
    for name in PYDICOM:
        shutil.copy(pydicom_file(name), root / "pydicom" / name)
    for name in OURS:
        shutil.copy(TESTDATA / name, root / "ours" / name)
    (root / "ours" / "truncated.dcm").write_bytes(
        (TESTDATA / "ct_explicit_le.dcm").read_bytes()[:500]
    )
    ct = dcf.read(pydicom_file("CT_small.dcm"))
    for number, name in enumerate(SERIES, 1):
        ct.SOPInstanceUID = f"1.2.826.0.1.3680043.2.1125.777.{number}"
        ct.InstanceNumber = number
        dcf.write(ct, root / name)
    (root / "notes.txt").write_text("not DICOM\n")
    return root


@pytest.fixture
def salt_file(tmp_path: Path) -> Path:
    path = tmp_path / "salt"
    path.write_bytes(SALT)
    return path


def deidentify(tree: Path, out: Path, *extra: str) -> int:
    return main(["deidentify", str(tree), str(out), *extra])


def test_tree(
    tree: Path, tmp_path: Path, salt_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, report = tmp_path / "out", tmp_path / "report.csv"
    assert deidentify(tree, out, "--salt-file", str(salt_file), "--report", str(report)) == 1
    stdout, stderr = capsys.readouterr()
    assert summary(stdout) == (len(DONE), 1, 1, 0, 0)
    # The corrupt file is the only error, on one line; no random-salt warning.
    assert stderr.splitlines() == [
        line for line in stderr.splitlines() if "truncated.dcm: InvalidDicomError" in line
    ]
    assert len(stderr.splitlines()) == 1
    assert files(out) == DONE  # mirrored; the corrupt file left nothing, not even a temporary
    pydicom = pytest.importorskip("pydicom")
    for name in DONE:
        original, back = read_any(tree / name), dcf.read(out / name)
        assert verify_deidentified(original, back, salt=SALT) == [], name
        with warnings.catch_warnings():  # pydicom warns of odd values some sources hold
            warnings.simplefilter("ignore", UserWarning)
            theirs = pydicom.dcmread(out / name)
        assert theirs.PatientIdentityRemoved == "YES", name
        assert [e.tag for e in theirs.iterall() if e.tag.is_private] == [], name
        if "SOPInstanceUID" in original:
            assert theirs.SOPInstanceUID == expected_uid(str(original.SOPInstanceUID), SALT)
    rows = list(csv.reader(report.read_text().splitlines()))
    assert rows[0] == ["file", "path", "tag", "keyword", "action", "old_value_hash", "note"]
    assert sorted({row[0] for row in rows[1:]}) == sorted([*DONE, "ours/truncated.dcm"])
    errors = [row for row in rows if row[4] == "error"]
    assert [(row[0], row[6].split(":")[0]) for row in errors] == [
        ("ours/truncated.dcm", "InvalidDicomError")
    ]
    actions = [row for row in rows[1:] if row[4] != "error"]
    assert {row[4] for row in actions} <= {"X", "Z", "D", "U", "C"}
    assert all(re.fullmatch(r"[0-9a-f]{16}|", row[5]) for row in actions)
    assert ["pydicom/CT_small.dcm", "(0010,0010)", "(0010,0010)", "PatientName", "Z"] in [
        row[:5] for row in actions
    ]


def _dcmdump_problems(path: Path) -> list[str]:
    run = subprocess.run(
        [require_tool("dcmdump"), "-q", "+L", str(path)], capture_output=True, check=False
    )
    assert run.returncode == 0, path
    text = (run.stdout + run.stderr).decode("latin-1")
    assert "(0012,0062) CS [YES]" in text
    return [line for line in text.splitlines() if line.startswith(("W:", "E:"))]


def test_outputs_read_by_dcmdump(tree: Path, tmp_path: Path, salt_file: Path) -> None:
    out = tmp_path / "out"
    deidentify(tree, out, "--salt-file", str(salt_file))
    for name in DONE:
        if name.startswith("pydicom/") or name.startswith("series/"):
            assert _dcmdump_problems(out / name) == [], name
        else:  # some of ours hold odd values on purpose: no more complaints than the input
            found = _dcmdump_problems(out / name)
            assert len(found) <= len(_dcmdump_problems_of_input(tree / name)), name


def _dcmdump_problems_of_input(path: Path) -> list[str]:
    run = subprocess.run(
        [require_tool("dcmdump"), "-q", "+L", "+ae", str(path)], capture_output=True, check=False
    )
    text = (run.stdout + run.stderr).decode("latin-1")
    return [line for line in text.splitlines() if line.startswith(("W:", "E:"))]


def test_same_salt_same_bytes_and_one_series(tree: Path, tmp_path: Path, salt_file: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert deidentify(tree, one, "--salt-file", str(salt_file)) == 1
    assert deidentify(tree, two, "--salt-file", str(salt_file), "--workers", "2") == 1
    for name in DONE:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    slices = [dcf.read(one / name) for name in SERIES]
    source = dcf.read(tree / SERIES[0])
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        values = {str(ds.get(keyword)) for ds in slices}
        assert values == {expected_uid(str(source.get(keyword)), SALT)}, keyword
    assert len({str(ds.SOPInstanceUID) for ds in slices}) == 3


def test_without_a_salt_file_one_random_salt_per_run(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = []
    for out in (tmp_path / "one", tmp_path / "two"):
        assert deidentify(tree / "series", out) == 0
        err = capsys.readouterr().err
        assert err.startswith("dicomframe deidentify: warning: no --salt-file")
        assert "will not match" in err
        runs.append([dcf.read(out / Path(name).name) for name in SERIES])
    for slices in runs:  # one salt for every file of a run: the series holds together
        assert len({str(ds.SeriesInstanceUID) for ds in slices}) == 1
        assert len({str(ds.SOPInstanceUID) for ds in slices}) == 3
    assert str(runs[0][0].SeriesInstanceUID) != str(runs[1][0].SeriesInstanceUID)


def _recording(log: Path) -> Any:
    real = deid_files.deidentify_file

    def record(source: Any, target: Any, **options: Any) -> Any:
        with log.open("a") as handle:
            handle.write(json.dumps({"pid": os.getpid(), "source": str(source)}) + "\n")
        return real(source, target, **options)

    return record


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_fork(
    tree: Path,
    tmp_path: Path,
    salt_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    workers: int,
) -> None:
    log = tmp_path / "calls.jsonl"
    monkeypatch.setattr(deid_files, "deidentify_file", _recording(log))  # forked after this
    argv = ["--salt-file", str(salt_file), "--workers", str(workers)]
    assert deidentify(tree, tmp_path / "out", *argv) == 1
    assert summary(capsys.readouterr().out)[:2] == (len(DONE), 1)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == len(DONE) + 1  # the corrupt file is tried too
    pids = {call["pid"] for call in calls}
    assert (len(pids) > 1) is (workers > 1)
    assert (os.getpid() in pids) is True  # this process de-identifies the first file itself


def test_a_failed_check_leaves_no_output(
    tmp_path: Path,
    salt_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[int] = []

    def fails(original: dcf.Dataset, result: dcf.Dataset, **options: Any) -> list[str]:
        seen.append(len(result))  # the output was read back: a dataset of its own
        return ["(0010,0010): should be empty (Z)"]

    monkeypatch.setattr(deid_files, "verify_deidentified", fails)
    out = tmp_path / "out"
    out.mkdir()
    source = TESTDATA / "ct_explicit_le.dcm"
    assert main(["deidentify", str(source), str(out), "--salt-file", str(salt_file)]) == 1
    err = capsys.readouterr().err
    assert "DeidentificationError: the output fails its check (1): (0010,0010)" in err
    assert seen
    assert seen[0] > 0
    assert list(out.iterdir()) == []  # no output and no temporary file


def test_overwrite(
    tree: Path, tmp_path: Path, salt_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, report = tmp_path / "out", tmp_path / "report.csv"
    salt = ["--salt-file", str(salt_file)]
    deidentify(tree / "series", out, *salt)
    (out / "im1.dcm").write_bytes(b"stale")
    capsys.readouterr()
    # A tree run again keeps the outputs that exist, and says so in the report.
    assert deidentify(tree / "series", out, *salt, "--report", str(report)) == 0
    assert summary(capsys.readouterr().out) == (0, 0, 0, 0, 3)
    assert (out / "im1.dcm").read_bytes() == b"stale"
    assert {row.split(",")[4] for row in report.read_text().splitlines()[1:]} == {"existing"}
    assert deidentify(tree / "series", out, *salt, "--overwrite") == 0
    assert summary(capsys.readouterr().out) == (3, 0, 0, 0, 0)
    assert dcf.read(out / "im1.dcm").PatientIdentityRemoved == "YES"
    # A file named on its own over an existing output fails without --overwrite.
    one = tmp_path / "one.dcm"
    one.write_bytes(b"stale")
    assert main(["deidentify", str(tree / SERIES[0]), str(one), *salt]) == 1
    assert "give --overwrite" in capsys.readouterr().err
    assert one.read_bytes() == b"stale"
    assert main(["deidentify", str(tree / SERIES[0]), str(one), *salt, "--overwrite"]) == 0
    assert one.read_bytes() == (out / "im1.dcm").read_bytes()


def test_unknown_option_fails_before_any_file(
    tree: Path, tmp_path: Path, salt_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, report = tmp_path / "out", tmp_path / "report.csv"
    argv = ["--option", "retain-uids", "--option", "retain-everything", "--report", str(report)]
    assert deidentify(tree, out, "--salt-file", str(salt_file), *argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("dicomframe deidentify: error: unknown de-identification option")
    assert "'retain-everything'" in err
    assert "retain-uids, retain-device-identity" in err  # the valid names, listed
    assert not out.exists()
    assert not report.exists()


@pytest.mark.parametrize("spelling", ["retain-uids", "retain_uids", "RETAIN_UIDS"])
def test_option_spellings(spelling: str, tmp_path: Path, salt_file: Path) -> None:
    source, out = TESTDATA / "ct_explicit_le.dcm", tmp_path / "out.dcm"
    argv = ["--salt-file", str(salt_file), "--option", spelling, "--option", "clean-descriptors"]
    assert main(["deidentify", str(source), str(out), *argv]) == 0
    back, original = dcf.read(out), dcf.read(source)
    assert back.SOPInstanceUID == original.SOPInstanceUID  # kept by Retain UIDs
    codes = [str(item.CodeValue) for item in back.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113110", "113105"]
    assert verify_deidentified(original, back, options=["retain-uids", "clean-descriptors"]) == []


def test_salt_file_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, out = TESTDATA / "ct_explicit_le.dcm", tmp_path / "out.dcm"
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert main(["deidentify", str(source), str(out), "--salt-file", str(empty)]) == 1
    assert "--salt-file" in capsys.readouterr().err
    missing = tmp_path / "missing"
    assert main(["deidentify", str(source), str(out), "--salt-file", str(missing)]) == 1
    assert "missing" in capsys.readouterr().err
    assert not out.exists()


def test_report_holds_no_original_names_or_ids(tree: Path, tmp_path: Path, salt_file: Path) -> None:
    report = tmp_path / "report.csv"
    deidentify(tree, tmp_path / "out", "--salt-file", str(salt_file), "--report", str(report))
    text = report.read_text()
    secrets = set()
    for name in DONE:
        original = read_any(tree / name)
        for keyword in ("PatientName", "PatientID", "OtherPatientIDs"):
            value = str(original.get(keyword) or "").strip()
            if len(value) > 2:
                secrets.add(value)
    assert len(secrets) >= 5  # the test means something: several names and IDs
    for secret in secrets:
        assert secret not in text, secret
    assert "CompressedSamples^CT1" not in text
    assert "1CT1" not in text


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["deidentify", "--help"])
    out = capsys.readouterr().out
    for flag in ("--option", "--salt-file", "--workers", "--report", "--overwrite"):
        assert flag in out


def test_report_is_csv(tmp_path: Path, salt_file: Path) -> None:
    report = tmp_path / "r.csv"
    source = pydicom_file("CT_small.dcm")
    argv = ["--salt-file", str(salt_file), "--report", str(report)]
    assert main(["deidentify", str(source), str(tmp_path / "o.dcm"), *argv]) == 0
    rows = list(csv.reader(io.StringIO(report.read_text())))
    assert {row[0] for row in rows[1:]} == {"CT_small.dcm"}
    private = [row for row in rows if row[6] == "private"]
    assert private
    assert all(row[3] == "" and row[4] == "X" for row in private)


def test_burned_in_annotation_is_reported(
    tmp_path: Path, salt_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    ds.BurnedInAnnotation = "YES"
    source, report = tmp_path / "burned.dcm", tmp_path / "r.csv"
    dcf.write(ds, source)
    argv = ["--salt-file", str(salt_file), "--report", str(report)]
    assert main(["deidentify", str(source), str(tmp_path / "out.dcm"), *argv]) == 0
    err = capsys.readouterr().err
    assert "burned.dcm: warning: Burned In Annotation is YES" in err
    rows = list(csv.reader(io.StringIO(report.read_text())))
    assert rows[1][:5] == [
        "burned.dcm",
        "(0028,0301)",
        "(0028,0301)",
        "BurnedInAnnotation",
        "warning",
    ]
    # Without a report, the warning still shows; the rows are not sent back at all.
    assert main(["deidentify", str(source), str(tmp_path / "out2.dcm"), *argv[:2]]) == 0
    assert "burned.dcm: warning: Burned In Annotation is YES" in capsys.readouterr().err


def test_report_in_a_new_directory_with_workers(
    tree: Path, tmp_path: Path, salt_file: Path
) -> None:
    report = tmp_path / "out" / "logs" / "report.csv"
    argv = ["--salt-file", str(salt_file), "--report", str(report), "--workers", "2"]
    assert deidentify(tree / "series", tmp_path / "out", *argv) == 0
    rows = list(csv.reader(io.StringIO(report.read_text())))
    assert sorted({row[0] for row in rows[1:]}) == ["im1.dcm", "im2.dcm", "im3.dcm"]
    assert [p.name for p in report.parent.iterdir()] == ["report.csv"]  # no temporary file


def burned_ct(tmp_path: Path) -> Path:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    ds.BurnedInAnnotation = "YES"
    ds.Manufacturer = "ACME"
    source = tmp_path / "burned.dcm"
    dcf.write(ds, source)
    return source


def mask_config(tmp_path: Path, manufacturer: str) -> Path:
    path = tmp_path / "masks.json"
    path.write_text(json.dumps({"rule": [{"Manufacturer": manufacturer, "rects": [[0, 0, 8, 4]]}]}))
    return path


def test_mask_config_masks_matching_files(
    tmp_path: Path, salt_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, report, out = burned_ct(tmp_path), tmp_path / "r.csv", tmp_path / "out.dcm"
    argv = ["--salt-file", str(salt_file), "--report", str(report), "--strict"]
    config = ["--mask-config", str(mask_config(tmp_path, "acme"))]
    assert main(["deidentify", str(source), str(out), *argv, *config]) == 0
    assert "warning" not in capsys.readouterr().err
    masked, before = dcf.read(out), dcf.read(source)
    assert masked.BurnedInAnnotation == "NO"
    # pixel_array is (frames, rows, columns)
    assert (masked.pixel_array[:, :4, :8] == -(1 << (int(before.BitsStored) - 1))).all()
    assert np.array_equal(masked.pixel_array[:, 4:], before.pixel_array[:, 4:])
    assert np.array_equal(masked.pixel_array[:, :, 8:], before.pixel_array[:, :, 8:])
    rows = list(csv.reader(io.StringIO(report.read_text())))
    assert [row[4] for row in rows if row[3] == "PixelData"] == ["M"]


def test_strict_refuses_burned_in_without_a_matching_mask(
    tmp_path: Path, salt_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, out = burned_ct(tmp_path), tmp_path / "out.dcm"
    config = ["--mask-config", str(mask_config(tmp_path, "Other"))]
    argv = ["deidentify", str(source), str(out), "--salt-file", str(salt_file), *config]
    assert main([*argv, "--strict"]) == 1
    err = capsys.readouterr().err
    assert "refused (--strict): Burned In Annotation is YES" in err
    assert not out.exists()
    # Without --strict: written, unmasked, and the warning names the missing rule.
    assert main(argv) == 0
    assert "no mask rule matches this file" in capsys.readouterr().err
    assert dcf.read(out).BurnedInAnnotation == "YES"


def test_a_bad_mask_config_fails_before_any_file(
    tmp_path: Path, salt_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "masks.json"
    config.write_text(json.dumps({"rule": [{"Vendor": "x", "rects": [[0, 0, 1, 1]]}]}))
    out = tmp_path / "out.dcm"
    argv = ["--salt-file", str(salt_file), "--mask-config", str(config)]
    assert main(["deidentify", str(burned_ct(tmp_path)), str(out), *argv]) != 0
    assert "unknown keys" in capsys.readouterr().err
    assert not out.exists()
