"""dicomframe.batch: converting a tree of files on workers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from dicomframe.batch import run
from tests.reference import TESTDATA


def _recording(log: Path) -> Any:
    """A transcode_file that records the options each file was given, one JSON line each."""
    from dicomframe import streaming

    real = streaming.transcode_file

    def record(src: Any, dst: Any, syntax: Any, **options: Any) -> None:
        with log.open("a") as handle:
            handle.write(json.dumps({"pid": os.getpid(), "workers": options.get("workers")}) + "\n")
        real(src, dst, syntax, **options)

    return record


@pytest.mark.parametrize(("workers", "expected"), [(2, 1), (1, None)])
def test_files_in_parallel_convert_their_frames_in_their_own_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int, expected: int | None
) -> None:
    """Files on N workers must not each fork N more for their frames (N x N on N cores)."""
    from dicomframe import streaming

    tree = tmp_path / "in"
    tree.mkdir()
    for name in ("rle_multiframe.dcm", "mr_multiframe_uint16.dcm", "ct_explicit_le.dcm"):
        shutil.copy(TESTDATA / name, tree / name)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setattr(streaming, "transcode_file", _recording(log))  # workers fork after this
    result = run(tree, tmp_path / "out", "1.2.840.10008.1.2.1", workers=workers)
    assert result.converted == 3, result.failed
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["workers"] for c in calls] == [expected] * 3
    assert (len({c["pid"] for c in calls}) > 1) is (workers > 1 and result.workers > 1)
