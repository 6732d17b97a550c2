"""``dicomframe extract --overlays``: the saved images carry the overlays, as DCMTK draws them.

Without the option the image is the plain frame; with it, exactly the pixels
under the overlay's bits change, to white, and the PNG equals what DCMTK's
dcm2pnm writes with the same window (a file of flat pixels, so no rounding
differs). ``--raw --overlays`` puts the end of the stored range under the bits.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.cli import main
from tests.overlay_data import Overlay, make_file, random_planes
from tests.reference import pydicom_data_file, require_tool

pytest.importorskip("PIL")
from PIL import Image

Array = np.ndarray[Any, Any]


def _extract(capsys: pytest.CaptureFixture[str], *arguments: Any) -> list[Path]:
    assert main(["extract", *(str(a) for a in arguments)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return [Path(line) for line in out.splitlines()]


def _pixels(path: Path) -> Array:
    with Image.open(path) as image:
        return np.asarray(image).copy()


def test_real_file_overlay_is_burnt_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = pydicom_data_file("MR-SIEMENS-DICOM-WithOverlays.dcm")
    window = ("--window", "600", "1200")
    plain = _pixels(_extract(capsys, source, tmp_path / "plain.png", *window)[0])
    burnt = _pixels(_extract(capsys, source, tmp_path / "burnt.png", *window, "--overlays")[0])
    overlay = dcf.read(source).overlay_array(0x6000).astype(bool)
    np.testing.assert_array_equal(plain != burnt, overlay & (plain != 255))
    assert (burnt[overlay] == 255).all()
    assert overlay.sum() > 100


def test_every_frame_gets_its_own_plane_as_dcmtk_draws_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = Overlay(0x6000, random_planes(11, 2, 7, 9), frame_origin=2)
    source = make_file(
        tmp_path / "m.dcm", pixels=np.full((3, 7, 9), 100, np.uint16), overlays=[overlay]
    )
    written = _extract(
        capsys, source, tmp_path / "f.png", "--all", "--window", "2048", "4096", "--overlays"
    )
    assert len(written) == 3
    tool = require_tool("dcm2pnm")
    for number, path in enumerate(written, start=1):
        theirs = tmp_path / f"dcmtk_{number}.pgm"
        command = [tool, "+Ww", "2048", "4096", "+F", str(number), str(source), str(theirs)]
        subprocess.run(command, check=True, capture_output=True)
        ours = _pixels(path)
        np.testing.assert_array_equal(ours, _pixels(theirs))
        expected = overlay.planes[number - 2] if number > 1 else np.zeros((7, 9), np.uint8)
        np.testing.assert_array_equal(ours == 255, expected.astype(bool))


def test_raw_overlays_take_the_top_of_bits_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planes = random_planes(12, 1, 5, 6)
    source = make_file(
        tmp_path / "r.dcm",
        pixels=np.full((1, 5, 6), 300, np.uint16),
        overlays=[Overlay(0x6000, planes)],
    )
    out = _extract(capsys, source, tmp_path / "r.png", "--raw", "--overlays")[0]
    values = _pixels(out)
    assert values.dtype == np.uint16
    np.testing.assert_array_equal(values, np.where(planes[0] == 1, 4095, 300))


def test_help_lists_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["extract", "--help"])
    assert "--overlays" in capsys.readouterr().out
