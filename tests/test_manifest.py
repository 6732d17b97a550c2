"""dicomframe.manifest: one JSON line per input, and a rerun that keeps only verified outputs.

Runs on the local engine (the Dask engine writes the same lines:
tests/test_cluster.py). Digests are checked with hashlib on the files
themselves; outputs are read by pydicom.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from dicomframe import batch
from dicomframe.batch import NOT_DICOM, run, run_jobs
from dicomframe.batch_work import Outcome
from dicomframe.manifest import Record, read_manifest, reads_back
from tests.reference import TESTDATA, pydicom_files

RLE = "1.2.840.10008.1.2.5"
FIELDS = [
    "input",
    "output",
    "status",
    "error",
    "bytes_in",
    "bytes_out",
    "seconds",
    "sha256",
    "worker",
    "pid",
]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Six DICOM files (pydicom's and ours), a corrupt one, a text file and a socket."""
    root = tmp_path / "tree"
    (root / "a").mkdir(parents=True)
    by_name = {p.name: p for p in pydicom_files()}
    for name in ("CT_small.dcm", "MR_small.dcm"):
        shutil.copy(by_name[name], root / name)
    for name in ("ct_explicit_le.dcm", "rgb_planar1.dcm", "rle_multiframe.dcm"):
        shutil.copy(TESTDATA / name, root / "a" / name)
    shutil.copy(TESTDATA / "ct_implicit_le.dcm", root / "a" / "IM0001")  # no suffix
    (root / "a" / "corrupt.dcm").write_bytes((TESTDATA / "ct_explicit_le.dcm").read_bytes()[:500])
    (root / "notes.txt").write_text("not DICOM\n")
    os.mknod(root / "a" / "socket.dcm", 0o600 | stat.S_IFSOCK)
    return root


CONVERTED = {"CT_small.dcm", "MR_small.dcm", "ct_explicit_le.dcm", "rgb_planar1.dcm"}
CONVERTED |= {"rle_multiframe.dcm", "IM0001"}


def lines(path: Path) -> dict[str, dict[str, Any]]:
    """The manifest's lines as JSON objects, by the input's file name; one per input."""
    parsed = [json.loads(text) for text in path.read_text().splitlines()]
    assert all(list(line) == FIELDS for line in parsed)
    by_name = {Path(line["input"]).name: line for line in parsed}
    assert len(by_name) == len(parsed)
    return by_name


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_one_line_per_input(tree: Path, tmp_path: Path) -> None:
    out, record = tmp_path / "out", tmp_path / "logs" / "manifest.jsonl"
    result = run(tree, out, RLE, manifest=record)
    assert result.converted == 6
    found = lines(record)
    assert set(found) == {*CONVERTED, "corrupt.dcm", "notes.txt", "socket.dcm"}
    for name in CONVERTED:
        line = found[name]
        assert line["status"] == "ok"
        assert line["error"] is None
        assert Path(line["input"]).is_absolute()
        assert line["output"] == str((out / Path(line["input"]).relative_to(tree)).absolute())
        assert line["sha256"] == sha256(line["output"])
        assert line["bytes_out"] == os.path.getsize(line["output"])
        assert line["bytes_in"] == os.path.getsize(line["input"])
        assert line["seconds"] >= 0
        assert (line["pid"], line["worker"]) == (os.getpid(), None)
    assert found["corrupt.dcm"]["status"] == "failed"
    assert found["corrupt.dcm"]["error"].startswith("InvalidDicomError: ")
    assert found["corrupt.dcm"]["sha256"] is None
    assert (found["notes.txt"]["status"], found["notes.txt"]["error"]) == ("skipped", NOT_DICOM)
    assert found["notes.txt"]["output"] is None
    assert found["socket.dcm"]["error"] == "a socket, not a regular file"
    assert not [p for p in record.parent.iterdir() if p.name != "manifest.jsonl"]


def test_outputs_read_by_pydicom(tree: Path, tmp_path: Path) -> None:
    pydicom = pytest.importorskip("pydicom")
    run(tree, tmp_path / "out", RLE, manifest=tmp_path / "m.jsonl")
    for line in lines(tmp_path / "m.jsonl").values():
        if line["status"] == "ok":
            converted = pydicom.dcmread(line["output"])
            assert converted.file_meta.TransferSyntaxUID == RLE
            original = pydicom.dcmread(line["input"])
            assert (converted.pixel_array == original.pixel_array).all()


def test_a_rerun_skips_verified_outputs(tree: Path, tmp_path: Path) -> None:
    out, record = tmp_path / "out", tmp_path / "m.jsonl"
    run(tree, out, RLE, manifest=record)
    first = lines(record)
    times = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    again = run(tree, out, RLE, manifest=record)
    assert (again.converted, len(again.existing), again.ran_on) == (0, 6, {})
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == times  # nothing rewritten
    second = lines(record)
    for name in CONVERTED:
        assert second[name]["status"] == "skipped"
        assert second[name]["error"] is None
        assert second[name]["sha256"] == first[name]["sha256"] == sha256(second[name]["output"])
    assert second["corrupt.dcm"]["status"] == "failed"  # tried again


def test_an_output_changed_since_is_converted_again(tree: Path, tmp_path: Path) -> None:
    out, record = tmp_path / "out", tmp_path / "m.jsonl"
    run(tree, out, RLE, manifest=record)
    good = (out / "CT_small.dcm").read_bytes()
    shutil.copy(tree / "MR_small.dcm", out / "CT_small.dcm")  # valid DICOM, but not this output
    again = run(tree, out, RLE, manifest=record)
    assert again.converted == 1
    assert (out / "CT_small.dcm").read_bytes() == good
    line = lines(record)["CT_small.dcm"]
    assert (line["status"], line["sha256"]) == ("ok", sha256(out / "CT_small.dcm"))


def test_without_a_previous_manifest_outputs_must_read_back(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(tree, out, RLE)  # no manifest
    whole = (out / "a" / "rgb_planar1.dcm").read_bytes()
    (out / "a" / "rgb_planar1.dcm").write_bytes(whole[:-100])  # cut short
    shutil.copy(tree / "MR_small.dcm", out / "MR_small.dcm")  # DICOM, in another syntax
    record = tmp_path / "m.jsonl"
    again = run(tree, out, RLE, manifest=record)
    assert again.converted == 2
    assert (out / "a" / "rgb_planar1.dcm").read_bytes() == whole
    found = lines(record)
    assert {n for n, line in found.items() if line["status"] == "ok"} == {
        "rgb_planar1.dcm",
        "MR_small.dcm",
    }
    assert found["CT_small.dcm"]["status"] == "skipped"


def test_reads_back(tmp_path: Path) -> None:
    source = TESTDATA / "rle_multiframe.dcm"
    assert reads_back(source)
    assert reads_back(source, RLE)
    assert not reads_back(source, "1.2.840.10008.1.2.1")
    (tmp_path / "cut.dcm").write_bytes(source.read_bytes()[:-10])
    assert not reads_back(tmp_path / "cut.dcm")
    assert not reads_back(tmp_path / "missing.dcm")


def test_a_single_file(tmp_path: Path) -> None:
    src, dst, record = TESTDATA / "ct_explicit_le.dcm", tmp_path / "ct.dcm", tmp_path / "m.jsonl"
    assert run(src, dst, RLE, manifest=record).converted == 1
    again = run(src, dst, RLE, manifest=record)  # verified: kept, not a failure
    assert (again.ok, again.converted, again.existing) == (True, 0, [src])
    assert lines(record)["ct_explicit_le.dcm"]["status"] == "skipped"
    dst.write_bytes(b"something else")
    third = run(src, dst, RLE, manifest=record)
    assert (third.ok, third.converted) == (True, 1)


def test_overwrite_ignores_the_previous_manifest(tree: Path, tmp_path: Path) -> None:
    out, record = tmp_path / "out", tmp_path / "m.jsonl"
    run(tree, out, RLE, manifest=record)
    again = run(tree, out, RLE, manifest=record, overwrite=True)
    assert again.converted == 6
    assert {line["status"] for line in lines(record).values()} == {"ok", "failed", "skipped"}


def interrupted(source: str, target: str) -> Outcome:
    """Ctrl-C as the run reaches rgb_planar1.dcm."""
    if source.endswith("rgb_planar1.dcm"):
        raise KeyboardInterrupt
    return batch._transcode_job(source, target, syntax=RLE, options={})


def test_an_interrupted_run_keeps_the_previous_manifest(tree: Path, tmp_path: Path) -> None:
    out, record = tmp_path / "out", tmp_path / "m.jsonl"
    run(tree, out, RLE, manifest=record)
    before = record.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        run_jobs(tree, out, interrupted, manifest=record, overwrite=True)
    assert record.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.jsonl", "out", "tree"]


def test_a_line_that_is_not_one(tmp_path: Path) -> None:
    record = tmp_path / "m.jsonl"
    good = Record("/a.dcm", "/b.dcm", "ok", sha256="00").line()
    record.write_text(f"{good}\n{{not json\n")
    with pytest.raises(ValueError, match=r"m\.jsonl, line 2: not a manifest line"):
        list(read_manifest(record))
    record.write_text(good.replace('"ok"', '"done"') + "\n")
    with pytest.raises(ValueError, match="line 1: unknown status 'done'"):
        list(read_manifest(record))
    with pytest.raises(ValueError, match="line 1"):  # a bad previous manifest stops a rerun
        run(TESTDATA / "ct_explicit_le.dcm", tmp_path / "o.dcm", RLE, manifest=record)
    assert not (tmp_path / "o.dcm").exists()


def test_a_callers_executor(tree: Path, tmp_path: Path) -> None:
    """Any concurrent.futures executor runs the files; the lines are the same as the pool's."""
    with ThreadPoolExecutor(2) as executor:
        result = run(tree, tmp_path / "out", RLE, executor=executor, manifest=tmp_path / "m.jsonl")
        assert not executor._shutdown  # the caller's: still open
    assert result.converted == 6
    expected = tmp_path / "expected"
    run(tree, expected, RLE)
    for line in lines(tmp_path / "m.jsonl").values():
        if line["status"] == "ok":
            target = Path(line["output"])
            assert (
                target.read_bytes()
                == (expected / target.relative_to(tmp_path / "out")).read_bytes()
            )
    assert asdict(Record("a", None, "skipped")) == dict.fromkeys(FIELDS) | {
        "input": "a",
        "status": "skipped",
    }
