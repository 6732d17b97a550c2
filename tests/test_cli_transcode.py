"""``dicomframe transcode``: files and trees, workers, safety, options and errors."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
import dicomframe.plugins.manager
from dicomframe import batch
from dicomframe.batch import NOT_DICOM, run
from dicomframe.cli import main
from dicomframe.codecs.rle import RLE
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.parallel import can_fork
from dicomframe.plugins import Codec, CodecManager, hookimpl
from tests.reference import TESTDATA
from tests.test_signals import stop_when, temporaries
from tests.test_streaming import write_large_native


def summary(out: str, done: str = "converted") -> tuple[int, ...]:
    """(done, failed, not DICOM, not a regular file, kept) from a tree command's last line."""
    found = re.search(
        rf"^(\d+) {done}, (\d+) failed, (\d+) skipped \(not DICOM\), "
        r"(\d+) skipped \(not a regular file\), (\d+) kept \(output exists\) in \d+\.\d s$",
        out,
        re.M,
    )
    assert found, out
    return tuple(int(g) for g in found.groups())


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A tree: DICOM files at three depths, one without a suffix, a text file, a corrupt file."""
    root = tmp_path / "tree"
    (root / "a" / "b").mkdir(parents=True)
    (root / "c").mkdir()
    shutil.copy(TESTDATA / "ct_explicit_le.dcm", root / "ct.dcm")
    shutil.copy(TESTDATA / "mr_multiframe_uint16.dcm", root / "a" / "mr.dcm")
    shutil.copy(TESTDATA / "rgb_planar1.dcm", root / "a" / "b" / "rgb.dcm")
    shutil.copy(TESTDATA / "rle_multiframe.dcm", root / "c" / "IM0001")  # DICM, no suffix
    (root / "notes.txt").write_text("not DICOM\n")
    (root / "a" / "corrupt.dcm").write_bytes((TESTDATA / "ct_explicit_le.dcm").read_bytes()[:500])
    return root


CONVERTED = ["a/b/rgb.dcm", "a/mr.dcm", "c/IM0001", "ct.dcm"]


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, dst = TESTDATA / "mr_multiframe_uint16.dcm", tmp_path / "out.dcm"
    assert main(["transcode", str(src), str(dst), "--to", "RLELossless"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert summary(out) == (1, 0, 0, 0, 0)
    result = dcf.read(dst)
    assert result.transfer_syntax is not None
    assert result.transfer_syntax.keyword == "RLELossless"
    np.testing.assert_array_equal(result.pixel_array, dcf.read(src).pixel_array)


@pytest.mark.skipif(not can_fork(), reason="needs os.fork")
def test_one_file_is_converted_on_every_core(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dicomframe import converting, executors, parallel

    monkeypatch.setattr(converting, "_FORK_FRAME_SECONDS", 0.0)  # these small frames too
    monkeypatch.setattr(parallel, "_FORK_TOTAL_SECONDS", 0.0)
    pids: list[set[int]] = []
    ordered = executors.ordered_in_processes

    def spied(*args: Any, **options: Any) -> Any:
        assert options["slot_bytes"] > 32 * 48 * 2  # room for a native frame, and more
        for index, payload in ordered(*args, **options):
            here = isinstance(payload, executors.Here)
            pids.append({os.getpid() if here else payload[-1]})
            yield index, payload

    monkeypatch.setattr(converting, "ordered_in_processes", spied)
    src, dst = TESTDATA / "mr_multiframe_uint16.dcm", tmp_path / "out.dcm"
    assert main(["transcode", str(src), str(dst), "--to", "RLELossless"]) == 0
    assert summary(capsys.readouterr().out) == (1, 0, 0, 0, 0)
    workers = set().union(*pids)
    assert len(pids) == 3  # frames 2-4: 0 chose the codecs, 1 was timed here
    assert len(workers) == 2  # one forked worker, and this process: both converted frames
    assert os.getpid() in workers
    np.testing.assert_array_equal(dcf.read(dst).pixel_array, dcf.read(src).pixel_array)


def test_one_file_into_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = TESTDATA / "ct_explicit_le.dcm"
    assert main(["transcode", str(src), str(tmp_path), "--to", "1.2.840.10008.1.2.4.80"]) == 0
    assert summary(capsys.readouterr().out) == (1, 0, 0, 0, 0)
    result = dcf.read(tmp_path / src.name)
    assert result.transfer_syntax is not None
    assert result.transfer_syntax.keyword == "JPEGLSLossless"


def test_tree(tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    status = main(["transcode", str(tree), str(out_dir), "--to", "JPEG2000Lossless"])
    out, err = capsys.readouterr()
    assert status == 1  # one file failed
    assert summary(out) == (4, 1, 1, 0, 0)
    lines = err.splitlines()
    assert len(lines) == 1  # the corrupt file, on one line, with its path and why
    assert lines[0].startswith(f"dicomframe transcode: {tree / 'a' / 'corrupt.dcm'}: ")
    assert "InvalidDicomError" in lines[0]
    assert files(out_dir) == CONVERTED  # mirrored; text and corrupt files have no output
    for name in CONVERTED:
        result, source = dcf.read(out_dir / name), dcf.read(tree / name)
        assert result.transfer_syntax is not None
        assert result.transfer_syntax.keyword == "JPEG2000Lossless"
        np.testing.assert_array_equal(result.pixel_array, source.pixel_array)
    assert files(tree) == sorted([*CONVERTED, "a/corrupt.dcm", "notes.txt"])  # untouched


def test_two_workers_give_the_same_files(tree: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["transcode", str(tree), str(one), "--to", "RLELossless"]) == 1
    assert main(["transcode", str(tree), str(two), "--to", "RLELossless", "--workers", "2"]) == 1
    assert files(one) == files(two) == CONVERTED
    for name in CONVERTED:
        assert (one / name).read_bytes() == (two / name).read_bytes()


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_and_report(tree: Path, tmp_path: Path, workers: int) -> None:
    progress = io.StringIO()
    reported: list[tuple[Path, str]] = []
    result = run(
        tree,
        tmp_path / "out",
        "1.2.840.10008.1.2.5",
        workers=workers,
        report=lambda path, error: reported.append((path, error)),
        progress=progress,
    )
    assert result.converted == 4
    assert result.skipped == [(tree / "notes.txt", NOT_DICOM)]
    assert [path for path, _ in reported] == [path for path, _ in result.failed]
    assert [path for path, _ in reported] == [tree / "a" / "corrupt.dcm"]
    assert not result.ok
    bars = progress.getvalue().split("\r")
    assert bars[-1] == "[" + "#" * 30 + "] 5/5 files, 1 failed\n"
    assert len(bars) == 6  # one redraw per file


def test_two_workers_in_a_real_process(tree: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "dicomframe.cli", "transcode", str(tree)]
    run = subprocess.run(
        [*command, str(tmp_path / "out"), "--to", "RLELossless", "--workers", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert summary(run.stdout) == (4, 1, 1, 0, 0)
    assert len(run.stderr.splitlines()) == 1
    assert "corrupt.dcm" in run.stderr
    assert "[" not in run.stderr  # no progress bar when stderr is not a terminal


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """40 small files in four folders; the 14th (s1/im13.dcm) is cut short."""
    root = tmp_path / "many"
    data = (TESTDATA / "ct_explicit_le.dcm").read_bytes()
    for index in range(40):
        folder = root / f"s{index % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"im{index:02d}.dcm").write_bytes(data[:500] if index == 13 else data)
    return root


def test_two_workers_report_a_corrupt_file_among_many(many: Path, tmp_path: Path) -> None:
    progress = io.StringIO()
    reported: list[tuple[Path, str]] = []
    result = run(
        many,
        tmp_path / "out",
        "1.2.840.10008.1.2.5",
        workers=2,
        report=lambda path, error: reported.append((path, error)),
        progress=progress,
    )
    assert result.workers == 2
    assert (result.converted, result.skipped) == (39, [])
    assert reported == result.failed
    assert [path for path, _ in reported] == [many / "s1" / "im13.dcm"]
    assert reported[0][1].startswith("InvalidDicomError: ")
    assert files(tmp_path / "out") == [name for name in files(many) if name != "s1/im13.dcm"]
    bars = progress.getvalue().split("\r")[1:]
    assert [int(bar.split("] ")[1].split("/")[0]) for bar in bars] == list(range(1, 41))
    assert bars[-1] == "[" + "#" * 30 + "] 40/40 files, 1 failed\n"


@pytest.mark.parametrize(("workers", "used"), [(1, 1), (2, 2), (8, 4)])
def test_the_workers_used(tree: Path, tmp_path: Path, workers: int, used: int) -> None:
    # This process converts the first file, then forks no more workers than files are left.
    result = run(tree, tmp_path / "out", "1.2.840.10008.1.2.5", workers=workers)
    assert result.workers == used
    assert (result.converted, len(result.failed)) == (4, 1)
    assert files(tmp_path / "out") == CONVERTED
    one = run(tree / "ct.dcm", tmp_path / "one.dcm", "1.2.840.10008.1.2.5", workers=workers)
    assert (one.workers, one.converted) == (1, 1)


@pytest.mark.skipif(not can_fork(), reason="the dying worker is set up by fork")
def test_a_worker_that_dies(many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent, convert = os.getpid(), batch._convert_one

    def crashes_on_im20(source: str, target: str, syntax: str, options: dict[str, Any]) -> Any:
        if os.getpid() != parent and source.endswith("im20.dcm"):
            os._exit(3)  # a backend that takes its process down
        return convert(source, target, syntax, options)

    monkeypatch.setattr(batch, "_convert_one", crashes_on_im20)
    reported: list[tuple[Path, str]] = []
    out = tmp_path / "out"
    result = run(
        many,
        out,
        "1.2.840.10008.1.2.5",
        workers=2,
        report=lambda path, error: reported.append((path, error)),
    )
    assert reported == result.failed
    assert result.converted + len(result.failed) == 40  # every file: converted or reported
    failed = dict(result.failed)
    assert "BrokenProcessPool" in failed[many / "s0" / "im20.dcm"]
    assert "im13.dcm" in str(failed)
    # The files in the workers' hands are lost (4 tasks of 4 files at most); new ones do the rest.
    assert result.converted >= 39 - 16
    # Every converted file is there, and no temporary file: a worker stopped while writing
    # removes its own. A file the worker finished just before it was stopped may be there too.
    written = set(files(out))
    assert {n for n in files(many) if many / n not in failed} <= written
    assert written <= set(files(many)) - {"s1/im13.dcm", "s0/im20.dcm"}


def test_never_overwrites_its_input(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {name: (tree / name).read_bytes() for name in CONVERTED}
    ct = tree / "ct.dcm"
    assert main(["transcode", str(ct), str(ct), "--to", "RLELossless"]) == 1
    out, err = capsys.readouterr()
    assert summary(out) == (0, 1, 0, 0, 0)
    assert err.count("\n") == 1
    assert "overwrite the input" in err
    assert main(["transcode", str(tree), str(tree), "--to", "RLELossless"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("dicomframe transcode: error: ")
    assert "source directory" in err
    assert {name: (tree / name).read_bytes() for name in CONVERTED} == before


def test_output_inside_the_tree_is_not_walked(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = tree / "converted"
    command = ["transcode", str(tree), str(inside), "--to", "RLELossless"]
    # The later runs must not transcode the first run's output: the second keeps it,
    # the third replaces it.
    for extra, expected in (
        ([], (4, 1, 1, 0, 0)),
        ([], (0, 1, 1, 0, 4)),
        (["--overwrite"], (4, 1, 1, 0, 0)),
    ):
        assert main([*command, *extra]) == 1
        assert summary(capsys.readouterr().out) == expected
    assert files(inside) == CONVERTED


def test_a_file_named_on_its_own_is_tried(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["transcode", str(tree / "notes.txt"), str(tmp_path / "x.dcm"), "--to", "RLE"])
    assert status == 1
    out, err = capsys.readouterr()
    assert "unknown transfer syntax" in err  # "RLE" is checked before any file
    assert (
        main(["transcode", str(tree / "notes.txt"), str(tmp_path / "x.dcm"), "--to", "RLELossless"])
        == 1
    )
    out, err = capsys.readouterr()
    assert summary(out) == (0, 1, 0, 0, 0)
    assert "notes.txt" in err
    assert not (tmp_path / "x.dcm").exists()


@pytest.mark.parametrize("keep", [True, False])
def test_keep_uid(keep: bool, tmp_path: Path) -> None:
    src, dst = TESTDATA / "rgb_planar0.dcm", tmp_path / "out.dcm"
    arguments = ["transcode", str(src), str(dst), "--to", "JPEG2000"]
    assert main([*arguments, "--keep-uid"] if keep else arguments) == 0
    result, source = dcf.read(dst), dcf.read(src)
    assert (result.SOPInstanceUID == source.SOPInstanceUID) is keep
    assert result.LossyImageCompression == "01"


def _lying_encode(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """A valid RLE stream of the frame with the lowest bit of every value dropped."""
    dropped = frame.data & ~np.asarray(1, dtype=frame.data.dtype)
    assert RLE.encode is not None
    return RLE.encode(NativeFrame(dropped, frame.info), syntax)


class LyingRLE:
    @hookimpl
    def dicomframe_codecs(self) -> list[Codec]:
        return [replace(RLE, name="liar", encode=_lying_encode)]


@pytest.fixture
def lying_default(monkeypatch: pytest.MonkeyPatch) -> CodecManager:
    """The default manager replaced by one whose only RLE codec drops the lowest bit."""
    manager = CodecManager(entry_points=False)
    manager.register(LyingRLE(), "liar")
    monkeypatch.setattr(dicomframe.plugins.manager, "default_manager", lambda: manager)
    return manager


def test_verify_and_no_verify(
    lying_default: CodecManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = TESTDATA / "mr_multiframe_uint16.dcm"
    dst = tmp_path / "out.dcm"
    assert main(["transcode", str(src), str(dst), "--to", "RLELossless"]) == 1
    out, err = capsys.readouterr()
    assert summary(out) == (0, 1, 0, 0, 0)
    assert "verification failed" in err
    assert not dst.exists()
    assert main(["transcode", str(src), str(dst), "--to", "RLELossless", "--no-verify"]) == 0
    assert summary(capsys.readouterr().out) == (1, 0, 0, 0, 0)
    decoded = dcf.read(dst).pixel_data[1].decode(codecs=lying_default)
    assert not np.array_equal(decoded.array, dcf.read(src).pixel_array[1])  # the lie went through


def test_unknown_syntax_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = TESTDATA / "ct_explicit_le.dcm"
    assert main(["transcode", str(src), str(tmp_path / "out.dcm"), "--to", "JPEG2000Lossles"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("dicomframe transcode: error: unknown transfer syntax 'JPEG2000Lossles'")
    assert "JPEG2000Lossless" in err  # the suggestion
    assert list(tmp_path.iterdir()) == []


def test_missing_source_and_bad_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["transcode", str(tmp_path / "none"), str(tmp_path / "o"), "--to", "RLELossless"]) == 1
    )
    assert (
        capsys.readouterr().err
        == f"dicomframe transcode: error: {tmp_path / 'none'} does not exist\n"
    )
    src = str(TESTDATA / "ct_explicit_le.dcm")
    assert (
        main(["transcode", src, str(tmp_path / "o"), "--to", "RLELossless", "--workers", "0"]) == 1
    )
    assert "--workers" in capsys.readouterr().err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    src = TESTDATA / "ct_explicit_le.dcm"
    with pytest.raises(dcf.UnknownTransferSyntaxError):
        main(["transcode", str(src), str(tmp_path / "o.dcm"), "--to", "Nope", "--debug"])


@pytest.mark.parametrize("arguments", [[], ["--help"], ["transcode", "--help"]])
def test_help(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    if arguments:
        with pytest.raises(SystemExit) as exited:
            main(arguments)
        assert exited.value.code == 0
    else:
        assert main(arguments) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: dicomframe")
    words = (
        ["--to", "--workers", "--keep-uid", "--no-verify"]
        if arguments[:1] == ["transcode"]
        else [
            "transcode",
            "extract",
            "dump",
            "codecs",
        ]
    )
    for word in words:
        assert word in out


def test_a_rerun_keeps_existing_outputs(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    first = run(tree, out_dir, "1.2.840.10008.1.2.5")
    assert (first.converted, first.existing) == (4, [])
    (out_dir / "ct.dcm").write_bytes(b"an output from an earlier run")
    (out_dir / "a" / "mr.dcm").unlink()  # as if the first run had stopped before it
    again = run(tree, out_dir, "1.2.840.10008.1.2.5")
    assert again.converted == 1  # only the missing one
    assert sorted(again.existing) == sorted(tree / n for n in CONVERTED if n != "a/mr.dcm")
    assert (out_dir / "ct.dcm").read_bytes() == b"an output from an earlier run"
    assert main(["transcode", str(tree), str(out_dir), "--to", "RLELossless"]) == 1
    assert summary(capsys.readouterr().out) == (0, 1, 1, 0, 4)
    assert main(["transcode", str(tree), str(out_dir), "--to", "RLELossless", "--overwrite"]) == 1
    assert summary(capsys.readouterr().out) == (4, 1, 1, 0, 0)
    result = dcf.read(out_dir / "ct.dcm")
    np.testing.assert_array_equal(result.pixel_array, dcf.read(tree / "ct.dcm").pixel_array)


def test_one_file_over_an_existing_output_needs_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = TESTDATA / "ct_explicit_le.dcm", tmp_path / "out.dcm"
    dst.write_bytes(b"precious")
    assert main(["transcode", str(src), str(dst), "--to", "RLELossless"]) == 1
    out, err = capsys.readouterr()
    assert summary(out) == (0, 1, 0, 0, 0)
    assert err == f"dicomframe transcode: {src}: {dst} exists: give --overwrite to replace it\n"
    assert dst.read_bytes() == b"precious"
    assert main(["transcode", str(src), str(dst), "--to", "RLELossless", "--overwrite"]) == 0
    assert summary(capsys.readouterr().out) == (1, 0, 0, 0, 0)
    result = dcf.read(dst)
    assert result.transfer_syntax is not None
    assert result.transfer_syntax.keyword == "RLELossless"


def test_overwrite_replaces_a_symlink_not_its_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim, link = tmp_path / "victim.dcm", tmp_path / "out.dcm"
    victim.write_bytes(b"somebody else's file")
    link.symlink_to(victim)
    src = TESTDATA / "ct_explicit_le.dcm"
    assert main(["transcode", str(src), str(link), "--to", "RLELossless", "--overwrite"]) == 0
    capsys.readouterr()
    assert not link.is_symlink()
    assert victim.read_bytes() == b"somebody else's file"
    assert dcf.read(link).SOPInstanceUID == dcf.read(src).SOPInstanceUID


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_midway_through_a_large_file(signum: int, tmp_path: Path) -> None:
    src, out_dir = tmp_path / "large.dcm", tmp_path / "out"
    write_large_native(src, 120)  # 60 MiB: seconds of RLE encoding, frame by frame
    out_dir.mkdir()
    dst = out_dir / "large.dcm"
    command = [sys.executable, "-m", "dicomframe.cli", "transcode", str(src), str(dst)]
    status, out, err = stop_when(
        [*command, "--to", "RLELossless"], lambda: bool(temporaries(out_dir)), signum
    )
    assert status == 128 + signum, err
    assert err == f"dicomframe transcode: stopped by {signal.Signals(signum).name}\n"
    assert out == ""
    assert list(out_dir.iterdir()) == []  # no temporary file, no output
