"""docs/plugins.md's walkthrough codec: it passes ``mypy --strict``, and keeps the contract it
describes (lossless round trips, the bits above Bits Stored cleared, ``out=`` filled and kept)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from mypy import api

from dicomframe import parallel
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.plugins import CodecManager
from dicomframe.plugins.codec import Threading
from tests.reference import ROOT

Array = np.ndarray[Any, Any]
BLOCK = re.compile(r"```python\n(# acme_codecs/__init__\.py\n.*?)```", re.DOTALL)


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The walkthrough's code, as the package file it says it is."""
    found = BLOCK.findall((ROOT / "docs" / "plugins.md").read_text())
    assert len(found) == 1, "docs/plugins.md has one walkthrough block"
    package = tmp_path_factory.mktemp("walkthrough") / "acme_codecs"
    package.mkdir()
    (package / "__init__.py").write_text(found[0])
    return package / "__init__.py"


@pytest.fixture(scope="module")
def acme(walkthrough: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("acme_codecs", walkthrough)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_walkthrough_passes_mypy_strict(walkthrough: Path) -> None:
    cache = ROOT / ".mypy_cache"  # the project's own: dicomframe's types are checked once
    out, err, status = api.run(
        ["--strict", "--cache-dir", str(cache), "--python-executable", sys.executable,
         str(walkthrough)]
    )  # fmt: skip
    assert status == 0, out + err


def frame(values: Array, info: FrameInfo) -> NativeFrame:
    return NativeFrame(values.reshape(-1), info.replace(transfer_syntax_uid="1.2.840.10008.1.2.1"))


def test_the_walkthrough_codec_round_trips_and_clears_unused_bits(acme: ModuleType) -> None:
    info = FrameInfo(rows=4, columns=6, bits_allocated=16, bits_stored=12, high_bit=11)
    dirty = np.arange(24, dtype="<u2") | 0xF000  # bits above Bits Stored set
    encoded = acme.ACME.encode(frame(dirty, info), acme.ACME_SYNTAX)
    assert encoded.info.transfer_syntax_uid == acme.ACME_SYNTAX.uid
    decoded = acme.ACME.decode(encoded)
    assert decoded.data.tolist() == list(range(24))


def test_the_walkthrough_codec_decodes_into_out(acme: ModuleType, manager: CodecManager) -> None:
    info = FrameInfo(rows=4, columns=6, bits_allocated=16, bits_stored=16, high_bit=15)
    values = np.arange(3 * 24, dtype="<u2").reshape(3, 4, 6)
    frames = [acme.ACME.encode(frame(v, info), acme.ACME_SYNTAX) for v in values]
    out = np.zeros(24, "<u2")
    native = acme.ACME.decode(frames[1], out=out)
    assert np.shares_memory(native.data, out)
    np.testing.assert_array_equal(out, values[1].reshape(-1))
    manager.register(acme, "acme")
    report = parallel.ParallelReport()
    encapsulated = [EncapsulatedFrame(f.fragments, f.info, index=i) for i, f in enumerate(frames)]
    many = parallel.decode_frames(encapsulated, codecs=manager, workers=2, report=report)
    np.testing.assert_array_equal(many, values)
    assert acme.ACME.threading is Threading.RELEASES_GIL
    assert (report.codec, report.mode) == ("acme-zlib", "threads")
