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


def pydicom_data_file(name: str) -> Path:
    """One file of pydicom-data, the larger test files of pydicom (real scanners' among them)."""
    pytest.importorskip("data_store", reason="pip install pydicom-data")
    import data_store  # pydicom-data's package

    path = Path(data_store.__file__).parent / "data" / name
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def pydicom_data_files() -> list[Path]:
    """Every DICOM file of pydicom-data."""
    pytest.importorskip("data_store", reason="pip install pydicom-data")
    import data_store

    return sorted((Path(data_store.__file__).parent / "data").glob("*.dcm"))


def project_files() -> list[Path]:
    """The files in testdata/ that the project generated with DCMTK and GDCM."""
    return sorted(TESTDATA.glob("*.dcm"))


def require_tool(name: str) -> str:
    """The path of a peer tool; skip when absent, fail when CI says it must be there."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("DICOMFRAME_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is required (DICOMFRAME_REQUIRE_TOOLS=1) but not installed")
        pytest.skip(f"{name} is not installed (apt-get install dcmtk libgdcm-tools dicom3tools)")
    return path


# Files that pydicom reads leniently and dicomframe refuses on purpose: a value whose
# length runs past the end of the data is an error here (docs/differences.md).
REFUSED = {"MR_truncated.dcm", "rtplan_truncated.dcm", "no_meta.dcm", "truncated.dcm"}


def _le_bytes(element: object) -> bytes:
    """The value as Implicit VR Little Endian bytes; a sequence as its items (PS3.5 6.2.2)."""
    from dicomframe.core.encoder import EncodeContext, encode_element, value_bytes

    ctx = EncodeContext(explicit_vr=False)
    if getattr(element, "vr", None) == "SQ":
        return b"".join(bytes(c) for c in encode_element(element, ctx, ())[1:])  # type: ignore[arg-type]
    return bytes(value_bytes(element, ctx, ()))  # type: ignore[arg-type]


def dataset_differences(
    a: object, b: object, where: str = "", *, implicit: bool = False
) -> list[str]:
    """Describe how two dicomframe datasets differ, element by element.

    Group length values are not compared: the writer recomputes them for the
    syntax written. With ``implicit``, a VR that Implicit VR cannot carry (an
    explicit private VR read back as UN, OB read back as OW) is compared by
    its little-endian bytes instead.
    """
    import dicomframe as dcf

    assert isinstance(a, dcf.Dataset)
    assert isinstance(b, dcf.Dataset)
    problems = []
    tags_a, tags_b = set(a.tags()), set(b.tags())
    if tags_a != tags_b:
        only_a, only_b = sorted(tags_a - tags_b), sorted(tags_b - tags_a)
        problems.append(f"{where}: tags only in first {only_a}, only in second {only_b}")
    for tag in sorted(tags_a & tags_b):
        x, y = a[tag], b[tag]
        if tag.element == 0:
            continue
        if x.vr is dcf.VR.SQ and y.vr is dcf.VR.SQ and len(x.value) == len(y.value):
            for n, (i, j) in enumerate(zip(x.value, y.value, strict=True)):
                problems += dataset_differences(i, j, f"{where}{tag}[{n}]", implicit=implicit)
        elif implicit and x.vr != y.vr:
            if _le_bytes(x).rstrip(b"\0 ") != _le_bytes(y).rstrip(b"\0 "):
                problems.append(f"{where}{tag}: bytes differ: {x!r} != {y!r}")
        elif x != y:
            problems.append(f"{where}{tag}: {x!r} != {y!r}")
    return problems
