"""Tree commands open regular files only: FIFOs, sockets, devices and dangling links are skipped.

Opening a FIFO blocks until some process writes to it, and a device such as
``/dev/zero`` never ends, so a tree holding one used to hang ``dicomframe
transcode``. The FIFO and ``/dev/zero`` cases run the command in a child
process with a timeout and a memory limit, so a regression fails the test
rather than hanging it or exhausting the machine.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dicomframe.batch import NOT_DICOM, run
from dicomframe.cli import main
from tests.reference import TESTDATA
from tests.test_cli_transcode import summary

CT = TESTDATA / "ct_explicit_le.dcm"
RLE = "1.2.840.10008.1.2.5"


def _socket(path: Path) -> None:
    os.mknod(path, 0o600 | stat.S_IFSOCK)  # a socket file, as a bound AF_UNIX socket leaves


@pytest.fixture
def special(tmp_path: Path) -> Path:
    """A tree with one DICOM file and things that are not regular files, named like DICOM."""
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    shutil.copy(CT, root / "ct.dcm")
    _socket(root / "socket.dcm")
    (root / "sub" / "gone.dcm").symlink_to(root / "nowhere.dcm")
    (root / "sub" / "null.dcm").symlink_to("/dev/null")
    (root / "notes.txt").write_text("not DICOM\n")
    return root


def test_special_files_are_skipped_with_what_they_are(special: Path, tmp_path: Path) -> None:
    result = run(special, tmp_path / "out", RLE)
    assert (result.converted, result.failed) == (1, [])
    assert sorted(result.skipped) == [
        (special / "notes.txt", NOT_DICOM),
        (special / "socket.dcm", "a socket, not a regular file"),
        (special / "sub" / "gone.dcm", "a symbolic link that leads to no file"),
        (special / "sub" / "null.dcm", "a character device, not a regular file"),
    ]
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["ct.dcm"]


# The command in a child whose address space is bounded: a read of /dev/zero ends in
# MemoryError there, not in the machine's swap.
_LIMITED = """
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
sys.argv[0] = "dicomframe"
runpy.run_module("dicomframe.cli", run_name="__main__")
"""


def limited_cli(*arguments: object) -> subprocess.CompletedProcess[str]:
    """Run ``dicomframe ARGUMENTS`` in a child; a regression that blocks fails at the timeout."""
    return subprocess.run(
        [sys.executable, "-c", _LIMITED, *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_fifo_and_dev_zero_in_a_tree_do_not_hang(special: Path, tmp_path: Path) -> None:
    os.mkfifo(special / "pipe.dcm")
    (special / "sub" / "zero.dcm").symlink_to("/dev/zero")
    done = limited_cli("transcode", special, tmp_path / "out", "--to", "RLELossless")
    assert done.returncode == 0, done.stderr
    assert summary(done.stdout) == (1, 0, 1, 5, 0)
    start = "dicomframe transcode: "
    assert sorted(done.stderr.splitlines()) == [
        f"{start}{special / 'pipe.dcm'}: skipped: a FIFO, not a regular file",
        f"{start}{special / 'socket.dcm'}: skipped: a socket, not a regular file",
        f"{start}{special / 'sub/gone.dcm'}: skipped: a symbolic link that leads to no file",
        f"{start}{special / 'sub/null.dcm'}: skipped: a character device, not a regular file",
        f"{start}{special / 'sub/zero.dcm'}: skipped: a character device, not a regular file",
    ]
    assert [p.name for p in (tmp_path / "out").rglob("*")] == ["ct.dcm"]


def test_a_fifo_named_on_its_own_fails(tmp_path: Path) -> None:
    src, out = tmp_path / "pipe.dcm", tmp_path / "out.dcm"
    os.mkfifo(src)
    done = limited_cli("transcode", src, out, "--to", "RLELossless")
    assert done.returncode == 1
    assert summary(done.stdout) == (0, 1, 0, 0, 0)
    assert done.stderr == f"dicomframe transcode: {src}: a FIFO, not a regular file\n"
    assert not out.exists()


@pytest.mark.parametrize("name", ["null", "socket"])
def test_a_special_file_named_on_its_own_fails(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if name == "null":
        src, what = Path("/dev/null"), "a character device"
    else:
        src, what = tmp_path / "socket", "a socket"
        _socket(src)
    out = tmp_path / "out.dcm"
    assert main(["transcode", str(src), str(out), "--to", "RLELossless"]) == 1
    stdout, err = capsys.readouterr()
    assert summary(stdout) == (0, 1, 0, 0, 0)
    assert err == f"dicomframe transcode: {src}: {what}, not a regular file\n"
    assert not out.exists()
