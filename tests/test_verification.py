"""Choosing codecs for a transcode, and verification by another decoder than the encoder's.

``mirror`` is an RLE codec whose encoder and decoder share one mistake (the
bytes of each value swapped): it always agrees with itself, so only another
decoder can catch it. Every codec here is registered on a fresh manager.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs.rle import RLE
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import TransferSyntax
from dicomframe.core.uids import generate_uid
from dicomframe.errors import DecodeError
from dicomframe.plugins import Codec, CodecManager
from tests.plugins.fakes import Plugin
from tests.reference import TESTDATA


def swapped(frame: NativeFrame) -> NativeFrame:
    return NativeFrame(frame.data.byteswap(), frame.info)


def _mirror_encode(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    assert RLE.encode is not None
    return RLE.encode(swapped(frame), syntax)


def _mirror_decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    assert RLE.decode is not None
    return swapped(RLE.decode(frame))


def _picky_decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    raise DecodeError("picky: this stream breaks PS3.5 G.3", codec="picky")


def counted(name: str, codec: Codec, calls: list[tuple[str, str]]) -> Codec:
    """``codec`` under another name, recording each call in ``calls``."""
    decode, encode = codec.decode, codec.encode
    assert decode is not None
    assert encode is not None

    def counting_decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
        calls.append((name, "decode"))
        return decode(frame, **options)

    def counting_encode(
        frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
    ) -> EncapsulatedFrame:
        calls.append((name, "encode"))
        return encode(frame, syntax, **options)

    return dataclasses.replace(codec, name=name, decode=counting_decode, encode=counting_encode)


MIRROR = dataclasses.replace(RLE, name="mirror", encode=_mirror_encode, decode=_mirror_decode)
PICKY = dataclasses.replace(RLE, name="picky", encode=None, decode=_picky_decode, priority=-1)


@pytest.fixture
def calls() -> list[tuple[str, str]]:
    """The codec calls a test's counted codecs make, in order."""
    return []


def source() -> dcf.Dataset:
    ds = dcf.Dataset()
    ds.set("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7")
    ds.set("SOPInstanceUID", generate_uid())
    ds.set_pixel_data(np.arange(2 * 16 * 16, dtype=np.uint16).reshape(2, 16, 16) * 37)
    return ds


def saved(ds: dcf.Dataset, tmp_path: Path) -> Path:
    path = tmp_path / "source.dcm"
    dcf.write(ds, path)
    return path


def verified_by(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().rsplit(" ", 1)[-1] for r in caplog.records if "verified" in r.msg]


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="dicomframe.transcoding")
    return caplog


def test_another_decoder_catches_a_codec_that_agrees_with_itself(
    manager: CodecManager, tmp_path: Path
) -> None:
    manager.register(Plugin(RLE, dataclasses.replace(MIRROR, priority=50)))
    expected = "does not decode to the source pixels: encoded by 'mirror'; decoded by 'rle'"
    with pytest.raises(dcf.EncodingError, match=expected):
        dcf.transcode(source(), "RLELossless", codecs=manager)
    out = tmp_path / "out.dcm"
    with pytest.raises(dcf.EncodingError, match=expected):
        dcf.transcode_file(saved(source(), tmp_path), out, "RLELossless", codecs=manager)
    assert not out.exists()
    # Its own decoder agrees with it: without verification the mistake goes through.
    result = dcf.transcode(source(), "RLELossless", codecs=manager, verify=False)
    mirrored = result.pixel_data[0].decode(codecs=manager, codec="mirror")
    assert np.array_equal(mirrored.array, source().pixel_array[0])


def test_the_encoders_own_decoder_verifies_only_when_no_other_can(
    manager: CodecManager, debug_log: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    manager.register(Plugin(MIRROR))
    dcf.transcode(source(), "RLELossless", codecs=manager)
    dcf.transcode_file(
        saved(source(), tmp_path), tmp_path / "out.dcm", "RLELossless", codecs=manager
    )
    assert verified_by(debug_log) == ["mirror"] * 4  # two frames, twice


def test_a_stream_other_decoders_fail_on_fails_verification(manager: CodecManager) -> None:
    manager.register(Plugin(MIRROR, PICKY))
    with pytest.raises(
        dcf.EncodingError, match=r"cannot be decoded: .*encoded by 'mirror'"
    ) as caught:
        dcf.transcode(source(), "RLELossless", codecs=manager)
    assert isinstance(caught.value.__cause__, dcf.NoCodecError)
    assert [(a.codec, a.outcome) for a in caught.value.__cause__.attempts] == [("picky", "failed")]


@pytest.mark.parametrize(
    ("options", "roles"),
    [
        ({"encoder": "rle-a"}, ("rle-a", "rle-b")),
        ({"encoder": "rle-b"}, ("rle-b", "rle-a")),
        ({"codec": "rle-b"}, ("rle-b", "rle-a")),  # codec= is the encoder, as it always was
        ({}, ("rle-a", "rle-b")),  # the registry's choice: rle-a's priority
    ],
)
def test_the_encoder_is_chosen_and_another_codec_verifies(
    manager: CodecManager,
    debug_log: pytest.LogCaptureFixture,
    tmp_path: Path,
    calls: list[tuple[str, str]],
    options: dict[str, str],
    roles: tuple[str, str],
) -> None:
    encoder, verifier = roles
    manager.register(
        Plugin(
            counted("rle-a", dataclasses.replace(RLE, priority=5), calls),
            counted("rle-b", RLE, calls),
        )
    )
    result = dcf.transcode(source(), "RLELossless", codecs=manager, **options)
    assert calls == [(encoder, "encode"), (verifier, "decode")] * 2  # each right after its encode
    assert verified_by(debug_log) == [verifier, verifier]
    assert np.array_equal(result.pixel_array, source().pixel_array)
    calls.clear()
    dcf.transcode_file(saved(source(), tmp_path), tmp_path / "out.dcm", "RLELossless",
                       codecs=manager, **options)  # fmt: skip
    assert calls == [(encoder, "encode"), (verifier, "decode")] * 2  # frame by frame


@pytest.mark.parametrize("streamed", [False, True])
def test_the_decoder_is_chosen(
    manager: CodecManager, tmp_path: Path, calls: list[tuple[str, str]], streamed: bool
) -> None:
    manager.register(
        Plugin(
            counted("rle-a", dataclasses.replace(RLE, priority=5), calls),
            counted("rle-b", RLE, calls),
        )
    )
    compressed = dcf.transcode(source(), "RLELossless", codecs=manager, verify=False)
    calls.clear()
    if streamed:
        path = saved(compressed, tmp_path)
        dcf.transcode_file(path, tmp_path / "out.dcm", "ExplicitVRLittleEndian",
                           codecs=manager, decoder="rle-b")  # fmt: skip
        result = dcf.read(tmp_path / "out.dcm")
    else:
        result = dcf.transcode(
            compressed, "ExplicitVRLittleEndian", codecs=manager, decoder="rle-b"
        )
    assert calls == [("rle-b", "decode")] * 2
    assert np.array_equal(result.pixel_array, source().pixel_array)


def test_choices_that_cannot_apply_are_refused(manager: CodecManager, tmp_path: Path) -> None:
    manager.register(Plugin(RLE))
    with pytest.raises(ValueError, match="ExplicitVRLittleEndian is native, no codec encodes it"):
        dcf.transcode(source(), "ExplicitVRLittleEndian", codecs=manager, encoder="rle")
    with pytest.raises(ValueError, match="codec= is the encoder"):
        dcf.transcode(source(), "RLELossless", codecs=manager, codec="rle", encoder="other")
    with pytest.raises(dcf.NoCodecError, match="no codec named 'rel'; did you mean rle"):
        dcf.transcode(source(), "RLELossless", codecs=manager, encoder="rel")
    j2k = dcf.read(TESTDATA / "j2k_lossless.dcm")
    with pytest.raises(dcf.NoCodecError, match="codec 'rle' does not decode JPEG2000Lossless"):
        dcf.transcode(j2k, "RLELossless", codecs=manager, decoder="rle")
