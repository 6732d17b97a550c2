"""Every example in docs/examples runs, and does what it says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import dicomframe as dcf
from tests.reference import ROOT, TESTDATA

EXAMPLES = ROOT / "docs" / "examples"


def run(*args: str | Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_dicom_to_png(tmp_path: Path) -> None:
    out = tmp_path / "ct.png"
    run(EXAMPLES / "dicom_to_png.py", TESTDATA / "ct_explicit_le.dcm", out)
    image = Image.open(out)
    assert image.mode == "L"
    assert image.size == (64, 64)
    assert len(np.unique(np.asarray(image))) > 10  # a picture, not a blank
    raw = tmp_path / "ct16.png"
    run(EXAMPLES / "dicom_to_png.py", TESTDATA / "mr_multiframe_uint16.dcm", raw, "--raw")
    values = np.asarray(Image.open(raw))
    np.testing.assert_array_equal(
        values, dcf.read(TESTDATA / "mr_multiframe_uint16.dcm").pixel_array[0]
    )


def test_edit_and_write(tmp_path: Path) -> None:
    out = tmp_path / "edited.dcm"
    printed = run(EXAMPLES / "edit_and_write.py", TESTDATA / "ct_explicit_le.dcm", out)
    assert "read back exactly" in printed
    ds = dcf.read(out)
    assert ds.transfer_syntax is not None
    assert ds.transfer_syntax.keyword == "JPEG2000Lossless"
    array = ds.pixel_array[0]
    original = dcf.read(TESTDATA / "ct_explicit_le.dcm").pixel_array[0]
    assert array[0, 0] == array[20, 20] == array[20, 43] == 32767  # the cross
    assert not array[4:12, 4:12].any()  # the square
    untouched = np.ones(array.shape, bool)
    untouched[4:12, 4:12] = False
    np.fill_diagonal(untouched, False)
    np.fill_diagonal(np.fliplr(untouched), False)
    np.testing.assert_array_equal(array[untouched], original[untouched])


# The example plugins: each is built as a user would install it, then its own tests run
# (each calls dicomframe.testing.check_codec), and mypy --strict checks its code and tests.
PLUGINS = {
    "my_codec_plugin": ("dicomframe_zlib_codec", 3),
    "delta_lzma_plugin": ("dicomframe_delta_lzma", 5),
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both example plugins built and installed into one directory, as pip installs them.

    Each is built from a copy: setuptools writes build/ and .egg-info/ beside the sources,
    and two test runs building in the same tree at once would trip over each other.
    """
    sources = tmp_path_factory.mktemp("sources")
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    packages = [shutil.copytree(EXAMPLES / name, sources / name, ignore=ignore) for name in PLUGINS]
    target = tmp_path_factory.mktemp("site")
    pip = ("-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation")
    run(*pip, "--target", target, *packages)
    return target


@pytest.mark.parametrize("name", PLUGINS)
def test_plugin_package_installs_and_passes_its_own_tests(installed: Path, name: str) -> None:
    module, tests = PLUGINS[name]
    assert (installed / module / "__init__.py").is_file()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(installed), os.environ.get("PYTHONPATH", "")]),
    }
    out = run("-m", "pytest", "-q", "-p", "no:cacheprovider", EXAMPLES / name / "tests", env=env)
    assert f"{tests} passed" in out


@pytest.mark.parametrize("name", PLUGINS)
def test_plugin_passes_mypy_strict(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.getbasetemp() / "mypy-cache"  # shared: dicomframe is checked once
    package = EXAMPLES / name
    env = {**os.environ, "MYPYPATH": str(package / "src")}
    mypy = ("-m", "mypy", "--strict", "--cache-dir", cache)
    out = run(*mypy, package / "src", package / "tests", env=env)
    assert "Success: no issues found" in out
