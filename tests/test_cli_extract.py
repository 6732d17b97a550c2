"""``dicomframe extract``: formats by extension, frame choice, VOI, raw values, errors."""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image

import dicomframe as dcf
import dicomframe.extract
from dicomframe.cli import main
from tests.reference import TESTDATA

CT = TESTDATA / "ct_explicit_le.dcm"  # signed 16-bit, rescale 1.25 / -1024, two windows
MR = TESTDATA / "mr_multiframe_uint16.dcm"  # 5 frames, 12 of 16 bits, no window
Array = np.ndarray[Any, Any]


def pydicom_file(name: str) -> Path:
    path = pydicom.data.get_testdata_file(name)
    assert isinstance(path, str)
    return Path(path)


def extract(capsys: pytest.CaptureFixture[str], *arguments: Any) -> list[Path]:
    """Run ``dicomframe extract``; return the files it says it wrote."""
    assert main(["extract", *(str(a) for a in arguments)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return [Path(line) for line in out.splitlines()]


def one_line_error(capsys: pytest.CaptureFixture[str], *arguments: Any) -> str:
    assert main(["extract", *(str(a) for a in arguments)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("dicomframe extract: error: ")
    return err


def linear_window(values: Array, center: float, width: float) -> Array:
    """PS3.3 C.11.2.1.2.1, written out here as the oracle, to 8 bits."""
    x = values.astype(np.float64)
    y = ((x - (center - 0.5)) / (width - 1) + 0.5) * 255
    y = np.where(x <= center - 0.5 - (width - 1) / 2, 0, y)
    y = np.where(x > center - 0.5 + (width - 1) / 2, 255, y)
    return np.asarray(np.clip(np.rint(y), 0, 255), dtype=np.uint8)


def modality(path: Path, frame: int = 0) -> Array:
    ds = dcf.read(path)
    slope, intercept = float(ds.get("RescaleSlope") or 1), float(ds.get("RescaleIntercept") or 0)
    return np.asarray(ds.pixel_array[frame] * slope + intercept)


@pytest.mark.parametrize(
    ("suffix", "format_"), [(".png", "PNG"), (".tif", "TIFF"), (".jpg", "JPEG")]
)
def test_format_follows_the_extension(
    suffix: str, format_: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"ct{suffix}"
    assert extract(capsys, CT, out) == [out]
    with Image.open(out) as image:
        assert image.format == format_
        assert image.mode == "L"
        assert image.size == (64, 64)
        rendered = np.asarray(image)
    expected = linear_window(modality(CT), 40, 400)  # the dataset's first window
    error = rendered.astype(float) - expected.astype(float)
    if format_ == "JPEG":  # lossy, quality 95: a PSNR floor on this high-contrast image
        assert 10 * np.log10(255**2 / np.mean(error**2)) > 30
    else:
        assert np.abs(error).max() <= 1


def test_colour(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rgb.png"
    extract(capsys, TESTDATA / "rgb_planar1.dcm", out)
    with Image.open(out) as image:
        assert image.mode == "RGB"
        np.testing.assert_array_equal(
            np.asarray(image), dcf.read(TESTDATA / "rgb_planar0.dcm").pixel_array[0]
        )


def test_palette_is_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "palette.png"
    extract(capsys, pydicom_file("examples_palette.dcm"), out)
    with Image.open(out) as image:
        assert image.mode == "RGB"
        assert image.size == (800, 350)


def test_frame(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = []
    for frame in (0, 3, -1):
        out = tmp_path / f"frame{frame}.png"
        extract(capsys, MR, out, "--frame", frame, "--window", 2048, 4096)
        with Image.open(out) as image:
            images.append(np.asarray(image))
    expected = [linear_window(modality(MR, f), 2048, 4096) for f in (0, 3, 4)]
    for got, want in zip(images, expected, strict=True):
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert not np.array_equal(images[0], images[1])


def test_all_to_numbered_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written = extract(capsys, MR, tmp_path / "mr.png", "--all", "--raw")
    assert written == [tmp_path / f"mr_{i}.png" for i in range(5)]
    source = dcf.read(MR).pixel_array
    for index, path in enumerate(written):
        with Image.open(path) as image:
            np.testing.assert_array_equal(np.asarray(image), source[index])


def test_all_to_a_multi_page_tiff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mr.tif"
    assert extract(capsys, MR, out, "--all", "--raw") == [out]
    source = dcf.read(MR).pixel_array
    with Image.open(out) as image:
        assert getattr(image, "n_frames", 1) == 5
        for index in range(5):
            image.seek(index)
            np.testing.assert_array_equal(np.asarray(image), source[index])


def test_voi_chooses_the_datasets_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    by_voi, by_window = tmp_path / "voi.png", tmp_path / "window.png"
    extract(capsys, CT, by_voi, "--voi", 1)
    extract(capsys, CT, by_window, "--window", 400, 1500)  # the second pair in the dataset
    with Image.open(by_voi) as a, Image.open(by_window) as b:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        expected = linear_window(modality(CT), 400, 1500)
        assert np.abs(np.asarray(a).astype(int) - expected.astype(int)).max() <= 1


def test_raw_16_bit_png_keeps_the_stored_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "raw.png"
    extract(capsys, MR, out, "--raw", "--frame", 2)
    with Image.open(out) as image:
        assert image.mode == "I;16"
        values = np.asarray(image)
    np.testing.assert_array_equal(values, dcf.read(MR).pixel_array[2])
    assert values.max() > 255  # really 16-bit


def test_raw_signed_values_go_to_tiff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line_error(capsys, CT, tmp_path / "raw.png", "--raw")
    assert ".tif" in err  # what to do instead
    out = tmp_path / "raw.tif"
    extract(capsys, CT, out, "--raw")
    with Image.open(out) as image:
        np.testing.assert_array_equal(np.asarray(image), dcf.read(CT).pixel_array[0])


def test_raw_palette_keeps_the_indices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = pydicom_file("examples_palette.dcm")
    out = tmp_path / "indices.png"
    extract(capsys, path, out, "--raw")
    with Image.open(out) as image:
        np.testing.assert_array_equal(np.asarray(image), dcf.read(path).pixel_array[0])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((MR, "out.png", "--frame", 5), "--frame 5"),
        ((MR, "out.bmp"), "unknown image type '.bmp'"),
        ((MR, "out.jpg", "--raw"), "JPEG cannot hold 16-bit"),
        ((TESTDATA / "float_pixels.dcm", "out.png", "--raw"), "PNG cannot hold floating point"),
        ((CT, "out.png", "--voi", 7), "voi=7"),
        ((TESTDATA / "missing.dcm", "out.png"), "missing.dcm"),
        ((TESTDATA / "README.md", "out.png"), "DICM"),
        ((TESTDATA / "rgb_planar0.dcm", "out.png", "--window", 1, 2), "MONOCHROME"),
    ],
    ids=[
        "frame",
        "suffix",
        "jpeg-raw",
        "float-png",
        "voi",
        "missing",
        "not-dicom",
        "colour-window",
    ],
)
def test_errors_are_one_line(
    arguments: tuple[Any, ...], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [tmp_path / a if a in ("out.png", "out.bmp", "out.jpg") else a for a in arguments]
    assert message in one_line_error(capsys, *args)
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--frame 9"):
        main(["extract", str(MR), str(tmp_path / "o.png"), "--frame", "9", "--debug"])


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["extract", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for option in ("--frame", "--all", "--window", "--voi", "--raw"):
        assert option in out


def test_a_symlink_is_replaced_not_written_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim, link = tmp_path / "victim.png", tmp_path / "ct.png"
    victim.write_bytes(b"somebody else's file")
    link.symlink_to(victim)
    assert extract(capsys, CT, link) == [link]
    assert not link.is_symlink()
    assert victim.read_bytes() == b"somebody else's file"
    with Image.open(link) as image:
        assert image.format == "PNG"


@pytest.mark.parametrize("arguments", [[], ["--all", "--raw"]], ids=["one", "tiff-pages"])
def test_a_full_disk_leaves_the_old_file(
    arguments: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "mr.tif"
    out.write_bytes(b"the previous image")
    save = Image.Image.save

    def fills_the_disk(self: Image.Image, fp: Any, *args: Any, **kwargs: Any) -> None:
        save(self, fp, *args, **kwargs)  # some bytes reach the file, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", fills_the_disk)
    err = one_line_error(capsys, MR, out, *arguments)
    assert "No space left on device" in err
    assert out.read_bytes() == b"the previous image"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mr.tif"]  # no temporary file


def test_each_output_is_synced_before_it_is_renamed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    fsync = os.fsync

    def recording(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))  # the file's name, on Linux
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    written = extract(capsys, MR, tmp_path / "mr.png", "--all", "--raw")
    assert len(synced) == len(written) == 5
    for path, name in zip(written, synced, strict=True):  # the temporary file next to each
        assert Path(name).parent == tmp_path
        assert Path(name).name.startswith(f".{path.name}.")


@pytest.mark.parametrize("out", ["mr.png", "mr.tif"], ids=["numbered", "tiff-pages"])
def test_frames_are_rendered_one_at_a_time(
    out: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    alive: list[int] = []  # how many rendered frames were still in memory at each render
    rendered: list[weakref.ref[Image.Image]] = []
    render = dicomframe.extract._render

    def counting(*args: Any, **kwargs: Any) -> Image.Image:
        gc.collect()
        alive.append(sum(ref() is not None for ref in rendered))
        image = render(*args, **kwargs)
        rendered.append(weakref.ref(image))
        return image

    monkeypatch.setattr(dicomframe.extract, "_render", counting)
    extract(capsys, MR, tmp_path / out, "--all", "--raw")
    assert len(alive) == 5
    assert max(alive) <= 1  # the one just written, at most: never all five
