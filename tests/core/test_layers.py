"""The core knows no codec: it is handed a registry, or uses the one the package's face wires in."""

from __future__ import annotations

import ast
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs import rle
from dicomframe.core import codecs as core_codecs
from dicomframe.plugins import CodecManager
from tests.reference import ROOT, TESTDATA

CORE = ROOT / "src" / "dicomframe" / "core"
ABOVE = ("dicomframe.plugins", "dicomframe.codecs", "dicomframe.parallel", "dicomframe.executors")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function, TYPE_CHECKING included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_imports_nothing_above_it(path: Path) -> None:
    upward = sorted(m for m in imported_modules(path) if m.startswith(ABOVE))
    assert upward == []


# The object model below the dataset: these read a dataset through a protocol they define.
BELOW_DATASET = ["element.py", "dump.py", "frame_info.py", "implicit_vr.py", "skipping.py"]


@pytest.mark.parametrize("name", BELOW_DATASET)
def test_the_object_model_below_the_dataset_does_not_import_it(name: str) -> None:
    assert "dicomframe.core.dataset" not in imported_modules(CORE / name)


class Counting(CodecManager):
    """A registry that counts the frames it decoded."""

    def __init__(self) -> None:
        super().__init__(entry_points=False)
        self.register(rle, "rle")
        self.decoded = 0

    def decode_with(self, frame: Any, /, **options: Any) -> Any:
        self.decoded += 1
        return super().decode_with(frame, **options)


RLE_FILE = TESTDATA / "rle_multiframe.dcm"


def test_a_dataset_decodes_with_the_registry_it_was_read_with() -> None:
    counting = Counting()
    ds = dcf.read(RLE_FILE, codecs=counting)
    assert ds.codecs is counting
    frame = ds.pixel_data[1]
    assert isinstance(frame, dcf.EncapsulatedFrame)
    assert frame.codecs is counting
    expected = dcf.read(RLE_FILE).pixel_array[1]
    np.testing.assert_array_equal(frame.decode().array, expected)
    assert counting.decoded == 1
    ds.pixel_array  # noqa: B018 - every frame, through the many-frame decoder
    assert counting.decoded > 1


def test_encoding_uses_the_dataset_registry() -> None:
    counting = Counting()
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm", codecs=counting)
    ds.set_pixel_data(ds.pixel_array, "RLELossless")
    out = io.BytesIO()
    dcf.write(ds, out)
    back = dcf.read(out.getvalue(), codecs=counting)
    np.testing.assert_array_equal(
        back.pixel_array, dcf.read(TESTDATA / "ct_explicit_le.dcm").pixel_array
    )
    assert counting.decoded >= 1


def test_a_frame_keeps_to_its_dataset_limits() -> None:
    ds = dcf.read(RLE_FILE, limits=dcf.Limits(max_frame_bytes=64))
    with pytest.raises(dcf.LimitError, match="max_frame_bytes"):
        ds.pixel_data[0].decode()
    with pytest.raises(dcf.LimitError):  # pixel data that outlives its dataset keeps them too
        dcf.read(RLE_FILE, limits=dcf.Limits(max_frame_bytes=64)).pixel_data[0].decode()
    big_enough = dcf.Limits(max_frame_bytes=1 << 20)
    assert ds.pixel_data[0].decode(limits=big_enough).data.size > 0


def test_without_the_face_the_core_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core_codecs, "_runtime", core_codecs._Runtime())
    with pytest.raises(dcf.DicomError, match="no codec registry installed"):
        dcf.read(RLE_FILE).pixel_data[0].decode()
    with pytest.raises(dcf.DicomError, match="no many-frame decoder"):
        dcf.read(RLE_FILE).pixel_array  # noqa: B018
    np.testing.assert_array_equal(  # a registry given still works
        dcf.read(RLE_FILE, codecs=Counting()).pixel_data[0].decode().array.shape, (32, 48)
    )
