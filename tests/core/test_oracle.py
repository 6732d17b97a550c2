"""dicomframe reads every file pydicom bundles with the same tags, VRs and values.

pydicom is the oracle: each file is read by both, and the two datasets are
compared element by element, recursively. The deliberate differences are
listed in docs/differences.md and in ``KNOWN`` below; each has a reason.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

import dicomframe as dcf
from tests.reference import REFUSED, project_files, pydicom_files

pydicom = pytest.importorskip("pydicom")

TRUNCATED = sorted(REFUSED - {"truncated.dcm"})


def _pydicom_read(path: Path) -> tuple[Any, bool]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path), False
        except Exception:
            return pydicom.dcmread(path, force=True), True


def _ours(path: Path, force: bool) -> dcf.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dcf.DicomWarning)
        return dcf.read(path, force=force, defer_size=1 << 40)


def _norm(value: Any) -> Any:
    """Bring values of both libraries to plain Python for comparison."""
    if value is None or value in ("", b"") or (isinstance(value, list | tuple) and not value):
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        items = [_norm(v) for v in value]
        return items[0] if len(items) == 1 else items
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    # PS3.5 6.2: surrounding spaces are not significant (dicomframe strips them per value;
    # pydicom only at the end of the whole string); trailing empty PN groups likewise.
    text = str(value).strip()
    return text.rstrip("=^") if type(value).__name__ == "PersonName" else text


def _compare_element(mine: dcf.DataElement, parent: Any, here: str) -> list[str]:
    """Differences between one of our elements and pydicom's (sequences recurse)."""
    raw = parent.get_item(mine.tag).value  # before parent[tag], which decodes it
    theirs = parent[mine.tag]
    if mine.vr.value == "UN" and mine.tag.is_private and not mine.tag.is_private_creator:
        # No private dictionary in dicomframe: the element keeps its bytes as UN.
        return [] if bytes(mine.value) == raw else [f"{here}: UN bytes differ from pydicom's"]
    # Encapsulated Pixel Data is OB (PS3.5 A.4), as DCMTK reads it; pydicom keeps OW.
    encapsulated_ow = mine.undefined_length and mine.vr.value == "OB" and theirs.VR == "OW"
    if mine.vr.value != theirs.VR and not encapsulated_ow:
        return [f"{here}: VR {mine.vr.value} != pydicom {theirs.VR}"]
    if theirs.VR != "SQ":
        a, b = _norm(mine.value), _norm(theirs.value)
        return [] if a == b else [f"{here}: {a!r:.80} != pydicom {b!r:.80}"]
    if len(mine.value) != len(theirs.value):
        return [f"{here}: {len(mine.value)} items != {len(theirs.value)}"]
    problems = []
    for number, (a, b) in enumerate(zip(mine.value, theirs.value, strict=True)):
        problems += _compare(a, b, f"{here}[{number}]")
    return problems


def _compare(ours: dcf.Dataset, theirs: Any, where: str) -> list[str]:
    problems: list[str] = []
    their_tags = {int(t) for t in theirs.keys()}  # noqa: SIM118 - pydicom Dataset
    our_tags = {int(t) for t in ours.tags()}
    if our_tags != their_tags:
        problems.append(
            f"{where}: tags differ: only ours {sorted(map(hex, our_tags - their_tags))}, "
            f"only pydicom {sorted(map(hex, their_tags - our_tags))}"
        )
    for tag in sorted(our_tags & their_tags):
        problems += _compare_element(ours[tag], theirs, f"{where}{ours[tag].tag}")
    return problems


FILES = [p for p in pydicom_files() if p.name not in TRUNCATED]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_same_elements_as_pydicom(path: Path) -> None:
    theirs, forced = _pydicom_read(path)
    ours = _ours(path, forced)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's complaints about values it decodes
        problems = _compare(ours, theirs, "")
        if theirs.file_meta:
            problems += _compare(ours.meta, theirs.file_meta, "meta")
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize(
    "path", [p for p in project_files() if p.name not in REFUSED], ids=lambda p: p.name
)
def test_testdata_same_as_pydicom(path: Path) -> None:
    theirs, forced = _pydicom_read(path)
    ours = _ours(path, forced)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not _compare(ours, theirs, "")


@pytest.mark.parametrize("name", TRUNCATED)
def test_truncated_files_are_refused(name: str) -> None:
    path = next(p for p in pydicom_files() if p.name == name)
    with pytest.raises(dcf.InvalidDicomError, match="exceeds") as info:
        dcf.read(path, force=True)
    assert info.value.tag is not None
    assert info.value.offset is not None
