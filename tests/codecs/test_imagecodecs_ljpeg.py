"""imagecodecs-ljpeg: lossless JPEG decoded by liblj92, the verifier of libjpeg-turbo's streams.

The oracle is pydicom 3 with its own plugin choice (pylibjpeg-libjpeg) on every JPEG
Lossless file among pydicom's test files, pydicom-data's and testdata/ (DCMTK- and
GDCM-made); streams encoded by libjpeg-turbo are compared with the source pixels, and
those liblj92 declines go to the next decoder.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs import imagecodecs as plugin
from dicomframe.codecs import pylibjpeg
from dicomframe.codecs.imagecodecs.ljpeg import unsupported
from dicomframe.core.frame import EncapsulatedFrame
from dicomframe.errors import DecodeError, NoCodecError
from dicomframe.plugins import CodecManager
from dicomframe.testing import check_codec
from tests.codecs.common import read_quietly, require_backend
from tests.codecs.test_jpegls import REFERENCES, assert_truthful, make_frame, oracle
from tests.reference import pydicom_data_files

LJPEG, JPEG = plugin.LJPEG, plugin.JPEG
LOSSLESS_JPEG = {"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"}


def _lossless_files() -> list[Path]:
    bundled = [p for p, uid in REFERENCES if uid in LOSSLESS_JPEG]
    vendors = [p for p in pydicom_data_files() if _syntax(p) in LOSSLESS_JPEG]
    return [*bundled, *vendors]


def _syntax(path: Path) -> str | None:
    try:
        syntax = dcf.read(path, stop_before_pixels=True).transfer_syntax
    except dcf.DicomError:
        return None  # a bare dataset: no transfer syntax to go by
    return None if syntax is None else syntax.uid


FILES = _lossless_files()


@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(plugin, "imagecodecs")
    manager.register(pylibjpeg, "pylibjpeg")
    return manager


def test_there_are_files_from_several_toolkits() -> None:
    assert len(FILES) >= 5
    assert {p.parent.name for p in FILES} >= {"data"}  # pydicom-data's real scanner files


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_decode_matches_pydicom(codecs: CodecManager, path: Path) -> None:
    require_backend(LJPEG)
    pixels = read_quietly(path).pixel_data
    for index in range(min(len(pixels), 3)):
        frame = codecs.decode(pixels[index], codec=LJPEG.name, as_rgb=False)
        assert_truthful(frame, pixels.info)
        expected = oracle(path, index, as_rgb=False)
        assert frame.array.dtype == expected.dtype
        np.testing.assert_array_equal(frame.array, expected)


@pytest.mark.parametrize("predictor", range(1, 8))
@pytest.mark.parametrize(
    ("dtype", "samples", "bits"),
    [
        ("u1", 1, None),
        ("u1", 1, 6),
        ("u2", 1, 12),
        ("i2", 1, 12),
        ("i2", 1, None),
        ("u1", 3, None),
        ("u2", 3, 12),
    ],
    ids=str,
)
def test_reads_what_libjpeg_turbo_writes(
    codecs: CodecManager, predictor: int, dtype: str, samples: int, bits: int | None
) -> None:
    require_backend(LJPEG)
    native = make_frame(dtype, samples, bits=bits, shape=(31, 17), noise=True)
    encoded = codecs.encode(native, "JPEGLossless", codec=JPEG.name, predictor=predictor)
    decoded = codecs.decode(encoded, codec=LJPEG.name)
    assert_truthful(decoded, native.info)
    np.testing.assert_array_equal(decoded.data, native.data)


def _with_segment(data: bytes, segment: bytes) -> bytes:
    """The stream with a marker segment inserted after SOI."""
    return data[:2] + segment + data[2:]


def _encoded(codecs: CodecManager) -> tuple[EncapsulatedFrame, object]:
    native = make_frame("u2", bits=12, shape=(16, 16))
    return codecs.encode(native, "JPEGLosslessSV1", codec=JPEG.name), native


def test_restart_markers_and_a_point_transform_are_declined(codecs: CodecManager) -> None:
    require_backend(LJPEG)
    encoded, _ = _encoded(codecs)
    data = bytes(encoded.data)
    assert unsupported(data) is None
    dri = _with_segment(data, b"\xff\xdd" + struct.pack(">HH", 4, 16))
    assert "restart" in str(unsupported(dri))
    assert unsupported(_with_segment(data, b"\xff\xdd" + struct.pack(">HH", 4, 0))) is None
    sos = data.index(b"\xff\xda")
    length = struct.unpack_from(">H", data, sos + 2)[0]
    shifted = bytearray(data)
    shifted[sos + 1 + length] |= 1  # Al, the point transform, in the scan header's last byte
    assert "point transform" in str(unsupported(bytes(shifted)))
    frame = EncapsulatedFrame([dri], encoded.info)
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(frame, codec=LJPEG.name)
    assert isinstance(caught.value.__cause__ or caught.value.attempts[0].error, DecodeError)
    assert "restart" in str(caught.value)


def test_a_declined_stream_goes_to_the_next_decoder(codecs: CodecManager) -> None:
    require_backend(LJPEG)
    encoded, native = _encoded(codecs)
    codecs.block(JPEG.name)  # libjpeg-turbo out of the way: liblj92 comes first
    assert codecs.decode_with(encoded)[1] == LJPEG.name
    # A DRI with a non-zero interval but no RST markers in the data: libjpeg reads the
    # stream as one interval, as the standard's decoder does when none are met.
    data = bytes(encoded.data)
    dri = EncapsulatedFrame(
        [_with_segment(data, b"\xff\xdd" + struct.pack(">HH", 4, 1 << 15))], encoded.info
    )
    frame, used = codecs.decode_with(dri)
    assert used == pylibjpeg.LIBJPEG.name
    np.testing.assert_array_equal(frame.data, native.data)  # type: ignore[attr-defined]


def test_verification_of_a_jpeg_lossless_encode_uses_liblj92(
    codecs: CodecManager, caplog: pytest.LogCaptureFixture
) -> None:
    require_backend(LJPEG)
    ds = dcf.read(Path(__file__).parents[2] / "testdata" / "ct_explicit_le.dcm")
    with caplog.at_level(logging.DEBUG, logger="dicomframe.transcoding"):
        out = dcf.transcode(ds, "JPEGLosslessSV1", codecs=codecs)
    verified = [r.getMessage() for r in caplog.records if "verified by decoding" in r.getMessage()]
    assert verified
    assert all(m.endswith(f"encoded by {JPEG.name}: verified by decoding with {LJPEG.name}")
               for m in verified)  # fmt: skip
    np.testing.assert_array_equal(out.pixel_data[0].decode().data, ds.pixel_data[0].data)


def test_libjpeg_turbo_stays_the_first_decoder(codecs: CodecManager) -> None:
    require_backend(LJPEG)
    encoded, _ = _encoded(codecs)
    assert codecs.decode_with(encoded)[1] == JPEG.name
    assert LJPEG.priority < JPEG.priority
    assert LJPEG.priority > pylibjpeg.LIBJPEG.priority
    assert LJPEG.encode is None
    assert LJPEG.encode_syntaxes is None


def test_passes_the_conformance_checks() -> None:
    require_backend(LJPEG)
    samples = [read_quietly(p).pixel_data[0] for p in FILES]
    report = check_codec(LJPEG, samples=samples)
    assert len(report.decoded) == len(samples)
