"""dicomframe's debug messages (``dicomframe.core.debug_log``): sent once logging is in use only."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from dicomframe.core.debug_log import debug
from tests.reference import TESTDATA


def test_a_message_reaches_a_handler(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="dicomframe.test"):
        debug("dicomframe.test", "frame %s by %s", 3, "codec")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("dicomframe.test", logging.DEBUG, "frame 3 by codec")
    ]


def test_a_conversion_imports_neither_logging_nor_difflib(tmp_path: Path) -> None:
    """A verified transcode in a fresh process: no debug message needs logging's import."""
    out = tmp_path / "out.dcm"
    code = (
        "import sys, dicomframe as dcf\n"
        f"dcf.transcode_file({str(TESTDATA / 'mr_multiframe_uint16.dcm')!r}, {str(out)!r},"
        " 'RLELossless')\n"
        "print(sorted(m for m in ('logging', 'difflib') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split("\n")[0] == "[]"
    assert out.exists()
