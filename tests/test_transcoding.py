"""dcf.transcode's bookkeeping, one test per rule (the matrix is in test_interop.py).

Photometric interpretation, planar configuration, VR, file meta transfer syntax,
lossy attributes, second-generation lossy compression, UIDs, offset tables,
pass-through of untouched frames, and verification of what a codec wrote.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

import dicomframe as dcf
from dicomframe.codecs import pillow, pylibjpeg, rle
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import TransferSyntax, resolve
from dicomframe.core.uids import generate_uid
from dicomframe.parallel import ParallelReport, can_fork
from dicomframe.plugins import Capabilities, Codec, CodecManager, hookimpl
from tests.reference import TESTDATA

RLE = "1.2.840.10008.1.2.5"
SC = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage


def pydicom_file(name: str) -> Path:
    path = pydicom.data.get_testdata_file(name)
    assert isinstance(path, str)
    return Path(path)


def meta(ds: dcf.Dataset) -> dcf.Dataset:
    assert ds.meta is not None
    return ds.meta


def syntax_of(ds: dcf.Dataset) -> TransferSyntax:
    assert ds.transfer_syntax is not None
    return ds.transfer_syntax


def encapsulated(ds: dcf.Dataset) -> list[EncapsulatedFrame]:
    frames = list(ds.pixel_data)
    assert all(isinstance(f, EncapsulatedFrame) for f in frames)
    return frames  # type: ignore[return-value]


def make(array: np.ndarray[Any, Any], **info: Any) -> dcf.Dataset:
    """A small Secondary Capture dataset holding ``array``."""
    ds = dcf.Dataset()
    ds.set("SOPClassUID", SC)
    ds.set("SOPInstanceUID", generate_uid())
    ds.set("PatientName", "Test^Transcode")
    ds.set_pixel_data(array, **info)
    return ds


def gradient_rgb(frames: int = 1) -> np.ndarray[Any, Any]:
    """Smooth RGB frames that lossy coders keep well, ``(frames, 32, 48, 3)`` uint8."""
    y, x = np.mgrid[0:32, 0:48]
    planes = [x * 5, y * 7, (x + y) * 3]
    one = np.stack(planes, axis=-1).astype(np.uint8)
    return np.stack([np.roll(one, shift, axis=1) for shift in range(frames)])


def quiet_read(path: Path) -> dcf.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcf.read(path)


def written(ds: dcf.Dataset, tmp_path: Path, name: str = "out.dcm") -> dcf.Dataset:
    path = tmp_path / name
    dcf.write(ds, path)
    return dcf.read(path)


# -- photometric interpretation -------------------------------------------------------------------
def test_rgb_to_jpeg_baseline_with_pillow_is_ybr_full_422() -> None:
    manager = CodecManager(entry_points=False)
    manager.register(pillow, "pillow")
    source = make(gradient_rgb())
    result = dcf.transcode(source, "JPEGBaseline8Bit", codecs=manager)
    assert result.PhotometricInterpretation == "YBR_FULL_422"
    frame = result.pixel_data[0]
    assert isinstance(frame, EncapsulatedFrame)
    assert frame.info.photometric_interpretation == "YBR_FULL_422"
    decoded = frame.decode(codecs=manager)
    assert decoded.info.photometric_interpretation == "RGB"  # the decoder says what it gave
    error = decoded.array.astype(int) - source.pixel_array[0].astype(int)
    assert np.abs(error).mean() < 2


@pytest.mark.parametrize(
    ("syntax", "photometric"),
    [
        ("JPEG2000Lossless", "YBR_RCT"),
        ("JPEG2000", "YBR_ICT"),
        ("JPEG2000MCLossless", "YBR_RCT"),
        ("HTJ2KLossless", "YBR_RCT"),
    ],
)
def test_rgb_to_jpeg_2000_uses_the_colour_transform(syntax: str, photometric: str) -> None:
    source = make(gradient_rgb())
    result = dcf.transcode(source, syntax)
    assert result.PhotometricInterpretation == photometric  # PS3.5 8.2.4, A.4.4
    back = dcf.transcode(result, "ExplicitVRLittleEndian")
    assert back.PhotometricInterpretation == "RGB"


def test_jpeg_2000_without_the_colour_transform_stays_rgb() -> None:
    result = dcf.transcode(make(gradient_rgb()), "JPEG2000Lossless", use_mct=False)
    assert result.PhotometricInterpretation == "RGB"


@pytest.mark.parametrize(
    "name",
    [
        "SC_rgb_dcmtk_+eb+cy+np.dcm",  # JPEG Baseline, YBR_FULL_422
        "SC_rgb_dcmtk_+eb+cy+n1.dcm",  # JPEG Baseline, YBR_FULL
        "GDCMJ2K_TextGBR.dcm",  # JPEG 2000 Lossless, YBR_RCT
    ],
)
def test_decoding_ybr_to_native_gives_rgb(name: str, tmp_path: Path) -> None:
    source = quiet_read(pydicom_file(name))
    result = dcf.transcode(source, "ExplicitVRLittleEndian")
    assert result.PhotometricInterpretation == "RGB"
    back = written(result, tmp_path)
    oracle = pydicom.dcmread(pydicom_file(name)).pixel_array  # pydicom converts to RGB too
    difference = np.abs(back.pixel_array[0].astype(int) - oracle.astype(int))
    # Another JPEG decoder (IDCT, upsampling) and pydicom's float colour conversion: +-2.
    assert difference.max() <= (0 if "J2K" in name else 2)


def test_native_ybr_full_422_is_expanded_for_lossless_encoders() -> None:
    source = quiet_read(pydicom_file("SC_ybr_full_422_uncompressed.dcm"))
    result = dcf.transcode(source, "RLELossless")
    assert result.PhotometricInterpretation == "YBR_FULL"  # one chroma pair per pixel
    frame = result.pixel_data[0].decode()
    np.testing.assert_array_equal(frame.array, source.pixel_data[0].decode().array)


# -- planar configuration -------------------------------------------------------------------------
@pytest.mark.parametrize("syntax", ["ExplicitVRLittleEndian", "RLELossless", "JPEG2000Lossless"])
def test_planar_configuration_1_becomes_0(syntax: str, tmp_path: Path) -> None:
    source = dcf.read(TESTDATA / "rgb_planar1.dcm")
    assert source.PlanarConfiguration == 1
    result = dcf.transcode(source, syntax)
    assert result.PlanarConfiguration == 0
    back = written(result, tmp_path)
    assert back.PlanarConfiguration == 0
    np.testing.assert_array_equal(back.pixel_array, source.pixel_array)
    np.testing.assert_array_equal(
        back.pixel_array, dcf.read(TESTDATA / "rgb_planar0.dcm").pixel_array
    )


# -- value representation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dtype", "syntax", "vr"),
    [
        (np.uint8, "ExplicitVRLittleEndian", "OB"),
        (np.uint16, "ExplicitVRLittleEndian", "OW"),
        (np.int16, "ExplicitVRBigEndian", "OW"),
        (np.uint8, "RLELossless", "OB"),
        (np.uint16, "RLELossless", "OB"),
        (np.uint16, "JPEG2000Lossless", "OB"),
    ],
)
def test_pixel_data_vr(dtype: Any, syntax: str, vr: str, tmp_path: Path) -> None:
    # Start from the other kind, so the VR has to change.
    start = "RLELossless" if syntax.startswith("Explicit") else "ExplicitVRLittleEndian"
    source = dcf.transcode(make(np.arange(64 * 48, dtype=dtype).reshape(64, 48)), start)
    result = dcf.transcode(source, syntax)
    assert result["PixelData"].vr == dcf.VR(vr)
    back = written(result, tmp_path)
    assert back["PixelData"].vr == dcf.VR(vr)
    assert vr == pydicom.dcmread(tmp_path / "out.dcm")["PixelData"].VR
    np.testing.assert_array_equal(back.pixel_array, source.pixel_array)


# -- file meta ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "syntax", ["RLELossless", "JPEGLSLossless", "ExplicitVRBigEndian", "ImplicitVRLittleEndian"]
)
def test_file_meta_transfer_syntax(syntax: str, tmp_path: Path) -> None:
    source = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    result = dcf.transcode(source, syntax)
    uid = resolve(syntax).uid
    assert syntax_of(result).uid == uid
    assert meta(result)["TransferSyntaxUID"].value == uid
    assert meta(source)["TransferSyntaxUID"].value == "1.2.840.10008.1.2.1"  # not changed
    assert syntax_of(source).keyword == "ExplicitVRLittleEndian"
    back = written(result, tmp_path)
    assert syntax_of(back).uid == uid
    assert str(pydicom.dcmread(tmp_path / "out.dcm").file_meta.TransferSyntaxUID) == uid


def test_no_pixel_data_changes_only_the_syntax() -> None:
    ds = dcf.Dataset()
    ds.set("SOPClassUID", SC)
    ds.set("PatientName", "No^Pixels")
    result = dcf.transcode(ds, "ExplicitVRBigEndian")
    assert syntax_of(result).keyword == "ExplicitVRBigEndian"
    assert result.PatientName == "No^Pixels"


# -- lossy attributes, second generation, UIDs ----------------------------------------------------
def _values(ds: dcf.Dataset, keyword: str) -> list[str]:
    value = ds.get(keyword)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def test_first_lossy_compression_sets_the_attributes() -> None:
    source = make(gradient_rgb())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # first generation: no warning
        result = dcf.transcode(source, "JPEG2000")
    assert result.LossyImageCompression == "01"
    assert _values(result, "LossyImageCompressionMethod") == ["ISO_15444_1"]
    (ratio,) = _values(result, "LossyImageCompressionRatio")
    encoded = sum(len(f) for f in encapsulated(result))  # perhaps one byte of padding more
    assert float(ratio) == pytest.approx(source.pixel_array.nbytes / encoded, rel=1e-2)


def test_lossy_attributes_are_appended() -> None:
    source = make(gradient_rgb())
    source.set("LossyImageCompression", "01")
    source.set("LossyImageCompressionRatio", ["5"])
    source.set("LossyImageCompressionMethod", ["ISO_10918_1"])
    with pytest.warns(dcf.DicomWarning, match="already lossy"):
        result = dcf.transcode(source, "JPEG2000")
    assert result.LossyImageCompression == "01"
    assert _values(result, "LossyImageCompressionMethod") == ["ISO_10918_1", "ISO_15444_1"]
    ratios = _values(result, "LossyImageCompressionRatio")
    assert ratios[0] == "5"
    assert len(ratios) == 2
    assert float(ratios[1]) > 1


def test_second_generation_lossy_warns() -> None:
    source = quiet_read(pydicom_file("SC_rgb_jpeg_gdcm.dcm"))  # lossless JPEG, but ...
    source.set("LossyImageCompression", "01")  # ... its pixels were lossy once
    with pytest.warns(dcf.DicomWarning, match="already lossy"):
        dcf.transcode(source, "JPEGBaseline8Bit")


@pytest.mark.parametrize("name", ["SC_rgb_dcmtk_+eb+cy+np.dcm", "JPEG2000.dcm"])
def test_second_generation_lossy_can_be_refused(name: str) -> None:
    source = quiet_read(pydicom_file(name))
    target = "JPEG2000" if "JPEG2000" not in name else "HTJ2K"
    with pytest.raises(dcf.DicomError, match="allow_second_generation_lossy"):
        dcf.transcode(source, target, allow_second_generation_lossy=False)
    # A lossless target is always allowed, and keeps the mark (PS3.3 C.7.6.1.1.5).
    result = dcf.transcode(source, "ExplicitVRLittleEndian", allow_second_generation_lossy=False)
    assert result.LossyImageCompression == "01"


@pytest.mark.parametrize("syntax", ["JPEG2000", "JPEGLSNearLossless", "JPEGBaseline8Bit"])
def test_palette_indices_are_never_compressed_lossily(syntax: str, tmp_path: Path) -> None:
    path = pydicom_file("examples_palette.dcm")
    with pytest.raises(dcf.EncodingError, match="PALETTE COLOR indices"):
        dcf.transcode(quiet_read(path), syntax)
    with pytest.raises(dcf.EncodingError, match="PALETTE COLOR indices"):
        dcf.transcode_file(path, tmp_path / "out.dcm", syntax)
    assert list(tmp_path.iterdir()) == []


def test_palette_indices_keep_their_palette(tmp_path: Path) -> None:
    source = quiet_read(pydicom_file("examples_palette.dcm"))
    result = written(dcf.transcode(source, "JPEG2000Lossless"), tmp_path)
    assert result.PhotometricInterpretation == "PALETTE COLOR"
    np.testing.assert_array_equal(result.pixel_array, source.pixel_array)
    for keyword in ("RedPaletteColorLookupTableData", "RedPaletteColorLookupTableDescriptor"):
        assert bytes(result[keyword].raw or b"") == bytes(source[keyword].raw or b"")


def test_pixels_from_a_lossy_syntax_stay_marked_lossy() -> None:
    source = quiet_read(pydicom_file("JPEGLSNearLossless_08.dcm"))
    assert "LossyImageCompression" not in source
    result = dcf.transcode(source, "ExplicitVRLittleEndian")
    assert result.LossyImageCompression == "01"


def test_lossy_target_gets_a_new_sop_instance_uid(tmp_path: Path) -> None:
    source = make(gradient_rgb())
    result = dcf.transcode(source, "JPEGBaseline8Bit")
    assert result.SOPInstanceUID != source.SOPInstanceUID
    written(result, tmp_path)
    back = pydicom.dcmread(tmp_path / "out.dcm")
    assert back.SOPInstanceUID == back.file_meta.MediaStorageSOPInstanceUID
    kept = dcf.transcode(source, "JPEGBaseline8Bit", keep_uid=True)
    assert kept.SOPInstanceUID == source.SOPInstanceUID
    assert kept.LossyImageCompression == "01"


def test_new_uid_is_also_in_the_file_meta() -> None:
    source = dcf.read(TESTDATA / "rgb_planar0.dcm")
    result = dcf.transcode(source, "JPEG2000")
    assert result.SOPInstanceUID != source.SOPInstanceUID
    assert meta(result)["MediaStorageSOPInstanceUID"].value == result.SOPInstanceUID
    assert meta(source)["MediaStorageSOPInstanceUID"].value == source.SOPInstanceUID


@pytest.mark.parametrize("syntax", ["RLELossless", "JPEG2000Lossless", "ExplicitVRBigEndian"])
def test_lossless_target_keeps_the_sop_instance_uid(syntax: str) -> None:
    source = make(gradient_rgb())
    result = dcf.transcode(source, syntax)
    assert result.SOPInstanceUID == source.SOPInstanceUID
    assert "LossyImageCompression" not in result


def test_16_bit_to_jpeg_baseline_lists_the_declines() -> None:
    source = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    with pytest.raises(dcf.NoCodecError) as caught:
        dcf.transcode(source, "JPEGBaseline8Bit")
    error = caught.value
    assert error.syntax.keyword == "JPEGBaseline8Bit"
    assert error.attempts
    for attempt in error.attempts:
        assert attempt.outcome in ("declined", "unavailable")
        assert attempt.codec in str(error)
    assert any("16" in a.reason for a in error.attempts if a.outcome == "declined")


# -- pass-through ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        pydicom_file("examples_ybr_color.dcm"),  # 30 JPEG Baseline frames
        pydicom_file("JPEG2000.dcm"),
        TESTDATA / "rle_multiframe.dcm",
    ],
    ids=lambda p: p.stem,
)
def test_same_syntax_passes_every_frame_through(path: Path, tmp_path: Path) -> None:
    source = quiet_read(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not recompressed: no second-generation warning
        result = dcf.transcode(source, syntax_of(source))
    before = [bytes(f.data) for f in source.pixel_data]
    assert [bytes(f.data) for f in result.pixel_data] == before
    assert result.SOPInstanceUID == source.SOPInstanceUID
    assert result.get("LossyImageCompressionRatio") == source.get("LossyImageCompressionRatio")
    assert [bytes(f.data) for f in written(result, tmp_path).pixel_data] == before


# -- verification ---------------------------------------------------------------------------------
def _lying_encode(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    """Claims RLE Lossless but drops the lowest bit of every value."""
    data = (frame.data & ~np.asarray(1, dtype=frame.data.dtype)).tobytes()
    return EncapsulatedFrame([data], frame.info.replace(transfer_syntax_uid=syntax.uid))


def _lying_decode(frame: EncapsulatedFrame, /, **options: Any) -> NativeFrame:
    info = frame.info.replace(transfer_syntax_uid="1.2.840.10008.1.2.1")
    return NativeFrame(np.frombuffer(bytes(frame.data), dtype=info.dtype).copy(), info)


LIAR = Codec(
    name="liar",
    transfer_syntaxes=frozenset({RLE}),
    encode=_lying_encode,
    decode=_lying_decode,
    encode_caps=Capabilities(bits_allocated=frozenset({8, 16})),
)


class LiarPlugin:
    @hookimpl
    def dicomframe_codecs(self) -> list[Codec]:
        return [LIAR]


@pytest.fixture
def liar(manager: CodecManager) -> CodecManager:
    manager.register(LiarPlugin(), "liar")
    return manager


def test_verify_catches_a_codec_that_lies(liar: CodecManager, tmp_path: Path) -> None:
    source = make(np.arange(32 * 32, dtype=np.uint16).reshape(32, 32))
    with pytest.raises(dcf.EncodingError, match="verification failed: frame 0"):
        dcf.transcode(source, "RLELossless", codecs=liar)
    out = tmp_path / "out.dcm"
    with pytest.raises(dcf.EncodingError, match="verification failed"):
        dcf.transcode_file(_saved(source, tmp_path), out, "RLELossless", codecs=liar)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["source.dcm"]  # no temporary left
    # Without verification the lie goes through: that is what verify is for.
    unverified = dcf.transcode(source, "RLELossless", codecs=liar, verify=False)
    with pytest.raises(dcf.DecodeError, match="RLE header"):  # raw bytes, not an RLE stream
        unverified.pixel_data[0].decode(codecs=liar)


def test_verification_names_a_stream_no_codec_decodes(liar: CodecManager) -> None:
    source = make(np.arange(32 * 32, dtype=np.uint16).reshape(32, 32))
    with pytest.raises(dcf.EncodingError, match="frame 0 of RLELossless cannot be decoded") as info:
        dcf.transcode(source, "RLELossless", codecs=liar)
    assert isinstance(info.value.__cause__, dcf.DecodeError)


def test_verify_accepts_an_honest_codec(manager: CodecManager) -> None:
    manager.register(rle, "rle")
    source = make(np.arange(32 * 32, dtype=np.uint16).reshape(32, 32))
    result = dcf.transcode(source, "RLELossless", codecs=manager, verify=True)
    np.testing.assert_array_equal(
        result.pixel_data[0].decode(codecs=manager).array, source.pixel_array[0]
    )


def test_codecs_option_is_used_for_decoding_too(manager: CodecManager) -> None:
    manager.register(pylibjpeg, "pylibjpeg")
    source = dcf.read(TESTDATA / "j2k_lossless.dcm")
    result = dcf.transcode(source, "ExplicitVRLittleEndian", codecs=manager)
    np.testing.assert_array_equal(
        result.pixel_array, dcf.read(TESTDATA / "ct_explicit_le.dcm").pixel_array
    )


def _saved(ds: dcf.Dataset, tmp_path: Path) -> Path:
    path = tmp_path / "source.dcm"
    dcf.write(ds, path)
    return path


# -- on every core --------------------------------------------------------------------------------
def ct_frames(count: int = 6) -> np.ndarray[Any, Any]:
    """Signed 16-bit frames, each its own."""
    rng = np.random.default_rng(11)
    return rng.integers(-2000, 2000, (count, 24, 20), dtype=np.int16)


@pytest.mark.parametrize(
    ("parallel", "ran"),
    [("serial", "serial"), ("threads", "threads"), ("processes", "processes")],
)
def test_transcode_encodes_and_verifies_on_every_core(parallel: str, ran: str) -> None:
    if ran == "processes" and not can_fork():
        pytest.skip("needs os.fork")
    manager = CodecManager(entry_points=False)
    manager.register(rle, "rle")  # the numpy RLE and pylibjpeg-rle: both hold the GIL
    source = make(ct_frames())
    report = ParallelReport()
    result = dcf.transcode(source, "RLELossless", codecs=manager, codec="rle", workers=2,
                           parallel=parallel, report=report)  # fmt: skip
    assert report.mode == ran
    assert report.steps == {"encode": "rle", "verify": "pylibjpeg-rle"}  # another decoder
    if ran == "processes":  # one forked worker; this process is the other
        assert len(report.processes) == 1
        assert threading.get_ident() in report.threads
    if ran == "threads":
        assert report.threads
        assert threading.get_ident() not in report.threads
    np.testing.assert_array_equal(result.pixel_array, source.pixel_array)
