"""Every input in tests/data/crashers/ once let a non-DicomError escape; none may again.

Each ``<hash>.dcm`` comes with a one-line ``<hash>.txt`` saying what escaped
and where when it was found (by ``tools/fuzz.py`` or the fuzz tests). The
inputs run through the same operations as the fuzz tests, read from bytes
and from the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.harness import ROOT, exercise

CRASHERS = ROOT / "tests" / "data" / "crashers"
FILES = sorted(CRASHERS.glob("*.dcm"))


def test_the_corpus_is_there_and_annotated() -> None:
    assert len(FILES) >= 5
    for path in FILES:
        note = path.with_suffix(".txt").read_text().strip()
        assert note.count(" | ") >= 2, path.name  # signature | operation | message


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_crasher_only_raises_dicom_errors(path: Path) -> None:
    """From bytes, and from the file (mapped, values left in it until used)."""
    data = path.read_bytes()
    escapes = exercise(data) + exercise(data, path=path)
    assert escapes == [], [e.describe() for e in escapes]
