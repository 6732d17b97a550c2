"""A third-party plugin distribution, built on the fly, is found through its entry point.

The distribution is real as far as Python packaging goes: a package and a
``.dist-info`` folder with METADATA and entry_points.txt on ``sys.path``, the
same thing ``pip install`` leaves behind. It registers a codec for a private
transfer syntax and a preferred alternate JPEG 2000 decoder.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.frame_info import FrameInfo
from dicomframe.plugins import CodecManager
from dicomframe.testing import check_codec

PLUGIN_SOURCE = '''
"""Example third-party codecs for dicomframe."""
import zlib

import numpy as np

from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.plugins import Capabilities, Codec, hookimpl
from dicomframe.plugins.helpers import encapsulated_frame, interleaved, native_frame, sign_extend

PRIVATE = TransferSyntax("1.2.826.0.1.3680043.10.1234.7", "AcmeZlibFrames", is_encapsulated=True)
CALLS = []


def decode(frame, /, **options):
    data = np.frombuffer(zlib.decompress(bytes(frame.data)), dtype=frame.info.dtype).copy()
    values = sign_extend(data, frame.info.bits_stored)  # bits above Bits Stored mean nothing
    return native_frame(values, frame.info, frame.info.photometric_interpretation)


def encode(frame, syntax, /, **options):
    data = zlib.compress(interleaved(frame).tobytes())  # colour-by-pixel, as decoded
    return encapsulated_frame(data, frame, syntax, frame.info.photometric_interpretation)


def j2k_decode(frame, /, **options):
    CALLS.append(frame.index)
    raise ValueError("acme-j2k only counts calls in this test")


# Colour by pixel, every pixel its own samples: not the subsampled YBR_FULL_422 layout.
CAPS = Capabilities(
    bits_allocated=frozenset({8, 16}),
    photometric=frozenset({"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL"}),
)
ACME = Codec(
    name="acme-zlib",
    transfer_syntaxes=frozenset({PRIVATE.uid}),
    decode=decode,
    encode=encode,
    decode_caps=CAPS,
    encode_caps=CAPS,
    modules=("zlib",),
)
ACME_J2K = Codec(
    name="acme-j2k",
    transfer_syntaxes=frozenset({"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}),
    decode=j2k_decode,
    priority=100,
)


@hookimpl
def dicomframe_codecs():
    return [ACME, ACME_J2K]


@hookimpl
def dicomframe_transfer_syntaxes():
    return [PRIVATE]
'''


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    package = tmp_path / "acme_dicom_codecs"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN_SOURCE))
    info = tmp_path / "acme_dicom_codecs-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-dicom-codecs\nVersion: 1.2.3\n"
    )
    (info / "entry_points.txt").write_text("[dicomframe.codecs]\nacme = acme_dicom_codecs\n")
    (info / "top_level.txt").write_text("acme_dicom_codecs\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    import sys

    sys.modules.pop("acme_dicom_codecs", None)


def test_listing_shows_the_plugin_and_its_version(acme: Path) -> None:
    manager = CodecManager()
    rows = {row.name: row for row in manager.codecs()}
    assert rows["acme-zlib"].plugin == "acme"
    assert rows["acme-zlib"].version == "1.2.3"
    assert rows["acme-zlib"].available
    assert "rle" in rows  # the built-ins come through the same entry-point group
    assert rows["rle"].plugin == "rle"


def test_private_syntax_round_trip_and_files(acme: Path, tmp_path: Path) -> None:
    manager = CodecManager()
    manager.load()
    syntax = dcf.TransferSyntax.resolve("AcmeZlibFrames")
    info = FrameInfo(rows=3, columns=5, bits_allocated=16, bits_stored=16, high_bit=15)
    frame = dcf.NativeFrame(np.arange(15, dtype="<u2"), info)
    encoded = manager.encode(frame, syntax)
    assert encoded.info.transfer_syntax_uid == syntax.uid
    np.testing.assert_array_equal(manager.decode(encoded).data, frame.data)
    import acme_dicom_codecs  # type: ignore[import-not-found]

    check_codec(acme_dicom_codecs.ACME)


def test_preferred_alternate_j2k_decoder_is_tried_first_and_can_be_blocked(acme: Path) -> None:
    import acme_dicom_codecs

    path = next(
        p
        for p in __import__("tests.reference", fromlist=["x"]).pydicom_files()
        if p.name == "MR_small_jp2klossless.dcm"
    )
    frame = dcf.read(path).pixel_data[0]
    assert isinstance(frame, dcf.EncapsulatedFrame)
    manager = CodecManager()
    names = [
        c.name for c in manager.codecs() if "1.2.840.10008.1.2.4.90" in c.codec.transfer_syntaxes
    ]
    assert "acme-j2k" in names
    acme_dicom_codecs.CALLS.clear()
    with pytest.raises(dcf.NoCodecError) as info:
        manager.decode(frame, codec="acme-j2k")
    assert acme_dicom_codecs.CALLS == [0]
    assert info.value.attempts[0].outcome == "failed"
    manager.block("acme")  # by plugin name: every codec of the plugin
    outcomes = {}
    try:
        manager.decode(frame)
    except dcf.NoCodecError as error:
        outcomes = {a.codec: a.outcome for a in error.attempts}
    assert acme_dicom_codecs.CALLS == [0]
    assert outcomes.get("acme-j2k", "blocked") == "blocked"


def test_a_broken_plugin_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[dicomframe.codecs]\nbroken = no_such_module_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    manager = CodecManager()
    names = {row.name for row in manager.codecs()}
    assert "rle" in names
    assert [p.plugin for p in manager.problems] == ["broken"]
    assert "no_such_module_here" in str(manager.problems[0])
