"""dicomframe's codecs as pydicom 3's plugin "dicomframe", judged against pydicom's own plugins.

For every compressed pydicom test file whose syntax the plugin is registered
for: pydicom's ``pixel_array`` with ``decoding_plugin="dicomframe"`` equals
dicomframe's own ``pixel_array`` and, where pydicom has a plugin of its own
that decodes the file, that plugin's; the registry's decode is counted, so a
pass cannot come from another plugin. Encoding through pydicom with
``encoding_plugin="dicomframe"`` gives data that pydicom's plugins and
dicomframe decode to the original pixels (lossless syntaxes, bit for bit).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.plugins import CodecManager
from tests.reference import pydicom_files

pydicom = pytest.importorskip("pydicom")
from dicomframe.interop.pydicom import (  # noqa: E402
    PLUGIN,
    from_pydicom,
    register_pydicom_plugins,
)

# The registry pydicom decodes with: dicomframe's default codecs, each decode counted.
REGISTRY = CodecManager()
DECODES, ENCODES = register_pydicom_plugins(REGISTRY)


def _syntax(path: Path) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception:
            return None
    meta = getattr(ds, "file_meta", None)
    return str(meta.get("TransferSyntaxUID", "")) if meta else None


def _has_pixels(path: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return "PixelData" in pydicom.dcmread(path)


# pydicom splits this file's frame at the Sequence Delimitation Item embedded in its
# codestream, so any plugin, its own too, gets a broken stream (dcf.read reads it whole).
POINTLESS = {"JPEG2000-embedded-sequence-delimiter.dcm"}
COMPRESSED = [
    p
    for p in pydicom_files()
    if _syntax(p) in DECODES and p.name not in POINTLESS and _has_pixels(p)
]


@pytest.fixture(autouse=True)
def _registered() -> None:
    """The plugin uses REGISTRY in every test, whatever registered it last (docs do too)."""
    register_pydicom_plugins(REGISTRY)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The syntaxes of the frames the registry decodes while a test runs."""
    seen: list[str] = []
    decode = REGISTRY.decode

    def counting(frame: Any, /, **options: Any) -> Any:
        seen.append(frame.info.transfer_syntax_uid)
        return decode(frame, **options)

    monkeypatch.setattr(REGISTRY, "decode", counting)
    return seen


def _pixels(pds: Any, plugin: str) -> Any:
    pds.pixel_array_options(decoding_plugin=plugin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pds.convert_pixel_data() or pds.pixel_array


def test_registered_for_every_syntax_pydicom_and_the_registry_share() -> None:
    from pydicom.pixels.decoders.base import get_decoder
    from pydicom.pixels.encoders.base import get_encoder

    expected = {"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.90"}
    assert expected <= set(DECODES)
    assert {"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90"} <= set(
        ENCODES
    )
    for uid in DECODES:
        assert PLUGIN in get_decoder(uid).available_plugins
    for uid in ENCODES:
        assert PLUGIN in get_encoder(uid).available_plugins
    assert register_pydicom_plugins(REGISTRY) == (DECODES, ENCODES)  # again: no change


@pytest.mark.parametrize("path", COMPRESSED, ids=lambda p: p.name)
def test_decoding_plugin_matches_dicomframe_and_pydicom(path: Path, decodes: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = dcf.read(path).pixel_array
        theirs = pydicom.dcmread(path)
    number_of_frames = int(theirs.get("NumberOfFrames", 1) or 1)
    through_plugin = _pixels(theirs, PLUGIN)
    assert decodes == [_syntax(path)] * number_of_frames  # dicomframe's codecs did the work
    np.testing.assert_array_equal(through_plugin, ours.reshape(through_plugin.shape))
    syntax = str(_syntax(path))
    others = list(pydicom.pixels.decoders.base.get_decoder(syntax).available_plugins)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = pydicom.dcmread(path)
    for plugin in others:
        if plugin == PLUGIN:
            continue
        try:
            expected = _pixels(own, plugin)
        except Exception:  # a pydicom plugin that cannot decode this file: nothing to compare
            continue
        if syntax in _LOSSY and not np.array_equal(through_plugin, expected):
            # lossy JPEG decoders may differ by a step (libjpeg versions); bound it
            diff = np.abs(through_plugin.astype(np.int64) - expected.astype(np.int64))
            assert diff.max() <= _LOSSY[syntax], plugin
        else:
            np.testing.assert_array_equal(through_plugin, expected, err_msg=plugin)


# Lossy JPEG: IDCT and YCbCr -> RGB rounding differ between libjpeg builds by a few steps.
_LOSSY = {"1.2.840.10008.1.2.4.50": 3, "1.2.840.10008.1.2.4.51": 3}


ENCODING_CASES = [
    (name, uid)
    for name in ("CT_small.dcm", "MR_small.dcm", "SC_rgb_small_odd.dcm", "examples_rgb_color.dcm")
    for uid in ("1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90")
]


@pytest.mark.parametrize(("name", "uid"), ENCODING_CASES)
def test_encoding_plugin_is_lossless(name: str, uid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = next(p for p in pydicom_files() if p.name == name)
    encodes: list[str] = []
    encode = REGISTRY.encode

    def counting(frame: Any, syntax: Any, /, **options: Any) -> Any:
        encodes.append(syntax.uid)
        return encode(frame, syntax, **options)

    monkeypatch.setattr(REGISTRY, "encode", counting)
    original = pydicom.dcmread(path)
    expected = original.pixel_array
    original.compress(uid, encoding_plugin=PLUGIN)
    assert encodes == [uid] * int(original.get("NumberOfFrames", 1) or 1)
    assert str(original.file_meta.TransferSyntaxUID) == uid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_pydicom = _pixels(original, "")
    np.testing.assert_array_equal(by_pydicom, expected)
    ours = from_pydicom(original)
    np.testing.assert_array_equal(ours.pixel_array.reshape(expected.shape), expected)
