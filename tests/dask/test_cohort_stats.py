"""docs/examples/cohort_stats.py runs on a LocalCluster and gives pydicom's statistics."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.reference import ROOT, TESTDATA, pydicom_data_file, pydicom_files

EXAMPLE = ROOT / "docs" / "examples" / "cohort_stats.py"


def cohort(folder: Path) -> list[Path]:
    """A cohort of several series, single- and multi-frame, native and compressed."""
    mine = {p.name: p for p in pydicom_files()}
    chosen = [
        *(mine[n] for n in ("MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm")),
        mine["CT_small.dcm"],
        *(pydicom_data_file(n) for n in ("emri_small.dcm", "emri_small_jpeg_ls_lossless.dcm")),
        TESTDATA / "rle_multiframe.dcm",
    ]
    copies = []
    for number, path in enumerate(chosen):
        (folder / str(number)).mkdir(parents=True)
        copies.append(Path(shutil.copy(path, folder / str(number) / path.name)))
    (folder / "notes.txt").write_text("not DICOM")
    return copies


def pydicom_stats(paths: list[Path]) -> dict[str, dict[str, Any]]:
    pydicom = pytest.importorskip("pydicom")
    from pydicom.pixels.processing import apply_modality_lut

    values: dict[str, list[np.ndarray[Any, Any]]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(list)
    for path in paths:
        ds = pydicom.dcmread(path)
        modality = np.asarray(apply_modality_lut(ds.pixel_array, ds), dtype=np.float64)
        values[ds.SeriesInstanceUID].append(modality.reshape(-1))
        counts[ds.SeriesInstanceUID].append(int(ds.get("NumberOfFrames") or 1))
    stats = {}
    for uid, parts in values.items():
        v = np.concatenate(parts)
        stats[uid] = {"mean": v.mean(), "std": v.std(), "min": v.min(), "max": v.max()}
        stats[uid] |= {"files": len(counts[uid]), "frames": sum(counts[uid])}
    return stats


def test_cohort_stats_on_a_local_cluster(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    paths = cohort(tmp_path / "cohort")
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path / "cohort"), "--workers", "2", "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "notes.txt" in result.stderr  # skipped, said so
    rows = {row["series"]: row for row in map(json.loads, result.stdout.splitlines())}
    expected = pydicom_stats(paths)
    assert set(rows) == set(expected)
    for uid, stats in expected.items():
        row = rows[uid]
        assert (row["files"], row["frames"]) == (stats["files"], stats["frames"])
        for key in ("mean", "std", "min", "max"):
            assert row[key] == pytest.approx(stats[key], rel=1e-9, abs=1e-9), (uid, key)
