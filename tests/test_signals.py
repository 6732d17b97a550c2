"""SIGTERM and SIGHUP while a file is being written leave no temporary file, and the old file.

Each writer runs in a child process whose ``os.fsync`` stalls: the temporary
file is then complete but not yet renamed, the latest moment a signal can
arrive. The child says so through a marker file; the test signals it then,
and checks that the child unwound (exit status 128 + the signal number),
removed its temporary file and left the destination as it was. With the
default action of either signal, the child would die on the spot and leave
its ``.NAME.*.tmp`` file behind.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reference import TESTDATA

MR = TESTDATA / "mr_multiframe_uint16.dcm"
OLD = b"the previous output"

_STALLING = """
import os, sys, time
from pathlib import Path

def stall(fd):
    Path(sys.argv[1]).write_text("")  # the temporary file is complete, not yet renamed
    time.sleep(600)

os.fsync = stall
src, dst = sys.argv[2:4]
"""

WRITERS = {
    "write": ("out.dcm", "import dicomframe as dcf\ndcf.write(dcf.read(src), dst)"),
    "transcode_file": (
        "out.dcm",
        "import dicomframe as dcf\ndcf.transcode_file(src, dst, 'RLELossless')",
    ),
    "extract": (
        "out.tif",
        "import dicomframe as dcf\nfrom dicomframe.extract import extract\n"
        "extract(dcf.read(src), Path(dst), frames=[0, 1, 2], raw=True)",
    ),
    "cli-transcode": (
        "out.dcm",
        "from dicomframe.cli import main\n"
        "sys.exit(main(['transcode', src, dst, '--to', 'RLELossless', '--overwrite']))",
    ),
    "cli-extract": (
        "out.png",
        "from dicomframe.cli import main\nsys.exit(main(['extract', src, dst]))",
    ),
}


def stop_when(command: list[str], ready: Callable[[], bool], signum: int) -> tuple[int, str, str]:
    """Start ``command``, send ``signum`` once ``ready()``; its exit status, stdout and stderr.

    The deadlines only keep a broken child from hanging the test run.
    """
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not ready():
            if child.poll() is not None:
                out, err = child.communicate()
                pytest.fail(f"the child ended before it was signalled: {out} {err}")
            if time.monotonic() > deadline:
                pytest.fail("the child never got to the point to signal it at")
            time.sleep(0.005)
        child.send_signal(signum)
        out, err = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return child.returncode, out, err


def temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("writer", WRITERS)
def test_a_signal_while_writing_leaves_the_old_file(
    writer: str, signum: int, tmp_path: Path
) -> None:
    name, code = WRITERS[writer]
    out_dir, marker = tmp_path / "out", tmp_path / "stalled"
    out_dir.mkdir()
    dst = out_dir / name
    dst.write_bytes(OLD)
    script = _STALLING + code
    status, _, err = stop_when(
        [sys.executable, "-c", script, str(marker), str(MR), str(dst)], marker.exists, signum
    )
    assert status == 128 + signum, err
    assert temporaries(out_dir) == []
    assert sorted(p.name for p in out_dir.iterdir()) == [name]
    assert dst.read_bytes() == OLD
    if writer.startswith("cli-"):  # one line, no traceback
        assert err == f"dicomframe {writer[4:]}: stopped by {signal.Signals(signum).name}\n"


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="no signal masks here")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_held_signal_waits_and_is_raised_by_release(signum: int) -> None:
    import threading

    from dicomframe.core.signals import Terminated, hold, release, unwinding

    expected = Terminated if signum == signal.SIGTERM else KeyboardInterrupt
    with unwinding():
        held = hold()
        # To this thread: one sent to the process may be taken by another (numpy's OpenBLAS
        # threads), whose handler Python then runs here anyway.
        signal.pthread_kill(threading.get_ident(), signum)
        time.sleep(0.01)  # delivered at once, were it not held
        with pytest.raises(expected):
            release(held)
    assert signum not in signal.pthread_sigmask(signal.SIG_BLOCK, set())  # unblocked again
