"""Reference data for the tests: pydicom's bundled files, testdata/, and peer tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"


def pydicom_files() -> list[Path]:
    """Every DICOM file bundled with the installed pydicom (the oracle's own test data)."""
    pydicom = pytest.importorskip("pydicom")
    base = Path(pydicom.__file__).parent / "data"
    files = [
        p
        for folder in ("test_files", "charset_files")
        for p in sorted((base / folder).iterdir())
        if p.suffix == ".dcm" or (p.is_file() and p.suffix == "" and p.name != "README")
    ]
    return [p for p in files if p.is_file()]


def project_files() -> list[Path]:
    """The files in testdata/ that the project generated with DCMTK and GDCM."""
    return sorted(TESTDATA.glob("*.dcm"))


def require_tool(name: str) -> str:
    """The path of a peer tool; skip when absent, fail when CI says it must be there."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("DICOMFRAME_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is required (DICOMFRAME_REQUIRE_TOOLS=1) but not installed")
        pytest.skip(f"{name} is not installed (apt-get install dcmtk libgdcm-tools)")
    return path


# Files that pydicom reads leniently and dicomframe refuses on purpose: a value whose
# length runs past the end of the data is an error here (docs/differences.md).
REFUSED = {"MR_truncated.dcm", "rtplan_truncated.dcm", "no_meta.dcm", "truncated.dcm"}
